//! A sample of a challenge's space asked of the endpoint, as the learner's aws CLI would ask it:
//! AssumeRole of the challenge role by the user (or the admin), and S3 calls by a session of it
//! (with the learner's session policy, or without). Each answer is held against what the
//! documents decided; a new document takes a moment to reach AWS, so a request is asked again
//! within the lab's backoff while it answers otherwise.

use anyhow::Result;

use serde_json::Value as Json;

use super::proof::Who;
use super::{Case, Probe, S3Call, Scene};
use crate::aws::error::{aws_error, error_code, one_line};
use crate::aws::target::Clients;
use crate::lab::Lab;
use crate::model::decide::Ask;
use crate::model::prove::{Counterexample, Miss};
use crate::ops::sts::{self, AssumeOptions};
use crate::ops::{objects, s3};
use crate::output::challenge::{ConfirmedDoc, Target};
use crate::output::report::Steps;

/// What the endpoint answered: allowed, refused (AccessDenied), or another error.
fn answer_of<T>(call: &Result<T>) -> (Option<Target>, String) {
    match call {
        Ok(_) => (Some(Target::Allowed), "allowed".to_owned()),
        Err(e) => match error_code(e) {
            Some("AccessDenied") => (Some(Target::Refused), "AccessDenied".to_owned()),
            Some(code) => (None, format!("failed: {code}")),
            None => (None, format!("failed: {}", one_line(e))),
        },
    }
}

/// `call` asked until it answers `wanted`, within the lab's backoff (a document takes a moment
/// to reach AWS); the last answer.
async fn until<T, Fut>(lab: &Lab, steps: Steps<'_>, wanted: Target, mut call: impl FnMut() -> Fut) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    let mut delays = lab.backoff.delays();
    loop {
        let answer = call().await;
        let (seen, _) = answer_of(&answer);
        match (seen, delays.next()) {
            (Some(seen), Some(delay)) if seen != wanted => {
                steps.waiting("the learner's change to reach the endpoint (IAM propagates)");
                tokio::time::sleep(delay).await;
            }
            _ => return answer,
        }
    }
}

/// Opens a session of the challenge role with the user's key (and `policy`, a session policy).
pub async fn open(lab: &Lab, scene: &Scene, policy: Option<&str>, steps: Steps<'_>) -> Result<Clients> {
    let user = lab.profile(&lab.names.user_profile).await?;
    let options = AssumeOptions {
        policy: policy.map(str::to_owned),
        ..AssumeOptions::default()
    };
    let assume = || sts::assume_role_with(&user.sts, &scene.role_arn, "challenge", &options);
    let creds = until(lab, steps, Target::Allowed, assume).await?;
    lab.target.session(&creds).await
}

/// Asks each of `cases` (those with a probe) of the endpoint.
pub async fn confirm(
    lab: &Lab,
    scene: &Scene,
    cases: &[&Case],
    policy: Option<&str>,
    steps: Steps<'_>,
) -> Result<Vec<ConfirmedDoc>> {
    let user = lab.profile(&lab.names.user_profile).await?;
    let (mut plain, mut narrowed) = (None, None);
    let mut out = Vec::new();
    for case in cases {
        let Some(probe) = &case.probe else { continue };
        let (seen, said) = match probe {
            Probe::Assume {
                by_admin,
                external_id,
                source_identity,
            } => {
                let options = AssumeOptions {
                    external_id: external_id.clone(),
                    source_identity: source_identity.clone(),
                    ..AssumeOptions::default()
                };
                let who = if *by_admin { &lab.admin.sts } else { &user.sts };
                let call = || sts::assume_role_with(who, &scene.role_arn, "challenge", &options);
                answer_of(&until(lab, steps, case.target, call).await)
            }
            Probe::Session { session_policy, call } => {
                let slot = if *session_policy { &mut narrowed } else { &mut plain };
                if slot.is_none() {
                    *slot = Some(open(lab, scene, policy.filter(|_| *session_policy), steps).await);
                }
                match slot.as_ref() {
                    Some(Ok(session)) => s3_call(lab, steps, session, call, case.target).await?,
                    Some(Err(e)) => (None, format!("no session: {}", one_line(e))),
                    None => (None, "no session".to_owned()),
                }
            }
        };
        let agrees = seen == Some(case.target);
        steps.outcome(
            agrees,
            format!(
                "{}: expected {}, the endpoint answered {said}",
                case.label,
                case.target.word()
            ),
        );
        out.push(ConfirmedDoc {
            request: case.label.clone(),
            expected: case.target,
            seen: said,
            agrees,
        });
    }
    Ok(out)
}

/// One S3 call of a session, asked until it answers `wanted`; an object it wrote against the
/// documents' word is taken out again by the admin.
async fn s3_call(
    lab: &Lab,
    steps: Steps<'_>,
    session: &Clients,
    call: &S3Call,
    wanted: Target,
) -> Result<(Option<Target>, String)> {
    let c = &session.s3;
    Ok(match call {
        S3Call::ListBuckets => answer_of(&until(lab, steps, wanted, || s3::list_buckets(c)).await),
        S3Call::ListObjects(b) => answer_of(&until(lab, steps, wanted, || objects::list_objects(c, b)).await),
        S3Call::GetObject(b, k) => answer_of(&until(lab, steps, wanted, || objects::get_object(c, b, k)).await),
        S3Call::PutObject(b, k) => {
            let put = until(lab, steps, wanted, || {
                objects::put_object(c, b, k, "written by a check\n")
            })
            .await;
            if put.is_ok() && wanted == Target::Refused {
                objects::delete_object(&lab.admin.s3, b, k).await?;
            }
            answer_of(&put)
        }
    })
}

/// IAM's own refusal of a document (MalformedPolicyDocument, PackedPolicyTooLarge …): its code
/// and message; None for any other error.
pub fn refused_document(err: &anyhow::Error) -> Option<String> {
    let ae = aws_error(err)?;
    let code = ae.code.as_deref()?;
    matches!(
        code,
        "MalformedPolicyDocument" | "PackedPolicyTooLarge" | "ValidationError"
    )
    .then(|| format!("{code}: {}", ae.message))
}

/// The request the lab makes on the endpoint for a counterexample, when it can make it without
/// changing anything: AssumeRole of the challenge role by the user or the admin (carrying at most
/// an ExternalId or a SourceIdentity), or a session's read on the account's buckets or a
/// challenge bucket.
fn probe_of(scene: &Scene, cx: &Counterexample) -> Option<Probe> {
    let carried = |allowed: &[&str]| {
        cx.carried
            .keys()
            .all(|k| allowed.iter().any(|a| a.eq_ignore_ascii_case(k)))
    };
    let value = |key: &str| {
        cx.carried
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| match v {
                crate::model::decide::Value::One(one) => Some(one.clone()),
                crate::model::decide::Value::Many(_) => None,
            })
    };
    let user_or_admin = [Who::User.id(), Who::Admin.id()];
    if cx.action == "sts:AssumeRole" && cx.resource == scene.role_arn && user_or_admin.contains(&cx.subject) {
        return carried(&["sts:ExternalId", "sts:SourceIdentity"]).then(|| Probe::Assume {
            by_admin: cx.subject == Who::Admin.id(),
            external_id: value("sts:ExternalId"),
            source_identity: value("sts:SourceIdentity"),
        });
    }
    let session_policy = match cx.subject {
        "session" => true,
        "plain-session" => false,
        _ => return None,
    };
    if !cx.carried.is_empty() {
        return None;
    }
    let object = |arn: &str| {
        let (bucket, key) = arn
            .strip_prefix(&format!("arn:{}:s3:::", scene.partition))?
            .split_once('/')?;
        bucket
            .starts_with(&scene.prefix)
            .then(|| (bucket.to_owned(), key.to_owned()))
    };
    let call = match cx.action.as_str() {
        "s3:ListAllMyBuckets" => S3Call::ListBuckets,
        "s3:GetObject" => {
            let (bucket, key) = object(&cx.resource)?;
            S3Call::GetObject(bucket, key)
        }
        _ => return None,
    };
    Some(Probe::Session { session_policy, call })
}

/// A counterexample asked of the endpoint where the lab can ask it: what it answered, and
/// whether that is what the documents decide (None: it cannot be asked).
pub async fn counterexample(
    lab: &Lab,
    scene: &Scene,
    cx: &Counterexample,
    policy: Option<&Json>,
    steps: Steps<'_>,
) -> Result<Option<String>> {
    let Some(probe) = probe_of(scene, cx) else {
        return Ok(None);
    };
    let decided = match cx.miss {
        Miss::TooOpen => Target::Allowed,
        Miss::TooClosed => Target::Refused,
    };
    let case = Case::new(
        format!("{} {} on {}", cx.who, cx.action, cx.resource),
        Ask::new(&scene.me(), &cx.action, cx.resource.clone()),
        decided,
    )
    .probed(probe);
    let text = policy.map(Json::to_string);
    let asked = confirm(lab, scene, &[&case], text.as_deref(), steps).await?;
    Ok(asked.first().map(|c| match c.agrees {
        true => format!("{}, as the documents decide", c.seen),
        false => format!("{}, not as the documents decide", c.seen),
    }))
}
