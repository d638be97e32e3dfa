//! One view of a region's stacks for a whole class: every lab's DescribeStacks answered from one
//! paginated call a second at most, and the class's other CloudFormation calls paced, so that 30
//! labs at once stay below the few requests a second CloudFormation allows an account.

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
    /// The least time between two CloudFormation calls of the class, of any kind.
    spacing: Duration,
    /// When the next call may go.
    next_turn: std::sync::Mutex<Option<Instant>>,
    /// The admin may not list every stack: each is described by its name.
    by_name: std::sync::atomic::AtomicBool,
    /// Per region: when the view was taken, and the stacks it showed.
    views: tokio::sync::Mutex<HashMap<String, StackView>>,
}

impl StackBoard {
    /// A view at most every `min_interval`, and `rate` CloudFormation calls a second in all.
    pub fn new(min_interval: Duration, rate: u32) -> Self {
        Self {
            min_interval,
            spacing: Duration::from_secs(1) / rate.max(1),
            next_turn: std::sync::Mutex::new(None),
            by_name: std::sync::atomic::AtomicBool::new(false),
            views: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this call's turn: the class's CloudFormation calls go one per `spacing`, so
    /// that a burst of labs (30 preflights, 30 CreateStacks) is never throttled.
    pub async fn turn(&self) {
        let slot = {
            let Ok(mut next) = self.next_turn.lock() else { return };
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.spacing);
            slot
        };
        tokio::time::sleep_until(slot).await;
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
                self.turn().await;
                return describe_stack(cfn, stack).await;
            }
            self.turn().await;
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
