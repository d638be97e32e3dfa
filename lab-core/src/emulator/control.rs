//! Talking to a running emulator's own endpoints (not AWS's): moto's reset API, the layers'
//! counts of the calls served and throttled, and the emulator's clock.

use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// POSTs `body` to moto's own API on `port`.
pub(super) fn moto_api(port: u16, path: &str, body: &str) -> Result<()> {
    emulator_http(port, "POST", path, body).map(drop)
}

/// One plain HTTP request to the emulator's own endpoints; the body of its 200 answer.
pub(super) fn emulator_http(port: u16, method: &str, path: &str, body: &str) -> Result<String> {
    use std::io::{Read, Write};
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).with_context(|| format!("cannot reach the emulator on port {port}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.lines().next().unwrap_or_default();
    if !status.contains(" 200") {
        bail!("the emulator answered {status:?} to {path}");
    }
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default())
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

/// The emulator's time, from its own endpoint on `port`.
pub(super) fn clock(port: u16) -> Result<Clock> {
    let body = emulator_http(port, "GET", "/sts-lab/clock", "")?;
    serde_json::from_str(&body).context("the emulator's /sts-lab/clock is not the JSON expected")
}

/// Sets the emulator's time to the machine's plus `offset` seconds (0: the machine's).
pub(super) fn set_clock(port: u16, offset: f64) -> Result<Clock> {
    let body = emulator_http(port, "POST", "/sts-lab/clock", &format!("{{\"offset\": {offset}}}"))?;
    serde_json::from_str(&body).context("the emulator's /sts-lab/clock is not the JSON expected")
}

/// The port of a local emulator's endpoint (`http://127.0.0.1:PORT`, `http://localhost:PORT`).
fn local_port(endpoint: &str) -> Option<u16> {
    let rest = endpoint
        .strip_prefix("http://127.0.0.1:")
        .or_else(|| endpoint.strip_prefix("http://localhost:"))?;
    rest.trim_end_matches('/').parse().ok()
}

/// The clock of a local emulator at `endpoint`, if one answers there.
pub fn clock_at(endpoint: &str) -> Option<Clock> {
    clock(local_port(endpoint)?).ok()
}

/// Moves the clock of a local emulator at `endpoint` to the machine's time plus `offset` seconds.
pub fn set_clock_at(endpoint: &str, offset: f64) -> Result<Clock> {
    let port = local_port(endpoint).ok_or_else(|| anyhow::anyhow!("{endpoint} is not a local emulator"))?;
    set_clock(port, offset)
}

/// How `emulator clock` moves the emulator's time: forward by a duration, or back to now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMove {
    Forward(std::time::Duration),
    Now,
}

impl ClockMove {
    /// The clock's new offset from the machine's time, from its offset now.
    pub fn offset_from(self, current: f64) -> f64 {
        match self {
            ClockMove::Forward(by) => current + by.as_secs_f64(),
            ClockMove::Now => 0.0,
        }
    }
}

impl std::str::FromStr for ClockMove {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let fix = "use +DURATION (e.g. +90m, +2h, +8d) to move it forward, or `now` to put it back";
        if text.trim() == "now" {
            return Ok(ClockMove::Now);
        }
        let Some(span) = text.trim().strip_prefix('+') else {
            bail!("{text:?} is not a move of the clock; {fix}");
        };
        match humantime::parse_duration(span) {
            Ok(by) => Ok(ClockMove::Forward(by)),
            Err(_) => bail!("{text:?} is not a duration; {fix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward_or_back_to_now() {
        let two_hours = "+2h".parse::<ClockMove>().unwrap();
        assert_eq!(two_hours.offset_from(60.0), 7260.0);
        assert_eq!("now".parse::<ClockMove>().unwrap().offset_from(7260.0), 0.0);
        for bad in ["2h", "-2h", "+", "+2x", "later"] {
            let err = bad.parse::<ClockMove>().unwrap_err().to_string();
            assert!(err.contains("use +DURATION"), "{bad}: {err}");
        }
    }
}
