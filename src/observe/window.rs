//! Timestamps of log lines against the cycle's window: a fast path for the common
//! `YYYY-MM-DDTHH:MM:SS.mmmZ` form (every line has one, so this is hot) and the
//! general RFC 3339 / naive ISO 8601 parser for anything else.

/// Where a line's timestamp puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Inside the window (epoch milliseconds).
    In(i64),
    /// Older than the window start: not used, counted as outside_window.
    Before,
    /// Later than now + tolerance: skipped as clock skew.
    Future,
    /// Not a timestamp.
    Invalid,
}

/// The window in epoch milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub start_ms: i64,
    pub future_ms: i64,
}

impl Limits {
    pub fn judge(&self, raw: &str) -> When {
        match parse_ms(raw) {
            None => When::Invalid,
            Some(ms) if ms > self.future_ms => When::Future,
            Some(ms) if ms < self.start_ms => When::Before,
            Some(ms) => When::In(ms),
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
}
