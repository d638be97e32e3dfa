//! The evaluator as a service for the emulator, so that IAM's rules are written once, here: one
//! request a line of JSON in (`{"policies": [{"name", "kind", "document"}], "request":
//! {"principal", "action", "resource", "context"}}`), its decision a line out (`{"effect",
//! "policy", "statement", "message_reason"}`, or `{"error"}`). The emulator's Python starts one
//! (`cargo xtask emulator decide`) and asks it for every request it decides. A document IAM would
//! have refused decides nothing (it stands as a policy that allows nothing, as one without
//! statements), so that a stored oddity never turns into a 500. Pure but for [`serve`].

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::decide::{Decision, Document, Effect, PolicyKind, Request, Value, decide, grammar};

/// One question, as the emulator sends it.
#[derive(Debug, Deserialize)]
struct Asked {
    policies: Vec<PolicyIn>,
    request: RequestIn,
}

#[derive(Debug, Deserialize)]
struct PolicyIn {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    /// The document's text, or the document itself.
    #[serde(default)]
    document: Json,
}

#[derive(Debug, Deserialize)]
struct RequestIn {
    principal: String,
    action: String,
    #[serde(default = "any_resource")]
    resource: String,
    #[serde(default)]
    context: BTreeMap<String, ValueIn>,
}

fn any_resource() -> String {
    "*".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ValueIn {
    One(String),
    Many(Vec<String>),
}

/// The decision as the emulator reads it: the effect, the policy and statement that made it, and
/// AWS's phrase for an AccessDenied message.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub effect: Option<Effect>,
    pub policy: Option<String>,
    pub statement: Option<String>,
    pub message_reason: Option<String>,
    pub error: Option<String>,
}

/// A policy that allows nothing, standing for a document IAM would have refused.
const NOTHING: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts-lab:Nothing","Resource":"*"}]}"#;

fn kind_of(name: Option<&str>) -> PolicyKind {
    match name {
        Some("session") => PolicyKind::Session,
        Some("trust") => PolicyKind::Trust,
        Some("boundary") => PolicyKind::Boundary,
        Some("resource") => PolicyKind::Resource,
        _ => PolicyKind::Identity,
    }
}

fn document_of(policy: PolicyIn) -> Document {
    let text = match policy.document {
        Json::String(text) => text,
        other => other.to_string(),
    };
    let json = match grammar::problem(&text) {
        None => text,
        Some(_) => NOTHING.to_owned(),
    };
    Document {
        name: policy.name.unwrap_or_default(),
        kind: kind_of(policy.kind.as_deref()),
        json,
    }
}

/// The answer to one line.
pub fn answer(line: &str) -> Answer {
    let asked: Asked = match serde_json::from_str(line) {
        Ok(asked) => asked,
        Err(e) => {
            return Answer {
                error: Some(format!("not a question: {e}")),
                ..Answer::default()
            };
        }
    };
    let documents: Vec<Document> = asked.policies.into_iter().map(document_of).collect();
    let r = asked.request;
    let request = Request {
        principal: r.principal,
        action: r.action,
        resource: r.resource,
        context: r
            .context
            .into_iter()
            .map(|(k, v)| {
                let value = match v {
                    ValueIn::One(one) => Value::One(one),
                    ValueIn::Many(many) => Value::Many(many),
                };
                (k, value)
            })
            .collect(),
    };
    match decide(&documents, &request) {
        Ok(decision) => answered(&decision, &documents, &request),
        Err(e) => Answer {
            error: Some(format!("{e:#}")),
            ..Answer::default()
        },
    }
}

/// AWS's names of a kind in an AccessDenied message: `with an explicit deny in …`.
fn explicitly(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Identity => "an identity-based policy",
        PolicyKind::Session => "a session policy",
        PolicyKind::Trust => "the role trust policy",
        PolicyKind::Boundary => "a permissions boundary",
        PolicyKind::Resource => "a resource-based policy",
    }
}

fn answered(decision: &Decision, documents: &[Document], request: &Request) -> Answer {
    let by = &decision.decided_by;
    let assume = request.action.eq_ignore_ascii_case("sts:AssumeRole");
    let as_read = |kind: PolicyKind| match kind {
        PolicyKind::Resource if assume => PolicyKind::Trust,
        other => other,
    };
    let message_reason = match by.effect {
        Effect::Allow => None,
        Effect::ExplicitDeny => {
            let kind = documents
                .iter()
                .find(|d| Some(&d.name) == by.policy.as_ref())
                .map_or(PolicyKind::Identity, |d| as_read(d.kind));
            Some(format!("with an explicit deny in {}", explicitly(kind)))
        }
        Effect::ImplicitDeny => {
            let kind = as_read(decision.missing.unwrap_or(PolicyKind::Identity));
            Some(format!(
                "because no {} allows the {} action",
                kind.aws_name(),
                request.action
            ))
        }
    };
    Answer {
        effect: Some(by.effect),
        policy: by.policy.clone(),
        statement: by.statement.clone(),
        message_reason,
        error: None,
    }
}

/// Answers each line of `input` on a line of `output`, until `input` ends.
pub fn serve(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let text = serde_json::to_string(&answer(&line)).unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#));
        writeln!(output, "{text}")?;
        output.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_gets_the_decision_and_aws_words_for_a_refusal() {
        let ask = |policies: &str, action: &str| {
            answer(&format!(
                r#"{{"policies": {policies}, "request": {{"principal": "arn:aws:iam::123456789012:user/u", "action": "{action}", "resource": "*", "context": {{"aws:TagKeys": ["a", "b"]}}}}}}"#
            ))
        };
        let allow = r#"[{"name": "p", "kind": "identity", "document": {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}]"#;
        let got = ask(allow, "s3:ListAllMyBuckets");
        assert_eq!(
            (got.effect, got.policy.as_deref(), got.statement.as_deref()),
            (Some(Effect::Allow), Some("p"), Some("S"))
        );
        let got = ask(allow, "iam:ListUsers");
        assert_eq!(
            got.message_reason.as_deref(),
            Some("because no identity-based policy allows the iam:ListUsers action")
        );
        let deny = r#"[{"name": "b", "kind": "boundary", "document": "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Deny\", \"Action\": \"*\", \"Resource\": \"*\"}]}"}]"#;
        let got = ask(deny, "s3:ListAllMyBuckets");
        assert_eq!(
            got.message_reason.as_deref(),
            Some("with an explicit deny in a permissions boundary")
        );
        // A document IAM would refuse allows nothing; a line that is no question says so.
        let odd = r#"[{"name": "p", "kind": "identity", "document": {"Statement": [{"Action": "s3:*"}]}}]"#;
        assert_eq!(ask(odd, "s3:ListAllMyBuckets").effect, Some(Effect::ImplicitDeny));
        assert!(answer("{").error.is_some());
    }
}
