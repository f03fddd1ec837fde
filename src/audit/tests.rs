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

    /// Appends `n` entries to `path` as an earlier version did (one file a month).
    fn legacy(&self, path: &str, now: &str, n: usize) {
        let tip = self.tip();
        let mut h = head(&self.git, tip).unwrap();
        let mut text = tip
            .and_then(|t| self.git.read_file(t, path).unwrap())
            .unwrap_or_default();
        for i in 0..n {
            let p = Pending {
                phase: "test".into(),
                action: "wrote".into(),
                subject: format!("x{i}"),
                detail: json!({"i": i}),
            };
            let e = AuditEntry::chain(&h, parse_ts(now).unwrap(), "C-1", p);
            text.extend_from_slice(&e.to_line());
            h.seq = e.seq;
            h.hash = e.hash;
        }
        let mut ch = BTreeMap::new();
        ch.insert(path.to_string(), Some(text));
        let new = self
            .git
            .commit_changes(tip, &ch, "legacy", parse_ts(now).unwrap())
            .unwrap();
        self.git
            .update_ref("improve/records", new, tip, "legacy")
            .unwrap();
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
    assert_eq!((full.entries, full.from_seq, full.last_seq), (10, 1, 10));
    c.write("2026-02-10T05:00:00Z", 3);
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.entries, v.from_seq, v.files), (3, 11, 1));
    c.write("2026-03-01T00:00:00Z", 2);
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.entries, v.from_seq, v.files, v.last_seq), (2, 14, 2, 15));
    // Whole months before the checkpoint's are one entry each, by tree id.
    let cp = v.checkpoint.unwrap();
    assert_eq!(cp.file, "audit/2026-03/01.jsonl");
    assert_eq!(
        cp.sealed.keys().collect::<Vec<_>>(),
        ["audit/2026-01", "audit/2026-02"]
    );
    // Nothing new: nothing read but the checkpoint's file.
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert_eq!((v.entries, v.from_seq), (0, 16));
    assert!(verify(&c.git, c.tip()).unwrap().ok());
}

#[test]
fn tampering_before_the_checkpoint_is_still_found() {
    // In a whole month before the checkpoint's, in an earlier day of its month, and in
    // the checkpoint's file itself.
    for (file, line) in [
        ("audit/2026-01/10.jsonl", 1),
        ("audit/2026-02/09.jsonl", 0),
        ("audit/2026-02/10.jsonl", 2),
    ] {
        let c = Chain::new();
        c.write("2026-01-10T00:00:00Z", 5);
        c.write("2026-02-09T00:00:00Z", 2);
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
        assert!(!verify_from_checkpoint(&c.git, c.tip()).unwrap().ok());
    }
}

#[test]
fn tampering_after_the_checkpoint_is_found_by_the_incremental_pass() {
    let c = Chain::new();
    c.write("2026-01-10T00:00:00Z", 5);
    assert!(verify_incremental(&c.git, c.tip()).unwrap().ok());
    c.write("2026-01-10T01:00:00Z", 3);
    c.tamper("audit/2026-01/10.jsonl", |t| {
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
    // The entry went to the newest file, not an older day's or month's.
    c.write("2025-12-31T00:00:00Z", 1);
    let tip = c.tip().unwrap();
    assert_eq!(c.git.list_dir(tip, "audit").unwrap(), vec!["2026-01"]);
    assert_eq!(
        c.git.list_dir(tip, "audit/2026-01").unwrap(),
        vec!["10.jsonl"]
    );
    assert!(verify_incremental(&c.git, c.tip()).unwrap().ok());
}

/// A chain begun by an earlier version (one file a month) goes on in daily files
/// after them, and reads, verifies and checkpoints as one chain.
#[test]
fn monthly_files_of_earlier_versions_stay_first_in_the_chain() {
    let c = Chain::new();
    c.legacy("audit/2025-12.jsonl", "2025-12-20T00:00:00Z", 3);
    c.legacy("audit/2026-01.jsonl", "2026-01-02T00:00:00Z", 2);
    assert!(verify_incremental(&c.git, c.tip()).unwrap().ok());
    // Later the same month, the new version writes the day's file.
    c.write("2026-01-15T00:00:00Z", 2);
    let tip = c.tip().unwrap();
    assert_eq!(
        files::files(&c.git, tip, DIR).unwrap(),
        [
            "audit/2025-12.jsonl",
            "audit/2026-01.jsonl",
            "audit/2026-01/15.jsonl"
        ]
    );
    let h = head(&c.git, c.tip()).unwrap();
    assert_eq!(
        (h.seq, h.file.as_deref()),
        (7, Some("audit/2026-01/15.jsonl"))
    );
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.entries, v.from_seq), (2, 6));
    c.write("2026-02-01T00:00:00Z", 1);
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    let sealed: Vec<_> = v.checkpoint.unwrap().sealed.into_keys().collect();
    assert_eq!(
        sealed,
        [
            "audit/2025-12.jsonl",
            "audit/2026-01",
            "audit/2026-01.jsonl"
        ]
    );
    let full = verify(&c.git, c.tip()).unwrap();
    assert!(full.ok(), "{:?}", full.problems);
    assert_eq!((full.entries, full.files), (8, 4));
    let seqs: Vec<u64> = entries(&c.git, c.tip())
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    // An edit of the earlier version's file is still found.
    c.tamper("audit/2025-12.jsonl", |t| {
        t.replacen("\"wrote\"", "\"read\"", 1)
    });
    let v = verify_incremental(&c.git, c.tip()).unwrap();
    assert!(
        v.problems[0].contains("audit/2025-12.jsonl changed after"),
        "{:?}",
        v.problems
    );
}

#[test]
fn the_deploy_index_points_at_each_deployments_first_deploy_entry() {
    let c = Chain::new();
    let mut records = Records::open(&c.git, "improve/records").unwrap();
    let mut tx = records.tx();
    tx.audit("init", "created", "improve/records", json!({}));
    tx.commit(
        &mut records,
        "",
        parse_ts("2026-01-10T00:00:00Z").unwrap(),
        "init",
    )
    .unwrap();
    let mut tx = records.tx();
    tx.audit("deploy", "intent", "D-0001", json!({}));
    tx.audit("deploy", "deployed", "D-0001", json!({}));
    tx.audit("approve", "approved", "D-0002", json!({}));
    tx.commit(
        &mut records,
        "C-1",
        parse_ts("2026-01-11T00:00:00Z").unwrap(),
        "d",
    )
    .unwrap();
    let index = Index::load(&c.git, c.tip()).unwrap().unwrap();
    assert_eq!(index, Index::build(&c.git, c.tip()).unwrap());
    assert_eq!(
        index.deploys["D-0001"],
        Pos {
            seq: 2,
            file: "audit/2026-01/11.jsonl".into()
        }
    );
    assert_eq!(index.deploys.len(), 1);
    let (found, problems) = index.entries(&c.git, c.tip()).unwrap();
    assert_eq!((found.len(), problems.len()), (1, 0));
    assert_eq!((found[0].seq, found[0].action.as_str()), (2, "intent"));
    // An index that points anywhere else proves nothing.
    let mut wrong = index.clone();
    wrong.deploys.get_mut("D-0001").unwrap().seq = 4;
    let (found, problems) = wrong.entries(&c.git, c.tip()).unwrap();
    assert!(found.is_empty());
    assert!(
        problems[0].contains("D-0001 points at entry 4"),
        "{problems:?}"
    );
}
