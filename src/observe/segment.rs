//! Sealed segments: the cursors of retired files (finished explorations, logs left
//! untouched for longer than the observation window), written once to the records
//! branch and never changed after, so every later commit shares their blobs. Each
//! segment is two files: `NNNNNN.keys` (the files' keys, 8 bytes each, read by every
//! cycle) and `NNNNNN.recs` (where each file ends, read only in the segment's hour of
//! its re-check period, when its files are re-checked). A segment is rewritten only to drop files
//! that are gone, once fewer than half of them remain.
//!
//! Little-endian binary: a year of hourly explorations is half a million files, and
//! text rows of paths would cost a cycle more to parse than its new data.

use super::Cursor;

/// Retired files gathered before they are written as a segment: `state.json` holds at
/// most about this many sealed cursors, and a segment is written every this many
/// finished files.
pub const SEGMENT_ROWS: usize = 512;

const KEYS_MAGIC: &[u8; 8] = b"IMPKEYS1";
const RECS_MAGIC: &[u8; 8] = b"IMPRECS1";
/// Bytes of one record: key, offset, line, mtime, fingerprint.
const REC_BYTES: usize = 40;

/// Where a retired file was read to, keyed by `identity::file_key(path, inode)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rec {
    pub key: u64,
    pub offset: u64,
    pub line: u64,
    pub mtime: i64,
    pub fp: u64,
}

impl Rec {
    /// The cursor of the file listed with inode `ino` (its key holds the inode).
    pub fn cursor(&self, ino: u64) -> Cursor {
        Cursor {
            offset: self.offset,
            line: self.line,
            inode: ino,
            size: self.offset,
            sealed: false,
            mtime: self.mtime,
            fp: self.fp,
        }
    }
}

/// One segment: the directories its files are in (a segment whose directories were
/// all listed knows which of its files are gone) and their records.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub seq: u32,
    pub dirs: Vec<String>,
    pub recs: Vec<Rec>,
}

/// Which file of a segment a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Keys,
    Recs,
}

pub fn file_name(seq: u32, part: Part) -> String {
    match part {
        Part::Keys => format!("{seq:06}.keys"),
        Part::Recs => format!("{seq:06}.recs"),
    }
}

/// The sequence number and part of a segment file's name; `None` for other names.
pub fn parse_name(name: &str) -> Option<(u32, Part)> {
    let (num, ext) = name.split_once('.')?;
    let part = match ext {
        "keys" => Part::Keys,
        "recs" => Part::Recs,
        _ => return None,
    };
    if num.len() < 6 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num.parse().ok()?, part))
}

/// How often a retired file is re-checked, in hours: half the late window
/// (`observation.window_max`, whose lines still count when found), at least an hour.
/// A line appended to a retired file is found while it is inside that window, even when
/// the cycle of the segment's hour did not run; and a cycle stats a segment's worth of
/// files an hour whatever the number of files kept (a daily re-check of a month of
/// one log per exploration was 1,800 `stat`s a cycle).
pub fn recheck_hours(window_max: chrono::Duration) -> u32 {
    (window_max.num_hours() / 2).clamp(1, u32::MAX as i64) as u32
}

/// Which segments a cycle re-checks: each segment has one hour in every `period`
/// (hours since the epoch, so a period of 24 is the same UTC hour each day), and a
/// cycle re-checks the segments whose hour passed since the last cycle (`since`),
/// its own hour included. Cycles every two hours, or a machine that slept, skip no
/// segment; cycles further apart than a period re-check them all.
#[derive(Debug, Clone, Copy)]
pub struct Recheck {
    /// The previous cycle's time (None: only the hour of `now`).
    pub since: Option<crate::clock::Timestamp>,
    pub now: crate::clock::Timestamp,
    pub period: u32,
}

impl Recheck {
    /// The hour of `now` alone.
    pub fn at(now: crate::clock::Timestamp, period: u32) -> Recheck {
        Recheck {
            since: None,
            now,
            period,
        }
    }

    pub fn due(&self, seq: u32) -> bool {
        let hour = |t: crate::clock::Timestamp| t.timestamp().div_euclid(3600);
        let period = i64::from(self.period.max(1));
        let last = hour(self.now);
        // The hours after the previous cycle's, up to this one's (at least this one).
        let first = self.since.map_or(last, |s| (hour(s) + 1).min(last));
        if last - first + 1 >= period {
            return true;
        }
        // The first hour from `first` on that is the segment's.
        let own = i64::from(seq) % period;
        let next = first + (own - first).rem_euclid(period);
        next <= last
    }
}

impl Segment {
    pub fn keys_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(8 + 8 * self.recs.len());
        b.extend_from_slice(KEYS_MAGIC);
        for r in &self.recs {
            b.extend_from_slice(&r.key.to_le_bytes());
        }
        b
    }

    pub fn recs_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(16 + REC_BYTES * self.recs.len());
        b.extend_from_slice(RECS_MAGIC);
        b.extend_from_slice(&(self.dirs.len() as u32).to_le_bytes());
        for d in &self.dirs {
            b.extend_from_slice(&(d.len() as u32).to_le_bytes());
            b.extend_from_slice(d.as_bytes());
        }
        b.extend_from_slice(&(self.recs.len() as u32).to_le_bytes());
        for r in &self.recs {
            for v in [r.key, r.offset, r.line, r.mtime as u64, r.fp] {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        b
    }

    /// Parses a `.recs` file.
    pub fn from_recs(seq: u32, bytes: &[u8]) -> Result<Segment, String> {
        let mut r = Bytes(bytes);
        if r.take(8)? != RECS_MAGIC {
            return Err("not a records segment".into());
        }
        let ndirs = r.u32()? as usize;
        let mut dirs = Vec::with_capacity(ndirs.min(1024));
        for _ in 0..ndirs {
            let len = r.u32()? as usize;
            let d = std::str::from_utf8(r.take(len)?).map_err(|_| "directory not UTF-8")?;
            dirs.push(d.to_string());
        }
        let n = r.u32()? as usize;
        if r.0.len() != n * REC_BYTES {
            return Err(format!("{n} records announced, {} bytes follow", r.0.len()));
        }
        let recs =
            r.0.chunks_exact(REC_BYTES)
                .map(|c| {
                    let v = |i: usize| u64::from_le_bytes(c[i * 8..i * 8 + 8].try_into().unwrap());
                    Rec {
                        key: v(0),
                        offset: v(1),
                        line: v(2),
                        mtime: v(3) as i64,
                        fp: v(4),
                    }
                })
                .collect();
        Ok(Segment { seq, dirs, recs })
    }
}

/// The keys of a `.keys` file.
pub fn parse_keys(bytes: &[u8]) -> Result<impl Iterator<Item = u64> + '_, String> {
    let body = bytes.strip_prefix(KEYS_MAGIC).ok_or("not a keys segment")?;
    if body.len() % 8 != 0 {
        return Err(format!(
            "{} bytes of keys is not a whole number",
            body.len()
        ));
    }
    Ok(body
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap())))
}

/// A cursor over bytes that fails with a message instead of panicking.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_segment_is_due_once_a_period_in_its_own_hour() {
        let week = chrono::Duration::days(7);
        assert_eq!(recheck_hours(week), 84);
        assert_eq!(recheck_hours(chrono::Duration::minutes(30)), 1);
        let t0 = crate::clock::parse_ts("2026-01-01T00:00:00Z").unwrap();
        let h = |n: i64| t0 + chrono::Duration::hours(n);
        // Cycles every `step` hours from hour 0 over three periods: the hours at which
        // segment `seq` is re-checked.
        let due_at = |seq: u32, period: u32, step: i64| -> Vec<i64> {
            (0..3 * i64::from(period))
                .step_by(step as usize)
                .filter(|n| {
                    let since = (*n > 0).then(|| h(n - step));
                    Recheck {
                        since,
                        now: h(*n) + chrono::Duration::minutes(17),
                        period,
                    }
                    .due(seq)
                })
                .collect()
        };
        // Hourly: once a period, a period apart.
        let hourly = due_at(5, 84, 1);
        assert_eq!(hourly, vec![5, 89, 173]);
        // A day's period is the same UTC hour each day.
        assert_eq!(due_at(3, 24, 1), vec![3, 27, 51]);
        // Cycles every two hours (or skipped ones) miss no segment: the odd hour is
        // caught by the next cycle.
        assert_eq!(due_at(5, 84, 2), vec![6, 90, 174]);
        assert_eq!(due_at(5, 84, 5), vec![5, 90, 175]);
        // Further apart than a period: every segment, every cycle after the first.
        assert_eq!(due_at(5, 84, 100), vec![100, 200]);
        // A second cycle in the same hour, and the first cycle of all: that hour only.
        assert!(Recheck {
            since: Some(h(5)),
            now: h(5),
            period: 84
        }
        .due(5));
        assert!(!Recheck {
            since: Some(h(5)),
            now: h(5),
            period: 84
        }
        .due(6));
        assert!(Recheck::at(h(6), 84).due(6) && !Recheck::at(h(6), 84).due(5));
        // Segments spread over the period's hours: 84 of them, one an hour.
        let per_hour: Vec<usize> = (0..84)
            .map(|n| (1..=84).filter(|s| Recheck::at(h(n), 84).due(*s)).count())
            .collect();
        assert!(per_hour.iter().all(|n| *n == 1), "{per_hour:?}");
    }

    #[test]
    fn segments_round_trip_and_damage_is_an_error_not_a_panic() {
        let seg = Segment {
            seq: 7,
            dirs: vec!["logs/traversal".into(), "logs/agents".into()],
            recs: vec![
                Rec {
                    key: 1,
                    offset: 100,
                    line: 5,
                    mtime: -3,
                    fp: u64::MAX,
                },
                Rec {
                    key: 2,
                    offset: 0,
                    line: 0,
                    mtime: 1_767_225_600_000_000_000,
                    fp: 9,
                },
            ],
        };
        let recs = seg.recs_bytes();
        assert_eq!(Segment::from_recs(7, &recs).unwrap(), seg);
        let keys: Vec<u64> = parse_keys(&seg.keys_bytes()).unwrap().collect();
        assert_eq!(keys, vec![1, 2]);
        for cut in 0..recs.len() {
            assert!(Segment::from_recs(7, &recs[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_keys(b"IMPKEYS1abc").is_err());
        assert!(parse_keys(b"nonsense").is_err());
        assert_eq!(file_name(7, Part::Keys), "000007.keys");
        assert_eq!(parse_name("000007.recs"), Some((7, Part::Recs)));
        assert_eq!(parse_name("1234567.keys"), Some((1_234_567, Part::Keys)));
        for other in ["README", "7.keys", "000007.json", "00000x.keys"] {
            assert_eq!(parse_name(other), None, "{other}");
        }
        let c = seg.recs[0].cursor(42);
        assert_eq!((c.offset, c.line, c.inode, c.size), (100, 5, 42, 100));
        assert!(!c.sealed && c.fp == u64::MAX && c.mtime == -3);
    }
}
