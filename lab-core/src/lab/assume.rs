//! `assume`: AssumeRole with the user profile, the temporary credentials written as the assumed
//! profile, and the session's duration and time left.

use anyhow::{Context, Result, bail};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::*;
use crate::aws::retry::{Backoff, retry_codes};
use crate::aws::target::Target;
use crate::model::names::LabNames;
use crate::ops::sts::{self, AssumedCredentials};
use crate::output::explain;
use crate::output::report::{Report, Steps};

/// Assumes the role with the user profile and writes the assumed profile; the role ARN is the one
/// setup recorded, or the stack's.
pub async fn assume(
    lab: &Lab,
    session_name: &str,
    duration: Option<i32>,
    report: &dyn Report,
) -> Result<AssumedCredentials> {
    let (role_arn, expires) = match recorded_role_arn(&lab.target, &lab.names)? {
        Some(arn) => (arn, recorded_expiry(&lab.target, &lab.names)?),
        None => {
            let (stack, arn) = lab.ready_stack().await?;
            (arn, stack.tag(crate::model::names::EXPIRES_TAG_KEY).map(str::to_owned))
        }
    };
    check_not_expired(expires.as_deref(), lab.now().await?)?;
    assume_role_as_user(
        &lab.target,
        &lab.names,
        &role_arn,
        session_name,
        duration,
        lab.backoff,
        lab.force,
        report,
    )
    .await
}

/// Assumes `role_arn` with the user profile alone (no admin call) and writes the assumed profile.
#[allow(clippy::too_many_arguments)]
pub async fn assume_role_as_user(
    target: &Target,
    names: &LabNames,
    role_arn: &str,
    session_name: &str,
    duration: Option<i32>,
    backoff: Backoff,
    force: bool,
    report: &dyn Report,
) -> Result<AssumedCredentials> {
    let steps = Steps::new(report);
    crate::model::names::validate_session_name(session_name)?;
    check_duration(duration)?;
    let as_user = target.profile(&names.user_profile).await?;
    // AssumeRole is denied for up to ~30 s after the role or the user's policy appears on AWS.
    let assumed = retry_codes(
        backoff,
        &["AccessDenied", "InvalidClientTokenId"],
        |w| waiting(steps, "IAM to allow the new role and policy", w),
        || sts::assume_role(&as_user.sts, role_arn, session_name, duration),
    );
    let assumed = async { assumed.await.map_err(|e| explain_assume_failure(e, duration)) };
    let creds = step(steps, "assume role", assumed, |_| {
        format!("assumed {role_arn} as {} (session {session_name})", names.user_profile)
    })
    .await?;
    steps.explain(&explain::assume(names, role_arn, session_name, duration));
    let expires = creds.expiration.fmt(Format::DateTime).context("expiration time")?;
    step(
        steps,
        "write assumed profile",
        async {
            write_lab_profile(
                target,
                names,
                &names.assumed_profile,
                &as_user.region,
                vec![format!("expires {expires}")],
                vec![
                    ("aws_access_key_id", &creds.access_key_id),
                    ("aws_secret_access_key", creds.secret_access_key.expose()),
                    ("aws_session_token", creds.session_token.expose()),
                ],
                force,
            )
            .await
        },
        |_| {
            format!(
                "wrote profile [{}] in {}",
                names.assumed_profile,
                target.files.credentials.display()
            )
        },
    )
    .await?;
    steps.explain(&explain::write_assumed(names));
    steps.note(format!("identity: {}", creds.assumed_role_arn));
    steps.note(format!(
        "expires {expires} ({})",
        time_left(&creds.expiration, target.now().await?)
    ));
    Ok(creds)
}

/// Says what to do when AWS refuses the session's length: DurationSeconds above the role's
/// MaxSessionDuration answers ValidationError.
pub fn explain_assume_failure(err: anyhow::Error, duration: Option<i32>) -> anyhow::Error {
    let too_long = crate::aws::error::aws_error(&err)
        .is_some_and(|ae| ae.code.as_deref() == Some("ValidationError") && ae.message.contains("DurationSeconds"));
    if !too_long {
        return err;
    }
    crate::aws::error::hint(
        err,
        format!(
            "the role allows shorter sessions than {} s (its MaxSessionDuration); pass a smaller --duration, e.g. --duration {MIN_SESSION_SECONDS}",
            duration.unwrap_or(MAX_SESSION_SECONDS)
        ),
    )
}

/// Checks `--duration` before any call: STS's minimum and the role's maximum.
pub fn check_duration(duration: Option<i32>) -> Result<()> {
    match duration {
        Some(d) if !(MIN_SESSION_SECONDS..=MAX_SESSION_SECONDS).contains(&d) => bail!(
            "--duration {d} is out of range: use {MIN_SESSION_SECONDS} to {MAX_SESSION_SECONDS} seconds (the role's maximum session)"
        ),
        _ => Ok(()),
    }
}

/// `--duration` as the command line gives it: whole seconds, in range.
pub fn parse_duration(text: &str) -> Result<i32> {
    let Ok(seconds) = text.trim().parse::<i32>() else {
        bail!("--duration {text:?} is not a number of seconds: use {MIN_SESSION_SECONDS} to {MAX_SESSION_SECONDS}");
    };
    check_duration(Some(seconds))?;
    Ok(seconds)
}

/// "47 min left", "30 s left" or "expired".
pub fn time_left(expiration: &DateTime, now: i64) -> String {
    let left = expiration.secs() - now;
    match left {
        _ if crate::model::expiry::has_ended(expiration.secs(), now) => "expired".to_owned(),
        l if l < 60 => format!("{l} s left"),
        l => format!("{} min left", l / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_checked_against_sts_and_the_role() {
        check_duration(None).unwrap();
        check_duration(Some(900)).unwrap();
        check_duration(Some(3600)).unwrap();
        for bad in [0, 899, 3601, -5] {
            let err = check_duration(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("900 to 3600"), "{err}");
        }
    }

    #[test]
    fn time_left_reads_well() {
        let at = DateTime::from_secs(10_000);
        assert_eq!(time_left(&at, 10_000 - 47 * 60 - 5), "47 min left");
        assert_eq!(time_left(&at, 9_970), "30 s left");
        assert_eq!(time_left(&at, 10_000), "expired");
    }
}
