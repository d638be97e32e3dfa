//! What `challenge` prints and its `--json`: the goal, the grade over the whole space (each
//! request too open or too closed, with what decided it and what would change it), the sample
//! the endpoint confirmed, a give-up's diff; and the class's view of who passed what, and when.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::decide::{DecidedBy, Value};

/// What the goal wants of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Allowed,
    Refused,
}

impl Target {
    pub fn word(self) -> &'static str {
        match self {
            Target::Allowed => "allowed",
            Target::Refused => "refused",
        }
    }
}

/// How a request of the space came out against the goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    AsWanted,
    /// Allowed, and the goal refuses it.
    TooOpen,
    /// Refused, and the goal allows it.
    TooClosed,
}

/// A request where the documents and the goal part: a counterexample of the proof.
#[derive(Debug, Clone, Serialize)]
pub struct MissDoc {
    pub request: String,
    pub verdict: Verdict,
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The values the request itself carries (`sts:ExternalId`, `aws:TokenIssueTime` …).
    pub context: BTreeMap<String, Value>,
    pub expected: Target,
    pub decided_by: DecidedBy,
    pub why: String,
    /// One line: what to change.
    pub change: Option<String>,
    /// Too closed: the advice, ranked (a change to the challenge's documents, proven narrow).
    pub advice: Vec<crate::model::advice::Advice>,
    /// Other actions of the catalog decided alike (the same class of requests).
    pub alike: Vec<String>,
    /// What the endpoint answered when asked the same request (None: it could not be asked).
    pub endpoint: Option<String>,
}

/// A request of the sample asked of the endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct ConfirmedDoc {
    pub request: String,
    pub expected: Target,
    /// `allowed`, `AccessDenied`, or `failed: CODE`.
    pub seen: String,
    pub agrees: bool,
}

/// What `challenge` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeAction {
    /// Set the starting state (or found it set) and told the goal.
    Set,
    Reset,
    Check,
    Giveup,
}

/// `challenge NAME [--check|--reset|--giveup] --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ChallengeDoc {
    pub challenge: String,
    pub lab: String,
    pub action: ChallengeAction,
    pub goal: String,
    /// When the challenge was set (UTC).
    pub started: String,
    /// How many classes of requests a check proved (each stands for every request like it).
    pub requests: usize,
    /// How many actions of the catalog the goal's universe holds.
    pub actions: usize,
    /// What the proof could not decide (outside its fragment): a check with any does not pass.
    pub outside: Vec<String>,
    /// A check's verdict (None for set, reset, give up).
    pub passed: Option<bool>,
    /// IAM's own refusal of what the learner wrote (a session policy IAM will not take).
    pub refused_by_iam: Option<String>,
    pub misses: Vec<MissDoc>,
    pub confirmed: Vec<ConfirmedDoc>,
    /// A give-up's change, as diff lines; a set's commands to read what is there.
    pub diff: Vec<String>,
    pub commands: Vec<String>,
    pub hint: Option<String>,
}

/// What a student passed, and when (`class status --json`'s `passed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassedDoc {
    /// `challenge` or `lesson`.
    pub kind: String,
    pub name: String,
    /// When (UTC).
    pub at: String,
}

/// The lines of a check's verdict: passed, or each miss with why and what would change it.
pub fn check_lines(doc: &ChallengeDoc) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(refusal) = &doc.refused_by_iam {
        out.push(format!("IAM refuses what you wrote: {refusal}"));
        return out;
    }
    for miss in &doc.misses {
        let what = match miss.verdict {
            Verdict::TooOpen => "too open",
            Verdict::TooClosed => "too closed",
            Verdict::AsWanted => "as wanted",
        };
        let is = if miss.expected == Target::Allowed {
            "refused"
        } else {
            "allowed"
        };
        out.push(format!(
            "✗ {what}: {} is {is}, the goal wants it {}",
            miss.request,
            miss.expected.word()
        ));
        if !miss.alike.is_empty() {
            let shown: Vec<&str> = miss.alike.iter().take(6).map(String::as_str).collect();
            let more = miss.alike.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            out.push(format!("    and alike: {}{more}", shown.join(", ")));
        }
        out.push(format!("    decided by: {}", miss.why));
        if let Some(answer) = &miss.endpoint {
            out.push(format!("    the endpoint, asked the same: {answer}"));
        }
        if let Some(change) = &miss.change {
            out.push(format!("    what would change it: {change}"));
        }
    }
    for outside in &doc.outside {
        out.push(format!("? not proven: {outside}"));
    }
    out.push(match (doc.misses.is_empty(), doc.outside.is_empty()) {
        (true, true) => format!(
            "proven: every request of the goal's universe is as it wants ({} classes of requests, {} actions of the catalog, decided offline from the documents as they are now)",
            doc.requests, doc.actions
        ),
        _ => format!(
            "{} counterexample(s) over {} classes of requests ({} actions of the catalog, decided offline from the documents as they are now)",
            doc.misses.len(),
            doc.requests,
            doc.actions
        ),
    });
    out
}

/// What a student passed in a table's cell, each with its time of day (UTC):
/// `narrow-role 09:12, lesson mfa 09:30`, or `-`.
pub fn passed_cell(passed: &[PassedDoc]) -> String {
    let cell: Vec<String> = passed
        .iter()
        .map(|p| {
            let time = p.at.get(11..16).unwrap_or(&p.at);
            match p.kind.as_str() {
                "challenge" => format!("{} {time}", p.name),
                kind => format!("{kind} {} {time}", p.name),
            }
        })
        .collect();
    if cell.is_empty() {
        "-".to_owned()
    } else {
        cell.join(", ")
    }
}
