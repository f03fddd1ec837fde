//! Timestamps of log lines against the cycle's window: a fast path for the common
//! `YYYY-MM-DDTHH:MM:SS.mmmZ` form (every line has one, so this is hot) and the
//! general RFC 3339 / naive ISO 8601 parser for anything else.

/// Where a line's timestamp puts it. No line is dropped without a count: a line is
/// used (`In`, `Late`), counted as history (`Before`), left for a later cycle (`Hold`)
/// or skipped with its reason (`Future`, `Invalid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Inside the window (epoch milliseconds).
    In(i64),
    /// Stamped before the window start but not history: written late, or stamped by a
    /// clock that was behind (or ours ahead). Used like `In`, and counted as
    /// `late_lines`.
    Late(i64),
    /// History: older than the window start on the first cycle, or than the window
    /// start minus `window_max` after it. Not used, counted as `outside_window`.
    Before,
    /// Later than now + tolerance but within `window_max` of now: a clock ahead of
    /// ours, or ours stepped back. Not read now: the cursor stays before the line,
    /// which is read in the cycle whose clock has reached it.
    Hold,
    /// Later than now + `window_max`: a broken clock; holding it would stop the file
    /// for good. Skipped and counted.
    Future,
    /// Not a timestamp.
    Invalid,
}

/// Why a decoder did not use a line: skipped with a reason, or held for later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineErr {
    Skip(String),
    Hold,
}

impl From<String> for LineErr {
    fn from(s: String) -> LineErr {
        LineErr::Skip(s)
    }
}

impl From<&str> for LineErr {
    fn from(s: &str) -> LineErr {
        LineErr::Skip(s.to_string())
    }
}

/// The reason a line stamped past the hold limit is skipped.
pub const TOO_FAR_AHEAD: &str =
    "timestamp too far in the future (later than now + observation.window_max)";

/// The window in epoch milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lines stamped before this are history (`Before`).
    pub history_ms: i64,
    /// The window start: stamped before it (and not history) is `Late`.
    pub start_ms: i64,
    /// Now + tolerance: stamped after it is held (`Hold`).
    pub future_ms: i64,
    /// Stamped after this is skipped (`Future`).
    pub hold_ms: i64,
}

impl Limits {
    /// Everything is in the window (decoding outside a cycle: fuzzing, tests).
    pub const ALL: Limits = Limits {
        history_ms: i64::MIN,
        start_ms: i64::MIN,
        future_ms: i64::MAX,
        hold_ms: i64::MAX,
    };

    pub fn judge(&self, raw: &str) -> When {
        match parse_ms(raw) {
            None => When::Invalid,
            Some(ms) if ms > self.hold_ms => When::Future,
            Some(ms) if ms > self.future_ms => When::Hold,
            Some(ms) if ms >= self.start_ms => When::In(ms),
            Some(ms) if ms >= self.history_ms => When::Late(ms),
            Some(_) => When::Before,
        }
    }
}

/// Epoch milliseconds of a log timestamp.
pub fn parse_ms(s: &str) -> Option<i64> {
    fast(s.as_bytes()).or_else(|| crate::clock::parse_log_ts(s).map(|t| t.timestamp_millis()))
}

fn fast(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as i64;
        }
        Some(v)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut ms = 0i64;
    let frac = &b[19..b.len() - 1];
    if !frac.is_empty() {
        if frac[0] != b'.' || frac.len() < 2 || frac.len() > 10 {
            return None;
        }
        let digits = &frac[1..];
        if !digits.iter().all(|c| c.is_ascii_digit()) {
            return None;
        }
        for i in 0..3 {
            ms = ms * 10 + digits.get(i).map(|c| (c - b'0') as i64).unwrap_or(0);
        }
    }
    if !(1..=12).contains(&mo) || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms)
}

fn days_in(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2025-12-26T14:30:00.012Z",
            "2024-02-29T23:59:59Z",
            "1999-01-01T00:00:00.5Z",
            "2026-03-01T00:00:00.123456Z",
        ] {
            let want = crate::clock::parse_log_ts(s).unwrap().timestamp_millis();
            assert_eq!(fast(s.as_bytes()), Some(want), "{s}");
        }
        assert_eq!(fast(b"2025-02-30T00:00:00Z"), None);
        assert!(parse_ms("2025-12-26T14:30:00+01:00").is_some());
        assert!(parse_ms("yesterday").is_none());
    }

    #[test]
    fn every_timestamp_has_exactly_one_verdict() {
        let ms = |s: &str| parse_ms(s).unwrap();
        let l = Limits {
            history_ms: ms("2026-01-01T00:00:00Z"),
            start_ms: ms("2026-01-08T00:00:00Z"),
            future_ms: ms("2026-01-08T01:05:00Z"),
            hold_ms: ms("2026-01-15T01:00:00Z"),
        };
        let at = |s: &str| l.judge(s);
        assert_eq!(at("2025-12-31T23:59:59Z"), When::Before);
        assert_eq!(at("2026-01-01T00:00:00Z"), When::Late(l.history_ms));
        assert_eq!(at("2026-01-07T23:59:59.999Z"), When::Late(l.start_ms - 1));
        assert_eq!(at("2026-01-08T00:00:00Z"), When::In(l.start_ms));
        assert_eq!(at("2026-01-08T01:05:00Z"), When::In(l.future_ms));
        assert_eq!(at("2026-01-08T01:05:00.001Z"), When::Hold);
        assert_eq!(at("2026-01-15T01:00:00Z"), When::Hold);
        assert_eq!(at("2026-01-15T01:00:00.001Z"), When::Future);
        assert_eq!(at("soon"), When::Invalid);
        assert_eq!(Limits::ALL.judge("1970-01-01T00:00:00Z"), When::In(0));
    }
}
