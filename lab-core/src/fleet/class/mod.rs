//! A classroom of isolated labs `NAME-01` … `NAME-N`, each exactly the lab `setup --lab NAME-NN`
//! makes, on one admin connection (`Room`), the work fanned out over the students (`each`):
//! `setup` with a handout per student, `verify` (their checks and their isolation), `status`,
//! `lesson` and `cleanup`. Students' keys go to their handout folders (0700), never into the
//! instructor's AWS files.

mod cleanup;
mod handout;
mod lesson;
mod names;
mod setup;
mod status;
mod verify;

pub use cleanup::cleanup;
pub use handout::{Handout, handout_readme};
pub use lesson::{lesson, page_name};
pub use names::{DEFAULT_CLASS, MAX_STUDENTS, is_student_lab, isolation_pairs, student_labs, student_names};
pub use setup::setup;
pub use status::status;
pub use verify::verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;

use crate::aws::target::{Clients, Target};
use crate::fleet::sweep::FoundLab;
use crate::lab::{self, Lab, LabOptions};
use crate::model::expiry::Ttl;
use crate::ops::stack_board::StackBoard;
use crate::ops::sts::{self, Identity};
use crate::output::report::{Captured, Report};
use crate::profiles::awsfiles::AwsFiles;

/// How often a class asks CloudFormation for its stacks while it waits: one DescribeStacks for
/// all of them, well below CloudFormation's few requests a second.
const STACK_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The class's CloudFormation calls of any kind, a second: below the few a second CloudFormation
/// allows the whole account, so that a burst of labs is paced, not throttled.
const CFN_CALLS_PER_SECOND: u32 = 3;

/// Which class, where its handouts go, and whether to take over profiles sts-lab did not write.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    pub class: String,
    pub handouts: PathBuf,
    pub force: bool,
}

/// The class: its name, its handouts' folder, and the instructor's admin connection, made once.
pub struct Room {
    pub name: String,
    pub handouts: PathBuf,
    pub target: Target,
    admin: Clients,
    identity: Identity,
    force: bool,
    /// `--region` as asked: a lab recorded in another region is refused, as `setup` refuses it.
    asked_region: Option<String>,
    /// One view of the stacks for the whole class: a DescribeStacks a second at most, for any size.
    stack_board: Arc<StackBoard>,
}

impl Room {
    /// Connects as the admin once for the whole class, with patient clients (throttling is
    /// waited out, never failed).
    pub async fn connect(mut target: Target, options: RoomOptions, report: &dyn Report) -> Result<Self> {
        crate::model::names::validate_lab_name(&options.class).context("invalid --class")?;
        let asked_region = target.region.clone();
        target.patient = true;
        let admin = target.admin().await?;
        let identity = sts::caller_identity(&admin.sts).await?;
        report.line(&format!(
            "class {} as {} (region {}); handouts in {}",
            options.class,
            identity.arn,
            admin.region,
            options.handouts.display()
        ));
        Ok(Self {
            name: options.class,
            handouts: options.handouts,
            target,
            admin,
            identity,
            force: options.force,
            asked_region,
            stack_board: Arc::new(StackBoard::new(STACK_POLL_INTERVAL, CFN_CALLS_PER_SECOND)),
        })
    }

    pub fn handout(&self, lab: &str) -> PathBuf {
        self.handouts.join(lab)
    }

    /// A student's lab: the lab's own names with the guide's profiles, in the student's handout
    /// files, on the class's admin connection (in `region` when the lab recorded one).
    pub fn student(&self, lab: &str, region: Option<&str>) -> Result<Lab> {
        self.student_for(lab, region, Ttl::default())
    }

    fn student_for(&self, lab: &str, region: Option<&str>, ttl: Ttl) -> Result<Lab> {
        let mut target = self.target.clone();
        target.files = AwsFiles::handout(&self.handout(lab));
        let names = student_names(lab)?;
        let admin = match region {
            Some(r) if r != self.admin.region => {
                lab::check_region_asked(&names, self.asked_region.as_deref(), r)?;
                self.admin.in_region(r)
            }
            _ => self.admin.clone(),
        };
        let options = LabOptions::default()
            .force(self.force)
            .ttl(ttl)
            .stack_board(Arc::clone(&self.stack_board));
        Ok(Lab::with_admin(target, names, admin, self.identity.clone(), options))
    }

    /// The steps of one lab's task: shown with `--explain` for the first lab only (the others
    /// differ by their names), kept otherwise.
    fn steps_for(&self, report: &dyn Report, lab: &str, first: &str) -> Captured {
        Captured(Default::default(), report.explain() && lab == first)
    }

    /// Shows the aws CLI commands a lab's task ran (`--explain`), as an example for every lab.
    fn show_explained(&self, report: &dyn Report, lab: &str, steps: &Captured) {
        if !steps.1 {
            return;
        }
        report.line(&format!(
            "the aws CLI commands for {lab} (the other labs differ by their names):"
        ));
        let explained = |l: &&str| l.starts_with("    ") && l.trim_start().starts_with(['$', '#']);
        for line in steps.text().lines().filter(explained) {
            report.line(line);
        }
    }

    /// The class's labs that exist, found by their tags as `sweep` finds labs.
    pub async fn existing(&self) -> Result<Vec<FoundLab>> {
        let all = crate::fleet::sweep::find_labs(&self.admin.iam).await?;
        Ok(all
            .into_iter()
            .filter(|l| is_student_lab(&self.name, &l.names.lab))
            .collect())
    }

    /// The class's labs that exist, or an error saying how to make them.
    async fn existing_or_hint(&self) -> Result<Vec<FoundLab>> {
        let found = self.existing().await?;
        if found.is_empty() {
            anyhow::bail!("class {} has no labs; run `cargo xtask class setup` first", self.name);
        }
        Ok(found)
    }
}

/// Runs `work` on every item, `jobs` at a time, and returns the results in the items' order;
/// the report shows how many students are done.
pub async fn each<I, T, Fut>(report: &dyn Report, items: Vec<I>, jobs: usize, work: impl Fn(I) -> Fut) -> Vec<(I, T)>
where
    I: Clone,
    Fut: Future<Output = T>,
{
    let total = items.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    report.progress("students", 0, total);
    futures_util::stream::iter(items)
        .map(|item| {
            let out = work(item.clone());
            let done = &done;
            async move {
                let out = out.await;
                let finished = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                report.progress("students", finished, total);
                (item, out)
            }
        })
        .buffered(jobs.max(1))
        .collect()
        .await
}

/// `lab: error` for each failed item.
fn failures<T>(results: &[(String, Result<T>)]) -> Vec<String> {
    results
        .iter()
        .filter_map(|(lab, r)| {
            r.as_ref()
                .err()
                .map(|e| format!("{lab}: {}", crate::aws::error::one_line(e)))
        })
        .collect()
}
