//! A lab's time to live: `--ttl` parsed (`90m`, `8h`, `2d`, `1h30m`; at most 7 days), the expiry
//! written as AWS writes times (`2026-11-22T22:00:00Z`), and how it reads to a person.

use anyhow::{Result, bail};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// The time to live when `--ttl` is not given.
pub const DEFAULT_TTL: &str = "8h";
/// The longest time to live: a forgotten lab disarms itself within a week.
pub const MAX_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// Seconds of a `--ttl` such as `90m`, `8h`, `2d` or `1h30m`.
pub fn parse_ttl(text: &str) -> Result<i64> {
    let fix = "use a number with m, h or d, e.g. --ttl 90m, --ttl 8h or --ttl 2d (at most 7 days)";
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => bail!("invalid --ttl {text:?}: {fix}"),
        };
        let Ok(n) = number.parse::<i64>() else {
            bail!("invalid --ttl {text:?}: {fix}");
        };
        number.clear();
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !number.is_empty() || total == 0 {
        bail!("invalid --ttl {text:?}: {fix}");
    }
    if total > MAX_TTL_SECONDS {
        bail!("--ttl {text} is longer than 7 days; {fix}");
    }
    Ok(total)
}

/// `2026-11-22T22:00:00Z` for Unix time `secs`.
pub fn format_utc(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// Unix time of `2026-11-22T22:00:00Z`.
pub fn parse_utc(text: &str) -> Option<i64> {
    DateTime::from_str(text, Format::DateTime).ok().map(|t| t.secs())
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
    if expires > now {
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
        assert_eq!(parse_ttl("90m").unwrap(), 5400);
        assert_eq!(parse_ttl("8h").unwrap(), 28800);
        assert_eq!(parse_ttl("2d").unwrap(), 172800);
        assert_eq!(parse_ttl("1h30m").unwrap(), 5400);
        assert_eq!(parse_ttl("7d").unwrap(), MAX_TTL_SECONDS);
        for bad in ["", "0h", "8", "h", "8x", "-1h", "1.5h", "8 h"] {
            let err = parse_ttl(bad).unwrap_err().to_string();
            assert!(err.contains("--ttl 90m"), "{bad}: {err}");
        }
        assert!(parse_ttl("8d").unwrap_err().to_string().contains("longer than 7 days"));
        assert!(parse_ttl("99999999999999999999d").is_err());
    }

    #[test]
    fn expiries_are_written_as_aws_writes_times_and_read_well() {
        let at = parse_utc("2026-11-22T22:00:00Z").unwrap();
        assert_eq!(format_utc(at), "2026-11-22T22:00:00Z");
        assert_eq!(describe(at, at - (7 * 3600 + 58 * 60)), "expires in 7 h 58 min");
        assert_eq!(describe(at, at - 42), "expires in 42 s");
        assert_eq!(describe(at, at + 2 * 3600), "expired 2 h ago");
        assert_eq!(describe(at, at - 3 * 86400), "expires in 3 d 0 h");
        assert_eq!(parse_utc("soon"), None);
    }
}
