//! What sts-lab prints: the step lines and tables (`report`), the aws CLI commands beside each
//! step (`explain`), and here the serde views of the JSON documents it prints (`status`, `class status`, `verify`,
//! `class verify`, `sweep`): one typed view per document, and the same view, so the same field
//! names, for the same fact wherever it appears (an expiry, a stack, a user, a check).

pub mod challenge;
pub mod checks;
pub mod diagram;
mod parts;
/// Quoting for what a person pastes, and suggested commands as values: pure, from `model`.
pub use crate::model::{command, shell};
pub use parts::{LessonParts, RolePolicy};
pub mod explain;
pub mod report;
pub mod trail;
pub mod watch;
pub mod why;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::decide::{Ask, DecidedBy, PolicyTrace, Value};

/// One row of verify's table: what was checked, expected and seen, the aws CLI command that makes
/// the same check, and what the lab's own documents decide for its request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Check {
    pub name: String,
    pub expected: String,
    pub seen: String,
    pub passed: bool,
    /// The aws CLI command that makes the same check.
    pub command: String,
    /// The policy and statement that decide the check's request, from the lab's documents; null
    /// for a check that is not an AWS request (the lab's expiry).
    pub decided_by: Option<DecidedBy>,
    /// That decision in one line: `Allow by UseLabBucketsOnly (sts-lab-s3)`,
    /// `implicit deny: no statement allows s3:ListAllMyBuckets`.
    pub why: Option<String>,
    /// Whether the endpoint answered what the documents decide (true for a check that is not a
    /// request).
    pub agrees: bool,
    /// When it does not: what that means, and the endpoint's own message.
    pub disagreement: Option<String>,
    /// The request, for the prediction.
    #[serde(skip)]
    pub ask: Option<Ask>,
    /// What the endpoint answered.
    #[serde(skip)]
    pub answered: Answered,
}

/// What an endpoint answered a check's request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Answered {
    /// Not a request, or not made.
    #[default]
    Nothing,
    Allowed,
    /// AccessDenied, with the endpoint's message.
    Denied(String),
    /// Refused for another reason (ExpiredToken, a network error …).
    Failed(String),
}

/// When something expires: `{"at", "seconds_left", "expired"}`, in every document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiry {
    /// `2026-11-22T22:00:00Z`, as recorded.
    pub at: String,
    /// None when `at` is not a time.
    pub seconds_left: Option<i64>,
    pub expired: bool,
}

impl Expiry {
    /// The expiry recorded as `at`, seen at `now` (seconds since the epoch).
    pub fn new(at: &str, now: i64) -> Self {
        let secs = crate::model::expiry::parse_utc(at);
        Self {
            at: at.to_owned(),
            seconds_left: secs.map(|s| (s - now).max(0)),
            expired: crate::model::expiry::has_passed(at, now) == Some(true),
        }
    }
}

/// A lab's stack: `{"name", "status"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stack {
    pub name: String,
    pub status: String,
}

/// A lab's IAM user: `{"name", "lab_tag"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub lab_tag: Option<String>,
}

/// An access key, its id masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessKey {
    pub id: String,
    pub status: String,
    pub age_seconds: Option<i64>,
}

/// The assumed profile's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub profile: String,
    #[serde(flatten)]
    pub expires: Expiry,
}

/// `status --json`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusDoc {
    pub lab: String,
    pub account: String,
    pub user: Option<User>,
    pub access_keys: Vec<AccessKey>,
    pub user_policies: Vec<String>,
    pub stack: Option<Stack>,
    pub roles: Vec<String>,
    pub buckets: Vec<String>,
    /// Each bucket's region, by name.
    pub bucket_regions: BTreeMap<String, String>,
    pub profiles: Vec<String>,
    /// What the lessons added.
    pub lesson: LessonParts,
    /// The local profiles name a lab the endpoint no longer has (`cleanup` removes them).
    pub profiles_without_lab: bool,
    pub credentials_file: String,
    pub expires: Option<Expiry>,
    pub assumed_session: Option<Session>,
    pub empty: bool,
}

/// One student's row of `class status --json`.
#[derive(Debug, Clone, Serialize)]
pub struct StudentStatus {
    pub lab: String,
    pub user: Option<User>,
    pub key_age_seconds: Option<i64>,
    /// When the student's key was last used, and their role (UTC; null: never, or not yet
    /// recorded: AWS updates both with a lag).
    pub key_last_used: Option<String>,
    pub role_last_used: Option<String>,
    pub stack: Option<Stack>,
    pub expires: Option<Expiry>,
    /// What the lessons added to the student's lab.
    pub lesson: LessonParts,
    /// The challenge set on the student's lab, if any.
    pub challenge: Option<String>,
    /// Each challenge and lesson the student passed, and when, oldest first.
    pub passed: Vec<challenge::PassedDoc>,
    /// Whether the student's handout (their key) is still on disk.
    pub handout: bool,
}

/// `class status --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ClassStatusDoc {
    pub class: String,
    pub students: Vec<StudentStatus>,
}

/// `verify --json`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyDoc {
    pub lab: String,
    pub passed: bool,
    pub checks: Vec<Check>,
}

/// One try of a student's key on another student's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Isolation {
    /// The other student's lab.
    pub other: String,
    pub denied: bool,
    /// The error code seen, or `allowed`.
    pub seen: String,
}

/// One student's row of `class verify --json`.
#[derive(Debug, Clone, Serialize)]
pub struct StudentVerify {
    pub lab: String,
    pub passed: bool,
    pub checks: Vec<Check>,
    pub isolation: Vec<Isolation>,
    /// Why the student's lab could not be verified at all (expired, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `class verify --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ClassVerifyDoc {
    pub class: String,
    pub passed: bool,
    pub students: Vec<StudentVerify>,
}

/// What `sweep` did with one lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SweepAction {
    #[serde(rename = "kept (not expired)")]
    KeptNotExpired,
    #[serde(rename = "would remove")]
    WouldRemove,
    #[serde(rename = "removed")]
    Removed,
    #[serde(rename = "failed")]
    Failed,
}

impl SweepAction {
    /// The words a person reads, the same as in JSON.
    pub fn text(self) -> &'static str {
        match self {
            Self::KeptNotExpired => "kept (not expired)",
            Self::WouldRemove => "would remove",
            Self::Removed => "removed",
            Self::Failed => "failed",
        }
    }
}

/// One lab's row of `sweep --json`.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    pub lab: String,
    pub region: Option<String>,
    pub expires: Option<Expiry>,
    /// What the lab held when the sweep found it, a line each.
    pub holds: Vec<String>,
    pub action: SweepAction,
    pub error: Option<String>,
}

/// `sweep --json`.
#[derive(Debug, Clone, Serialize)]
pub struct SweepDoc {
    pub dry_run: bool,
    pub expired_only: bool,
    pub labs: Vec<SweepRow>,
}

/// `why --json`: one request, every policy in play with each statement and condition as
/// evaluated, and the decision.
#[derive(Debug, Clone, Serialize)]
pub struct WhyDoc {
    pub principal: String,
    /// The API operation asked about (`s3:ListBuckets`) when its action is named otherwise.
    pub operation: Option<String>,
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, Value>,
    pub decided_by: DecidedBy,
    pub why: String,
    pub policies: Vec<PolicyTrace>,
    /// For a refusal: the advice, ranked (the path that exists, refused by design, a change).
    pub advice: Vec<crate::model::advice::Advice>,
}

/// The exact outcome a lesson's check expects of its request: allowed, or refused with one error
/// code (`AccessDenied`, `ExpiredToken`, `ValidationError` …); any other outcome fails it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Allowed,
    Refused(&'static str),
    /// A set of requests, proven over every request of the catalog (`model::prove`).
    Proven,
}

impl Expect {
    /// `allowed`, or the error code, as in JSON.
    pub fn word(self) -> &'static str {
        match self {
            Expect::Allowed => "allowed",
            Expect::Refused(code) => code,
            Expect::Proven => "proven",
        }
    }

    pub fn is_refusal(self) -> bool {
        matches!(self, Expect::Refused(_))
    }
}

impl Serialize for Expect {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.word())
    }
}

/// One check of a lesson: its request, what was expected and seen, and what decided it.
#[derive(Debug, Clone, Serialize)]
pub struct LessonCheck {
    pub name: String,
    /// `allowed`, or the error code the request must be refused with.
    pub expected: Expect,
    /// `allowed`, or the error code the endpoint answered and its message.
    pub seen: String,
    pub ok: bool,
    /// What the documents decide (null when no policy decides: a limit of STS itself, a clock).
    pub decided_by: Option<DecidedBy>,
    pub why: Option<String>,
    /// The aws CLI command that makes the same request.
    pub command: String,
    /// The CloudTrail event of the request that proved it (`lesson NAME` on the emulator; on AWS
    /// CloudTrail delivers it minutes later, and `cargo xtask trail` shows it then).
    pub event_id: Option<String>,
    /// Whose request it was and what it asked, to find its event (not in JSON).
    #[serde(skip)]
    pub asked: Option<crate::model::decide::Ask>,
}

/// One of a list of lessons or challenges (`lesson --json`, `challenge --json` without a name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedDoc {
    pub name: String,
    pub summary: String,
}

/// `lesson --json` and `challenge --json` without a name: `{"lessons": [...]}` or
/// `{"challenges": [...]}`.
pub fn listed_json(kind: &str, items: impl Iterator<Item = (String, String)>) -> serde_json::Value {
    let list: Vec<ListedDoc> = items.map(|(name, summary)| ListedDoc { name, summary }).collect();
    serde_json::json!({ kind: list })
}

/// `lesson NAME --json`.
#[derive(Debug, Clone, Serialize)]
pub struct LessonDoc {
    pub lesson: String,
    /// `--undo`: the lesson was taken back (no checks).
    pub undone: bool,
    pub checks: Vec<LessonCheck>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_reads_the_same_everywhere() {
        let e = Expiry::new("2026-11-22T22:00:00Z", 1_795_000_000);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["at"], "2026-11-22T22:00:00Z");
        assert!(json["seconds_left"].is_i64() && json["expired"].is_boolean());
        let past = Expiry::new("2020-01-01T00:00:00Z", 1_795_000_000);
        assert!(past.expired && past.seconds_left == Some(0));
        let bad = Expiry::new("soon", 0);
        assert_eq!((bad.seconds_left, bad.expired), (None, false));
        assert_eq!(
            serde_json::to_value(SweepAction::KeptNotExpired).unwrap(),
            SweepAction::KeptNotExpired.text()
        );
    }
}
