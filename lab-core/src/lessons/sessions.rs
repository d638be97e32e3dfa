//! The lessons about sessions: `session-policy` (a session narrower than its role),
//! `revoke-sessions` (a Deny on `aws:TokenIssueTime`) and `auto-refresh` (a profile the SDKs
//! refresh themselves). Each that needs an open session brings its own (`checks::open_session`).

use anyhow::{Result, anyhow, bail};
use serde_json::json;

use super::checks::{
    self, ACCESS_DENIED, Cx, Open, Probe, check, put_policy, show_diff, until_allowed, until_refused,
    write_role_profile,
};
use crate::model::decide::{Ask, Caller};
use crate::model::expiry::{format_utc, parse_utc};
use crate::ops::{policies, s3, sts};
use crate::output::{Expect, LessonCheck};

use super::{Applied, Rung};

pub static SESSION_POLICY: Rung = Rung {
    name: "session-policy",
    summary: "a session policy narrower than the role: the session may list, not create",
    moves_clock: false,
    changes_lab: false,
    apply: |cx| {
        Box::pin(async move {
            show_session_policy(cx);
            Ok(Applied::default())
        })
    },
    prove: |cx, _| Box::pin(prove_session_policy(cx)),
    undo: |_| Box::pin(async { Ok(()) }),
};

pub static REVOKE_SESSIONS: Rung = Rung {
    name: "revoke-sessions",
    summary: "revoke active sessions: a Deny on aws:TokenIssueTime refuses the open session, not a new one",
    moves_clock: false,
    changes_lab: true,
    apply: |cx| {
        Box::pin(async move {
            let open = apply_revoke(cx).await?;
            Ok(Applied {
                open: Some(open),
                ..Applied::default()
            })
        })
    },
    prove: |cx, applied| Box::pin(prove_revoke(cx, applied.open.as_ref())),
    undo: |cx| Box::pin(undo_revoke(cx)),
};

pub static AUTO_REFRESH: Rung = Rung {
    name: "auto-refresh",
    summary: "a role_arn + source_profile profile the SDKs refresh themselves, beside the static keys",
    moves_clock: true,
    changes_lab: true,
    apply: |cx| Box::pin(async move { apply_auto_refresh(cx).await.map(|()| Applied::default()) }),
    prove: |cx, _| Box::pin(prove_auto_refresh(cx)),
    undo: |cx| Box::pin(undo_auto_refresh(cx)),
};

/// The session policy of the lesson: listing the buckets, nothing else.
const LIST_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ListOnly","Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;

pub fn show_session_policy(cx: Cx<'_>) {
    show_diff(
        cx.steps,
        "the session policy passed to AssumeRole (the role itself is unchanged)",
        "",
        LIST_ONLY,
    );
}

pub async fn prove_session_policy(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let (lab, role_arn) = (cx.lab, cx.role_arn);
    let user = lab.profile(&lab.names.user_profile).await?;
    let options = sts::AssumeOptions {
        policy: Some(LIST_ONLY.to_owned()),
        ..sts::AssumeOptions::default()
    };
    let creds = until_allowed(cx, || sts::assume_role_with(&user.sts, role_arn, "narrowed", &options)).await?;
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
    let arn = format!("arn:{}:s3:::{bucket}", lab.admin_identity.partition());
    let ask = Ask::new(&me, "s3:CreateBucket", arn).in_session(LIST_ONLY);
    let command = format!("{assume}  # then, with its keys: aws s3 mb s3://{bucket}");
    let create = Probe::new(
        "the narrowed session creates a lab bucket",
        ACCESS_DENIED,
        &made,
        command,
    )
    .asking(ask);
    let listed = s3::list_buckets(&session.s3).await;
    let ask = Ask::new(&me, "s3:ListAllMyBuckets", "*").in_session(LIST_ONLY);
    let command = "aws s3 ls  # with the narrowed session's keys";
    let list = Probe::new(
        "the narrowed session lists the buckets",
        Expect::Allowed,
        &listed,
        command,
    )
    .asking(ask);
    // The claim is a set: the session may list the buckets and nothing else, proven.
    let until = lab.expires().await?.map(format_utc);
    let mut only = json!({"Action": "s3:ListAllMyBuckets", "Resource": "*"});
    if let Some(at) = until {
        only["Condition"] = json!({"DateLessThan": {"aws:CurrentTime": at}});
    }
    let name = "proof: the narrowed session may make exactly s3:ListAllMyBuckets";
    let exactly = super::proven::exactly(cx, "session-policy", name, &me, Some(LIST_ONLY), vec![only]).await?;
    Ok(vec![check(cx, create).await?, check(cx, list).await?, exactly])
}

/// Lesson revoke-sessions' change, the console's "Revoke active sessions": a Deny of everything to
/// every session of the role issued before now. Returns the session that was open before it (the
/// assumed profile's, or one the lesson assumed), which the Deny now refuses.
pub async fn apply_revoke(cx: Cx<'_>) -> Result<Open> {
    let lab = cx.lab;
    let open = checks::open_session(cx, lab.now().await?).await?;
    let cutoff = lab.now().await? + 1;
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "RevokeOlderSessions", "Effect": "Deny",
        "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:TokenIssueTime": format_utc(cutoff)}}}]})
    .to_string();
    put_policy(cx, cx.role(), lab.names.revoke_policy(), &policy).await?;
    // A session issued from here on is issued after the cutoff.
    let mut now = lab.now().await?;
    let after = |now| crate::model::expiry::has_ended(cutoff + 1, now);
    if !after(now) {
        cx.steps.waiting("the cutoff second to pass");
    }
    while !after(now) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        now = lab.now().await?;
    }
    Ok(open)
}

/// The cutoff the lesson's Deny names (its aws:TokenIssueTime), as the role holds it now.
async fn recorded_cutoff(cx: Cx<'_>) -> Result<i64> {
    let lab = cx.lab;
    let name = lab.names.revoke_policy();
    let documents = policies::role_inline(&lab.admin.iam, cx.role()).await?;
    documents
        .iter()
        .find(|d| d.name == name)
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d.json).ok())
        .and_then(|doc| {
            doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
                .as_str()
                .and_then(parse_utc)
        })
        .ok_or_else(|| anyhow!("the role holds no {name} policy with a cutoff; apply lesson revoke-sessions again"))
}

pub async fn prove_revoke(cx: Cx<'_>, open: Option<&Open>) -> Result<Vec<LessonCheck>> {
    let lab = cx.lab;
    let cutoff = recorded_cutoff(cx).await?;
    let before = format_utc(cutoff - 60);
    let mut out = Vec::new();
    match open {
        Some(open) => {
            // On AWS the Deny takes a moment to arrive: asked again while the session still lists.
            let listed = until_refused(cx, || s3::list_buckets(&open.clients.s3)).await;
            let ask = Ask::new(&open.caller()?, "s3:ListAllMyBuckets", "*").with("aws:TokenIssueTime", &before);
            let command = format!("aws s3 ls {}", open.how);
            let name = "the session open before the revocation lists the buckets";
            out.push(check(cx, Probe::new(name, ACCESS_DENIED, &listed, command).asking(ask)).await?);
        }
        None => {
            // Proving again (class verify) can make no session from before the cutoff: the
            // documents decide one offline.
            let role = cx.role();
            let arn = format!(
                "arn:{}:sts::{}:assumed-role/{role}/before-the-cutoff",
                lab.admin_identity.partition(),
                lab.account()
            );
            let old = Caller::Session {
                role: role.to_owned(),
                session_arn: arn,
            };
            let ask = Ask::new(&old, "s3:ListAllMyBuckets", "*").with("aws:TokenIssueTime", &before);
            let name = format!("a session issued before {} lists the buckets", format_utc(cutoff));
            let command = format!(
                "{}  # with a session from before the cutoff",
                crate::output::command::xtask("why --as assumed s3:ListAllMyBuckets")
            );
            out.push(checks::offline_check(cx, name, ask, command).await?);
        }
    }
    let fresh = checks::assume_for_lesson(cx, "after-revoke", None).await?;
    let listed = s3::list_buckets(&fresh.clients.s3).await;
    let now = format_utc(lab.now().await?);
    let ask = Ask::new(&fresh.caller()?, "s3:ListAllMyBuckets", "*").with("aws:TokenIssueTime", &now);
    let command = format!(
        "{} && aws s3 ls --profile {}",
        crate::output::command::xtask("assume"),
        lab.names.assumed_profile
    );
    let name = "a session assumed after the revocation lists the buckets";
    out.push(check(cx, Probe::new(name, Expect::Allowed, &listed, command).asking(ask)).await?);
    Ok(out)
}

pub async fn undo_revoke(cx: Cx<'_>) -> Result<()> {
    let role = cx.role();
    let name = cx.lab.names.revoke_policy();
    if policies::delete_role_policy(&cx.lab.admin.iam, role, name).await? {
        cx.steps
            .note(format!("deleted the inline policy {name} of role {role}"));
    }
    Ok(())
}

pub async fn apply_auto_refresh(cx: Cx<'_>) -> Result<()> {
    let profile = cx.lab.names.auto_profile();
    let note = "lesson auto-refresh: the SDKs assume the role themselves, and again when the session ends";
    write_role_profile(
        cx,
        &profile,
        cx.role_arn,
        &[("role_session_name", "auto-refresh")],
        note,
    )
    .await
}

pub async fn prove_auto_refresh(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let lab = cx.lab;
    let profile = lab.names.auto_profile();
    if !checks::clock_moves(cx) {
        cx.steps.note(
            "on AWS a static session's keys end with it (an hour); the auto profile goes on: try both after an hour",
        );
        let listed = match lab.profile(&profile).await {
            Ok(c) => s3::list_buckets(&c.s3).await,
            Err(e) => Err(e),
        };
        let name = format!("profile {profile} lists the buckets");
        let probe = Probe::new(name, Expect::Allowed, &listed, format!("aws s3 ls --profile {profile}"))
            .limit("the role's own policy, through a session the SDK makes");
        return Ok(vec![check(cx, probe).await?]);
    }
    let open = checks::open_session(cx, lab.now().await?).await?;
    let lab_end = super::expiry::lab_expiry(cx).await?;
    if crate::model::expiry::has_ended(lab_end, open.ends + 60) {
        bail!(
            "the lab expires before the open session ends; run `{run}`, then this lesson",
            run = crate::output::command::xtask("setup --ttl 8h")
        );
    }
    let later = async {
        let old = s3::list_buckets(&open.clients.s3).await;
        let ended = "the session ended: ExpiredToken, no policy decides";
        let name = "the static session's keys list the buckets";
        let command = format!("aws s3 ls {}", open.how);
        let stale = Probe::new(name, Expect::Refused("ExpiredToken"), &old, command).limit(ended);
        let mut out = vec![check(cx, stale).await?];
        let auto = lab.profile(&profile).await?;
        let listed = s3::list_buckets(&auto.s3).await;
        let auto_session = sts::caller_identity(&auto.sts).await?;
        let me = Caller::of_arn(&auto_session.arn).ok_or_else(|| anyhow!("no assumed-role ARN"))?;
        let ask = Ask::new(&me, "s3:ListAllMyBuckets", "*");
        let name = format!("profile {profile} (refreshed) lists the buckets");
        let fresh = Probe::new(name, Expect::Allowed, &listed, format!("aws s3 ls --profile {profile}")).asking(ask);
        out.push(check(cx, fresh).await?);
        Ok(out)
    };
    checks::keeping_clock(cx, async {
        let why = "a minute past the open session's end, short of the lab's expiry";
        checks::move_clock_to(cx, open.ends + 60, why).await?;
        later.await
    })
    .await
}

pub async fn undo_auto_refresh(cx: Cx<'_>) -> Result<()> {
    checks::remove_profile(cx, &cx.lab.names.auto_profile()).await
}
