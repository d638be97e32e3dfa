//! What would change a refusal: the smallest change of the documents (or of the request) that
//! flips a decision to Allow, read from the decision itself. An explicit deny: take out the
//! statement that denies. An implicit deny: meet the condition of the statement that would allow
//! it but for that condition (the request lacked a value), else add a statement allowing it to
//! the kind of policy that must also allow (an identity policy, the boundary, the session policy,
//! the trust). Fixes are steps: after one, the next refusal (another Deny, another kind) gets the
//! next, until the request is allowed. Pure: [`apply`] makes a step on the documents, so that a
//! fix can be proven to flip the decision.

use anyhow::Result;
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{Decision, Document, Effect, PolicyKind, Request, Value, decide};

/// One change that would let the request through (with the steps after it, if any).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    /// One line: what to change, and where.
    pub change: String,
    /// The kind of policy to change.
    pub kind: PolicyKind,
    /// The policy to change, by the name the lab shows it with (None: a new inline policy).
    pub policy: Option<String>,
    pub how: How,
}

impl Fix {
    /// The same fix, its added statement holding only while `condition` does (the lab's expiry,
    /// which every Allow the lab writes carries); any other fix as it is.
    pub fn with_condition(mut self, condition: &Json) -> Self {
        if let How::AddStatement { statement } = &mut self.how {
            let before = statement.to_string();
            let merged = match statement.get("Condition") {
                Some(Json::Object(had)) => {
                    let mut all = had.clone();
                    if let Json::Object(more) = condition {
                        all.extend(more.clone());
                    }
                    Json::Object(all)
                }
                _ => condition.clone(),
            };
            statement["Condition"] = merged;
            self.change = self.change.replace(&before, &statement.to_string());
        }
        self
    }
}

/// What the change is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum How {
    /// Take out (or narrow) the statement that denies the request.
    RemoveStatement { statement: Option<String> },
    /// Add this statement to the policy.
    AddStatement { statement: Json },
    /// The statement allows the request when its condition holds: the request must carry a
    /// value that meets it (or the condition must change).
    MeetCondition {
        statement: Option<String>,
        operator: String,
        key: String,
        values: Json,
        request: Option<Value>,
    },
}

/// The most steps a fix takes (a Deny in each kind, then an Allow missing in each).
const MOST_STEPS: usize = 6;

/// The steps that would flip `decision` (of `request` on `documents`) to Allow; empty when it is
/// allowed already.
pub fn fixes(documents: &[Document], request: &Request) -> Result<Vec<Fix>> {
    let mut documents = documents.to_vec();
    let mut request = request.clone();
    let mut out = Vec::new();
    for _ in 0..MOST_STEPS {
        let decision = decide(&documents, &request)?;
        let Some(step) = next(&decision, &documents, &request) else {
            break;
        };
        if !apply(&step, &mut documents, &mut request) {
            out.push(step);
            break;
        }
        out.push(step);
    }
    Ok(out)
}

/// The one change `decision` asks for next (None: allowed).
fn next(decision: &Decision, documents: &[Document], request: &Request) -> Option<Fix> {
    match decision.decided_by.effect {
        Effect::Allow => None,
        Effect::ExplicitDeny => {
            let policy = decision.decided_by.policy.clone();
            let kind = kind_of(documents, policy.as_deref());
            let sid = decision.decided_by.statement.clone();
            let which = sid
                .as_deref()
                .map_or_else(|| "the statement".to_owned(), |s| format!("statement {s}"));
            Some(Fix {
                change: format!(
                    "take {which} (Deny) out of {}, or narrow its Action, Resource or Condition so that it no longer matches {} on {}",
                    policy.as_deref().unwrap_or("its policy"),
                    request.action,
                    request.resource
                ),
                kind,
                policy,
                how: How::RemoveStatement { statement: sid },
            })
        }
        Effect::ImplicitDeny => {
            let kind = decision.missing.unwrap_or(PolicyKind::Identity);
            Some(near_miss(decision, kind).unwrap_or_else(|| add_statement(documents, request, kind)))
        }
    }
}

fn kind_of(documents: &[Document], name: Option<&str>) -> PolicyKind {
    documents
        .iter()
        .find(|d| Some(d.name.as_str()) == name)
        .map_or(PolicyKind::Identity, |d| d.kind)
}

/// An Allow of `kind` that matched the request but for a condition: meet that condition.
fn near_miss(decision: &Decision, kind: PolicyKind) -> Option<Fix> {
    let kinds = match kind {
        PolicyKind::Trust | PolicyKind::Resource => vec![PolicyKind::Trust, PolicyKind::Resource],
        PolicyKind::Identity => vec![PolicyKind::Identity, PolicyKind::Trust, PolicyKind::Resource],
        other => vec![other],
    };
    let (policy, statement) = decision
        .policies
        .iter()
        .filter(|p| kinds.contains(&p.kind))
        .find_map(|p| {
            p.statements
                .iter()
                .find(|s| !s.deny && !s.applies && s.why == super::trace::CONDITIONS_NOT_MET)
                .map(|s| (p, s))
        })?;
    let failing = statement.conditions.iter().find(|c| !c.holds)?;
    let has = match &failing.request {
        Some(Value::One(v)) => format!("the request has {v}"),
        Some(Value::Many(v)) => format!("the request has {}", v.join(", ")),
        None => "the request does not carry it".to_owned(),
    };
    let sid = statement.sid.as_deref().unwrap_or("a statement");
    Some(Fix {
        change: format!(
            "meet the condition of {sid} ({}): {} {} {} ({has}), or change that condition",
            policy.name, failing.operator, failing.key, failing.values
        ),
        kind: policy.kind,
        policy: Some(policy.name.clone()),
        how: How::MeetCondition {
            statement: statement.sid.clone(),
            operator: failing.operator.clone(),
            key: failing.key.clone(),
            values: failing.values.clone(),
            request: failing.request.clone(),
        },
    })
}

/// A statement allowing the request, added to the kind of policy that must also allow it.
fn add_statement(documents: &[Document], request: &Request, kind: PolicyKind) -> Fix {
    let statement = match kind {
        PolicyKind::Trust | PolicyKind::Resource if request.action.eq_ignore_ascii_case("sts:AssumeRole") => {
            json!({"Sid": "AllowThisCaller", "Effect": "Allow", "Principal": {"AWS": request.principal}, "Action": request.action})
        }
        PolicyKind::Resource => {
            json!({"Sid": "AllowThisCaller", "Effect": "Allow", "Principal": {"AWS": request.principal},
            "Action": request.action, "Resource": request.resource})
        }
        _ => {
            json!({"Sid": "AllowThisRequest", "Effect": "Allow", "Action": request.action, "Resource": request.resource})
        }
    };
    let kind = if kind == PolicyKind::Resource && request.action.eq_ignore_ascii_case("sts:AssumeRole") {
        PolicyKind::Trust
    } else {
        kind
    };
    let existing = documents.iter().find(|d| d.kind == kind).map(|d| d.name.clone());
    let (policy, place) = match kind {
        // The caller's own policy when it has one (a role's inline policy the learner edits),
        // not one of a group's.
        PolicyKind::Identity => match documents
            .iter()
            .find(|d| d.kind == PolicyKind::Identity && !d.name.contains(" (group "))
        {
            Some(own) => (
                Some(own.name.clone()),
                format!("the policy {} of {}", own.name, caller_name(&request.principal)),
            ),
            None => (
                None,
                format!("an identity policy of {}", caller_name(&request.principal)),
            ),
        },
        PolicyKind::Boundary => (
            existing.clone(),
            format!("the permissions boundary {}", existing.as_deref().unwrap_or("")),
        ),
        PolicyKind::Session => (
            existing,
            "the session policy passed to AssumeRole (or assume without one)".to_owned(),
        ),
        PolicyKind::Trust => (existing, "the role's trust".to_owned()),
        PolicyKind::Resource => (existing, "the resource's policy".to_owned()),
    };
    Fix {
        change: format!("add to {place} the statement {statement}"),
        kind,
        policy,
        how: How::AddStatement { statement },
    }
}

/// `user learner` or `role lab-role` for a caller's ARN.
fn caller_name(arn: &str) -> String {
    match super::Caller::of_arn(arn) {
        Some(super::Caller::User(user)) => format!("user {user}"),
        Some(super::Caller::Session { role, .. }) => format!("role {role}"),
        None => arn.to_owned(),
    }
}

/// Makes `fix` on the documents (or the request); false when it cannot be made offline (a
/// condition whose value cannot be read off it).
pub fn apply(fix: &Fix, documents: &mut Vec<Document>, request: &mut Request) -> bool {
    match &fix.how {
        How::RemoveStatement { statement } => {
            let Some(at) = documents.iter().position(|d| Some(&d.name) == fix.policy.as_ref()) else {
                return false;
            };
            let mut emptied = false;
            let removed = edit_statements(&mut documents[at], |list| {
                let deciding = list.iter().position(|s| {
                    s.get("Effect").and_then(Json::as_str) == Some("Deny")
                        && s.get("Sid").and_then(Json::as_str) == statement.as_deref()
                });
                let removed = deciding.map(|at| list.remove(at)).is_some();
                emptied = list.is_empty();
                removed
            });
            // A policy left without statements is a policy deleted (IAM takes no empty one).
            if removed && emptied {
                documents.remove(at);
            }
            removed
        }
        How::AddStatement { statement } => {
            match documents
                .iter_mut()
                .find(|d| fix.policy.as_ref() == Some(&d.name) && d.kind == fix.kind)
            {
                Some(doc) => edit_statements(doc, |list| {
                    list.push(statement.clone());
                    true
                }),
                None => {
                    documents.push(Document {
                        name: "the fix".to_owned(),
                        kind: fix.kind,
                        json: json!({"Version": "2012-10-17", "Statement": [statement]}).to_string(),
                    });
                    true
                }
            }
        }
        How::MeetCondition {
            operator, key, values, ..
        } => {
            let equal = [
                "StringEquals",
                "StringEqualsIgnoreCase",
                "ArnEquals",
                "Bool",
                "NumericEquals",
            ];
            let value = match values {
                Json::Array(all) => all.first().cloned(),
                one => Some(one.clone()),
            };
            let text = value.map(|v| match v {
                Json::String(s) => s,
                other => other.to_string(),
            });
            match (equal.contains(&operator.as_str()), text) {
                (true, Some(v)) => {
                    request.context.insert(key.clone(), Value::One(v));
                    true
                }
                _ => false,
            }
        }
    }
}

/// Runs `edit` on a document's statements (always a list after it); false when it is not JSON or
/// `edit` changed nothing.
fn edit_statements(doc: &mut Document, edit: impl FnOnce(&mut Vec<Json>) -> bool) -> bool {
    let Ok(mut parsed) = serde_json::from_str::<Json>(&doc.json) else {
        return false;
    };
    let mut list = match parsed.get("Statement") {
        Some(Json::Array(all)) => all.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    if !edit(&mut list) {
        return false;
    }
    parsed["Statement"] = Json::Array(list);
    doc.json = parsed.to_string();
    true
}

#[cfg(test)]
mod tests;
