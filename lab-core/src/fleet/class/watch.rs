//! `class watch`'s facts: one reading of the class (`class status`'s rows and `class trail`'s
//! last 15 minutes, from the same code: the refusals, the last session) made into the page's rows, each with its
//! condition; the reading's own time, so that the page says how fresh it is.

use anyhow::Result;

use super::Room;
use crate::lab::TrailOptions;
use crate::model::expiry::format_utc;
use crate::output::watch::{self, RECENT_SECONDS, WatchDoc};

/// The class now: its status and its trail read side by side, as rows with their condition.
pub async fn snapshot(room: &Room) -> Result<WatchDoc> {
    let started = std::time::Instant::now();
    // The last 15 minutes, every event: the refusals and the last AssumeRole come from the same
    // reading (CloudTrail's pages are the same either way).
    let options = TrailOptions {
        since: RECENT_SECONDS,
        as_profile: None,
        denied: false,
        // The lab's own requests too: a session the student took with `cargo xtask assume` is
        // theirs; the lab's refusals are not counted (`watch::row`).
        all: true,
    };
    let ((status, now), trail) = tokio::try_join!(super::status(room), super::trail(room, None, &options))?;
    let rows = status
        .students
        .into_iter()
        .map(|s| {
            let t = trail.students.iter().find(|t| t.lab == s.lab);
            watch::row(s, t, now)
        })
        .collect::<Vec<_>>();
    Ok(WatchDoc {
        class: status.class,
        seen_at: format_utc(now),
        read_seconds: started.elapsed().as_secs_f64(),
        next_in_seconds: 0.0,
        summary: watch::summary(&rows),
        students: rows,
    })
}
