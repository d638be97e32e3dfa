//! The instructor's live page of a class (`class watch`), as JSON: each student's row of `class
//! status --json` with their refusals of the last 15 minutes (from the class's trail), the last
//! one explained, and a condition at a glance (on track, stuck, done, broken) with its reason;
//! a summary line for the class. Pure: the condition is decided here.

use serde::Serialize;

use super::StudentStatus;
use super::trail::StudentTrail;
use crate::model::expiry::parse_utc;

/// How far back a refusal counts, and how long a key unused makes a student idle.
pub const RECENT_SECONDS: i64 = 15 * 60;
/// A session lasts an hour at most (the lab role's MaxSessionDuration).
pub const SESSION_SECONDS: i64 = 3600;
/// Refusals in the last 15 minutes that make a student stuck.
pub const STUCK_REFUSALS: usize = 3;

/// A student's condition at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    OnTrack,
    /// Refused again and again, or idle.
    Stuck,
    /// Passed what was set: the challenge, else the lesson applied.
    Done,
    /// The lab is not whole: no user, a stack not complete, the lab expired.
    Broken,
}

/// The last refusal of a student's own requests, explained.
#[derive(Debug, Clone, Serialize)]
pub struct LastRefusal {
    pub time: String,
    pub operation: String,
    pub resource: String,
    pub error_code: Option<String>,
    /// What decided it, from the documents as they are now.
    pub why: Option<String>,
    /// What would change it, one line.
    pub change: Option<String>,
}

/// The student's last session of their role, as the trail shows its AssumeRole.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSeen {
    pub assumed_at: String,
    /// When it ends at the latest (an hour after: the lab role's MaxSessionDuration).
    pub ends_by: String,
    pub seconds_left: i64,
}

/// One student's row of the page.
#[derive(Debug, Clone, Serialize)]
pub struct WatchRow {
    #[serde(flatten)]
    pub status: StudentStatus,
    /// Refusals of the student's own requests in the last 15 minutes.
    pub refusals_recent: usize,
    pub last_refusal: Option<LastRefusal>,
    /// Their last session, if they assumed their role in the trail's window (15 minutes: a
    /// longer one costs CloudTrail pages, at two a second for the whole account).
    pub session: Option<SessionSeen>,
    /// The trail could not be read for this student (the row says so, the rest stands).
    pub trail_error: Option<String>,
    pub condition: Condition,
    /// Why that condition, one line.
    pub reason: String,
}

/// How many students are in each condition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub on_track: usize,
    pub stuck: usize,
    pub done: usize,
    pub broken: usize,
}

/// `class watch`'s `/class.json`.
#[derive(Debug, Clone, Serialize)]
pub struct WatchDoc {
    pub class: String,
    /// When these facts were read (UTC): the page says how fresh they are.
    pub seen_at: String,
    /// How long the reading took, and the pause before the next (seconds): the page's cost in
    /// requests a second is the reading's requests over their sum.
    pub read_seconds: f64,
    pub next_in_seconds: f64,
    pub summary: Summary,
    pub students: Vec<WatchRow>,
}

/// A student's condition and its reason, from their row and their refusals (`now`: Unix seconds).
pub fn condition(status: &StudentStatus, refusals: usize, now: i64) -> (Condition, String) {
    if status.user.is_none() {
        return (Condition::Broken, "no user: the lab is gone or half made".to_owned());
    }
    match &status.stack {
        None => return (Condition::Broken, "no stack: the role is gone".to_owned()),
        Some(s) if !matches!(s.status.as_str(), "CREATE_COMPLETE" | "UPDATE_COMPLETE") => {
            return (Condition::Broken, format!("stack {}", s.status));
        }
        Some(_) => {}
    }
    if status.expires.as_ref().is_some_and(|e| e.expired) {
        return (Condition::Broken, "the lab expired".to_owned());
    }
    let passed = |kind: &str, name: &str| status.passed.iter().any(|p| p.kind == kind && p.name == name);
    if let Some(challenge) = &status.challenge {
        if passed("challenge", challenge) {
            return (Condition::Done, format!("passed challenge {challenge}"));
        }
    } else if let Some(lesson) = &status.lesson.applied
        && passed("lesson", lesson)
    {
        return (Condition::Done, format!("passed lesson {lesson}"));
    }
    if refusals >= STUCK_REFUSALS {
        return (Condition::Stuck, format!("{refusals} refusals in 15 min"));
    }
    let last_used = status.key_last_used.as_deref().and_then(parse_utc);
    let idle = match (last_used, status.key_age_seconds) {
        (Some(at), _) => now - at,
        (None, Some(age)) => age,
        (None, None) => 0,
    };
    if idle >= RECENT_SECONDS {
        return (Condition::Stuck, format!("idle for {} min", idle / 60));
    }
    (Condition::OnTrack, "working".to_owned())
}

/// A student's row: their status, their trail's refusals of the last 15 minutes and the last one.
pub fn row(status: StudentStatus, trail: Option<&StudentTrail>, now: i64) -> WatchRow {
    let recent = |time: &str| parse_utc(time).is_some_and(|t| now - t <= RECENT_SECONDS);
    let own_refusals: Vec<_> = trail
        .and_then(|t| t.trail.as_ref())
        .map(|t| {
            t.events
                .iter()
                .filter(|e| e.learners_refusal() && recent(&e.time))
                .collect()
        })
        .unwrap_or_default();
    let last_refusal = own_refusals.last().map(|e| LastRefusal {
        time: e.time.clone(),
        operation: e.operation.clone(),
        resource: e.resource.clone(),
        error_code: e.error_code.clone(),
        why: e.explained.as_ref().map(|x| x.why.clone()),
        change: e
            .explained
            .as_ref()
            .and_then(|x| x.advice.first())
            .map(|a| a.line().to_owned()),
    });
    let session = last_session(&status, trail, now);
    let (condition, reason) = condition(&status, own_refusals.len(), now);
    WatchRow {
        status,
        refusals_recent: own_refusals.len(),
        last_refusal,
        session,
        trail_error: trail.and_then(|t| t.error.clone()),
        condition,
        reason,
    }
}

/// The student's last AssumeRole made with their own key (allowed), and when its session ends by.
fn last_session(status: &StudentStatus, trail: Option<&StudentTrail>, now: i64) -> Option<SessionSeen> {
    let user = format!(":user/{}", status.user.as_ref()?.name);
    let event = trail?.trail.as_ref()?.events.iter().rev().find(|e| {
        e.allowed
            && e.error_code.is_none()
            && e.operation == "sts:AssumeRole"
            && e.principal.as_deref().is_some_and(|p| p.ends_with(&user))
    })?;
    let at = parse_utc(&event.time)?;
    let ends = at + SESSION_SECONDS;
    Some(SessionSeen {
        assumed_at: event.time.clone(),
        ends_by: crate::model::expiry::format_utc(ends),
        seconds_left: (ends - now).max(0),
    })
}

/// The class's summary line.
pub fn summary(rows: &[WatchRow]) -> Summary {
    let count = |c: Condition| rows.iter().filter(|r| r.condition == c).count();
    Summary {
        total: rows.len(),
        on_track: count(Condition::OnTrack),
        stuck: count(Condition::Stuck),
        done: count(Condition::Done),
        broken: count(Condition::Broken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::challenge::PassedDoc;
    use crate::output::{LessonParts, Stack, User};

    const NOW: i64 = 1_796_000_000;

    fn student() -> StudentStatus {
        StudentStatus {
            lab: "room-01".into(),
            user: Some(User {
                name: "sts-machine-user-room-01".into(),
                lab_tag: Some("room-01".into()),
            }),
            key_age_seconds: Some(120),
            key_last_used: Some(crate::model::expiry::format_utc(NOW - 30)),
            role_last_used: None,
            stack: Some(Stack {
                name: "s".into(),
                status: "CREATE_COMPLETE".into(),
            }),
            expires: None,
            lesson: LessonParts::default(),
            challenge: Some("narrow-role".into()),
            passed: Vec::new(),
            handout: true,
        }
    }

    #[test]
    fn each_condition_says_why() {
        assert_eq!(condition(&student(), 0, NOW).0, Condition::OnTrack);
        assert_eq!(
            condition(&student(), 3, NOW),
            (Condition::Stuck, "3 refusals in 15 min".into())
        );
        let mut idle = student();
        idle.key_last_used = Some(crate::model::expiry::format_utc(NOW - 20 * 60));
        assert_eq!(condition(&idle, 0, NOW), (Condition::Stuck, "idle for 20 min".into()));
        let mut done = student();
        done.passed.push(PassedDoc {
            kind: "challenge".into(),
            name: "narrow-role".into(),
            at: "2026-12-03T09:00:00Z".into(),
        });
        assert_eq!(condition(&done, 5, NOW).0, Condition::Done);
        let mut broken = student();
        broken.stack.as_mut().unwrap().status = "DELETE_IN_PROGRESS".into();
        assert_eq!(
            condition(&broken, 0, NOW),
            (Condition::Broken, "stack DELETE_IN_PROGRESS".into())
        );
        let rows = vec![row(student(), None, NOW), row(broken, None, NOW)];
        let s = summary(&rows);
        assert_eq!((s.total, s.on_track, s.broken), (2, 1, 1));
    }
}
