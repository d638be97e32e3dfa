//! Challenges: the lab sets a goal and a starting state (over-broad or broken on purpose) on a
//! role of its own, the learner changes it with the aws CLI as the lab's user, and the lab grades
//! the change over the whole space of requests the goal speaks of, decided offline from the
//! documents as they are now, then confirms a sample on the endpoint. A challenge is added by
//! writing its [`Challenge`] in `policies.rs` or `trusts.rs` and naming it in [`ALL`].
//!
//! - `mod.rs`: what a challenge is, the scene it is set in, the cases of its space.
//! - `policies.rs`, `trusts.rs`: the six challenges (pure: documents and spaces).
//! - `proof.rs`: a goal as sets (who, what, and what must be allowed), and the question its
//!   proof answers (`model::prove`).
//! - `grade.rs`: each case's decision against its target: passed, too open or too closed (pure).
//! - `state.rs`: the challenge role, its boundary and the user's access, written and read.
//! - `run.rs`: set, check (offline, then a sample on the endpoint), reset, give up.
//! - `confirm.rs`: a case asked of the endpoint, as the learner's aws CLI would ask it.

mod confirm;
mod goal;
mod grade;
pub mod offline;
mod policies;
pub mod proof;
mod reading;
mod run;
mod session_policy;
mod state;
mod trusts;

use std::str::FromStr;

use anyhow::{Result, bail};
use serde_json::Value as Json;

use crate::model::decide::{Ask, Caller};

pub use goal::goals;
pub use grade::{Graded, Target, Verdict};
pub use run::{challenge_of, check, giveup, reset, set, show};
pub use state::boundary_arn;

/// One challenge: its name, one line of what it teaches, the goal in plain words, a hint, the
/// state it starts from, one least-privilege answer, and the space of requests it is graded on.
pub struct Challenge {
    pub name: &'static str,
    pub summary: &'static str,
    goal: fn(&Scene) -> String,
    pub hint: &'static str,
    start: fn(&Scene) -> State,
    answer: fn(&Scene) -> State,
    space: fn(&Scene, Option<&Json>) -> Vec<Case>,
    /// The goal as sets: what must be allowed, everything else in its universe refused.
    spec: fn(&Scene) -> proof::Spec,
    /// The learner writes a session policy (a file passed to `--check --policy`), not the role.
    pub session_policy: bool,
}

/// Every challenge, in the order a learner takes them: the one list of them.
static ALL: [&Challenge; 6] = [
    &policies::NARROW_ROLE,
    &trusts::EXTERNAL_ID,
    &policies::REVOKE_OLD_SESSIONS,
    &session_policy::SESSION_POLICY,
    &trusts::SOURCE_IDENTITY,
    &trusts::TRUST_THE_USER,
];

impl Challenge {
    pub fn all() -> impl Iterator<Item = &'static Challenge> {
        ALL.iter().copied()
    }

    pub fn goal(&self, scene: &Scene) -> String {
        (self.goal)(scene)
    }

    pub fn start(&self, scene: &Scene) -> State {
        (self.start)(scene)
    }

    pub fn answer(&self, scene: &Scene) -> State {
        (self.answer)(scene)
    }

    /// The goal as sets, for its proof.
    pub fn spec(&self, scene: &Scene) -> proof::Spec {
        (self.spec)(scene)
    }

    /// The sample of requests asked of the endpoint, with the session policy the learner wrote.
    pub fn space(&self, scene: &Scene, session_policy: Option<&Json>) -> Vec<Case> {
        (self.space)(scene, session_policy)
    }
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Challenge({})", self.name)
    }
}

/// The challenge named `name`, or a one-line error that lists them.
pub fn named(name: &str) -> Result<&'static Challenge> {
    match Challenge::all().find(|c| c.name == name) {
        Some(c) => Ok(c),
        None => {
            let all: Vec<&str> = Challenge::all().map(|c| c.name).collect();
            bail!("no challenge {name:?}; the challenges are {}", all.join(", "))
        }
    }
}

/// A challenge by name on the command line.
#[derive(Debug, Clone, Copy)]
pub struct ChallengeName(pub &'static Challenge);

impl FromStr for ChallengeName {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        named(name).map(ChallengeName)
    }
}

/// Where a challenge is set: the lab's names and ARNs, when it was set and the time now (the
/// endpoint's clock). Pure data: the challenges' documents and spaces are functions of it.
#[derive(Debug, Clone)]
pub struct Scene {
    pub partition: String,
    pub account: String,
    /// The lab's user (the learner), by name and ARN.
    pub user: String,
    pub user_arn: String,
    /// The challenge role, by name and ARN.
    pub role: String,
    pub role_arn: String,
    /// The admin the lab runs with, when it is a user or a role's session (not the root user).
    pub admin: Option<Caller>,
    /// Prefix of the lab's buckets.
    pub prefix: String,
    /// When the lab expires (UTC), which every Allow the lab writes holds only before.
    pub expires: Option<String>,
    /// When the challenge was set, and now (Unix seconds, the endpoint's clock).
    pub started: i64,
    pub now: i64,
}

impl Scene {
    /// A session of the challenge role, as the learner's would be named.
    pub fn session(&self) -> Caller {
        Caller::Session {
            role: self.role.clone(),
            session_arn: format!(
                "arn:{}:sts::{}:assumed-role/{}/challenge",
                self.partition, self.account, self.role
            ),
        }
    }

    pub fn me(&self) -> Caller {
        Caller::User(self.user.clone())
    }

    /// `arn:aws:s3:::NAME`.
    pub fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }

    /// The bucket of the lab named `suffix` (under its prefix).
    pub fn bucket(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The lab's expiry as a condition, for every Allow the lab writes (none when unknown).
    pub fn until_expiry(&self) -> Option<Json> {
        self.expires
            .as_ref()
            .map(|at| serde_json::json!({"DateLessThan": {"aws:CurrentTime": at}}))
    }
}

/// The documents a challenge writes: the challenge role's trust, its inline policy (None: no
/// inline policy), and a session policy (an answer's; the learner keeps it in a file).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub trust: Json,
    pub role_policy: Option<Json>,
    pub session_policy: Option<Json>,
    /// Buckets (by suffix under the lab's prefix) the challenge makes, each with one object.
    pub buckets: Vec<&'static str>,
}

/// One request of a challenge's space: in words, as IAM evaluates it, what must come of it, and
/// how the endpoint is asked the same (None: no request can make it now, a session issued
/// before the challenge was set, say).
#[derive(Debug, Clone)]
pub struct Case {
    pub label: String,
    pub ask: Ask,
    pub target: Target,
    pub probe: Option<Probe>,
}

impl Case {
    pub fn new(label: impl Into<String>, ask: Ask, target: Target) -> Self {
        Self {
            label: label.into(),
            ask,
            target,
            probe: None,
        }
    }

    pub fn probed(mut self, probe: Probe) -> Self {
        self.probe = Some(probe);
        self
    }
}

/// A request made on the endpoint to confirm a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// AssumeRole of the challenge role, by the lab's user (else the admin), with these values.
    Assume {
        by_admin: bool,
        external_id: Option<String>,
        source_identity: Option<String>,
    },
    /// A session of the challenge role (with the session policy, if any) makes an S3 call.
    Session { session_policy: bool, call: S3Call },
}

/// The S3 calls a confirmation makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Call {
    ListBuckets,
    ListObjects(String),
    GetObject(String, String),
    PutObject(String, String),
}

/// A statement as the lab writes it: `Sid`, `Effect`, `Action`, `Resource`, and the condition
/// if any.
pub(crate) fn statement(sid: &str, effect: &str, action: Json, resource: Json, condition: Option<Json>) -> Json {
    let mut s = serde_json::json!({"Sid": sid, "Effect": effect, "Action": action, "Resource": resource});
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    s
}

/// A policy document of `statements`.
pub(crate) fn document(statements: Vec<Json>) -> Json {
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// A trust that lets `principal` (an ARN) use `actions` on the role, under `condition`.
pub(crate) fn trust(principal: &str, actions: &[&str], condition: Option<Json>) -> Json {
    let mut s = serde_json::json!({"Sid": "WhoMayAssume", "Effect": "Allow",
        "Principal": {"AWS": principal}, "Action": actions});
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    document(vec![s])
}

/// `a` and `b` merged into one condition block (an operator in both: its keys together).
pub(crate) fn both(a: Option<Json>, b: Json) -> Json {
    let mut out = a.unwrap_or_else(|| serde_json::json!({}));
    if let (Some(out), Some(b)) = (out.as_object_mut(), b.as_object()) {
        for (op, keys) in b {
            let entry = out.entry(op.clone()).or_insert_with(|| serde_json::json!({}));
            if let (Some(entry), Some(keys)) = (entry.as_object_mut(), keys.as_object()) {
                entry.extend(keys.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod answers;
