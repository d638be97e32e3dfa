//! `class verify`: every student's `verify` checks with their role assumed in memory (nothing
//! written), and the isolation proof: each student's key is denied the other students' roles. A
//! row per student as soon as it is known; an expired lab says so at once, without a call.

use anyhow::{Result, anyhow, bail};
use lab_core::aws::error::{error_code, one_line};
use lab_core::aws::retry::retry_codes;
use lab_core::fleet::class;
use lab_core::lab::{self, Lab};
use lab_core::lessons::{self, Lesson};
use lab_core::model::names::DEFAULT_SESSION_NAME;
use lab_core::ops::sts;
use lab_core::output::report::Report;
use lab_core::output::{ClassVerifyDoc, Isolation, StudentVerify};

use super::Room;
use crate::ui::Ui;

/// One student's results.
struct Verified {
    checks: Vec<lab::Check>,
    isolation: Vec<Isolation>,
}

/// A student's lines, under the class's: the waits of their checks, prefixed with their lab.
struct StudentLines<'a> {
    ui: &'a Ui,
    lab: &'a str,
}

impl Report for StudentLines<'_> {
    fn line(&self, text: &str) {
        self.ui.line(&format!("  {}: {}", self.lab, text.trim_start()));
    }
}

pub(super) async fn run(room: &Room, json: bool, jobs: usize) -> Result<()> {
    let found = room.existing().await?;
    if found.is_empty() {
        bail!("class {} has no labs; run `cargo xtask class setup` first", room.name);
    }
    let labs: Vec<String> = found.iter().map(|f| f.names.lab.clone()).collect();
    // Each student's lab, unless it expired (then nothing is asked of AWS for it), and role.
    let mut students: Vec<Result<Lab>> = Vec::new();
    let mut roles = Vec::new();
    let now = room.target.now().await?;
    for f in &found {
        let student = lab::check_not_expired(f.expires.as_deref(), now)
            .map_err(|_| {
                anyhow!(
                    "expired at {}; run `cargo xtask class setup` to renew the class",
                    f.expires.as_deref().unwrap_or_default()
                )
            })
            .and_then(|()| room.student(&f.names.lab, f.region.as_deref()));
        roles.push(match &student {
            Ok(s) => s.role_arn().await.ok(),
            Err(_) => None,
        });
        students.push(student);
    }
    let pairs = class::isolation_pairs(labs.len());
    let (students, roles, labs_ref) = (&students, &roles, &labs);
    let order: Vec<usize> = (0..labs.len()).collect();
    // Each student's lesson, as their lab records it.
    let mut applied = Vec::new();
    for student in students {
        applied.push(match student {
            Ok(s) => lessons::applied(s).await?,
            Err(_) => None,
        });
    }
    // A lesson that moves the emulator's clock moves it for every student: one at a time.
    let clock = applied.iter().flatten().any(|l| l.moves_clock());
    let jobs = if clock { 1 } else { jobs };
    let applied = &applied;
    // `jobs` students at a time; a row is printed as each one finishes.
    let rows = super::each(&room.ui, order, jobs, |i| {
        let pairs = &pairs;
        async move {
            let lab = &labs_ref[i];
            let lines = StudentLines { ui: &room.ui, lab };
            let result = match &students[i] {
                Ok(student) => {
                    let others: Vec<(String, Option<String>)> = pairs
                        .iter()
                        .filter(|(a, _)| *a == i)
                        .map(|&(_, j)| (labs_ref[j].clone(), roles[j].clone()))
                        .collect();
                    verify_student(student, roles[i].as_deref(), &others, applied[i], &lines).await
                }
                Err(e) => Err(anyhow!("{}", one_line(e))),
            };
            let (passed, line, value) = row(lab, &result);
            room.ui.outcome(passed, &line);
            (passed, value)
        }
    })
    .await;
    let failed = rows.iter().filter(|(_, (passed, _))| !passed).count();
    let students: Vec<StudentVerify> = rows.into_iter().map(|(_, (_, value))| value).collect();
    if json {
        let doc = ClassVerifyDoc {
            class: room.name.clone(),
            passed: failed == 0,
            students,
        };
        println!("{:#}", serde_json::to_value(doc)?);
    }
    if failed > 0 {
        bail!("{failed} of {} students' labs failed verify", labs.len());
    }
    room.ui.line(&format!(
        "class {}: all {} labs pass, each student's key is denied the other students' roles ({} pairs tried)",
        room.name,
        labs.len(),
        pairs.len()
    ));
    Ok(())
}

/// A lesson's checks as rows of the student's checks, proven again by its requests, reading only
/// (nothing of the lab is written).
async fn lesson_checks(student: &Lab, lesson: Lesson, lines: &dyn Report) -> Result<Vec<lab::Check>> {
    let doc = lessons::verify(student, lesson, lines).await?;
    Ok(doc
        .checks
        .into_iter()
        .map(|c| lab::Check {
            name: format!("lesson {}: {}", lesson.name(), c.name),
            expected: c.expected.word().to_owned(),
            passed: c.ok,
            agrees: c.ok,
            seen: c.seen,
            command: c.command,
            decided_by: c.decided_by,
            why: c.why,
            ..lab::Check::default()
        })
        .collect())
}

/// One student's checks with their role assumed in memory (or their lesson's checks), and their
/// key tried on `others`' roles.
async fn verify_student(
    student: &Lab,
    role: Option<&str>,
    others: &[(String, Option<String>)],
    applied: Option<Lesson>,
    lines: &dyn Report,
) -> Result<Verified> {
    let as_user = student.target.profile("sts").await?;
    let mut checks = Vec::new();
    if let Some(applied) = applied {
        // A student on a lesson is proven by the lesson's own checks: a lesson may change who
        // may assume the role (an ExternalId, an MFA code, a source identity).
        checks = lesson_checks(student, applied, lines).await?;
    } else if let Some(role) = role {
        // The student's session in memory only: nothing is written to the handout.
        let creds = retry_codes(
            student.backoff,
            &["AccessDenied", "InvalidClientTokenId"],
            |w| {
                if let Some(line) = lab::wait_line("the student's key to assume the role", w) {
                    lines.waiting(&line);
                }
            },
            || sts::assume_role(&as_user.sts, role, DEFAULT_SESSION_NAME, None),
        )
        .await?;
        let session = student.target.session(&creds).await?;
        checks = lab::verify_with(student, Some(session), lines).await?;
    }
    let mut isolation = Vec::new();
    for (other, other_role) in others {
        let Some(other_role) = other_role else { continue };
        let tried = sts::assume_role(&as_user.sts, other_role, "class-isolation", None).await;
        let (denied, seen) = match &tried {
            Ok(_) => (false, "allowed".to_owned()),
            Err(e) => (
                error_code(e) == Some("AccessDenied"),
                error_code(e).unwrap_or("error").to_owned(),
            ),
        };
        isolation.push(Isolation {
            other: other.clone(),
            denied,
            seen,
        });
    }
    Ok(Verified { checks, isolation })
}

/// A student's row: passed, its line, its JSON.
fn row(lab: &str, result: &Result<Verified>) -> (bool, String, StudentVerify) {
    let v = match result {
        Ok(v) => v,
        Err(e) => {
            return (
                false,
                format!("{lab}: {}", one_line(e)),
                StudentVerify {
                    lab: lab.to_owned(),
                    passed: false,
                    checks: vec![],
                    isolation: vec![],
                    error: Some(one_line(e)),
                },
            );
        }
    };
    let ok_checks = v.checks.iter().filter(|c| c.passed).count();
    let denied = v.isolation.iter().filter(|i| i.denied).count();
    let passed = !v.checks.is_empty() && ok_checks == v.checks.len() && denied == v.isolation.len();
    let broken: Vec<String> = v
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: expected {}, saw {}", c.name, c.expected, c.seen))
        .chain(
            v.isolation
                .iter()
                .filter(|i| !i.denied)
                .map(|i| format!("may assume {}'s role ({})", i.other, i.seen)),
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
    let value = StudentVerify {
        lab: lab.to_owned(),
        passed,
        checks: v.checks.clone(),
        isolation: v.isolation.clone(),
        error: None,
    };
    (passed, line, value)
}
