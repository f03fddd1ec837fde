//! A long life (issue 15): records an earlier version laid out flat still load and are
//! upgraded by the next cycle; the reading commands' summary gives the same health
//! and invariants as every record; a cycle's commit costs the same after hundreds of
//! cycles; closed proposals' branches are deleted after the retention time with their
//! commits kept; logs past the configured size are reported, never deleted; the cached
//! metrics history is what reading the records gives.

use crate::support::*;
use improve::clock::parse_ts;
use improve::config::Config;
use improve::cycle::summary::{self, Summary};
use improve::cycle::CycleRecord;
use improve::diagnose::history_cache;
use improve::diagnose::patterns::{History, METRICS_HEADER};
use improve::git::Git;
use improve::health::{self, Recorded};
use improve::records::Records;
use serde_json::{json, Value};
use std::path::Path;

/// Health (without M5, which measures `.git` itself) and the invariants, as JSON.
fn judged(r: &Recorded, git: &Git, cfg: &Config, now: &str) -> (Value, Value) {
    let inv = health::check(git, cfg, r);
    let mut h = serde_json::to_value(health::compute(r, &inv, parse_ts(now).unwrap())).unwrap();
    h["indicators"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["id"] != "M5");
    h.as_object_mut().unwrap().remove("overall");
    (h, serde_json::to_value(&inv).unwrap())
}

/// Loads the records of the repository at `repo` both ways and asserts the health and
/// invariants agree; returns the summary.
fn summary_matches_every_record(repo: &Path, now: &str) -> Summary {
    let git = Git::open(repo).unwrap();
    let cfg = Config::for_repo(&git).unwrap();
    let records = Records::open(&git, &cfg.records_branch).unwrap();
    let quick = Recorded::load(&git, &records).unwrap();
    let full = Recorded::load_full(&git, &records).unwrap();
    assert_eq!(quick.summary, full.summary);
    assert_eq!(quick.summary.cycles as usize, full.cycle_ids.len());
    assert_eq!(quick.audit_entries, full.audit_entries);
    assert_eq!(
        judged(&quick, &git, &cfg, now),
        judged(&full, &git, &cfg, now)
    );
    quick.summary
}

#[test]
fn health_from_the_summary_equals_health_from_every_record() {
    // The demo's story: deploys, a rollback, a rejection, a waiting proposal.
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("demo-system");
    let end = "2026-01-07T00:00:00Z";
    improve_at(end)
        .args(["-q", "demo"])
        .arg(&dir)
        .assert()
        .success();
    let s = summary_matches_every_record(&dir, end);
    assert!(s.cycles >= 10 && !s.first_detections.is_empty(), "{s:?}");
    assert!(s.spent_ms > 0 && s.watched_ms > 0, "{s:?}");
    // A cycle killed after its first records commit, before it timed its end.
    let later = "2026-01-07T02:00:00Z";
    let killed = improve_at(later)
        .current_dir(&dir)
        .env("IMPROVE_CRASH_AT", "before-learn")
        .arg("cycle")
        .output()
        .unwrap();
    assert!(!killed.status.success());
    let s2 = summary_matches_every_record(&dir, later);
    assert_eq!(s2.cycles, s.cycles + 1);
    // And the next whole cycle.
    let last = "2026-01-07T03:00:00Z";
    improve_at(last)
        .current_dir(&dir)
        .args(["-q", "cycle"])
        .assert()
        .success();
    let s3 = summary_matches_every_record(&dir, last);
    assert_eq!(s3.cycles, s.cycles + 2);
    assert!(s3.spent_ms >= s2.spent_ms);
    // What is on record is what the fold of the records gives.
    let git = Git::open(&dir).unwrap();
    let records = Records::open(&git, "improve/records").unwrap();
    let stored: Summary = records.read_json(summary::PATH).unwrap().unwrap();
    assert_eq!(stored, s3);
}

/// Rewrites the tip of the records branch into the layout earlier versions wrote:
/// flat `cycles/`, `learning/` and `observe/sealed/`, one audit and one metrics file a
/// month, no summary and no deployment index; and forgets this clone's anchor, as a
/// clone made by an earlier version has none of the new checkpoints.
fn as_an_earlier_version_wrote_it(env: &Env) {
    let wt = env.base.join("records-old-layout");
    env.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().unwrap(),
        "improve/records",
    ]);
    let files = |dir: &Path| -> Vec<std::path::PathBuf> {
        let mut out = vec![];
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path());
                }
            }
        }
        out.sort();
        out
    };
    for dir in ["cycles", "learning", "observe/sealed"] {
        let top = wt.join(dir);
        for f in files(&top) {
            std::fs::rename(&f, top.join(f.file_name().unwrap())).unwrap();
        }
        for e in std::fs::read_dir(&top).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                std::fs::remove_dir_all(e.path()).unwrap();
            }
        }
    }
    for (dir, ext) in [("audit", "jsonl"), ("metrics", "csv")] {
        let top = wt.join(dir);
        for e in std::fs::read_dir(&top).unwrap().flatten() {
            if !e.file_type().unwrap().is_dir() {
                continue;
            }
            let mut month = String::new();
            for f in files(&e.path()) {
                let text = std::fs::read_to_string(&f).unwrap();
                // One CSV header a month, as the monthly file had.
                let skip = if ext == "csv" && !month.is_empty() {
                    1
                } else {
                    0
                };
                for line in text.lines().skip(skip) {
                    month.push_str(line);
                    month.push('\n');
                }
            }
            let name = format!("{}.{ext}", e.file_name().to_string_lossy());
            std::fs::write(top.join(name), month).unwrap();
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    std::fs::remove_file(wt.join("summary.json")).unwrap();
    std::fs::remove_file(wt.join("audit-index.json")).unwrap();
    let mut c = std::process::Command::new("git");
    c.arg("-C")
        .arg(&wt)
        .args(["add", "-A"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    assert!(c.status().unwrap().success());
    let mut c = std::process::Command::new("git");
    c.arg("-C").arg(&wt).args(["commit", "-qm", "old layout"]);
    pinned_env(&mut c, "2026-01-05T07:00:00Z");
    assert!(c.status().unwrap().success());
    env.git(&["worktree", "remove", "--force", wt.to_str().unwrap()]);
    std::fs::remove_file(env.path(".git/improve/anchor.json")).unwrap();
}

fn health_and_check(env: &Env, now: &str) -> (Value, String, Value) {
    let out = env
        .improve(now)
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    let mut h: Value = serde_json::from_slice(&out.stdout).unwrap();
    h["indicators"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["id"] != "M5");
    let check = env.improve(now).arg("check").output().unwrap();
    assert!(check.status.success(), "{check:?}");
    let status = env
        .improve(now)
        .args(["--json", "status"])
        .output()
        .unwrap();
    (
        h,
        String::from_utf8_lossy(&check.stdout).into(),
        serde_json::from_slice(&status.stdout).unwrap(),
    )
}

#[test]
fn records_an_earlier_version_laid_out_flat_load_and_the_next_cycle_upgrades_them() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    let r = env.cycle_json(&at(2));
    assert!(lifecycle_lines(&r).contains("D-0001: deployed"), "{r:#}");
    good(&env, 12, h(3), "b");
    env.cycle_json(&at(4));
    good(&env, 12, h(5), "c");
    env.cycle_json(&at(6));
    let before = health_and_check(&env, &at(7));
    assert_eq!(before.2["cycles"], 3, "{:#}", before.2);

    as_an_earlier_version_wrote_it(&env);
    assert!(env.record_opt("cycles/C-000003.json").is_some());
    assert!(env.record_opt("learning/C-000001.json").is_some());
    assert!(env.record_opt("audit/2026-01.jsonl").is_some());
    assert!(env.record_opt("summary.json").is_none());
    // Every reading command reads it as it read the new layout.
    assert_eq!(health_and_check(&env, &at(7)), before);
    env.improve(&at(7))
        .args(["audit", "verify"])
        .assert()
        .success();

    // The next cycle moves the records into their shards and goes on.
    good(&env, 12, h(7), "d");
    let r = env.cycle_json(&at(8));
    assert_eq!(r["cycle"], "C-000004");
    assert!(
        r["notes"]
            .to_string()
            .contains("records upgraded: 6 records moved"),
        "{r:#}"
    );
    let tree = env.git(&["ls-tree", "-r", "--name-only", "improve/records"]);
    for id in 1..=4 {
        assert!(
            tree.contains(&format!("cycles/00/0/0/C-00000{id}.json")),
            "{tree}"
        );
        assert!(
            tree.contains(&format!("learning/00/0/0/C-00000{id}.json")),
            "{tree}"
        );
    }
    assert!(!tree.contains("cycles/C-"), "{tree}");
    // The month's audit file stays where it was; the chain goes on in the day's file.
    assert!(tree.contains("audit/2026-01.jsonl\n"), "{tree}");
    assert!(env
        .record("audit/2026-01/05.jsonl")
        .contains("\"upgraded\""));
    assert!(env.record("audit-index.json").contains("D-0001"));
    env.improve(&at(8))
        .args(["audit", "verify"])
        .assert()
        .success();
    env.improve(&at(8)).arg("check").assert().success();
    let s = summary_matches_every_record(&env.repo, &at(8));
    assert_eq!(s.cycles, 4);
    // No second upgrade.
    good(&env, 12, h(9), "e");
    let r = env.cycle_json(&at(10));
    assert!(!r["notes"].to_string().contains("upgraded"), "{r:#}");
}

/// One cycle's record, as big as the demo's.
fn record_of(cycle: &str, started: &str) -> CycleRecord {
    let evidence: Vec<Value> = (0..20)
        .map(|i| json!({"file": format!("logs/traversal/traversal_{cycle}_{i}.jsonl"), "line": i, "detail": "sibling_divergence 0.30"}))
        .collect();
    let pattern = json!({
        "kind": "recurring_anomaly", "subject": "LOW_SIBLING_DIVERGENCE", "occurrences": 60,
        "severity": 2.0, "impact": 0.3, "score": 7.2, "actionable": true, "why": "planted",
        "evidence": evidence, "stats": {}, "layer": "physics", "rule": "r1", "confidence": 0.8,
        "explanation": "e", "metric": "sibling_divergence", "features": [1.0, 0.5], "known": null
    });
    serde_json::from_value(json!({
        "cycle": cycle, "started": started, "outcome": "observed", "triggers": [],
        "window": [started, started], "files_read": 60, "lines_read": 600, "bytes_read": 60000,
        "skipped_total": 0, "skipped": [], "metrics": {"satisfaction": 0.5},
        "patterns": [pattern], "proposals": [], "not_proposed": [],
        "phase_ms": {"observe": 12}, "notes": [], "audit_ok": true
    }))
    .unwrap()
}

/// Bytes of the objects a commit added (uncompressed: what it rewrote).
fn added_bytes(repo: &Path, from: &str, to: &str) -> u64 {
    let list = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-list", "--objects", &format!("{from}..{to}")])
        .output()
        .unwrap();
    let ids: String = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| format!("{}\n", l.split(' ').next().unwrap()))
        .collect();
    let mut c = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch-check=%(objectsize)"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(ids.as_bytes()).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.parse::<u64>().ok())
        .sum()
}

/// A new repository with no commits, for writing records directly.
fn empty_repo() -> (tempfile::TempDir, Git) {
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let git = Git::open(dir.path()).unwrap();
    (dir, git)
}

#[test]
fn a_cycles_commit_costs_the_same_after_three_hundred_cycles() {
    let (dir, git) = empty_repo();
    let mut records = Records::open(&git, "improve/records").unwrap();
    let t0 = parse_ts("2026-01-01T00:00:00Z").unwrap();
    let mut cost = vec![];
    for k in 1..=300 {
        let now = t0 + chrono::Duration::hours(k);
        let ts = improve::clock::fmt_ts(now);
        let cycle = format!("C-{k:06}");
        let before = records.tip.map(|t| t.to_string());
        // What a cycle's records commit writes: its record with the summary, its
        // learning record, the day's metrics rows and audit entries.
        let mut tx = records.tx();
        summary::put_record(&records, &mut tx, &record_of(&cycle, &ts), None).unwrap();
        tx.put_json(&improve::learn::path(&cycle), &json!({"cycle": cycle}))
            .unwrap();
        let rows = History::csv_rows(
            &cycle,
            &ts,
            &[
                ("satisfaction".to_string(), 0.5),
                ("efficiency".into(), 0.2),
            ]
            .into(),
        );
        tx.append_csv(&History::file_for(&ts), METRICS_HEADER, &rows);
        for phase in ["trigger", "observe", "diagnose", "learn"] {
            tx.audit(phase, "done", &cycle, json!({"files": 60}));
        }
        tx.commit(&mut records, &cycle, now, &cycle).unwrap();
        if let Some(b) = before {
            cost.push(added_bytes(
                dir.path(),
                &b,
                &records.tip.unwrap().to_string(),
            ));
        }
    }
    // The median over a hundred commits, early and late: the day's files and the
    // shards' leaves fill and start again in both windows alike. What may differ is
    // bounded: a month's directory fills over the month, the summary's durations over
    // 720 cycles (24 KB to 26 KB here). The flat layout of earlier versions went from
    // 69 KB to 313 KB.
    let median = |w: &[u64]| {
        let mut v = w.to_vec();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (early, late) = (median(&cost[..100]), median(&cost[cost.len() - 100..]));
    assert!(
        late <= early + early / 5,
        "commits 200-300 added {late} bytes (median), commits 1-100 {early}: a term grows with history"
    );
    let r = Recorded::load(&git, &records).unwrap();
    assert_eq!(r.summary.cycles, 300);
    assert_eq!(r.cycle_ids.len(), 300);
    assert_eq!(
        records
            .next_id(improve::cycle::record::DIR, "C-", 6)
            .unwrap(),
        "C-000301"
    );
}

/// A medium-risk fix: it waits for a human.
const MEDIUM_PROTOCOL: &str = "candidates:\n  divergence-physics:\n    - {type: protocol_update, target: {file: protocols/explore.yaml, name: \"steps[0].max_retries\"}, direction: increase, step: 0.5, risk: medium, complexity: 2, metric: efficiency}\n";

/// The first proposal's branch, rejected at `at(3)`, in a repository whose proposals
/// wait for a human.
fn rejected() -> (Env, String) {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    let commit = env.rev("improve/proposal/P-0001");
    env.improve(&at(3))
        .args(["reject", "P-1", "--by", "bob", "--reason", "not this way"])
        .assert()
        .success();
    (env, commit)
}

#[test]
fn closed_proposals_branches_are_deleted_after_the_retention_time_and_their_commits_kept() {
    let (env, commit) = rejected();
    let day = |d: i64| at(3 + 24 * d);
    env.cycle_json(&day(29));
    assert_eq!(
        env.branches("improve/proposal/"),
        ["improve/proposal/P-0001"]
    );
    let r = env.cycle_json(&day(31));
    assert!(
        lifecycle_lines(&r).contains("deleted the branches of P-0001"),
        "{r:#}"
    );
    assert!(env.branches("improve/proposal/").is_empty());
    assert_eq!(env.rev("refs/tags/improve/archive/P-0001"), commit);
    let p = env.record("proposals/P-0001/proposal.yaml");
    assert!(p.contains("branch deleted"), "{p}");
    assert!(env.audit_log().contains("\"branch_deleted\""));
    // Unreachable objects are what gc removes; the tag keeps the commit.
    env.git(&["gc", "-q", "--prune=now"]);
    env.git(&["cat-file", "-e", &commit]);
    env.improve(&day(31)).arg("check").assert().success();
    // Recorded once.
    let r = env.cycle_json(&day(32));
    assert!(!lifecycle_lines(&r).contains("deleted"), "{r:#}");
}

#[test]
fn a_branch_a_human_pushed_to_or_still_open_is_never_deleted() {
    // Pushed to after it closed.
    let (env, _) = rejected();
    env.git(&["checkout", "-q", "improve/proposal/P-0001"]);
    env.write("protocols/explore.yaml", "name: explore\nsteps: []\n");
    env.git(&["commit", "-qam", "a human's take"]);
    env.git(&["checkout", "-q", "main"]);
    let pushed = env.rev("improve/proposal/P-0001");
    env.cycle_json(&at(3 + 24 * 40));
    assert_eq!(env.rev("improve/proposal/P-0001"), pushed);
    assert!(env.rev_opt("refs/tags/improve/archive/P-0001").is_none());
    // Open for longer than the retention time.
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    env.cycle_json(&at(2 + 24 * 40));
    assert_eq!(
        env.branches("improve/proposal/"),
        ["improve/proposal/P-0001"]
    );
}

#[test]
fn logs_past_the_configured_size_are_reported_and_never_deleted() {
    let env = Env::new();
    env.configure(&[("logs_warn_size: 10GB", "logs_warn_size: 4K")]);
    faulty(&env, 12, h(1), "a");
    let files = || {
        std::fs::read_dir(env.path("logs/traversal"))
            .unwrap()
            .count()
    };
    let n = files();
    let r = env.cycle_json(&at(2));
    assert!(
        r["notes"]
            .to_string()
            .contains("past retention.logs_warn_size (4K)"),
        "{r:#}"
    );
    assert_eq!(files(), n, "nothing deleted");
    let out = env
        .improve(&at(2))
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m5 = h["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "M5")
        .unwrap();
    assert_eq!(m5["level"], "WARNING", "{m5:#}");
    let detail = m5["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("in {n} files")), "{detail}");
    assert!(
        detail.contains(".git ") && detail.contains("past"),
        "{detail}"
    );
    // Under the size, no warning (measured again at once when the size changes).
    env.configure(&[("logs_warn_size: 4K", "logs_warn_size: 1G")]);
    let r = env.cycle_json(&at(3));
    assert!(!r["notes"].to_string().contains("logs:"), "{r:#}");
    let out = env
        .improve(&at(3))
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        h["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "M5" && i["level"] == "HEALTHY"),
        "{h:#}"
    );
}

/// Commits one cycle's metrics rows at hour `k` (two metrics, values that vary).
fn commit_metrics(records: &mut Records, k: i64) {
    let now = parse_ts("2026-01-01T00:00:00Z").unwrap() + chrono::Duration::hours(k);
    let ts = improve::clock::fmt_ts(now);
    let cycle = format!("C-{k:06}");
    let rows = History::csv_rows(
        &cycle,
        &ts,
        &[
            ("satisfaction".to_string(), 0.5 + (k % 7) as f64 / 10.0),
            ("efficiency".into(), 1.0 / (k + 3) as f64),
        ]
        .into(),
    );
    let mut tx = records.tx();
    tx.append_csv(&History::file_for(&ts), METRICS_HEADER, &rows);
    tx.audit("learn", "done", &cycle, json!({}));
    tx.commit(records, &cycle, now, &cycle).unwrap();
}

#[test]
fn the_cached_metrics_history_is_what_reading_every_file_gives() {
    let (dir, git) = empty_repo();
    let mut records = Records::open(&git, "improve/records").unwrap();
    let cache = dir.path().join(".git/improve/history.json");
    // Four days and more of hourly cycles, a window of two days: the cache is built,
    // used within a day, and rebuilt when a day begins and the oldest file leaves.
    for k in 1..=110 {
        commit_metrics(&mut records, k);
        let cached = History::load_recent(&records, 48).unwrap();
        std::fs::remove_file(&cache).unwrap();
        let read = History::load_recent(&records, 48).unwrap();
        assert_eq!(cached, read, "after cycle {k}");
        assert!(read.cycles.len() >= 48.min(k as usize), "after cycle {k}");
    }
    assert!(cache.exists());
}

#[test]
fn the_metrics_history_cache_stands_in_for_exactly_the_blobs_it_was_built_from() {
    let (_dir, git) = empty_repo();
    let mut records = Records::open(&git, "improve/records").unwrap();
    for k in 1..=60 {
        commit_metrics(&mut records, k);
    }
    let read = History::load_recent(&records, 48).unwrap();
    // A cache whose history differs from its files' (as no cycle writes it) shows
    // whether the files it names are read again.
    let c = history_cache::load(&git).expect("the load wrote the cache");
    let mut cycles = c.cycles.clone();
    cycles[0].1 = "marked".into();
    history_cache::store(&git, &c.files, &cycles, &c.series);
    commit_metrics(&mut records, 61);
    let h = History::load_recent(&records, 48).unwrap();
    assert_eq!(h.cycles[0].1, "marked", "the older days were read again");
    // A day's file rewritten (another blob): the cache no longer stands for it.
    let first = &c.files[0].path;
    let mut tx = records.tx();
    let bytes = records.read(first).unwrap().unwrap();
    tx.put(
        first,
        [bytes.as_slice(), b"C-000000,2026-01-01T00:30:00Z,extra,1\n"].concat(),
    );
    tx.audit("learn", "done", "C-000062", json!({}));
    let now = parse_ts("2026-01-03T14:00:00Z").unwrap();
    tx.commit(&mut records, "C-000062", now, "C-000062")
        .unwrap();
    let h = History::load_recent(&records, 48).unwrap();
    assert_ne!(h.cycles[0].1, "marked");
    assert!(h.series.contains_key("extra"));
    assert_eq!(h.series["satisfaction"].len(), h.cycles.len());
    assert!(read.cycles.len() < h.cycles.len());
}
