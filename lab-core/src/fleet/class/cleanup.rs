//! `class cleanup`: every student's lab, found by its tags (handouts or not), with every bucket
//! under its prefix, and every handout; a second run has nothing to do.

use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::{Jobs, Room, each, failures};
use crate::aws::error::one_line;
use crate::lab;
use crate::output::report::{Report, fmt_elapsed};

pub async fn cleanup(room: &Room, jobs: Jobs, report: &dyn Report) -> Result<()> {
    let started = Instant::now();
    let found = room.existing().await?;
    let labs: Vec<(String, Option<String>)> = found.into_iter().map(|f| (f.names.lab, f.region)).collect();
    let first = labs.first().map(|(l, _)| l.clone()).unwrap_or_default();
    let first = &first;
    let results = each(report, labs, jobs, |(lab, region)| async move {
        let steps = room.steps_for(report, &lab, first);
        let result = async {
            // The lab's user is found in the class's reading that found the lab (its users and
            // tags), not with a GetUser a student.
            let student = room.student_reading_since(&lab, region.as_deref(), room.connected)?;
            lab::cleanup(&student, &steps).await
        }
        .await;
        room.show_explained(report, &lab, &steps);
        match &result {
            Ok(()) => report.outcome(true, &format!("{lab}: nothing left")),
            Err(e) => report.outcome(false, &format!("{lab}: {}", one_line(e))),
        }
        result
    })
    .await;
    let results: Vec<(String, Result<()>)> = results.into_iter().map(|((lab, _), r)| (lab, r)).collect();
    let failed = failures(&results);
    if !failed.is_empty() {
        bail!(
            "cleanup of {} labs failed: {}; run class cleanup again",
            failed.len(),
            failed.join("; ")
        );
    }
    // The handouts hold the students' keys, all deleted now: the folder goes too.
    let had_handouts = tokio::fs::try_exists(&room.handouts).await.unwrap_or(false);
    if had_handouts {
        tokio::fs::remove_dir_all(&room.handouts)
            .await
            .with_context(|| format!("cannot remove {}", room.handouts.display()))?;
    }
    report.line(&format!(
        "class {}: {} labs removed{} in {}",
        room.name,
        results.len(),
        if had_handouts { ", handouts removed" } else { "" },
        fmt_elapsed(started.elapsed())
    ));
    Ok(())
}
