//! `why` as lines: the request and its context, each policy with its statements (✓ applies, ✗
//! does not, and why), each condition with the request's value, and the decision.

use crate::model::decide::{ConditionTrace, Effect, PolicyKind, Value};
use crate::output::WhyDoc;

fn shown(value: &Value) -> String {
    match value {
        Value::One(v) => format!("{v:?}"),
        Value::Many(v) => format!("{v:?}"),
    }
}

fn condition_line(c: &ConditionTrace) -> String {
    let request = c.request.as_ref().map_or_else(|| "absent".to_owned(), shown);
    let verdict = if c.holds { "holds" } else { "does not hold" };
    format!(
        "      {} {} {}: the request has {request}, {verdict}",
        c.operator, c.key, c.values
    )
}

/// The lines of `why`: `(Some(passed), text)` for an outcome (✓/✗), `(None, text)` for the rest.
pub fn why_lines(doc: &WhyDoc) -> Vec<(Option<bool>, String)> {
    let mut out = Vec::new();
    if let Some(operation) = &doc.operation {
        out.push((
            None,
            format!("the API operation {operation} needs the IAM action {}", doc.action),
        ));
    }
    out.push((
        None,
        format!("request: {} {} on {}", doc.principal, doc.action, doc.resource),
    ));
    for (key, value) in &doc.context {
        out.push((None, format!("  {key} = {}", shown(value))));
    }
    if doc.policies.is_empty() {
        out.push((None, "no policy is in play".to_owned()));
    }
    for policy in &doc.policies {
        let kind = match policy.kind {
            PolicyKind::Identity => "identity policy",
            PolicyKind::Session => "session policy",
            PolicyKind::Trust => "trust policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Resource => "resource policy",
        };
        out.push((None, format!("{kind} {}", policy.name)));
        for (n, s) in policy.statements.iter().enumerate() {
            let sid = s.sid.clone().unwrap_or_else(|| format!("statement {}", n + 1));
            let verdict = if s.applies {
                "applies".to_owned()
            } else {
                format!("does not apply: {}", s.why)
            };
            out.push((Some(s.applies), format!("{sid} ({}): {verdict}", s.effect)));
            out.extend(s.conditions.iter().map(|c| (None, condition_line(c))));
        }
    }
    let allowed = doc.decided_by.effect == Effect::Allow;
    out.push((Some(allowed), format!("decision: {}", doc.why)));
    out.extend(advice_lines(&doc.advice, "").into_iter().map(|l| (None, l)));
    out
}

/// The advice on a refusal, as lines: the first (what would change it), then each other way; a
/// change's later steps after it.
pub fn advice_lines(advice: &[crate::model::advice::Advice], indent: &str) -> Vec<String> {
    use crate::model::advice::Advice;
    let mut out = Vec::new();
    for (n, a) in advice.iter().enumerate() {
        let lead = if n == 0 { "what would change it" } else { "or" };
        out.push(format!("{indent}{lead}: {}", a.line()));
        if let Advice::Change { steps, .. } = a {
            out.extend(steps.iter().skip(1).map(|s| format!("{indent}  then: {}", s.change)));
        }
    }
    out
}
