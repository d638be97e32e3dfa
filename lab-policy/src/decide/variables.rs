//! Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`, `${*}`) resolved
//! from a request's context, as IAM resolves them in policies of version 2012-10-17: a key's
//! value, else the default after the comma, else nothing, and then the whole statement does not
//! apply, whether the variable sits in Resource, NotResource or a Condition (IAM User Guide,
//! "IAM policy elements: Variables and tags": "If AWS cannot resolve a variable this might cause
//! the entire statement to be invalid"). The one place for `decide` and the proof.

use std::collections::BTreeMap;

use super::Value;

/// Resolves the policy variables of `text` with `context` (keys lower-cased): the pieces, each
/// literal (a variable's value) or not; None when a variable cannot be resolved.
pub fn resolve(text: &str, context: &BTreeMap<String, Value>) -> Option<Vec<(String, bool)>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push((rest[..at].to_owned(), false));
        let after = &rest[at + 2..];
        let end = after.find('}')?;
        let inner = after[..end].trim();
        let value = match inner {
            "*" | "?" | "$" => inner.to_owned(),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\'').to_owned())),
                    None => (inner, None),
                };
                match context.get(&key.to_ascii_lowercase()) {
                    Some(Value::One(v)) => v.clone(),
                    Some(Value::Many(v)) => v.join(","),
                    None => default?,
                }
            }
        };
        out.push((value, true));
        rest = &after[end + 1..];
    }
    out.push((rest.to_owned(), false));
    Some(out)
}

/// `context` with its keys lower-cased, as [`resolve`] reads it.
pub fn lowered(context: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    context
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

/// `statement` with every policy variable of its Resource, NotResource and Condition values
/// replaced by its value; Err with the first value whose variable `context` cannot resolve. Only
/// for a policy of version 2012-10-17 (before it, `${…}` is text).
pub fn substitute(
    statement: &serde_json::Value,
    context: &BTreeMap<String, Value>,
) -> Result<serde_json::Value, String> {
    use serde_json::Value as Json;
    fn walk(value: &mut Json, context: &BTreeMap<String, Value>) -> Result<(), String> {
        match value {
            Json::String(text) if text.contains("${") => {
                let pieces = resolve(text, context).ok_or_else(|| text.clone())?;
                *text = pieces.into_iter().map(|(t, _)| t).collect();
                Ok(())
            }
            Json::Array(items) => items.iter_mut().try_for_each(|i| walk(i, context)),
            Json::Object(fields) => fields.values_mut().try_for_each(|f| walk(f, context)),
            _ => Ok(()),
        }
    }
    let mut out = statement.clone();
    if let Some(fields) = out.as_object_mut() {
        for element in ["Resource", "NotResource"] {
            if let Some(value) = fields.get_mut(element) {
                walk(value, context)?;
            }
        }
        if let Some(Json::Object(operators)) = fields.get_mut("Condition") {
            for (operator, keys) in operators.iter_mut() {
                if takes_variables(operator) {
                    walk(keys, context)?;
                }
            }
        }
    }
    Ok(out)
}

/// Whether a condition operator reads policy variables in its values: the string and ARN
/// operators and Bool (IAM User Guide, "Where you can use policy variables").
pub fn takes_variables(operator: &str) -> bool {
    let base = operator
        .strip_prefix("ForAnyValue:")
        .or_else(|| operator.strip_prefix("ForAllValues:"))
        .unwrap_or(operator);
    base.starts_with("String") || base.starts_with("Arn") || base.starts_with("Bool")
}
