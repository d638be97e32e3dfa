//! What a target talks to (`Endpoint`: AWS, or sts-lab's emulator) and the emulator's own
//! endpoints (not AWS's), asked asynchronously through one client (`Control`): moto's reset API,
//! the layers' counts of the calls served and throttled, and the emulator's clock. The target's
//! time and clock moves are asked of the target (`Target::now`, `Target::move_clock_to`), never
//! of the emulator module.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use super::{SERVICE_IDS, service_endpoint};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How long one request to the emulator's own endpoints may take, connection included: they
/// answer at once, so a longer silence is an emulator that hangs, said as an error.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// The emulator's own endpoints (`/sts-lab/...`, `/moto-api/...`) at its address, asked over
/// async HTTP: never a blocking socket on the runtime, so labs that ask it run side by side.
#[derive(Debug, Clone)]
pub struct Control {
    /// `http://127.0.0.1:5055`.
    pub base: String,
    /// What the emulator reproduces, asked once: it is fixed when it starts.
    info: std::sync::Arc<tokio::sync::OnceCell<Info>>,
}

/// Two controls are the same emulator when they have the same address.
impl PartialEq for Control {
    fn eq(&self, other: &Self) -> bool {
        self.base == other.base
    }
}

impl Eq for Control {}

/// One client for every request, keeping no idle connection: a connection belongs to the runtime
/// that opened it (each test has its own), and a loopback connection costs nothing to open.
fn client() -> &'static Client<HttpConnector, Full<Bytes>> {
    static CLIENT: OnceLock<Client<HttpConnector, Full<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http()
    })
}

impl Control {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            info: Default::default(),
        }
    }

    pub fn on_port(port: u16) -> Self {
        Self::new(&format!("http://127.0.0.1:{port}"))
    }

    /// One request to the emulator's own endpoints; the body of its 200 answer.
    pub async fn http(&self, method: &str, path: &str, body: &str) -> Result<String> {
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from(body.to_owned())))
            .with_context(|| format!("cannot build a request for {path}"))?;
        let answer = async {
            let response = client().request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(CONTROL_TIMEOUT, answer)
            .await
            .map_err(|_| {
                anyhow!(
                    "the emulator at {} did not answer {path} within {CONTROL_TIMEOUT:?}",
                    self.base
                )
            })?
            .with_context(|| format!("cannot reach the emulator at {}", self.base))?;
        if !status.is_success() {
            bail!("the emulator answered {status} to {path}");
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// POSTs `body` to moto's own API.
    pub async fn moto_api(&self, path: &str, body: &str) -> Result<()> {
        self.http("POST", path, body).await.map(drop)
    }

    /// The emulator's time.
    pub async fn clock(&self) -> Result<Clock> {
        let body = self.http("GET", "/sts-lab/clock", "").await?;
        serde_json::from_str(&body).context("the emulator's /sts-lab/clock is not the JSON expected")
    }

    /// Sets the emulator's time to the machine's plus `offset` seconds (0: the machine's).
    pub async fn set_clock(&self, offset: f64) -> Result<Clock> {
        let body = self
            .http("POST", "/sts-lab/clock", &format!("{{\"offset\": {offset}}}"))
            .await?;
        serde_json::from_str(&body).context("the emulator's /sts-lab/clock is not the JSON expected")
    }

    /// What the emulator reproduces of AWS: its mode and the request rates it enforces.
    pub async fn info(&self) -> Result<Info> {
        self.info
            .get_or_try_init(|| async {
                let body = self.http("GET", "/sts-lab/info", "").await?;
                serde_json::from_str(&body).context("the emulator's /sts-lab/info is not the JSON expected")
            })
            .await
            .cloned()
    }

    /// Whether the emulator reproduces IAM's propagation (its realistic mode): the plain one has
    /// none, so nothing is worth waiting out there.
    pub async fn propagates(&self) -> Result<bool> {
        Ok(self.info().await?.realistic)
    }

    /// What the emulator counted since it started or was reset.
    pub async fn stats(&self) -> Result<Stats> {
        let body = self.http("GET", "/sts-lab/stats", "").await?;
        serde_json::from_str(&body).context("the emulator's /sts-lab/stats is not the JSON expected")
    }

    /// Whether sts-lab's emulator answers at this address (its info endpoint, kept for later),
    /// asked briefly.
    pub async fn answers(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), self.info())
            .await
            .is_ok_and(|i| i.is_ok())
    }
}

/// What the emulator reproduces (`GET /sts-lab/info`): the realistic mode (IAM's propagation
/// among it), and the request rates it throttles past (0: none; an older emulator says none).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Info {
    pub realistic: bool,
    #[serde(default = "no_rates")]
    pub rates: crate::aws::pace::Rates,
}

fn no_rates() -> crate::aws::pace::Rates {
    crate::aws::pace::Rates::NONE
}

/// What the emulator counted (`GET /sts-lab/stats`): the calls it served and those it throttled,
/// by `service:Action` (S3 by method).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Stats {
    #[serde(default)]
    pub calls: std::collections::BTreeMap<String, u64>,
    #[serde(default)]
    pub throttled: std::collections::BTreeMap<String, u64>,
}

impl Stats {
    pub fn calls(&self, key: &str) -> u64 {
        self.calls.get(key).copied().unwrap_or(0)
    }

    /// The calls of one service (`cloudformation`), all actions.
    pub fn service_calls(&self, service: &str) -> u64 {
        let prefix = format!("{service}:");
        self.calls
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// The throttled calls of one service (`iam`), all actions.
    pub fn service_throttled(&self, service: &str) -> u64 {
        let prefix = format!("{service}:");
        self.throttled
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The emulator's time (`GET /sts-lab/clock`): the machine's, moved forward by `offset` seconds.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Clock {
    /// `2026-11-22T22:00:00Z`.
    pub now: String,
    /// Seconds since the epoch, with fractions.
    pub epoch: f64,
    /// How far ahead of the machine's clock, in seconds.
    pub offset: f64,
}

/// The emulator's address, when `endpoint` names one on the loopback address
/// (`http://127.0.0.1:PORT`, `http://localhost:PORT`, `http://[::1]:PORT`): only there may an
/// endpoint be ours.
pub fn local_control(endpoint: &str) -> Option<Control> {
    let rest = endpoint.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    matches!(host, "127.0.0.1" | "localhost" | "[::1]").then(|| Control::new(&format!("http://{host}:{port}")))
}

/// What the lab's calls talk to, decided once when the admin connects: every "is this the
/// emulator?" asks this, never the endpoint's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// AWS, as the SDK resolves it (AWS_ENDPOINT_URL or a profile's `endpoint_url` included: an
    /// endpoint that is not sts-lab's emulator is treated as AWS is, its clock this machine's).
    Aws,
    /// sts-lab's emulator: its AWS endpoint and its own control endpoints (the clock) at one
    /// address.
    Emulator(Control),
}

impl Endpoint {
    /// The emulator's control endpoints, when the target is the emulator.
    pub fn emulator(&self) -> Option<&Control> {
        match self {
            Endpoint::Emulator(control) => Some(control),
            Endpoint::Aws => None,
        }
    }
}

impl super::Target {
    /// Recognises, once, an endpoint the SDK resolves for the admin (AWS_ENDPOINT_URL, a profile's
    /// `endpoint_url` or `services`) that is sts-lab's emulator on this machine: it is then the
    /// emulator's target, its clock the emulator's.
    pub async fn recognize_endpoint(&mut self) -> Result<()> {
        if self.endpoint != Endpoint::Aws {
            return Ok(());
        }
        let config = self.load(self.admin_profile.as_deref()).await?;
        let endpoint = SERVICE_IDS.iter().find_map(|id| service_endpoint(&config, id));
        if let Some(control) = endpoint.as_deref().and_then(local_control)
            && control.answers().await
        {
            self.endpoint = Endpoint::Emulator(control);
        }
        Ok(())
    }

    /// The time the endpoint decides by: the emulator's clock (which a learner may move), else
    /// this machine's, which AWS's agrees with.
    pub async fn now(&self) -> Result<i64> {
        match &self.endpoint {
            Endpoint::Emulator(control) => Ok(control.clock().await?.epoch as i64),
            Endpoint::Aws => Ok(crate::model::expiry::machine_now()),
        }
    }

    /// Whether IAM's changes take a while to arrive where the lab runs: on AWS, and on the
    /// realistic emulator; not on the plain one (a refusal there is final, never waited out).
    pub async fn propagates(&self) -> bool {
        match &self.endpoint {
            Endpoint::Aws => true,
            Endpoint::Emulator(control) => control.propagates().await.unwrap_or(true),
        }
    }

    /// The request rates a class keeps to where it runs: AWS's (the part a class spends of them),
    /// or the ones the emulator enforces (none on the plain one).
    pub async fn request_rates(&self) -> Result<crate::aws::pace::Rates> {
        match &self.endpoint {
            Endpoint::Aws => Ok(crate::aws::pace::Rates::AWS),
            Endpoint::Emulator(control) => Ok(control.info().await?.rates),
        }
    }

    /// The backoff of IAM's propagation where the lab runs: `backoff`, or no wait at all where
    /// nothing propagates.
    pub async fn propagation(&self, backoff: crate::aws::retry::Backoff) -> crate::aws::retry::Backoff {
        if self.propagates().await {
            backoff
        } else {
            crate::aws::retry::Backoff::NONE
        }
    }

    /// Moves the emulator's clock forward to `at` (Unix seconds; never back): its new time, or
    /// None on AWS, whose clock nobody moves.
    pub async fn move_clock_to(&self, at: i64) -> Result<Option<String>> {
        let Some(control) = self.endpoint.emulator() else {
            return Ok(None);
        };
        let clock = control.clock().await?;
        let forward = (at as f64 - clock.epoch).max(0.0);
        Ok(Some(control.set_clock(clock.offset + forward).await?.now))
    }

    /// How far ahead of this machine the emulator's clock is (None on AWS), to put it back with
    /// [`Target::set_clock_offset`].
    pub async fn clock_offset(&self) -> Result<Option<f64>> {
        match self.endpoint.emulator() {
            Some(control) => Ok(Some(control.clock().await?.offset)),
            None => Ok(None),
        }
    }

    /// Sets the emulator's clock to this machine's time plus `offset` seconds (nothing on AWS).
    pub async fn set_clock_offset(&self, offset: f64) -> Result<()> {
        if let Some(control) = self.endpoint.emulator() {
            control.set_clock(offset).await?;
        }
        Ok(())
    }
}
