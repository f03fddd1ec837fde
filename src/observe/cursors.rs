//! The read state of every log file, in two parts so that a cycle's cost follows its
//! new data, not the history of the log directories:
//!
//! - live cursors, one per file still being written or recently finished, in
//!   `state.json` (the form of earlier versions, which still loads unchanged);
//! - sealed segments under `observe/sealed/` (see `segment`): files that are finished
//!   (sealed) or untouched for longer than `observation.window_max` are retired there
//!   in batches of `SEGMENT_ROWS`. A segment is written once and never changed, so its
//!   blobs are shared by every later records commit; a cycle reads only its 8-byte
//!   keys (and, in the segment's hour of the day, its records, to re-check its files).
//!
//! Nothing is lost by retiring: a retired file is still listed every cycle, and each
//! one is statted once every half `window_max` (in its segment's hour of that period,
//! `segment::recheck_hours`); one that grew or changed is read from where it ended, or
//! from its start if its first bytes are not the same any more.

use super::discover::Visit;
use super::identity::{file_key, path_hash};
use super::segment::{self, Part, Rec, Segment, SEGMENT_ROWS};
use super::Cursor;
use anyhow::{bail, Context, Result};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Where the sealed segments live, relative to the records root.
pub const SEALED_DIR: &str = "observe/sealed";

/// Keys are already well-mixed 64-bit hashes: hashing them again is wasted work.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);
impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
pub(crate) type IdBuild = BuildHasherDefault<IdHasher>;

/// Per-file read state: see the module doc.
#[derive(Debug, Clone, Default)]
pub struct Cursors {
    live: BTreeMap<String, Cursor>,
    sealed: Sealed,
}

#[derive(Debug, Clone, Default)]
struct Sealed {
    /// The caller keeps segments (it called `load_sealed`): finished files are retired
    /// into them. Otherwise every cursor stays live, as before segments existed.
    enabled: bool,
    /// The key of every retired file.
    keys: HashSet<u64, IdBuild>,
    /// Segments on record (sequence number -> files in it).
    segments: BTreeMap<u32, usize>,
    /// Their records, newest segment first for a key: key -> (segment, record).
    due: HashMap<u64, (u32, Rec), IdBuild>,
    /// Those segments, for rewriting without their gone files.
    due_segments: BTreeMap<u32, Segment>,
    /// Segment files to write (Some) or delete (None), by name.
    changes: BTreeMap<String, Option<Vec<u8>>>,
}

impl PartialEq for Cursors {
    fn eq(&self, o: &Cursors) -> bool {
        self.live == o.live && self.sealed.keys == o.sealed.keys
    }
}

impl FromIterator<(String, Cursor)> for Cursors {
    fn from_iter<I: IntoIterator<Item = (String, Cursor)>>(it: I) -> Cursors {
        Cursors {
            live: it.into_iter().collect(),
            sealed: Sealed::default(),
        }
    }
}

impl std::ops::Index<&str> for Cursors {
    type Output = Cursor;
    fn index(&self, rel: &str) -> &Cursor {
        &self.live[rel]
    }
}

impl Cursors {
    pub fn new() -> Cursors {
        Cursors::default()
    }

    /// No file was ever read (neither a live cursor nor a retired file): the first
    /// cycle, whose window is history rather than news.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.sealed.keys.is_empty()
    }

    /// Live cursors (those in `state.json`).
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Files retired into sealed segments.
    pub fn retired(&self) -> usize {
        self.sealed.keys.len()
    }

    pub fn get(&self, rel: &str) -> Option<&Cursor> {
        self.live.get(rel)
    }

    pub fn contains_key(&self, rel: &str) -> bool {
        self.live.contains_key(rel)
    }

    pub fn insert(&mut self, rel: String, c: Cursor) -> Option<Cursor> {
        self.live.insert(rel, c)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Cursor)> {
        self.live.iter()
    }

    /// Attaches the sealed segments kept under [`SEALED_DIR`] and turns retiring on.
    /// `names` are the file names in that directory; `read(name)` returns one file's
    /// bytes. Reads every `.keys` file, and the `.recs` files of the segments due for
    /// their re-check (`segment::Recheck`, with the cycle's `now`).
    /// A damaged segment is an error naming it: treating its files as new would count
    /// their lines twice.
    pub fn load_sealed(
        &mut self,
        names: &[String],
        mut read: impl FnMut(&str) -> Result<Option<Vec<u8>>>,
        recheck: segment::Recheck,
    ) -> Result<()> {
        let s = &mut self.sealed;
        s.enabled = true;
        let mut parts: BTreeMap<u32, (bool, bool)> = BTreeMap::new();
        for (seq, part) in names.iter().filter_map(|n| segment::parse_name(n)) {
            let e = parts.entry(seq).or_default();
            match part {
                Part::Keys => e.0 = true,
                Part::Recs => e.1 = true,
            }
        }
        // Sized once for the segments on record (each holds at most about
        // SEGMENT_ROWS files): tens of thousands of keys, rehashed while growing, cost
        // a cycle twice their memory at its peak.
        s.keys.reserve(parts.len() * segment::SEGMENT_ROWS);
        for (seq, (has_keys, has_recs)) in parts {
            let recs_name = segment::file_name(seq, Part::Recs);
            if !has_recs {
                bail!("records: {SEALED_DIR}/{recs_name} is missing (its .keys file is there)");
            }
            let due = recheck.due(seq);
            let path = |name: &str| format!("{SEALED_DIR}/{name}");
            if due || !has_keys {
                let bytes = read(&recs_name)?
                    .with_context(|| format!("records: {} vanished", path(&recs_name)))?;
                let seg = Segment::from_recs(seq, &bytes)
                    .map_err(|e| anyhow::anyhow!("records: {}: {e}", path(&recs_name)))?;
                s.segments.insert(seq, seg.recs.len());
                for r in &seg.recs {
                    s.keys.insert(r.key);
                    if due {
                        s.due.insert(r.key, (seq, *r));
                    } else if !s.due.is_empty() {
                        s.due.remove(&r.key);
                    }
                }
                if due {
                    s.due_segments.insert(seq, seg);
                }
            } else {
                let name = segment::file_name(seq, Part::Keys);
                let bytes =
                    read(&name)?.with_context(|| format!("records: {} vanished", path(&name)))?;
                let keys = segment::parse_keys(&bytes)
                    .map_err(|e| anyhow::anyhow!("records: {}: {e}", path(&name)))?;
                let mut n = 0;
                for k in keys {
                    n += 1;
                    s.keys.insert(k);
                    // A newer segment's record of the same file wins over an older
                    // due one: the file was read on and retired again.
                    if !s.due.is_empty() {
                        s.due.remove(&k);
                    }
                }
                s.segments.insert(seq, n);
            }
        }
        Ok(())
    }

    /// The segment files this state needs written (`Some`) or deleted (`None`), with
    /// paths relative to the records root. Store them in the same records commit as
    /// `state.json`: the two together are the read state.
    pub fn to_files(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.sealed
            .changes
            .iter()
            .map(|(name, b)| (format!("{SEALED_DIR}/{name}"), b.clone()))
            .collect()
    }

    /// Path hashes of the live cursors, for the walk (see `classify`).
    pub(crate) fn live_hashes(&self) -> HashSet<u64, IdBuild> {
        self.live.keys().map(|rel| path_hash(rel)).collect()
    }

    /// What the walk does with a listed file, from its path hash and inode alone (no
    /// `stat`, no path string): a live cursor's file or a file never seen is read; a
    /// retired file is passed over, unless its segment is due for the daily re-check.
    pub(crate) fn classify(&self, live: &HashSet<u64, IdBuild>, ph: u64, ino: u64) -> Visit {
        if live.contains(&ph) {
            return Visit::Read(None);
        }
        let key = file_key(ph, ino);
        if !self.sealed.keys.contains(&key) {
            return Visit::Read(None);
        }
        match self.sealed.due.get(&key) {
            Some((_, r)) => Visit::Read(Some(r.cursor(ino))),
            None => Visit::Skip,
        }
    }

    /// Takes the cursors a run advanced.
    pub(crate) fn extend(&mut self, moved: impl IntoIterator<Item = (String, Cursor)>) {
        self.live.extend(moved);
    }

    pub(crate) fn retain_live(&mut self, keep: impl FnMut(&String, &mut Cursor) -> bool) {
        self.live.retain(keep);
    }

    /// After a run: rewrites due segments that lost more than half of their files, and
    /// retires finished files into a new segment once there are `SEGMENT_ROWS` of them.
    /// `listed_dirs`: directories listed completely; `rechecked`: keys of due files
    /// found unchanged; `dormant_before`: mtime (ns) before which a fully read file that
    /// is not sealed counts as finished.
    pub(crate) fn finish_run(
        &mut self,
        listed_dirs: &HashSet<String>,
        rechecked: &HashSet<u64, IdBuild>,
        dormant_before: i64,
    ) {
        self.sealed.changes.clear();
        self.compact(listed_dirs, rechecked);
        if self.sealed.enabled {
            self.retire(dormant_before);
        }
    }

    fn compact(&mut self, listed_dirs: &HashSet<String>, rechecked: &HashSet<u64, IdBuild>) {
        let s = &mut self.sealed;
        let due_segments = std::mem::take(&mut s.due_segments);
        for (seq, seg) in due_segments {
            if !seg.dirs.iter().all(|d| listed_dirs.contains(d)) {
                continue; // not all of its files could be seen: none is known gone
            }
            let owned = |k: &u64| s.due.get(k).is_some_and(|(q, _)| *q == seq);
            let (keep, drop): (Vec<Rec>, Vec<Rec>) = seg
                .recs
                .iter()
                .partition(|r| owned(&r.key) && rechecked.contains(&r.key));
            if keep.len() * 2 >= seg.recs.len() {
                continue;
            }
            // Dropped: files gone, read on (now live) or retired again in a newer
            // segment. Only keys this segment owns leave the set.
            let gone: Vec<u64> = drop.iter().map(|r| r.key).filter(owned).collect();
            for k in gone {
                s.keys.remove(&k);
                s.due.remove(&k);
            }
            let (keys, recs) = (
                segment::file_name(seq, Part::Keys),
                segment::file_name(seq, Part::Recs),
            );
            if keep.is_empty() {
                s.segments.remove(&seq);
                s.changes.insert(keys, None);
                s.changes.insert(recs, None);
            } else {
                // The directory table is kept whole: a directory left without files
                // costs a few bytes and keeps "all its directories listed" safe.
                let new = Segment {
                    seq,
                    dirs: seg.dirs,
                    recs: keep,
                };
                s.segments.insert(seq, new.recs.len());
                s.changes.insert(keys, Some(new.keys_bytes()));
                s.changes.insert(recs, Some(new.recs_bytes()));
            }
        }
    }

    fn retire(&mut self, dormant_before: i64) {
        let finished = |c: &Cursor| {
            c.offset == c.size
                && (c.sealed || (c.mtime != 0 && c.mtime < dormant_before && c.fp != 0))
        };
        let n = self.live.values().filter(|c| finished(c)).count();
        if n < SEGMENT_ROWS {
            return;
        }
        let s = &mut self.sealed;
        let seq = s.segments.keys().next_back().map_or(1, |q| q + 1);
        let mut dirs = BTreeSet::new();
        let mut recs = Vec::with_capacity(n);
        self.live.retain(|rel, c| {
            if !finished(c) {
                return true;
            }
            dirs.insert(rel.rsplit_once('/').map_or("", |(d, _)| d).to_string());
            recs.push(Rec {
                key: file_key(path_hash(rel), c.inode),
                offset: c.offset,
                line: c.line,
                mtime: c.mtime,
                fp: c.fp,
            });
            false
        });
        let seg = Segment {
            seq,
            dirs: dirs.into_iter().collect(),
            recs,
        };
        for r in &seg.recs {
            s.keys.insert(r.key);
        }
        s.segments.insert(seq, seg.recs.len());
        s.changes
            .insert(segment::file_name(seq, Part::Keys), Some(seg.keys_bytes()));
        s.changes
            .insert(segment::file_name(seq, Part::Recs), Some(seg.recs_bytes()));
    }
}

impl Serialize for Cursors {
    /// The live cursors, as the map `state.json` has always held.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.live.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Cursors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cursors, D::Error> {
        deserialize_cursors(d)
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
