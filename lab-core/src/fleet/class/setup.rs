//! `class setup`: the labs `NAME-01` … `NAME-N`, each exactly the lab `setup --lab NAME-NN` makes,
//! and a handout per student; run again, each lab goes to the region it was made in.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Result, bail};

use super::{Jobs, Room, each, failures, handout};
use crate::aws::error::one_line;
use crate::lab;
use crate::model::expiry::Ttl;
use crate::output::report::{Report, fmt_elapsed};

/// Sets up `labs`, `jobs` at a time, with a line per student as each finishes; fails, after all,
/// when any failed.
pub async fn setup(room: &Room, labs: Vec<String>, ttl: Ttl, jobs: Jobs, report: &dyn Report) -> Result<()> {
    let started = Instant::now();
    let recorded: HashMap<String, Option<String>> = room
        .existing()
        .await?
        .into_iter()
        .map(|f| (f.names.lab, f.region))
        .collect();
    let first = labs.first().cloned().unwrap_or_default();
    let (recorded, first) = (&recorded, &first);
    let results = each(report, labs, jobs, |lab| async move {
        let t0 = Instant::now();
        let steps = room.steps_for(report, &lab, first);
        // Run again, a lab goes where it was made, whatever region this shell is in.
        let region = recorded.get(&lab).cloned().flatten();
        let result = async {
            let mut student = room.student_for(&lab, region.as_deref(), ttl)?;
            // Its preflight finds the user in the class's reading taken when the class started
            // (the one that found the labs already there), not with a GetUser a student.
            student.documents = Some(room.reading_since(room.connected));
            let outcome = lab::setup(&student, &steps).await?;
            student.write_assumed_profile_config().await?;
            // The handout's diagram reads the lab as it is now: from a reading of the account's
            // documents taken after this setup, shared with the labs that finish about now.
            student.documents = Some(room.reading_since(tokio::time::Instant::now()));
            // Behind the other students' setups: a handout is read after the lab is made.
            crate::aws::pace::in_background(handout::write(room, &lab, &student, &outcome)).await?;
            anyhow::Ok((student.names.user.clone(), outcome))
        }
        .await;
        room.show_explained(report, &lab, &steps);
        let took = fmt_elapsed(t0.elapsed());
        match &result {
            Ok((user, o)) => report.outcome(
                true,
                &format!("{lab}: {user} may assume {}, until {} ({took})", o.role_arn, o.expires),
            ),
            Err(e) => report.outcome(false, &format!("{lab}: {} ({took})", one_line(e))),
        }
        result.map(drop)
    })
    .await;
    let failed = failures(&results);
    report.line(&format!(
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
