//! The proof against brute force: random documents and goals (proptest), a sample of concrete
//! requests decided one by one with `decide`; whatever the sample finds allowed against the goal
//! (or refused), the proof finds too, and each of its counterexamples `decide` decides the same.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value as Json, json};

use super::catalog;
use super::strings::instance;
use super::*;
use crate::decide::{Document, Effect, PolicyKind, Request, Value, decide};
use crate::time::format_utc;

const ACCOUNT: &str = "123456789012";
const NOW: i64 = 1_796_000_000;
const ROLE: &str = "arn:aws:iam::123456789012:role/r";
const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/r/s";
const USER: &str = "arn:aws:iam::123456789012:user/ab";
const BUCKET: &str = "ab";

fn actions() -> Vec<&'static str> {
    vec![
        "s3:*",
        "s3:Get*",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "s3:ListAllMyBuckets",
        "s3:Create*",
        "s3:*Bucket*",
        "s3:List*",
        "*",
    ]
}

fn resources() -> Vec<&'static str> {
    vec![
        "*",
        "arn:aws:s3:::a*",
        "arn:aws:s3:::ab",
        "arn:aws:s3:::a?/*",
        "arn:aws:s3:::*/k*",
        "arn:aws:s3:::ab/*",
        "arn:aws:s3:::${aws:username}*",
        "arn:aws:s3:::b/${aws:username}/*",
        "arn:aws:s3:*:*:accesspoint/*",
    ]
}

fn conditions() -> Vec<Json> {
    let t = |d: i64| format_utc(NOW + d);
    vec![
        json!(null),
        json!({"StringLike": {"s3:prefix": "a*"}}),
        json!({"StringEquals": {"s3:prefix": "ab"}}),
        json!({"StringNotLike": {"s3:prefix": "x*"}}),
        json!({"StringEqualsIgnoreCase": {"s3:prefix": "AB"}}),
        json!({"StringEqualsIfExists": {"s3:prefix": "ab"}}),
        json!({"StringNotEqualsIfExists": {"s3:prefix": ["ab", "a"]}}),
        json!({"Null": {"s3:prefix": "true"}}),
        json!({"Null": {"s3:prefix": "false"}}),
        json!({"NumericLessThan": {"s3:max-keys": "10"}}),
        json!({"NumericGreaterThanEquals": {"s3:max-keys": 5}}),
        json!({"DateLessThan": {"aws:CurrentTime": t(3600)}}),
        json!({"DateGreaterThan": {"aws:CurrentTime": t(3600)}}),
        json!({"Bool": {"aws:SecureTransport": "false"}}),
        json!({"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}}),
        json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}),
        json!({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/r"}}),
        json!({"StringEquals": {"aws:username": "ab"}}),
        json!({"StringLike": {"s3:prefix": "${aws:username}/*"}}),
        json!({"StringLike": {"s3:prefix": "${aws:PrincipalTag/team, 'a'}*"}}),
    ]
}

fn statement() -> impl Strategy<Value = Json> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(select(actions()), 1..3),
        any::<bool>(),
        proptest::collection::vec(select(resources()), 1..3),
        select(conditions()),
        0..10u8,
    )
        .prop_map(|(deny, not_action, actions, not_resource, resources, condition, _)| {
            let mut s = json!({"Effect": if deny { "Deny" } else { "Allow" }});
            s[if not_action && deny { "NotAction" } else { "Action" }] = json!(actions);
            s[if not_resource && deny {
                "NotResource"
            } else {
                "Resource"
            }] = json!(resources);
            if !condition.is_null() {
                s["Condition"] = condition;
            }
            s
        })
}

fn document(name: &str, kind: PolicyKind, statements: Vec<Json>) -> Document {
    Document {
        name: name.to_owned(),
        kind,
        json: json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
    }
}

/// A bucket policy statement: one of the principals a learner names.
fn bucket_statement() -> impl Strategy<Value = Json> {
    (
        statement(),
        select(vec![
            json!({"AWS": ROLE}),
            json!({"AWS": SESSION}),
            json!("*"),
            json!({"AWS": ACCOUNT}),
            json!({"AWS": USER}),
        ]),
    )
        .prop_map(|(mut s, principal)| {
            s["Principal"] = principal;
            s
        })
}

#[derive(Debug, Clone)]
struct Case {
    user: bool,
    identity: Vec<Json>,
    boundary: Option<Vec<Json>>,
    bucket: Option<Vec<Json>>,
    goal: Vec<Json>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        proptest::collection::vec(statement(), 1..4),
        proptest::option::of(proptest::collection::vec(statement(), 1..3)),
        proptest::option::of(proptest::collection::vec(bucket_statement(), 1..3)),
        proptest::collection::vec(statement(), 0..3),
    )
        .prop_map(|(user, identity, boundary, bucket, goal)| Case {
            user,
            identity,
            boundary,
            bucket,
            goal: goal.into_iter().filter(|g| g["Effect"] == "Allow").collect(),
        })
}

fn fixed(user: bool) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::from([
        ("aws:CurrentTime".to_owned(), Value::One(format_utc(NOW))),
        ("aws:EpochTime".to_owned(), Value::One(NOW.to_string())),
        ("aws:SecureTransport".to_owned(), Value::One("true".to_owned())),
    ]);
    match user {
        true => {
            out.insert("aws:PrincipalArn".to_owned(), Value::One(USER.to_owned()));
            out.insert("aws:username".to_owned(), Value::One("ab".to_owned()));
        }
        false => {
            out.insert("aws:PrincipalArn".to_owned(), Value::One(ROLE.to_owned()));
        }
    }
    out
}

fn question(c: &Case) -> Question {
    let mut documents = vec![document("identity", PolicyKind::Identity, c.identity.clone())];
    if let Some(b) = &c.boundary {
        documents.push(document("boundary", PolicyKind::Boundary, b.clone()));
    }
    let attached = c
        .bucket
        .iter()
        .map(|b| Attached {
            document: document("bucket policy", PolicyKind::Resource, b.clone()),
            on: vec![format!("arn:aws:s3:::{BUCKET}"), format!("arn:aws:s3:::{BUCKET}/*")],
        })
        .collect();
    let goal = c
        .goal
        .iter()
        .map(|g| Want {
            who: vec!["me"],
            statement: g.clone(),
        })
        .collect();
    Question {
        partition: "aws".into(),
        account: ACCOUNT.into(),
        subjects: vec![Subject {
            id: "me",
            label: "me".into(),
            arn: if c.user { USER } else { SESSION }.into(),
            documents,
            fixed: fixed(c.user),
            free_dates: Vec::new(),
            stand_in: false,
        }],
        actions: vec!["s3:*".into()],
        resources: Vec::new(),
        attached,
        allow: goal,
        either: Vec::new(),
    }
}

/// The sampled requests: actions of every kind of resource, each resource built from a pool of
/// names, each context from a pool of values of the keys the action takes.
fn sample() -> Vec<Request> {
    let picked = [
        "s3:ListAllMyBuckets",
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:GetObjectAcl",
        "s3:PutBucketPolicy",
        "s3:GetBucketTagging",
        "s3:ListBucketVersions",
        "s3:GetAccessPoint",
        "s3:PutLifecycleConfiguration",
    ];
    let names = ["a", "ab", "abc", "b", "ax"];
    let keys = ["k", "k1", "ab/x"];
    let prefixes: [Option<&str>; 5] = [None, Some("a"), Some("ab"), Some("AB"), Some("ab/q")];
    let max_keys: [Option<&str>; 3] = [None, Some("1"), Some("50")];
    let tags: [Option<Vec<&str>>; 3] = [None, Some(vec!["a"]), Some(vec!["b", "a"])];
    let mut out = Vec::new();
    let mut turn = 0usize;
    for action in catalog::all().iter().filter(|a| picked.contains(&a.full())) {
        let formats = action.arn_formats();
        let mut resources: Vec<String> = Vec::new();
        if formats.is_empty() {
            resources.push("*".into());
        }
        for f in formats {
            for n in names {
                let r = instance(f, "aws", ACCOUNT).replacen("example", n, 1);
                for k in keys {
                    resources.push(r.replacen("example", k, 1));
                }
                resources.push(r);
            }
        }
        resources.sort();
        resources.dedup();
        for resource in resources {
            for (i, prefix) in prefixes.iter().enumerate() {
                turn += 1;
                let mut context = BTreeMap::new();
                if let Some(p) = prefix.filter(|_| action.takes_key("s3:prefix")) {
                    context.insert("s3:prefix".to_owned(), Value::One((*p).to_owned()));
                }
                if let Some(m) = max_keys[(turn + i) % 3].filter(|_| action.takes_key("s3:max-keys")) {
                    context.insert("s3:max-keys".to_owned(), Value::One(m.to_owned()));
                }
                if let Some(t) = &tags[turn % 3] {
                    context.insert(
                        "aws:TagKeys".to_owned(),
                        Value::Many(t.iter().map(|s| (*s).to_owned()).collect()),
                    );
                }
                out.push(Request {
                    principal: String::new(),
                    action: action.full().to_owned(),
                    resource: resource.clone(),
                    context,
                });
            }
        }
    }
    out
}

/// The documents in play for `request` (the bucket's policy only on its bucket), as the lab's
/// reader gathers them.
fn in_play(q: &Question, request: &Request) -> Vec<Document> {
    let mut docs = q.subjects[0].documents.clone();
    let on_bucket = request.resource == format!("arn:aws:s3:::{BUCKET}")
        || request.resource.starts_with(&format!("arn:aws:s3:::{BUCKET}/"));
    if on_bucket {
        docs.extend(q.attached.iter().map(|a| a.document.clone()));
    }
    docs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_proof_never_misses_what_sampling_finds(c in case()) {
        let q = question(&c);
        let proof = prove(&q).unwrap();
        prop_assert!(proof.outside.is_empty(), "{:?}", proof.outside);
        let goal = vec![document("goal", PolicyKind::Identity, c.goal.clone())];
        let subject = &q.subjects[0];
        for mut request in sample() {
            request.principal = subject.arn.clone();
            request.context.extend(subject.fixed.clone());
            let allowed = decide(&in_play(&q, &request), &request).unwrap().decided_by.effect == Effect::Allow;
            let wanted = !c.goal.is_empty() && decide(&goal, &request).unwrap().decided_by.effect == Effect::Allow;
            if allowed != wanted {
                let kind = if allowed { Miss::TooOpen } else { Miss::TooClosed };
                prop_assert!(
                    proof.misses.iter().any(|m| m.miss == kind),
                    "sampling finds {kind:?} on {request:?}; the proof found {:?}",
                    proof.misses.iter().map(|m| (m.miss, &m.action, &m.resource)).collect::<Vec<_>>()
                );
            }
        }
        // Each counterexample is one for `decide` too.
        for m in &proof.misses {
            let request = Request { principal: m.principal.clone(), action: m.action.clone(), resource: m.resource.clone(), context: m.context.clone() };
            let effect = decide(&m.documents, &request).unwrap().decided_by.effect;
            prop_assert_eq!(effect == Effect::Allow, m.miss == Miss::TooOpen, "{:?}", m);
        }
    }
}

#[test]
fn a_proof_names_what_lies_outside_the_catalog() {
    let c = Case {
        user: false,
        identity: vec![json!({"Effect": "Allow", "Action": ["ec2:RunInstances", "s3:CreateBuckets"], "Resource": "*"})],
        boundary: None,
        bucket: None,
        goal: Vec::new(),
    };
    // A universe of S3 asks nothing of EC2; one of every action does, and cannot prove it.
    let s3_only = prove(&question(&c)).unwrap();
    assert!(
        !s3_only.outside.iter().any(|o| o.contains("ec2")),
        "{:?}",
        s3_only.outside
    );
    let mut everything = question(&c);
    everything.actions = vec!["*".into()];
    let proof = prove(&everything).unwrap();
    assert!(
        proof
            .outside
            .iter()
            .any(|o| o.contains("ec2:RunInstances") && o.contains("outside the catalog")),
        "{:?}",
        proof.outside
    );
    assert!(
        proof
            .outside
            .iter()
            .any(|o| o.contains("s3:CreateBuckets") && o.contains("matches no action")),
        "{:?}",
        proof.outside
    );
    assert!(!proof.holds());
}
