//! The lab's trail as a document (`trail --json`, `class trail --json`) and as lines: each event
//! oldest first (time, who, what, allowed or the error), and under each refusal what decided it,
//! decided again from the documents as they are now, and what would change it.

use serde::Serialize;

use crate::model::advice::Advice;
use crate::model::decide::DecidedBy;

/// `trail --json`.
#[derive(Debug, Clone, Serialize)]
pub struct TrailDoc {
    pub lab: String,
    /// `emulator` (its own CloudTrail, at once) or `aws` (CloudTrail, minutes late).
    pub source: &'static str,
    /// The time range read (ISO 8601, on the endpoint's clock).
    pub from: String,
    pub to: String,
    /// What a reader should know of this trail (late delivery, data events, pages left unread).
    pub notes: Vec<String>,
    pub events: Vec<TrailEvent>,
}

/// One event of the trail.
#[derive(Debug, Clone, Serialize)]
pub struct TrailEvent {
    pub time: String,
    pub event_id: String,
    pub request_id: Option<String>,
    /// `user sts-machine-user`, `session s1 of role R, source identity alice, tags team=a`.
    pub who: String,
    pub principal: Option<String>,
    /// Made by the lab's user or a session of its role (else: another's request on the lab's
    /// resources, the admin's or another student's).
    pub by_the_lab: bool,
    /// Made by sts-lab itself (its user agent): setup's, verify's, a lesson's, a challenge's or
    /// the page's own request, never the learner's: not counted as a refusal of theirs.
    pub by_sts_lab: bool,
    /// `s3:ListBuckets`: the API operation.
    pub operation: String,
    pub resource: String,
    /// IAM and STS let the request through (the service may still have answered an error:
    /// NoSuchEntity, a bucket that exists); false: refused by a policy or its credentials.
    pub allowed: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// For a refusal: the decision made again offline, and what would change it.
    pub explained: Option<Explained>,
}

/// A refusal decided again from the documents as they are now.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    /// The IAM action the operation needs.
    pub action: String,
    pub decided_by: Option<DecidedBy>,
    pub why: String,
    /// The advice, ranked (the path that exists, refused by design, a change).
    pub advice: Vec<Advice>,
}

/// `class trail --json`: each student's trail with its count of refusals.
#[derive(Debug, Clone, Serialize)]
pub struct ClassTrailDoc {
    pub class: String,
    pub students: Vec<StudentTrail>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StudentTrail {
    pub lab: String,
    /// The refusals of the student's own requests (their user's, their role's sessions'; not
    /// the lab's own, made with their keys).
    pub refused: usize,
    pub trail: Option<TrailDoc>,
    /// Why the student's trail could not be read.
    pub error: Option<String>,
}

impl TrailEvent {
    /// A refusal of the learner's own request: made with their user's or their role's keys, and
    /// not by sts-lab itself (setup's check that the key is refused S3 is the lab's).
    pub fn learners_refusal(&self) -> bool {
        !self.allowed && self.by_the_lab && !self.by_sts_lab
    }
}

/// One event as lines: `(Some(allowed), headline)` then `(None, detail)` lines.
pub fn event_lines(event: &TrailEvent) -> Vec<(Option<bool>, String)> {
    let outcome = match (&event.error_code, event.allowed) {
        (None, true) => "allowed".to_owned(),
        (Some(code), true) => format!("allowed, then failed: {code}"),
        (Some(code), false) => code.clone(),
        (None, false) => "refused".to_owned(),
    };
    let on = if event.resource == "*" {
        String::new()
    } else {
        format!(" on {}", event.resource)
    };
    let mut out = vec![(
        Some(event.allowed),
        format!(
            "{} {} {}{on}: {outcome}{}",
            event.time,
            event.who,
            event.operation,
            if event.by_sts_lab {
                " (sts-lab's own request)"
            } else {
                ""
            }
        ),
    )];
    if let Some(explained) = &event.explained {
        out.push((
            None,
            format!(
                "    decided again from the documents as they are now: {}",
                explained.why
            ),
        ));
        out.extend(
            super::why::advice_lines(&explained.advice, "    ")
                .into_iter()
                .map(|l| (None, l)),
        );
    }
    out
}

/// The whole trail as lines: its notes, then each event.
pub fn trail_lines(doc: &TrailDoc) -> Vec<(Option<bool>, String)> {
    let mut out: Vec<(Option<bool>, String)> = doc.notes.iter().map(|n| (None, format!("note: {n}"))).collect();
    if doc.events.is_empty() {
        out.push((
            None,
            format!("no event of lab {} from {} to {}", doc.lab, doc.from, doc.to),
        ));
    }
    for event in &doc.events {
        out.extend(event_lines(event));
    }
    out
}

/// A class's trails as lines: each student's count of refusals, then their trail.
pub fn class_trail_lines(doc: &ClassTrailDoc) -> Vec<(Option<bool>, String)> {
    let mut out = Vec::new();
    for student in &doc.students {
        match (&student.trail, &student.error) {
            (Some(trail), _) => {
                let refused = student.refused;
                out.push((
                    Some(refused == 0),
                    format!(
                        "{}: {refused} of their requests refused ({} events on the lab)",
                        student.lab,
                        trail.events.len()
                    ),
                ));
                let events = trail.events.iter().flat_map(event_lines);
                out.extend(events.map(|(mark, line)| (mark, format!("  {line}"))));
            }
            (None, error) => out.push((
                Some(false),
                format!(
                    "{}: trail not read: {}",
                    student.lab,
                    error.as_deref().unwrap_or("unknown")
                ),
            )),
        }
    }
    if let Some(notes) = doc.students.iter().find_map(|s| s.trail.as_ref()) {
        out.extend(notes.notes.iter().map(|n| (None, format!("note: {n}"))));
    }
    out
}
