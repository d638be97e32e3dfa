//! `cargo xtask class setup|verify|status|cleanup`: a classroom of isolated labs `NAME-01` …
//! `NAME-N`, each exactly the lab `setup --lab NAME-NN` makes, `--jobs` at a time; each student's
//! key and a README go to a handout folder (0700), never into the instructor's AWS files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use lab_core::aws::error::one_line;
use lab_core::aws::target::{Clients, Target};
use lab_core::fleet::class::{self, Handout};
use lab_core::lab::{self, Lab};
use lab_core::ops::stack_board::StackBoard;
use lab_core::ops::sts::{self, Identity};
use lab_core::output;
use lab_core::output::report::{Captured, Report, fmt_elapsed};
use lab_core::profiles::awsfiles::AwsFiles;

mod lesson;
mod verify;

use crate::flags::{ClassAction, ClassArgs, Global};
use crate::ui::Ui;

/// How often a class asks CloudFormation for its stacks while it waits: one DescribeStacks for
/// all of them, well below CloudFormation's few requests a second.
const STACK_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The class's CloudFormation calls of any kind, a second: below the few a second CloudFormation
/// allows the whole account, so that a burst of labs is paced, not throttled.
const CFN_CALLS_PER_SECOND: u32 = 3;

pub async fn run(global: &Global, action: ClassAction) -> Result<()> {
    match action {
        ClassAction::Setup {
            class,
            students,
            ttl,
            jobs,
        } => {
            // Bad input is refused before any call.
            let labs = class::student_labs(&class.class, students)?;
            let ttl_seconds = ttl.seconds();
            let room = Room::connect(global, &class, false).await?;
            setup(&room, labs, ttl_seconds, jobs.max(1)).await
        }
        ClassAction::Verify { class, json, jobs } => {
            verify::run(&Room::connect(global, &class, json).await?, json, jobs.max(1)).await
        }
        ClassAction::Lesson {
            class,
            name,
            undo,
            jobs,
        } => lesson::run(&Room::connect(global, &class, false).await?, name, undo, jobs.max(1)).await,
        ClassAction::Status { class, json } => status(&Room::connect(global, &class, json).await?, json).await,
        ClassAction::Cleanup { class, jobs } => {
            cleanup(&Room::connect(global, &class, false).await?, jobs.max(1)).await
        }
    }
}

/// The class: its name, its handouts' folder, and the instructor's admin connection, made once.
pub(super) struct Room {
    name: String,
    handouts: PathBuf,
    target: Target,
    admin: Clients,
    identity: Identity,
    ui: Ui,
    /// `--force`: take over profiles of the handouts that sts-lab did not write.
    force: bool,
    /// `--region` as asked: a lab recorded in another region is refused, as `setup` refuses it.
    asked_region: Option<String>,
    /// One view of the stacks for the whole class: a DescribeStacks a second at most, for any size.
    stack_board: Arc<StackBoard>,
}

impl Room {
    async fn connect(global: &Global, args: &ClassArgs, json: bool) -> Result<Self> {
        lab_core::model::names::validate_lab_name(&args.class).context("invalid --class")?;
        let mut target = crate::tasks::target(global).await?;
        target.patient = true;
        let admin = target.admin().await?;
        let identity = sts::caller_identity(&admin.sts).await?;
        let handouts = args.out.clone().unwrap_or_else(|| {
            crate::project::project_root()
                .join(".lab")
                .join("class")
                .join(&args.class)
        });
        let ui = Ui::new(global.explain, json);
        ui.line(&format!(
            "class {} as {} (region {}); handouts in {}",
            args.class,
            identity.arn,
            admin.region,
            handouts.display()
        ));
        Ok(Self {
            name: args.class.clone(),
            handouts,
            target,
            admin,
            identity,
            ui,
            force: global.force,
            asked_region: global.region.clone(),
            stack_board: Arc::new(StackBoard::new(STACK_POLL_INTERVAL, CFN_CALLS_PER_SECOND)),
        })
    }

    fn handout(&self, lab: &str) -> PathBuf {
        self.handouts.join(lab)
    }

    /// A student's lab: the lab's own names with the guide's profiles, in the student's handout
    /// files, on the class's admin connection (in `region` when the lab recorded one).
    fn student(&self, lab: &str, region: Option<&str>) -> Result<Lab> {
        let mut target = self.target.clone();
        target.files = AwsFiles::handout(&self.handout(lab));
        let names = class::student_names(lab)?;
        let admin = match region {
            Some(r) if r != self.admin.region => {
                lab::check_region_asked(&names, self.asked_region.as_deref(), r)?;
                self.admin.in_region(r)
            }
            _ => self.admin.clone(),
        };
        let mut student = Lab::with_admin(target, names, admin, self.identity.clone())?;
        student.force = self.force;
        student.stack_board = Some(Arc::clone(&self.stack_board));
        Ok(student)
    }

    /// The steps of one lab's task: shown with `--explain` for the first lab only (the others
    /// differ by their names), kept otherwise.
    fn steps_for(&self, lab: &str, first: &str) -> Captured {
        Captured(Default::default(), self.ui.explain() && lab == first)
    }

    /// Prints the aws CLI commands a lab's task ran (`--explain`), as an example for every lab.
    fn show_explained(&self, lab: &str, steps: &Captured) {
        if !steps.1 {
            return;
        }
        self.ui.line(&format!(
            "the aws CLI commands for {lab} (the other labs differ by their names):"
        ));
        let explained = |l: &&str| l.starts_with("    ") && l.trim_start().starts_with(['$', '#']);
        for line in steps.text().lines().filter(explained) {
            self.ui.line(line);
        }
    }

    /// The class's labs that exist, found by their tags as `sweep` finds labs.
    async fn existing(&self) -> Result<Vec<lab_core::fleet::sweep::FoundLab>> {
        let all = lab_core::fleet::sweep::find_labs(&self.admin.iam).await?;
        Ok(all
            .into_iter()
            .filter(|l| class::is_student_lab(&self.name, &l.names.lab))
            .collect())
    }
}

/// Runs `work` on every item, `jobs` at a time, and returns the results in the items' order;
/// a terminal shows how many students are done.
async fn each<I, T, Fut>(ui: &Ui, items: Vec<I>, jobs: usize, work: impl Fn(I) -> Fut) -> Vec<(I, T)>
where
    I: Clone,
    Fut: Future<Output = T>,
{
    let total = items.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    ui.progress("students", 0, total);
    futures_util::stream::iter(items)
        .map(|item| {
            let out = work(item.clone());
            let done = &done;
            async move {
                let out = out.await;
                let finished = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                ui.progress("students", finished, total);
                (item, out)
            }
        })
        .buffered(jobs)
        .collect()
        .await
}

/// A student's handout README: their values, the guide's steps with them, their lab's diagram.
async fn write_handout(room: &Room, lab: &str, student: &Lab, outcome: &lab::SetupOutcome) -> Result<()> {
    let folder = room.handout(lab).display().to_string();
    let diagram = lab::diagram(student).await?;
    let readme = class::handout_readme(&Handout {
        lab,
        user: &student.names.user,
        role_arn: &outcome.role_arn,
        bucket_prefix: &student.bucket_prefix(),
        expires: &outcome.expires,
        region: &student.admin.region,
        endpoint: student.admin.endpoint_url.as_deref(),
        folder: &folder,
        diagram: &diagram,
    });
    let path = room.handout(lab).join("README.md");
    std::fs::write(&path, readme).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn setup(room: &Room, labs: Vec<String>, ttl_seconds: i64, jobs: usize) -> Result<()> {
    let started = Instant::now();
    let recorded: HashMap<String, Option<String>> = room
        .existing()
        .await?
        .into_iter()
        .map(|f| (f.names.lab, f.region))
        .collect();
    let first = labs.first().cloned().unwrap_or_default();
    let (recorded, first) = (&recorded, &first);
    let results = each(&room.ui, labs, jobs, |lab| async move {
        let t0 = Instant::now();
        let steps = room.steps_for(&lab, first);
        // Run again, a lab goes where it was made, whatever region this shell is in.
        let region = recorded.get(&lab).cloned().flatten();
        let result = async {
            let mut student = room.student(&lab, region.as_deref())?;
            student.ttl_seconds = ttl_seconds;
            let outcome = lab::setup(&student, &steps).await?;
            student.write_assumed_profile_config().await?;
            write_handout(room, &lab, &student, &outcome).await?;
            anyhow::Ok(outcome)
        }
        .await;
        room.show_explained(&lab, &steps);
        match &result {
            Ok(o) => room.ui.outcome(
                true,
                &format!(
                    "{lab}: {} may assume {}, until {} ({})",
                    lab_core::fleet::class::student_names(&lab)
                        .map(|n| n.user)
                        .unwrap_or_default(),
                    o.role_arn,
                    o.expires,
                    fmt_elapsed(t0.elapsed())
                ),
            ),
            Err(e) => room.ui.outcome(
                false,
                &format!("{lab}: {} ({})", one_line(e), fmt_elapsed(t0.elapsed())),
            ),
        }
        result.map(drop)
    })
    .await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(lab, r)| r.as_ref().err().map(|e| format!("{lab}: {}", one_line(e))))
        .collect();
    room.ui.line(&format!(
        "class {}: {} of {} labs set up in {}; handouts in {} (each student's credentials, config and README.md)",
        room.name,
        results.len() - failed.len(),
        results.len(),
        fmt_elapsed(started.elapsed()),
        room.handouts.display()
    ));
    if !failed.is_empty() {
        bail!(
            "{} labs failed: {}; run class setup again to finish, or class cleanup",
            failed.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

/// A student's lesson, and what lessons left beyond it (a part left by one taken back).
fn lesson_cell(parts: &lab::LessonParts) -> String {
    let extra = parts.lines().len() - usize::from(parts.applied.is_some());
    match (&parts.applied, extra) {
        (None, 0) => "none".to_owned(),
        (Some(l), _) => l.clone(),
        (None, n) => format!("none ({n} parts left)"),
    }
}

async fn status(room: &Room, json: bool) -> Result<()> {
    let now = room.target.now().await?;
    let mut students = Vec::new();
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(["lab", "user", "key age", "stack", "expires", "lesson", "handout"]);
    for found in room.existing().await? {
        let student = room.student(&found.names.lab, found.region.as_deref())?;
        let inv = lab::inventory(&student).await?;
        let key_age = inv
            .access_keys
            .iter()
            .filter_map(|k| k.create_date.map(|d| now - d.secs()))
            .min();
        let expires = inv.expires().map(str::to_owned).or(found.expires.clone());
        let handout = room.handout(&found.names.lab).join("credentials").exists();
        table.add_row([
            found.names.lab.clone(),
            inv.user
                .as_ref()
                .map_or("none", |_| found.names.user.as_str())
                .to_owned(),
            key_age.map_or_else(|| "none".to_owned(), lab_core::lab::status::age),
            inv.stack.as_ref().map_or("none", |s| s.status.as_str()).to_owned(),
            lab_core::model::expiry::text(expires.as_deref(), now),
            lesson_cell(&inv.lesson),
            (if handout { "yes" } else { "gone" }).to_owned(),
        ]);
        students.push(output::StudentStatus {
            lab: found.names.lab.clone(),
            user: inv.user.as_ref().map(|u| output::User {
                name: found.names.user.clone(),
                lab_tag: u.lab_tag.clone(),
            }),
            key_age_seconds: key_age,
            stack: inv.stack.as_ref().map(|s| output::Stack {
                name: found.names.stack.clone(),
                status: s.status.as_str().to_owned(),
            }),
            expires: expires.as_deref().map(|at| output::Expiry::new(at, now)),
            lesson: inv.lesson.doc(),
            handout,
        });
    }
    if json {
        let doc = output::ClassStatusDoc {
            class: room.name.clone(),
            students,
        };
        println!("{:#}", serde_json::to_value(doc)?);
    } else if students.is_empty() {
        room.ui.line(&format!("class {} has no labs", room.name));
    } else {
        for line in table.lines() {
            room.ui.line(line.trim_end());
        }
    }
    Ok(())
}

async fn cleanup(room: &Room, jobs: usize) -> Result<()> {
    let started = Instant::now();
    let found = room.existing().await?;
    let regions: Vec<(String, Option<String>)> =
        found.iter().map(|f| (f.names.lab.clone(), f.region.clone())).collect();
    let labs: Vec<String> = regions.iter().map(|(l, _)| l.clone()).collect();
    let first = labs.first().cloned().unwrap_or_default();
    let first = &first;
    let results = each(&room.ui, labs, jobs, |lab| {
        let region = regions.iter().find(|(l, _)| *l == lab).and_then(|(_, r)| r.clone());
        async move {
            let steps = room.steps_for(&lab, first);
            let result = async {
                let student = room.student(&lab, region.as_deref())?;
                lab::cleanup(&student, &steps).await
            }
            .await;
            room.show_explained(&lab, &steps);
            match &result {
                Ok(()) => room.ui.outcome(true, &format!("{lab}: nothing left")),
                Err(e) => room.ui.outcome(false, &format!("{lab}: {}", one_line(e))),
            }
            result
        }
    })
    .await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(lab, r)| r.as_ref().err().map(|e| format!("{lab}: {}", one_line(e))))
        .collect();
    if !failed.is_empty() {
        bail!(
            "cleanup of {} labs failed: {}; run class cleanup again",
            failed.len(),
            failed.join("; ")
        );
    }
    // The handouts hold the students' keys, all deleted now: the folder goes too.
    let had_handouts = room.handouts.exists();
    if had_handouts {
        std::fs::remove_dir_all(&room.handouts)
            .with_context(|| format!("cannot remove {}", room.handouts.display()))?;
    }
    room.ui.line(&format!(
        "class {}: {} labs removed{} in {}",
        room.name,
        results.len(),
        if had_handouts { ", handouts removed" } else { "" },
        fmt_elapsed(started.elapsed())
    ));
    Ok(())
}
