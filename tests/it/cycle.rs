//! The first half of the cycle (issue 2): observe, diagnose, propose on real repos.

use crate::support::*;
use serde_json::Value;

fn planted_divergence(env: &Env, n: usize, start: &str) {
    let t = ts(start);
    write_explorations(env, n, |i| Expl {
        divergence: 0.3,
        found: 1,
        satisfaction: 0.4,
        anomalies: vec![
            ("LOW_SIBLING_DIVERGENCE", "warn", 1),
            ("BACKTRACK", "info", 7),
        ],
        ..Expl::healthy(
            &format!("e{start}{i}").replace([':', '-'], ""),
            t + chrono::Duration::minutes(i as i64),
        )
    });
}

fn healthy_logs(env: &Env, n: usize, start: &str) {
    let t = ts(start);
    write_explorations(env, n, |i| Expl {
        anomalies: vec![("BACKTRACK", "info", 9)],
        ..Expl::healthy(
            &format!("h{start}{i}").replace([':', '-'], ""),
            t + chrono::Duration::minutes(i as i64),
        )
    });
}

fn patterns(report: &Value) -> Vec<Value> {
    report["patterns"].as_array().cloned().unwrap_or_default()
}

fn proposals(report: &Value) -> Vec<Value> {
    report["proposals"].as_array().cloned().unwrap_or_default()
}

#[test]
fn init_creates_config_and_records_branch() {
    let env = Env::bare_target();
    env.improve(T0).args(["init"]).assert().success();
    assert!(env.path("improvement-data/config.yaml").exists());
    assert!(env.rev_opt("improve/records").is_some());
    assert!(env
        .record("audit/2026-01/05.jsonl")
        .contains("\"phase\":\"init\""));
    // Again: idempotent, keeps both.
    env.improve(T0).args(["init"]).assert().success();
    env.improve(T0).args(["audit", "verify"]).assert().success();
}

#[test]
fn planted_anomaly_is_detected_attributed_and_tuned_with_a_one_literal_branch() {
    let env = Env::new();
    let main_before = env.rev("main");
    planted_divergence(&env, 12, "2026-01-05T01:00:00Z");
    let r = env.cycle_json("2026-01-05T06:00:00Z");
    let pats = patterns(&r);
    let p = pats
        .iter()
        .find(|p| p["subject"] == "LOW_SIBLING_DIVERGENCE")
        .unwrap_or_else(|| panic!("the planted anomaly is a pattern: {r:#}"));
    assert_eq!(p["kind"], "recurring_anomaly");
    assert_eq!(p["layer"], "physics");
    assert!(p["confidence"].as_f64().unwrap() > 0.3, "{p}");
    assert!(p["occurrences"].as_u64().unwrap() >= 100);
    // The occasional info BACKTRACK is noise, not a problem.
    if let Some(b) = pats.iter().find(|p| p["subject"] == "BACKTRACK") {
        assert_eq!(b["actionable"], false, "{b}");
    }
    let props = proposals(&r);
    assert_eq!(props.len(), 1, "{r:#}");
    let prop = &props[0];
    assert_eq!(prop["type"], "constant_tune");
    assert_eq!(prop["target"]["file"], "runtime/physics/constants.py");
    assert_eq!(prop["target"]["name"], "SIBLING_DIVERGENCE_WEIGHT");
    let branch = prop["branch"].as_str().unwrap();
    assert_eq!(branch, "improve/proposal/P-0001");
    // The branch is one commit on main whose diff is exactly that literal.
    assert_eq!(env.rev(&format!("{branch}~1")), main_before);
    let diff = env.git(&["diff", "--unified=0", "main", branch]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            "-SIBLING_DIVERGENCE_WEIGHT = 0.10  # planted fault: too low",
            "+SIBLING_DIVERGENCE_WEIGHT = 0.20  # planted fault: too low"
        ],
        "{diff}"
    );
    // change.patch applies to the deploy branch.
    let patch = env.record("proposals/P-0001/change.patch");
    let patch_file = env.base.join("change.patch");
    std::fs::write(&patch_file, format!("{patch}\n")).unwrap();
    env.git(&["apply", "--check", patch_file.to_str().unwrap()]);
    // proposal.yaml is complete and the PR body has every section.
    let yaml = env.record("proposals/P-0001/proposal.yaml");
    for field in [
        "rationale:",
        "risk: low",
        "target_metric:",
        "validation_plan:",
        "rollback_plan:",
        "evidence:",
    ] {
        assert!(yaml.contains(field), "{field} missing in\n{yaml}");
    }
    let body = env.record("proposals/P-0001/PR_BODY.md");
    for section in [
        "### Summary",
        "### What was found",
        "### Rationale",
        "### Risk",
        "### Validation plan",
        "### Rollback plan",
    ] {
        assert!(body.contains(section), "{section} missing");
    }
    assert!(
        body.contains("logs/traversal/traversal_"),
        "evidence names files:\n{body}"
    );
    // The user's branch and working tree are untouched.
    assert_eq!(env.rev("main"), main_before);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    assert_eq!(env.read("runtime/physics/constants.py"), CONSTANTS_PY);
    // A second cycle over the same logs proposes nothing new.
    let r2 = env.cycle_json("2026-01-05T07:00:00Z");
    assert!(proposals(&r2).is_empty(), "{r2:#}");
    // New logs with the same problem: still no duplicate while P-0001 is open.
    planted_divergence(&env, 12, "2026-01-05T07:30:00Z");
    let r3 = env.cycle_json("2026-01-05T09:00:00Z");
    assert!(proposals(&r3).is_empty(), "{r3:#}");
    assert!(
        r3["not_proposed"]
            .to_string()
            .contains("P-0001 is already open"),
        "{r3:#}"
    );
    env.improve("2026-01-05T09:00:00Z")
        .args(["audit", "verify"])
        .assert()
        .success();
}

#[test]
fn healthy_logs_propose_nothing() {
    let env = Env::new();
    healthy_logs(&env, 30, "2026-01-05T01:00:00Z");
    let r = env.cycle_json("2026-01-05T06:00:00Z");
    assert!(r["lines_read"].as_u64().unwrap() > 300);
    assert!(proposals(&r).is_empty(), "{r:#}");
    assert!(
        patterns(&r).iter().all(|p| p["actionable"] == false),
        "{r:#}"
    );
    assert!(env.branches("improve/proposal/").is_empty());
}

#[test]
fn planted_drift_is_detected_and_attributed() {
    let env = Env::new();
    // Eight cycles, six hours apart; sibling divergence sinks a little each time.
    for c in 0..8 {
        let start = ts("2026-01-05T00:00:00Z") + chrono::Duration::hours(6 * c);
        let div = 0.80 - 0.04 * c as f64;
        write_explorations(&env, 10, |i| Expl {
            divergence: div,
            ..Expl::healthy(
                &format!("d{c}x{i}"),
                start + chrono::Duration::minutes(10 + i as i64),
            )
        });
        let now = (start + chrono::Duration::hours(5)).to_rfc3339();
        let r = env.cycle_json(&now);
        if c == 7 {
            let d = patterns(&r)
                .into_iter()
                .find(|p| p["kind"] == "metric_drift" && p["subject"] == "sibling_divergence")
                .unwrap_or_else(|| panic!("drift not found: {r:#}"));
            assert_eq!(d["layer"], "physics");
            assert!(d["occurrences"].as_u64().unwrap() >= 6);
        }
    }
}

#[test]
fn malformed_truncated_and_wrongly_typed_lines_are_skipped_and_counted() {
    let env = Env::new();
    let good = Expl::healthy("m1", ts("2026-01-05T01:00:00Z")).jsonl();
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    lines.insert(2, "{not json".into());
    lines.insert(4, r#"{"header": {"timestamp": 12, "exploration_id": ["x"]}, "state": {"satisfaction": "high"}}"#.into());
    let body = lines.join("\n") + "\n";
    env.write("logs/traversal/traversal_m1.jsonl", &body);
    // A truncated last line in another file: not read until it is complete.
    let second = Expl::healthy("m2", ts("2026-01-05T01:10:00Z")).jsonl();
    let (head, tail) = second.split_at(second.len() - 40);
    env.write("logs/traversal/traversal_m2.jsonl", head);
    let r = env.cycle_json("2026-01-05T02:00:00Z");
    assert!(r["skipped_total"].as_u64().unwrap() >= 2, "{r:#}");
    let skipped = r["skipped"].to_string();
    assert!(
        skipped.contains("logs/traversal/traversal_m1.jsonl"),
        "{skipped}"
    );
    let lines_skipped: Vec<u64> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["file"] == "logs/traversal/traversal_m1.jsonl")
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert!(
        lines_skipped.contains(&3) && lines_skipped.contains(&5),
        "{lines_skipped:?}"
    );
    // The cycle record keeps them too.
    let rec = env.record("cycles/00/0/0/C-000001.json");
    assert!(rec.contains("traversal_m1.jsonl"));
    // Completing the truncated line: the next cycle reads it (and only it).
    env.append("logs/traversal/traversal_m2.jsonl", tail);
    let r2 = env.cycle_json("2026-01-05T03:00:00Z");
    assert_eq!(r2["lines_read"].as_u64().unwrap(), 1, "{r2:#}");
    assert_eq!(r2["skipped_total"].as_u64().unwrap(), 0, "{r2:#}");
}

#[test]
fn no_signals_is_recorded_and_exits_zero() {
    let env = Env::new();
    // Logs exist but nothing new was written since the last cycle (no logs at all
    // is "no_data", see host.rs).
    good(&env, 3, ts("2026-01-05T01:00:00Z"), "a");
    env.cycle_json("2026-01-05T03:00:00Z");
    let r = env.cycle_json("2026-01-05T06:00:00Z");
    assert_eq!(r["outcome"], "no_signals");
    assert!(env
        .record("cycles/00/0/0/C-000002.json")
        .contains("no_signals"));
}

#[test]
fn dry_run_writes_nothing() {
    let env = Env::new();
    planted_divergence(&env, 12, "2026-01-05T01:00:00Z");
    let records = env.rev("improve/records");
    let out = env
        .improve("2026-01-05T06:00:00Z")
        .args(["cycle", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["dry_run"], true);
    assert_eq!(
        proposals(&r).len(),
        1,
        "a dry run shows what it would propose"
    );
    assert_eq!(env.rev("improve/records"), records);
    assert!(env.branches("improve/proposal/").is_empty());
}

#[test]
fn editing_or_deleting_an_audit_entry_fails_verification() {
    for tamper in ["edit", "delete", "reorder", "truncate"] {
        let env = Env::new();
        planted_divergence(&env, 6, "2026-01-05T01:00:00Z");
        env.cycle_json("2026-01-05T06:00:00Z");
        env.improve("2026-01-05T06:00:00Z")
            .args(["audit", "verify"])
            .assert()
            .success();
        let log = env.record("audit/2026-01/05.jsonl");
        let mut lines: Vec<String> = log.lines().map(str::to_string).collect();
        assert!(lines.len() >= 4);
        match tamper {
            "edit" => {
                let i = lines
                    .iter()
                    .position(|l| l.contains("\"phase\":\"observe\""))
                    .unwrap();
                lines[i] = lines[i].replace("\"phase\":\"observe\"", "\"phase\":\"observed\"");
            }
            "delete" => {
                lines.remove(1);
            }
            "reorder" => lines.swap(1, 2),
            _ => {
                lines.pop();
            }
        }
        let text = lines.join("\n") + "\n";
        rewrite_record(&env, "audit/2026-01/05.jsonl", &text);
        env.improve("2026-01-05T06:00:00Z")
            .args(["audit", "verify"])
            .assert()
            .code(1)
            .stdout(predicates::str::contains("FAILED"));
    }
}

/// Commits a changed file onto the records branch as a human with git would.
pub fn rewrite_record(env: &Env, path: &str, content: &str) {
    let wt = env
        .base
        .join(format!("records-wt-{}", path.replace('/', "_")));
    env.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().unwrap(),
        "improve/records",
    ]);
    std::fs::write(wt.join(path), content).unwrap();
    let mut c = std::process::Command::new("git");
    c.arg("-C").arg(&wt).args(["commit", "-qam", "tamper"]);
    pinned_env(&mut c, "2026-01-05T00:00:00Z");
    assert!(c.status().unwrap().success());
    env.git(&["worktree", "remove", "--force", wt.to_str().unwrap()]);
}

#[test]
fn bad_config_names_file_and_line() {
    let env = Env::new();
    let cfg = env.read("improvement-data/config.yaml").replace(
        "auto_tier_types: [constant_tune]",
        "auto_tier_types: [constant_tune, formula_change]",
    );
    env.write("improvement-data/config.yaml", &cfg);
    env.git(&["commit", "-qam", "widen auto"]);
    let line = cfg
        .lines()
        .position(|l| l.contains("auto_tier_types"))
        .unwrap()
        + 1;
    env.improve("2026-01-05T06:00:00Z")
        .args(["cycle"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "improvement-data/config.yaml (on main):{line}: approval.auto_tier_types"
        )));
}

#[test]
fn json_report_has_the_documented_shape() {
    let env = Env::new();
    planted_divergence(&env, 12, "2026-01-05T01:00:00Z");
    let r = env.cycle_json("2026-01-05T06:00:00Z");
    assert!(r["cycle"].as_str().unwrap().starts_with("C-"));
    assert!(
        !patterns(&r).is_empty() && !proposals(&r).is_empty(),
        "{r:#}"
    );
    for p in patterns(&r) {
        for k in ["kind", "subject", "occurrences", "layer", "confidence"] {
            assert!(p.get(k).is_some(), "{k} missing in {p}");
        }
    }
    for p in proposals(&r) {
        for k in ["id", "type", "branch", "risk", "target"] {
            assert!(p.get(k).is_some(), "{k} missing in {p}");
        }
        assert!(p["target"]["file"].is_string() && p["target"]["name"].is_string());
    }
}

#[test]
fn push_sends_records_and_proposal_branches_to_a_bare_remote() {
    let env = Env::new();
    let remote = env.base.join("remote.git");
    let mut c = std::process::Command::new("git");
    c.args(["init", "-q", "--bare", "-b", "main"]).arg(&remote);
    pinned_env(&mut c, "2026-01-05T00:00:00Z");
    assert!(c.status().unwrap().success());
    env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    planted_divergence(&env, 12, "2026-01-05T01:00:00Z");
    env.improve("2026-01-05T06:00:00Z")
        .args(["cycle", "--push", "origin"])
        .assert()
        .success();
    let mut c = std::process::Command::new("git");
    c.arg("-C")
        .arg(&remote)
        .args(["for-each-ref", "--format=%(refname)"]);
    pinned_env(&mut c, "2026-01-05T00:00:00Z");
    let refs = String::from_utf8(c.output().unwrap().stdout).unwrap();
    assert!(refs.contains("refs/heads/improve/records"), "{refs}");
    assert!(
        refs.contains("refs/heads/improve/proposal/P-0001"),
        "{refs}"
    );
}

#[test]
fn a_cycle_refuses_to_overlap_and_queues_its_trigger() {
    let env = Env::new();
    // Hold the lock the way a running cycle does.
    let dir = env.repo.join(".git/improve");
    std::fs::create_dir_all(&dir).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join("cycle.lock"))
        .unwrap();
    use std::os::unix::io::AsRawFd;
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    env.improve("2026-01-05T06:00:00Z")
        .args(["cycle"])
        .assert()
        .code(75);
    let spooled = std::fs::read_dir(dir.join("spool")).unwrap().count();
    assert_eq!(spooled, 1);
    // Unlock explicitly: a child forked by a parallel test may briefly share this
    // descriptor, and dropping ours alone would leave the lock held until it execs.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_UN) }, 0);
    drop(f);
    // The lock is free again: the next cycle runs and consumes the queued trigger.
    let r = env.cycle_json("2026-01-05T07:00:00Z");
    assert!(r["cycle"].is_string());
    assert_eq!(std::fs::read_dir(dir.join("spool")).unwrap().count(), 0);
    assert!(env
        .record("cycles/00/0/0/C-000001.json")
        .contains("cycle started while another ran"));
}

#[test]
fn status_and_show_explain_in_plain_words() {
    let env = Env::new();
    planted_divergence(&env, 12, "2026-01-05T01:00:00Z");
    env.cycle_json("2026-01-05T06:00:00Z");
    env.improve("2026-01-05T06:00:00Z")
        .args(["status"])
        .assert()
        .success()
        .stdout(predicates::str::contains("LOW_SIBLING_DIVERGENCE"))
        .stdout(predicates::str::contains("P-0001"));
    env.improve("2026-01-05T06:00:00Z")
        .args(["show", "P-1"])
        .assert()
        .success()
        .stdout(predicates::str::contains("physics layer"))
        .stdout(predicates::str::contains("SIBLING_DIVERGENCE_WEIGHT"))
        .stdout(predicates::str::contains("logs/traversal/traversal_"));
    env.improve("2026-01-05T06:00:00Z")
        .args(["proposals"])
        .assert()
        .success()
        .stdout(predicates::str::contains("P-0001"));
}

#[test]
fn an_enum_keyed_dict_entry_is_tuned_in_place() {
    let env = Env::new();
    write_explorations(&env, 12, |i| Expl {
        satisfaction: 0.1,
        anomalies: vec![("SATISFACTION_PLATEAU", "warn", 1)],
        ..Expl::healthy(
            &format!("p{i}"),
            ts("2026-01-05T01:00:00Z") + chrono::Duration::minutes(i as i64),
        )
    });
    let r = env.cycle_json("2026-01-05T06:00:00Z");
    let p = &proposals(&r)[0];
    assert_eq!(
        p["target"]["name"], "STATE_MULTIPLIER[SubEntityState.SEEKING]",
        "{r:#}"
    );
    let diff = env.git(&["diff", "--unified=0", "main", p["branch"].as_str().unwrap()]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            "-    SubEntityState.SEEKING: 0.5,",
            "+    SubEntityState.SEEKING: 0.6,"
        ],
        "{diff}"
    );
}

#[test]
fn without_a_tunable_that_explains_it_a_document_is_proposed_not_an_unrelated_tune() {
    let env = Env::new();
    // This system has neither SIBLING_DIVERGENCE_WEIGHT nor INTENTION_WEIGHT.
    env.write("runtime/physics/constants.py", "MAX_DEPTH = 10\n");
    env.write(
        "runtime/physics/subentity.py",
        "class SubEntity:\n    def score_link(self, q):\n        return q\n",
    );
    env.git(&["commit", "-qam", "no tunables"]);
    planted_divergence(&env, 12, "2026-01-05T01:00:00Z");
    let r = env.cycle_json("2026-01-05T06:00:00Z");
    let p = &proposals(&r)[0];
    assert_eq!(p["type"], "formula_change", "{r:#}");
    let branch = p["branch"].as_str().unwrap();
    let files = env.git(&["diff", "--name-only", "main", branch]);
    assert_eq!(files, "docs/improve/P-0001.md");
    let doc = env.git(&["show", &format!("{branch}:docs/improve/P-0001.md")]);
    assert!(
        doc.contains("LOW\\_SIBLING\\_DIVERGENCE") || doc.contains("LOW_SIBLING_DIVERGENCE"),
        "{doc}"
    );
    // The document names the function it is about, at its line, and what to change.
    assert!(doc.contains("runtime/physics/subentity.py:2"), "{doc}");
    assert!(doc.contains("def score_link(self, q)"), "{doc}");
    assert!(!doc.contains("Describe the change here"), "{doc}");
    assert!(r["not_proposed"].as_array().unwrap().is_empty());
    let yaml = env.record("proposals/P-0001/proposal.yaml");
    assert!(yaml.contains("document_only: true"));
}
