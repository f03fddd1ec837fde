//! Where reading of one file stopped, persisted in `state.json` on the records branch.
//!
//! Written as a row, `[offset, line, inode, size]` (plus `true` when sealed): a
//! repository with thousands of log files has thousands of cursors, and every cycle
//! reads and writes them all, so the row form keeps `state.json` about a third smaller
//! and quicker to parse than objects with field names. The object form of earlier
//! versions is still read.

use super::Cursors;
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
    pub size: u64,
    /// The file holds one finished exploration (its last line is EXPLORATION_END and
    /// all of it was read): the producer appends nothing more (formats/traversal.md),
    /// so later cycles only check, from the directory listing, that the name still has
    /// the same inode, and spend no `stat` on it (see `Cursor::unchanged`).
    pub sealed: bool,
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
}

/// The hour of the day (UTC) in which the sealed file `rel` is statted anyway.
pub fn recheck_hour(rel: &str) -> u32 {
    // FNV-1a: stable across runs and versions (the std hasher is not).
    let h = rel.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    (h % 24) as u32
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(4 + self.sealed as usize))?;
        for v in [self.offset, self.line, self.inode, self.size] {
            seq.serialize_element(&v)?;
        }
        if self.sealed {
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
        f.write_str("a cursor: [offset, line, inode, size] or [offset, line, inode, size, sealed]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cursor, A::Error> {
        let mut n = [0u64; 4];
        for (i, v) in n.iter_mut().enumerate() {
            *v = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        let sealed = seq.next_element::<bool>()?.unwrap_or(false);
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(6, &self));
        }
        let [offset, line, inode, size] = n;
        Ok(Cursor {
            offset,
            line,
            inode,
            size,
            sealed,
        })
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

/// Reads a cursor map (`#[serde(deserialize_with)]`). The map is collected first and
/// built in one go: inserting thousands of paths that share a long prefix one by one
/// costs more than the parse (every insert is a search of string compares).
pub fn deserialize_cursors<'de, D: Deserializer<'de>>(d: D) -> Result<Cursors, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Cursors;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of file paths to cursors")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cursors, A::Error> {
            let mut all = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(entry) = map.next_entry::<String, Cursor>()? {
                all.push(entry);
            }
            // Bulk-built from sorted input; a repeated path keeps its last cursor, as
            // inserting one by one would.
            Ok(all.into_iter().collect())
        }
    }
    d.deserialize_map(V)
}

/// Parses a cursor map written by `serde_json` (the benchmark's cursor file).
pub fn cursors_from_json(bytes: &[u8]) -> serde_json::Result<Cursors> {
    deserialize_cursors(&mut serde_json::Deserializer::from_slice(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_objects_of_earlier_versions_are_read() {
        let c = Cursor {
            offset: 10,
            line: 2,
            inode: 77,
            size: 12,
            sealed: false,
        };
        let sealed = Cursor {
            sealed: true,
            ..c.clone()
        };
        assert_eq!(serde_json::to_string(&c).unwrap(), "[10,2,77,12]");
        assert_eq!(serde_json::to_string(&sealed).unwrap(), "[10,2,77,12,true]");
        for x in [&c, &sealed] {
            let back: Cursor = serde_json::from_str(&serde_json::to_string(x).unwrap()).unwrap();
            assert_eq!(&back, x);
        }
        let old: Cursor =
            serde_json::from_str(r#"{"offset":10,"line":2,"inode":77,"size":12}"#).unwrap();
        assert_eq!(old, c);
        let map = r#"{"b":[1,1,1,1],"a":[2,2,2,2,true],"b":[3,3,3,3]}"#;
        let m = cursors_from_json(map.as_bytes()).unwrap();
        assert_eq!(m, serde_json::from_str::<Cursors>(map).unwrap());
        assert_eq!(m["b"].offset, 3);
        for bad in ["[1,2,3]", "[1,2,3,4,true,5]", "\"x\"", "[1,2,3,-4]"] {
            assert!(serde_json::from_str::<Cursor>(bad).is_err(), "{bad}");
        }
    }
}
