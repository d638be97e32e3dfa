//! AWS's policy evaluation for one request, offline: the decision and the policy and statement
//! that made it, from the documents in play (identity policies, a permissions boundary, session
//! policies, a role's trust, a bucket policy). `iam-rs` evaluates each statement and condition;
//! the combination is AWS's documented logic for a request inside one account (IAM User Guide,
//! "Policy evaluation logic", "Permissions boundaries for IAM entities", "Session policies"): an
//! explicit Deny anywhere wins; else identity policies, the boundary and session policies must
//! all allow; or a resource policy (a trust, a bucket policy) allows by itself when it names the
//! caller's own ARN (or everyone, `*`), with the boundary and the session's policies when it names
//! a session's role, and only with all of the caller's own when it names the account. A trust
//! must always allow AssumeRole. A document IAM would refuse (`grammar`) is never decided on.
pub mod fix;
pub mod grammar;
mod reading;
pub(crate) mod trace;
pub mod variables;
mod why;

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use serde::Serialize;

pub use trace::{ConditionTrace, NO_RESOURCE, Naming, PolicyTrace, StatementTrace};

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
    /// The caller's permissions boundary: the most its identity policies may grant.
    Boundary,
    /// A resource-based policy: a bucket's policy (for AssumeRole, a trust).
    Resource,
}

impl PolicyKind {
    /// Whether the policy belongs to the resource: a trust, or a bucket's policy.
    pub fn on_resource(self) -> bool {
        matches!(self, PolicyKind::Trust | PolicyKind::Resource)
    }

    /// How AWS's AccessDenied message names the kind (`because no permissions boundary allows …`).
    pub fn aws_name(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::Session => "session policy",
            PolicyKind::Trust => "role trust policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Resource => "resource-based policy",
        }
    }
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

/// ` with k=v, k2=[a,b]`: the context values a request carries, as a line shows them (empty
/// when there are none).
pub fn carried_text<'a>(pairs: impl Iterator<Item = (&'a String, &'a Value)>) -> String {
    let shown: Vec<String> = pairs
        .map(|(k, v)| match v {
            Value::One(one) => format!("{k}={one}"),
            Value::Many(many) => format!("{k}=[{}]", many.join(",")),
        })
        .collect();
    match shown.is_empty() {
        true => String::new(),
        false => format!(" with {}", shown.join(", ")),
    }
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
    /// On an implicit deny, the kind of policy that must also allow the request.
    #[serde(skip)]
    pub missing: Option<PolicyKind>,
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
            missing: None,
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
    let why = why::line(&decided_by, missing, &policies, request);
    Ok(Decision {
        decided_by,
        why,
        policies,
        missing,
    })
}

/// One statement's part in a decision: whether it applies, whether it denies, and how it names
/// the caller (read for a resource policy's Allow only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub applies: bool,
    pub deny: bool,
    pub naming: Naming,
}

/// A decision as [`settle`] makes it: the effect, the policy and statement that made it (by
/// index), and for an implicit deny the kind of policy that must also allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub effect: Effect,
    pub by: Option<(usize, usize)>,
    pub missing: Option<PolicyKind>,
}

/// AWS's combination of the policies in play, each its kind and its statements' parts: the one
/// place the rule is written, for `decide` and for the proof (`prove`). `assume`: the
/// request is sts:AssumeRole (a resource policy of a role is its trust).
pub fn settle(policies: &[(PolicyKind, &[Part])], assume: bool) -> Settled {
    let first = |keep: &dyn Fn(PolicyKind) -> bool, deny: bool| {
        policies
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| keep(*k))
            .find_map(|(i, (_, parts))| parts.iter().position(|s| s.applies && s.deny == deny).map(|j| (i, j)))
    };
    let settled = |effect, by, missing| Settled { effect, by, missing };
    if let Some(deny) = first(&|_| true, true) {
        return settled(Effect::ExplicitDeny, Some(deny), None);
    }
    let allows = |kind: PolicyKind| first(&|k| k == kind, false);
    let given = |kind| policies.iter().any(|(k, _)| *k == kind);
    let identity = allows(PolicyKind::Identity);
    let boundary_ok = !given(PolicyKind::Boundary) || allows(PolicyKind::Boundary).is_some();
    let session_ok = !given(PolicyKind::Session) || allows(PolicyKind::Session).is_some();
    let denied = |kind| settled(Effect::ImplicitDeny, None, Some(kind));
    // A trust must allow AssumeRole (a resource policy of a role is its trust); a bucket's
    // policy need not allow.
    let is_trust = |k: PolicyKind| k == PolicyKind::Trust || (assume && k == PolicyKind::Resource);
    if policies.iter().any(|(k, _)| is_trust(*k)) && first(&is_trust, false).is_none() {
        return denied(PolicyKind::Trust);
    }
    let on_resource = first(&|k: PolicyKind| k.on_resource(), false);
    if let (Some(allow), true, true) = (identity, boundary_ok, session_ok) {
        return settled(Effect::Allow, Some(allow), None);
    }
    // The most direct way any allowing statement of a resource policy names the caller.
    let naming = policies
        .iter()
        .filter(|(k, _)| k.on_resource())
        .flat_map(|(_, parts)| parts.iter())
        .filter(|s| s.applies && !s.deny)
        .map(|s| s.naming)
        .min();
    // The statement that grants: the first that names the caller that most direct way.
    let on_resource = naming
        .and_then(|wanted| {
            policies
                .iter()
                .enumerate()
                .filter(|(_, (k, _))| k.on_resource())
                .find_map(|(i, (_, parts))| {
                    parts
                        .iter()
                        .position(|s| s.applies && !s.deny && s.naming == wanted)
                        .map(|j| (i, j))
                })
        })
        .or(on_resource);
    let missing = [
        (identity.is_some(), PolicyKind::Identity),
        (boundary_ok, PolicyKind::Boundary),
        (session_ok, PolicyKind::Session),
    ];
    let first_missing = |from: usize| {
        missing[from..]
            .iter()
            .find(|(ok, _)| !ok)
            .map_or(PolicyKind::Identity, |(_, kind)| *kind)
    };
    match (naming, on_resource) {
        (Some(Naming::Exact), Some(allow)) => settled(Effect::Allow, Some(allow), None),
        (Some(Naming::Role), Some(allow)) if boundary_ok && session_ok => settled(Effect::Allow, Some(allow), None),
        (Some(Naming::Role), _) => denied(first_missing(1)),
        _ => denied(first_missing(0)),
    }
}

/// The decision, and for an implicit deny the kind of policy that must also allow the request.
fn combine(policies: &[PolicyTrace], request: &Request) -> (DecidedBy, Option<PolicyKind>) {
    let parts: Vec<Vec<Part>> = policies
        .iter()
        .map(|p| {
            p.statements
                .iter()
                .map(|s| Part {
                    applies: s.applies,
                    deny: s.deny,
                    naming: match s.applies && !s.deny && p.kind.on_resource() {
                        true => s.naming(&request.principal),
                        false => Naming::Account,
                    },
                })
                .collect()
        })
        .collect();
    let views: Vec<(PolicyKind, &[Part])> = policies
        .iter()
        .zip(&parts)
        .map(|(p, s)| (p.kind, s.as_slice()))
        .collect();
    let assume = request.action.eq_ignore_ascii_case("sts:AssumeRole");
    let settled = settle(&views, assume);
    let found = settled.by.map(|(i, j)| (&policies[i], &policies[i].statements[j]));
    (by(settled.effect, found), settled.missing)
}

fn by(effect: Effect, found: Option<(&PolicyTrace, &StatementTrace)>) -> DecidedBy {
    DecidedBy {
        effect,
        policy: found.map(|(p, _)| p.name.clone()),
        statement: found.and_then(|(_, s)| s.sid.clone()),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod kinds_tests;
