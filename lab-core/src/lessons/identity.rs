//! The lessons about who the session is: `mfa` (the trust requires aws:MultiFactorAuthPresent; a
//! virtual MFA device whose seed never leaves memory), `source-identity` (the trust requires
//! sts:SourceIdentity, which stays with a chained session) and `session-tags` (attribute-based
//! access on aws:PrincipalTag/team, a transitive tag surviving a chained assume).

use anyhow::{Result, anyhow};
use serde_json::json;

use super::checks::{check, put_policy, until_refused};
use super::trust::{edit_trust, ensure_chained, role_name, set_action, set_condition};
use crate::lab::Lab;
use crate::model::decide::{Ask, Caller};
use crate::model::secret::Secret;
use crate::ops::sts::{self, AssumeOptions};
use crate::ops::{iam, policies, s3};
use crate::output::report::Steps;
use crate::output::{Expect, LessonCheck};

/// The TOTP code of `seed` (base32) at Unix time `at`: RFC 6238, SHA-1, 6 digits, 30 s.
fn code(seed: &Secret, at: i64) -> Result<String> {
    let bytes = totp_rs::Secret::Encoded(seed.expose().to_owned())
        .to_bytes()
        .map_err(|e| anyhow!("the MFA seed is not base32: {e}"))?;
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
    Ok(totp.generate(u64::try_from(at).unwrap_or_default()))
}

pub async fn mfa(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    undo_mfa_device(lab).await?;
    let user = &lab.names.user;
    let (serial, seed) = iam::create_virtual_mfa_device(&lab.admin.iam, user).await?;
    let now = lab.endpoint_now();
    let codes = (code(&seed, now - 30)?, code(&seed, now)?);
    if let Err(e) = iam::enable_mfa_device(&lab.admin.iam, user, &serial, (&codes.0, &codes.1)).await {
        // A device never enabled is listed nowhere for the user: delete it now.
        let _ = undo_mfa_device(lab).await;
        return Err(e);
    }
    steps.note(format!(
        "a virtual MFA device {serial} for {user} (its seed kept in memory only)"
    ));
    edit_trust(lab, steps, role_name(role_arn), |doc| {
        set_condition(doc, "Bool", "aws:MultiFactorAuthPresent", Some(json!("true")));
    })
    .await?;
    let as_user = lab.target.profile(&lab.names.user_profile).await?;
    let me = Caller::User(user.clone());
    let base = format!(
        "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name mfa",
        lab.names.user_profile
    );
    let without = until_refused(lab, steps, || sts::assume_role(&as_user.sts, role_arn, "mfa", None)).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn);
    let mut out = vec![
        check(
            lab,
            steps,
            "AssumeRole without an MFA code",
            Expect::Deny,
            &without,
            Ok(ask),
            base.clone(),
        )
        .await,
    ];
    // AWS accepts each code once: on AWS wait for the next window after the enabling codes.
    if super::checks::emulator_endpoint(lab).is_none() {
        steps.waiting("the next MFA code (AWS accepts each code once)");
        let window = now / 30;
        while lab.endpoint_now() / 30 == window {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
    let current = code(&seed, lab.endpoint_now())?;
    let options = AssumeOptions {
        mfa: Some((serial.clone(), current.clone())),
        ..AssumeOptions::default()
    };
    let with = sts::assume_role_with(&as_user.sts, role_arn, "mfa", &options).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn).with("aws:MultiFactorAuthPresent", "true");
    let command = format!("{base} --serial-number {serial} --token-code <the code your authenticator shows>");
    out.push(
        check(
            lab,
            steps,
            "AssumeRole with a code of the device",
            Expect::Allow,
            &with,
            Ok(ask),
            command,
        )
        .await,
    );
    Ok(out)
}

async fn undo_mfa_device(lab: &Lab) -> Result<()> {
    let serial = format!(
        "arn:{}:iam::{}:mfa/{}",
        lab.admin_identity.partition(),
        lab.account(),
        lab.names.user
    );
    iam::delete_virtual_mfa_device(&lab.admin.iam, &lab.names.user, &serial)
        .await
        .map(drop)
}

pub async fn undo_mfa(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let role_arn = lab.role_arn().await?;
    edit_trust(lab, steps, role_name(&role_arn), |doc| {
        set_condition(doc, "Bool", "aws:MultiFactorAuthPresent", None)
    })
    .await?;
    undo_mfa_device(lab).await
}

/// The source identity the lesson sets: who is behind the session.
const WHO: &str = "learner-alice";

/// Lesson source-identity's change: the trust requires a source identity and lets it be set, and
/// the stack's role may pass it on to the chained role; the chained role's ARN.
async fn require_source_identity(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<String> {
    edit_trust(lab, steps, role_name(role_arn), |doc| {
        set_condition(doc, "StringLike", "sts:SourceIdentity", Some(json!("*")));
        set_action(doc, "sts:SetSourceIdentity", true);
    })
    .await?;
    let chained_arn = ensure_chained(lab, role_arn, steps, &["sts:SetSourceIdentity"]).await?;
    // Along a chain the calling session's own policy must allow passing the source identity on.
    let pass = json!({"Version": "2012-10-17", "Statement": [{"Sid": "PassItOn", "Effect": "Allow",
        "Action": "sts:SetSourceIdentity", "Resource": chained_arn}]})
    .to_string();
    put_policy(
        lab,
        steps,
        role_name(role_arn),
        lab.names.source_identity_policy(),
        &pass,
    )
    .await?;
    Ok(chained_arn)
}

/// The chained session made from `first`, if it kept the source identity.
async fn chained_keeps(
    lab: &Lab,
    first: &Result<crate::model::secret::AssumedCredentials>,
    chained_arn: &str,
) -> Result<crate::model::secret::AssumedCredentials> {
    let first = first.as_ref().map_err(|e| anyhow!("{e:#}"))?;
    let session = lab.target.session(first).await?;
    let again = crate::aws::retry::retry_codes(
        lab.backoff,
        &["AccessDenied"],
        |_| {},
        || sts::assume_role(&session.sts, chained_arn, "chained", None),
    )
    .await?;
    match again.source_identity.as_deref() {
        Some(WHO) => Ok(again),
        other => Err(anyhow!("the chained session's SourceIdentity is {other:?}")),
    }
}

pub async fn source_identity(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    let chained_arn = require_source_identity(lab, role_arn, steps).await?;
    let as_user = lab.target.profile(&lab.names.user_profile).await?;
    let me = Caller::User(lab.names.user.clone());
    let base = format!(
        "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name who",
        lab.names.user_profile
    );
    let without = until_refused(lab, steps, || sts::assume_role(&as_user.sts, role_arn, "who", None)).await;
    let mut out = vec![
        check(
            lab,
            steps,
            "AssumeRole without a SourceIdentity",
            Expect::Deny,
            &without,
            Ok(Ask::new(&me, "sts:AssumeRole", role_arn)),
            base.clone(),
        )
        .await,
    ];
    let options = AssumeOptions {
        source_identity: Some(WHO.to_owned()),
        ..AssumeOptions::default()
    };
    let with = sts::assume_role_with(&as_user.sts, role_arn, "who", &options).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn).with("sts:SourceIdentity", WHO);
    out.push(
        check(
            lab,
            steps,
            &format!("AssumeRole with SourceIdentity {WHO}"),
            Expect::Allow,
            &with,
            Ok(ask),
            format!("{base} --source-identity {WHO}"),
        )
        .await,
    );
    let chained = chained_keeps(lab, &with, &chained_arn).await;
    let kept = "a source identity, once set, stays with every session made from it";
    let command = format!(
        "aws sts assume-role --role-arn {chained_arn} --role-session-name chained  # with the first session's keys"
    );
    out.push(
        check(
            lab,
            steps,
            &format!("a chained session keeps SourceIdentity {WHO}"),
            Expect::Allow,
            &chained,
            Err(kept),
            command,
        )
        .await,
    );
    Ok(out)
}

pub async fn undo_source_identity(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let role_arn = lab.role_arn().await?;
    edit_trust(lab, steps, role_name(&role_arn), |doc| {
        set_condition(doc, "StringLike", "sts:SourceIdentity", None);
        set_action(doc, "sts:SetSourceIdentity", false);
    })
    .await?;
    policies::delete_role_policy(&lab.admin.iam, role_name(&role_arn), lab.names.source_identity_policy()).await?;
    super::trust::undo_role_chaining(lab, steps).await
}

/// Lesson session-tags' change: the stack's role may be assumed with tags, its sessions may make
/// only their team's buckets, and the chained role lists for team blue; the chained role's ARN.
async fn team_rules(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<String> {
    let (prefix, role) = (lab.bucket_prefix(), role_name(role_arn));
    edit_trust(lab, steps, role, |doc| set_action(doc, "sts:TagSession", true)).await?;
    let team_buckets = json!({"Version": "2012-10-17", "Statement": [{"Sid": "OwnTeamsBucketsOnly", "Effect": "Deny",
        "Action": "s3:CreateBucket", "NotResource": format!("arn:{}:s3:::{prefix}${{aws:PrincipalTag/team}}-*", lab.admin_identity.partition()),
        "Condition": {"Null": {"aws:PrincipalTag/team": "false"}}}]})
    .to_string();
    put_policy(lab, steps, role, lab.names.team_policy(), &team_buckets).await?;
    let chained_arn = ensure_chained(lab, role_arn, steps, &["sts:TagSession"]).await?;
    let blue_lists = json!({"Version": "2012-10-17", "Statement": [{"Sid": "BlueTeamLists", "Effect": "Allow",
        "Action": "s3:ListAllMyBuckets", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]})
    .to_string();
    put_policy(
        lab,
        steps,
        &lab.names.chained_role(),
        lab.names.team_policy(),
        &blue_lists,
    )
    .await?;
    Ok(chained_arn)
}

pub async fn session_tags(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    let prefix = lab.bucket_prefix();
    let chained_arn = team_rules(lab, role_arn, steps).await?;
    let as_user = lab.target.profile(&lab.names.user_profile).await?;
    let options = AssumeOptions {
        tags: vec![("team".to_owned(), "blue".to_owned())],
        transitive_tag_keys: vec!["team".to_owned()],
        ..AssumeOptions::default()
    };
    let blue = crate::aws::retry::retry_codes(
        lab.backoff,
        &["AccessDenied"],
        |_| {},
        || sts::assume_role_with(&as_user.sts, role_arn, "blue", &options),
    )
    .await?;
    let session = lab.target.session(&blue).await?;
    let me = Caller::of_arn(&blue.assumed_role_arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
    steps.note(format!(
        "assumed as {} with the session tag team=blue (transitive): aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name blue --tags Key=team,Value=blue --transitive-tag-keys team",
        blue.assumed_role_arn, lab.names.user_profile
    ));
    let mut out = Vec::new();
    for (team, expected) in [("blue", Expect::Allow), ("red", Expect::Deny)] {
        let bucket = format!("{prefix}{team}-bucket");
        // A bucket made is removed at once, so that asking again is asking the same.
        let create = || async {
            let made = s3::create_bucket(&session.s3, &bucket, &session.region, &[]).await;
            if made.is_ok() {
                let _ = s3::empty_and_delete_bucket(&lab.admin.s3, &bucket).await;
            }
            made
        };
        let made = match expected {
            Expect::Allow => create().await,
            Expect::Deny => until_refused(lab, steps, create).await,
        };
        let arn = format!("arn:{}:s3:::{bucket}", lab.admin_identity.partition());
        let ask = Ask::new(&me, "s3:CreateBucket", arn).with("aws:PrincipalTag/team", "blue");
        let command = format!("aws s3 mb s3://{bucket}  # with the blue session's keys");
        out.push(
            check(
                lab,
                steps,
                &format!("the blue session creates {bucket}"),
                expected,
                &made,
                Ok(ask),
                command,
            )
            .await,
        );
    }
    let chained = retry_listing(lab, &session, &chained_arn).await;
    let chained_me = Caller::Session {
        role: lab.names.chained_role(),
        session_arn: format!("{chained_arn}/chained")
            .replace(":iam::", ":sts::")
            .replace(":role/", ":assumed-role/"),
    };
    let ask = Ask::new(&chained_me, "s3:ListAllMyBuckets", "*").with("aws:PrincipalTag/team", "blue");
    let command = format!(
        "aws sts assume-role --role-arn {chained_arn} --role-session-name chained  # with the blue session's keys, then aws s3 ls"
    );
    out.push(
        check(
            lab,
            steps,
            "a chained session keeps team=blue and lists",
            Expect::Allow,
            &chained,
            Ok(ask),
            command,
        )
        .await,
    );
    Ok(out)
}

/// A chained session from `session` lists the buckets (asked again while its trust propagates).
async fn retry_listing(lab: &Lab, session: &crate::aws::target::Clients, chained_arn: &str) -> Result<Vec<String>> {
    let creds = crate::aws::retry::retry_codes(
        lab.backoff,
        &["AccessDenied"],
        |_| {},
        || sts::assume_role(&session.sts, chained_arn, "chained", None),
    )
    .await?;
    let chained = lab.target.session(&creds).await?;
    s3::list_buckets(&chained.s3).await
}

pub async fn undo_session_tags(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let role_arn = lab.role_arn().await?;
    let role = role_name(&role_arn);
    edit_trust(lab, steps, role, |doc| set_action(doc, "sts:TagSession", false)).await?;
    policies::delete_role_policy(&lab.admin.iam, role, lab.names.team_policy()).await?;
    super::trust::undo_role_chaining(lab, steps).await
}
