//! Lesson `expiry`, which `demo --disarm` runs too: the lab's own time to live. Every Allow the lab
//! wrote holds only while `aws:CurrentTime` is before the lab's expiry, so a session still valid
//! (its own end after the lab's) is refused S3 with AccessDenied by that condition, not ended with
//! ExpiredToken; and the key is refused AssumeRole. On the emulator the clock is moved there and
//! back; on AWS the lesson waits for the expiry of a short lab.

use anyhow::{Result, anyhow, bail};

use super::checks::{self, ACCESS_DENIED, Cx, Open, Probe, check};
use crate::model::decide::{Ask, Caller};
use crate::model::expiry::{format_utc, has_ended};
use crate::ops::{s3, sts};
use crate::output::{Expect, LessonCheck};

use super::{Applied, Rung};

pub static EXPIRY: Rung = Rung {
    name: "expiry",
    summary: "the lab's own TTL: past it a session still open is refused S3 by the lab's aws:CurrentTime condition, and the key AssumeRole",
    moves_clock: true,
    changes_lab: false,
    apply: |_| Box::pin(async { Ok(Applied::default()) }),
    prove: |cx, _| Box::pin(prove(cx)),
    undo: |_| Box::pin(async { Ok(()) }),
};

/// The reason the lab's refusals must give: its expiry condition no longer holds.
const BY_EXPIRY: &str = "DateLessThan aws:CurrentTime";
/// How long before the lab's expiry the lesson's session is assumed: well within its hour, so
/// that it is still open after the expiry.
const BEFORE: i64 = 30 * 60;
/// A session of the role lasts this long (the role's MaxSessionDuration).
const SESSION: i64 = crate::model::expiry::SessionSeconds::MAX as i64;

/// When the lab expires (Unix seconds), or an error saying how to give it an expiry.
pub async fn lab_expiry(cx: Cx<'_>) -> Result<i64> {
    cx.lab.expires().await?.ok_or_else(|| {
        anyhow!(
            "the lab recorded no expiry; run `{}` to give it one",
            crate::output::command::xtask("setup")
        )
    })
}

pub async fn prove(cx: Cx<'_>) -> Result<Vec<LessonCheck>> {
    let lab_end = lab_expiry(cx).await?;
    if checks::clock_moves(cx) {
        checks::keeping_clock(cx, on_emulator(cx, lab_end)).await
    } else {
        on_aws(cx, lab_end).await
    }
}

fn too_late(lab_end: i64) -> anyhow::Error {
    anyhow!(
        "the lab expired at {}: its key can no longer open a session to outlive it; run `{}` to renew the lab, then this lesson",
        format_utc(lab_end),
        crate::output::command::xtask("setup")
    )
}

/// On the emulator: a session assumed half an hour before the lab's expiry, the clock moved a
/// minute past the expiry (the session still has half an hour), and the refusals.
async fn on_emulator(cx: Cx<'_>, lab_end: i64) -> Result<Vec<LessonCheck>> {
    let now = cx.lab.now().await?;
    if has_ended(lab_end - 60, now) {
        return Err(too_late(lab_end));
    }
    if !has_ended(lab_end - BEFORE, now) {
        checks::move_clock_to(cx, lab_end - BEFORE, "half an hour before the lab's expiry").await?;
    }
    let session = checks::assume_for_lesson(cx, "before-expiry", None).await?;
    let why = format!(
        "a minute past the lab's expiry; the session is open until {}",
        format_utc(session.ends)
    );
    checks::move_clock_to(cx, lab_end + 60, &why).await?;
    refusals(cx, &session).await
}

/// On AWS: a lab that expires within the hour gets a session now, then the lesson waits for the
/// expiry (said so) and asks.
async fn on_aws(cx: Cx<'_>, lab_end: i64) -> Result<Vec<LessonCheck>> {
    let lab = cx.lab;
    let now = lab.now().await?;
    if has_ended(lab_end, now) {
        return Err(too_late(lab_end));
    }
    if lab_end - now > SESSION - 120 {
        bail!(
            "the lab expires at {}, further away than a session lasts; run `{}`, then this lesson (it waits for the expiry)",
            format_utc(lab_end),
            crate::output::command::xtask("setup --ttl 15m")
        );
    }
    let session = checks::assume_for_lesson(cx, "before-expiry", None).await?;
    let mut now = lab.now().await?;
    while !has_ended(lab_end, now) {
        cx.steps.waiting(format!(
            "the lab's expiry at {} ({} s left; the session is open until {})",
            format_utc(lab_end),
            lab_end - now + 1,
            format_utc(session.ends)
        ));
        tokio::time::sleep(std::time::Duration::from_secs((lab_end - now + 1).clamp(1, 30) as u64)).await;
        now = lab.now().await?;
    }
    refusals(cx, &session).await
}

/// Past the lab's expiry, with `session` still open: the key is refused AssumeRole and the session
/// S3, each with AccessDenied by the expiry condition, while the session itself is still valid.
async fn refusals(cx: Cx<'_>, session: &Open) -> Result<Vec<LessonCheck>> {
    let (lab, role_arn) = (cx.lab, cx.role_arn);
    let user = lab.profile(&lab.names.user_profile).await?;
    let me = Caller::User(lab.names.user.clone());
    let assumed = sts::assume_role(&user.sts, role_arn, "after-expiry", None).await;
    let command = format!(
        "aws sts assume-role --profile {} --role-arn {role_arn} --role-session-name after-expiry",
        lab.names.user_profile
    );
    let key = Probe::new("the key assumes the role", ACCESS_DENIED, &assumed, command)
        .asking(Ask::new(&me, "sts:AssumeRole", role_arn))
        .because(BY_EXPIRY);
    let identity = sts::caller_identity(&session.clients.sts).await;
    let name = format!("the session is still valid (until {})", format_utc(session.ends));
    let valid = Probe::new(
        name,
        Expect::Allowed,
        &identity,
        format!("aws sts get-caller-identity {}", session.how),
    )
    .limit("a session answers GetCallerIdentity until its own Expiration, whatever the policies say");
    let listed = s3::list_buckets(&session.clients.s3).await;
    let open = Probe::new(
        "the open session lists the buckets",
        ACCESS_DENIED,
        &listed,
        format!("aws s3 ls {}", session.how),
    )
    .asking(Ask::new(&session.caller()?, "s3:ListAllMyBuckets", "*"))
    .because(BY_EXPIRY);
    Ok(vec![
        check(cx, key).await?,
        check(cx, valid).await?,
        check(cx, open).await?,
    ])
}
