//! The lab's four phases (setup, assume, verify, cleanup) and its inventory, built from the thin
//! operations in `ops` and the pure modules. Each phase reports one line per step.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use crate::awsfiles::FileKind;
use crate::error::aws_error;
use crate::explain;
use crate::names::LabNames;
use crate::ops::cfn::{self, Phase, StackInfo};
use crate::ops::iam::{self, AccessKeyInfo, NewAccessKey, UserInfo};
use crate::ops::sts::{self, AssumedCredentials, Identity};
use crate::ops::{Created, Deleted, s3};
use crate::policy::{self, OUTPUT_ROLE_ARN, PARAM_BUCKET_PREFIX, PARAM_USER_ARN};
use crate::report::{Report, Steps, access_key_table};
use crate::retry::{Backoff, Waiting, retry_codes};
use crate::target::{Clients, Target};

/// The most the role allows a session to last (the template's `MaxSessionDuration`).
pub const MAX_SESSION_SECONDS: i32 = 3600;
/// The least STS allows.
pub const MIN_SESSION_SECONDS: i32 = 900;

/// A lab bound to a target, with the admin's clients and identity.
pub struct Lab {
    pub names: LabNames,
    pub target: Target,
    pub admin: Clients,
    pub admin_identity: Identity,
    /// Overwrite profiles of the lab's names that the lab did not write.
    pub force: bool,
    /// How long to wait out IAM's eventual consistency.
    pub backoff: Backoff,
}

impl Lab {
    /// Connects as the admin and learns the account.
    pub async fn connect(mut target: Target, names: LabNames, report: &dyn Report) -> Result<Self> {
        let steps = Steps::new(report);
        let started = Instant::now();
        let admin = target.admin().await?;
        let admin_identity = sts::caller_identity(&admin.sts)
            .await
            .map_err(|e| with_hint(e, &admin))?;
        // The lab's own profiles use the admin's region, so every call goes to one place.
        target.region = Some(admin.region.clone());
        steps.ok(
            started,
            format!("admin identity {} (region {})", admin_identity.arn, admin.region),
        );
        steps.explain(&explain::connect());
        if admin_identity.is_root() {
            steps.note("warning: the admin identity is the account's root user; prefer an IAM admin or SSO role");
        }
        Ok(Self {
            names,
            target,
            admin,
            admin_identity,
            force: false,
            backoff: Backoff::default(),
        })
    }

    pub fn account(&self) -> &str {
        &self.admin_identity.account
    }

    pub fn user_arn(&self) -> String {
        self.names.user_arn(self.admin_identity.partition(), self.account())
    }

    pub fn bucket_prefix(&self) -> String {
        self.names.bucket_prefix(self.account())
    }

    fn refuse_foreign(&self, what: &str, name: &str, tag: Option<&str>) -> Result<()> {
        if tag == Some(self.names.lab.as_str()) {
            return Ok(());
        }
        bail!(
            "{what} {name} exists but is not tagged sts-lab={}; it was not made by this lab, so sts-lab leaves it alone (delete it yourself, or use another --lab)",
            self.names.lab
        )
    }

    async fn lab_user(&self) -> Result<Option<UserInfo>> {
        let user = iam::get_user(&self.admin.iam, &self.names.user).await?;
        if let Some(u) = &user {
            self.refuse_foreign("IAM user", &self.names.user, u.lab_tag.as_deref())?;
        }
        Ok(user)
    }

    /// The stack's role ARN, or a hint to run setup.
    pub async fn role_arn(&self) -> Result<String> {
        let stack = cfn::describe_stack(&self.admin.cfn, &self.names.stack).await?;
        stack
            .as_ref()
            .filter(|s| cfn::phase(&s.status) == Phase::Ready)
            .and_then(|s| s.output(OUTPUT_ROLE_ARN))
            .map(str::to_owned)
            .ok_or_else(|| {
                anyhow!(
                    "stack {} is not deployed; run `cargo xtask setup` first",
                    self.names.stack
                )
            })
    }

    fn write_profile(&self, profile: &str, notes: Vec<String>, entries: Vec<(&str, &str)>) -> Result<()> {
        write_lab_profile(
            &self.target,
            &self.names,
            profile,
            &self.admin.region,
            notes,
            entries,
            self.force,
        )
    }

    fn write_profile_config(&self, profile: &str, notes: Vec<String>) -> Result<()> {
        let region = [("region", self.admin.region.as_str())].to_vec();
        self.target
            .files
            .write_profile(FileKind::Config, profile, &self.names.lab, notes, region, self.force)
    }
}

/// Writes a lab profile: its keys in the credentials file, its region in the config file.
fn write_lab_profile(
    target: &Target,
    names: &LabNames,
    profile: &str,
    region: &str,
    notes: Vec<String>,
    entries: Vec<(&str, &str)>,
    force: bool,
) -> Result<()> {
    let files = &target.files;
    files.write_profile(FileKind::Credentials, profile, &names.lab, notes, entries, force)?;
    // Keep what the config section already notes (the role ARN) when only the keys change.
    let kept = files
        .read_profile(FileKind::Config, profile)?
        .filter(|p| p.owned)
        .map(|p| p.notes)
        .unwrap_or_default();
    files.write_profile(
        FileKind::Config,
        profile,
        &names.lab,
        kept,
        vec![("region", region)],
        force,
    )
}

/// Adds what to do to errors that never reached AWS.
fn with_hint(err: anyhow::Error, clients: &Clients) -> anyhow::Error {
    match aws_error(&err).map(|e| e.kind) {
        Some(crate::error::FailureKind::Dispatch | crate::error::FailureKind::Timeout) => {
            let endpoint = clients.endpoint_url.as_deref().unwrap_or("AWS");
            err.context(format!(
                "cannot reach {endpoint}; check the network or AWS_ENDPOINT_URL (for the local emulator: cargo xtask emulator start)"
            ))
        }
        _ => err,
    }
}

/// Says that a step waits, for what and why.
fn waiting(steps: Steps<'_>, what: &str, w: &Waiting) {
    steps.waiting(format!(
        "waiting for {what} ({}, usual while IAM propagates): retry in {:.1} s, {:.1} s waited",
        w.code,
        w.delay.as_secs_f64(),
        w.waited.as_secs_f64()
    ));
}

/// Runs one step: a ✓ line with `done(&value)` on success, a ✗ line on failure.
async fn step<T>(
    steps: Steps<'_>,
    what: &str,
    fut: impl Future<Output = Result<T>>,
    done: impl FnOnce(&T) -> String,
) -> Result<T> {
    let started = Instant::now();
    match fut.await {
        Ok(v) => {
            steps.ok(started, done(&v));
            Ok(v)
        }
        Err(e) => {
            steps.failed(started, what, &e);
            Err(e)
        }
    }
}

/// What setup made.
#[derive(Debug, Clone)]
pub struct SetupOutcome {
    pub role_arn: String,
    /// The key created by this run; None when the profile's key was kept.
    pub new_key: Option<NewAccessKey>,
}

/// Creates or completes the lab: user, access key and profile, the checks as the user, the stack
/// with the role, and the user's `StsAssumePolicy`.
pub async fn setup(lab: &Lab, report: &dyn Report) -> Result<SetupOutcome> {
    let steps = Steps::new(report);
    let names = &lab.names;
    let iam_client = &lab.admin.iam;

    let pre = step(steps, "preflight", preflight(lab), |_| {
        format!(
            "preflight: the lab's names are free or its own, {} is readable",
            lab.target.files.credentials.display()
        )
    })
    .await?;
    steps.explain(&explain::preflight(names));

    let created = step(
        steps,
        "create IAM user",
        async {
            if pre.user_exists {
                return Ok(Created::AlreadyThere);
            }
            iam::create_user(iam_client, &names.user, &names.lab).await
        },
        |c| match c {
            Created::New => format!("created IAM user {} (tag sts-lab={})", names.user, names.lab),
            Created::AlreadyThere => format!("IAM user {} already exists", names.user),
        },
    )
    .await?;
    steps.explain(&explain::create_user(names));

    let new_key = step(
        steps,
        "access key",
        ensure_access_key(lab, created == Created::New),
        |k: &Option<NewAccessKey>| match k {
            Some(k) => format!(
                "created access key {} and wrote profile [{}]",
                k.access_key_id, names.user_profile
            ),
            None => format!("kept the working access key of profile [{}]", names.user_profile),
        },
    )
    .await?;
    steps.explain(&explain::access_key(names));
    if let Some(key) = &new_key {
        steps.plain(access_key_table(key));
        steps.note(format!(
            "the secret is in {} (profile {}), nowhere else",
            lab.target.files.credentials.display(),
            names.user_profile
        ));
    }

    let user_arn = lab.user_arn();
    let as_user = lab.target.profile(&names.user_profile).await?;
    step(
        steps,
        "identity as the lab user",
        async {
            // A new key is refused for a few seconds on AWS.
            let id = retry_codes(
                lab.backoff,
                &["InvalidClientTokenId"],
                |w| waiting(steps, "the new access key", w),
                || sts::caller_identity(&as_user.sts),
            )
            .await?;
            if id.arn != user_arn {
                bail!("profile {} is {}, expected {user_arn}", names.user_profile, id.arn);
            }
            Ok(id)
        },
        |id| format!("profile {} is {}", names.user_profile, id.arn),
    )
    .await?;
    steps.explain(&explain::user_identity(names));

    step(
        steps,
        "the lab user has no S3 access",
        expect_denied(retry_codes(
            lab.backoff,
            &["InvalidAccessKeyId", "InvalidClientTokenId"],
            |w| waiting(steps, "S3 to know the new access key", w),
            || s3::list_buckets(&as_user.s3),
        )),
        |code| format!("profile {} is denied s3 ListBuckets ({code})", names.user_profile),
    )
    .await?;
    steps.explain(&explain::user_has_no_s3(names));

    let role_arn = step(
        steps,
        "deploy stack",
        deploy_stack(lab, pre.stack.clone(), steps),
        |arn| format!("stack {} ready, role {arn}", names.stack),
    )
    .await?;
    steps.explain(&explain::deploy(names, &user_arn, &lab.bucket_prefix()));

    let document = policy::render_assume_policy(&role_arn)?;
    step(
        steps,
        "put user policy",
        iam::put_user_policy(iam_client, &names.user, &names.user_policy, &document),
        |_| {
            format!(
                "put {} on {}: sts:AssumeRole on {role_arn} only",
                names.user_policy, names.user
            )
        },
    )
    .await?;
    steps.explain(&explain::put_user_policy(names, &role_arn));
    // Recorded beside the profile, so that `assume` needs only the profile, as the guide's
    // `aws sts assume-role --profile sts` does.
    lab.write_profile_config(&names.user_profile, vec![format!("{ROLE_ARN_NOTE} {role_arn}")])?;

    Ok(SetupOutcome { role_arn, new_key })
}

/// The note in the user profile's config section that records the role's ARN.
const ROLE_ARN_NOTE: &str = "role_arn";

/// The role ARN that setup recorded for the lab, if any.
pub fn recorded_role_arn(target: &Target, names: &LabNames) -> Result<Option<String>> {
    let profile = target.files.read_profile(FileKind::Config, &names.user_profile)?;
    Ok(profile
        .filter(|p| p.owned)
        .and_then(|p| p.note(ROLE_ARN_NOTE).map(str::to_owned))
        .filter(|arn| policy::is_role_arn(arn)))
}

/// Checks, before anything is changed, what would stop setup half way: a user or stack of the
/// lab's name that is not the lab's, a stack that failed, a profile the lab does not own, an
/// unreadable AWS file.
pub(crate) async fn preflight(lab: &Lab) -> Result<Preflight> {
    let names = &lab.names;
    let user_exists = lab.lab_user().await?.is_some();
    let stack = cfn::describe_stack(&lab.admin.cfn, &names.stack).await?;
    if let Some(stack) = &stack {
        lab.refuse_foreign("stack", &names.stack, stack.lab_tag.as_deref())?;
        if cfn::phase(&stack.status) == Phase::Failed {
            bail!(
                "stack {} is {}{}; run `cargo xtask cleanup`, then setup again",
                names.stack,
                stack.status,
                stack.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            );
        }
    }
    for profile in [&names.user_profile, &names.assumed_profile] {
        for kind in [FileKind::Credentials, FileKind::Config] {
            let found = lab.target.files.read_profile(kind, profile)?;
            if found.is_some_and(|p| !p.owned) && !lab.force {
                bail!(
                    "{} has a profile [{}] that sts-lab did not write; rename it, or pass --force to overwrite it",
                    lab.target.files.path(kind).display(),
                    crate::awsfiles::AwsFiles::section_name(kind, profile)
                );
            }
        }
    }
    Ok(Preflight { user_exists, stack })
}

/// What preflight found, so that setup does not ask again.
pub(crate) struct Preflight {
    pub(crate) user_exists: bool,
    pub(crate) stack: Option<StackInfo>,
}

/// Keeps the key in the user profile when it is still one of the user's keys; otherwise deletes
/// the user's other keys (their secrets are nowhere we can use) and creates one.
async fn ensure_access_key(lab: &Lab, user_is_new: bool) -> Result<Option<NewAccessKey>> {
    let names = &lab.names;
    let files = &lab.target.files;
    // A user created a moment ago has no keys: no need to ask.
    let keys = if user_is_new {
        Vec::new()
    } else {
        iam::list_access_keys(&lab.admin.iam, &names.user).await?
    };
    let profile = files.read_profile(FileKind::Credentials, &names.user_profile)?;
    if let Some(p) = profile.as_ref().filter(|p| p.owned)
        && let Some(id) = p.get("aws_access_key_id")
        && p.get("aws_secret_access_key").is_some()
        && keys.iter().any(|k| k.access_key_id == id && k.status == "Active")
    {
        for stale in keys.iter().filter(|k| k.access_key_id != id) {
            iam::delete_access_key(&lab.admin.iam, &names.user, &stale.access_key_id).await?;
        }
        return Ok(None);
    }
    if let Some(p) = &profile
        && !p.owned
        && !lab.force
    {
        bail!(
            "{} has a profile [{}] that sts-lab did not write; rename it, or pass --force to overwrite it",
            files.credentials.display(),
            names.user_profile
        );
    }
    for stale in &keys {
        iam::delete_access_key(&lab.admin.iam, &names.user, &stale.access_key_id).await?;
    }
    let key = iam::create_access_key(&lab.admin.iam, &names.user).await?;
    let written = lab.write_profile(
        &names.user_profile,
        vec![],
        vec![
            ("aws_access_key_id", &key.access_key_id),
            ("aws_secret_access_key", key.secret_access_key.expose()),
        ],
    );
    if let Err(e) = written {
        // A key nobody holds is a leak: take it back.
        let _ = iam::delete_access_key(&lab.admin.iam, &names.user, &key.access_key_id).await;
        return Err(e);
    }
    Ok(Some(key))
}

/// Ok(code) when the call was refused with an access-denied code; an error otherwise.
async fn expect_denied<T>(call: impl Future<Output = Result<T>>) -> Result<String> {
    match call.await {
        Ok(_) => {
            bail!("the call was allowed; the lab user must have no permissions but sts:AssumeRole")
        }
        Err(e) => match aws_error(&e) {
            Some(ae) if ae.is_access_denied() => Ok(ae.code.clone().unwrap_or_default()),
            _ => Err(e.context("expected AccessDenied")),
        },
    }
}

async fn deploy_stack(lab: &Lab, existing: Option<StackInfo>, steps: Steps<'_>) -> Result<String> {
    let names = &lab.names;
    let cfn_client = &lab.admin.cfn;
    let user_arn = lab.user_arn();
    let prefix = lab.bucket_prefix();
    let params = [
        (PARAM_USER_ARN, user_arn.as_str()),
        (PARAM_BUCKET_PREFIX, prefix.as_str()),
    ];
    let mut existing = existing;
    if existing
        .as_ref()
        .is_some_and(|s| cfn::phase(&s.status) == Phase::InProgress)
    {
        existing = wait(lab, steps).await?;
    }
    match &existing {
        None => cfn::create_stack(cfn_client, &names.stack, policy::TEMPLATE, &params, &names.lab).await?,
        Some(s) => {
            lab.refuse_foreign("stack", &names.stack, s.lab_tag.as_deref())?;
            if cfn::phase(&s.status) != Phase::Ready {
                bail!(
                    "stack {} is {}{}; run `cargo xtask cleanup`, then setup again",
                    names.stack,
                    s.status,
                    s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                );
            }
            cfn::update_stack(cfn_client, &names.stack, policy::TEMPLATE, &params, &names.lab).await?;
        }
    }
    let settled = wait(lab, steps).await?;
    let info = settled.ok_or_else(|| anyhow!("stack {} vanished while it was being deployed", names.stack))?;
    if cfn::phase(&info.status) != Phase::Ready {
        bail!(
            "stack {} ended {}{}; run `cargo xtask cleanup`, then setup again",
            names.stack,
            info.status,
            info.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        );
    }
    info.output(OUTPUT_ROLE_ARN)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("stack {} has no {OUTPUT_ROLE_ARN} output", names.stack))
}

async fn wait(lab: &Lab, steps: Steps<'_>) -> Result<Option<StackInfo>> {
    let mut last = String::new();
    let stack = &lab.names.stack;
    cfn::wait_settled(&lab.admin.cfn, stack, cfn::Poll::default(), |status, waited| {
        if status != last {
            steps.waiting(format!("stack {stack}: {status} after {:.1} s", waited.as_secs_f64()));
            last = status.to_owned();
        }
    })
    .await
}

/// Assumes the role with the user profile and writes the assumed profile; the role ARN is the one
/// setup recorded, or the stack's.
pub async fn assume(
    lab: &Lab,
    session_name: &str,
    duration: Option<i32>,
    report: &dyn Report,
) -> Result<AssumedCredentials> {
    let role_arn = match recorded_role_arn(&lab.target, &lab.names)? {
        Some(arn) => arn,
        None => lab.role_arn().await?,
    };
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
    crate::names::validate_session_name(session_name)?;
    check_duration(duration)?;
    let as_user = target.profile(&names.user_profile).await?;
    // AssumeRole is denied for up to ~30 s after the role or the user's policy appears on AWS.
    let assumed = retry_codes(
        backoff,
        &["AccessDenied", "InvalidClientTokenId"],
        |w| waiting(steps, "IAM to allow the new role and policy", w),
        || sts::assume_role(&as_user.sts, role_arn, session_name, duration),
    );
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
        time_left(&creds.expiration, now_secs())
    ));
    Ok(creds)
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

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod duration_tests {
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

/// "47 min left", "30 s left" or "expired".
pub fn time_left(expiration: &DateTime, now: i64) -> String {
    let left = expiration.secs() - now;
    match left {
        l if l <= 0 => "expired".to_owned(),
        l if l < 60 => format!("{l} s left"),
        l => format!("{} min left", l / 60),
    }
}

/// One row of verify's table.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub expected: String,
    pub seen: String,
    pub passed: bool,
    /// The aws CLI command that makes the same check.
    pub command: String,
}

impl Check {
    fn command(mut self, command: impl Into<String>) -> Self {
        self.command = command.into();
        self
    }
}

fn seen_error(e: &anyhow::Error) -> String {
    match aws_error(e) {
        Some(ae) => ae.code.clone().unwrap_or_else(|| ae.message.clone()),
        None => format!("{e:#}"),
    }
}

/// A row that passes when `call` was refused with AccessDenied (or the service's equivalent),
/// not when it failed in any other way.
fn denied_row<T>(name: String, call: Result<T>) -> Check {
    let (passed, seen) = match &call {
        Ok(_) => (false, "allowed".to_owned()),
        Err(e) => (aws_error(e).is_some_and(|ae| ae.is_access_denied()), seen_error(e)),
    };
    Check {
        name,
        expected: "AccessDenied".to_owned(),
        seen,
        passed,
        command: String::new(),
    }
}

fn equal_row(name: String, expected: String, seen: Result<String>) -> Check {
    let seen = seen.unwrap_or_else(|e| seen_error(&e));
    Check {
        name,
        passed: seen == expected,
        expected,
        seen,
        command: String::new(),
    }
}

/// Proves the lab, both ways: who each profile is and what it may do, and each boundary it must
/// not cross, refused with AccessDenied.
pub async fn verify(lab: &Lab) -> Result<Vec<Check>> {
    let names = &lab.names;
    let (user, role) = (&names.user_profile, &names.assumed_profile);
    let mut checks = Vec::new();
    let no_profile = |e: &anyhow::Error| anyhow!("{e:#}");

    let as_user = lab.target.profile(user).await;
    let user_id = match &as_user {
        Ok(c) => sts::caller_identity(&c.sts).await.map(|id| id.arn),
        Err(e) => Err(no_profile(e)),
    };
    checks.push(
        equal_row(format!("profile {user} is the lab user"), lab.user_arn(), user_id)
            .command(format!("aws sts get-caller-identity --profile {user}")),
    );
    if let Ok(c) = &as_user {
        checks.push(
            denied_row(
                format!("profile {user} is denied s3 ListBuckets"),
                s3::list_buckets(&c.s3).await,
            )
            .command(format!("aws s3 ls --profile {user}")),
        );
        checks.push(
            denied_row(
                format!("profile {user} is denied iam ListUsers"),
                iam::list_users(&c.iam).await,
            )
            .command(format!("aws iam list-users --profile {user}")),
        );
    }

    let role_arn = lab.role_arn().await;
    let role_name = role_arn
        .as_ref()
        .ok()
        .and_then(|arn| arn.rsplit('/').next().map(str::to_owned));
    let expected_prefix = format!(
        "arn:{}:sts::{}:assumed-role/{}/",
        lab.admin_identity.partition(),
        lab.account(),
        role_name.as_deref().unwrap_or("<no stack>")
    );
    // Emulators do not expire sessions; the expiry the lab recorded is checked here.
    let expired = lab
        .target
        .files
        .read_profile(FileKind::Credentials, role)?
        .and_then(|p| p.note("expires").map(str::to_owned))
        .filter(|at| DateTime::from_str(at, Format::DateTime).is_ok_and(|t| t.secs() <= now_secs()));
    let as_role = match &expired {
        Some(at) => Err(anyhow!("the session expired at {at}; run `cargo xtask assume` again")),
        None => lab.target.profile(role).await,
    };
    let seen = match &as_role {
        Ok(c) => sts::caller_identity(&c.sts)
            .await
            .map(|id| id.arn)
            .unwrap_or_else(|e| seen_error(&e)),
        Err(e) => format!("{e:#}"),
    };
    checks.push(Check {
        name: format!("profile {role} is the assumed role"),
        passed: role_name.is_some() && seen.starts_with(&expected_prefix),
        expected: format!("{expected_prefix}<session>"),
        seen,
        command: format!("aws sts get-caller-identity --profile {role}"),
    });

    if let Ok(c) = &as_role {
        let bucket = names.verify_bucket(lab.account());
        let made = async {
            s3::create_bucket(&c.s3, &bucket, &c.region, &names.lab).await?;
            // Again on its own, for backends that ignore tags in CreateBucket.
            s3::tag_bucket(&c.s3, &bucket, &names.lab).await?;
            let listed = s3::list_buckets(&c.s3).await?;
            Ok(if listed.contains(&bucket) {
                format!("created and listed {bucket}")
            } else {
                "not listed".to_owned()
            })
        }
        .await;
        checks.push(
            equal_row(
                format!("profile {role} creates and lists a lab bucket"),
                format!("created and listed {bucket}"),
                made,
            )
            .command(format!(
                "aws s3 mb s3://{bucket} --profile {role} && aws s3 ls --profile {role}"
            )),
        );
        checks.push(
            denied_row(
                format!("profile {role} is denied iam ListUsers"),
                iam::list_users(&c.iam).await,
            )
            .command(format!("aws iam list-users --profile {role}")),
        );
        let outside = names.outside_bucket(lab.account());
        let created = s3::create_bucket(&c.s3, &outside, &c.region, &names.lab).await;
        if created.is_ok() {
            // The boundary is broken; do not leave the proof behind.
            let _ = s3::empty_and_delete_bucket(&lab.admin.s3, &outside).await;
        }
        checks.push(
            denied_row(
                format!("profile {role} is denied a bucket outside the lab prefix"),
                created,
            )
            .command(format!("aws s3 mb s3://{outside} --profile {role}")),
        );
    }

    if let Ok(arn) = &role_arn {
        let admin_try = sts::assume_role(&lab.admin.sts, arn, "sts-lab-verify-admin", None).await;
        checks.push(
            denied_row(
                "the admin may not assume the role (trust is the lab user only)".to_owned(),
                admin_try,
            )
            .command(format!(
                "aws sts assume-role --role-arn {arn} --role-session-name sts-lab-verify-admin"
            )),
        );
    }
    Ok(checks)
}

/// Verify's table: one row per check; with `explain`, each row's aws CLI command under it.
pub fn checks_table(checks: &[Check], explain: bool) -> String {
    let w = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let mut out = Vec::new();
    for c in checks {
        let mark = if c.passed { "✓" } else { "✗" };
        let detail = if c.passed {
            c.seen.clone()
        } else {
            format!("expected {}, saw {}", c.expected, c.seen)
        };
        out.push(format!("{mark} {:<w$}  {detail}", c.name));
        if explain && !c.command.is_empty() {
            out.push(format!("    $ {}", c.command));
        }
    }
    out.join("\n")
}

/// Everything of the lab that exists now.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub user: Option<UserInfo>,
    pub access_keys: Vec<AccessKeyInfo>,
    pub user_policies: Vec<String>,
    pub stack: Option<StackInfo>,
    pub roles: Vec<String>,
    pub buckets: Vec<String>,
    /// `credentials:[sts]`, `config:[profile sts]` …
    pub profiles: Vec<String>,
}

impl Inventory {
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.access_keys.is_empty()
            && self.user_policies.is_empty()
            && self.stack.is_none()
            && self.roles.is_empty()
            && self.buckets.is_empty()
            && self.profiles.is_empty()
    }

    /// One line per thing that exists.
    pub fn lines(&self, names: &LabNames) -> Vec<String> {
        let mut out = Vec::new();
        if self.user.is_some() {
            out.push(format!("IAM user {}", names.user));
        }
        out.extend(
            self.access_keys
                .iter()
                .map(|k| format!("access key {}", crate::secret::mask_key_id(&k.access_key_id))),
        );
        out.extend(self.user_policies.iter().map(|p| format!("user policy {p}")));
        if let Some(s) = &self.stack {
            out.push(format!("stack {} ({})", names.stack, s.status));
        }
        out.extend(self.roles.iter().map(|r| format!("IAM role {r}")));
        out.extend(self.buckets.iter().map(|b| format!("bucket {b}")));
        out.extend(self.profiles.iter().map(|p| format!("profile {p}")));
        out
    }
}

/// Lists what exists of the lab, by its deterministic names (no local state needed).
pub async fn inventory(lab: &Lab) -> Result<Inventory> {
    let names = &lab.names;
    let c = &lab.admin;
    let user = iam::get_user(&c.iam, &names.user).await?;
    let prefix = lab.bucket_prefix();
    let mut profiles = Vec::new();
    for profile in [&names.user_profile, &names.assumed_profile] {
        for kind in [FileKind::Credentials, FileKind::Config] {
            if lab.target.files.read_profile(kind, profile)?.is_some_and(|p| p.owned) {
                let file = if kind == FileKind::Credentials {
                    "credentials"
                } else {
                    "config"
                };
                profiles.push(format!(
                    "{file}:[{}]",
                    crate::awsfiles::AwsFiles::section_name(kind, profile)
                ));
            }
        }
    }
    Ok(Inventory {
        access_keys: if user.is_some() {
            iam::list_access_keys(&c.iam, &names.user).await?
        } else {
            vec![]
        },
        user_policies: if user.is_some() {
            iam::list_user_policies(&c.iam, &names.user).await?
        } else {
            vec![]
        },
        user,
        stack: cfn::describe_stack(&c.cfn, &names.stack).await?,
        roles: iam::roles_named(&c.iam, &names.role_name_prefix()).await?,
        buckets: s3::list_buckets(&c.s3)
            .await?
            .into_iter()
            .filter(|b| b.starts_with(&prefix))
            .collect(),
        profiles,
    })
}

/// Deletes everything of the lab, each step whatever the others did; a second run finds nothing
/// to do. Fails, after trying every step, when any step failed or anything is left.
pub async fn cleanup(lab: &Lab, report: &dyn Report) -> Result<()> {
    let steps = Steps::new(report);
    let names = &lab.names;
    let c = &lab.admin;
    let mut failures: Vec<String> = Vec::new();
    let mut record = |r: Result<()>, what: &str| {
        if let Err(e) = r {
            failures.push(format!("{what}: {e:#}"));
        }
    };

    let prefix = lab.bucket_prefix();
    let r = step(
        steps,
        "delete lab buckets",
        async {
            let mut deleted = Vec::new();
            for bucket in s3::list_buckets(&c.s3)
                .await?
                .into_iter()
                .filter(|b| b.starts_with(&prefix))
            {
                let tag = s3::bucket_lab_tag(&c.s3, &bucket).await?;
                lab.refuse_foreign("bucket", &bucket, tag.as_deref())?;
                s3::empty_and_delete_bucket(&c.s3, &bucket).await?;
                deleted.push(bucket);
            }
            Ok(deleted)
        },
        |d| {
            if d.is_empty() {
                format!("no buckets named {prefix}*")
            } else {
                format!("emptied and deleted {}", d.join(", "))
            }
        },
    )
    .await;
    if let Ok(deleted) = &r {
        steps.explain(&explain::delete_buckets(deleted));
    }
    record(r.map(drop), "buckets");

    let r = step(steps, "delete stack", async {
        let Some(stack) = cfn::describe_stack(&c.cfn, &names.stack).await? else { return Ok(false) };
        lab.refuse_foreign("stack", &names.stack, stack.lab_tag.as_deref())?;
        if stack.status != "DELETE_COMPLETE" {
            cfn::delete_stack(&c.cfn, &names.stack).await?;
        }
        match wait(lab, steps).await? {
            Some(s) if s.status != "DELETE_COMPLETE" => bail!(
                "stack {} is {}{}; see its events in the CloudFormation console, fix the cause, then run cleanup again",
                names.stack,
                s.status,
                s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            _ => Ok(true),
        }
    }, |deleted| if *deleted { format!("deleted stack {} and its role", names.stack) } else { format!("no stack {}", names.stack) })
    .await;
    steps.explain(&explain::delete_stack(names));
    record(r.map(drop), "stack");

    let user = step(steps, "find the lab user", lab.lab_user(), |u| match u {
        Some(_) => format!("found IAM user {}", names.user),
        None => format!("no IAM user {}", names.user),
    })
    .await;
    match user {
        Err(e) => record(Err(e), "user"),
        Ok(None) => {}
        Ok(Some(_)) => {
            let r = step(
                steps,
                "delete user policies",
                async {
                    // StsAssumePolicy, and any other inline policy, since DeleteUser needs none left.
                    let mut deleted = Vec::new();
                    for p in iam::list_user_policies(&c.iam, &names.user).await? {
                        iam::delete_user_policy(&c.iam, &names.user, &p).await?;
                        deleted.push(p);
                    }
                    Ok(deleted)
                },
                |d| {
                    if d.is_empty() {
                        "no user policies".to_owned()
                    } else {
                        format!("deleted user policy {}", d.join(", "))
                    }
                },
            )
            .await;
            if let Ok(deleted) = &r {
                steps.explain(&explain::delete_user_policies(names, deleted));
            }
            record(r.map(drop), "user policy");

            let r = step(
                steps,
                "delete access keys",
                async {
                    let mut deleted = Vec::new();
                    for k in iam::list_access_keys(&c.iam, &names.user).await? {
                        if iam::delete_access_key(&c.iam, &names.user, &k.access_key_id).await? == Deleted::Deleted {
                            deleted.push(crate::secret::mask_key_id(&k.access_key_id));
                        }
                    }
                    Ok(deleted)
                },
                |d| {
                    if d.is_empty() {
                        "no access keys".to_owned()
                    } else {
                        format!("deleted access key {}", d.join(", "))
                    }
                },
            )
            .await;
            steps.explain(&explain::delete_access_keys(names));
            record(r.map(drop), "access keys");

            let r = step(steps, "delete user", iam::delete_user(&c.iam, &names.user), |_| {
                format!("deleted IAM user {}", names.user)
            })
            .await;
            steps.explain(&explain::delete_user(names));
            record(r.map(drop), "user");
        }
    }

    let r = step(
        steps,
        "remove profiles",
        async {
            let mut removed = Vec::new();
            for profile in [&names.user_profile, &names.assumed_profile] {
                for kind in [FileKind::Credentials, FileKind::Config] {
                    if lab.target.files.remove_profile(kind, profile)? {
                        removed.push(format!(
                            "{} [{}]",
                            lab.target.files.path(kind).display(),
                            crate::awsfiles::AwsFiles::section_name(kind, profile)
                        ));
                    }
                }
            }
            Ok(removed)
        },
        |r| {
            if r.is_empty() {
                "no lab profiles in the AWS files".to_owned()
            } else {
                format!("removed {}", r.join(", "))
            }
        },
    )
    .await;
    steps.explain(&explain::remove_profiles(names));
    record(r.map(drop), "profiles");

    if !failures.is_empty() {
        bail!("cleanup did not finish: {}", failures.join("; "));
    }
    // Each step confirmed its own deletions; what remains to prove is that the role went with
    // the stack (a role can outlive a stack that failed to delete a policy attached to it).
    let left = step(
        steps,
        "check nothing is left",
        iam::roles_named(&c.iam, &names.role_name_prefix()),
        |roles| {
            if roles.is_empty() {
                "no role of the lab is left".to_owned()
            } else {
                "a role is left".to_owned()
            }
        },
    )
    .await?;
    if !left.is_empty() {
        bail!(
            "cleanup left IAM role {}; run cleanup again, or delete it by hand",
            left.join(", ")
        );
    }
    Ok(())
}
