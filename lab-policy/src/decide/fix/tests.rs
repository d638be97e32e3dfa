//! Every fix proposed flips the decision once made: over a grid of identity, boundary, session,
//! trust and bucket policies, each refused request's steps, applied to the documents, make it
//! allowed; and the steps read as a learner needs them.

use std::collections::BTreeMap;

use super::*;

const USER: &str = "arn:aws:iam::123456789012:user/learner";
const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/lab-role/s";
const ROLE: &str = "arn:aws:iam::123456789012:role/lab-role";
const BUCKET: &str = "arn:aws:s3:::lab-bucket";

fn doc(name: &str, kind: PolicyKind, statements: Json) -> Document {
    Document {
        name: name.into(),
        kind,
        json: json!({"Version": "2012-10-17", "Statement": statements}).to_string(),
    }
}

fn request(principal: &str, action: &str, resource: &str, context: &[(&str, &str)]) -> Request {
    Request {
        principal: principal.into(),
        action: action.into(),
        resource: resource.into(),
        context: context
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::One((*v).to_owned())))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn flipped(documents: &[Document], request: &Request) -> (Vec<Fix>, Effect) {
    let steps = fixes(documents, request).unwrap();
    let (mut docs, mut req) = (documents.to_vec(), request.clone());
    for step in &steps {
        assert!(apply(step, &mut docs, &mut req), "{step:?}");
    }
    (steps, decide(&docs, &req).unwrap().decided_by.effect)
}

#[test]
fn a_user_without_any_policy_is_told_the_statement_to_add() {
    let req = request(USER, "s3:ListAllMyBuckets", "*", &[]);
    let (steps, effect) = flipped(&[], &req);
    assert_eq!(effect, Effect::Allow);
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].kind, PolicyKind::Identity);
    assert!(
        steps[0].change.starts_with("add to an identity policy of user learner"),
        "{}",
        steps[0].change
    );
    assert_eq!(
        steps[0].how,
        How::AddStatement {
            statement: json!({"Sid": "AllowThisRequest", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"})
        }
    );
}

#[test]
fn a_deny_is_taken_out_and_a_missing_condition_value_is_named() {
    let identity = doc(
        "mine",
        PolicyKind::Identity,
        json!([{"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
               {"Sid": "NoList", "Effect": "Deny", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]),
    );
    let (steps, effect) = flipped(&[identity], &request(USER, "s3:ListAllMyBuckets", "*", &[]));
    assert_eq!(effect, Effect::Allow);
    assert_eq!(
        steps[0].how,
        How::RemoveStatement {
            statement: Some("NoList".into())
        }
    );
    let trust = doc(
        "the trust of role lab-role",
        PolicyKind::Trust,
        json!([{"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": USER}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "partner-42"}}}]),
    );
    let (steps, effect) = flipped(&[trust], &request(USER, "sts:AssumeRole", ROLE, &[]));
    assert_eq!(effect, Effect::Allow);
    assert!(
        steps[0]
            .change
            .contains("StringEquals sts:ExternalId \"partner-42\" (the request does not carry it)"),
        "{}",
        steps[0].change
    );
}

/// Identity × boundary × session policy × bucket policy, for a user and a session: every refusal
/// is flipped by its steps.
#[test]
fn every_refusal_of_the_grid_is_flipped_by_its_steps() {
    let allow = |sid: &str, action: &str| json!([{"Sid": sid, "Effect": "Allow", "Action": action, "Resource": "*"}]);
    let deny = |sid: &str, action: &str| json!([{"Sid": sid, "Effect": "Deny", "Action": action, "Resource": "*"}]);
    let grant = |principal: Json, effect: &str| json!([{"Sid": "Bucket", "Effect": effect, "Principal": principal, "Action": "s3:ListBucket", "Resource": BUCKET}]);
    let identities = [None, Some(allow("IdS3", "s3:*")), Some(deny("IdNo", "s3:ListBucket"))];
    let boundaries = [
        None,
        Some(allow("CapList", "s3:List*")),
        Some(allow("CapIam", "iam:*")),
        Some(deny("CapNo", "s3:*")),
    ];
    let buckets = [
        None,
        Some(grant(json!({"AWS": USER}), "Allow")),
        Some(grant(json!({"AWS": ROLE}), "Allow")),
        Some(grant(json!({"AWS": "arn:aws:iam::123456789012:root"}), "Allow")),
        Some(grant(json!("*"), "Deny")),
    ];
    let callers = [
        (USER, None),
        (SESSION, None),
        (SESSION, Some(allow("SpGet", "s3:GetObject"))),
    ];
    let mut refused = 0;
    for identity in &identities {
        for boundary in &boundaries {
            for bucket in &buckets {
                for (caller, session) in &callers {
                    let kinds = [
                        (identity, PolicyKind::Identity, "id"),
                        (boundary, PolicyKind::Boundary, "cap"),
                        (session, PolicyKind::Session, "sp"),
                        (bucket, PolicyKind::Resource, "bucket"),
                    ];
                    let documents: Vec<Document> = kinds
                        .into_iter()
                        .filter_map(|(d, kind, name)| d.as_ref().map(|d| doc(name, kind, d.clone())))
                        .collect();
                    let req = request(caller, "s3:ListBucket", BUCKET, &[]);
                    if decide(&documents, &req).unwrap().decided_by.effect == Effect::Allow {
                        continue;
                    }
                    refused += 1;
                    let (steps, effect) = flipped(&documents, &req);
                    assert_eq!(effect, Effect::Allow, "{documents:?} as {caller}: {steps:?}");
                }
            }
        }
    }
    assert!(refused > 50, "only {refused} refusals in the grid");
}
