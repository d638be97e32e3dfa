//! Policy documents read for a proof (typed views, serde derive), each statement compiled for one
//! caller: its actions and resources as patterns, its principals, its conditions typed, its
//! policy variables resolved from what the caller fixes (`${aws:username}`, with `${key,
//! 'default'}` defaults; `${*}`, `${?}`, `${$}` the characters). A variable that cannot be
//! resolved makes the whole statement not apply, Resource, NotResource and Condition alike (IAM
//! User Guide, "IAM policy elements: Variables and tags": "If AWS cannot resolve a variable this
//! might cause the entire statement to be invalid").

use std::collections::BTreeMap;

use serde::Deserialize;

use super::conditions::{self, Cond, Op};
use super::strings::{self, Pattern};
use crate::decide::variables::{resolve, takes_variables};
use crate::decide::{Document, PolicyKind, Value};

/// One or several of a thing, as IAM's JSON allows either.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn items(&self) -> &[T] {
        match self {
            OneOrMany::One(one) => std::slice::from_ref(one),
            OneOrMany::Many(many) => many,
        }
    }
}

/// A condition's value: IAM takes strings, numbers and booleans alike.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(t) => t.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A Principal element: `"*"`, or `{"AWS": …, "Service": …, "Federated": …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PrincipalView {
    Everyone(String),
    Named(BTreeMap<String, OneOrMany<String>>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementView {
    pub sid: Option<String>,
    pub effect: String,
    pub action: Option<OneOrMany<String>>,
    pub not_action: Option<OneOrMany<String>>,
    pub resource: Option<OneOrMany<String>>,
    pub not_resource: Option<OneOrMany<String>>,
    pub principal: Option<PrincipalView>,
    pub not_principal: Option<PrincipalView>,
    pub condition: Option<BTreeMap<String, BTreeMap<String, OneOrMany<Scalar>>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DocumentView {
    pub version: Option<String>,
    pub statement: OneOrMany<StatementView>,
}

/// The principals a Principal element names: everyone, or AWS principals (ARNs, account ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principals {
    pub everyone: bool,
    pub aws: Vec<String>,
}

fn principals_of(view: &PrincipalView) -> Principals {
    match view {
        PrincipalView::Everyone(star) => Principals {
            everyone: star == "*",
            aws: Vec::new(),
        },
        PrincipalView::Named(named) => {
            let aws: Vec<String> = named
                .iter()
                .filter(|(k, _)| k.as_str() == "AWS")
                .flat_map(|(_, v)| v.items().iter().cloned())
                .collect();
            Principals {
                everyone: aws.iter().any(|a| a == "*"),
                aws: aws.into_iter().filter(|a| a != "*").collect(),
            }
        }
    }
}

/// A statement compiled for one caller.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: Option<String>,
    pub deny: bool,
    /// Action patterns, and whether they are NotAction's.
    pub actions: Vec<String>,
    pub not_action: bool,
    /// Resource patterns (None: a pattern that matches nothing), and whether NotResource's; no
    /// element at all (a trust): every resource.
    pub resources: Option<(Vec<Option<Pattern>>, bool)>,
    pub principal: Option<(Principals, bool)>,
    pub conds: Vec<Cond>,
    /// Why the statement never applies to this caller (a variable it cannot resolve).
    pub never: Option<String>,
}

impl Statement {
    pub fn action_matches(&self, action: &str) -> bool {
        self.actions.iter().any(|p| strings::glob_matches_ci(p, action)) != self.not_action
    }
}

/// A policy compiled for one caller.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub kind: PolicyKind,
    pub statements: Vec<Statement>,
}

/// What a caller fixes of the request context, keys lower-cased.
pub type Fixed = BTreeMap<String, Value>;

/// A resource pattern with its variables resolved (Err: one cannot be).
fn resource_pattern(text: &str, fixed: &Fixed, variables: bool) -> Result<Option<Pattern>, String> {
    if !variables || !text.contains("${") {
        return Ok(strings::arn(text));
    }
    let pieces =
        resolve(text, fixed).ok_or_else(|| format!("{text} has a policy variable this caller has no value for"))?;
    Ok(strings::arn_of_pieces(&pieces))
}

/// The conditions of a statement, typed (Err: a variable this caller cannot resolve).
fn conditions_of(view: &StatementView, fixed: &Fixed, variables: bool) -> Result<Vec<Cond>, String> {
    let mut out = Vec::new();
    for (operator, keys) in view.condition.iter().flatten() {
        let Some((op, negated, set, if_exists)) = conditions::operator(operator) else {
            continue; // an unknown operator with nothing under it (the grammar refuses the rest)
        };
        for (key, values) in keys {
            let mut typed = Vec::new();
            for value in values.items() {
                let text = value.text();
                let pieces = match variables && takes_variables(operator) && text.contains("${") {
                    true => resolve(&text, fixed)
                        .ok_or_else(|| format!("{text} has a policy variable this caller has no value for"))?,
                    false => vec![(text, op != Op::StringLike)],
                };
                let pattern = conditions::pattern_for(op, &pieces);
                typed.push(conditions::Value {
                    text: pieces.iter().map(|(t, _)| t.as_str()).collect(),
                    pattern,
                });
            }
            out.push(Cond {
                operator: operator.clone(),
                key: key.to_ascii_lowercase(),
                name: key.clone(),
                op,
                negated,
                set,
                if_exists,
                values: typed,
            });
        }
    }
    Ok(out)
}

/// One statement compiled for the caller that fixes `fixed`.
fn statement(view: &StatementView, fixed: &Fixed, variables: bool, on_resource: bool) -> Statement {
    let (actions, not_action) = match (&view.action, &view.not_action) {
        (Some(a), _) => (a.items().to_vec(), false),
        (None, Some(n)) => (n.items().to_vec(), true),
        (None, None) => (Vec::new(), false),
    };
    let mut never = None;
    let resources = match (&view.resource, &view.not_resource) {
        (Some(r), _) | (None, Some(r)) => {
            let not = view.resource.is_none();
            let mut patterns = Vec::new();
            for text in r.items() {
                match resource_pattern(text, fixed, variables) {
                    Ok(p) => patterns.push(p),
                    Err(why) => never = Some(why),
                }
            }
            Some((patterns, not))
        }
        (None, None) if on_resource => None,
        (None, None) => Some((Vec::new(), false)),
    };
    let conds = match conditions_of(view, fixed, variables) {
        Ok(c) => c,
        Err(why) => {
            never = Some(why);
            Vec::new()
        }
    };
    let principal = match (&view.principal, &view.not_principal) {
        (Some(p), _) => Some((principals_of(p), false)),
        (None, Some(n)) => Some((principals_of(n), true)),
        (None, None) => None,
    };
    Statement {
        sid: view.sid.clone(),
        deny: view.effect == "Deny",
        actions,
        not_action,
        resources,
        principal,
        conds,
        never,
    }
}

/// `document` compiled for the caller that fixes `fixed` (Err: it is not a policy IAM takes).
pub fn policy(document: &Document, fixed: &Fixed) -> Result<Policy, String> {
    if let Some(problem) = crate::decide::grammar::problem(&document.json) {
        return Err(format!("policy {} is malformed ({problem})", document.name));
    }
    let view: DocumentView =
        serde_json::from_str(&document.json).map_err(|e| format!("policy {} cannot be read: {e}", document.name))?;
    let variables = view.version.as_deref() == Some("2012-10-17");
    let on_resource = matches!(document.kind, PolicyKind::Trust | PolicyKind::Resource);
    Ok(Policy {
        name: document.name.clone(),
        kind: document.kind,
        statements: view
            .statement
            .items()
            .iter()
            .map(|s| statement(s, fixed, variables, on_resource))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(pairs: &[(&str, &str)]) -> Fixed {
        pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), Value::One((*v).to_owned())))
            .collect()
    }

    #[test]
    fn variables_resolve_with_defaults_or_make_the_statement_never_apply() {
        let f = fixed(&[("aws:username", "alice")]);
        assert_eq!(
            resolve("a-${aws:username}-${aws:PrincipalTag/team, 'none'}-${*}", &f),
            Some(vec![
                ("a-".into(), false),
                ("alice".into(), true),
                ("-".into(), false),
                ("none".into(), true),
                ("-".into(), false),
                ("*".into(), true),
                (String::new(), false),
            ])
        );
        assert_eq!(resolve("${aws:userid}", &f), None);
        let doc = |r: &str| Document {
            name: "p".into(),
            kind: PolicyKind::Identity,
            json: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"s3:*","NotResource":"{r}"}}]}}"#
            ),
        };
        let p = policy(&doc("arn:aws:s3:::${aws:userid}"), &f).unwrap();
        assert!(p.statements[0].never.is_some());
        let p = policy(&doc("arn:aws:s3:::${aws:username}"), &f).unwrap();
        assert!(p.statements[0].never.is_none());
    }
}
