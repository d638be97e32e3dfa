//! One view of a region's stacks for a whole class: every lab's DescribeStacks answered from one
//! paginated call a second at most, so that 30 labs waiting for their stacks spend a fraction of
//! the few requests a second CloudFormation allows an account (the class's clients keep to that
//! rate, `aws::pace`).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use aws_sdk_cloudformation::Client;
use tokio::time::Instant;

use super::cfn::{StackInfo, describe_all_stacks, describe_stack};

/// When a view of a region's stacks was taken, and the stacks it showed, by name.
type StackView = (Instant, HashMap<String, StackInfo>);

/// One view of a region's stacks shared by many waiters (a class): at most one DescribeStacks
/// every `min_interval`, however many stacks are waited for, so that CloudFormation's request
/// rate (a few a second, shared with everything else the account runs) is never approached.
#[derive(Debug)]
pub struct StackBoard {
    min_interval: Duration,
    /// The admin may not list every stack: each is described by its name.
    by_name: std::sync::atomic::AtomicBool,
    /// Per region: when the view was taken, and the stacks it showed.
    views: tokio::sync::Mutex<HashMap<String, StackView>>,
}

impl StackBoard {
    /// A view at most every `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            by_name: std::sync::atomic::AtomicBool::new(false),
            views: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The stack as a view younger than `min_interval` shows it, taken at or after `since` when
    /// given (a view from before a change the waiter made would show the old state); None when
    /// the stack is not there.
    pub async fn describe(
        &self,
        cfn: &Client,
        region: &str,
        stack: &str,
        since: Option<Instant>,
    ) -> Result<Option<StackInfo>> {
        // Waiters queue on the lock: the first takes a new view, the others read it.
        let mut views = self.views.lock().await;
        let fresh = views
            .get(region)
            .is_some_and(|(at, _)| since.is_none_or(|s| *at >= s) && at.elapsed() < self.min_interval);
        if !fresh {
            if let Some((at, _)) = views.get(region) {
                // Not more often than min_interval, even for a waiter that needs a newer view.
                tokio::time::sleep_until(*at + self.min_interval).await;
            }
            if self.by_name.load(std::sync::atomic::Ordering::Relaxed) {
                drop(views);
                return describe_stack(cfn, stack).await;
            }
            let taken = Instant::now();
            let stacks = match describe_all_stacks(cfn).await {
                Ok(stacks) => stacks,
                // DescribeStacks without a name needs rights over every stack (cloudformation:
                // ListStacks too, and no Deny on other stacks); an admin limited to the lab's
                // stacks is asked by name, one call a stack, from now on.
                Err(e) if crate::aws::error::aws_error(&e).is_some_and(|a| a.is_access_denied()) => {
                    self.by_name.store(true, std::sync::atomic::Ordering::Relaxed);
                    drop(views);
                    return describe_stack(cfn, stack).await;
                }
                Err(e) => return Err(e),
            };
            views.insert(region.to_owned(), (taken, stacks));
        }
        Ok(views.get(region).and_then(|(_, stacks)| stacks.get(stack).cloned()))
    }
}
