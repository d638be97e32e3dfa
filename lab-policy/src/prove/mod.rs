//! A proof, offline, that documents allow exactly what a goal says: over every request of a
//! universe (every action of the catalog a pattern names, every resource of its ARN formats,
//! every value of every context key a condition reads), the requests the documents allow are the
//! goal's, and none else; or one concrete request where they part (a counterexample), with the
//! statement that decides it. AWS's own Zelkova and Access Analyzer's custom policy checks prove
//! the same things with an SMT solver; this proof partitions instead: the decision of a request
//! depends only on which patterns its action, resource and context values match, so each
//! dimension is cut into the classes the documents and the goal tell apart (product automata over
//! the string patterns, `strings`; the points of the dates, numbers and addresses, `conditions`),
//! and one request of each combination of classes is decided with AWS's combination rule, the
//! one `decide` uses ([`crate::decide::settle`]). A combination no string has is never
//! built, so every class is tried and no request is left out.
//!
//! - `catalog`: the actions, their ARN formats and condition keys (vendored data).
//! - `strings`: patterns as automata, and the classes of strings they tell apart.
//! - `conditions`: condition operators typed, and the values of a key worth trying.
//! - `compile`: documents read (typed views) and compiled for one caller.
//! - `search`: the classes of requests enumerated and decided.
//!
//! What falls outside the fragment (a service outside the catalog, a key compared as two kinds
//! of value, a variable naming a key the request carries) is named in [`Proof::outside`], never
//! passed silently.

mod arns;
pub mod catalog;
mod compile;
pub mod conditions;
mod search;
pub mod strings;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use crate::decide::{Decision, Document, Effect, Request, Value, decide};

/// Who makes the requests of a universe, with its own documents and what it fixes of the context.
#[derive(Debug, Clone)]
pub struct Subject {
    /// A short name the goal's wants refer to (`session`, `user`, `admin`, `other`).
    pub id: &'static str,
    /// In words, for a counterexample (`a session of role X`).
    pub label: String,
    pub arn: String,
    /// Its own documents: identity policies, its boundary, a session's policies.
    pub documents: Vec<Document>,
    /// The context it fixes (`aws:username`, `aws:CurrentTime` …); keys it does not fix and that
    /// describe the caller are absent.
    pub fixed: BTreeMap<String, Value>,
    /// Date keys its requests may carry, each up to a latest time (a session's
    /// `aws:TokenIssueTime`, never after now).
    pub free_dates: Vec<(String, i64)>,
    /// A stand-in for principals the lab does not know (another user of the account, with any
    /// policy): the keys describing it are free, not absent.
    pub stand_in: bool,
}

impl Subject {
    /// A subject the lab knows, with its own documents and what it fixes of the context.
    pub fn new(
        id: &'static str,
        label: impl Into<String>,
        arn: impl Into<String>,
        documents: Vec<Document>,
        fixed: BTreeMap<String, Value>,
    ) -> Self {
        Self {
            id,
            label: label.into(),
            arn: arn.into(),
            documents,
            fixed,
            free_dates: Vec::new(),
            stand_in: false,
        }
    }
}

/// A resource-based policy in play for requests on the resources it is attached to (a role's
/// trust, a bucket's policy, on its bucket and its objects).
#[derive(Debug, Clone)]
pub struct Attached {
    pub document: Document,
    /// The ARNs (or ARN patterns) it is attached to.
    pub on: Vec<String>,
}

/// A part of a goal: for the subjects `who`, the requests a statement (Action, Resource,
/// Condition, as a policy would write it) covers.
#[derive(Debug, Clone)]
pub struct Want {
    pub who: Vec<&'static str>,
    pub statement: Json,
}

/// What is asked: the universe, the documents in play, and the goal.
#[derive(Debug, Clone)]
pub struct Question {
    pub partition: String,
    /// The account whose buckets the S3 requests name (`aws:ResourceAccount`).
    pub account: String,
    pub subjects: Vec<Subject>,
    /// The actions of the universe, as patterns over the catalog (`*`, `sts:AssumeRole`).
    pub actions: Vec<String>,
    /// Its resources, as ARN patterns (empty: every resource of the catalog's formats).
    pub resources: Vec<String>,
    pub attached: Vec<Attached>,
    /// The requests that must be allowed; every other one must be refused …
    pub allow: Vec<Want>,
    /// … but these, which may go either way.
    pub either: Vec<Want>,
}

/// Whether a request the goal speaks of is allowed or refused where the goal wants the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Miss {
    /// Allowed, and the goal refuses it.
    TooOpen,
    /// Refused, and the goal allows it.
    TooClosed,
}

/// One concrete request where the documents and the goal part.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub miss: Miss,
    /// The subject, by its id and in words, and its ARN.
    pub subject: &'static str,
    pub who: String,
    pub principal: String,
    pub action: String,
    /// Other actions of the catalog decided alike here (the same class).
    pub alike: Vec<String>,
    /// The resource's ARN, or `*`.
    pub resource: String,
    /// The values of the keys the request itself carries.
    pub carried: BTreeMap<String, Value>,
    /// The keys a condition reads that this request does not carry (`sts:ExternalId`).
    pub without: Vec<String>,
    /// The whole context, as `decide` reads it.
    #[serde(skip)]
    pub context: BTreeMap<String, Value>,
    /// The documents in play for it.
    #[serde(skip)]
    pub documents: Vec<Document>,
    /// The decision, and the policy and statement that made it (None: an implicit deny).
    pub effect: Effect,
    pub policy: Option<String>,
    pub statement: Option<String>,
}

/// A proof's result: the counterexamples (none: the documents are the goal), how many classes of
/// requests were decided, and what lies outside the fragment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Proof {
    pub misses: Vec<Counterexample>,
    /// How many classes of requests were decided (each stands for every request like it).
    pub classes: usize,
    /// How many actions of the catalog the universe holds.
    pub actions: usize,
    /// What the proof could not decide, in words; empty when it covers the whole universe.
    pub outside: Vec<String>,
}

impl Proof {
    /// Whether the documents are proven to allow exactly the goal.
    pub fn holds(&self) -> bool {
        self.misses.is_empty() && self.outside.is_empty()
    }
}

/// ` without sts:ExternalId`: the keys a request does not carry, as a line shows them.
pub fn without_text(keys: &[String]) -> String {
    match keys.is_empty() {
        true => String::new(),
        false => format!(" without {}", keys.join(", ")),
    }
}

impl Counterexample {
    /// The request as `decide` reads it.
    pub fn request(&self) -> Request {
        Request {
            principal: self.principal.clone(),
            action: self.action.clone(),
            resource: self.resource.clone(),
            context: self.context.clone(),
        }
    }

    /// The counterexample decided again by `decide`, the evaluator `why` and `verify` use: Err
    /// when it does not decide as the proof did (a defect of one of them).
    pub fn confirm(&self) -> anyhow::Result<Decision> {
        let decision = decide(&self.documents, &self.request())?;
        if (decision.decided_by.effect == Effect::Allow) != (self.effect == Effect::Allow) {
            anyhow::bail!(
                "the proof and the evaluator disagree on {} {} on {}: the proof says {:?}, the evaluator {} (a defect of sts-lab: please report it)",
                self.principal,
                self.action,
                self.resource,
                self.effect,
                decision.why
            );
        }
        Ok(decision)
    }

    /// One line: `too open: the lab's user: s3:GetObject on arn:… with s3:prefix=x (and 3 alike)`.
    pub fn line(&self) -> String {
        let with = crate::decide::carried_text(self.carried.iter()) + &without_text(&self.without);
        let alike = match self.alike.len() {
            0 => String::new(),
            n => format!(" (and {n} actions alike)"),
        };
        let what = match self.miss {
            Miss::TooOpen => "too open",
            Miss::TooClosed => "too closed",
        };
        format!(
            "{what}: {}: {} on {}{with}{alike}",
            self.who, self.action, self.resource
        )
    }
}

/// A stand-in for principals the lab does not know (another user of an account), with every
/// right its own policies could give; it fixes only the moment of `fixed` (the time, the
/// transport) and its own ARN and name.
pub fn stand_in(
    id: &'static str,
    label: &str,
    partition: &str,
    account: &str,
    fixed: &BTreeMap<String, Value>,
) -> Subject {
    let arn = format!("arn:{partition}:iam::{account}:user/someone-else");
    let moment = ["aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport"];
    let mut fixed: BTreeMap<String, Value> = fixed
        .iter()
        .filter(|(k, _)| moment.iter().any(|m| m.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    fixed.insert("aws:PrincipalArn".to_owned(), Value::One(arn.clone()));
    fixed.insert("aws:username".to_owned(), Value::One("someone-else".to_owned()));
    let anything = Document {
        name: "any policy it may have".to_owned(),
        kind: crate::decide::PolicyKind::Identity,
        json: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
            .to_string(),
    };
    Subject {
        stand_in: true,
        ..Subject::new(id, label, arn, vec![anything], fixed)
    }
}

/// The actions a role's trust decides for a caller of an account (AssumeRole and what rides on
/// it); the web identity and SAML ones are for federated callers, not the lab's.
pub const TRUST_ACTIONS: [&str; 4] = [
    "sts:AssumeRole",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:SetContext",
];

/// The account of a stand-in from elsewhere.
pub const ANOTHER_ACCOUNT: &str = "111122223333";

/// The most counterexamples a proof keeps (one for each subject, action class and miss).
pub const MOST_MISSES: usize = 40;

/// Proves `question`: every class of requests decided, each miss a counterexample.
pub fn prove(question: &Question) -> anyhow::Result<Proof> {
    search::run(question)
}

#[cfg(test)]
mod tests;
