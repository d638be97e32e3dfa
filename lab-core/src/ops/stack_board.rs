//! One view of a region's stacks for a whole class: every lab's DescribeStacks answered from one
//! paginated call a second at most (two once stacks are settling), so that 30 labs waiting for
//! their stacks spend a fraction of the few requests a second CloudFormation allows an account
//! (the class's clients keep to that rate, `aws::pace`), behind the class's creates and deletes.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Result;
use aws_sdk_cloudformation::Client;
use tokio::time::Instant;

use super::cfn::{Phase, StackInfo, describe_all_stacks, describe_stack, phase};
use crate::aws::pace::in_background;

/// How old a view a look that waits for nothing (a preflight, verify's look for its role) takes,
/// however fast the board's pace: a class of 30 looking about the same time shares one view.
const LOOK_FRESH_FOR: Duration = Duration::from_secs(1);

/// When a view of a region's stacks was taken, and the stacks it showed, by name.
type StackView = (Instant, HashMap<String, StackInfo>);

/// One view of a region's stacks shared by many waiters (a class): at most one DescribeStacks
/// every `min_interval`, however many stacks are waited for, so that CloudFormation's request
/// rate (a few a second, shared with everything else the account runs) is never approached;
/// every half of it once a stack waited for has settled, as the class's others, started about
/// when it was, are settling too (each seen sooner, for a few more views near the end).
/// A waiter asks again at once for the view after the one it saw ([`StackBoard::describe`]
/// returns when it was taken): the board, not each waiter, sets the pace, and a stack that is
/// ready is seen with the next view, not a view and a waiter's own pause later.
#[derive(Debug)]
pub struct StackBoard {
    min_interval: Duration,
    /// The admin may not list every stack: each is described by its name.
    by_name: std::sync::atomic::AtomicBool,
    /// A stack a waiter asked about has settled (or is gone).
    settling: std::sync::atomic::AtomicBool,
    /// Per region: when the view was taken, and the stacks it showed.
    views: tokio::sync::Mutex<HashMap<String, StackView>>,
    /// Described by name: when each stack (by region and name) was last asked for.
    asked: tokio::sync::Mutex<HashMap<(String, String), Instant>>,
}

impl StackBoard {
    /// A view at most every `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            by_name: std::sync::atomic::AtomicBool::new(false),
            settling: std::sync::atomic::AtomicBool::new(false),
            views: tokio::sync::Mutex::new(HashMap::new()),
            asked: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The stack as a view shows it (None when it is not there), and when that view was taken:
    /// a view younger than the board's interval taken at or after `since` when given (a view from
    /// before a change the waiter made, or one it has already seen, would tell it nothing new),
    /// else one younger than a second at least.
    pub async fn describe(
        &self,
        cfn: &Client,
        region: &str,
        stack: &str,
        since: Option<Instant>,
    ) -> Result<(Option<StackInfo>, Instant)> {
        let seen = if self.by_name.load(Relaxed) {
            self.describe_by_name(cfn, region, stack).await?
        } else {
            self.describe_in_view(cfn, region, stack, since).await?
        };
        if since.is_some() && seen.0.as_ref().is_none_or(|s| phase(&s.status) != Phase::InProgress) {
            self.settling.store(true, Relaxed);
        }
        Ok(seen)
    }

    /// The least time between two views (or two asks of one stack) now.
    fn interval(&self) -> Duration {
        match self.settling.load(Relaxed) {
            true => self.min_interval / 2,
            false => self.min_interval,
        }
    }

    async fn describe_in_view(
        &self,
        cfn: &Client,
        region: &str,
        stack: &str,
        since: Option<Instant>,
    ) -> Result<(Option<StackInfo>, Instant)> {
        // Waiters queue on the lock: the first takes a new view, the others read it.
        let mut views = self.views.lock().await;
        let fresh = views.get(region).is_some_and(|(at, _)| match since {
            Some(s) => *at >= s && at.elapsed() < self.interval(),
            None => at.elapsed() < self.interval().max(LOOK_FRESH_FOR),
        });
        if !fresh {
            if let Some((at, _)) = views.get(region) {
                // Not more often than that, even for a waiter that needs a newer view.
                tokio::time::sleep_until(*at + self.interval()).await;
            }
            // A waiter queued here while the one before was refused the listing asks by name,
            // without a refusal of its own.
            if self.by_name.load(Relaxed) {
                drop(views);
                return self.describe_by_name(cfn, region, stack).await;
            }
            let taken = Instant::now();
            // Behind the class's other CloudFormation requests: a stack created or deleted a
            // moment later starts its time sooner, and no stack is ready within a request's
            // spacing of being asked for.
            let stacks = match in_background(describe_all_stacks(cfn)).await {
                Ok(stacks) => stacks,
                // DescribeStacks without a name needs rights over every stack (cloudformation:
                // ListStacks too, and no Deny on other stacks); an admin limited to the lab's
                // stacks is asked by name, one call a stack, from now on.
                Err(e) if crate::aws::error::aws_error(&e).is_some_and(|a| a.is_access_denied()) => {
                    self.by_name.store(true, Relaxed);
                    drop(views);
                    return self.describe_by_name(cfn, region, stack).await;
                }
                Err(e) => return Err(e),
            };
            views.insert(region.to_owned(), (taken, stacks));
        }
        let (at, stacks) = views
            .get(region)
            .ok_or_else(|| anyhow::anyhow!("no view of {region}'s stacks was taken"))?;
        Ok((stacks.get(stack).cloned(), *at))
    }

    /// The stack by its name, each stack asked for at most every interval.
    async fn describe_by_name(&self, cfn: &Client, region: &str, stack: &str) -> Result<(Option<StackInfo>, Instant)> {
        let key = (region.to_owned(), stack.to_owned());
        let last = self.asked.lock().await.get(&key).copied();
        if let Some(last) = last {
            tokio::time::sleep_until(last + self.interval()).await;
        }
        let taken = Instant::now();
        self.asked.lock().await.insert(key, taken);
        Ok((in_background(describe_stack(cfn, stack)).await?, taken))
    }
}
