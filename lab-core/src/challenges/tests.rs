//! Every challenge graded offline on its own documents: its starting state misses the goal, its
//! answer meets it over the whole space, and the common wrong answers (too open, too closed, the
//! right policy on the wrong principal) miss it the way the learner is told.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::grade::{Verdict, grade};
use super::state::{boundary_document, user_access};
use super::{Case, Challenge, Scene, State, named};
use crate::model::decide::{Caller, Document, PolicyKind, Request, Value};
use crate::model::expiry::format_utc;

const NOW: i64 = 1_796_000_000;

fn scene() -> Scene {
    Scene {
        partition: "aws".into(),
        account: "123456789012".into(),
        user: "sts-lab-default-user".into(),
        user_arn: "arn:aws:iam::123456789012:user/sts-lab-default-user".into(),
        role: "sts-lab-default-challenge".into(),
        role_arn: "arn:aws:iam::123456789012:role/sts-lab-default-challenge".into(),
        admin: Some(Caller::User("admin".into())),
        prefix: "sts-lab-default-123456789012-".into(),
        expires: Some(format_utc(NOW + 3600)),
        started: NOW - 600,
        now: NOW,
    }
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

/// Each request of `ch`'s space in `state` (with `session`, the learner's session policy) that
/// misses the goal: its label and verdict.
fn misses(ch: &Challenge, state: &State, session: Option<&Json>) -> Vec<(String, Verdict, Option<String>)> {
    let s = scene();
    ch.space(&s, session)
        .iter()
        .filter_map(|case| {
            let (docs, req) = request(&s, state, case);
            let g = grade(case, &docs, &req).unwrap();
            (g.verdict != Verdict::AsWanted).then(|| (case.label.clone(), g.verdict, g.change))
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

fn trust_with(s: &Scene, principal: &str, actions: &[&str], condition: Option<Json>) -> State {
    let _ = s;
    State {
        trust: super::trust(principal, actions, condition),
        role_policy: None,
        session_policy: None,
        buckets: Vec::new(),
    }
}

#[test]
fn wrong_trusts_miss_with_the_right_verdict() {
    let s = scene();
    let ch = named("external-id").unwrap();
    let like = trust_with(
        &s,
        &s.user_arn,
        &["sts:AssumeRole"],
        Some(json!({"StringLike": {"sts:ExternalId": "*"}})),
    );
    let got = misses(ch, &like, None);
    assert!(
        got.iter().all(|(_, v, _)| *v == Verdict::TooOpen) && got.len() == 2,
        "{got:?}"
    );
    let ignore_case = json!({"StringEqualsIgnoreCase": {"sts:ExternalId": format!("{}-partner", s.role)}});
    let got = misses(
        ch,
        &trust_with(&s, &s.user_arn, &["sts:AssumeRole"], Some(ignore_case)),
        None,
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains("capitals"), "{got:?}");

    let ch = named("source-identity").unwrap();
    let only_assume = json!({"StringEquals": {"sts:SourceIdentity": s.user}});
    let got = misses(
        ch,
        &trust_with(&s, &s.user_arn, &["sts:AssumeRole"], Some(only_assume)),
        None,
    );
    assert!(
        got.iter()
            .any(|(l, v, _)| l.contains("sets the SourceIdentity") && *v == Verdict::TooClosed),
        "{got:?}"
    );

    let ch = named("trust-the-user").unwrap();
    let admin = "arn:aws:iam::123456789012:user/admin";
    let got = misses(ch, &trust_with(&s, admin, &["sts:AssumeRole"], None), None);
    let verdicts: Vec<Verdict> = got.iter().map(|(_, v, _)| *v).collect();
    assert_eq!(verdicts, [Verdict::TooClosed, Verdict::TooOpen], "{got:?}");
    assert!(
        got[1].2.as_deref().unwrap().contains("statement WhoMayAssume"),
        "{got:?}"
    );
}

#[test]
fn wrong_policies_miss_with_the_right_verdict() {
    let s = scene();
    let ch = named("narrow-role").unwrap();
    let prefix_only = super::document(vec![
        super::statement(
            "Prefix",
            "Allow",
            json!("s3:*"),
            json!(s.bucket_arn(&format!("{}*", s.prefix))),
            None,
        ),
        super::statement("List", "Allow", json!("s3:ListAllMyBuckets"), json!("*"), None),
    ]);
    let state = State {
        role_policy: Some(prefix_only),
        ..ch.start(&s)
    };
    let got = misses(ch, &state, None);
    assert!(got.iter().all(|(_, v, _)| *v == Verdict::TooOpen), "{got:?}");
    assert!(got.iter().any(|(l, _, _)| l.contains("DeleteBucket")), "{got:?}");

    let ch = named("revoke-old-sessions").unwrap();
    let deny_all = super::statement("DenyAll", "Deny", json!("*"), json!("*"), None);
    let state = State {
        role_policy: Some(super::document(vec![deny_all])),
        ..ch.start(&s)
    };
    let got = misses(ch, &state, None);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, Verdict::TooClosed);

    let ch = named("session-policy").unwrap();
    let read_all = super::document(vec![super::statement(
        "ReadAll",
        "Allow",
        json!(["s3:Get*", "s3:List*"]),
        json!("*"),
        None,
    )]);
    let got = misses(ch, &ch.start(&s), Some(&read_all));
    assert!(
        got.iter()
            .any(|(l, v, _)| l.contains("not-this") && *v == Verdict::TooOpen),
        "{got:?}"
    );
    // The narrowing on the role instead of the session: the role's own sessions lose their rights.
    let answer = ch.answer(&s);
    let on_role = State {
        role_policy: answer.session_policy.clone(),
        ..ch.start(&s)
    };
    let got = misses(
        ch,
        &on_role,
        Some(&json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
    );
    assert!(
        got.iter()
            .all(|(l, v, _)| l.contains("without the session policy") && *v == Verdict::TooClosed)
            && !got.is_empty(),
        "{got:?}"
    );
}
