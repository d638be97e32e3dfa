//! The proof that a change grants the refused request and nothing more. Adding an Allow statement
//! widens what the documents allow by at most what that statement allows by itself, so each
//! added statement is proven alone (`model::prove`, over every action of the catalog and every
//! resource, the request's context fixed) to allow exactly the request's action on its resource
//! for its caller: an identity, boundary or session statement as an identity policy of the
//! caller; a trust's or a bucket policy's statement on its role or bucket, for the caller and
//! any other principal of the account. Meeting a condition changes the request, not a document;
//! taking out a Deny lets through all it denied, so it is never called narrow. Pure.

use anyhow::Result;
use serde_json::{Value as Json, json};

use super::Ground;
use crate::model::decide::fix::{Fix, How};
use crate::model::decide::{Document, PolicyKind, Request};
use crate::model::prove::{self, Attached, Question, Subject, Want};

/// Whether every step is proven narrow, and what the proofs say, in words.
pub fn prove_steps(ground: &Ground, request: &Request, steps: &[Fix]) -> Result<(bool, String)> {
    let mut classes = 0;
    for step in steps {
        match &step.how {
            How::AddStatement { statement } => {
                let proof = prove::prove(&question(ground, request, step.kind, statement))?;
                if let Some(miss) = proof.misses.first() {
                    return Ok((false, format!("it grants more than this request: {}", miss.line())));
                }
                if let Some(outside) = proof.outside.first() {
                    return Ok((false, format!("not proven narrow: {outside}")));
                }
                classes += proof.classes;
            }
            How::RemoveStatement { .. } => {
                return Ok((
                    false,
                    "taking the Deny out lets through all it refused, not only this request: narrow it instead"
                        .to_owned(),
                ));
            }
            How::MeetCondition { .. } => {}
        }
    }
    Ok(match classes {
        0 => (true, "the request changes, no document does".to_owned()),
        n => (
            true,
            format!("proven to grant this request and nothing more ({n} classes of requests decided)"),
        ),
    })
}

/// The question whose proof says `statement`, added to a policy of `kind`, allows exactly the
/// request's action on its resource for its caller.
fn question(ground: &Ground, request: &Request, kind: PolicyKind, statement: &Json) -> Question {
    let alone = |kind| Document {
        name: "the statement added".to_owned(),
        kind,
        json: json!({"Version": "2012-10-17", "Statement": [statement]}).to_string(),
    };
    let on_resource = matches!(kind, PolicyKind::Trust | PolicyKind::Resource);
    let own = match on_resource {
        true => Vec::new(),
        false => vec![alone(PolicyKind::Identity)],
    };
    let caller = Subject::new(
        "caller",
        "the caller",
        request.principal.clone(),
        own,
        request.context.clone(),
    );
    let mut subjects = vec![caller];
    let (resources, attached) = match on_resource {
        false => (Vec::new(), Vec::new()),
        true => {
            // Anyone else of the account, without a policy of their own: what the statement
            // gives them is all they get.
            let someone = format!("arn:{}:iam::{}:user/someone-else", ground.partition, ground.account);
            subjects.push(Subject {
                stand_in: true,
                ..Subject::new(
                    "other",
                    "another principal of the account",
                    someone,
                    Vec::new(),
                    moment(request),
                )
            });
            let on = match crate::model::policy::bucket_of(&request.resource) {
                Some(bucket) if kind == PolicyKind::Resource => {
                    let arn = format!("arn:{}:s3:::{bucket}", ground.partition);
                    vec![arn.clone(), format!("{arn}/*")]
                }
                _ => vec![request.resource.clone()],
            };
            let attached = vec![Attached {
                document: alone(kind),
                on: on.clone(),
            }];
            (on, attached)
        }
    };
    Question {
        partition: ground.partition.clone(),
        account: ground.account.clone(),
        subjects,
        actions: match kind {
            PolicyKind::Trust => prove::TRUST_ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
            _ => vec!["*".to_owned()],
        },
        resources,
        attached,
        allow: vec![Want {
            who: vec!["caller"],
            statement: json!({"Action": request.action, "Resource": request.resource}),
        }],
        either: Vec::new(),
    }
}

/// The request's time, which every caller shares.
fn moment(request: &Request) -> std::collections::BTreeMap<String, crate::model::decide::Value> {
    let shared = ["aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport"];
    request
        .context
        .iter()
        .filter(|(k, _)| shared.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
