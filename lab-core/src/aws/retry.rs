//! Retries for IAM's eventual consistency: a new access key is refused (InvalidClientTokenId) for
//! a few seconds, and AssumeRole is denied for up to ~30 s after a role or policy appears. Only the
//! named codes are retried, and Throttling, within a total bound; no fixed sleeps.
//!
//! The pause after an attempt is an eighth of the time waited so far, at least `first` and at most
//! `max_delay`: the moment the call would succeed is seen within 12.5 % of the wait (0.5 s after
//! 4 s, 2 s at most), with few calls while the wait is long. Throttling pauses four times longer.

use std::time::Duration;

use anyhow::Result;
use tokio::time::Instant;

use crate::aws::error::error_code;

/// Codes that say "too many requests": answered by pausing longer, never by failing.
pub const THROTTLING_CODES: [&str; 4] = [
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Whether an error code says "too many requests".
pub fn is_throttling(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// The retry schedule: pauses of an eighth of the time waited, within `first..=max_delay`, until
/// `budget` would be exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max_delay: Duration,
    pub budget: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            budget: Duration::from_secs(90),
        }
    }
}

impl Backoff {
    /// No retry at all: where nothing propagates, a refusal is final.
    pub const NONE: Backoff = Backoff {
        first: Duration::from_millis(100),
        max_delay: Duration::from_millis(100),
        budget: Duration::ZERO,
    };

    /// This schedule, its pauses `first` at least: for a wait off the critical path, where asking
    /// less often costs nothing (a new key's, while its stack deploys).
    pub fn pausing_at_least(self, first: Duration) -> Self {
        Self {
            first: self.first.max(first),
            max_delay: self.max_delay.max(first),
            ..self
        }
    }

    /// This schedule's budget with no pause of its own between polls: for a wait whose every
    /// poll waits for something new (a class's view of its stacks, taken at its own pace).
    /// Throttling still pauses (a second at least, [`Backoff::pause_after`]).
    pub fn paced_by_caller(self) -> Self {
        Self {
            first: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..self
        }
    }

    /// The pause after `waited`.
    pub fn pause(&self, waited: Duration) -> Duration {
        (waited / 8).clamp(self.first, self.max_delay)
    }

    /// The pause after `waited` when the call was `throttled` (four times longer, a second at
    /// least: the one rule for every throttled retry and poll), else [`Backoff::pause`].
    pub fn pause_after(&self, waited: Duration, throttled: bool) -> Duration {
        let pause = self.pause(waited);
        if throttled {
            (pause * 4).max(Duration::from_secs(1))
        } else {
            pause
        }
    }

    /// The pauses between attempts when every attempt is instant; their sum never exceeds the
    /// budget.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let this = *self;
        let mut spent = Duration::ZERO;
        std::iter::from_fn(move || {
            let delay = this.pause(spent);
            if spent + delay > this.budget {
                return None;
            }
            spent += delay;
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
    /// Which pause of the wait this is, from 1.
    pub pause: u32,
}

/// Whether a pause is worth a line: the first of a wait, and the ones during which the time
/// waited passes a power of two seconds (1, 2, 4, 8 …).
pub fn worth_telling(w: &Waiting) -> bool {
    if w.pause == 1 {
        return true;
    }
    let (from, to) = (w.waited.as_secs_f64(), (w.waited + w.delay).as_secs_f64());
    (0..8)
        .map(|k| f64::from(1u32 << k))
        .any(|mark| from < mark && mark <= to)
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
    let mut pause = 0;
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(code) = error_code(&err)
            .filter(|c| codes.contains(c) || THROTTLING_CODES.contains(c))
            .map(str::to_owned)
        else {
            return Err(err);
        };
        let waited = started.elapsed();
        let delay = backoff.pause_after(waited, is_throttling(&code));
        if waited + delay > backoff.budget {
            return Err(crate::aws::error::hint(
                err,
                format!(
                    "still {code} after {:.0} s of retries; IAM changes normally arrive within a minute, so check the lab with `{}` and run again",
                    waited.as_secs_f64(),
                    crate::model::command::xtask("verify")
                ),
            ));
        }
        pause += 1;
        on_wait(&Waiting {
            code,
            delay,
            waited,
            pause,
        });
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::{AwsError, FailureKind};
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
    fn pauses_are_an_eighth_of_the_wait_within_bounds_and_budget() {
        let b = Backoff::default();
        assert_eq!(b.pause(Duration::ZERO), Duration::from_millis(100));
        assert_eq!(b.pause(Duration::from_secs(4)), Duration::from_millis(500));
        assert_eq!(b.pause(Duration::from_secs(60)), Duration::from_secs(2));
        let delays: Vec<_> = b.delays().collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        let total: Duration = delays.iter().sum();
        assert!(
            total <= Duration::from_secs(90) && total > Duration::from_secs(88),
            "{total:?}"
        );
        // Few calls for a long wait: about one every 2 s once it is long.
        assert!(delays.len() <= 75, "{}", delays.len());
    }

    #[test]
    fn a_wait_off_the_critical_path_asks_less_often_within_the_same_budget() {
        let half = Duration::from_millis(500);
        let b = Backoff::default().pausing_at_least(half);
        assert_eq!(b.pause(Duration::ZERO), half);
        assert_eq!(b.pause(Duration::from_secs(8)), Duration::from_secs(1));
        assert_eq!(b.budget, Backoff::default().budget);
        // A new key known after 4 s: 8 asks, not the 22 of the default schedule.
        let asks = |b: Backoff| {
            b.delays()
                .scan(Duration::ZERO, |t, d| {
                    *t += d;
                    Some(*t)
                })
                .take_while(|t| *t < Duration::from_secs(4))
                .count()
                + 1
        };
        assert_eq!(asks(b), 8);
        assert!(asks(Backoff::default()) > 15, "{}", asks(Backoff::default()));
        // Where nothing propagates, still no retry at all.
        assert_eq!(Backoff::NONE.pausing_at_least(half).delays().count(), 0);
    }

    /// Readiness at any moment is seen within 12.5 % of the wait, and within 2 s.
    #[tokio::test(start_paused = true)]
    async fn readiness_is_seen_soon_after_it_comes() {
        for ready_at in [0.3, 1.0, 3.0, 4.0, 6.5, 30.0, 80.0] {
            let ready_at = Duration::from_secs_f64(ready_at);
            let started = Instant::now();
            retry_codes(
                Backoff::default(),
                &["AccessDenied"],
                |_| {},
                || async {
                    if started.elapsed() >= ready_at {
                        Ok(())
                    } else {
                        Err(failure("AccessDenied"))
                    }
                },
            )
            .await
            .unwrap();
            let late = started.elapsed() - ready_at;
            assert!(
                late <= (ready_at / 8).max(Duration::from_millis(100)) && late <= Duration::from_secs(2),
                "ready at {ready_at:?}, seen {late:?} later"
            );
        }
    }

    #[test]
    fn a_long_wait_is_told_in_a_few_lines() {
        let told = Backoff::default()
            .delays()
            .enumerate()
            .scan(Duration::ZERO, |waited, (i, delay)| {
                let w = Waiting {
                    code: "AccessDenied".into(),
                    delay,
                    waited: *waited,
                    pause: i as u32 + 1,
                };
                *waited += delay;
                Some(worth_telling(&w))
            })
            .filter(|t| *t)
            .count();
        assert!((7..=10).contains(&told), "{told} lines for 90 s");
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_waited_out_with_longer_pauses() {
        let calls = Cell::new(0);
        let mut waits = Vec::new();
        retry_codes(
            Backoff::default(),
            &["AccessDenied"],
            |w| waits.push(w.clone()),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n <= 2 { Err(failure("Throttling")) } else { Ok(()) } }
            },
        )
        .await
        .unwrap();
        assert_eq!(waits.len(), 2);
        assert!(
            waits
                .iter()
                .all(|w| w.code == "Throttling" && w.delay >= Duration::from_secs(1))
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
        // 0.1 s three times (the wait is young), and not a moment more.
        assert_eq!(started.elapsed(), Duration::from_millis(300));
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
