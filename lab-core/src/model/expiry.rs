//! A lab's time to live: `--ttl` parsed (`90m`, `8h`, `2d`, `1h30m`; 5 minutes to 7 days), the expiry
//! written as AWS writes times (`2026-11-22T22:00:00Z`), and how it reads to a person.

use anyhow::{Result, bail};

/// The time to live when `--ttl` is not given.
pub const DEFAULT_TTL: &str = "8h";
/// The longest time to live: a forgotten lab disarms itself within a week.
pub const MAX_TTL_SECONDS: i64 = 7 * 24 * 3600;
/// The shortest: a lab must outlive its own setup.
pub const MIN_TTL_SECONDS: i64 = 5 * 60;

/// A lab's time to live, as `--ttl` gives it (`90m`, `8h`, `2d`, `1h30m`, as `humantime`
/// reads durations), from 5 minutes to 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl(i64);

impl Ttl {
    pub fn seconds(self) -> i64 {
        self.0
    }

    /// A time to live of `seconds`, within the bounds (a demo's half hour).
    pub fn of_seconds(seconds: i64) -> Self {
        Self(seconds.clamp(MIN_TTL_SECONDS, MAX_TTL_SECONDS))
    }
}

impl Default for Ttl {
    fn default() -> Self {
        Self(8 * 3600)
    }
}

impl std::str::FromStr for Ttl {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let fix = "use a number with m, h or d, e.g. --ttl 90m, --ttl 8h or --ttl 2d (5 minutes to 7 days)";
        let Ok(span) = humantime::parse_duration(text.trim()) else {
            bail!("{text:?} is not a duration; {fix}");
        };
        let seconds = i64::try_from(span.as_secs()).unwrap_or(i64::MAX);
        if seconds > MAX_TTL_SECONDS {
            bail!("{text} is longer than 7 days; {fix}");
        }
        if seconds < MIN_TTL_SECONDS {
            bail!("{text} is shorter than 5 minutes; {fix}");
        }
        Ok(Self(seconds))
    }
}

/// A session's length, AssumeRole's DurationSeconds, checked once when it is read: from STS's
/// least (900 s) to the role's MaxSessionDuration (3600 s, the template's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSeconds(i32);

impl SessionSeconds {
    /// The least STS allows.
    pub const MIN: i32 = 900;
    /// The most the role allows (the template's `MaxSessionDuration`).
    pub const MAX: i32 = 3600;

    pub fn seconds(self) -> i32 {
        self.0
    }
}

impl std::str::FromStr for SessionSeconds {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let (min, max) = (Self::MIN, Self::MAX);
        let Ok(seconds) = text.trim().parse::<i32>() else {
            bail!("--duration {text:?} is not a number of seconds: use {min} to {max}");
        };
        if !(min..=max).contains(&seconds) {
            bail!("--duration {seconds} is out of range: use {min} to {max} seconds (the role's maximum session)");
        }
        Ok(Self(seconds))
    }
}

/// This machine's time, in Unix seconds: the clock AWS's agrees with. An emulator's clock may have
/// been moved: ask the target for the time its endpoint decides by (`Target::now`).
pub fn machine_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Whether something that ends at `at` (a lab, a session) has ended at `now`: the one rule for
/// every "expired?", from its end and the endpoint's time.
pub fn has_ended(at: i64, now: i64) -> bool {
    at <= now
}

/// Whether the recorded expiry `at` (`2026-11-22T22:00:00Z`) has passed at `now`; None when it
/// is not a time.
pub fn has_passed(at: &str, now: i64) -> Option<bool> {
    parse_utc(at).map(|secs| has_ended(secs, now))
}

pub use lab_policy::time::{format_utc, parse_utc};

/// How a recorded expiry reads beside a lab, everywhere one is shown (status, class status,
/// sweep, verify, setup): `2026-11-22T22:00:00Z (expires in 7 h 58 min)`; `at (not a time)`;
/// `no expiry recorded`.
pub fn text(expires: Option<&str>, now: i64) -> String {
    match expires {
        None => "no expiry recorded".to_owned(),
        Some(at) => match parse_utc(at) {
            Some(secs) => format!("{at} ({})", describe(secs, now)),
            None => format!("{at} (not a time)"),
        },
    }
}

/// "expires in 7 h 58 min", "expires in 42 s", "expired 2 h ago".
pub fn describe(expires: i64, now: i64) -> String {
    let span = |s: i64| match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => match (s / 3600, (s % 3600) / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s => format!("{} d {} h", s / 86400, (s % 86400) / 3600),
    };
    if !has_ended(expires, now) {
        format!("expires in {}", span(expires - now))
    } else {
        format!("expired {} ago", span(now - expires))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_and_bad_ones_say_what_to_do() {
        let secs = |t: &str| t.parse::<Ttl>().map(Ttl::seconds).unwrap();
        assert_eq!(secs("90m"), 5400);
        assert_eq!(secs("8h"), 28800);
        assert_eq!(secs("2d"), 172800);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("7d"), MAX_TTL_SECONDS);
        assert_eq!(secs(DEFAULT_TTL), Ttl::default().seconds());
        for bad in ["", "0h", "8", "h", "8x", "-1h"] {
            let err = bad.parse::<Ttl>().unwrap_err().to_string();
            assert!(err.contains("--ttl 90m"), "{bad}: {err}");
        }
        assert!(
            "8d".parse::<Ttl>()
                .unwrap_err()
                .to_string()
                .contains("longer than 7 days")
        );
        assert!(
            "1m".parse::<Ttl>()
                .unwrap_err()
                .to_string()
                .contains("shorter than 5 minutes")
        );
        assert!("99999999999999999999d".parse::<Ttl>().is_err());
    }

    #[test]
    fn session_lengths_are_checked_once_against_sts_and_the_role() {
        assert_eq!("900".parse::<SessionSeconds>().unwrap().seconds(), 900);
        assert_eq!(" 3600 ".parse::<SessionSeconds>().unwrap().seconds(), 3600);
        for bad in ["0", "899", "3601", "-5", "1h", ""] {
            let err = bad.parse::<SessionSeconds>().unwrap_err().to_string();
            assert!(err.contains("900 to 3600"), "{bad}: {err}");
        }
    }

    #[test]
    fn expiries_are_written_as_aws_writes_times_and_read_well() {
        let at = parse_utc("2026-11-22T22:00:00Z").unwrap();
        assert_eq!(format_utc(at), "2026-11-22T22:00:00Z");
        assert_eq!(describe(at, at - (7 * 3600 + 58 * 60)), "expires in 7 h 58 min");
        assert_eq!(describe(at, at - 42), "expires in 42 s");
        assert_eq!(describe(at, at + 2 * 3600), "expired 2 h ago");
        assert_eq!(describe(at, at - 3 * 86400), "expires in 3 d 0 h");
        assert_eq!(
            text(Some("2026-11-22T22:00:00Z"), at - 42),
            "2026-11-22T22:00:00Z (expires in 42 s)"
        );
        assert_eq!(text(Some("soon"), at), "soon (not a time)");
        assert_eq!(text(None, at), "no expiry recorded");
        assert_eq!(parse_utc("soon"), None);
    }
}
