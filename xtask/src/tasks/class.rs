//! `cargo xtask class setup|verify|status|cleanup`: a classroom of isolated labs `NAME-01` …
//! `NAME-N`, each exactly the lab `setup --lab NAME-NN` makes, `--jobs` at a time; each student's
//! key and a README go to a handout folder (0700), never into the instructor's AWS files.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures_util::future::join_all;
use lab_core::awsfiles::AwsFiles;
use lab_core::class::{self, Handout};
use lab_core::error::{error_code, one_line};
use lab_core::lab::{self, Lab, now_secs};
use lab_core::names::{DEFAULT_SESSION_NAME, EXPIRES_TAG_KEY};
use lab_core::ops::sts::{self, Identity};
use lab_core::report::{Captured, Report, fmt_elapsed};
use lab_core::target::{Clients, Target};
use serde_json::{Value, json};

use crate::flags::{ClassAction, ClassArgs, Global};
use crate::ui::Ui;

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
            let ttl_seconds = lab_core::expiry::parse_ttl(&ttl)?;
            let room = Room::connect(global, &class, false).await?;
            setup(&room, labs, ttl_seconds, jobs.max(1)).await
        }
        ClassAction::Verify { class, json } => verify(&Room::connect(global, &class, json).await?, json).await,
        ClassAction::Status { class, json } => status(&Room::connect(global, &class, json).await?, json).await,
        ClassAction::Cleanup { class, jobs } => {
            cleanup(&Room::connect(global, &class, false).await?, jobs.max(1)).await
        }
    }
}

/// The class: its name, its handouts' folder, and the instructor's admin connection, made once.
struct Room {
    name: String,
    handouts: PathBuf,
    target: Target,
    admin: Clients,
    identity: Identity,
    ui: Ui,
}

impl Room {
    async fn connect(global: &Global, args: &ClassArgs, json: bool) -> Result<Self> {
        lab_core::names::validate_lab_name(&args.class).context("invalid --class")?;
        let mut target = crate::project::target(global).await?;
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
        })
    }

    fn handout(&self, lab: &str) -> PathBuf {
        self.handouts.join(lab)
    }

    /// A student's lab: the lab's own names with the guide's profiles, in the student's handout
    /// files, on the class's admin connection (in `region` when the lab recorded one).
    fn student(&self, lab: &str, region: Option<&str>) -> Result<Lab> {
        let mut target = self.target.clone();
        target.files = AwsFiles::in_dir(&self.handout(lab));
        let admin = match region {
            Some(r) if r != self.admin.region => self.admin.in_region(r),
            _ => self.admin.clone(),
        };
        Lab::with_admin(target, class::student_names(lab)?, admin, self.identity.clone())
    }

    /// The class's labs that exist, found by their tags as `sweep` finds labs.
    async fn existing(&self) -> Result<Vec<lab_core::sweep::FoundLab>> {
        let all = lab_core::sweep::find_labs(&self.admin.iam).await?;
        Ok(all
            .into_iter()
            .filter(|l| class::is_student_lab(&self.name, &l.names.lab))
            .collect())
    }
}

/// Runs `work` on every item, `jobs` at a time, and returns the results in the items' order.
async fn each<T, Fut>(items: Vec<String>, jobs: usize, work: impl Fn(String) -> Fut) -> Vec<(String, T)>
where
    Fut: Future<Output = T>,
{
    let queue = RefCell::new(items.into_iter().enumerate().collect::<VecDeque<_>>());
    let done = RefCell::new(Vec::new());
    let worker = || async {
        loop {
            let next = queue.borrow_mut().pop_front();
            let Some((i, item)) = next else { break };
            let out = work(item.clone()).await;
            done.borrow_mut().push((i, item, out));
        }
    };
    join_all((0..jobs).map(|_| worker())).await;
    let mut done = done.into_inner();
    done.sort_by_key(|(i, _, _)| *i);
    done.into_iter().map(|(_, item, out)| (item, out)).collect()
}

async fn setup(room: &Room, labs: Vec<String>, ttl_seconds: i64, jobs: usize) -> Result<()> {
    let started = Instant::now();
    let results = each(labs, jobs, |lab| async move {
        let t0 = Instant::now();
        let steps = Captured::default();
        let result = async {
            let mut student = room.student(&lab, None)?;
            student.ttl_seconds = ttl_seconds;
            let outcome = lab::setup(&student, &steps).await?;
            let folder = room.handout(&lab).display().to_string();
            let readme = class::handout_readme(&Handout {
                lab: &lab,
                user: &student.names.user,
                role_arn: &outcome.role_arn,
                bucket_prefix: &student.bucket_prefix(),
                expires: &outcome.expires,
                region: &student.admin.region,
                endpoint: student.admin.endpoint_url.as_deref(),
                folder: &folder,
            });
            let path = room.handout(&lab).join("README.md");
            std::fs::write(&path, readme).with_context(|| format!("cannot write {}", path.display()))?;
            anyhow::Ok(outcome)
        }
        .await;
        match &result {
            Ok(o) => room.ui.line(&format!(
                "✓ {lab}: {} may assume {}, until {} ({})",
                lab_core::class::student_names(&lab).map(|n| n.user).unwrap_or_default(),
                o.role_arn,
                o.expires,
                fmt_elapsed(t0.elapsed())
            )),
            Err(e) => room
                .ui
                .line(&format!("✗ {lab}: {} ({})", one_line(e), fmt_elapsed(t0.elapsed()))),
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

/// One student's row of `class verify`.
struct Verified {
    checks: Vec<lab::Check>,
    isolation: Vec<(String, String, bool)>,
}

async fn verify(room: &Room, json: bool) -> Result<()> {
    let found = room.existing().await?;
    if found.is_empty() {
        bail!("class {} has no labs; run `cargo xtask class setup` first", room.name);
    }
    let labs: Vec<String> = found.iter().map(|f| f.names.lab.clone()).collect();
    let regions: Vec<Option<String>> = found.iter().map(|f| f.region.clone()).collect();
    // Every student's role ARN first: the isolation check tries other students' roles.
    let mut roles = Vec::new();
    for (lab, region) in labs.iter().zip(&regions) {
        roles.push(room.student(lab, region.as_deref())?.role_arn().await.ok());
    }
    let pairs = class::isolation_pairs(labs.len());
    let mut rows = Vec::new();
    for (i, (lab, region)) in labs.iter().zip(&regions).enumerate() {
        let student = room.student(lab, region.as_deref())?;
        let result = async {
            let as_user = student.target.profile("sts").await?;
            let mut checks = Vec::new();
            if let Some(role) = &roles[i] {
                // The student's session in memory only: nothing is written to the handout.
                let creds = lab_core::retry::retry_codes(
                    student.backoff,
                    &["AccessDenied", "InvalidClientTokenId"],
                    |_| {},
                    || sts::assume_role(&as_user.sts, role, DEFAULT_SESSION_NAME, None),
                )
                .await?;
                let session = student.target.session(&creds).await?;
                checks = lab::verify_with(&student, Some(session)).await?;
            }
            let mut isolation = Vec::new();
            for &(_, j) in pairs.iter().filter(|(a, _)| *a == i) {
                let Some(other) = &roles[j] else { continue };
                let tried = sts::assume_role(&as_user.sts, other, "class-isolation", None).await;
                let (denied, seen) = match &tried {
                    Ok(_) => (false, "allowed".to_owned()),
                    Err(e) => (
                        error_code(e) == Some("AccessDenied"),
                        error_code(e).unwrap_or("error").to_owned(),
                    ),
                };
                isolation.push((labs[j].clone(), seen, denied));
            }
            anyhow::Ok(Verified { checks, isolation })
        }
        .await;
        rows.push((lab.clone(), result));
    }
    let mut failed = 0;
    let mut doc = Vec::new();
    for (lab, result) in &rows {
        let (passed, line, value) = match result {
            Ok(v) => {
                let ok_checks = v.checks.iter().filter(|c| c.passed).count();
                let denied = v.isolation.iter().filter(|(_, _, d)| *d).count();
                let passed = !v.checks.is_empty() && ok_checks == v.checks.len() && denied == v.isolation.len();
                let broken: Vec<String> = v
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{}: expected {}, saw {}", c.name, c.expected, c.seen))
                    .chain(
                        v.isolation
                            .iter()
                            .filter(|(_, _, d)| !d)
                            .map(|(o, seen, _)| format!("may assume {o}'s role ({seen})")),
                    )
                    .collect();
                let line = format!(
                    "{lab}: {ok_checks}/{} checks, denied {denied}/{} other students' roles{}",
                    v.checks.len(),
                    v.isolation.len(),
                    if broken.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", broken.join("; "))
                    }
                );
                let value = json!({
                    "lab": lab,
                    "passed": passed,
                    "checks": v.checks.iter().map(|c| json!({"name": c.name, "passed": c.passed, "seen": c.seen})).collect::<Vec<_>>(),
                    "isolation": v.isolation.iter().map(|(o, seen, d)| json!({"other": o, "denied": d, "seen": seen})).collect::<Vec<_>>(),
                });
                (passed, line, value)
            }
            Err(e) => (
                false,
                format!("{lab}: {}", one_line(e)),
                json!({"lab": lab, "passed": false, "error": one_line(e)}),
            ),
        };
        if !passed {
            failed += 1;
        }
        room.ui.line(&format!("{} {line}", if passed { "✓" } else { "✗" }));
        doc.push(value);
    }
    if json {
        println!(
            "{:#}",
            json!({"class": room.name, "passed": failed == 0, "students": doc})
        );
    }
    if failed > 0 {
        bail!("{failed} of {} students' labs failed verify", rows.len());
    }
    room.ui.line(&format!(
        "class {}: all {} labs pass, each student's key is denied the other students' roles ({} pairs tried)",
        room.name,
        rows.len(),
        pairs.len()
    ));
    Ok(())
}

async fn status(room: &Room, json: bool) -> Result<()> {
    let now = now_secs();
    let mut doc: Vec<Value> = Vec::new();
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
        room.ui.line(&format!(
            "  {:<12} user {:<28} key {:<8} stack {:<18} {} handout {}",
            found.names.lab,
            inv.user.as_ref().map_or("none", |_| found.names.user.as_str()),
            key_age.map_or_else(|| "none".to_owned(), lab_core::status::age),
            inv.stack.as_ref().map_or("none", |s| s.status.as_str()),
            expires
                .as_deref()
                .and_then(lab_core::expiry::parse_utc)
                .map_or_else(|| "no expiry".to_owned(), |at| lab_core::expiry::describe(at, now)),
            if handout { "yes" } else { "gone" }
        ));
        doc.push(json!({
            "lab": found.names.lab,
            "user": inv.user.as_ref().map(|_| &found.names.user),
            "key_age_seconds": key_age,
            "stack": inv.stack.as_ref().map(|s| &s.status),
            EXPIRES_TAG_KEY: expires,
            "handout": handout,
        }));
    }
    if json {
        println!("{:#}", json!({"class": room.name, "students": doc}));
    } else if doc.is_empty() {
        room.ui.line(&format!("class {} has no labs", room.name));
    }
    Ok(())
}

async fn cleanup(room: &Room, jobs: usize) -> Result<()> {
    let started = Instant::now();
    let found = room.existing().await?;
    let regions: Vec<(String, Option<String>)> =
        found.iter().map(|f| (f.names.lab.clone(), f.region.clone())).collect();
    let labs: Vec<String> = regions.iter().map(|(l, _)| l.clone()).collect();
    let results = each(labs, jobs, |lab| {
        let region = regions.iter().find(|(l, _)| *l == lab).and_then(|(_, r)| r.clone());
        async move {
            let steps = Captured::default();
            let result = async {
                let student = room.student(&lab, region.as_deref())?;
                lab::cleanup(&student, &steps).await
            }
            .await;
            match &result {
                Ok(()) => room.ui.line(&format!("✓ {lab}: nothing left")),
                Err(e) => room.ui.line(&format!("✗ {lab}: {}", one_line(e))),
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
