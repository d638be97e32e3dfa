//! A statement's conditions as the proof reads them: each operator typed (string, ARN, number,
//! date, boolean, IP address, Null; `IfExists`, `ForAnyValue`, `ForAllValues`, negation), held
//! against one value of the request's context; and the values of one key worth trying, one in
//! each class of values the conditions tell apart (AWS's rules: IAM User Guide, "IAM JSON policy
//! elements: Condition operators" and "Condition keys with multiple values").

use std::net::Ipv4Addr;

use super::strings::{self, Pattern};
use crate::time::{format_utc, parse_utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// An operator without its negation, set prefix and `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// The family of values an operator compares: a key compared by two families is outside the
/// fragment the proof decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Text,
    Bool,
    Number,
    Date,
    Ip,
    Null,
}

impl Op {
    pub fn family(self) -> Family {
        match self {
            Op::StringEquals | Op::StringEqualsIgnoreCase | Op::StringLike | Op::Binary | Op::Arn => Family::Text,
            Op::Bool => Family::Bool,
            Op::Numeric(_) => Family::Number,
            Op::Date(_) => Family::Date,
            Op::Ip => Family::Ip,
            Op::Null => Family::Null,
        }
    }
}

/// How a condition reads a key with several values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMode {
    Single,
    AnyValue,
    AllValues,
}

/// One condition: an operator on one key, with the policy's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub operator: String,
    /// The key, lower-cased (keys are case-insensitive).
    pub key: String,
    /// The key as the policy spells it.
    pub name: String,
    pub op: Op,
    pub negated: bool,
    pub set: SetMode,
    pub if_exists: bool,
    pub values: Vec<Value>,
}

/// One value of a condition: its text, and its pattern for the text operators (None: it
/// matches nothing, an ARN pattern with a wildcard in its service).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub text: String,
    pub pattern: Option<Pattern>,
}

/// The operator `name` (`ForAnyValue:StringNotLikeIfExists`) read, or None when unknown.
pub fn operator(name: &str) -> Option<(Op, bool, SetMode, bool)> {
    let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (SetMode::AnyValue, r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (SetMode::AllValues, r)
    } else {
        (SetMode::Single, name)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let cmp = |tail: &str| match tail {
        "Equals" => Some((Cmp::Eq, false)),
        "NotEquals" => Some((Cmp::Eq, true)),
        "LessThan" => Some((Cmp::Lt, false)),
        "LessThanEquals" => Some((Cmp::Le, false)),
        "GreaterThan" => Some((Cmp::Gt, false)),
        "GreaterThanEquals" => Some((Cmp::Ge, false)),
        _ => None,
    };
    let (op, negated) = match base {
        "StringEquals" => (Op::StringEquals, false),
        "StringNotEquals" => (Op::StringEquals, true),
        "StringEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, true),
        "StringLike" => (Op::StringLike, false),
        "StringNotLike" => (Op::StringLike, true),
        "Bool" => (Op::Bool, false),
        "BinaryEquals" => (Op::Binary, false),
        "IpAddress" => (Op::Ip, false),
        "NotIpAddress" => (Op::Ip, true),
        "ArnEquals" | "ArnLike" => (Op::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Op::Arn, true),
        "Null" => (Op::Null, false),
        other => {
            if let Some(tail) = other.strip_prefix("Numeric") {
                let (c, n) = cmp(tail)?;
                (Op::Numeric(c), n)
            } else if let Some(tail) = other.strip_prefix("Date") {
                let (c, n) = cmp(tail)?;
                (Op::Date(c), n)
            } else {
                return None;
            }
        }
    };
    Some((op, negated, set, if_exists))
}

/// A value's pattern for `op` (text operators only).
pub fn pattern_for(op: Op, pieces: &[(String, bool)]) -> Option<Pattern> {
    let text: String = pieces.iter().map(|(t, _)| t.as_str()).collect();
    let all_literal = pieces.iter().all(|(_, literal)| *literal);
    match op {
        Op::StringEquals | Op::Binary => Some(strings::literal(&text, false)),
        Op::StringEqualsIgnoreCase => Some(strings::literal(&text, true)),
        Op::Bool => Some(strings::literal(&text, true)),
        Op::StringLike => Some(
            pieces
                .iter()
                .flat_map(|(t, literal)| match literal {
                    true => strings::literal(t, false),
                    false => strings::glob(t),
                })
                .collect(),
        ),
        Op::Arn if all_literal => strings::arn(&text),
        Op::Arn => strings::arn(&text),
        _ => None,
    }
}

/// Seconds of a date as IAM reads one (`2026-12-07T10:00:00Z`, or Unix seconds).
pub fn date(text: &str) -> Option<i64> {
    parse_utc(text).or_else(|| text.parse::<i64>().ok())
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok()
}

/// An IPv4 address or CIDR block, as the range of addresses it holds.
fn ip_range(text: &str) -> Option<(u32, u32)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok().filter(|b| *b <= 32)?),
        None => (text, 32),
    };
    let addr = u32::from(addr.parse::<Ipv4Addr>().ok()?);
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    Some((addr & mask, (addr & mask) | !mask))
}

fn compare<T: PartialOrd>(cmp: Cmp, got: T, want: T) -> bool {
    match cmp {
        Cmp::Eq => got == want,
        Cmp::Lt => got < want,
        Cmp::Le => got <= want,
        Cmp::Gt => got > want,
        Cmp::Ge => got >= want,
    }
}

/// Whether one value of the request meets one of the policy's values (the operator's positive
/// form).
fn value_holds(op: Op, got: &str, values: &[Value]) -> bool {
    values.iter().any(|want| match op {
        Op::StringEquals | Op::StringEqualsIgnoreCase | Op::StringLike | Op::Binary | Op::Arn | Op::Bool => {
            want.pattern.as_ref().is_some_and(|p| strings::matches(p, got))
        }
        Op::Numeric(cmp) => matches!((number(got), number(&want.text)), (Some(g), Some(w)) if compare(cmp, g, w)),
        Op::Date(cmp) => matches!((date(got), date(&want.text)), (Some(g), Some(w)) if compare(cmp, g, w)),
        Op::Ip => matches!((ip_range(got), ip_range(&want.text)), (Some((g, _)), Some((lo, hi))) if g >= lo && g <= hi),
        Op::Null => false,
    })
}

/// Whether `cond` holds for the request's values of its key (None: the request lacks it).
pub fn holds(cond: &Cond, got: Option<&[String]>) -> bool {
    let got = got.filter(|v| !v.is_empty());
    if cond.op == Op::Null {
        let wants_absent = cond.values.iter().any(|v| v.text.eq_ignore_ascii_case("true"));
        let wants_present = cond.values.iter().any(|v| v.text.eq_ignore_ascii_case("false"));
        return if got.is_none() { wants_absent } else { wants_present };
    }
    let one = |v: &String| value_holds(cond.op, v, &cond.values) != cond.negated;
    match (cond.set, got) {
        (_, None) if cond.if_exists => true,
        (SetMode::Single, None) => cond.negated,
        (SetMode::AnyValue, None) => false,
        (SetMode::AllValues, None) => true,
        (SetMode::Single, Some(vs)) => vs.iter().any(|v| value_holds(cond.op, v, &cond.values)) != cond.negated,
        (SetMode::AnyValue, Some(vs)) => vs.iter().any(one),
        (SetMode::AllValues, Some(vs)) => vs.iter().all(one),
    }
}

/// The most values a multivalued key is tried with at once (2^6 - 1 sets of them).
const MOST_SET_VALUES: usize = 6;

/// The values of one key worth trying against `conds` (all on that key): one in each class the
/// conditions tell apart, the key's absence first (None). `many`: the key holds several values;
/// `at_most`: a date key's latest value (a session's issue time is never after now). Err: the
/// key is compared in two families of values, or tried with too many sets, outside the fragment.
pub fn values_to_try(conds: &[&Cond], many: bool, at_most: Option<i64>) -> Result<Vec<Option<Vec<String>>>, String> {
    let families: Vec<Family> = conds
        .iter()
        .map(|c| c.op.family())
        .filter(|f| *f != Family::Null)
        .collect();
    let family = families.first().copied().unwrap_or(Family::Null);
    if families.iter().any(|f| *f != family) {
        let key = conds.first().map_or("", |c| c.key.as_str());
        return Err(format!(
            "key {key} is compared as two kinds of value (text and number, say): not proven"
        ));
    }
    let singles = match family {
        Family::Null => vec!["x".to_owned()],
        Family::Bool => vec!["true".to_owned(), "false".to_owned()],
        Family::Text => text_values(conds)?,
        Family::Number => points(conds, |t| number(t).map(|n| n * 2.0), |n| format_number(n / 2.0)),
        Family::Date => {
            let mut found = points(conds, |t| date(t).map(|s| s as f64), |s| format_utc(s as i64));
            if let Some(cap) = at_most {
                found.retain(|v| date(v).is_some_and(|s| s <= cap));
                found.push(format_utc(cap));
                found.dedup();
            }
            found
        }
        Family::Ip => ip_values(conds),
    };
    let mut out: Vec<Option<Vec<String>>> = vec![None];
    if !many {
        out.extend(singles.into_iter().map(|v| Some(vec![v])));
        return Ok(out);
    }
    if singles.len() > MOST_SET_VALUES {
        return Err(format!(
            "a multivalued key is told apart into {} classes of values, more than the {MOST_SET_VALUES} the proof tries in every set",
            singles.len()
        ));
    }
    for mask in 1u32..(1 << singles.len()) {
        let set = (0..singles.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| singles[i].clone())
            .collect();
        out.push(Some(set));
    }
    Ok(out)
}

fn text_values(conds: &[&Cond]) -> Result<Vec<String>, String> {
    let patterns: Vec<&Pattern> = conds
        .iter()
        .flat_map(|c| c.values.iter())
        .filter_map(|v| v.pattern.as_ref())
        .collect();
    let classes = strings::partition(&patterns, &[])
        .ok_or_else(|| "the values of a key are too many patterns to tell apart: not proven".to_owned())?;
    Ok(classes.into_iter().map(|c| c.witness).collect())
}

/// One value at every point the conditions name, one between each two, one below and one above
/// (`scale` maps a text to a number, twice its value for numbers so that halves stay exact).
fn points(conds: &[&Cond], scale: impl Fn(&str) -> Option<f64>, show: impl Fn(f64) -> String) -> Vec<String> {
    let mut at: Vec<f64> = conds
        .iter()
        .flat_map(|c| c.values.iter())
        .filter_map(|v| scale(&v.text))
        .collect();
    at.sort_by(f64::total_cmp);
    at.dedup();
    let mut out = Vec::new();
    match (at.first(), at.last()) {
        (Some(first), Some(last)) => {
            out.push(first - 2.0);
            for pair in at.windows(2) {
                out.push(pair[0]);
                let mid = ((pair[0] + pair[1]) / 2.0).floor();
                if mid > pair[0] && mid < pair[1] {
                    out.push(mid);
                }
            }
            out.push(*last);
            out.push(last + 2.0);
        }
        _ => out.push(0.0),
    }
    out.into_iter().map(show).collect()
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn ip_values(conds: &[&Cond]) -> Vec<String> {
    let mut at: Vec<u32> = vec![0];
    for (lo, hi) in conds
        .iter()
        .flat_map(|c| c.values.iter())
        .filter_map(|v| ip_range(&v.text))
    {
        at.extend([lo.saturating_sub(1), lo, hi, hi.saturating_add(1)]);
    }
    at.sort_unstable();
    at.dedup();
    at.into_iter().map(|a| Ipv4Addr::from(a).to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(operator: &str, values: &[&str]) -> Cond {
        let (op, negated, set, if_exists) = operator_or_panic(operator);
        Cond {
            operator: operator.to_owned(),
            key: "k".to_owned(),
            name: "k".to_owned(),
            op,
            negated,
            set,
            if_exists,
            values: values
                .iter()
                .map(|t| Value {
                    text: (*t).to_owned(),
                    pattern: pattern_for(op, &[((*t).to_owned(), false)]),
                })
                .collect(),
        }
    }

    fn operator_or_panic(name: &str) -> (Op, bool, SetMode, bool) {
        operator(name).unwrap_or_else(|| panic!("{name}"))
    }

    fn one(v: &str) -> Vec<String> {
        vec![v.to_owned()]
    }

    #[test]
    fn operators_hold_as_iam_documents_them() {
        assert!(holds(&cond("StringLike", &["ab*"]), Some(&one("abc"))));
        assert!(!holds(&cond("StringLike", &["ab*"]), None));
        assert!(holds(&cond("StringNotLike", &["ab*"]), None));
        assert!(holds(&cond("StringLikeIfExists", &["ab*"]), None));
        assert!(holds(&cond("StringEqualsIgnoreCase", &["AB"]), Some(&one("ab"))));
        assert!(holds(
            &cond("DateLessThan", &["2026-01-01T00:00:00Z"]),
            Some(&one("2025-12-31T23:59:59Z"))
        ));
        assert!(holds(&cond("NumericGreaterThanEquals", &["3"]), Some(&one("3"))));
        assert!(holds(&cond("IpAddress", &["10.0.0.0/8"]), Some(&one("10.1.2.3"))));
        assert!(holds(&cond("Null", &["true"]), None) && !holds(&cond("Null", &["false"]), None));
        let tags = vec!["a".to_owned(), "b".to_owned()];
        assert!(holds(&cond("ForAnyValue:StringEquals", &["a"]), Some(&tags)));
        assert!(!holds(&cond("ForAllValues:StringEquals", &["a"]), Some(&tags)));
        assert!(holds(&cond("ForAllValues:StringEquals", &["a"]), None));
        assert!(!holds(&cond("ForAnyValue:StringEquals", &["a"]), None));
        assert!(holds(
            &cond("ArnLike", &["arn:aws:iam::*:role/r"]),
            Some(&one("arn:aws:iam::1:role/r"))
        ));
    }

    #[test]
    fn the_values_tried_cover_every_class() {
        let c = cond("DateLessThan", &["2026-01-01T00:00:00Z"]);
        let tried = values_to_try(&[&c], false, None).unwrap();
        let outcomes: Vec<bool> = tried.iter().map(|v| holds(&c, v.as_deref())).collect();
        assert!(outcomes.contains(&true) && outcomes.contains(&false), "{tried:?}");
        let (a, b) = (cond("StringLike", &["x*"]), cond("StringEquals", &["xy"]));
        let tried = values_to_try(&[&a, &b], false, None).unwrap();
        assert_eq!(tried.len(), 4, "{tried:?}"); // absent, neither, x* only, both
        let mixed = cond("NumericLessThan", &["3"]);
        assert!(values_to_try(&[&a, &mixed], false, None).is_err());
    }
}
