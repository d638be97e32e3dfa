//! A lesson's claim that is a set ("the session may list, not create"), proven over every request
//! of the catalog (`model::prove`), as a check of its own: the documents in play for a caller
//! (read as the lab's predictions read them) allow exactly the statements the lesson names.

use anyhow::Result;
use serde_json::Value as Json;

use super::checks::Cx;
use crate::model::decide::{Ask, Caller, PolicyKind};
use crate::model::prove::{self, Question, Subject, Want};
use crate::output::{Expect, LessonCheck};

/// The check of lesson `lesson` that `caller` (with the session policy `session`, if any) may make exactly what
/// `allowed` (statements: Action, Resource, Condition) covers, and nothing else.
pub async fn exactly(
    cx: Cx<'_>,
    lesson: &str,
    name: &str,
    caller: &Caller,
    session: Option<&str>,
    allowed: Vec<Json>,
) -> Result<LessonCheck> {
    let lab = cx.lab;
    let mut ask = Ask::new(caller, "s3:ListAllMyBuckets", "*");
    if let Some(policy) = session {
        ask = ask.in_session(policy);
    }
    let (documents, request) = lab.request_for(&ask).await?;
    let own = documents.into_iter().filter(|d| d.kind != PolicyKind::Trust).collect();
    let subject = Subject::new("me", "the session", request.principal, own, request.context);
    let question = Question {
        partition: lab.admin_identity.partition().to_owned(),
        account: lab.account().to_owned(),
        subjects: vec![subject],
        actions: vec!["*".to_owned()],
        resources: Vec::new(),
        attached: Vec::new(),
        allow: allowed
            .into_iter()
            .map(|statement| Want {
                who: vec!["me"],
                statement,
            })
            .collect(),
        either: Vec::new(),
    };
    let proof = prove::prove(&question)?;
    let miss = proof.misses.first();
    let (seen, why) = match (miss, proof.outside.first()) {
        (Some(m), _) => (m.line(), m.confirm().map(|d| d.why).ok()),
        (None, Some(outside)) => (format!("not proven: {outside}"), None),
        (None, None) => (
            format!(
                "proven over {} classes of requests ({} actions)",
                proof.classes, proof.actions
            ),
            Some("the documents in play allow exactly this set, every request of the catalog decided".to_owned()),
        ),
    };
    let ok = proof.holds();
    cx.steps.outcome(ok, format!("{name}: {seen}"));
    Ok(LessonCheck {
        name: name.to_owned(),
        expected: Expect::Proven,
        seen,
        ok,
        decided_by: None,
        why,
        command: crate::output::command::xtask(format!("lesson {lesson}")).to_string(),
        event_id: None,
        asked: None,
    })
}
