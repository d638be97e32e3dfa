//! The lessons about who the session is: `mfa` (the trust requires aws:MultiFactorAuthPresent; a
//! virtual MFA device whose seed stays in memory, or in a class's handout for the student),
//! `source-identity` (the trust requires sts:SourceIdentity, which stays with a chained session)
//! and `session-tags` (attribute-based access on aws:PrincipalTag/team, a transitive tag surviving
//! a chained assume).

use anyhow::{Context, Result, anyhow};
use serde_json::json;

use super::checks::{ACCESS_DENIED, Cx, Probe, check, put_policy, until_allowed, until_refused};
use super::trust::{chained_arn, edit_trust, ensure_chained, set_action, set_condition};
use crate::aws::target::Clients;
use crate::model::decide::{Ask, Caller};
use crate::model::secret::{AssumedCredentials, Secret};
use crate::ops::sts::{self, AssumeOptions};
use crate::ops::{iam, policies, s3};
use crate::output::{Expect, LessonCheck};

use super::{Applied, Rung};

pub static SESSION_TAGS: Rung = Rung {
    name: "session-tags",
    summary: "attribute-based access: a session tagged team=blue may make blue buckets, not red; the tag survives a chained assume",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| Box::pin(async move { apply_session_tags(cx).await.map(|()| Applied::default()) }),
    prove: |cx, _| Box::pin(prove_session_tags(cx)),
    undo: |cx| Box::pin(undo_session_tags(cx)),
};

pub static SOURCE_IDENTITY: Rung = Rung {
    name: "source-identity",
    summary: "the trust requires sts:SourceIdentity, which stays with a chained session",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| Box::pin(async move { apply_source_identity(cx).await.map(|()| Applied::default()) }),
    prove: |cx, _| Box::pin(prove_source_identity(cx)),
    undo: |cx| Box::pin(undo_source_identity(cx)),
};

pub static MFA: Rung = Rung {
    name: "mfa",
    summary: "the trust requires aws:MultiFactorAuthPresent: a virtual MFA device, its codes computed",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| {
        Box::pin(async move {
            let device = apply_mfa(cx).await?;
            Ok(Applied {
                mfa: Some(device),
                ..Applied::default()
            })
        })
    },
    prove: |cx, applied| {
        Box::pin(async move {
            // Proven again (class verify), the seed is the one the handout keeps.
            let recorded = match &applied.mfa {
                Some(_) => None,
                None => recorded_device(cx).await?,
            };
            prove_mfa(cx, applied.mfa.as_ref().or(recorded.as_ref())).await
        })
    },
    undo: |cx| Box::pin(undo_mfa(cx)),
};

/// The file of a class's handout that holds the student's MFA seed (0600), so that the student
/// can make codes and `class verify` can prove the lesson again.
const SEED_FILE: &str = "mfa-seed";

/// The TOTP code of `seed` (base32) at Unix time `at`: RFC 6238, SHA-1, 6 digits, 30 s.
fn code(seed: &Secret, at: i64) -> Result<String> {
    let bytes = totp_rs::Secret::Encoded(seed.expose().to_owned())
        .to_bytes()
        .map_err(|e| anyhow!("the MFA seed is not base32: {e}"))?;
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
    Ok(totp.generate(u64::try_from(at).unwrap_or_default()))
}

/// The handout's seed file, when the lab's files are a class's handout.
fn seed_path(cx: Cx<'_>) -> Option<std::path::PathBuf> {
    let files = &cx.lab.target.files;
    files.is_handout().then(|| files.credentials.with_file_name(SEED_FILE))
}

/// The device's serial and seed as the lesson left them in a class's handout.
pub async fn recorded_device(cx: Cx<'_>) -> Result<Option<(String, Secret)>> {
    let Some(path) = seed_path(cx) else {
        return Ok(None);
    };
    match tokio::fs::read_to_string(&path).await {
        Ok(seed) => Ok(Some((device_serial(cx), Secret::new(seed.trim().to_owned())))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

async fn write_seed(cx: Cx<'_>, seed: &Secret) -> Result<()> {
    let Some(path) = seed_path(cx) else {
        return Ok(());
    };
    let text = format!("{}\n", seed.expose());
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    })
    .await
    .context("the seed's write stopped")?
}

fn device_serial(cx: Cx<'_>) -> String {
    let lab = cx.lab;
    lab.names.mfa_serial(lab.admin_identity.partition(), lab.account())
}

/// Lesson mfa's change: a virtual MFA device for the user (enabled with two codes of its seed),
/// and the trust requires MFA; the device's serial and seed.
pub async fn apply_mfa(cx: Cx<'_>) -> Result<(String, Secret)> {
    let lab = cx.lab;
    remove_device(cx).await?;
    let user = &lab.names.user;
    let (serial, seed) = iam::create_virtual_mfa_device(&lab.admin.iam, user).await?;
    let now = lab.now().await?;
    let codes = (code(&seed, now - 30)?, code(&seed, now)?);
    if let Err(e) = iam::enable_mfa_device(&lab.admin.iam, user, &serial, (&codes.0, &codes.1)).await {
        // A device never enabled is listed nowhere for the user: delete it now.
        let _ = remove_device(cx).await;
        return Err(e);
    }
    write_seed(cx, &seed).await?;
    let kept = match seed_path(cx) {
        Some(path) => format!("its seed in {} for the student (0600)", path.display()),
        None => "its seed kept in memory only".to_owned(),
    };
    cx.steps
        .note(format!("a virtual MFA device {serial} for {user} ({kept})"));
    edit_trust(cx, cx.role(), |doc| {
        set_condition(doc, "Bool", "aws:MultiFactorAuthPresent", Some(json!("true")));
    })
    .await?;
    Ok((serial, seed))
}

pub async fn prove_mfa(cx: Cx<'_>, device: Option<&(String, Secret)>) -> Result<Vec<LessonCheck>> {
    let (lab, role_arn) = (cx.lab, cx.role_arn);
    let as_user = lab.profile(&lab.names.user_profile).await?;
    let me = Caller::User(lab.names.user.clone());
    let base = format!(
        "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name mfa",
        lab.names.user_profile
    );
    let without = until_refused(cx, || sts::assume_role(&as_user.sts, role_arn, "mfa", None)).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn);
    let mut out = vec![
        check(
            cx,
            Probe::new("AssumeRole without an MFA code", ACCESS_DENIED, &without, base.clone()).asking(ask),
        )
        .await?,
    ];
    let (serial, seed) =
        device.ok_or_else(|| anyhow!("the MFA device's seed is not known here; apply lesson mfa again"))?;
    let mut now = lab.now().await?;
    // AWS accepts each code once: on AWS wait for the next window after the enabling codes.
    if lab.target.endpoint.emulator().is_none() {
        cx.steps.waiting("the next MFA code (AWS accepts each code once)");
        let window = now / 30;
        while now / 30 == window {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            now = lab.now().await?;
        }
    }
    let options = AssumeOptions {
        mfa: Some((serial.clone(), code(seed, now)?)),
        ..AssumeOptions::default()
    };
    let with = until_allowed(cx, || sts::assume_role_with(&as_user.sts, role_arn, "mfa", &options)).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn).with("aws:MultiFactorAuthPresent", "true");
    let command = format!("{base} --serial-number {serial} --token-code <the code your authenticator shows>");
    out.push(
        check(
            cx,
            Probe::new("AssumeRole with a code of the device", Expect::Allowed, &with, command).asking(ask),
        )
        .await?,
    );
    Ok(out)
}

/// Deletes the user's virtual MFA device, and a class's seed file with it.
async fn remove_device(cx: Cx<'_>) -> Result<()> {
    iam::delete_virtual_mfa_device(&cx.lab.admin.iam, &cx.lab.names.user, &device_serial(cx)).await?;
    if let Some(path) = seed_path(cx) {
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    Ok(())
}

pub async fn undo_mfa(cx: Cx<'_>) -> Result<()> {
    edit_trust(cx, cx.role(), |doc| {
        set_condition(doc, "Bool", "aws:MultiFactorAuthPresent", None)
    })
    .await?;
    remove_device(cx).await
}

/// The source identity the lesson sets: who is behind the session.
const WHO: &str = "learner-alice";

/// Lesson source-identity's change: the trust requires a source identity and lets it be set, and
/// the stack's role may pass it on to the chained role.
pub async fn apply_source_identity(cx: Cx<'_>) -> Result<()> {
    edit_trust(cx, cx.role(), |doc| {
        set_condition(doc, "StringLike", "sts:SourceIdentity", Some(json!("*")));
        set_action(doc, "sts:SetSourceIdentity", true);
    })
    .await?;
    let chained_arn = ensure_chained(cx, &["sts:SetSourceIdentity"]).await?;
    // Along a chain the calling session's own policy must allow passing the source identity on.
    let pass = json!({"Version": "2012-10-17", "Statement": [{"Sid": "PassItOn", "Effect": "Allow",
        "Action": "sts:SetSourceIdentity", "Resource": chained_arn}]})
    .to_string();
    put_policy(cx, cx.role(), cx.lab.names.source_identity_policy(), &pass).await
}

/// The chained session made from `first`, if it kept the source identity.
async fn chained_keeps(cx: Cx<'_>, first: &Result<AssumedCredentials>) -> Result<AssumedCredentials> {
    let first = first.as_ref().map_err(|e| anyhow!("{e:#}"))?;
    let session = cx.lab.target.session(first).await?;
    let chained = chained_arn(cx.lab);
    let again = until_allowed(cx, || sts::assume_role(&session.sts, &chained, "chained", None)).await?;
    match again.source_identity.as_deref() {
        Some(WHO) => Ok(again),
        other => Err(anyhow!("the chained session's SourceIdentity is {other:?}")),
    }
}

pub async fn prove_source_identity(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let (lab, role_arn) = (cx.lab, cx.role_arn);
    let as_user = lab.profile(&lab.names.user_profile).await?;
    let me = Caller::User(lab.names.user.clone());
    let base = format!(
        "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name who",
        lab.names.user_profile
    );
    let without = until_refused(cx, || sts::assume_role(&as_user.sts, role_arn, "who", None)).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn);
    let mut out = vec![
        check(
            cx,
            Probe::new(
                "AssumeRole without a SourceIdentity",
                ACCESS_DENIED,
                &without,
                base.clone(),
            )
            .asking(ask),
        )
        .await?,
    ];
    let options = AssumeOptions {
        source_identity: Some(WHO.to_owned()),
        ..AssumeOptions::default()
    };
    let with = until_allowed(cx, || sts::assume_role_with(&as_user.sts, role_arn, "who", &options)).await;
    let ask = Ask::new(&me, "sts:AssumeRole", role_arn).with("sts:SourceIdentity", WHO);
    let name = format!("AssumeRole with SourceIdentity {WHO}");
    let command = format!("{base} --source-identity {WHO}");
    out.push(check(cx, Probe::new(name, Expect::Allowed, &with, command).asking(ask)).await?);
    let chained = chained_keeps(cx, &with).await;
    let kept = "a source identity, once set, stays with every session made from it";
    let command = format!(
        "aws sts assume-role --role-arn {} --role-session-name chained  # with the first session's keys",
        chained_arn(lab)
    );
    let name = format!("a chained session keeps SourceIdentity {WHO}");
    out.push(check(cx, Probe::new(name, Expect::Allowed, &chained, command).limit(kept)).await?);
    Ok(out)
}

pub async fn undo_source_identity(cx: Cx<'_>) -> Result<()> {
    edit_trust(cx, cx.role(), |doc| {
        set_condition(doc, "StringLike", "sts:SourceIdentity", None);
        set_action(doc, "sts:SetSourceIdentity", false);
    })
    .await?;
    let role = cx.role();
    policies::delete_role_policy(&cx.lab.admin.iam, role, cx.lab.names.source_identity_policy()).await?;
    super::trust::undo_role_chaining(cx).await
}

/// Lesson session-tags' change: the stack's role may be assumed with tags, its sessions may make
/// only their team's buckets, and the chained role lists for team blue.
pub async fn apply_session_tags(cx: Cx<'_>) -> Result<()> {
    let lab = cx.lab;
    let (prefix, role) = (lab.bucket_prefix(), cx.role());
    edit_trust(cx, role, |doc| set_action(doc, "sts:TagSession", true)).await?;
    let team_buckets = json!({"Version": "2012-10-17", "Statement": [{"Sid": "OwnTeamsBucketsOnly", "Effect": "Deny",
        "Action": "s3:CreateBucket", "NotResource": format!("arn:{}:s3:::{prefix}${{aws:PrincipalTag/team}}-*", lab.admin_identity.partition()),
        "Condition": {"Null": {"aws:PrincipalTag/team": "false"}}}]})
    .to_string();
    put_policy(cx, role, lab.names.team_policy(), &team_buckets).await?;
    ensure_chained(cx, &["sts:TagSession"]).await?;
    let blue_lists = json!({"Version": "2012-10-17", "Statement": [{"Sid": "BlueTeamLists", "Effect": "Allow",
        "Action": "s3:ListAllMyBuckets", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]})
    .to_string();
    put_policy(cx, &lab.names.chained_role(), lab.names.team_policy(), &blue_lists).await
}

pub async fn prove_session_tags(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let (lab, role_arn) = (cx.lab, cx.role_arn);
    let prefix = lab.bucket_prefix();
    let as_user = lab.profile(&lab.names.user_profile).await?;
    let options = AssumeOptions {
        tags: vec![("team".to_owned(), "blue".to_owned())],
        transitive_tag_keys: vec!["team".to_owned()],
        ..AssumeOptions::default()
    };
    let blue = until_allowed(cx, || sts::assume_role_with(&as_user.sts, role_arn, "blue", &options)).await?;
    let session = lab.target.session(&blue).await?;
    let me = Caller::of_arn(&blue.assumed_role_arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
    cx.steps.note(format!(
        "assumed as {} with the session tag team=blue (transitive): aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name blue --tags Key=team,Value=blue --transitive-tag-keys team",
        blue.assumed_role_arn, lab.names.user_profile
    ));
    let mut out = Vec::new();
    for (team, expected) in [("blue", Expect::Allowed), ("red", ACCESS_DENIED)] {
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
            Expect::Refused(_) => until_refused(cx, create).await,
            Expect::Allowed | Expect::Proven => create().await,
        };
        let arn = format!("arn:{}:s3:::{bucket}", lab.admin_identity.partition());
        let ask = Ask::new(&me, "s3:CreateBucket", arn).with("aws:PrincipalTag/team", "blue");
        let command = format!("aws s3 mb s3://{bucket}  # with the blue session's keys");
        let name = format!("the blue session creates {bucket}");
        out.push(check(cx, Probe::new(name, expected, &made, command).asking(ask)).await?);
    }
    let chained = list_from_chained(cx, &session).await;
    let chained_role = lab.names.chained_role();
    let chained_me = Caller::Session {
        session_arn: format!(
            "arn:{}:sts::{}:assumed-role/{chained_role}/chained",
            lab.admin_identity.partition(),
            lab.account()
        ),
        role: chained_role,
    };
    let ask = Ask::new(&chained_me, "s3:ListAllMyBuckets", "*").with("aws:PrincipalTag/team", "blue");
    let command = format!(
        "aws sts assume-role --role-arn {} --role-session-name chained  # with the blue session's keys, then aws s3 ls",
        chained_arn(lab)
    );
    let name = "a chained session keeps team=blue and lists";
    out.push(check(cx, Probe::new(name, Expect::Allowed, &chained, command).asking(ask)).await?);
    Ok(out)
}

/// A chained session from `session` lists the buckets (asked again while its trust propagates).
async fn list_from_chained(cx: Cx<'_>, session: &Clients) -> Result<Vec<String>> {
    let chained = chained_arn(cx.lab);
    let creds = until_allowed(cx, || sts::assume_role(&session.sts, &chained, "chained", None)).await?;
    let chained = cx.lab.target.session(&creds).await?;
    s3::list_buckets(&chained.s3).await
}

pub async fn undo_session_tags(cx: Cx<'_>) -> Result<()> {
    let role = cx.role();
    edit_trust(cx, role, |doc| set_action(doc, "sts:TagSession", false)).await?;
    policies::delete_role_policy(&cx.lab.admin.iam, role, cx.lab.names.team_policy()).await?;
    super::trust::undo_role_chaining(cx).await
}
