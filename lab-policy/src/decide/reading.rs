//! What IAM reads in a statement that `iam-rs` reads otherwise, made plain before it evaluates:
//! condition values as text (a JSON `true` or `10`), `Bool` values in any case, date-only dates
//! (`2026-06-01`, midnight UTC), `BinaryEquals` against the base64 it holds, `ArnEquals` with its
//! wildcards as `ArnLike`; an `…IfExists` condition whose key the request lacks holds, and one
//! whose key it carries is read without `IfExists`; a negated operator holds when the key is
//! absent; several request values under a plain operator are read as `ForAnyValue:`; a Resource whose policy variables resolve
//! to text holding `*` or `?` (`${*}`, a tag's value) matches those characters literally; before
//! version 2012-10-17, `${…}` in a Resource is plain text. Pure.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use super::{Request, Value};
use crate::prove::strings;

/// A Resource that never matches, standing for patterns the request's resource is not.
const NEVER: &str = "arn:sts-lab:never:::never";

/// `statement` with its Condition block as `iam-rs` should read it (see the module).
pub fn for_iam(statement: &Json, request: &Request) -> Json {
    let Some(Json::Object(block)) = statement.get("Condition") else {
        return statement.clone();
    };
    let mut read = Map::new();
    for (operator, keys) in block {
        let Some(keys) = keys.as_object() else { continue };
        for (key, values) in keys {
            if let Some((operator, values)) = readable(operator, key, values, request) {
                let slot = read.entry(operator).or_insert_with(|| json!({}));
                slot[key] = values;
            }
        }
    }
    let mut out = statement.clone();
    out["Condition"] = Json::Object(read);
    out
}

/// One condition as `iam-rs` should read it: its operator and values; None when it holds by
/// itself (an `…IfExists` whose key the request lacks).
pub fn readable(operator: &str, key: &str, values: &Json, request: &Request) -> Option<(String, Json)> {
    let found = request
        .context
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v);
    let mut operator = match operator.strip_suffix("IfExists") {
        Some(_) if found.is_none() => return None,
        Some(base) => base.to_owned(),
        None => operator.to_owned(),
    };
    let set = operator.starts_with("ForAnyValue:") || operator.starts_with("ForAllValues:");
    // A negated operator holds when the request lacks the key (IAM User Guide, "Condition keys
    // not present in the request"), whatever its values.
    if !set && found.is_none() && NEGATED.contains(&operator.as_str()) {
        return None;
    }
    // Several request values under a plain operator: any of them (AWS leaves it undefined).
    if !set && matches!(found, Some(Value::Many(_))) {
        operator = format!("ForAnyValue:{operator}");
    }
    let (prefix, base) = match operator.split_once(':') {
        Some((prefix, base)) => (format!("{prefix}:"), base.to_owned()),
        None => (String::new(), operator.clone()),
    };
    let (boolean, date, binary) = (
        base.starts_with("Bool"),
        base.starts_with("Date"),
        base == "BinaryEquals",
    );
    let arn = base.starts_with("Arn");
    let text = |v: &Json| match v {
        Json::String(s) if boolean => Json::String(s.to_ascii_lowercase()),
        Json::String(s) if date && is_date_only(s) => Json::String(format!("{s}T00:00:00Z")),
        // The request's bytes against the policy's base64 (IAM User Guide, "Binary condition
        // operators"): compared here as the text they are.
        Json::String(s) if binary => aws_smithy_types::base64::decode(s)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map_or_else(|| Json::String(format!("{NEVER}{s}")), Json::String),
        // An ARN of fewer than six parts matches no ARN (each part is matched on its own).
        Json::String(s) if arn && strings::arn(s).is_none() => Json::String(NEVER.to_owned()),
        Json::Bool(b) => Json::String(b.to_string()),
        Json::Number(n) => Json::String(n.to_string()),
        other => other.clone(),
    };
    let values = match values {
        Json::Array(all) => Json::Array(all.iter().map(text).collect()),
        one => text(one),
    };
    // ArnEquals matches as ArnLike does, each segment with its wildcards (IAM User Guide, "ARN
    // condition operators"); iam-rs compares it exactly.
    let operator = match base.as_str() {
        "BinaryEquals" => format!("{prefix}StringEquals"),
        "ArnEquals" => format!("{prefix}ArnLike"),
        "ArnNotEquals" => format!("{prefix}ArnNotLike"),
        _ => operator,
    };
    Some((operator, values))
}

/// The negated condition operators.
const NEGATED: [&str; 8] = [
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
    "ArnNotEquals",
    "ArnNotLike",
];

/// `2026-06-01`: a date without its time.
fn is_date_only(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// `statement` with a Resource or NotResource that `iam-rs` would misread matched here: one whose
/// policy variables (`variables`: a 2012-10-17 policy) resolve to text holding `*` or `?`, those
/// characters literal; or, before 2012-10-17, one holding `${`, which is plain text then. The
/// element becomes `*` when the request's resource matches it, else one that matches nothing.
/// Any other statement as it is.
pub fn literal_resources(
    statement: &Json,
    context: &BTreeMap<String, Value>,
    request: &Request,
    variables: bool,
) -> Json {
    let mut out = statement.clone();
    for element in ["Resource", "NotResource"] {
        let values: Vec<&str> = match statement.get(element) {
            Some(Json::String(one)) => vec![one.as_str()],
            Some(Json::Array(all)) => all.iter().filter_map(Json::as_str).collect(),
            _ => continue,
        };
        let pieces: Option<Vec<Vec<(String, bool)>>> = match variables {
            true => values.iter().map(|v| super::variables::resolve(v, context)).collect(),
            false => Some(values.iter().map(|v| vec![((*v).to_owned(), false)]).collect()),
        };
        let Some(pieces) = pieces else { continue };
        let misread = match variables {
            true => pieces
                .iter()
                .flatten()
                .any(|(text, literal)| *literal && text.contains(['*', '?'])),
            false => values.iter().any(|v| v.contains("${")),
        };
        if !misread {
            continue;
        }
        // Matched as the proof matches a Resource: each ARN part on its own.
        let matched = pieces
            .iter()
            .filter_map(|value| strings::arn_of_pieces(value))
            .any(|pattern| strings::matches(&pattern, &request.resource));
        out[element] = json!(if matched { "*" } else { NEVER });
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::decide::{Document, Effect, PolicyKind, Request, Value, decide};

    /// Whether an Allow of `statement` (version 2012-10-17) lets `resource` through with `context`.
    fn allows(statement: serde_json::Value, resource: &str, context: &[(&str, Value)]) -> bool {
        let document = Document {
            name: "p".into(),
            kind: PolicyKind::Identity,
            json: json!({"Version": "2012-10-17", "Statement": [statement]}).to_string(),
        };
        let request = Request {
            principal: "arn:aws:iam::123456789012:user/alice".into(),
            action: "s3:ListBucket".into(),
            resource: resource.into(),
            context: context.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        };
        decide(&[document], &request).unwrap().decided_by.effect == Effect::Allow
    }

    fn when(condition: serde_json::Value) -> serde_json::Value {
        json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": condition})
    }

    const B: &str = "arn:aws:s3:::b";

    #[test]
    fn condition_values_are_read_as_iam_reads_them() {
        let mfa = [("aws:MultiFactorAuthPresent", Value::One("true".into()))];
        assert!(allows(
            when(json!({"Bool": {"aws:MultiFactorAuthPresent": true}})),
            B,
            &mfa
        ));
        assert!(allows(
            when(json!({"Bool": {"aws:MultiFactorAuthPresent": "TRUE"}})),
            B,
            &mfa
        ));
        // A value its operator cannot read never holds, and decides nothing else.
        let n = [("s3:max-keys", Value::One("10".into()))];
        assert!(!allows(when(json!({"NumericEquals": {"s3:max-keys": "ten"}})), B, &n));
        assert!(allows(when(json!({"NumericEquals": {"s3:max-keys": 10}})), B, &n));
        // IfExists and negated operators with the key absent hold, whatever the values.
        assert!(allows(when(json!({"BoolIfExists": {"aws:nothing": "1"}})), B, &[]));
        assert!(allows(when(json!({"NotIpAddress": {"aws:nothing": "1"}})), B, &[]));
        let t = [("aws:CurrentTime", Value::One("2026-06-01T12:00:00Z".into()))];
        assert!(allows(
            when(json!({"DateGreaterThan": {"aws:CurrentTime": "2026-06-01"}})),
            B,
            &t
        ));
        let arn = [(
            "aws:PrincipalArn",
            Value::One("arn:aws:iam::123456789012:role/team/Deploy".into()),
        )];
        assert!(allows(
            when(json!({"ArnEquals": {"aws:PrincipalArn": "arn:*:iam::?????????012:role/team/Deploy"}})),
            B,
            &arn
        ));
        assert!(!allows(
            when(json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}})),
            B,
            &arn
        ));
        let keys = [("aws:TagKeys", Value::Many(vec!["team".into(), "cost".into()]))];
        assert!(!allows(
            when(json!({"StringNotEquals": {"aws:TagKeys": ["cost", "team"]}})),
            B,
            &keys
        ));
    }

    #[test]
    fn a_variables_wildcards_are_literal_in_a_resource() {
        let literal = json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${*}${?}${$}"});
        assert!(allows(literal.clone(), "arn:aws:s3:::b/*?$", &[]));
        assert!(!allows(literal, "arn:aws:s3:::b/key$", &[]));
        let tagged = json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:PrincipalTag/p}"});
        let star = [("aws:PrincipalTag/p", Value::One("a*".into()))];
        assert!(allows(tagged.clone(), "arn:aws:s3:::a*", &star));
        assert!(!allows(tagged, "arn:aws:s3:::abc", &star));
    }
}
