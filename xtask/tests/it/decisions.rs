//! The emulator decides with the lab's own evaluator: a generated matrix of policy/request/context
//! cases (every condition operator family, IfExists, set operators, Null, policy variables, Deny
//! with an unmet condition, NotAction/NotResource, trust principals, session policies, every
//! combination of the policy kinds), each sent over HTTP to the emulator (`POST /sts-lab/decide`,
//! which asks lab-policy's evaluator in its own process, as every request the emulator decides)
//! and decided here by `model::decide`: the same answer, so nothing is lost on the way (kinds,
//! multivalued keys, documents as text). What each answer should be is the evaluator's own
//! documented cases' business (`lab-policy/src/decide/kinds_tests.rs`, `emulator/test_policy.py`
//! through the emulator).

use std::collections::BTreeMap;

use lab_core::model::decide::{self, Document, Effect, PolicyKind, Request, Value};
use serde_json::{Value as Json, json};

use crate::common::{TestEmulator, emulator_post};

const ACCOUNT: &str = "123456789012";
const USER: &str = "arn:aws:iam::123456789012:user/learner";
const ROLE: &str = "arn:aws:iam::123456789012:role/lab-role";
const BUCKET: &str = "arn:aws:s3:::lab-bucket";

/// One case: the documents and the request.
struct Case {
    label: String,
    documents: Vec<Document>,
    request: Request,
}

fn doc(name: &str, kind: PolicyKind, document: Json) -> Document {
    Document {
        name: name.to_owned(),
        kind,
        json: document.to_string(),
    }
}

fn request(principal: &str, action: &str, resource: &str, context: &[(&str, Option<Value>)]) -> Request {
    let context: BTreeMap<String, Value> = context
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| ((*k).to_owned(), v)))
        .collect();
    Request {
        principal: principal.to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        context,
    }
}

fn one(v: &str) -> Option<Value> {
    Some(Value::One(v.to_owned()))
}

fn many(v: &[&str]) -> Option<Value> {
    Some(Value::Many(v.iter().map(|s| (*s).to_owned()).collect()))
}

/// Operators of one family, their key, the policy's values, and the request values to try (None:
/// the key is absent from the request).
type Family = (Vec<&'static str>, &'static str, Json, Vec<Option<Value>>);

fn families() -> Vec<Family> {
    let strings = vec![one("blue"), one("BLUE"), one("green"), many(&["blue", "green"]), None];
    let numbers = vec![one("100"), one("3600"), one("7200"), None];
    let dates = vec![
        one("2026-12-01T19:00:00Z"),
        one("2026-12-01T20:00:00Z"),
        one("2026-12-01T21:00:00Z"),
        one("1796155200"),
        None,
    ];
    let arns = vec![one(USER), one(ROLE), None];
    vec![
        (
            vec![
                "StringEquals",
                "StringNotEquals",
                "StringEqualsIgnoreCase",
                "StringNotEqualsIgnoreCase",
            ],
            "aws:PrincipalTag/team",
            json!(["blue", "red"]),
            strings.clone(),
        ),
        (
            vec!["StringLike", "StringNotLike"],
            "aws:PrincipalTag/team",
            json!("bl*"),
            strings,
        ),
        (
            vec![
                "NumericEquals",
                "NumericNotEquals",
                "NumericLessThan",
                "NumericLessThanEquals",
                "NumericGreaterThan",
                "NumericGreaterThanEquals",
            ],
            "aws:MultiFactorAuthAge",
            json!("3600"),
            numbers,
        ),
        (
            vec![
                "DateEquals",
                "DateNotEquals",
                "DateLessThan",
                "DateLessThanEquals",
                "DateGreaterThan",
                "DateGreaterThanEquals",
            ],
            "aws:CurrentTime",
            json!("2026-12-01T20:00:00Z"),
            dates,
        ),
        (
            vec!["Bool"],
            "aws:MultiFactorAuthPresent",
            json!("true"),
            vec![one("true"), one("false"), None],
        ),
        (
            vec!["BinaryEquals"],
            "aws:Binary",
            json!("QmluYXJ5"),
            vec![one("QmluYXJ5"), one("T3RoZXI="), None],
        ),
        (
            vec!["IpAddress", "NotIpAddress"],
            "aws:SourceIp",
            json!("203.0.113.0/24"),
            vec![one("203.0.113.5"), one("198.51.100.1"), None],
        ),
        (
            vec!["ArnEquals", "ArnNotEquals"],
            "aws:PrincipalArn",
            json!(USER),
            arns.clone(),
        ),
        (
            vec!["ArnLike", "ArnNotLike"],
            "aws:PrincipalArn",
            json!("arn:aws:iam::123456789012:user/*"),
            arns,
        ),
        (
            vec![
                "ForAllValues:StringEquals",
                "ForAnyValue:StringEquals",
                "ForAllValues:StringLike",
                "ForAnyValue:StringLike",
            ],
            "aws:TagKeys",
            json!(["team", "cost*"]),
            vec![many(&["team"]), many(&["team", "owner"]), many(&["cost-center"]), None],
        ),
        (
            vec!["Null"],
            "aws:PrincipalTag/team",
            json!("true"),
            vec![one("blue"), None],
        ),
        (
            vec!["Null"],
            "aws:PrincipalTag/team",
            json!("false"),
            vec![one("blue"), None],
        ),
    ]
}

/// A statement with `condition` under `effect`, and for a Deny an Allow of everything beside it.
fn conditioned(effect: &str, condition: Json) -> Json {
    let mut statements = vec![json!({"Sid": "Conditioned", "Effect": effect, "Action": "s3:*",
        "Resource": "*", "Condition": condition})];
    if effect == "Deny" {
        statements.push(json!({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn condition_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (operators, key, values, requests) in families() {
        for operator in operators {
            let forms = if operator == "Null" || operator.contains(':') {
                vec![operator.to_owned()]
            } else {
                vec![operator.to_owned(), format!("{operator}IfExists")]
            };
            for form in forms {
                for effect in ["Allow", "Deny"] {
                    for value in &requests {
                        let document = conditioned(effect, json!({form.clone(): {key: values.clone()}}));
                        cases.push(Case {
                            label: format!("{effect} if {form} {key} {values} with {value:?}"),
                            documents: vec![doc("p", PolicyKind::Identity, document)],
                            request: request(USER, "s3:CreateBucket", BUCKET, &[(key, value.clone())]),
                        });
                    }
                }
            }
        }
    }
    cases
}

/// Actions and resources, policy variables, trusts and session policies.
fn shape_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let actions = [
        json!("s3:*"),
        json!("s3:Create*"),
        json!(["iam:*", "s3:CreateBucket"]),
        json!("S3:createbucket"),
        json!("s3:List*"),
    ];
    let resources = [
        json!("*"),
        json!("arn:aws:s3:::lab-*"),
        json!("arn:aws:s3:::other-*"),
        json!("arn:aws:s3:::lab-buck?t"),
        json!("arn:aws:s3:::${aws:username}-*"),
    ];
    for (a, action) in actions.iter().enumerate() {
        for (r, resource) in resources.iter().enumerate() {
            for not in [false, true] {
                let (ak, rk) = if not {
                    ("NotAction", "NotResource")
                } else {
                    ("Action", "Resource")
                };
                let document = json!({"Version": "2012-10-17", "Statement": [{"Sid": format!("S{a}{r}"),
                    "Effect": "Allow", ak: action, rk: resource}]});
                for (name, target) in [
                    ("learner", BUCKET),
                    ("learner", "arn:aws:s3:::learner-x"),
                    ("", "arn:aws:s3:::learner-x"),
                ] {
                    let context = [("aws:username", (!name.is_empty()).then(|| Value::One(name.to_owned())))];
                    cases.push(Case {
                        label: format!("{ak} {action} {rk} {resource} on {target} as {name:?}"),
                        documents: vec![doc("p", PolicyKind::Identity, document.clone())],
                        request: request(USER, "s3:CreateBucket", target, &context),
                    });
                }
            }
        }
    }
    let principals = [
        json!({"AWS": USER}),
        json!({"AWS": [USER]}),
        json!({"AWS": "arn:aws:iam::123456789012:user/learn"}),
        json!({"AWS": ACCOUNT}),
        json!({"AWS": "arn:aws:iam::123456789012:root"}),
        json!({"AWS": "arn:aws:iam::999999999999:root"}),
        json!("*"),
    ];
    let identity = json!({"Version": "2012-10-17", "Statement": [{"Sid": "MayAssume", "Effect": "Allow",
        "Action": "sts:AssumeRole", "Resource": ROLE}]});
    for (p, principal) in principals.iter().enumerate() {
        for with_identity in [false, true] {
            for external_id in [None, one("wrong"), one("expected")] {
                let trust = json!({"Version": "2012-10-17", "Statement": [{"Sid": format!("Trust{p}"),
                    "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "expected"}}}]});
                let mut documents = vec![doc("trust", PolicyKind::Trust, trust)];
                if with_identity {
                    documents.insert(0, doc("StsAssumePolicy", PolicyKind::Identity, identity.clone()));
                }
                cases.push(Case {
                    label: format!("trust {principal} identity {with_identity} external id {external_id:?}"),
                    documents,
                    request: request(USER, "sts:AssumeRole", ROLE, &[("sts:ExternalId", external_id.clone())]),
                });
            }
        }
    }
    let session = "arn:aws:sts::123456789012:assumed-role/lab-role/s";
    let role_policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "RoleS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
    let session_policies = [
        None,
        Some(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "ListOnly", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}),
        ),
        Some(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "AllS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        ),
        Some(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoCreate", "Effect": "Deny", "Action": "s3:CreateBucket", "Resource": "*"}]}),
        ),
    ];
    for (s, policy) in session_policies.iter().enumerate() {
        for (action, resource) in [
            ("s3:CreateBucket", BUCKET),
            ("s3:ListAllMyBuckets", "*"),
            ("iam:ListUsers", "*"),
        ] {
            let mut documents = vec![doc("role", PolicyKind::Identity, role_policy.clone())];
            if let Some(policy) = policy {
                documents.push(doc("session policy", PolicyKind::Session, policy.clone()));
            }
            cases.push(Case {
                label: format!("session policy {s} {action}"),
                documents,
                request: request(session, action, resource, &[]),
            });
        }
    }
    cases
}

/// Identity policies × a permissions boundary × a session policy × a bucket policy, for a user
/// and for a role session: every combination of the kinds, same account.
fn kind_cases() -> Vec<Case> {
    let session = "arn:aws:sts::123456789012:assumed-role/lab-role/s";
    let policy = |statement: Json| json!({"Version": "2012-10-17", "Statement": [statement]});
    let allow =
        |sid: &str, action: &str| policy(json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": "*"}));
    let deny =
        |sid: &str, action: &str| policy(json!({"Sid": sid, "Effect": "Deny", "Action": action, "Resource": "*"}));
    let identities = [None, Some(allow("IdS3", "s3:*")), Some(deny("IdNo", "s3:ListBucket"))];
    let boundaries = [
        None,
        Some(allow("CapList", "s3:List*")),
        Some(allow("CapIam", "iam:*")),
        Some(deny("CapNo", "s3:ListBucket")),
    ];
    // The callers: the user, and a session without and with a session policy.
    let callers = [
        (USER, None),
        (session, None),
        (session, Some(allow("SpList", "s3:ListBucket"))),
        (session, Some(allow("SpGet", "s3:GetObject"))),
    ];
    let grant = |principal: Json, effect: &str| {
        policy(
            json!({"Sid": "Bucket", "Effect": effect, "Principal": principal, "Action": "s3:ListBucket", "Resource": BUCKET}),
        )
    };
    let buckets = [
        None,
        Some(grant(json!({"AWS": USER}), "Allow")),
        Some(grant(json!({"AWS": ROLE}), "Allow")),
        Some(grant(json!({"AWS": session}), "Allow")),
        Some(grant(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}), "Allow")),
        Some(grant(json!("*"), "Allow")),
        Some(grant(json!({"AWS": "arn:aws:iam::123456789012:user/other"}), "Allow")),
        Some(grant(json!("*"), "Deny")),
    ];
    let mut cases = Vec::new();
    for (i, identity) in identities.iter().enumerate() {
        for (b, boundary) in boundaries.iter().enumerate() {
            for (r, bucket) in buckets.iter().enumerate() {
                for (c, (caller, session_policy)) in callers.iter().enumerate() {
                    let kinds = [
                        (identity, PolicyKind::Identity),
                        (boundary, PolicyKind::Boundary),
                        (session_policy, PolicyKind::Session),
                        (bucket, PolicyKind::Resource),
                    ];
                    let documents = kinds
                        .into_iter()
                        .filter_map(|(document, kind)| document.as_ref().map(|d| doc("p", kind, d.clone())))
                        .collect();
                    cases.push(Case {
                        label: format!("identity {i} boundary {b} bucket {r} caller {c}"),
                        documents,
                        request: request(caller, "s3:ListBucket", BUCKET, &[]),
                    });
                }
            }
        }
    }
    cases
}

fn wire(case: &Case) -> Json {
    let policies: Vec<Json> = case
        .documents
        .iter()
        .map(|d| {
            json!({"name": d.name, "kind": serde_json::to_value(d.kind).unwrap(),
                "document": serde_json::from_str::<Json>(&d.json).unwrap()})
        })
        .collect();
    let context: serde_json::Map<String, Json> = case
        .request
        .context
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap()))
        .collect();
    json!({"policies": policies, "request": {"principal": case.request.principal,
        "action": case.request.action, "resource": case.request.resource, "context": context}})
}

fn effect_name(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "Allow",
        Effect::ExplicitDeny => "ExplicitDeny",
        Effect::ImplicitDeny => "ImplicitDeny",
    }
}

#[tokio::test]
async fn the_emulator_decides_with_the_labs_own_evaluator() {
    let emu = TestEmulator::start().await;
    let mut cases = condition_cases();
    cases.extend(shape_cases());
    cases.extend(kind_cases());
    assert!(cases.len() >= 800, "only {} cases", cases.len());
    let mut disagreements = Vec::new();
    for chunk in cases.chunks(200) {
        let body = json!({"cases": chunk.iter().map(wire).collect::<Vec<_>>()});
        let answer: Json = serde_json::from_str(&emulator_post(&emu, "/sts-lab/decide", &body.to_string())).unwrap();
        let decisions = answer["decisions"].as_array().unwrap();
        assert_eq!(decisions.len(), chunk.len());
        for (case, emulator) in chunk.iter().zip(decisions) {
            let ours = decide::decide(&case.documents, &case.request).unwrap().decided_by;
            let theirs = (
                emulator["effect"].as_str().unwrap_or_default(),
                emulator["statement"].as_str(),
            );
            if (effect_name(ours.effect), ours.statement.as_deref()) != theirs {
                disagreements.push(format!("{}: here {:?}, the emulator {theirs:?}", case.label, ours));
            }
        }
    }
    println!("{} cases, {} disagreements", cases.len(), disagreements.len());
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
}
