//! Times as IAM's conditions and the lab write them: `2026-11-22T22:00:00Z` for Unix seconds,
//! and back. The one place for both (lab-core's `model::expiry` uses these).

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

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
