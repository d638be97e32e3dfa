//! `class trail [--student N]`: each student's trail from one reading of the account's events
//! (LookupEvents answers two requests a second for the whole account, so the class shares it),
//! with a count of refusals per student; a student whose trail cannot be read says why, and the
//! others are shown.

use std::collections::HashSet;

use anyhow::{Result, bail};

use super::Room;
use crate::lab::{self, Trail, TrailOptions};
use crate::output::trail::{ClassTrailDoc, StudentTrail};

/// The class's trails over the last `options.since` seconds; with `student`, only that one's.
pub async fn trail(room: &Room, student: Option<usize>, options: &TrailOptions) -> Result<ClassTrailDoc> {
    let mut found_labs = room.existing_or_hint().await?;
    if let Some(n) = student {
        let numbered = |lab: &str| lab.rsplit_once('-').and_then(|(_, d)| d.parse::<usize>().ok()) == Some(n);
        found_labs.retain(|l| numbered(&l.names.lab));
        if found_labs.is_empty() {
            bail!(
                "class {} has no student {n}: see `{}` for its labs",
                room.name,
                crate::output::command::xtask("class status")
            );
        }
    }
    let to = room.target.now().await?;
    let range = (to - options.since, to);
    let found = lab::read_events(&room.admin, range.0, range.1).await?;
    let rows = found_labs.iter().map(|found_lab| {
        let found = &found;
        async move {
            let name = found_lab.names.lab.clone();
            let read = async {
                let student = room.student_reading(&name, found_lab.region.as_deref())?;
                let trail = Trail::new(&student, options.clone())
                    .await?
                    .with_goals(crate::challenges::goals);
                trail.of(found, range, &HashSet::new()).await
            };
            match read.await {
                Ok(doc) => StudentTrail {
                    lab: name,
                    refused: doc.events.iter().filter(|e| e.learners_refusal()).count(),
                    trail: Some(doc),
                    error: None,
                },
                Err(e) => StudentTrail {
                    lab: name,
                    refused: 0,
                    trail: None,
                    error: Some(crate::aws::error::one_line(&e)),
                },
            }
        }
    });
    let students = futures_util::future::join_all(rows).await;
    Ok(ClassTrailDoc {
        class: room.name.clone(),
        students,
    })
}
