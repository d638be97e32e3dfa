//! Every challenge graded offline on its own documents: its starting state misses the goal, its
//! answer meets it over the whole space, and the common wrong answers (too open, too closed, the
//! right policy on the wrong principal) miss it the way the learner is told.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::grade::{self, Verdict, grade};
use super::state::{boundary_document, user_access};
use super::{Case, Challenge, Scene, State};
use crate::model::decide::{Caller, Document, PolicyKind, Request, Value};
use crate::model::expiry::format_utc;
use crate::model::prove::Proof;

pub(super) const NOW: i64 = 1_796_000_000;

pub(super) fn scene() -> Scene {
    super::offline::scene(NOW)
}

fn doc(name: &str, kind: PolicyKind, json: &Json) -> Document {
    Document {
        name: name.into(),
        kind,
        json: json.to_string(),
    }
}

/// The documents and request IAM would have for `case` in `state`, as the lab's reader builds
/// them: the user's access (the admin: everything), the role's policy and boundary for a
/// session, the trust for AssumeRole.
fn request(s: &Scene, state: &State, case: &Case) -> (Vec<Document>, Request) {
    let mut docs = Vec::new();
    let principal = match &case.ask.caller {
        Caller::User(u) if *u == s.user => {
            docs.push(doc("ChallengeAccess", PolicyKind::Identity, &user_access(s)));
            s.user_arn.clone()
        }
        Caller::User(u) => {
            let all =
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
            docs.push(doc("AdministratorAccess", PolicyKind::Identity, &all));
            format!("arn:aws:iam::123456789012:user/{u}")
        }
        Caller::Session { session_arn, .. } => {
            if let Some(p) = &state.role_policy {
                docs.push(doc("ChallengePolicy", PolicyKind::Identity, p));
            }
            docs.push(doc("boundary", PolicyKind::Boundary, &boundary_document(s)));
            session_arn.clone()
        }
    };
    if case.ask.action == "sts:AssumeRole" || case.ask.action == "sts:SetSourceIdentity" {
        docs.push(doc("trust", PolicyKind::Trust, &state.trust));
    }
    docs.extend(case.ask.session.iter().cloned());
    let mut context: BTreeMap<String, Value> = case.ask.context.clone();
    context.insert("aws:CurrentTime".into(), Value::One(format_utc(NOW)));
    let request = Request {
        principal,
        action: case.ask.action.clone(),
        resource: case.ask.resource.clone(),
        context,
    };
    (docs, request)
}

/// `ch`'s goal proven on `state` (with `session`, the learner's session policy).
pub(super) fn proof_of(ch: &Challenge, state: &State, session: Option<&Json>) -> Proof {
    let proven = super::offline::prove_state(ch, &scene(), state, session).unwrap();
    // Every counterexample is one for the evaluator too.
    for cx in &proven.misses {
        grade::counterexample(cx).unwrap();
    }
    proven
}

/// Each request of `ch`'s proof in `state` that misses the goal: its words and verdict, and what
/// would change it.
fn misses(ch: &Challenge, state: &State, session: Option<&Json>) -> Vec<(String, Verdict, Option<String>)> {
    let proven = proof_of(ch, state, session);
    assert!(proven.outside.is_empty(), "{}: {:?}", ch.name, proven.outside);
    proven
        .misses
        .iter()
        .map(|cx| {
            let g = grade::counterexample(cx).unwrap();
            let label = format!(
                "{}: {} on {} {:?} (and {:?})",
                cx.who, cx.action, cx.resource, cx.carried, cx.alike
            );
            (label, g.verdict, g.change)
        })
        .collect()
}

/// Each request of `ch`'s endpoint sample in `state` that misses the goal, decided offline.
fn sample_misses(ch: &Challenge, state: &State, session: Option<&Json>) -> Vec<(String, Verdict)> {
    let s = scene();
    ch.space(&s, session)
        .iter()
        .filter_map(|case| {
            let (docs, req) = request(&s, state, case);
            let g = grade(case.target, &docs, &req).unwrap();
            (g.verdict != Verdict::AsWanted).then(|| (case.label.clone(), g.verdict))
        })
        .collect()
}

#[test]
fn every_answer_passes_and_every_start_misses() {
    let s = scene();
    for ch in Challenge::all() {
        let answer = ch.answer(&s);
        let got = misses(ch, &answer, answer.session_policy.as_ref());
        assert!(got.is_empty(), "{}'s answer misses: {got:?}", ch.name);
        assert!(
            sample_misses(ch, &answer, answer.session_policy.as_ref()).is_empty(),
            "{}",
            ch.name
        );
        let start = ch.start(&s);
        let got = misses(ch, &start, start.session_policy.as_ref());
        assert!(!got.is_empty(), "{} starts as the goal wants", ch.name);
        assert!(
            ch.space(&s, None).iter().any(|c| c.probe.is_some()),
            "{}: nothing to confirm",
            ch.name
        );
    }
}
