//! The clock every phase reads. Tests and the demo pass `--now` (or `IMPROVE_NOW`) so
//! that hours of monitoring run in milliseconds and every record is reproducible.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

/// Parses an RFC 3339 timestamp (`2026-01-05T10:00:00Z`, with or without fraction).
pub fn parse_ts(s: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("not an RFC 3339 timestamp: {s:?}"))
}

/// Parses the timestamps found in logs: RFC 3339, or naive ISO 8601 taken as UTC.
/// Returns None rather than an error because a bad timestamp is counted, not fatal.
pub fn parse_log_ts(s: &str) -> Option<Timestamp> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// Formats a timestamp the way every record stores it: seconds, `Z`.
pub fn fmt_ts(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Resolves "now": the simulated clock if given, else the system clock.
pub fn now(simulated: Option<&str>) -> Result<Timestamp> {
    match simulated {
        Some(s) if !s.is_empty() => parse_ts(s).context("--now / IMPROVE_NOW"),
        _ => Ok(Utc::now()),
    }
}

/// Parses durations written in config: `30s`, `5m`, `24h`, `7d`, `2w`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .with_context(|| format!("duration {s:?}: expected a number then s, m, h, d or w"))?;
    let secs = match unit.trim() {
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        "w" => n * 7.0 * 86400.0,
        other => anyhow::bail!("duration {s:?}: unknown unit {other:?} (use s, m, h, d or w)"),
    };
    if !secs.is_finite() || secs < 0.0 {
        anyhow::bail!("duration {s:?} must be a finite, non-negative amount");
    }
    Ok(Duration::milliseconds((secs * 1000.0) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h").unwrap(), Duration::hours(24));
        assert_eq!(parse_duration("7d").unwrap(), Duration::days(7));
        assert_eq!(parse_duration("5m").unwrap(), Duration::minutes(5));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn log_timestamps() {
        assert!(parse_log_ts("2025-12-26T14:30:00.012Z").is_some());
        assert!(parse_log_ts("2025-12-26T14:30:00").is_some());
        assert!(parse_log_ts("yesterday").is_none());
    }
}
