//! A classroom of isolated labs `NAME-01` … `NAME-N`, each exactly the lab `setup --lab NAME-NN`
//! makes, on one admin connection (`Room`), the work fanned out over the students (`each`):
//! `setup` with a handout per student, `verify` (their checks and their isolation), `status`,
//! `lesson` and `cleanup`. Students' keys go to their handout folders (0700), never into the
//! instructor's AWS files.

mod challenge;
mod cleanup;
mod handout;
mod lesson;
mod names;
mod setup;
mod status;
mod trail;
mod verify;
mod watch;

pub use challenge::{SESSION_POLICY_FILE, challenge};
pub use cleanup::cleanup;
pub use handout::{Handout, handout_readme};
pub use lesson::{lesson, page_name};
pub use names::{DEFAULT_CLASS, MAX_STUDENTS, class_of, is_student_lab, isolation_pairs, student_labs, student_names};
pub use setup::setup;
pub use status::status;
pub use trail::trail;
pub use verify::verify;
pub use watch::snapshot;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;

use crate::aws::target::{Clients, Target};
use crate::fleet::sweep::FoundLab;
use crate::lab::{self, Lab, LabOptions};
use crate::model::expiry::Ttl;
use crate::ops::account_documents::{DocumentBoard, SharedReading};
use crate::ops::stack_board::StackBoard;
use crate::ops::sts::{self, Identity};
use crate::output::report::{Captured, Report};
use crate::profiles::awsfiles::AwsFiles;

/// How often a class asks CloudFormation for its stacks while it waits: one DescribeStacks for
/// all of them, a fraction of CloudFormation's few requests a second.
const STACK_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Which class (None: the one class of the account, or for a new class `DEFAULT_CLASS`), where its
/// handouts go (None: `handouts_root/NAME`), and whether to take over profiles sts-lab did not
/// write.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    pub class: Option<String>,
    pub out: Option<PathBuf>,
    pub handouts_root: PathBuf,
    pub force: bool,
    /// The class is being set up: without a name it is a new one, `DEFAULT_CLASS`.
    pub new_class: bool,
    /// The share of the account's IAM and CloudFormation request rates this connection keeps to
    /// (1: all of them; the instructor's live page takes a quarter, the students keep the rest),
    /// and of CloudTrail's LookupEvents (which only the instructor's tools call).
    pub share_of_rates: f64,
    pub share_of_trail: f64,
}

/// The class named, or the one the account has: with several, they are listed and one must be
/// named; with none, the command that makes one is said.
async fn resolve_class(admin: &Clients, options: &RoomOptions) -> Result<String> {
    if let Some(name) = &options.class {
        return Ok(name.clone());
    }
    if options.new_class {
        return Ok(DEFAULT_CLASS.to_owned());
    }
    let classes = classes(admin).await?;
    match classes.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!(
            "there is no class in this account; make one with `{}`",
            crate::output::command::xtask("class setup --students N")
        ),
        many => anyhow::bail!(
            "{} classes in this account ({}); name one with --class NAME",
            many.len(),
            many.join(", ")
        ),
    }
}

/// The names of the account's classes: the name before `-NN` of each lab found that is a
/// student's.
pub async fn classes(admin: &Clients) -> Result<Vec<String>> {
    let mut names: Vec<String> = crate::fleet::sweep::find_labs(&admin.iam)
        .await?
        .into_iter()
        .filter_map(|lab| names::class_of(&lab.names.lab).map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
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
    /// The account's documents read for many students at once.
    documents: Arc<DocumentBoard>,
    /// When the class connected: a reading from then on serves work that changes no document.
    connected: tokio::time::Instant,
    /// How long IAM's propagation is waited out where the class runs (not at all on the plain
    /// emulator).
    backoff: crate::aws::retry::Backoff,
}

impl Room {
    /// Connects as the admin once for the whole class, with patient clients (throttling is
    /// waited out, never failed) that keep, all together, to the account's request rates.
    pub async fn connect(mut target: Target, options: RoomOptions, report: &dyn Report) -> Result<Self> {
        if let Some(name) = &options.class {
            crate::model::names::validate_lab_name(name).context("invalid --class")?;
        }
        let asked_region = target.region.clone();
        target.patient = true;
        target.recognize_endpoint().await?;
        let rates = target
            .request_rates()
            .await?
            .share(options.share_of_rates, options.share_of_trail);
        target.pace = Some(Arc::new(crate::aws::pace::Pace::new(rates)));
        let admin = target.admin().await?;
        let name = resolve_class(&admin, &options).await?;
        let handouts = options.out.clone().unwrap_or_else(|| options.handouts_root.join(&name));
        let identity = sts::caller_identity(&admin.sts).await?;
        let backoff = target.propagation(Default::default()).await;
        report.line(&format!(
            "class {name} as {} (region {}); handouts in {}",
            identity.arn,
            admin.region,
            handouts.display()
        ));
        Ok(Self {
            name,
            handouts,
            target,
            admin,
            identity,
            force: options.force,
            asked_region,
            stack_board: Arc::new(StackBoard::new(STACK_POLL_INTERVAL)),
            documents: Arc::default(),
            connected: tokio::time::Instant::now(),
            backoff,
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

    /// [`Room::student`], reading the account's documents once for the whole class: for work
    /// that changes none of them (verify), so that 30 students cost one reading, not 30.
    pub fn student_reading(&self, lab: &str, region: Option<&str>) -> Result<Lab> {
        self.student_reading_since(lab, region, self.connected)
    }

    /// [`Room::student_reading`] from a reading taken at or after `since`: for a class seen again
    /// and again (`class status`, `class watch`), one fresh reading each time for all students.
    pub fn student_reading_since(&self, lab: &str, region: Option<&str>, since: tokio::time::Instant) -> Result<Lab> {
        let mut student = self.student(lab, region)?;
        student.documents = Some(self.reading_since(since));
        Ok(student)
    }

    /// The class's reading of the account's documents, taken at or after `since`.
    fn reading_since(&self, since: tokio::time::Instant) -> SharedReading {
        SharedReading {
            board: Arc::clone(&self.documents),
            since,
        }
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
            .backoff(self.backoff)
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
        self.existing_since(self.connected).await
    }

    /// [`Room::existing`] from the class's reading of the account's documents taken at or after
    /// `since` (the users' tags are in it: one request, not a GetUser a user), shared with the
    /// students' work that reads it; user by user when the admin may not read them all at once.
    async fn existing_since(&self, since: tokio::time::Instant) -> Result<Vec<FoundLab>> {
        let all = match self.documents.get(&self.admin.iam, since).await? {
            Some(read) => crate::fleet::sweep::labs_in(&read),
            None => crate::fleet::sweep::find_labs_one_by_one(&self.admin.iam).await?,
        };
        Ok(all
            .into_iter()
            .filter(|l| is_student_lab(&self.name, &l.names.lab))
            .collect())
    }

    /// The class's labs that exist, or an error saying which classes there are and how to make
    /// this one.
    async fn existing_or_hint(&self) -> Result<Vec<FoundLab>> {
        self.existing_or_hint_since(self.connected).await
    }

    /// [`Room::existing_or_hint`] from a reading taken at or after `since`.
    async fn existing_or_hint_since(&self, since: tokio::time::Instant) -> Result<Vec<FoundLab>> {
        let found = self.existing_since(since).await?;
        if found.is_empty() {
            let others = classes(&self.admin).await?;
            let there = match others.as_slice() {
                [] => "there is no class in this account".to_owned(),
                some => format!("the classes here are {}", some.join(", ")),
            };
            anyhow::bail!(
                "class {} has no labs ({there}); make it with `{}`",
                self.name,
                crate::output::command::xtask("class setup --students N")
            );
        }
        Ok(found)
    }
}

/// How many students at once: at most `Some(n)` (an instructor's cap), else all of them, the
/// class's pace (the account's request rates, kept by its clients) bounding it instead.
pub type Jobs = Option<usize>;

/// Runs `work` on every item, `jobs` at a time (all of them when None), and returns the results
/// in the items' order; the report shows how many students are done.
pub async fn each<I, T, Fut>(report: &dyn Report, items: Vec<I>, jobs: Jobs, work: impl Fn(I) -> Fut) -> Vec<(I, T)>
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
        .buffered(jobs.unwrap_or(total).max(1))
        .collect()
        .await
}

/// Runs `work` on every student's lab that exists (`jobs` at a time), a line for each as it
/// finishes (✓ and what `work` said, or ✗ and its error); how many failed, of how many.
pub(super) async fn for_each_student<Fut>(
    room: &Room,
    jobs: Jobs,
    report: &dyn Report,
    work: impl Fn(String, Option<String>) -> Fut,
) -> Result<(usize, usize)>
where
    Fut: Future<Output = Result<String>>,
{
    let found = room.existing_or_hint().await?;
    let labs: Vec<(String, Option<String>)> = found.into_iter().map(|f| (f.names.lab, f.region)).collect();
    let work = &work;
    let results = each(report, labs, jobs, |(lab, region)| async move {
        let result = work(lab.clone(), region).await;
        match &result {
            Ok(line) => report.outcome(true, line),
            Err(e) => report.outcome(false, &format!("{lab}: {}", crate::aws::error::one_line(e))),
        }
        result
    })
    .await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    Ok((failed, results.len()))
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
