//! AWS's policy evaluation for one request, offline: the decision and the policy and statement
//! that made it, from the documents in play (identity policies, session policies, a role's trust).
//! `iam-rs` evaluates each statement and condition; the combination is AWS's documented logic for
//! a request inside one account: an explicit Deny anywhere wins; else identity and session
//! policies must both allow; for AssumeRole the trust must allow too, and then a trust naming the
//! caller's own ARN is enough by itself, one naming a session's role is enough with the session's
//! policies (which still limit it), one naming the account needs the caller's own policies.
//! A document IAM would refuse (`grammar`) is never decided on.

pub mod grammar;
mod trace;

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use serde::Serialize;

pub use trace::{ConditionTrace, Naming, PolicyTrace, StatementTrace};

/// Which kind of policy a document is; it decides how its Allow counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// Attached to the caller (a user's or a role's, inline or managed).
    Identity,
    /// Passed to AssumeRole (`Policy`, `PolicyArns`): it narrows the role's rights.
    Session,
    /// A role's trust policy, for AssumeRole of that role.
    Trust,
}

/// A policy document in play, by the name AWS's messages and the lab use for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub name: String,
    pub kind: PolicyKind,
    /// The JSON document, as IAM stores it (URL-decoded).
    pub json: String,
}

/// A context value: one string, or a multivalued key (`aws:TagKeys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    One(String),
    Many(Vec<String>),
}

/// One request as IAM evaluates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The caller: a user's ARN, or an assumed-role session's.
    pub principal: String,
    /// `s3:CreateBucket`.
    pub action: String,
    /// The resource's ARN, or `*` for an action without one (`s3:ListAllMyBuckets`).
    pub resource: String,
    /// The request context: `aws:CurrentTime`, `aws:PrincipalTag/team`, `sts:ExternalId` …
    pub context: BTreeMap<String, Value>,
}

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// An IAM user, by name.
    User(String),
    /// A session of the role `role` (its name), as `session_arn`.
    Session { role: String, session_arn: String },
}

impl Caller {
    /// The caller an ARN names: a user, or an assumed-role session; None for anything else (the
    /// account's root, a federated user).
    pub fn of_arn(arn: &str) -> Option<Self> {
        if let Some((_, user)) = arn.split_once(":user/") {
            return Some(Caller::User(user.rsplit('/').next().unwrap_or(user).to_owned()));
        }
        let (_, rest) = arn.split_once(":assumed-role/")?;
        let (role, _session) = rest.split_once('/')?;
        Some(Caller::Session {
            role: role.to_owned(),
            session_arn: arn.to_owned(),
        })
    }
}

/// One request, for a prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub caller: Caller,
    pub action: String,
    /// The resource's ARN, or `*`.
    pub resource: String,
    /// Context keys the request itself carries (`sts:ExternalId`, `aws:TokenIssueTime` …).
    pub context: BTreeMap<String, Value>,
    /// The session's own policies (AssumeRole's `Policy`), if any.
    pub session: Vec<Document>,
}

impl Ask {
    pub fn new(caller: &Caller, action: &str, resource: impl Into<String>) -> Self {
        Self {
            caller: caller.clone(),
            action: action.to_owned(),
            resource: resource.into(),
            context: BTreeMap::new(),
            session: Vec::new(),
        }
    }

    /// The same request carrying the context key `key`.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.context.insert(key.to_owned(), Value::One(value.to_owned()));
        self
    }

    /// The same request from a session with the session policy `json`.
    pub fn in_session(mut self, json: &str) -> Self {
        self.session.push(Document {
            name: "session policy".to_owned(),
            kind: PolicyKind::Session,
            json: json.to_owned(),
        });
        self
    }
}

/// How a request was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// The decision with the policy and statement that made it (`None` for an implicit deny, or a
/// statement without a Sid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecidedBy {
    pub effect: Effect,
    pub policy: Option<String>,
    pub statement: Option<String>,
}

/// A decision, why (one line), and every policy's statements as evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub decided_by: DecidedBy,
    pub why: String,
    pub policies: Vec<PolicyTrace>,
}

/// Decides `request` against `documents` as IAM does inside one account.
pub fn decide(documents: &[Document], request: &Request) -> Result<Decision> {
    if request.action.eq_ignore_ascii_case("sts:GetCallerIdentity") {
        return Ok(Decision {
            decided_by: DecidedBy {
                effect: Effect::Allow,
                policy: None,
                statement: None,
            },
            why: "always allowed: no policy can deny sts:GetCallerIdentity".to_owned(),
            policies: Vec::new(),
        });
    }
    if let Some((name, problem)) = documents
        .iter()
        .find_map(|d| grammar::problem(&d.json).map(|p| (&d.name, p)))
    {
        anyhow::bail!(
            "policy {name} is malformed ({problem}): IAM refuses such a document (MalformedPolicyDocument), so nothing is decided on it"
        );
    }
    let policies = documents
        .iter()
        .map(|d| trace::evaluate(d, request).with_context(|| format!("cannot evaluate policy {}", d.name)))
        .collect::<Result<Vec<_>>>()?;
    let (decided_by, missing) = combine(&policies, request);
    let why = why(&decided_by, missing, &policies, request);
    Ok(Decision {
        decided_by,
        why,
        policies,
    })
}

/// The first statement of `kind` whose effect is `deny` (or allow) and that applies.
fn first(policies: &[PolicyTrace], kind: Option<PolicyKind>, deny: bool) -> Option<(&PolicyTrace, &StatementTrace)> {
    policies
        .iter()
        .filter(|p| kind.is_none_or(|k| p.kind == k))
        .find_map(|p| {
            p.statements
                .iter()
                .find(|s| s.applies && s.deny == deny)
                .map(|s| (p, s))
        })
}

fn by(effect: Effect, found: Option<(&PolicyTrace, &StatementTrace)>) -> DecidedBy {
    DecidedBy {
        effect,
        policy: found.map(|(p, _)| p.name.clone()),
        statement: found.and_then(|(_, s)| s.sid.clone()),
    }
}

/// The decision, and for an implicit deny the kind of policy that must also allow the request.
fn combine(policies: &[PolicyTrace], request: &Request) -> (DecidedBy, Option<PolicyKind>) {
    if let Some(deny) = first(policies, None, true) {
        return (by(Effect::ExplicitDeny, Some(deny)), None);
    }
    let identity = first(policies, Some(PolicyKind::Identity), false);
    let has_session = policies.iter().any(|p| p.kind == PolicyKind::Session);
    let session_ok = !has_session || first(policies, Some(PolicyKind::Session), false).is_some();
    let denied = |kind| (by(Effect::ImplicitDeny, None), Some(kind));
    if policies.iter().any(|p| p.kind == PolicyKind::Trust) {
        let Some(trust) = first(policies, Some(PolicyKind::Trust), false) else {
            return denied(PolicyKind::Trust);
        };
        // The most direct way any allowing statement of the trust names the caller.
        let naming = policies
            .iter()
            .filter(|p| p.kind == PolicyKind::Trust)
            .flat_map(|p| p.statements.iter())
            .filter(|s| s.applies && !s.deny)
            .map(|s| s.naming(&request.principal))
            .min()
            .unwrap_or(Naming::Account);
        return match (identity, session_ok, naming) {
            (Some(allow), true, _) => (by(Effect::Allow, Some(allow)), None),
            (_, _, Naming::Exact) | (_, true, Naming::Role) => (by(Effect::Allow, Some(trust)), None),
            (_, false, Naming::Role) => denied(PolicyKind::Session),
            (Some(_), false, _) => denied(PolicyKind::Session),
            (None, _, _) => denied(PolicyKind::Identity),
        };
    }
    match (identity, session_ok) {
        (Some(allow), true) => (by(Effect::Allow, Some(allow)), None),
        (Some(_), false) => denied(PolicyKind::Session),
        (None, _) => denied(PolicyKind::Identity),
    }
}

/// One line: `Allow by AssumeTheLabRoleOnly (StsAssumePolicy)`, `explicit deny by … `,
/// `implicit deny: no statement allows s3:ListAllMyBuckets`, or the statement that would allow
/// it but for a condition.
fn why(decided: &DecidedBy, missing: Option<PolicyKind>, policies: &[PolicyTrace], request: &Request) -> String {
    let name = || match (&decided.statement, &decided.policy) {
        (Some(sid), Some(policy)) => format!("{sid} ({policy})"),
        (None, Some(policy)) => format!("a statement of {policy}"),
        _ => "a statement".to_owned(),
    };
    let action = &request.action;
    match decided.effect {
        Effect::Allow => format!("Allow by {}", name()),
        Effect::ExplicitDeny => format!("explicit deny by {}", name()),
        Effect::ImplicitDeny => {
            let (what, kinds) = match missing {
                Some(PolicyKind::Trust) => (
                    format!("the role's trust does not let this caller call {action}"),
                    [PolicyKind::Trust; 2],
                ),
                Some(PolicyKind::Session) => (format!("no session policy allows {action}"), [PolicyKind::Session; 2]),
                _ => (
                    format!("no statement allows {action}"),
                    [PolicyKind::Identity, PolicyKind::Trust],
                ),
            };
            match near_miss(policies, &kinds) {
                Some(miss) => format!("implicit deny: {what}; {miss}"),
                None => format!("implicit deny: {what}"),
            }
        }
    }
}

/// `AssumeTheLabRoleOnly (StsAssumePolicy) would allow it but DateLessThan aws:CurrentTime
/// "2026-…" does not hold (the request has "2026-…")`: the first Allow of `kinds` that matched
/// the request but for a condition.
fn near_miss(policies: &[PolicyTrace], kinds: &[PolicyKind]) -> Option<String> {
    let (policy, statement) = policies.iter().filter(|p| kinds.contains(&p.kind)).find_map(|p| {
        p.statements
            .iter()
            .find(|s| !s.deny && !s.applies && s.conditions.iter().any(|c| !c.holds))
            .filter(|s| s.why == trace::CONDITIONS_NOT_MET)
            .map(|s| (p, s))
    })?;
    let condition = statement.conditions.iter().find(|c| !c.holds)?;
    let sid = statement.sid.as_deref().unwrap_or("a statement");
    let has = match &condition.request {
        Some(Value::One(v)) => format!("the request has {v}"),
        Some(Value::Many(v)) => format!("the request has {}", v.join(", ")),
        None => "the request has no such key".to_owned(),
    };
    Some(format!(
        "{sid} ({}) would allow it but its {} {} {} does not hold ({has})",
        policy.name, condition.operator, condition.key, condition.values
    ))
}

#[cfg(test)]
mod tests;
