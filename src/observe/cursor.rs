//! Where reading of one file stopped, persisted in `state.json` on the records branch.
//!
//! Written as a row, `[offset, line, inode, size]` (plus `true` when sealed), or, once
//! the file's modification time and fingerprint are known, `[offset, line, inode, size,
//! sealed, mtime, fingerprint]`: a repository with thousands of log files has thousands
//! of cursors, and the row form keeps `state.json` small and quick to parse. The object
//! form and the shorter rows of earlier versions are still read.

use super::identity;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor {
    /// Byte offset just after the last complete line read.
    pub offset: u64,
    /// Lines consumed so far (so skipped lines are reported with their real number).
    pub line: u64,
    pub inode: u64,
    /// The file's size when it was last read (at least `offset`).
    pub size: u64,
    /// The file holds one finished exploration (its last line is EXPLORATION_END and
    /// all of it was read): the producer appends nothing more (formats/traversal.md),
    /// so later cycles only check, from the directory listing, that the name still has
    /// the same inode, and spend no `stat` on it (see `Cursor::unchanged`).
    pub sealed: bool,
    /// Modification time at the last read, in ns since the epoch; 0 when not known
    /// (cursors of earlier versions).
    pub mtime: i64,
    /// Fingerprint of the first `min(offset, FP_BYTES)` bytes (`identity::fingerprint`);
    /// 0 when not known. With the inode it is the file's identity: the same inode with
    /// other first bytes is a new file (deleted and recreated, or truncated and
    /// rewritten), read from its start.
    pub fp: u64,
}

impl Cursor {
    /// Whether the file at `rel`, listed with inode `ino`, can be passed over without a
    /// `stat`: sealed, still the same file, and not due for its daily re-check. Each
    /// sealed file is statted anyway in one hour of the day (by a hash of its path), so
    /// a producer that breaks the format (appends after the end, truncates in place) is
    /// noticed within a day by hourly cycles, for 1/24 of the cost of statting all.
    pub fn unchanged(&self, rel: &str, ino: u64, hour: u32) -> bool {
        self.sealed && self.inode == ino && recheck_hour(rel) != hour
    }

    /// Nothing to read: the same inode with the size and modification time of the last
    /// read. A cursor without a known mtime is never current, so the next read records
    /// one (and the fingerprint); a rewrite to the same size changes the mtime.
    pub fn is_current(&self, ino: u64, size: u64, mtime: i64) -> bool {
        self.inode == ino && self.mtime != 0 && self.size == size && self.mtime == mtime
    }

    /// Reading can resume at the offset: the same inode, not shorter than the offset.
    /// (The fingerprint is checked when the file is opened: `reader::read_lines`.)
    pub fn resumes(&self, ino: u64, size: u64) -> bool {
        self.inode == ino && size >= self.offset
    }

    /// The length of the prefix the fingerprint covers.
    pub fn fp_len(&self) -> u64 {
        self.offset.min(identity::FP_BYTES)
    }
}

/// The hour of the day (UTC) in which the sealed file `rel` is statted anyway.
pub fn recheck_hour(rel: &str) -> u32 {
    (identity::path_hash(rel) % 24) as u32
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let known = self.mtime != 0 || self.fp != 0;
        let len = if known { 7 } else { 4 + self.sealed as usize };
        let mut seq = s.serialize_seq(Some(len))?;
        for v in [self.offset, self.line, self.inode, self.size] {
            seq.serialize_element(&v)?;
        }
        if known {
            seq.serialize_element(&self.sealed)?;
            seq.serialize_element(&self.mtime)?;
            seq.serialize_element(&self.fp)?;
        } else if self.sealed {
            seq.serialize_element(&true)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cursor, D::Error> {
        d.deserialize_any(CursorVisitor)
    }
}

struct CursorVisitor;

impl<'de> Visitor<'de> for CursorVisitor {
    type Value = Cursor;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(
            "a cursor: [offset, line, inode, size], [offset, line, inode, size, sealed] \
             or [offset, line, inode, size, sealed, mtime, fingerprint]",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cursor, A::Error> {
        let mut n = [0u64; 4];
        for (i, v) in n.iter_mut().enumerate() {
            *v = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        let [offset, line, inode, size] = n;
        let mut c = Cursor {
            offset,
            line,
            inode,
            size,
            ..Cursor::default()
        };
        c.sealed = seq.next_element::<bool>()?.unwrap_or(false);
        if let Some(mtime) = seq.next_element::<i64>()? {
            c.mtime = mtime;
            c.fp = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(6, &self))?;
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(8, &self));
        }
        Ok(c)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cursor, A::Error> {
        let mut c = Cursor::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "offset" => c.offset = map.next_value()?,
                "line" => c.line = map.next_value()?,
                "inode" => c.inode = map.next_value()?,
                "size" => c.size = map.next_value()?,
                "sealed" => c.sealed = map.next_value()?,
                _ => drop(map.next_value::<de::IgnoredAny>()?),
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_rows_and_objects_of_earlier_versions_are_read() {
        let c = Cursor {
            offset: 10,
            line: 2,
            inode: 77,
            size: 12,
            ..Cursor::default()
        };
        let sealed = Cursor {
            sealed: true,
            ..c.clone()
        };
        let known = Cursor {
            mtime: 1_767_225_600_123_456_789,
            fp: u64::MAX - 1,
            ..sealed.clone()
        };
        assert_eq!(serde_json::to_string(&c).unwrap(), "[10,2,77,12]");
        assert_eq!(serde_json::to_string(&sealed).unwrap(), "[10,2,77,12,true]");
        assert_eq!(
            serde_json::to_string(&known).unwrap(),
            "[10,2,77,12,true,1767225600123456789,18446744073709551614]"
        );
        for x in [&c, &sealed, &known] {
            let back: Cursor = serde_json::from_str(&serde_json::to_string(x).unwrap()).unwrap();
            assert_eq!(&back, x);
        }
        let old: Cursor =
            serde_json::from_str(r#"{"offset":10,"line":2,"inode":77,"size":12}"#).unwrap();
        assert_eq!(old, c);
        for bad in [
            "[1,2,3]",
            "[1,2,3,4,true,5]",
            "[1,2,3,4,true,5,6,7]",
            "\"x\"",
            "[1,2,3,-4]",
        ] {
            assert!(serde_json::from_str::<Cursor>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_is_current_only_with_a_known_mtime_and_the_same_size_and_inode() {
        let c = Cursor {
            offset: 10,
            inode: 7,
            size: 12,
            mtime: 5,
            fp: 9,
            ..Cursor::default()
        };
        assert!(c.is_current(7, 12, 5));
        assert!(!c.is_current(8, 12, 5), "another inode");
        assert!(!c.is_current(7, 13, 5), "grew");
        assert!(!c.is_current(7, 12, 6), "rewritten to the same size");
        let legacy = Cursor {
            mtime: 0,
            ..c.clone()
        };
        assert!(!legacy.is_current(7, 12, 0));
        assert!(c.resumes(7, 10) && !c.resumes(7, 9) && !c.resumes(8, 12));
    }
}
