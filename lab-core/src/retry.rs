//! Retries for IAM's eventual consistency: a new access key is refused (InvalidClientTokenId) for
//! a few seconds, and AssumeRole is denied for up to ~30 s after a role or policy appears. Only the
//! named codes are retried, with exponential backoff from 0.5 s and a total bound; no fixed sleeps.

use std::time::Duration;

use anyhow::Result;
use tokio::time::Instant;

use crate::error::error_code;

/// The retry schedule: `first`, doubling up to `max_delay`, until `budget` would be exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max_delay: Duration,
    pub budget: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(90),
        }
    }
}

impl Backoff {
    /// The pauses between attempts; their sum never exceeds the budget.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let (mut next, max, budget) = (self.first, self.max_delay, self.budget);
        let mut spent = Duration::ZERO;
        std::iter::from_fn(move || {
            let delay = next.min(max);
            if spent + delay > budget {
                return None;
            }
            spent += delay;
            next = delay * 2;
            Some(delay)
        })
    }
}

/// One pause of a retry, as reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The error code that is being waited out.
    pub code: String,
    /// The pause before the next attempt.
    pub delay: Duration,
    /// Time spent so far.
    pub waited: Duration,
}

/// Calls `op` until it succeeds, fails with a code not in `codes`, or the backoff runs out; each
/// pause is announced to `on_wait` first.
pub async fn retry_codes<T, Fut>(
    backoff: Backoff,
    codes: &[&str],
    mut on_wait: impl FnMut(&Waiting),
    mut op: impl FnMut() -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut delays = backoff.delays();
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(code) = error_code(&err).filter(|c| codes.contains(c)).map(str::to_owned) else {
            return Err(err);
        };
        let Some(delay) = delays.next() else {
            let waited = started.elapsed().as_secs_f64();
            return Err(crate::error::hint(
                err,
                format!(
                    "still {code} after {waited:.0} s of retries; IAM changes normally arrive within a minute, so check the lab with `cargo xtask verify` and run again"
                ),
            ));
        };
        on_wait(&Waiting {
            code,
            delay,
            waited: started.elapsed(),
        });
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AwsError, FailureKind};
    use std::cell::Cell;

    fn failure(code: &str) -> anyhow::Error {
        anyhow::Error::new(AwsError {
            operation: "GetCallerIdentity",
            kind: FailureKind::Service,
            code: Some(code.to_owned()),
            message: "injected".to_owned(),
        })
    }

    #[test]
    fn schedule_starts_at_half_a_second_doubles_and_stays_within_budget() {
        let delays: Vec<_> = Backoff::default().delays().collect();
        assert_eq!(delays[..5], [500, 1000, 2000, 4000, 8000].map(Duration::from_millis));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(8)));
        let total: Duration = delays.iter().sum();
        assert!(
            total <= Duration::from_secs(90) && total > Duration::from_secs(80),
            "{total:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_the_named_code_until_it_clears() {
        let calls = Cell::new(0);
        let mut waits = Vec::new();
        let started = Instant::now();
        let out = retry_codes(
            Backoff::default(),
            &["InvalidClientTokenId"],
            |w| waits.push(w.clone()),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n <= 3 {
                        Err(failure("InvalidClientTokenId"))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(out, 4);
        assert_eq!(waits.len(), 3);
        assert_eq!(waits[0].code, "InvalidClientTokenId");
        // 0.5 + 1 + 2 s of simulated time, and not a moment more.
        assert_eq!(started.elapsed(), Duration::from_millis(3500));
    }

    #[tokio::test(start_paused = true)]
    async fn other_codes_fail_at_once() {
        let calls = Cell::new(0);
        let err = retry_codes(
            Backoff::default(),
            &["InvalidClientTokenId"],
            |_| {},
            || {
                calls.set(calls.get() + 1);
                async { Err::<(), _>(failure("AccessDenied")) }
            },
        )
        .await
        .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert_eq!(error_code(&err), Some("AccessDenied"));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_budget_with_the_code_kept() {
        let started = Instant::now();
        let err = retry_codes(
            Backoff::default(),
            &["AccessDenied"],
            |_| {},
            || async { Err::<(), _>(failure("AccessDenied")) },
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() <= Duration::from_secs(90));
        assert!(started.elapsed() >= Duration::from_secs(80));
        assert_eq!(error_code(&err), Some("AccessDenied"));
        assert!(format!("{err:#}").contains("still AccessDenied after"));
    }
}
