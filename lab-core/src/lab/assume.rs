//! `assume`: AssumeRole with the user profile, the temporary credentials written as the assumed
//! profile, and the session's duration and time left.

use anyhow::{Context, Result};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::*;
use crate::aws::error::error_code;
use crate::aws::retry::{Backoff, retry_codes};
use crate::aws::target::Target;
use crate::model::expiry::SessionSeconds;
use crate::model::names::{LabNames, SessionName};
use crate::ops::sts::{self, AssumedCredentials};
use crate::output::explain;
use crate::output::report::{Report, Steps};

/// What `assume` is asked for: the session's name and length (each checked when it was read),
/// and whether to overwrite an assumed profile sts-lab did not write.
#[derive(Debug, Clone, Default)]
pub struct AssumeOptions {
    pub session_name: SessionName,
    pub duration: Option<SessionSeconds>,
    pub force: bool,
}

/// `assume` as the guide runs it: with the role ARN setup recorded beside the user profile, the
/// user profile alone (`aws sts assume-role --profile sts`, no admin call); without it, the
/// admin finds the stack's role. Refused at once when the lab has expired, on the endpoint's
/// clock.
pub async fn assume_as_guide(
    target: &Target,
    names: &LabNames,
    options: &AssumeOptions,
    report: &dyn Report,
) -> Result<AssumedCredentials> {
    let mut target = target.clone();
    // The user profile is called in the lab's region, whatever AWS_REGION says.
    settle_region_from_files(&mut target, names)?;
    if let Some(role_arn) = recorded_role_arn(&target, names)? {
        let expires = recorded_expiry(&target, names)?;
        check_not_expired(expires.as_deref(), target.now().await?)?;
        let backoff = target.propagation(Backoff::default()).await;
        return assume_role_as_user(&target, names, &role_arn, options, backoff, report).await;
    }
    let lab = Lab::connect(
        target,
        names.clone(),
        LabOptions::default().force(options.force),
        report,
    )
    .await?;
    assume(&lab, options, report).await
}

/// Assumes the role with the user profile and writes the assumed profile; the role ARN is the one
/// setup recorded, or the stack's.
pub async fn assume(lab: &Lab, options: &AssumeOptions, report: &dyn Report) -> Result<AssumedCredentials> {
    let role_arn = match recorded_role_arn(&lab.target, &lab.names)? {
        Some(arn) => arn,
        None => lab.role_arn().await?,
    };
    let expires = lab.expires().await?.map(crate::model::expiry::format_utc);
    check_not_expired(expires.as_deref(), lab.now().await?)?;
    let options = AssumeOptions {
        force: lab.force,
        ..options.clone()
    };
    assume_role_as_user(&lab.target, &lab.names, &role_arn, &options, lab.backoff, report).await
}

/// Assumes `role_arn` with the user profile alone (no admin call) and writes the assumed profile.
pub async fn assume_role_as_user(
    target: &Target,
    names: &LabNames,
    role_arn: &str,
    options: &AssumeOptions,
    backoff: Backoff,
    report: &dyn Report,
) -> Result<AssumedCredentials> {
    let steps = Steps::new(report);
    let session_name = options.session_name.as_str();
    let duration = options.duration.map(SessionSeconds::seconds);
    let as_user = profile_clients(target, names, &names.user_profile).await?;
    let call = || sts::assume_role(&as_user.sts, role_arn, session_name, duration);
    let assumed = async {
        let refused = match call().await {
            Ok(creds) => return Ok(creds),
            Err(e) => e,
        };
        if !matches!(error_code(&refused), Some("AccessDenied" | "InvalidClientTokenId")) {
            return Err(explain_assume_failure(refused, duration));
        }
        // A wait must have a reason: what is gone is said at once, never waited out.
        if let Some(gone) = gone_from_endpoint(target, names, role_arn).await {
            return Err(crate::aws::error::hint(
                anyhow::anyhow!("{gone}"),
                format!(
                    "make the lab again with `{}`, then assume",
                    crate::output::command::xtask("setup")
                ),
            ));
        }
        // AssumeRole is denied for up to ~30 s after the role or the user's policy appears on AWS.
        retry_codes(
            backoff,
            &["AccessDenied", "InvalidClientTokenId"],
            |w| waiting(steps, "IAM to allow the new role and policy", w),
            call,
        )
        .await
        .map_err(|e| explain_assume_failure(e, duration))
    };
    let creds = step(steps, "assume role", assumed, |_| {
        format!("assumed {role_arn} as {} (session {session_name})", names.user_profile)
    })
    .await?;
    steps.explain(&explain::assume(names, role_arn, session_name, duration));
    let expires = creds.expiration.fmt(Format::DateTime).context("expiration time")?;
    let profile = LabProfile {
        profile: &names.assumed_profile,
        region: &as_user.region,
        notes: vec![format!("expires {expires}")],
        entries: vec![
            ("aws_access_key_id", &creds.access_key_id),
            ("aws_secret_access_key", creds.secret_access_key.expose()),
            ("aws_session_token", creds.session_token.expose()),
        ],
    };
    step(
        steps,
        "write assumed profile",
        write_lab_profile(target, names, profile, options.force),
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

/// The lab's role assumed with the user's key, held in memory (nothing written): AssumeRole
/// asked again while AWS does not yet know the key or the role (IAM propagates), each wait told.
pub async fn assume_in_memory(lab: &Lab, role_arn: &str, session_name: &str, report: &dyn Report) -> Result<Clients> {
    let steps = Steps::new(report);
    let as_user = lab.profile(&lab.names.user_profile).await?;
    let creds = retry_codes(
        lab.backoff,
        &["AccessDenied", "InvalidClientTokenId"],
        |w| waiting(steps, "the key to assume the role", w),
        || sts::assume_role(&as_user.sts, role_arn, session_name, None),
    )
    .await?;
    lab.target.session(&creds).await
}

/// What of the lab is gone from the endpoint, asked with the admin's own credentials when
/// AssumeRole is refused: the user, the profile's key among the user's keys, the role. None when
/// all are there (IAM is still propagating) or the admin cannot ask.
async fn gone_from_endpoint(target: &Target, names: &LabNames, role_arn: &str) -> Option<String> {
    let admin = target.admin().await.ok()?;
    let endpoint = match target.endpoint.emulator() {
        Some(control) => format!("the emulator at {} (restarted, its state gone?)", control.base),
        None => "this account".to_owned(),
    };
    let Ok(user) = crate::ops::iam::get_user(&admin.iam, &names.user).await else {
        return None;
    };
    if user.is_none() {
        return Some(format!("the lab's user {} is not in {endpoint}", names.user));
    }
    let key = target
        .files
        .read_profile(FileKind::Credentials, &names.user_profile)
        .ok()??
        .get("aws_access_key_id")?
        .to_owned();
    let keys = crate::ops::iam::list_access_keys(&admin.iam, &names.user).await.ok()?;
    if !keys.iter().any(|k| k.access_key_id == key) {
        return Some(format!(
            "the key of profile [{}] ({}) is no key of user {} in {endpoint}",
            names.user_profile,
            crate::model::secret::mask_key_id(&key),
            names.user
        ));
    }
    let role = crate::model::policy::role_name(role_arn)?;
    match crate::ops::iam::role_trust(&admin.iam, role).await {
        Ok(None) => Some(format!("the lab's role {role} is not in {endpoint}")),
        _ => None,
    }
}

/// When the assumed profile's session ends, as `assume` recorded it beside its keys (a profile
/// sts-lab wrote), in Unix seconds.
pub fn recorded_session_end(target: &Target, names: &LabNames) -> Result<Option<i64>> {
    Ok(target
        .files
        .read_profile(FileKind::Credentials, &names.assumed_profile)?
        .filter(|p| p.owned)
        .and_then(|p| p.note("expires").and_then(crate::model::expiry::parse_utc)))
}

impl Lab {
    /// When the lab expires (Unix seconds): as setup recorded it beside the user profile, else
    /// as the stack's tag says; None when neither knows (a lab from before `--ttl`).
    pub async fn expires(&self) -> Result<Option<i64>> {
        if let Some(at) =
            recorded_expiry(&self.target, &self.names)?.and_then(|at| crate::model::expiry::parse_utc(&at))
        {
            return Ok(Some(at));
        }
        let (stack, _) = self.ready_stack().await?;
        Ok(stack
            .tag(crate::model::names::EXPIRES_TAG_KEY)
            .and_then(crate::model::expiry::parse_utc))
    }
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
            "the role allows shorter sessions than {} s (its MaxSessionDuration); pass a smaller --duration, e.g. --duration {}",
            duration.unwrap_or(SessionSeconds::MAX),
            SessionSeconds::MIN
        ),
    )
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
    fn time_left_reads_well() {
        let at = DateTime::from_secs(10_000);
        assert_eq!(time_left(&at, 10_000 - 47 * 60 - 5), "47 min left");
        assert_eq!(time_left(&at, 9_970), "30 s left");
        assert_eq!(time_left(&at, 10_000), "expired");
    }
}
