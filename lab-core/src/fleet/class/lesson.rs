//! `class lesson NAME [--undo]`: a lesson applied to every student's lab, JOBS at a time, its
//! checks run for each, and its page (`lesson-NAME.md`: the idea, the checks with what decided
//! them and the aws CLI commands, the lab as a diagram) added to each handout.

use anyhow::{Context, Result, bail};

use super::{Room, each};
use crate::aws::error::one_line;
use crate::lessons::{self, Lesson};
use crate::output::LessonDoc;
use crate::output::report::{Captured, Report};

/// The page of `lesson` in a handout.
pub fn page_name(lesson: Lesson) -> String {
    format!("lesson-{}.md", lesson.name())
}

fn page(lesson: Lesson, doc: &LessonDoc, diagram: &str) -> String {
    let mut out = vec![
        format!("# Lesson {}", lesson.name()),
        String::new(),
        format!("{}.", lesson.summary()),
        String::new(),
        "| check | expected | seen | why |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    for c in &doc.checks {
        let seen = c.seen.split(':').next().unwrap_or_default();
        let expected = c.expected.word();
        out.push(format!(
            "| {} | {expected} | {seen} | {} |",
            c.name,
            c.why.as_deref().unwrap_or("")
        ));
    }
    out.push(String::new());
    out.push("Try it by hand:".to_owned());
    out.push(String::new());
    out.push("```sh".to_owned());
    out.extend(doc.checks.iter().map(|c| c.command.clone()));
    out.push("```".to_owned());
    out.push(String::new());
    out.push("Your lab:".to_owned());
    out.push(String::new());
    out.push(diagram.to_owned());
    out.join("\n") + "\n"
}

async fn one(room: &Room, lab: &str, region: Option<&str>, lesson: Lesson, undo: bool) -> Result<String> {
    let student = room.student(lab, region)?;
    // One lesson at a time: lessons share the second role, and several change the same trust.
    if let Some(other) = lessons::applied(&student).await?
        && other != lesson
        && !undo
    {
        bail!(
            "lesson {} is applied; run `cargo xtask class lesson {} --undo` first",
            other.name(),
            other.name()
        );
    }
    let quiet = Captured::default();
    let path = room.handout(lab).join(page_name(lesson));
    if undo {
        lessons::undo(&student, lesson, &quiet).await?;
        let _ = tokio::fs::remove_file(&path).await;
        return Ok(format!("{lab}: lesson {} taken back", lesson.name()));
    }
    let doc = lessons::run(&student, lesson, &quiet).await?;
    let diagram = crate::lab::diagram(&student).await?;
    tokio::fs::write(&path, page(lesson, &doc, &diagram))
        .await
        .with_context(|| format!("cannot write {}", path.display()))?;
    let failed = doc.checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        bail!("{failed} of {} checks not as expected", doc.checks.len());
    }
    Ok(format!(
        "{lab}: lesson {}, {} checks as expected; page {}",
        lesson.name(),
        doc.checks.len(),
        path.display()
    ))
}

/// Applies `lesson` (or takes it back) for every student, with a line each as it finishes.
pub async fn lesson(room: &Room, lesson: Lesson, undo: bool, jobs: usize, report: &dyn Report) -> Result<()> {
    let found = room.existing_or_hint().await?;
    let labs: Vec<(String, Option<String>)> = found.into_iter().map(|f| (f.names.lab, f.region)).collect();
    // A lesson that moves the emulator's clock moves it for every lab: one at a time.
    let jobs = if lesson.moves_clock() { 1 } else { jobs };
    let results = each(report, labs, jobs, |(lab, region)| async move {
        let result = one(room, &lab, region.as_deref(), lesson, undo).await;
        match &result {
            Ok(line) => report.outcome(true, line),
            Err(e) => report.outcome(false, &format!("{lab}: {}", one_line(e))),
        }
        result
    })
    .await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if failed > 0 {
        bail!(
            "lesson {} failed for {failed} of {} students",
            lesson.name(),
            results.len()
        );
    }
    Ok(())
}
