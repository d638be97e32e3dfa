//! The lab's four phases (setup, assume, verify, cleanup) and its inventory, built from the thin
//! operations in `ops` and the pure modules. Each phase reports one line per step; this module
//! holds the lab itself and what the phases share.

mod advice;
mod assume;
mod cleanup;
mod cleanup_lessons;
pub(crate) use cleanup_lessons::{remove_boundary, unlock_guarded_bucket};
mod decisions;
mod diagram;
pub use crate::output::checks::show_checks;
pub use crate::output::why::why_lines;
pub use advice::GoalsOf;
pub use diagram::diagram;
pub use why::{explain_request, why};
mod deploy;
mod inventory;
pub mod plan;
mod profiles;
pub mod progress;
mod proven;
pub use proven::{LabQuestions, lab_questions};
mod region;
mod setup;
pub mod status;
mod trail;
mod verify;
mod why;

pub use assume::*;
pub use cleanup::*;
pub use inventory::*;
pub use profiles::*;
pub use region::*;
pub use setup::*;
pub use trail::{FOLLOW_OVERLAP, Trail, TrailOptions, follow_interval, read_events, trail};
pub use verify::*;

use std::time::Instant;

use anyhow::{Result, anyhow, bail};

use crate::aws::error::aws_error;
use crate::aws::retry::{Backoff, Waiting};
use crate::aws::target::{Clients, Target};
use crate::model::names::LabNames;
use crate::model::policy::OUTPUT_ROLE_ARN;
use crate::ops::cfn::{self, Phase, StackInfo};
use crate::ops::iam::{self, UserInfo};
use crate::ops::sts::{self, Identity};
use crate::output::explain;
use crate::output::report::{Report, Steps};
use crate::profiles::awsfiles::FileKind;

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
    /// How long the lab lives from setup on (`--ttl`), in seconds.
    pub ttl_seconds: i64,
    /// A view of the stacks shared with other labs (a class), polled in one call for all.
    pub stack_board: Option<std::sync::Arc<crate::ops::stack_board::StackBoard>>,
    /// One reading of the account's documents shared with other labs (a class's verify).
    pub documents: Option<crate::ops::account_documents::SharedReading>,
}

impl Lab {
    /// Connects as the admin and learns the account, in the lab's region: `--region`, else the
    /// one the lab recorded (in the files, else on its user), else the admin's.
    pub async fn connect(
        mut target: Target,
        names: LabNames,
        mut options: LabOptions,
        report: &dyn Report,
    ) -> Result<Self> {
        // Nothing is waited out where nothing propagates (the plain emulator).
        if options.backoff == Backoff::default() {
            options.backoff = target.propagation(options.backoff).await;
        }
        let steps = Steps::new(report);
        let started = Instant::now();
        let asked = target.region.clone();
        let recorded = settle_region_from_files(&mut target, &names)?;
        let mut admin = target.admin().await?;
        let admin_identity = sts::caller_identity(&admin.sts)
            .await
            .map_err(|e| with_hint(e, &admin))?;
        if recorded.is_none()
            && let Some(user) = iam::get_user(&admin.iam, &names.user).await?
            && let Some(region) = tagged_region(&names, &user, asked.as_deref())?
            && region != admin.region
        {
            // No local file knows the lab, but its user does.
            admin = admin.in_region(&region);
        }
        steps.ok(
            started,
            format!("admin identity {} (region {})", admin_identity.arn, admin.region),
        );
        steps.explain(&explain::as_admin(explain::connect(), target.admin_profile.as_deref()));
        if admin_identity.is_root() {
            steps.note("warning: the admin identity is the account's root user; prefer an IAM admin or SSO role");
        }
        Ok(Self::with_admin(target, names, admin, admin_identity, options))
    }

    /// A lab on an admin connection made already (a class connects once for all its labs), in
    /// the admin clients' region: the lab's own profiles use it too, so every call goes to one
    /// place.
    pub fn with_admin(
        mut target: Target,
        names: LabNames,
        admin: Clients,
        admin_identity: Identity,
        options: LabOptions,
    ) -> Self {
        target.region = Some(admin.region.clone());
        Self {
            names,
            target,
            admin,
            admin_identity,
            force: options.force,
            backoff: options.backoff,
            ttl_seconds: options.ttl.seconds(),
            stack_board: options.stack_board,
            documents: options.documents,
        }
    }

    /// Shows `commands` as the admin runs them, when `--explain` is on.
    fn explain(&self, steps: Steps<'_>, commands: Vec<String>) {
        if steps.explaining() {
            steps.explain(&explain::as_admin(commands, self.target.admin_profile.as_deref()));
        }
    }

    pub fn account(&self) -> &str {
        &self.admin_identity.account
    }

    pub fn user_arn(&self) -> String {
        self.names.user_arn(self.admin_identity.partition(), self.account())
    }

    /// The ARN of an IAM entity of the lab's account: `kind` `role`, `user` or `policy`.
    pub fn iam_arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:{kind}/{name}",
            self.admin_identity.partition(),
            self.account()
        )
    }

    /// The ARN of lesson permission-boundary's policy.
    pub fn boundary_policy_arn(&self) -> String {
        self.iam_arn("policy", &self.names.boundary_policy())
    }

    pub fn bucket_prefix(&self) -> String {
        self.names.bucket_prefix(self.account())
    }

    /// An S3 client for a bucket in `region`: the admin's own when the region is the lab's.
    pub(crate) fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        if region == self.admin.region {
            self.admin.s3.clone()
        } else {
            self.admin.in_region(region).s3
        }
    }

    /// Runs a bucket call in the bucket's `region`; when S3 says the bucket is elsewhere (a stale
    /// region), runs it once more there and keeps the region S3 named.
    pub(crate) async fn in_bucket_region<T, Fut>(
        &self,
        region: &mut String,
        call: impl Fn(aws_sdk_s3::Client) -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        match call(self.s3_in(region)).await {
            Err(e) => match e.downcast_ref::<crate::ops::s3::WrongRegion>() {
                Some(w) if w.region != *region => {
                    region.clone_from(&w.region);
                    call(self.s3_in(region)).await
                }
                _ => Err(e),
            },
            ok => ok,
        }
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

    /// The lab user, asked (GetUser); an IAM user of its name that is not the lab's is refused.
    async fn lab_user(&self) -> Result<Option<UserInfo>> {
        let user = iam::get_user(&self.admin.iam, &self.names.user).await?;
        self.refuse_foreign_user(user)
    }

    /// The lab's IAM user as the class's reading of the account saw it, when the lab shares one
    /// (a class reads its users once, when a phase starts: a GetUser a lab saved), else asked.
    pub(crate) async fn user_as_read(&self) -> Result<Option<UserInfo>> {
        match self.shared_documents().await? {
            Some(read) => Ok(read.user(&self.names.user).map(|p| p.user_info())),
            None => iam::get_user(&self.admin.iam, &self.names.user).await,
        }
    }

    /// [`Lab::user_as_read`], a user of its name that is not the lab's refused. Work that follows
    /// tolerates a user made or deleted since the reading: CreateUser's EntityAlreadyExists asks
    /// again, and a deletion finds nothing to delete.
    async fn lab_user_as_read(&self) -> Result<Option<UserInfo>> {
        let user = self.user_as_read().await?;
        self.refuse_foreign_user(user)
    }

    fn refuse_foreign_user(&self, user: Option<UserInfo>) -> Result<Option<UserInfo>> {
        if let Some(u) = &user {
            self.refuse_foreign("IAM user", &self.names.user, u.lab_tag.as_deref())?;
        }
        Ok(user)
    }

    /// The lab's stack as it is now: through the class's shared view when there is one (one
    /// DescribeStacks for many labs), else by name.
    pub(crate) async fn describe_stack(&self) -> Result<Option<StackInfo>> {
        let (client, stack) = (&self.admin.cfn, &self.names.stack);
        match &self.stack_board {
            Some(board) => Ok(board.describe(client, &self.admin.region, stack, None).await?.0),
            None => cfn::describe_stack(client, stack).await,
        }
    }

    /// The lab's stack, deployed and ready, with its role's ARN; or a hint to run setup.
    pub async fn ready_stack(&self) -> Result<(StackInfo, String)> {
        self.describe_stack()
            .await?
            .filter(|s| cfn::phase(&s.status) == Phase::Ready)
            .and_then(|s| {
                let arn = s.output(OUTPUT_ROLE_ARN)?.to_owned();
                Some((s, arn))
            })
            .ok_or_else(|| {
                anyhow!(
                    "stack {} is not deployed; run `{}` first",
                    self.names.stack,
                    crate::output::command::xtask("setup")
                )
            })
    }

    /// The stack's role ARN, or a hint to run setup.
    pub async fn role_arn(&self) -> Result<String> {
        Ok(self.ready_stack().await?.1)
    }
}

/// Adds what to do to the admin's first call failing: unreachable, or expired credentials.
fn with_hint(err: anyhow::Error, clients: &Clients) -> anyhow::Error {
    if crate::aws::error::error_code(&err) == Some("ExpiredToken") {
        return crate::aws::error::hint(
            err,
            "the admin's temporary credentials have expired; refresh them (`aws sso login`, or new keys in AWS_SESSION_TOKEN and the rest) and run again",
        );
    }
    match aws_error(&err).map(|e| e.kind) {
        Some(crate::aws::error::FailureKind::Dispatch | crate::aws::error::FailureKind::Timeout) => {
            let endpoint = clients.endpoint_url.as_deref().unwrap_or("AWS");
            crate::aws::error::hint(
                err,
                format!(
                    "cannot reach {endpoint}; check the network or AWS_ENDPOINT_URL (for the local emulator: {})",
                    crate::output::command::xtask("emulator start")
                ),
            )
        }
        _ => err,
    }
}

/// Refuses a lab past its expiry (at `now`, the endpoint's time) before any call: its key can no
/// longer assume the role (AWS and the emulator both refuse it), and the one-line error says how
/// to renew it.
pub fn check_not_expired(expires: Option<&str>, now: i64) -> Result<()> {
    if let Some(at) = expires
        && crate::model::expiry::has_passed(at, now) == Some(true)
    {
        bail!(
            "the lab expired at {at}; run `{}` to renew it",
            crate::output::command::xtask("setup")
        );
    }
    Ok(())
}

/// Says that a step waits, for what and why (see [`wait_line`]).
fn waiting(steps: Steps<'_>, what: &str, w: &Waiting) {
    if let Some(line) = wait_line(what, w) {
        steps.waiting(line);
    }
}

/// The line that tells a retry's pause, or None when it is not worth a line: retries are
/// frequent (an eighth of the wait), so a wait is told at its start and then each time the time
/// waited passes 1, 2, 4, 8 … seconds: a few lines, however long it lasts.
pub fn wait_line(what: &str, w: &Waiting) -> Option<String> {
    crate::aws::retry::worth_telling(w).then(|| {
        format!(
            "waiting for {what} ({}, usual while IAM propagates): {:.1} s waited, asking every {:.1} s",
            w.code,
            w.waited.as_secs_f64(),
            w.delay.as_secs_f64()
        )
    })
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

/// Waits for the lab's stack to leave `*_IN_PROGRESS`, showing each status it passes.
async fn wait(lab: &Lab, steps: Steps<'_>) -> Result<Option<StackInfo>> {
    let mut last = String::new();
    let stack = &lab.names.stack;
    let (client, region) = (&lab.admin.cfn, lab.admin.region.as_str());
    // A view from before the change this waits for tells nothing; then each view after the one
    // seen. A class's board sets the pace (one view for every lab); alone, the lab's own pauses.
    let after = std::sync::Mutex::new(tokio::time::Instant::now());
    let after = &after;
    let describe = || async move {
        let since = after.lock().map(|a| *a).unwrap_or_else(|_| tokio::time::Instant::now());
        match &lab.stack_board {
            Some(board) => {
                let (info, at) = board.describe(client, region, stack, Some(since)).await?;
                if let Ok(mut a) = after.lock() {
                    *a = at + std::time::Duration::from_nanos(1);
                }
                Ok(info)
            }
            None => cfn::describe_stack(client, stack).await,
        }
    };
    let poll = match &lab.stack_board {
        Some(_) => cfn::STACK_WAIT.paced_by_caller(),
        None => cfn::STACK_WAIT,
    };
    cfn::wait_until_settled(stack, poll, describe, |status, waited| {
        if status != last {
            steps.waiting(format!("stack {stack}: {status} after {:.1} s", waited.as_secs_f64()));
            last = status.to_owned();
        }
    })
    .await
}
