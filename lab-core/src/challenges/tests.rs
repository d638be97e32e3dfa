//! Every challenge graded offline on its own documents: its starting state misses the goal, its
//! answer meets it over the whole space, and the common wrong answers (too open, too closed, the
//! right policy on the wrong principal) miss it the way the learner is told.

use serde_json::Value as Json;

use super::grade::{self, Verdict, grade};
use super::offline::Offline;
use super::proof::Documents;
use super::{Case, Challenge, Scene, State};
use crate::model::decide::{Caller, Document, Request, Value};
use crate::model::prove::Proof;

pub(super) const NOW: i64 = 1_796_000_000;

pub(super) fn scene() -> Scene {
    super::offline::scene(NOW)
}

/// The documents and request IAM would have for `case` in `state`, as the lab's reader builds
/// them (`offline::Offline`), with the trust for AssumeRole and SetSourceIdentity.
fn request(s: &Scene, state: &State, case: &Case) -> (Vec<Document>, Request) {
    let offline = Offline {
        scene: s,
        state,
        session: None,
    };
    let (mut docs, mut context) = offline.own(&case.ask.caller, false);
    if case.ask.action == "sts:AssumeRole" || case.ask.action == "sts:SetSourceIdentity" {
        docs.extend(offline.trust());
    }
    docs.extend(case.ask.session.iter().cloned());
    context.extend(case.ask.context.clone());
    let principal = match &case.ask.caller {
        Caller::Session { session_arn, .. } => session_arn.clone(),
        Caller::User(_) => match context.get("aws:PrincipalArn") {
            Some(Value::One(arn)) => arn.clone(),
            _ => String::new(),
        },
    };
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
        grade::counterexample(cx, &grade::ground(&scene(), ch.name, None)).unwrap();
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
            let g = grade::counterexample(cx, &grade::ground(&scene(), ch.name, None)).unwrap();
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
            let g = grade(case.target, &docs, &req, &grade::ground(&s, ch.name, None)).unwrap();
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
