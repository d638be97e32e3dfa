//! A class's pace: every IAM and CloudFormation request of the process spaced to the rate AWS
//! allows the account (IAM about 25 a second, CloudFormation a few), in the order they were asked
//! for, however many labs are in flight; slower for a while after AWS throttles one anyway.
//!
//! Each request reserves its moment (GCRA: a burst, then one every `1/rate`) and sleeps until it
//! on tokio's clock. Work off a class's critical path (a key's checks while the stack deploys, the
//! handouts, a user's disarming while its stack is deleted) runs `in_background`: its requests
//! take a moment only when it is due and no other request wants it, never one ahead, so that a
//! lab's next stack goes first. `governor` was the crate to reach for, but it answers "not yet, try again"
//! instead of reserving a moment, so 30 waiters wake together and race for each slot, and its
//! clock is not tokio's, so the pace cannot be proven with tokio's paused time.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Deserialize;
use tokio::time::Instant;

tokio::task_local! {
    /// Set while a future runs `in_background`.
    static BACKGROUND: ();
}

/// Runs `work` with its paced requests behind every other request of the process.
pub async fn in_background<F: Future>(work: F) -> F::Output {
    BACKGROUND.scope((), work).await
}

fn in_the_background() -> bool {
    BACKGROUND.try_with(|_| ()).is_ok()
}

/// How long a throttled pacer takes to come back from half its rate to all of it.
const RECOVERY: Duration = Duration::from_secs(10);

/// Requests a second per service; 0: not paced.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Rates {
    pub iam: f64,
    pub cloudformation: f64,
    /// LookupEvents (an emulator that keeps no trail says nothing: unpaced).
    #[serde(default)]
    pub cloudtrail: f64,
}

impl Rates {
    /// What a class spends of AWS's own rates, which AWS does not publish and shares with
    /// everything else the account runs (the console, other tools): IAM's "about 25 a second"
    /// less a fifth, CloudFormation's "a few" as 4; CloudTrail's LookupEvents is documented as
    /// two a second per account and region.
    pub const AWS: Rates = Rates {
        iam: 20.0,
        cloudformation: 4.0,
        cloudtrail: 2.0,
    };
    /// `share` (0 to 1) of IAM's and CloudFormation's rates and `trail_share` of CloudTrail's,
    /// for a connection that leaves the rest to others; none stays none.
    pub fn share(self, share: f64, trail_share: f64) -> Rates {
        let (share, trail_share) = (share.clamp(0.01, 1.0), trail_share.clamp(0.01, 1.0));
        Rates {
            iam: self.iam * share,
            cloudformation: self.cloudformation * share,
            cloudtrail: self.cloudtrail * trail_share,
        }
    }

    /// Nothing limits the requests (the plain emulator).
    pub const NONE: Rates = Rates {
        iam: 0.0,
        cloudformation: 0.0,
        cloudtrail: 0.0,
    };
}

/// The pacers of one account, shared by every client a class builds.
#[derive(Debug)]
pub struct Pace {
    pub iam: Arc<Pacer>,
    pub cloudformation: Arc<Pacer>,
    pub cloudtrail: Arc<Pacer>,
}

impl Pace {
    pub fn new(rates: Rates) -> Self {
        Self {
            iam: Arc::new(Pacer::new(rates.iam)),
            cloudformation: Arc::new(Pacer::new(rates.cloudformation)),
            cloudtrail: Arc::new(Pacer::new(rates.cloudtrail)),
        }
    }
}

/// One service's pace: one request every `1/rate`, and after a quiet while a burst of at most half
/// a second's requests (AWS's bucket refilled meanwhile, and may hold less than a second's); none
/// at first, when how full AWS's bucket is is unknown.
#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    state: Mutex<PacerState>,
}

#[derive(Debug)]
struct PacerState {
    /// When the next request would be due if none had come early (GCRA's theoretical arrival).
    due: Option<Instant>,
    /// The last throttling seen, and the rate it left the pacer at.
    throttled: Option<(Instant, f64)>,
}

impl Pacer {
    /// `rate` requests a second (0: never waits).
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            burst: (rate / 2.0).floor().max(1.0),
            state: Mutex::new(PacerState {
                due: None,
                throttled: None,
            }),
        }
    }

    /// The requests a second allowed now: the full rate, or less while coming back from
    /// throttling (half of what it was, back to all of it within `RECOVERY`).
    fn rate_at(&self, state: &PacerState, now: Instant) -> f64 {
        match state.throttled {
            Some((at, low)) => {
                let back = (now - at).as_secs_f64() / RECOVERY.as_secs_f64();
                (low + (self.rate - low) * back).min(self.rate)
            }
            None => self.rate,
        }
    }

    /// Reserves the next request's moment, at or after `now`.
    pub fn reserve(&self, now: Instant) -> Instant {
        self.reserve_by(now, None)
    }

    /// The next request's moment, reserved when it is no later than `latest` (always, when None);
    /// else the moment it would have had, nothing reserved.
    fn reserve_by(&self, now: Instant, latest: Option<Instant>) -> Instant {
        if self.rate <= 0.0 {
            return now;
        }
        let Ok(mut state) = self.state.lock() else { return now };
        let spacing = Duration::from_secs_f64(1.0 / self.rate_at(&state, now));
        let tolerance = spacing.mul_f64(self.burst - 1.0);
        // A new pacer knows nothing of the account's bucket (another process, or another tool,
        // may just have spent it): no burst until it has kept the pace a while.
        let due = state.due.map_or(now + tolerance, |d| d.max(now));
        let slot = due.checked_sub(tolerance).map_or(now, |s| s.max(now));
        if latest.is_none_or(|latest| slot <= latest) {
            state.due = Some(due + spacing);
        }
        slot
    }

    /// Waits for the next request's moment: reserved at once, or, in the background, taken only
    /// when it is due.
    pub async fn wait(&self) {
        if !in_the_background() {
            let slot = self.reserve(Instant::now());
            tokio::time::sleep_until(slot).await;
            return;
        }
        loop {
            let now = Instant::now();
            let slot = self.reserve_by(now, Some(now));
            if slot <= now {
                return;
            }
            tokio::time::sleep_until(slot).await;
        }
    }

    /// AWS throttled a request: half the rate now, back to all of it within `RECOVERY`.
    pub fn throttled(&self, now: Instant) {
        if self.rate <= 0.0 {
            return;
        }
        let Ok(mut state) = self.state.lock() else { return };
        let low = (self.rate_at(&state, now) / 2.0).max(0.5);
        state.throttled = Some((now, low));
        // AWS's bucket is empty: as if a whole burst had just gone, the next request waits a
        // (new) spacing, and the burst comes back only as the bucket would refill.
        let empty = now + Duration::from_secs_f64(self.burst / low);
        state.due = Some(state.due.map_or(empty, |d| d.max(empty)));
    }
}

/// `inner`, with every request of the client waiting for `pacer` first (retries included).
pub fn paced(inner: SharedHttpClient, pacer: Arc<Pacer>) -> SharedHttpClient {
    SharedHttpClient::new(PacedClient { inner, pacer })
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    pacer: Arc<Pacer>,
}

impl HttpClient for PacedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: Arc::clone(&self.pacer),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Arc<Pacer>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, pacer) = (self.inner.clone(), Arc::clone(&self.pacer));
        HttpConnectorFuture::new(async move {
            pacer.wait().await;
            inner.call(request).await
        })
    }
}

/// Tells a pacer when AWS throttled one of its client's requests (the awsQuery error body names
/// the code), so that the class slows down instead of being throttled again.
#[derive(Clone)]
pub struct ThrottleSignal(pub Arc<Pacer>);

impl fmt::Debug for ThrottleSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThrottleSignal")
    }
}

impl Intercept for ThrottleSignal {
    fn name(&self) -> &'static str {
        "ThrottleSignal"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if response.status().is_success() {
            return Ok(());
        }
        let code = crate::aws::error::body_text(response).and_then(|b| crate::aws::error::xml_text(&b, "Code"));
        if code.is_some_and(|c| crate::aws::retry::is_throttling(&c)) {
            self.0.throttled(Instant::now());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The moments of `n` requests all asked for at `start`, as offsets in milliseconds.
    fn moments(pacer: &Pacer, start: Instant, n: usize) -> Vec<u128> {
        (0..n).map(|_| (pacer.reserve(start) - start).as_millis()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_at_first_then_half_a_second_of_requests_after_a_quiet_while() {
        let pacer = Pacer::new(10.0);
        let start = Instant::now();
        assert_eq!(moments(&pacer, start, 4), [0, 100, 200, 300]);
        let later = start + Duration::from_secs(2);
        let after_quiet: Vec<u128> = (0..8).map(|_| (pacer.reserve(later) - later).as_millis()).collect();
        assert_eq!(after_quiet, [0, 0, 0, 0, 0, 100, 200, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_spread_over_time_never_wait() {
        let pacer = Pacer::new(10.0);
        let start = Instant::now();
        for i in 0..20 {
            let at = start + Duration::from_millis(150 * i);
            assert_eq!(pacer.reserve(at), at, "request {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hundred_waiters_take_ten_seconds_at_ten_a_second() {
        let pacer = Arc::new(Pacer::new(10.0));
        let start = Instant::now();
        let waits = (0..100).map(|_| {
            let pacer = Arc::clone(&pacer);
            async move { pacer.wait().await }
        });
        futures_util::future::join_all(waits).await;
        // The first at once, then 99 more a tenth of a second apart.
        assert_eq!((Instant::now() - start).as_millis(), 9_900);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_the_rate_and_it_comes_back() {
        let pacer = Pacer::new(10.0);
        let start = Instant::now();
        pacer.throttled(start);
        // Half the rate: the next two 200 ms apart, no burst.
        assert_eq!(moments(&pacer, start, 2), [200, 400]);
        // Ten seconds on, the full rate again, and its burst.
        assert_eq!(moments(&pacer, start + RECOVERY, 6), [0, 0, 0, 0, 0, 100]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_asked_later_goes_before_the_background() {
        let pacer = Arc::new(Pacer::new(10.0));
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let request = |name: &'static str| {
            let (pacer, order) = (Arc::clone(&pacer), Arc::clone(&order));
            async move {
                pacer.wait().await;
                order.lock().unwrap().push((name, (Instant::now() - start).as_millis()));
            }
        };
        let background = in_background(futures_util::future::join_all((0..3).map(|_| request("background"))));
        let urgent = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            futures_util::future::join_all((0..2).map(|_| request("urgent"))).await;
        };
        tokio::join!(background, urgent);
        // One background request at 0; the two asked at 50 ms take the next moments (100, 200)
        // before the other two background ones (300, 400), although these were asked first.
        let order = order.lock().unwrap().clone();
        assert_eq!(
            order,
            [
                ("background", 0),
                ("urgent", 100),
                ("urgent", 200),
                ("background", 300),
                ("background", 400)
            ]
        );
    }

    #[test]
    fn an_unpaced_service_never_waits() {
        let pacer = Pacer::new(0.0);
        let now = Instant::now();
        assert!((0..1000).all(|_| pacer.reserve(now) == now));
    }
}
