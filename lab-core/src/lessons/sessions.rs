//! The lessons about sessions: `session-policy` (a session narrower than its role),
//! `revoke-sessions` (a Deny on `aws:TokenIssueTime`), `auto-refresh` (a profile the SDKs refresh
//! themselves) and `expiry` (the lab's own TTL, past which it disarms itself).

use anyhow::{Result, anyhow, bail};
use serde_json::json;

use super::checks::{
    check, emulator_endpoint, move_clock, put_policy, reset_clock, show_diff, until_refused, write_role_profile,
};
use super::trust::role_name;
use crate::lab::Lab;
use crate::model::decide::{Ask, Caller};
use crate::model::expiry::format_utc;
use crate::ops::{policies, s3, sts};
use crate::output::report::Steps;
use crate::output::{Expect, LessonCheck};
use crate::profiles::awsfiles::FileKind;

/// The session policy of the lesson: listing the buckets, nothing else.
const LIST_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ListOnly","Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;

pub async fn session_policy(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    show_diff(
        steps,
        "the session policy passed to AssumeRole (the role itself is unchanged)",
        "",
        LIST_ONLY,
    );
    let user = lab.target.profile(&lab.names.user_profile).await?;
    let options = sts::AssumeOptions {
        policy: Some(LIST_ONLY.to_owned()),
        ..sts::AssumeOptions::default()
    };
    let creds = sts::assume_role_with(&user.sts, role_arn, "narrowed", &options).await?;
    let session = lab.target.session(&creds).await?;
    let me = Caller::of_arn(&creds.assumed_role_arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
    let assume = format!(
        "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name narrowed --policy '{LIST_ONLY}'",
        lab.names.user_profile
    );
    let bucket = format!("{}lesson", lab.bucket_prefix());
    let made = s3::create_bucket(&session.s3, &bucket, &session.region, &[]).await;
    if made.is_ok() {
        let _ = s3::empty_and_delete_bucket(&lab.admin.s3, &bucket).await;
    }
    let ask = Ask::new(
        &me,
        "s3:CreateBucket",
        format!("arn:{}:s3:::{bucket}", lab.admin_identity.partition()),
    )
    .in_session(LIST_ONLY);
    let mut out = vec![
        check(
            lab,
            steps,
            "the narrowed session creates a lab bucket",
            Expect::Deny,
            &made,
            Ok(ask),
            format!("{assume}  # then, with its keys: aws s3 mb s3://{bucket}"),
        )
        .await,
    ];
    let listed = s3::list_buckets(&session.s3).await;
    let ask = Ask::new(&me, "s3:ListAllMyBuckets", "*").in_session(LIST_ONLY);
    out.push(
        check(
            lab,
            steps,
            "the narrowed session lists the buckets",
            Expect::Allow,
            &listed,
            Ok(ask),
            "aws s3 ls  # with the narrowed session's keys".to_owned(),
        )
        .await,
    );
    Ok(out)
}

pub async fn revoke_sessions(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    let open =
        lab.target.profile(&lab.names.assumed_profile).await.map_err(|e| {
            anyhow!("{e:#}; lesson revoke-sessions needs an open session: run `cargo xtask assume` first")
        })?;
    let open_identity = sts::caller_identity(&open.sts).await?;
    // The console's "Revoke active sessions": deny every session issued before now.
    let cutoff = lab.endpoint_now() + 1;
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "RevokeOlderSessions", "Effect": "Deny",
        "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:TokenIssueTime": format_utc(cutoff)}}}]})
    .to_string();
    put_policy(lab, steps, role_name(role_arn), lab.names.revoke_policy(), &policy).await?;
    // A session issued from here on is issued after the cutoff.
    if lab.endpoint_now() <= cutoff {
        steps.waiting("the cutoff second to pass");
    }
    while lab.endpoint_now() <= cutoff {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let old = Caller::of_arn(&open_identity.arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
    // On AWS the Deny takes a moment to arrive: asked again while the session still lists.
    let listed = until_refused(lab, steps, || s3::list_buckets(&open.s3)).await;
    let ask = Ask::new(&old, "s3:ListAllMyBuckets", "*").with("aws:TokenIssueTime", &format_utc(cutoff - 60));
    let mut out = vec![
        check(
            lab,
            steps,
            "the open session lists the buckets",
            Expect::Deny,
            &listed,
            Ok(ask),
            format!("aws s3 ls --profile {}", lab.names.assumed_profile),
        )
        .await,
    ];
    let user = lab.target.profile(&lab.names.user_profile).await?;
    let fresh = sts::assume_role(&user.sts, role_arn, "after-revoke", None).await?;
    let session = lab.target.session(&fresh).await?;
    let me = Caller::of_arn(&fresh.assumed_role_arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
    let listed = s3::list_buckets(&session.s3).await;
    let ask = Ask::new(&me, "s3:ListAllMyBuckets", "*").with("aws:TokenIssueTime", &format_utc(lab.endpoint_now()));
    out.push(
        check(
            lab,
            steps,
            "a session assumed after the revocation lists the buckets",
            Expect::Allow,
            &listed,
            Ok(ask),
            format!(
                "cargo xtask assume && aws s3 ls --profile {}",
                lab.names.assumed_profile
            ),
        )
        .await,
    );
    Ok(out)
}

pub async fn undo_revoke(lab: &Lab, steps: Steps<'_>) -> Result<()> {
    let Ok(role_arn) = lab.role_arn().await else {
        return Ok(());
    };
    let name = lab.names.revoke_policy();
    if policies::delete_role_policy(&lab.admin.iam, role_name(&role_arn), name).await? {
        steps.note(format!(
            "deleted the inline policy {name} of role {}",
            role_name(&role_arn)
        ));
    }
    Ok(())
}

/// Moves the emulator's clock a minute past the static session's end, short of the lab's own
/// expiry; its new time and the offset it had.
fn clock_past_session(lab: &Lab, endpoint: &str) -> Result<(String, f64)> {
    let now = lab.endpoint_now();
    let session_end = lab
        .target
        .files
        .read_profile(FileKind::Credentials, &lab.names.assumed_profile)?
        .and_then(|p| p.note("expires").and_then(crate::model::expiry::parse_utc))
        .ok_or_else(|| anyhow!("no assumed session recorded; run `cargo xtask assume` first"))?;
    let lab_end = crate::lab::recorded_expiry(&lab.target, &lab.names)?
        .and_then(|at| crate::model::expiry::parse_utc(&at))
        .unwrap_or(i64::MAX);
    if session_end + 60 >= lab_end {
        bail!(
            "the lab expires before its assumed session ends; run `cargo xtask setup --ttl 8h` and `assume`, then this lesson"
        );
    }
    move_clock(endpoint, session_end + 60 - now)
}

pub async fn auto_refresh(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    let profile = lab.names.auto_profile();
    let note = "lesson auto-refresh: the SDKs assume the role themselves, and again when the session ends";
    write_role_profile(
        lab,
        steps,
        &profile,
        role_arn,
        &[("role_session_name", "auto-refresh")],
        note,
    )?;
    let Some(endpoint) = emulator_endpoint(lab) else {
        steps.note("on AWS the static profile ends with its session (an hour); the auto profile goes on: try both after an hour");
        let auto = lab.target.profile(&profile).await;
        let listed = match &auto {
            Ok(c) => s3::list_buckets(&c.s3).await,
            Err(e) => Err(anyhow!("{e:#}")),
        };
        return Ok(vec![
            check(
                lab,
                steps,
                &format!("profile {profile} lists the buckets"),
                Expect::Allow,
                &listed,
                Err("the role's own policy, through a session the SDK makes"),
                format!("aws s3 ls --profile {profile}"),
            )
            .await,
        ]);
    };
    let (moved, was) = clock_past_session(lab, &endpoint)?;
    steps.note(format!(
        "moved the emulator's clock to {moved}, a minute past the static session's end"
    ));
    let result = async {
        let static_profile = lab.target.profile(&lab.names.assumed_profile).await?;
        let old = s3::list_buckets(&static_profile.s3).await;
        let ended = "the session ended: ExpiredToken, no policy decides";
        let mut out = vec![
            check(
                lab,
                steps,
                &format!("profile {} (static keys) lists the buckets", lab.names.assumed_profile),
                Expect::Deny,
                &old,
                Err(ended),
                format!("aws s3 ls --profile {}", lab.names.assumed_profile),
            )
            .await,
        ];
        let auto = lab.target.profile(&profile).await?;
        let listed = s3::list_buckets(&auto.s3).await;
        let auto_session = sts::caller_identity(&auto.sts).await?;
        let me = Caller::of_arn(&auto_session.arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
        let ask = Ask::new(&me, "s3:ListAllMyBuckets", "*");
        out.push(
            check(
                lab,
                steps,
                &format!("profile {profile} (refreshed) lists the buckets"),
                Expect::Allow,
                &listed,
                Ok(ask),
                format!("aws s3 ls --profile {profile}"),
            )
            .await,
        );
        anyhow::Ok(out)
    }
    .await;
    reset_clock(&endpoint, was)?;
    steps.note("put the emulator's clock back");
    result
}

pub fn undo_auto_refresh(lab: &Lab, _steps: Steps<'_>) -> Result<()> {
    lab.target
        .files
        .remove_profile(FileKind::Config, &lab.names.auto_profile())
        .map(drop)
}

pub async fn expiry(lab: &Lab, role_arn: &str, steps: Steps<'_>) -> Result<Vec<LessonCheck>> {
    let expires = crate::lab::recorded_expiry(&lab.target, &lab.names)?
        .and_then(|at| crate::model::expiry::parse_utc(&at))
        .ok_or_else(|| anyhow!("the lab recorded no expiry; run `cargo xtask setup`"))?;
    let endpoint = emulator_endpoint(lab);
    let mut previous = 0.0;
    match &endpoint {
        Some(endpoint) => {
            let (moved, was) = move_clock(endpoint, expires - lab.endpoint_now() + 60)?;
            previous = was;
            steps.note(format!(
                "moved the emulator's clock to {moved}, a minute past the lab's expiry"
            ));
        }
        None if lab.endpoint_now() <= expires => bail!(
            "the lab expires at {}; on AWS run `cargo xtask setup --ttl 15m`, wait for it, then run this lesson again",
            format_utc(expires)
        ),
        None => {}
    }
    let result = async {
        let user = lab.target.profile(&lab.names.user_profile).await?;
        let me = Caller::User(lab.names.user.clone());
        let assumed = sts::assume_role(&user.sts, role_arn, "after-expiry", None).await;
        let command = format!(
            "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name after-expiry",
            lab.names.user_profile
        );
        let mut out = vec![
            check(
                lab,
                steps,
                "the key assumes the role",
                Expect::Deny,
                &assumed,
                Ok(Ask::new(&me, "sts:AssumeRole", role_arn)),
                command,
            )
            .await,
        ];
        let open = lab.target.profile(&lab.names.assumed_profile).await?;
        let listed = s3::list_buckets(&open.s3).await;
        let ask = match sts::caller_identity(&open.sts)
            .await
            .ok()
            .and_then(|i| Caller::of_arn(&i.arn))
        {
            Some(caller) => Ok(Ask::new(&caller, "s3:ListAllMyBuckets", "*")),
            None => Err("the session itself has ended (ExpiredToken)"),
        };
        out.push(
            check(
                lab,
                steps,
                "the open session lists the buckets",
                Expect::Deny,
                &listed,
                ask,
                format!("aws s3 ls --profile {}", lab.names.assumed_profile),
            )
            .await,
        );
        anyhow::Ok(out)
    }
    .await;
    if let Some(endpoint) = &endpoint {
        reset_clock(endpoint, previous)?;
        steps.note("put the emulator's clock back");
    }
    result
}
