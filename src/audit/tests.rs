use super::*;
use crate::clock::parse_ts;
use crate::records::Records;
use serde_json::json;
use std::collections::BTreeMap;

struct Chain {
    _dir: tempfile::TempDir,
    git: Git,
}

impl Chain {
    fn new() -> Chain {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        let git = Git::open(dir.path()).unwrap();
        Chain { _dir: dir, git }
    }

    /// One records commit with `n` entries at `now`.
    fn write(&self, now: &str, n: usize) {
        let mut records = Records::open(&self.git, "improve/records").unwrap();
        let mut tx = records.tx();
        for i in 0..n {
            tx.audit("test", "wrote", &format!("x{i}"), json!({"i": i}));
        }
        tx.commit(&mut records, "C-1", parse_ts(now).unwrap(), "test")
            .unwrap();
    }

    fn tip(&self) -> Option<Oid> {
        self.git.ref_oid("improve/records").unwrap()
    }

    /// Replaces the file at `path` on the records branch (a tamperer's commit).
    fn tamper(&self, path: &str, edit: impl Fn(String) -> String) {
        let tip = self.tip().unwrap();
        let text = String::from_utf8(self.git.read_file(tip, path).unwrap().unwrap()).unwrap();
        let mut ch = BTreeMap::new();
        ch.insert(path.to_string(), Some(edit(text).into_bytes()));
        let new = self
            .git
            .commit_changes(
                Some(tip),
                &ch,
                "tamper",
                parse_ts("2026-03-01T00:00:00Z").unwrap(),
            )
            .unwrap();
        self.git
            .update_ref("improve/records", new, Some(tip), "tamper")
            .unwrap();
    }
}

#[test]
fn incremental_verification_reads_only_what_came_after_the_checkpoint() {
    let c = Chain::new();
    c.write("2026-01-10T00:00:00Z", 5);
    c.write("2026-02-10T00:00:00Z", 5);
    let full = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(full.ok(), "{:?}", full.problems);
    assert_eq!((full.entries, full.from_seq), (10, 1));
    c.write("2026-02-11T00:00:00Z", 3);
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.entries, v.from_seq, v.files), (3, 11, 1));
    c.write("2026-03-01T00:00:00Z", 2);
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.entries, v.from_seq, v.files), (2, 14, 2));
    // Nothing new: nothing read but the checkpoint's file.
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert_eq!((v.entries, v.from_seq), (0, 16));
    assert!(verify(&c.git, c.tip()).unwrap().ok());
}

#[test]
fn tampering_before_the_checkpoint_is_still_found() {
    for (file, line) in [("audit/2026-01.jsonl", 1), ("audit/2026-02.jsonl", 2)] {
        let c = Chain::new();
        c.write("2026-01-10T00:00:00Z", 5);
        c.write("2026-02-10T00:00:00Z", 5);
        assert!(verify_incremental(&c.git, c.tip()).unwrap().ok());
        c.tamper(file, |t| {
            let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
            lines[line] = lines[line].replace("\"wrote\"", "\"skipped\"");
            lines.join("\n") + "\n"
        });
        let v = verify_incremental(&c.git, c.tip()).unwrap();
        assert!(!v.ok(), "{file}");
        assert!(v.problems[0].contains("changed after"), "{:?}", v.problems);
        assert!(
            v.problems.iter().any(|p| p.contains("was edited")),
            "the full verification locates it: {:?}",
            v.problems
        );
        assert!(
            !verify_incremental(&c.git, c.tip()).unwrap().ok(),
            "stays reported"
        );
    }
}

#[test]
fn tampering_after_the_checkpoint_is_found_by_the_incremental_pass() {
    let c = Chain::new();
    c.write("2026-01-10T00:00:00Z", 5);
    assert!(verify_incremental(&c.git, c.tip()).unwrap().ok());
    c.write("2026-01-11T00:00:00Z", 3);
    c.tamper("audit/2026-01.jsonl", |t| {
        let mut lines: Vec<&str> = t.lines().collect();
        lines.remove(6);
        lines.join("\n") + "\n"
    });
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert_eq!(v.from_seq, 6, "{:?}", v.problems);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("sequence 8 follows 6")),
        "{:?}",
        v.problems
    );
}

#[test]
fn a_timestamp_that_goes_back_is_a_warning() {
    let c = Chain::new();
    c.write("2026-01-10T00:00:00Z", 2);
    c.write("2026-01-09T23:59:59Z", 1);
    let v = verify(&c.git, c.tip()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
    assert!(v.warnings[0].contains("entry 3 is stamped 2026-01-09T23:59:59"));
    // The entry went to the newest file, not an older month's.
    c.write("2025-12-31T00:00:00Z", 1);
    let tip = c.tip().unwrap();
    assert_eq!(c.git.list_dir(tip, "audit").unwrap(), vec!["2026-01.jsonl"]);
    assert!(verify_incremental(&c.git, c.tip()).unwrap().ok());
}
