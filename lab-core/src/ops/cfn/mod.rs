//! CloudFormation operations: describe, create, update and delete the lab's stack, and wait for it
//! by polling (every 2 s at most), not with the SDK waiter's 30 s floor.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use anyhow::{Result, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, Parameter, Stack, StackEvent, StackStatus};

use crate::aws::error::aws;
use crate::aws::pace::in_background;
use crate::aws::retry::Backoff;
use crate::model::names::LAB_TAG_KEY;

/// What DescribeStacks says of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    pub status: StackStatus,
    pub reason: Option<String>,
    pub outputs: Vec<(String, String)>,
    pub lab_tag: Option<String>,
    pub tags: Vec<(String, String)>,
}

impl StackInfo {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Where a stack stands for a waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Still changing.
    InProgress,
    /// Created or updated, or an update rolled back to the last working template: it works.
    Ready,
    /// Made by a change set that was never executed (a failed `aws cloudformation deploy`): it
    /// holds no resources and never moves on; delete it, then create.
    Review,
    /// Rolled back or failed; it needs a cleanup.
    Failed,
}

/// Classifies a stack status (see the CloudFormation StackStatus enum).
pub fn phase(status: &StackStatus) -> Phase {
    match status {
        StackStatus::ReviewInProgress => Phase::Review,
        s if s.as_str().ends_with("_IN_PROGRESS") => Phase::InProgress,
        StackStatus::CreateComplete
        | StackStatus::UpdateComplete
        | StackStatus::ImportComplete
        | StackStatus::UpdateRollbackComplete
        | StackStatus::ImportRollbackComplete => Phase::Ready,
        _ => Phase::Failed,
    }
}

pub async fn describe_stack(cfn: &Client, stack: &str) -> Result<Option<StackInfo>> {
    match cfn.describe_stacks().stack_name(stack).send().await {
        // A deleted stack may still be described by id for a while; for the lab it is gone.
        Ok(out) => Ok(out.stacks.unwrap_or_default().into_iter().next().and_then(stack_info)),
        // DescribeStacks answers ValidationError "Stack with id X does not exist" for a missing stack.
        Err(e) if e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist")) => {
            Ok(None)
        }
        Err(e) => Err(aws("DescribeStacks")(e)),
    }
}

/// Every stack of the region that is not deleted, by name, in one paginated DescribeStacks (a
/// class polls all its stacks this way rather than one call per stack).
pub async fn describe_all_stacks(cfn: &Client) -> Result<HashMap<String, StackInfo>> {
    let pages: Vec<_> = cfn
        .describe_stacks()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(aws("DescribeStacks"))?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.stacks.unwrap_or_default())
        .filter_map(|s| {
            let name = s.stack_name.clone()?;
            Some((name, stack_info(s)?))
        })
        .collect())
}

/// What the lab reads of a described stack; None for a deleted one.
fn stack_info(s: Stack) -> Option<StackInfo> {
    if s.stack_status.as_ref() == Some(&StackStatus::DeleteComplete) {
        return None;
    }
    let tags: Vec<(String, String)> = s
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value?)))
        .collect();
    Some(StackInfo {
        status: s.stack_status?,
        reason: s.stack_status_reason,
        outputs: s
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| Some((o.output_key?, o.output_value?)))
            .collect(),
        lab_tag: tags.iter().find(|(k, _)| k == LAB_TAG_KEY).map(|(_, v)| v.clone()),
        tags,
    })
}

fn parameters(params: &[(&str, &str)]) -> Vec<Parameter> {
    params
        .iter()
        .map(|(k, v)| Parameter::builder().parameter_key(*k).parameter_value(*v).build())
        .collect()
}

/// The lab's stack as CreateStack and UpdateStack both ask for it: one request, two verbs.
#[derive(Debug, Clone, Copy)]
pub struct StackRequest<'a> {
    pub stack: &'a str,
    pub template: &'a str,
    pub params: &'a [(&'a str, &'a str)],
    pub tags: &'a [(&'a str, &'a str)],
}

/// Sets `request` on a CreateStack or UpdateStack builder (the SDK's two builders share these
/// setters but no type).
macro_rules! with_request {
    ($builder:expr, $request:expr) => {
        $builder
            .stack_name($request.stack)
            .template_body($request.template)
            .set_parameters(Some(parameters($request.params)))
            .capabilities(Capability::CapabilityIam)
            .set_tags(Some(crate::ops::tags::Tags($request.tags).cfn()))
    };
}

// CreateStack, UpdateStack and DeleteStack give way to the other CloudFormation requests of the
// process at its pace (`pace::in_background`): in a class, 50 stack writes asked at once would
// otherwise reserve ten seconds of CloudFormation's rate, and the one shared DescribeStacks a
// second, which tells every lab its stack is ready, would wait behind them all. Alone, a lab's
// writes wait for nothing. (Boxed: the SDK's futures are large, and a lab's setup holds several.)

pub async fn create_stack(cfn: &Client, request: &StackRequest<'_>) -> Result<()> {
    in_background(Box::pin(with_request!(cfn.create_stack(), request).send()))
        .await
        .map_err(aws("CreateStack"))?;
    Ok(())
}

/// Updates the stack; `Ok(false)` when there was nothing to change.
pub async fn update_stack(cfn: &Client, request: &StackRequest<'_>) -> Result<bool> {
    let res = in_background(Box::pin(with_request!(cfn.update_stack(), request).send())).await;
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("No updates")) => {
            Ok(false)
        }
        Err(e) => Err(aws("UpdateStack")(e)),
    }
}

/// The reasons the stack's events give for failures (`ResourceStatusReason` of `*_FAILED` events)
/// in its latest create or update only, newest first: the stack's own reason is only "The
/// following resource(s) failed …", and an older operation's failure says nothing of this one.
pub async fn failure_reasons(cfn: &Client, stack: &str) -> Result<Vec<String>> {
    let out = cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(aws("DescribeStackEvents"))?;
    let events = out.stack_events.unwrap_or_default();
    Ok(reasons_of_latest_operation(stack, &events))
}

/// The `*_FAILED` reasons among `events` (newest first) down to the stack's own event that began
/// its latest create or update.
fn reasons_of_latest_operation(stack: &str, events: &[StackEvent]) -> Vec<String> {
    let mut reasons = Vec::new();
    for e in events {
        let status = e.resource_status.as_ref().map(|s| s.as_str()).unwrap_or_default();
        if status.ends_with("_FAILED")
            && let Some(reason) = &e.resource_status_reason
        {
            reasons.push(reason.clone());
        }
        let began = matches!(status, "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS")
            && e.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
            && e.logical_resource_id.as_deref() == Some(stack);
        if began {
            break;
        }
    }
    reasons
}

pub async fn delete_stack(cfn: &Client, stack: &str) -> Result<()> {
    in_background(Box::pin(cfn.delete_stack().stack_name(stack).send()))
        .await
        .map_err(aws("DeleteStack"))?;
    Ok(())
}

/// How a stack is waited for: asked at once, then every eighth of the time waited, between half
/// a second and two (readiness is seen within 12.5 % of the wait, 2 s at most, with few calls to
/// CloudFormation, which allows the whole account a few a second), for half an hour at most;
/// throttling is waited out with longer pauses (the one [`Backoff`] rule).
pub const STACK_WAIT: Backoff = Backoff {
    first: Duration::from_millis(500),
    max_delay: Duration::from_secs(2),
    budget: Duration::from_secs(30 * 60),
};

/// Waits until the stack leaves `*_IN_PROGRESS`, over any way to describe it (one call, a shared
/// [`StackBoard`], or a simulated stack in tests); returns it, or None when it is gone.
/// `on_poll` hears the status and the time waited after each poll.
pub async fn wait_until_settled<Fut>(
    stack: &str,
    poll: Backoff,
    mut describe: impl FnMut() -> Fut,
    mut on_poll: impl FnMut(&str, Duration),
) -> Result<Option<StackInfo>>
where
    Fut: Future<Output = Result<Option<StackInfo>>>,
{
    let start = Instant::now();
    loop {
        let pause = poll.pause(start.elapsed());
        let info = match describe().await {
            // Throttled (CloudFormation allows a few requests a second to the whole account):
            // the stack is as it was; ask again, later.
            Err(e) if crate::aws::error::error_code(&e).is_some_and(crate::aws::retry::is_throttling) => {
                let pause = poll.pause_after(start.elapsed(), true);
                if start.elapsed() + pause > poll.budget {
                    return Err(e);
                }
                tokio::time::sleep(pause).await;
                continue;
            }
            other => other?,
        };
        let status = info
            .as_ref()
            .map_or_else(|| "gone".to_owned(), |i| i.status.as_str().to_owned());
        on_poll(&status, start.elapsed());
        match info {
            Some(i) if phase(&i.status) == Phase::InProgress => {}
            other => return Ok(other),
        }
        if start.elapsed() + pause > poll.budget {
            bail!(
                "stack {stack} is still {status} after {:.0} s; check it in the CloudFormation console, then run again",
                start.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests;
