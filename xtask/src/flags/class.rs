//! The flags of `cargo xtask class …`: the class's own (`--class`, `--out`), each action's, and
//! the live page's.

use clap::{Args, Subcommand};

use super::{JobsArgs, JsonArgs, TrailFilter, TtlArgs};

#[derive(Debug, Clone, Args)]
pub struct ClassArgs {
    /// The class: its labs are NAME-01 … NAME-N (default: the one class in the account; a new
    /// class with `class setup` is named `class`).
    #[arg(long, value_name = "NAME")]
    pub class: Option<String>,
    /// Where the handouts go (default: .lab/class/NAME in this project).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

impl ClassAction {
    pub fn class_args(&self) -> &ClassArgs {
        match self {
            ClassAction::Setup { class, .. }
            | ClassAction::Verify { class, .. }
            | ClassAction::Lesson { class, .. }
            | ClassAction::Challenge { class, .. }
            | ClassAction::Watch { class, .. }
            | ClassAction::Status { class, .. }
            | ClassAction::Trail { class, .. }
            | ClassAction::Cleanup { class, .. } => class,
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum ClassAction {
    /// Create the labs NAME-01 … NAME-N, JOBS at a time, and a handout folder per student.
    Setup {
        #[command(flatten)]
        class: ClassArgs,
        /// How many students (1 to 200).
        #[arg(long)]
        students: usize,
        #[command(flatten)]
        ttl: TtlArgs,
        #[command(flatten)]
        jobs: JobsArgs,
    },
    /// Every student's checks (their role assumed in memory, nothing written), and that each
    /// student's key is denied the other students' roles; exits 1 when anything fails.
    Verify {
        #[command(flatten)]
        class: ClassArgs,
        #[command(flatten)]
        json: JsonArgs,
        #[command(flatten)]
        jobs: JobsArgs,
    },
    /// Apply a lesson to every student's lab and add its page (lesson-NAME.md) to each handout;
    /// `--undo` takes it back. `class verify` then checks the lesson for those students.
    Lesson {
        #[command(flatten)]
        class: ClassArgs,
        /// The lesson (see `cargo xtask lesson`).
        #[arg(value_name = "NAME")]
        name: lab_core::lessons::Lesson,
        /// Take the lesson back for every student, and its page.
        #[arg(long)]
        undo: bool,
        #[command(flatten)]
        jobs: JobsArgs,
    },
    /// Give every student the same challenge, its page in each handout; `--check` grades each
    /// student's lab (`class status` shows who passed what, and when).
    Challenge {
        #[command(flatten)]
        class: ClassArgs,
        /// The challenge (see `cargo xtask challenge`).
        #[arg(value_name = "NAME")]
        name: lab_core::challenges::ChallengeName,
        /// Grade every student's lab instead of setting the challenge.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        jobs: JobsArgs,
    },
    /// A row per student: user, key age, stack, expiry, lesson, challenge, what they passed, handout.
    Status {
        #[command(flatten)]
        class: ClassArgs,
        #[command(flatten)]
        json: JsonArgs,
    },
    /// The instructor's live page of the class, served on 127.0.0.1 until Ctrl-C: a row per
    /// student (lab, key and role last used, lesson and challenge, what they passed, refusals in
    /// the last 15 minutes and the last one explained) and who is on track, stuck, done or broken.
    Watch {
        #[command(flatten)]
        class: ClassArgs,
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// Each student's trail in CloudTrail (one reading for the class), with their refusals counted
    /// and each explained.
    Trail {
        #[command(flatten)]
        class: ClassArgs,
        /// Only this student's (the number of their lab, NAME-NN).
        #[arg(long, value_name = "N")]
        student: Option<usize>,
        #[command(flatten)]
        filter: TrailFilter,
        #[command(flatten)]
        json: JsonArgs,
    },
    /// Remove every student's lab (found by its tags) and every handout.
    Cleanup {
        #[command(flatten)]
        class: ClassArgs,
        #[command(flatten)]
        jobs: JobsArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The port (0: any free one; the address is printed).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// The address to serve on: the loopback address unless --public.
    #[arg(long, default_value = "127.0.0.1")]
    pub address: std::net::IpAddr,
    /// Serve on an address that is not loopback (anyone who reaches it sees the class).
    #[arg(long)]
    pub public: bool,
}
