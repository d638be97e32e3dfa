//! `class verify`: every student's `verify` checks with their role assumed in memory (nothing
//! written), or their lesson's own checks, reading only, and the isolation proof: each student's
//! key is denied the other students' roles. A row per student as soon as it is known; an expired
//! lab says so at once, without a call.

use anyhow::{Result, anyhow};

use super::{Jobs, Room, each, isolation_pairs};
use crate::aws::error::{error_code, one_line};
use crate::lab::{self, Lab};
use crate::lessons::{self, Lesson};
use crate::model::names::DEFAULT_SESSION_NAME;
use crate::ops::sts;
use crate::output::report::Report;
use crate::output::{ClassVerifyDoc, Isolation, StudentVerify};

/// One student's results.
struct Verified {
    checks: Vec<lab::Check>,
    isolation: Vec<Isolation>,
}

/// A student's lines, under the class's: the waits of their checks, prefixed with their lab.
struct StudentLines<'a> {
    report: &'a dyn Report,
    lab: &'a str,
}

impl Report for StudentLines<'_> {
    fn line(&self, text: &str) {
        self.report.line(&format!("  {}: {}", self.lab, text.trim_start()));
    }
}

/// Each student's lab, unless it expired (then nothing is asked of AWS for it), its role and its
/// lesson.
async fn students(room: &Room, found: &[crate::fleet::sweep::FoundLab]) -> Result<Vec<Student>> {
    let now = room.target.now().await?;
    // Each student's lab, role and lesson asked side by side: the class's pace bounds them.
    let each_student = found.iter().map(|f| async move {
        let lab = lab::check_not_expired(f.expires.as_deref(), now)
            .map_err(|_| {
                anyhow!(
                    "expired at {}; run `{}` to renew the class",
                    f.expires.as_deref().unwrap_or_default(),
                    crate::output::command::xtask(format!("class setup --students {}", found.len()))
                )
            })
            .and_then(|()| room.student_reading(&f.names.lab, f.region.as_deref()));
        let (role, lesson) = match &lab {
            Ok(s) => (s.role_arn().await.ok(), lessons::applied_as_read(s).await?),
            Err(_) => (None, None),
        };
        anyhow::Ok(Student {
            name: f.names.lab.clone(),
            lab,
            role,
            lesson,
        })
    });
    futures_util::future::try_join_all(each_student).await
}

/// A student of the class as verify finds it.
struct Student {
    name: String,
    lab: Result<Lab>,
    role: Option<String>,
    lesson: Option<Lesson>,
}

/// Verifies every student, `jobs` at a time, a row each as it finishes; the class's document.
pub async fn verify(room: &Room, jobs: Jobs, report: &dyn Report) -> Result<ClassVerifyDoc> {
    let found = room.existing_or_hint().await?;
    let students = students(room, &found).await?;
    let pairs = isolation_pairs(students.len());
    // A lesson that moves the emulator's clock moves it for every student: one at a time.
    let clock = students.iter().filter_map(|s| s.lesson).any(Lesson::moves_clock);
    let jobs = if clock { Some(1) } else { jobs };
    let (students, pairs) = (&students, &pairs);
    let order: Vec<usize> = (0..students.len()).collect();
    let rows = each(report, order, jobs, |i| async move {
        let student = &students[i];
        let lines = StudentLines {
            report,
            lab: &student.name,
        };
        let result = match &student.lab {
            Ok(lab) => {
                let others: Vec<(String, Option<String>)> = pairs
                    .iter()
                    .filter(|(a, _)| *a == i)
                    .map(|&(_, j)| (students[j].name.clone(), students[j].role.clone()))
                    .collect();
                verify_student(lab, student.role.as_deref(), &others, student.lesson, &lines).await
            }
            Err(e) => Err(anyhow!("{}", one_line(e))),
        };
        let (passed, line, value) = row(&student.name, &result);
        report.outcome(passed, &line);
        value
    })
    .await;
    let students: Vec<StudentVerify> = rows.into_iter().map(|(_, value)| value).collect();
    let passed = students.iter().all(|s| s.passed);
    if passed {
        report.line(&format!(
            "class {}: all {} labs pass, each student's key is denied the other students' roles ({} pairs tried)",
            room.name,
            students.len(),
            pairs.len()
        ));
    }
    Ok(ClassVerifyDoc {
        class: room.name.clone(),
        passed,
        students,
    })
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
    let as_user = student.profile(&student.names.user_profile).await?;
    let mut checks = Vec::new();
    if let Some(applied) = applied {
        // A student on a lesson is proven by the lesson's own checks: a lesson may change who
        // may assume the role (an ExternalId, an MFA code, a source identity).
        checks = lesson_checks(student, applied, lines).await?;
    } else if let Some(role) = role {
        // The student's session in memory only: nothing is written to the handout.
        let session = lab::assume_in_memory(student, role, DEFAULT_SESSION_NAME, lines).await?;
        checks = lab::verify_with(student, Some(session), lab::Proofs::Skipped, lines).await?;
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
