//! The command line's flags and tasks (clap).

use clap::{Args, Parser, Subcommand};
use lab_core::model::expiry::Ttl;

mod class;
pub use class::{ClassAction, ClassArgs, WatchArgs};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Stand up, prove and tear down the AWS STS lab: a user with no permissions assumes a role that may use S3.",
    after_help = "Try it without an AWS account:\n  cargo xtask demo\n\nOn the local emulator, step by step:\n  cargo xtask --local setup && cargo xtask --local assume && cargo xtask --local verify && cargo xtask --local cleanup"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub task: Task,
}

/// Options every task takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Use the local emulator (started on demand) and its lab-local AWS files, not ~/.aws.
    #[arg(long, global = true)]
    pub local: bool,
    /// Namespace for every name the lab creates (user, stack, policy, profiles, buckets).
    #[arg(long, global = true, value_name = "NAME")]
    pub lab: Option<String>,
    /// The admin's AWS profile (default: AWS_PROFILE or the default credential chain).
    #[arg(long, global = true, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// The AWS region (default: AWS_REGION, the profile's region, or us-east-1).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Overwrite a profile of the lab's name that sts-lab did not write.
    #[arg(long, global = true)]
    pub force: bool,
    /// Show, beside each step, the aws CLI command that does the same.
    #[arg(long, global = true)]
    pub explain: bool,
    /// Allow credentials over plain http:// to a host that is not on the loopback address.
    #[arg(long, global = true)]
    pub allow_insecure_endpoint: bool,
    /// Say more: the target, and whole error chains.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Task {
    /// Create the user, its key and profile, check it can do nothing, deploy the role, allow AssumeRole.
    #[command(
        after_help = "Examples:\n  cargo xtask setup --profile admin --region eu-west-1\n  cargo xtask setup --ttl 2h\n  cargo xtask setup --dry-run --explain"
    )]
    Setup(SetupArgs),
    /// Assume the role with the user's profile and write the temporary credentials as profile `assumed`.
    #[command(after_help = "Example:\n  cargo xtask assume --duration 900")]
    Assume(AssumeArgs),
    /// Prove the lab: identities, the user's denial, the role's S3 rights; exits 1 when a check fails.
    #[command(
        after_help = "Examples:\n  cargo xtask verify && aws s3 ls --profile assumed\n  cargo xtask verify --json | jq '.checks[] | select(.passed | not)'"
    )]
    Verify(JsonArgs),
    /// Delete everything the lab made: buckets, stack, user policy, access keys, user, profiles.
    #[command(after_help = "Examples:\n  cargo xtask cleanup --lab team-a\n  cargo xtask cleanup --dry-run")]
    Cleanup(DryRunArgs),
    /// Show what exists of the lab now: user, keys, stack, role, policies, buckets, profiles, session time left.
    #[command(
        after_help = "Examples:\n  cargo xtask status\n  cargo xtask status --json\n  cargo xtask status --diagram > lab.md"
    )]
    Status(StatusArgs),
    /// Explain, offline from the lab's documents, how AWS decides one request of a profile: every
    /// policy in play, every statement, each condition with its value, and the decision.
    #[command(
        after_help = "Examples:\n  cargo xtask why --as sts s3:ListAllMyBuckets\n  cargo xtask why --as assumed s3:CreateBucket arn:aws:s3:::NAME\n  cargo xtask why --as sts sts:AssumeRole ROLE_ARN --json"
    )]
    Why(WhyArgs),
    /// The lab's trail in CloudTrail: each request of its user, its role's sessions and the admin
    /// on its resources, oldest first, allowed or refused; each refusal decided again with what
    /// would change it.
    #[command(
        after_help = "Examples:\n  cargo xtask trail\n  cargo xtask trail --since 2h --denied\n  cargo xtask trail --as assumed --follow\n  cargo xtask trail --json | jq '.events[] | select(.allowed | not)'"
    )]
    Trail(TrailArgs),
    /// The STS ladder: list the lessons, or apply one to the lab setup made and prove it with
    /// requests that must be allowed or denied (`--undo` takes it back).
    #[command(
        after_help = "Examples:\n  cargo xtask lesson\n  cargo xtask lesson external-id\n  cargo xtask lesson external-id --undo\n  cargo xtask lesson revoke-sessions --json"
    )]
    Lesson(LessonArgs),
    /// Challenges: list them, or set one on the lab (the goal, and the aws CLI commands that read
    /// the starting state as the lab's user); `--check` grades the change over every request of
    /// the goal, offline, then a sample on the endpoint.
    #[command(
        after_help = "Examples:\n  cargo xtask challenge\n  cargo xtask challenge narrow-role\n  cargo xtask challenge narrow-role --check\n  cargo xtask challenge session-policy --check --policy read-one.json\n  cargo xtask challenge narrow-role --giveup"
    )]
    Challenge(ChallengeArgs),
    /// Find every lab in the account by its tags (no local file needed) and clean each up as cleanup does.
    #[command(
        after_help = "Examples:\n  cargo xtask sweep --dry-run\n  cargo xtask sweep --expired\n  cargo xtask sweep --json --dry-run | jq '.labs[].lab'"
    )]
    Sweep(SweepArgs),
    /// A classroom: many isolated labs, a handout per student, one cleanup.
    #[command(
        after_help = "Examples:\n  cargo xtask class setup --students 12 --ttl 4h\n  cargo xtask class verify\n  cargo xtask class cleanup"
    )]
    Class {
        #[command(subcommand)]
        action: ClassAction,
    },
    /// Run, stop or inspect the local AWS emulator (moto with IAM enforcement).
    #[command(after_help = "Example:\n  cargo xtask emulator start && eval \"$(cargo xtask emulator env)\"")]
    Emulator {
        #[command(subcommand)]
        action: EmulatorAction,
    },
    /// The whole lab on the local emulator: setup, assume, verify, cleanup, then check nothing is left.
    #[command(after_help = "Examples:\n  cargo xtask demo\n  cargo xtask demo --realistic")]
    Demo(DemoArgs),
    /// Time the lab against the guide's aws CLI flow and one boto3 process, on the emulator.
    #[command(
        after_help = "Examples:\n  cargo xtask bench --rounds 5\n  cargo xtask bench --realistic --rounds 3\n  cargo xtask bench --class --rounds 1\n  cargo xtask bench --proofs --rounds 5"
    )]
    Bench(BenchArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run on the realistic emulator: the waits a learner meets on AWS (new keys, stacks, IAM).
    #[arg(long)]
    pub realistic: bool,
    /// Then show the lab disarming itself: a 30-minute lab, the emulator's clock moved past its
    /// expiry, the key refused AssumeRole and the open session refused S3, by the emulator's own
    /// policy evaluation.
    #[arg(long)]
    pub disarm: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Rounds of each way to run, alternating.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// On AWS's clock: setup+assume and cleanup on the realistic emulator against their critical paths.
    #[arg(long)]
    pub realistic: bool,
    /// How long each proof takes, offline: every challenge's check (start and answer) and
    /// verify's proofs of the lab.
    #[arg(long, conflicts_with_all = ["realistic", "class"])]
    pub proofs: bool,
    /// Classrooms against their floor on AWS's clock (one lab's own time, or the class's
    /// requests at IAM's and CloudFormation's rates): on the realistic emulator with AWS's stack
    /// times and with its defaults, and on the plain one.
    #[arg(long)]
    pub class: bool,
    /// The class sizes of `--class` (1 to 50).
    #[arg(long, value_delimiter = ',', default_value = "30", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub students: Vec<u16>,
}

#[derive(Debug, Clone, Args)]
pub struct DryRunArgs {
    /// Show the plan (what would be created, updated or deleted, by name) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TtlArgs {
    /// How long the lab lives (90m, 8h, 2d; 5 minutes to 7 days): every Allow it writes holds
    /// only until then, so on AWS a forgotten lab disarms itself. Running setup again renews it.
    #[arg(long, value_name = "DURATION", default_value = lab_core::model::expiry::DEFAULT_TTL)]
    pub ttl: Ttl,
}

#[derive(Debug, Clone, Args)]
pub struct JobsArgs {
    /// At most this many students at once (default: all of them; the class keeps to AWS's
    /// request rates however many are in flight).
    #[arg(long, value_name = "J")]
    pub jobs: Option<std::num::NonZeroUsize>,
}

impl JobsArgs {
    /// The cap, if the instructor set one.
    pub fn cap(&self) -> Option<usize> {
        self.jobs.map(std::num::NonZeroUsize::get)
    }
}

#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub dry_run: DryRunArgs,
    #[command(flatten)]
    pub ttl: TtlArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Only labs whose expiry (sts-lab-expires on the user or the stack) is past.
    #[arg(long)]
    pub expired: bool,
    #[command(flatten)]
    pub dry_run: DryRunArgs,
    #[command(flatten)]
    pub json: JsonArgs,
}

impl Task {
    /// A class command's own flags (`--class`, `--out`), for the commands it suggests.
    pub fn class_args(&self) -> Option<&ClassArgs> {
        match self {
            Task::Class { action } => Some(action.class_args()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct JsonArgs {
    /// Print one JSON document on stdout and nothing else there (steps go to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub json: JsonArgs,
    /// Print the lab as a Mermaid diagram (GitHub and editors render it): the user, its key, the
    /// role and its trust, the buckets, what a lesson added, and each request of verify, allowed
    /// or denied and why.
    #[arg(long, conflicts_with = "json")]
    pub diagram: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LessonArgs {
    /// The lesson (none: list them).
    #[arg(value_name = "NAME")]
    pub name: Option<lab_core::lessons::Lesson>,
    /// Take the lesson back: the lab as setup left it.
    #[arg(long)]
    pub undo: bool,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ChallengeArgs {
    /// The challenge (none: list them).
    #[arg(value_name = "NAME")]
    pub name: Option<lab_core::challenges::ChallengeName>,
    /// Grade the lab as it is now against the goal.
    #[arg(long, group = "act")]
    pub check: bool,
    /// The goal again, with a hint.
    #[arg(long, group = "act")]
    pub hint: bool,
    /// Back to the starting state (your changes are lost).
    #[arg(long, group = "act")]
    pub reset: bool,
    /// Write one least-privilege answer, shown as a diff of what was there.
    #[arg(long, group = "act")]
    pub giveup: bool,
    /// The session policy you wrote (challenge session-policy's --check).
    #[arg(long, value_name = "FILE", requires = "check")]
    pub policy: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct WhyArgs {
    /// The profile whose request is explained (`sts`, `assumed`); --profile stays the admin, who
    /// reads the documents.
    #[arg(long = "as", value_name = "PROFILE")]
    pub as_profile: String,
    /// The action, as in a policy (s3:ListAllMyBuckets, sts:AssumeRole …), or the API operation
    /// an error named (s3:ListBuckets, which needs s3:ListAllMyBuckets).
    pub action: String,
    /// The resource's ARN, or a bucket's name (default: the lab's role for sts:AssumeRole, else `*`).
    #[arg(value_name = "RESOURCE")]
    pub resource: Option<String>,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TrailFilter {
    /// How far back (30s, 15m, 2h, 1d; CloudTrail keeps 90 days).
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_since)]
    pub since: std::time::Duration,
    /// Only the refusals.
    #[arg(long)]
    pub denied: bool,
    /// The lab's own requests too (setup's, verify's, the lessons', the challenges', the page's:
    /// their user agent names sts-lab); without it, only the learner's and others'.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TrailArgs {
    #[command(flatten)]
    pub filter: TrailFilter,
    /// Only the requests of this profile's identity (`sts`: the user; `assumed`: any session of the role).
    #[arg(long = "as", value_name = "PROFILE")]
    pub as_profile: Option<String>,
    /// Keep reading and show new events as they arrive, until Ctrl-C (with --json: one JSON
    /// event a line).
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub json: JsonArgs,
}

/// `--since`: a duration of one second to 90 days (CloudTrail's event history).
fn parse_since(text: &str) -> Result<std::time::Duration, String> {
    let span = humantime::parse_duration(text.trim())
        .map_err(|_| format!("{text:?} is not a duration: use 30s, 15m, 2h or 1d"))?;
    let most = std::time::Duration::from_secs(90 * 24 * 3600);
    if span.as_secs() == 0 || span > most {
        return Err(format!(
            "{text:?} is out of range: use 1s to 90d (CloudTrail keeps 90 days)"
        ));
    }
    Ok(span)
}

#[derive(Debug, Clone, Args)]
pub struct AssumeArgs {
    /// The role session name, as in `aws sts assume-role --role-session-name`.
    #[arg(long, default_value = lab_core::model::names::DEFAULT_SESSION_NAME)]
    pub session_name: lab_core::model::names::SessionName,
    /// How long the temporary credentials last, in seconds (900 to 3600).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<lab_core::model::expiry::SessionSeconds>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum EmulatorAction {
    /// Install the pinned emulator (moto[server]) into the project's .lab/venv, with uv.
    Install {
        /// Also the tools the tests and CI use: the aws CLI and cfn-lint.
        #[arg(long)]
        test_tools: bool,
    },
    /// Start the emulator in the background (installing it first if needed).
    Start {
        /// The port on 127.0.0.1 (default: STS_LAB_EMULATOR_PORT or 5055).
        #[arg(long)]
        port: Option<u16>,
        /// AWS's timing and strictness: new keys refused for seconds, stacks in progress, IAM propagating.
        #[arg(long)]
        realistic: bool,
    },
    /// Stop the emulator.
    Stop,
    /// Say whether the emulator runs, where, and where its files are.
    Status,
    /// Print `export` lines for the aws CLI and SDKs: eval "$(cargo xtask emulator env)".
    Env,
    /// Print the emulator's time; `+2h` moves it forward (sessions end, conditions on
    /// aws:CurrentTime change), `now` puts it back to this machine's time.
    #[command(
        after_help = "Examples:\n  cargo xtask emulator clock\n  cargo xtask emulator clock +2h\n  cargo xtask emulator clock now"
    )]
    Clock {
        /// `+DURATION` (e.g. +90m, +2h, +8d) from the emulator's time now, or `now`.
        #[arg(value_name = "+DURATION|now", allow_hyphen_values = true)]
        to: Option<lab_core::emulator::ClockMove>,
    },
    /// The emulator's evaluator: a question a line of JSON on stdin, its decision a line on
    /// stdout (the emulator starts it; not for people).
    #[command(hide = true)]
    Decide,
}
