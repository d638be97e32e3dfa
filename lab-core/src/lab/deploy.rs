//! Setup's stack: deployed (created, updated, or replaced when CloudFormation left it in review
//! or rolled back a brand-new user as an invalid principal), and proven to trust the user that
//! exists now.

use anyhow::{Result, anyhow, bail};

use super::*;
use crate::model::names::{EXPIRES_TAG_KEY, LAB_TAG_KEY};
use crate::model::policy::{self, OUTPUT_ROLE_ARN, PARAM_BUCKET_PREFIX, PARAM_EXPIRES, PARAM_USER_ARN, PARAM_USER_ID};
use crate::ops::cfn::{self, Phase, StackInfo};
use crate::ops::iam;
use aws_sdk_cloudformation::types::StackStatus;

/// Deploys the stack with the role, bound to the user's current unique id, and returns the role's
/// ARN: waits out a stack still changing, replaces one left in review, updates a working one, and
/// creates it again when IAM refused a brand-new user as an invalid principal.
pub(super) async fn deploy_stack(
    lab: &Lab,
    existing: Option<StackInfo>,
    user_id: &str,
    expires: &str,
    steps: Steps<'_>,
) -> Result<String> {
    let names = &lab.names;
    let cfn_client = &lab.admin.cfn;
    let user_arn = lab.user_arn();
    let prefix = lab.bucket_prefix();
    let params = [
        (PARAM_USER_ARN, user_arn.as_str()),
        (PARAM_USER_ID, user_id),
        (PARAM_EXPIRES, expires),
        (PARAM_BUCKET_PREFIX, prefix.as_str()),
    ];
    let tags = [(LAB_TAG_KEY, names.lab.as_str()), (EXPIRES_TAG_KEY, expires)];
    let mut existing = settle_existing(lab, existing, steps).await?;
    let mut retries = lab.backoff.delays();
    loop {
        let creating = existing.is_none();
        let request = cfn::StackRequest {
            stack: &names.stack,
            template: policy::TEMPLATE,
            params: &params,
            tags: &tags,
        };
        submit(lab, existing.as_ref(), &request).await?;
        let settled = wait(lab, steps).await?;
        let info = settled.ok_or_else(|| anyhow!("stack {} vanished while it was being deployed", names.stack))?;
        // An update that rolled back left the stack working, but not with our change: it failed.
        let failed = match info.status {
            StackStatus::RollbackComplete => creating,
            StackStatus::UpdateRollbackComplete => !creating,
            _ => cfn::phase(&info.status) != Phase::Ready,
        };
        if !failed {
            let role_arn = info
                .output(OUTPUT_ROLE_ARN)
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("stack {} has no {OUTPUT_ROLE_ARN} output", names.stack))?;
            check_trust(lab, &role_arn, user_id).await?;
            return Ok(role_arn);
        }
        let reasons = cfn::failure_reasons(cfn_client, &names.stack).await.unwrap_or_default();
        let invalid = reasons.iter().find(|r| r.contains("Invalid principal")).cloned();
        if let Some(invalid) = &invalid
            && let Some(delay) = retries.next()
        {
            // IAM does not know a user created a moment ago everywhere yet.
            let again = if creating {
                "deleting it and deploying again"
            } else {
                "updating it again"
            };
            steps.waiting(format!(
                "stack {} rolled back: {invalid} (usual right after the user was created, while IAM propagates): {again} in {:.1} s",
                names.stack,
                delay.as_secs_f64()
            ));
            existing = Some(info);
            if creating {
                cfn::delete_stack(cfn_client, &names.stack).await?;
                wait(lab, steps).await?;
                existing = None;
            }
            tokio::time::sleep(delay).await;
            continue;
        }
        let reason = invalid.or_else(|| reasons.first().cloned());
        let what = if creating { "its creation" } else { "our update" };
        bail!(
            "{} after {what}; run `{}`, then setup again",
            stack_state(&names.stack, &info, reason.as_deref()),
            crate::output::command::xtask("cleanup")
        );
    }
}

/// The stack as deploying may start from: one still changing is waited for, one left in review
/// (a change set never executed, which never moves on) deleted.
async fn settle_existing(lab: &Lab, existing: Option<StackInfo>, steps: Steps<'_>) -> Result<Option<StackInfo>> {
    let mut existing = existing;
    if existing
        .as_ref()
        .is_some_and(|s| cfn::phase(&s.status) == Phase::InProgress)
    {
        existing = wait(lab, steps).await?;
    }
    if existing
        .as_ref()
        .is_some_and(|s| cfn::phase(&s.status) == Phase::Review)
    {
        steps.note(format!(
            "stack {} is REVIEW_IN_PROGRESS (a change set never executed) and would never move on: deleting it, then creating it",
            lab.names.stack
        ));
        cfn::delete_stack(&lab.admin.cfn, &lab.names.stack).await?;
        existing = wait(lab, steps).await?;
    }
    Ok(existing)
}

/// Creates the stack, or updates the working one of the lab's.
async fn submit(lab: &Lab, existing: Option<&StackInfo>, request: &cfn::StackRequest<'_>) -> Result<()> {
    let (client, stack) = (&lab.admin.cfn, &lab.names.stack);
    match existing {
        None => cfn::create_stack(client, request).await,
        Some(s) => {
            lab.refuse_foreign("stack", stack, s.lab_tag.as_deref())?;
            if cfn::phase(&s.status) != Phase::Ready {
                bail!(
                    "{}; run `{}`, then setup again",
                    stack_state(stack, s, None),
                    crate::output::command::xtask("cleanup")
                );
            }
            cfn::update_stack(client, request).await.map(drop)
        }
    }
}

/// `stack X is STATUS (reason)`, the reason being the one given or the stack's own.
pub(super) fn stack_state(stack: &str, info: &StackInfo, reason: Option<&str>) -> String {
    let reason = reason.or(info.reason.as_deref());
    format!(
        "stack {stack} is {}{}",
        info.status,
        reason.map(|r| format!(" ({r})")).unwrap_or_default()
    )
}

/// Checks that the deployed trust names the user that exists now (its ARN, and its unique id in
/// the Sid): a trust written for an earlier user of the same name lets nobody in.
async fn check_trust(lab: &Lab, role_arn: &str, user_id: &str) -> Result<()> {
    let role = crate::model::policy::role_name(role_arn).unwrap_or_default();
    let trust = iam::role_trust(&lab.admin.iam, role)
        .await?
        .ok_or_else(|| anyhow!("role {role_arn} of stack {} is gone", lab.names.stack))?;
    if !policy::trust_names_user(&trust, &lab.user_arn(), user_id) {
        bail!(
            "the trust of role {role_arn} does not name IAM user {} as it exists now (unique id {user_id}); run `{}`, then setup again",
            lab.names.user,
            crate::output::command::xtask("cleanup")
        );
    }
    Ok(())
}
