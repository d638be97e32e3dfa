//! `why`: one request a learner asks about, explained offline from the lab's documents: every
//! policy in play (identity, boundary, session, trust, bucket policy), every statement, each
//! condition with the request's value, and the decision.

use anyhow::Result;

use super::Lab;
use super::advice::{Adviser, GoalsOf};
use super::decisions::Reader;
use crate::model::decide::{self, Ask, Caller};
use crate::output::WhyDoc;

/// `why --as PROFILE ACTION [RESOURCE]` as a learner asks it: the profile's caller, the action an
/// operation needs (`s3:ListBuckets` is `s3:ListAllMyBuckets`), and the resource meant (none for
/// `sts:AssumeRole`: the lab's role; a bare bucket name: its ARN; else `*`), explained.
/// `goals`: the goals above the lab's own (a challenge's), for its advice.
pub async fn why(
    lab: &Lab,
    profile: &str,
    action: &str,
    resource: Option<&str>,
    goals: Option<GoalsOf>,
) -> Result<WhyDoc> {
    let asked = crate::model::operations::asked(action)?;
    // The guide's names stand for the lab's own profiles: `sts` is lab NAME's `sts-NAME`.
    let profile = match profile {
        "sts" => lab.names.user_profile.as_str(),
        "assumed" => lab.names.assumed_profile.as_str(),
        other => other,
    };
    let clients = lab.profile(profile).await?;
    let identity = crate::ops::sts::caller_identity(&clients.sts).await?;
    let caller = Caller::of_arn(&identity.arn).ok_or_else(|| {
        anyhow::anyhow!(
            "profile {profile} is {}, neither a user nor an assumed role; pass --as with the lab's user or assumed profile",
            identity.arn
        )
    })?;
    let partition = lab.admin_identity.partition();
    let resource = match resource {
        None if asked.action.eq_ignore_ascii_case("sts:AssumeRole") => lab.role_arn().await?,
        None => "*".to_owned(),
        Some(r) if asked.action.starts_with("s3:") && !r.starts_with("arn:") && r != "*" => {
            format!("arn:{partition}:s3:::{r}")
        }
        Some(r) => r.to_owned(),
    };
    let mut doc = explain_request(lab, &Ask::new(&caller, &asked.action, resource), goals).await?;
    doc.operation = asked.operation;
    Ok(doc)
}

/// `why`: one request explained, every policy in play, and the decision.
pub async fn explain_request(lab: &Lab, ask: &Ask, goals: Option<GoalsOf>) -> Result<WhyDoc> {
    let mut reader = Reader::new(lab).await?;
    let (docs, request) = reader.request_for(ask).await?;
    let decision = decide::decide(&docs, &request)?;
    let advice = match decision.decided_by.effect {
        decide::Effect::Allow => Vec::new(),
        _ => {
            let adviser = Adviser::new(lab, &mut reader, goals).await?;
            adviser.advise(lab, &mut reader, ask, (&docs, &request)).await?
        }
    };
    Ok(WhyDoc {
        operation: None,
        principal: request.principal,
        action: request.action,
        resource: request.resource,
        context: request.context,
        decided_by: decision.decided_by,
        why: decision.why,
        policies: decision.policies,
        advice,
    })
}
