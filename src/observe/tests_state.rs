//! Tests of the read state across cycles: retiring finished files into sealed segments
//! (state that grows with new data, not with history, and never loses an appended
//! line), file identity across inode reuse, files skipped with their reason, and
//! timestamps outside the window (held, late, history).

use super::tests::{append, hand_exploration, write};
use super::*;
use crate::config::Config;
use std::collections::BTreeMap;
use std::path::Path;

/// The records branch as far as the read state goes: `state.json`'s cursors and the
/// files under `observe/sealed/`, stored the way the records layer is to store them.
#[derive(Default)]
struct Store {
    /// Hours between re-checks of a segment (0: a day).
    period: u32,
    state: Vec<u8>,
    files: BTreeMap<String, Vec<u8>>,
}

impl Store {
    fn load(&self, now: Timestamp) -> Cursors {
        let mut c: Cursors = if self.state.is_empty() {
            Cursors::new()
        } else {
            serde_json::from_slice(&self.state).unwrap()
        };
        let prefix = format!("{SEALED_DIR}/");
        let names: Vec<String> = self
            .files
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix))
            .map(String::from)
            .collect();
        c.load_sealed(
            &names,
            |n| Ok(self.files.get(&format!("{prefix}{n}")).cloned()),
            super::segment::Recheck::at(now, if self.period == 0 { 24 } else { self.period }),
        )
        .unwrap();
        c
    }

    /// Stores the state; returns the bytes written (0: the commit would change nothing).
    fn save(&mut self, c: &Cursors) -> usize {
        let state = serde_json::to_vec(c).unwrap();
        let mut written = if state != self.state { state.len() } else { 0 };
        self.state = state;
        for (path, bytes) in c.to_files() {
            assert!(path.starts_with(SEALED_DIR), "{path}");
            match bytes {
                Some(b) => {
                    written += b.len();
                    self.files.insert(path, b);
                }
                None => {
                    self.files.remove(&path);
                }
            }
        }
        written
    }
}

fn at(hour: u32) -> Timestamp {
    crate::clock::parse_ts(&format!("2026-02-01T{hour:02}:30:00Z")).unwrap()
}

/// One cycle at `now` over a window from 2026-01-01: load, observe, save.
fn cycle(root: &Path, store: &mut Store, now: Timestamp) -> (Observation, Cursors, usize) {
    let start = crate::clock::parse_ts("2026-01-01T00:00:00Z").unwrap();
    let cursors = store.load(now);
    let (o, c) = run(
        root,
        &Config::builtin(),
        cursors,
        Window { start, end: now },
        now,
    )
    .unwrap();
    let written = store.save(&c);
    (o, c, written)
}

fn exploration(id: usize) -> String {
    hand_exploration().replace("\"e1\"", &format!("\"x{id}\""))
}

fn explorations(root: &Path, ids: std::ops::Range<usize>) {
    for i in ids {
        write(
            root,
            &format!("logs/traversal/traversal_x{i}.jsonl"),
            &exploration(i),
        );
    }
}

/// A directory of one segment's worth of finished explorations, read and retired into
/// segment 1 (re-checked in hour 1) by a cycle in hour 3.
fn retired_segment() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().unwrap();
    let mut store = Store::default();
    explorations(d.path(), 0..SEGMENT_ROWS);
    let (_, c, _) = cycle(d.path(), &mut store, at(3));
    assert_eq!(c.retired(), SEGMENT_ROWS);
    (d, store)
}

fn count(o: &Observation, k: &str) -> u64 {
    o.counts.get(k).copied().unwrap_or(0)
}

#[test]
fn finished_files_retire_into_segments_that_never_change() {
    let d = tempfile::tempdir().unwrap();
    let mut store = Store::default();
    let n = 2 * SEGMENT_ROWS + 10;
    explorations(d.path(), 0..n);
    let (o, c, _) = cycle(d.path(), &mut store, at(3));
    assert_eq!(
        (o.files_read, o.metrics["exploration_count"]),
        (n as u64, n as f64)
    );
    assert_eq!((c.len(), c.retired()), (0, n), "all finished: all retired");
    assert_eq!(store.state, b"{}");
    let first: BTreeMap<String, Vec<u8>> = store.files.clone();
    assert_eq!(first.len(), 2, "one segment: keys and records");

    // Nothing new: nothing read, and nothing for the records commit to write.
    let (o, _, written) = cycle(d.path(), &mut store, at(4));
    assert_eq!((o.files_read, o.lines_read, written), (0, 0, 0));

    // New files cost what they are: read, kept live until there are enough to retire.
    explorations(d.path(), n..n + 10);
    let (o, c, written) = cycle(d.path(), &mut store, at(5));
    assert_eq!((o.files_read, c.len(), c.retired()), (10, 10, n));
    assert!(written < 2_000, "{written} bytes for 10 new files");
    explorations(d.path(), n + 10..n + 10 + SEGMENT_ROWS);
    let (o, c, _) = cycle(d.path(), &mut store, at(6));
    assert_eq!(o.files_read, SEGMENT_ROWS as u64);
    assert_eq!((c.len(), c.retired()), (0, n + 10 + SEGMENT_ROWS));
    assert_eq!(store.files.len(), 4);
    for (path, bytes) in &first {
        assert_eq!(&store.files[path], bytes, "{path} was written once");
    }
    // No cycle reads anything, the segments' re-check hours (1 and 2) included.
    for h in 0..4 {
        let (o, _, written) = cycle(d.path(), &mut store, at(h));
        assert_eq!((o.lines_read, written), (0, 0), "hour {h}");
    }
}

#[test]
fn a_retired_file_is_re_checked_once_in_every_period() {
    let (d, mut store) = retired_segment();
    store.period = crate::observe::recheck_hours(chrono::Duration::days(7));
    let rel = "logs/traversal/traversal_x7.jsonl";
    let late = r#"{"event":"ENERGY_INJECTION","exploration_id":"x7","timestamp":"2026-01-06T10:00:00Z","energy_injection":{"amount":0.5,"reason":"traversal"}}"#;
    append(d.path(), rel, &format!("{late}\n{late}\n"));
    // Hourly cycles for a period: the segment's hour is the one that reads the lines.
    let mut read = vec![];
    for h in 0..store.period {
        let now = at(4) + chrono::Duration::hours(i64::from(h));
        let (o, _, _) = cycle(d.path(), &mut store, now);
        if o.lines_read > 0 {
            read.push((h, o.lines_read));
        }
    }
    assert_eq!(read.len(), 1, "{read:?}");
    let now = at(4) + chrono::Duration::hours(i64::from(read[0].0));
    assert_eq!(read[0].1, 2);
    assert!(super::segment::Recheck::at(now, store.period).due(1));
}

#[test]
fn a_retired_file_appended_to_is_read_on_from_where_it_ended() {
    let (d, mut store) = retired_segment();
    let rel = "logs/traversal/traversal_x7.jsonl";
    let late = r#"{"event":"ENERGY_INJECTION","exploration_id":"x7","timestamp":"2026-01-06T10:00:00Z","energy_injection":{"amount":0.5,"reason":"traversal"}}"#;
    append(d.path(), rel, &format!("{late}\n{late}\n"));
    // The segment (number 1) is re-checked in hour 1: until then the lines wait.
    let (o, _, _) = cycle(d.path(), &mut store, at(2));
    assert_eq!(o.lines_read, 0);
    let (o, c, _) = cycle(d.path(), &mut store, at(1));
    assert_eq!((o.files_read, o.lines_read, o.skipped_total), (1, 2, 0));
    assert_eq!(count(&o, "lines_used"), 2, "only the appended lines");
    assert_eq!(
        (c[rel].offset, c[rel].line),
        (exploration(7).len() as u64 + 2 * (late.len() as u64 + 1), 7)
    );
    // Read on, and not again.
    for h in [1, 2, 3] {
        assert_eq!(cycle(d.path(), &mut store, at(h)).0.lines_read, 0);
    }
    // A new file renamed over a retired one's path (another inode) is read at once.
    let other = "logs/traversal/traversal_x8.jsonl";
    std::fs::write(d.path().join("next.tmp"), exploration(8)).unwrap();
    std::fs::rename(d.path().join("next.tmp"), d.path().join(other)).unwrap();
    let (o, c, _) = cycle(d.path(), &mut store, at(5));
    assert_eq!((o.files_read, o.lines_read), (1, 5));
    assert!(c[other].sealed);
}

#[test]
fn files_gone_leave_their_segment_at_its_daily_recheck() {
    let (d, mut store) = retired_segment();
    let before = store.files.clone();
    let gone = SEGMENT_ROWS * 6 / 10;
    for i in 0..gone {
        std::fs::remove_file(
            d.path()
                .join(format!("logs/traversal/traversal_x{i}.jsonl")),
        )
        .unwrap();
    }
    let (_, c, written) = cycle(d.path(), &mut store, at(2));
    assert_eq!(
        (c.retired(), written),
        (SEGMENT_ROWS, 0),
        "only at its hour"
    );
    let (o, c, written) = cycle(d.path(), &mut store, at(1));
    assert_eq!(o.lines_read, 0);
    assert_eq!(c.retired(), SEGMENT_ROWS - gone);
    assert!(written > 0 && store.files.len() == 2);
    assert_ne!(
        store.files, before,
        "rewritten without the files that are gone"
    );
    // The survivors are still known: nothing is read again.
    for h in 0..3 {
        assert_eq!(cycle(d.path(), &mut store, at(h)).0.lines_read, 0);
    }
    for i in gone..SEGMENT_ROWS {
        std::fs::remove_file(
            d.path()
                .join(format!("logs/traversal/traversal_x{i}.jsonl")),
        )
        .unwrap();
    }
    let (_, c, _) = cycle(d.path(), &mut store, at(1));
    assert_eq!(c.retired(), 0);
    assert!(store.files.is_empty(), "an empty segment is deleted");
}

#[test]
fn state_of_earlier_versions_loads_and_its_sealed_files_are_not_read_again() {
    let d = tempfile::tempdir().unwrap();
    explorations(d.path(), 0..SEGMENT_ROWS);
    write(
        d.path(),
        "logs/agents/a.jsonl",
        "{\"ts\":\"2026-01-05T10:00:00Z\",\"event\":\"outcome\",\"outcome\":\"success\"}\n",
    );
    // An earlier version: no segments, rows without mtime and fingerprint, one object.
    let start = crate::clock::parse_ts("2026-01-01T00:00:00Z").unwrap();
    let (_, c) = run(
        d.path(),
        &Config::builtin(),
        Cursors::new(),
        Window { start, end: at(3) },
        at(3),
    )
    .unwrap();
    assert_eq!(
        (c.len(), c.retired()),
        (SEGMENT_ROWS + 1, 0),
        "not wired: nothing retired"
    );
    let mut old = serde_json::Map::new();
    for (rel, cur) in c.iter() {
        let row = if rel.starts_with("logs/agents") {
            serde_json::json!({"offset": cur.offset, "line": cur.line, "inode": cur.inode, "size": cur.size})
        } else {
            serde_json::json!([cur.offset, cur.line, cur.inode, cur.size, true])
        };
        old.insert(rel.clone(), row);
    }
    let mut store = Store {
        state: serde_json::to_vec(&old).unwrap(),
        ..Store::default()
    };
    let (o, c, _) = cycle(d.path(), &mut store, at(4));
    assert_eq!(o.lines_read, 0);
    assert_eq!((c.len(), c.retired()), (1, SEGMENT_ROWS));
    // Their records have no mtime: in the segment's hour, the size alone says unchanged.
    let (o, _, written) = cycle(d.path(), &mut store, at(1));
    assert_eq!((o.files_read, written), (0, 0));
    // ... and growth is still noticed.
    append(d.path(), "logs/traversal/traversal_x3.jsonl", "\n");
    assert_eq!(cycle(d.path(), &mut store, at(1)).0.files_read, 1);
}

#[test]
fn a_damaged_segment_is_an_error_that_names_it() {
    let (_d, mut store) = retired_segment();
    let recs = format!("{SEALED_DIR}/000001.recs");
    store.files.get_mut(&recs).unwrap().truncate(30);
    let names = vec!["000001.keys".to_string(), "000001.recs".to_string()];
    let read = |n: &str| Ok(store.files.get(&format!("{SEALED_DIR}/{n}")).cloned());
    let err = Cursors::new()
        .load_sealed(&names, read, super::segment::Recheck::at(at(1), 24))
        .unwrap_err();
    assert!(format!("{err:#}").contains(&recs), "{err:#}");
    // The keys file alone (not due) loads; a missing records file is an error too.
    assert!(Cursors::new()
        .load_sealed(&names, read, super::segment::Recheck::at(at(2), 24))
        .is_ok());
    let err = Cursors::new()
        .load_sealed(&names[..1], read, super::segment::Recheck::at(at(2), 24))
        .unwrap_err();
    assert!(format!("{err:#}").contains("missing"), "{err:#}");
}

#[test]
fn files_untouched_for_longer_than_the_window_retire_too() {
    let d = tempfile::tempdir().unwrap();
    let mut store = Store::default();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
    let line = "{\"ts\":\"2026-01-05T10:00:00Z\",\"event\":\"outcome\",\"outcome\":\"success\"}\n";
    for i in 0..SEGMENT_ROWS {
        let rel = format!("logs/agents/day-{i}.jsonl");
        write(d.path(), &rel, line);
        let f = std::fs::File::options()
            .write(true)
            .open(d.path().join(&rel))
            .unwrap();
        f.set_modified(old).unwrap(); // 2026-01-01, a month before the cycles
    }
    write(d.path(), "logs/agents/today.jsonl", line);
    let (o, c, _) = cycle(d.path(), &mut store, at(3));
    assert_eq!(o.files_read, SEGMENT_ROWS as u64 + 1);
    assert_eq!(
        (c.len(), c.retired()),
        (1, SEGMENT_ROWS),
        "today's log stays live"
    );
    assert!(c.contains_key("logs/agents/today.jsonl"));
    // A dormant log that wakes up is read on in its segment's hour.
    append(d.path(), "logs/agents/day-5.jsonl", line);
    let (o, _, _) = cycle(d.path(), &mut store, at(1));
    assert_eq!((o.files_read, count(&o, "lines_used")), (1, 1));
}

/// 6,000 lines, then the log deleted and recreated on the same inode (or truncated and
/// rewritten in place) with 6,000 other lines: all of them are read, from the start.
#[test]
fn a_log_recreated_on_the_same_inode_is_read_from_its_start() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let rel = "logs/agents/a.jsonl";
    let lines = |tool: &str, hour: u32| -> String {
        (0..6000)
            .map(|i| {
                format!(
                    "{{\"ts\":\"2026-01-05T{hour:02}:{:02}:{:02}Z\",\"session\":\"s\",\"event\":\"tool_call\",\"tool\":\"{tool}{i}\",\"ok\":true}}\n",
                    i / 60 % 60,
                    i % 60
                )
            })
            .collect()
    };
    write(d.path(), rel, &lines("q", 1));
    let (o, c) = super::tests::observe(d.path(), &Cursors::new());
    assert_eq!(count(&o, "lines_used"), 6000);
    let ino = std::fs::metadata(d.path().join(rel)).unwrap().ino();
    // Deleted and recreated: provoke inode reuse (tmpfs and ext4 hand the freed inode
    // back); whether or not it comes, all new lines must be read, none reported bad.
    let mut reused = false;
    for _ in 0..50 {
        std::fs::remove_file(d.path().join(rel)).unwrap();
        write(d.path(), rel, &lines("query-", 2));
        if std::fs::metadata(d.path().join(rel)).unwrap().ino() == ino {
            reused = true;
            break;
        }
    }
    let (o, c) = super::tests::observe(d.path(), &c);
    assert_eq!(
        (count(&o, "lines_used"), o.skipped_total),
        (6000, 0),
        "{:?}",
        o.skipped
    );
    if reused {
        assert_eq!(count(&o, "files_reread:fingerprint"), 1);
    }
    // Truncated and rewritten in place: the same inode for certain, a longer file.
    std::fs::write(d.path().join(rel), lines("other-tool-", 3)).unwrap();
    let (o, c) = super::tests::observe(d.path(), &c);
    assert_eq!((count(&o, "lines_used"), o.skipped_total), (6000, 0));
    assert_eq!(count(&o, "files_reread:fingerprint"), 1);
    // Rewritten to exactly the same size: the mtime says it changed, the first bytes
    // that it is another file.
    let same = lines("other-tool-", 4);
    assert_eq!(same.len() as u64, c[rel].size);
    std::fs::write(d.path().join(rel), &same).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(d.path().join(rel))
        .unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1))
        .unwrap();
    let (o, _) = super::tests::observe(d.path(), &c);
    assert_eq!((count(&o, "lines_used"), o.skipped_total), (6000, 0));
}

#[test]
fn every_file_a_glob_claims_is_read_or_reported_with_its_reason() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    let repo = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let r = repo.path();
    let t = |p: &str| r.join("logs/traversal").join(p);
    explorations(r, 0..1); // logs/traversal/traversal_x0.jsonl
    write(r, "data/keep/e.jsonl", &exploration(1));
    write(r, "data/more/traversal_x2.jsonl", &exploration(2));
    write(outside.path(), "secret.jsonl", &exploration(3));
    std::fs::create_dir_all(outside.path().join("dir")).unwrap();
    // Inside the repository: a second name for a file read anyway, a file and a
    // directory the walk does not reach by their own paths, a loop.
    symlink(t("traversal_x0.jsonl"), t("alias.jsonl")).unwrap();
    symlink("../../data/keep/e.jsonl", t("linked.jsonl")).unwrap();
    symlink(r.join("data/more"), t("more")).unwrap();
    symlink(r.join("logs"), t("loop")).unwrap();
    // Not read: outside, nowhere, not UTF-8.
    symlink(outside.path().join("secret.jsonl"), t("outside.jsonl")).unwrap();
    symlink(outside.path().join("dir"), t("outdir")).unwrap();
    symlink(r.join("nothing.jsonl"), t("dangling.jsonl")).unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff.jsonl");
    std::fs::write(t("x").with_file_name(bad), exploration(4)).unwrap();
    let (o, c) = super::tests::observe(r, &Cursors::new());
    assert_eq!(
        o.metrics["exploration_count"], 3.0,
        "x0, x1 through a link, x2 below one"
    );
    assert!(c.contains_key("logs/traversal/linked.jsonl"));
    assert!(c.contains_key("logs/traversal/more/traversal_x2.jsonl"));
    assert!(
        !c.contains_key("logs/traversal/alias.jsonl"),
        "read once, by its own path"
    );
    let mut got: Vec<(&str, &str)> = o
        .skipped_files
        .iter()
        .map(|s| (s.file.as_str(), s.reason.as_str()))
        .collect();
    got.sort();
    let files: Vec<&str> = got.iter().map(|g| g.0).collect();
    assert_eq!(
        files,
        [
            "logs/traversal/bad\\xff.jsonl",
            "logs/traversal/dangling.jsonl",
            "logs/traversal/outdir",
            "logs/traversal/outside.jsonl",
        ],
        "{got:?}"
    );
    assert!(got[0].1.contains("not valid UTF-8"));
    assert!(got[1].1.contains("leads nowhere"));
    assert!(got[2].1.contains("directory outside the repository"));
    assert!(got[3].1.contains("file outside the repository"));
    assert_eq!(count(&o, "skipped_files"), 4);
    assert!(o.skipped.iter().filter(|s| s.line == 0).count() == 4);
    // Linked files keep their cursors: nothing is read twice.
    let (o, _) = super::tests::observe(r, &c);
    assert_eq!((o.lines_read, count(&o, "skipped_files")), (0, 4));
}

#[test]
fn lines_after_the_window_wait_and_lines_before_it_are_late_not_lost() {
    let d = tempfile::tempdir().unwrap();
    let rel = "logs/agents/a.jsonl";
    let line = |ts: &str| {
        format!(
            "{{\"ts\":\"{ts}\",\"session\":\"s\",\"event\":\"outcome\",\"outcome\":\"success\"}}\n"
        )
    };
    let cfg = Config::builtin();
    let run_at = |c: Cursors, start: &str, now: &str| {
        let (start, now) = (
            crate::clock::parse_ts(start).unwrap(),
            crate::clock::parse_ts(now).unwrap(),
        );
        run(d.path(), &cfg, c, Window { start, end: now }, now).unwrap()
    };
    // First cycle: older than the window is history; a line an hour ahead of the
    // clock is held, and the line written after it waits with it.
    write(
        d.path(),
        rel,
        &[
            line("2026-01-09T12:00:00Z"),
            line("2026-01-10T11:00:00Z"),
            line("2026-01-10T13:00:00Z"),
            line("2026-01-10T11:30:00Z"),
        ]
        .concat(),
    );
    let (o, c) = run_at(
        Cursors::new(),
        "2026-01-10T00:00:00Z",
        "2026-01-10T12:00:00Z",
    );
    assert_eq!(
        (count(&o, "outside_window"), count(&o, "lines_used")),
        (1, 1)
    );
    assert_eq!(
        (o.lines_read, count(&o, "files_held"), o.skipped_total),
        (2, 1, 0)
    );
    // The clock steps back an hour: still held. Then it passes the line: both read,
    // the one stamped before this window's start counted as late.
    let (o, c) = run_at(c, "2026-01-09T11:00:00Z", "2026-01-10T11:00:00Z");
    assert_eq!((o.lines_read, count(&o, "files_held")), (0, 1));
    let (o, c) = run_at(c, "2026-01-10T12:00:00Z", "2026-01-10T14:00:00Z");
    assert_eq!((count(&o, "lines_used"), count(&o, "late_lines")), (2, 1));
    // After a forward jump of the clock, lines of the hours in between are late, not
    // lost; a line a month ahead is skipped with its reason instead of holding the
    // file for a month.
    append(
        d.path(),
        rel,
        &[
            line("2026-01-10T14:30:00Z"),
            line("2026-02-20T00:00:00Z"),
            line("2026-01-10T15:00:00Z"),
        ]
        .concat(),
    );
    let (o, _) = run_at(c, "2026-01-11T02:00:00Z", "2026-01-11T03:00:00Z");
    assert_eq!((count(&o, "lines_used"), count(&o, "late_lines")), (2, 2));
    assert_eq!(o.skipped_total, 1);
    assert_eq!(o.skipped[0].reason, window::TOO_FAR_AHEAD);
    assert_eq!(o.skipped[0].line, 6);
}
