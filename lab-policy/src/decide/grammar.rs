//! A policy document's grammar, as IAM checks it when the document is written and refuses it with
//! MalformedPolicyDocument (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html):
//! only `Version`, `Id` and `Statement` at the top, known statement elements, an `Effect` of
//! `Allow` or `Deny` in every statement, one of `Action`/`NotAction`, known condition operators.
//! A document IAM would refuse is never decided on: no statement of it is read as anything.

use serde_json::Value as Json;

const TOP: [&str; 3] = ["Version", "Id", "Statement"];
const VERSIONS: [&str; 2] = ["2008-10-17", "2012-10-17"];
const ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
/// The condition operators, without their `IfExists` suffix and set prefixes.
const OPERATORS: [&str; 27] = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// Whether `name` is a condition operator IAM knows: one of [`OPERATORS`], with an optional
/// `ForAllValues:`/`ForAnyValue:` prefix and `IfExists` suffix.
pub fn known_operator(name: &str) -> bool {
    let name = name
        .strip_prefix("ForAllValues:")
        .or_else(|| name.strip_prefix("ForAnyValue:"))
        .unwrap_or(name);
    let name = name.strip_suffix("IfExists").unwrap_or(name);
    OPERATORS.contains(&name)
}

/// Why IAM would refuse `document` (MalformedPolicyDocument), or None when it takes it.
pub fn problem(document: &str) -> Option<String> {
    let parsed: Json = match serde_json::from_str(document) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("the document is not JSON ({e})")),
    };
    let Some(top) = parsed.as_object() else {
        return Some("the document is not a JSON object".to_owned());
    };
    if let Some(unknown) = top.keys().find(|k| !TOP.contains(&k.as_str())) {
        return Some(format!(
            "unknown element {unknown:?} at the top (only Version, Id and Statement)"
        ));
    }
    if let Some(version) = top.get("Version")
        && !version.as_str().is_some_and(|v| VERSIONS.contains(&v))
    {
        return Some(format!("Version {version} is neither 2012-10-17 nor 2008-10-17"));
    }
    let statements = match top.get("Statement") {
        Some(Json::Array(all)) if !all.is_empty() => all.iter().collect::<Vec<_>>(),
        Some(one @ Json::Object(_)) => vec![one],
        _ => return Some("no Statement".to_owned()),
    };
    statements
        .iter()
        .enumerate()
        .find_map(|(i, s)| statement_problem(s).map(|why| format!("statement {}: {why}", i + 1)))
}

fn statement_problem(statement: &Json) -> Option<String> {
    let Some(fields) = statement.as_object() else {
        return Some("not a JSON object".to_owned());
    };
    if let Some(unknown) = fields.keys().find(|k| !ELEMENTS.contains(&k.as_str())) {
        return Some(format!("unknown element {unknown:?}"));
    }
    match fields.get("Effect").and_then(Json::as_str) {
        Some("Allow" | "Deny") => {}
        Some(other) => return Some(format!("Effect {other:?} is neither Allow nor Deny")),
        None => return Some("no Effect".to_owned()),
    }
    let pairs = [
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
        ("Principal", "NotPrincipal"),
    ];
    if let Some((a, b)) = pairs
        .iter()
        .find(|(a, b)| fields.contains_key(*a) && fields.contains_key(*b))
    {
        return Some(format!("both {a} and {b}"));
    }
    if !fields.contains_key("Action") && !fields.contains_key("NotAction") {
        return Some("no Action or NotAction".to_owned());
    }
    condition_problem(fields.get("Condition")?)
}

/// An operator IAM does not know is refused unless its block is empty (IAM ignores those).
fn condition_problem(condition: &Json) -> Option<String> {
    let Some(operators) = condition.as_object() else {
        return Some("Condition is not a JSON object".to_owned());
    };
    for (operator, block) in operators {
        let Some(keys) = block.as_object() else {
            return Some(format!("condition {operator} is not a JSON object"));
        };
        if !known_operator(operator) && !keys.is_empty() {
            return Some(format!("unknown condition operator {operator}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_iam_refuses_is_said_and_what_it_takes_is_not() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"a*"},"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}}]}"#;
        assert_eq!(problem(ok), None);
        let cases = [
            (
                r#"{"Statement":[{"Action":"s3:*","Resource":"*"}]}"#,
                "statement 1: no Effect",
            ),
            (
                r#"{"Statement":{"Effect":"allow","Action":"s3:*"}}"#,
                "statement 1: Effect \"allow\" is neither Allow nor Deny",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"StringEqualz":{"a":"b"}}}]}"#,
                "statement 1: unknown condition operator StringEqualz",
            ),
            (
                r#"{"Foo":1,"Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
                "unknown element \"Foo\" at the top (only Version, Id and Statement)",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resources":"*"}]}"#,
                "statement 1: unknown element \"Resources\"",
            ),
            (
                r#"{"Version":"2013-01-01","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
                "Version \"2013-01-01\" is neither 2012-10-17 nor 2008-10-17",
            ),
            (r#"{"Version":"2012-10-17"}"#, "no Statement"),
            (r#"{"Version":"2012-10-17","Statement":[]}"#, "no Statement"),
        ];
        for (document, why) in cases {
            assert_eq!(problem(document).as_deref(), Some(why), "{document}");
        }
        // An unknown operator with nothing under it is ignored by IAM.
        let empty = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"StringEqualz":{}}}]}"#;
        assert_eq!(problem(empty), None);
    }
}
