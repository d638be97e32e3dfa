//! A goal of the lab read for one request: the check that holds it (a proof row of `verify`, a
//! challenge's goal), the question it proves, and the subjects it speaks for; whether it wants
//! the request allowed, refused, or does not speak of it. The same sets the proofs prove, asked
//! of one request with `decide`. Pure.

use serde_json::{Value as Json, json};

use super::{account_of, same_principal};
use crate::model::decide::{Document, Effect, PolicyKind, Request, decide};
use crate::model::prove::{Question, Subject};

/// A goal: the check's name as the learner reads it, and its question.
#[derive(Debug, Clone)]
pub struct Goal {
    pub check: String,
    pub question: Question,
    /// The subjects of the question this check speaks for (empty: all of them).
    pub subjects: Vec<&'static str>,
}

impl Goal {
    /// Some(true): the goal wants the request allowed; Some(false): refused; None: the request
    /// is outside what it speaks of (another caller, action or resource, or either way).
    pub fn wants(&self, request: &Request) -> Option<bool> {
        let subject = subject_of(&self.question, &request.principal)?;
        if !self.subjects.is_empty() && !self.subjects.contains(&subject.id) {
            return None;
        }
        let resources = match self.question.resources.is_empty() {
            true => json!("*"),
            false => json!(self.question.resources),
        };
        let universe = json!({"Action": self.question.actions, "Resource": resources});
        if !covers(&universe, request) {
            return None;
        }
        let speaks = |wants: &[crate::model::prove::Want]| {
            wants
                .iter()
                .any(|w| w.who.contains(&subject.id) && covers(&w.statement, request))
        };
        if speaks(&self.question.either) {
            return None;
        }
        Some(speaks(&self.question.allow))
    }
}

/// The question's subject making requests as `principal`: the one of that ARN (a session: of
/// that role), else the stand-in of its account.
fn subject_of<'q>(question: &'q Question, principal: &str) -> Option<&'q Subject> {
    let known = question
        .subjects
        .iter()
        .filter(|s| !s.stand_in)
        .find(|s| same_principal(&s.arn, principal));
    known.or_else(|| {
        question
            .subjects
            .iter()
            .filter(|s| s.stand_in)
            .find(|s| account_of(&s.arn) == account_of(principal))
    })
}

/// Whether a goal's statement (Action or NotAction, Resource, Condition) covers the request.
fn covers(statement: &Json, request: &Request) -> bool {
    let mut statement = statement.clone();
    statement["Effect"] = json!("Allow");
    let document = Document {
        name: "the goal".to_owned(),
        kind: PolicyKind::Identity,
        json: json!({"Version": "2012-10-17", "Statement": [statement]}).to_string(),
    };
    decide(&[document], request).is_ok_and(|d| d.decided_by.effect == Effect::Allow)
}
