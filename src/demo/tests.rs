//! Tests of the demo against real temporary repositories: the target's shape and
//! commands, and the simulator's determinism, causal model, variants and log formats.

use super::constants::Constants;
use super::model;
use super::*;
use crate::clock::{parse_ts, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn t(s: &str) -> Timestamp {
    parse_ts(s).unwrap()
}

fn now() -> Timestamp {
    t("2026-01-05T00:00:00Z")
}

fn target() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mind");
    create_target(&dir, now()).unwrap();
    (tmp, dir)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Replaces one module-level constant's line, as a human editing the file would.
fn set_constant(dir: &Path, name: &str, value: &str) {
    let path = dir.join("runtime/physics/constants.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let prefix = format!("{name} = ");
    let mut hit = false;
    let new: String = text
        .split_inclusive('\n')
        .map(|l| {
            if l.starts_with(&prefix) {
                hit = true;
                format!("{prefix}{value}\n")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(hit, "{name} not found");
    std::fs::write(path, new).unwrap();
}

fn python(dir: &Path, script: &str, args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn sim(dir: &Path, hours: f64, seed: u64) -> SimStats {
    simulate(
        dir,
        &SimOptions::new(t("2026-01-05T10:00:00Z"), hours, seed),
    )
    .unwrap()
}

#[test]
fn target_is_one_clean_commit_with_a_valid_config() {
    let (_tmp, dir) = target();
    assert_eq!(git(&dir, &["rev-list", "--count", "HEAD"]).trim(), "1");
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    assert_eq!(
        git(&dir, &["symbolic-ref", "--short", "HEAD"]).trim(),
        "main"
    );
    assert_eq!(
        git(&dir, &["log", "-1", "--format=%an <%ae> %at %cn %ct"]).trim(),
        format!(
            "Demo Maintainer <demo@example.com> {0} Demo Maintainer {0}",
            now().timestamp()
        )
    );
    let text = std::fs::read_to_string(dir.join(crate::config::CONFIG_PATH)).unwrap();
    let cfg = crate::config::Config::parse(&text, Path::new("config.yaml")).unwrap();
    assert_eq!(
        cfg.validation.test_command,
        ["python3", "tests/check_constants.py"]
    );
    assert_eq!(
        cfg.validation.replay_command,
        ["python3", "tools/replay.py"]
    );
    // Only the command lines changed; every comment of the default is kept.
    let changed = super::target::CONFIG
        .lines()
        .zip(text.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(changed, 3);
    assert_eq!(text.lines().count(), super::target::CONFIG.lines().count());
    let c = Constants::read(&dir).unwrap();
    assert_eq!(c.get("SIBLING_DIVERGENCE_WEIGHT"), 0.10);
    assert_eq!(c.get("INTENTION_WEIGHT"), 0.25);
    assert_eq!(c.get("STATE_MULTIPLIER[SubEntityState.SEEKING]"), 0.5);
    assert_eq!(c.get("LINK_FACTORS['supports']"), 0.20);
    assert_eq!(c.get("timeout_s"), 30.0);
}

#[test]
fn target_refuses_a_non_empty_directory() {
    let (_tmp, dir) = target();
    assert!(create_target(&dir, now()).is_err());
}

#[test]
fn check_constants_passes_then_fails_out_of_range() {
    let (_tmp, dir) = target();
    let ok = python(&dir, "tests/check_constants.py", &[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    set_constant(&dir, "MAX_DEPTH", "50");
    let bad = python(&dir, "tests/check_constants.py", &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("MAX_DEPTH"));
    set_constant(&dir, "MAX_DEPTH", "10.5");
    assert!(!python(&dir, "tests/check_constants.py", &[])
        .status
        .success());
    set_constant(&dir, "MAX_DEPTH", "10");
    set_constant(&dir, "SIBLING_DIVERGENCE_WEIGHT", "1.2");
    assert!(!python(&dir, "tests/check_constants.py", &[])
        .status
        .success());
    // Running the checks leaves the tree clean (no bytecode caches).
    git(&dir, &["checkout", "--", "."]);
    assert_eq!(git(&dir, &["status", "--porcelain", "--ignored"]), "");
}

#[test]
fn replay_is_the_simulators_model() {
    let (_tmp, dir) = target();
    for w in ["0.10", "0.30"] {
        set_constant(&dir, "SIBLING_DIVERGENCE_WEIGHT", w);
        let out = python(&dir, "tools/replay.py", &["400"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: BTreeMap<String, f64> = serde_json::from_slice(&out.stdout).unwrap();
        let expected = model::replay_metrics(&Constants::read(&dir).unwrap().params(), 7, 400);
        for (k, v) in &expected {
            assert!(
                (printed[k] - v).abs() < 1e-6,
                "{k}: python {} rust {v}",
                printed[k]
            );
        }
    }
    assert_eq!(
        git(&dir, &["status", "--porcelain", "--ignored", "tools"]),
        ""
    );
}

/// Every file under `logs/`, relative path -> content.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.join("logs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn simulation_is_deterministic_for_a_seed() {
    let (_a, da) = target();
    let (_b, db) = target();
    let (_c, dc) = target();
    let sa = sim(&da, 2.0, 11);
    let sb = sim(&db, 2.0, 11);
    let sc = sim(&dc, 2.0, 12);
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
    assert_eq!(sa.explorations, 120);
    assert_eq!(snapshot(&da), snapshot(&db));
    assert_ne!(snapshot(&da), snapshot(&dc));
    assert_eq!(sa.files as usize, snapshot(&da).len());
    let lines: usize = snapshot(&da).values().map(|s| s.lines().count()).sum();
    assert_eq!(sa.lines as usize, lines);
}

/// Per-variant statistics recomputed from the traversal logs alone.
#[derive(Debug, Default)]
struct FromLogs {
    explorations: u64,
    steps: u64,
    efficiency: f64,
    selected_divergence: f64,
    low_divergence: u64,
    backtracks: u64,
    terminations: BTreeMap<String, u64>,
}

fn from_logs(dir: &Path) -> BTreeMap<String, FromLogs> {
    let mut by: BTreeMap<String, FromLogs> = BTreeMap::new();
    for (rel, text) in snapshot(dir) {
        if !rel.starts_with("logs/traversal/") {
            continue;
        }
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let variant = lines[0]["variant"]
            .as_str()
            .unwrap_or("control")
            .to_string();
        let f = by.entry(variant).or_default();
        let steps: Vec<&Value> = lines.iter().filter(|l| l.get("header").is_some()).collect();
        f.explorations += 1;
        f.steps += steps.len() as u64;
        let found = steps.last().unwrap()["findings"]["found_count"]
            .as_f64()
            .unwrap();
        f.efficiency += found / steps.len() as f64;
        for s in &steps {
            let sel = s["decision"]["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["verdict"] == "SELECTED")
                .unwrap();
            f.selected_divergence += sel["sibling_divergence"].as_f64().unwrap();
            for a in s["anomalies"].as_array().into_iter().flatten() {
                match a["type"].as_str().unwrap() {
                    "LOW_SIBLING_DIVERGENCE" => f.low_divergence += 1,
                    "BACKTRACK" => f.backtracks += 1,
                    other => panic!("unexpected anomaly {other}"),
                }
            }
        }
        let end = lines.last().unwrap();
        let reason = end["termination"]["reason"].as_str().unwrap().to_string();
        *f.terminations.entry(reason).or_default() += 1;
    }
    for f in by.values_mut() {
        f.efficiency /= f.explorations as f64;
        f.selected_divergence /= f.steps as f64;
    }
    by
}

#[test]
fn statistics_follow_the_constants() {
    let (_a, fault) = target();
    let (_b, fixed) = target();
    let (_c, shallow) = target();
    set_constant(&fixed, "SIBLING_DIVERGENCE_WEIGHT", "0.30");
    set_constant(&shallow, "MAX_DEPTH", "4");
    let (sf, sx, ss) = (
        sim(&fault, 12.0, 5),
        sim(&fixed, 12.0, 5),
        sim(&shallow, 12.0, 5),
    );
    let (lf, lx, ls) = (from_logs(&fault), from_logs(&fixed), from_logs(&shallow));
    let (lf, lx, ls) = (&lf["control"], &lx["control"], &ls["control"]);
    eprintln!("fault {sf:?}\nfixed {sx:?}\nshallow {ss:?}");

    assert!(sx.mean_sibling_divergence > sf.mean_sibling_divergence + 0.3);
    assert!(lx.selected_divergence > lf.selected_divergence + 0.3);
    assert!(
        sx.mean_efficiency > sf.mean_efficiency * 1.5,
        "{sf:?} {sx:?}"
    );
    assert!(lx.efficiency > lf.efficiency * 1.5);
    // LOW_SIBLING_DIVERGENCE recurs at the fault and all but disappears when fixed.
    let (low_f, low_x) = (lf.low_divergence as f64, lx.low_divergence.max(1) as f64);
    assert!(low_f / lf.steps as f64 > 0.5, "{lf:?}");
    assert!(low_f / low_x > 10.0, "{lf:?} {lx:?}");
    assert_eq!(sf.anomalies["LOW_SIBLING_DIVERGENCE"], lf.low_divergence);
    // BACKTRACK is noise: a few percent of steps whatever the constants.
    for l in [lf, lx, ls] {
        let rate = l.backtracks as f64 / l.steps as f64;
        assert!((0.01..0.06).contains(&rate), "{l:?}");
    }
    // A shallow MAX_DEPTH cuts explorations short and hurts efficiency.
    assert!(ss.mean_efficiency < sf.mean_efficiency * 0.8, "{ss:?}");
    assert!(ls.efficiency < lf.efficiency * 0.8);
    assert!(ls.terminations["max_depth"] as f64 > 0.8 * ls.explorations as f64);
    assert!(ls.steps <= 4 * ls.explorations);
}

fn write_experiment(dir: &Path, started: &str, percentage: u32) {
    let text = format!(
        "experiments:\n  - proposal: P-0003\n    mode: canary        # or ab_test\n    percentage: {percentage}\n    started: {started}\n    overrides:\n      - {{file: runtime/physics/constants.py, name: SIBLING_DIVERGENCE_WEIGHT, value: 0.3}}\n"
    );
    std::fs::write(dir.join(crate::config::EXPERIMENTS_PATH), text).unwrap();
}

/// Lines of a traversal file without their variant tag.
fn untagged(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("variant");
            v
        })
        .collect()
}

#[test]
fn a_variant_gets_its_overrides_and_control_is_unchanged() {
    let (_a, base) = target();
    let (_b, exp) = target();
    write_experiment(&exp, "2026-01-05T10:00:00Z", 20);
    let sb = sim(&base, 12.0, 9);
    let se = sim(&exp, 12.0, 9);
    let v = &se.per_variant["P-0003"];
    let c = &se.per_variant["control"];
    assert_eq!(se.by_variant["P-0003"] + se.by_variant["control"], 720);
    assert!((100..190).contains(&se.by_variant["P-0003"]), "{se:?}");
    assert!(v.mean_sibling_divergence > c.mean_sibling_divergence + 0.3);
    assert!(v.mean_efficiency > c.mean_efficiency * 1.5);
    assert!(
        (v.low_divergence_anomalies as f64 / v.steps as f64) * 10.0
            < c.low_divergence_anomalies as f64 / c.steps as f64
    );
    assert!((c.mean_efficiency - sb.mean_efficiency).abs() < 0.02);
    // Control explorations are exactly those of the run without the experiment.
    let (sbase, sexp) = (snapshot(&base), snapshot(&exp));
    let mut controls = 0;
    for (rel, text) in &sexp {
        if !rel.starts_with("logs/traversal/") {
            continue;
        }
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        if first["variant"] == "control" {
            controls += 1;
            assert_eq!(untagged(text), untagged(&sbase[rel]), "{rel}");
        }
    }
    assert_eq!(controls, se.by_variant["control"]);
    let from = from_logs(&exp);
    assert!(from["P-0003"].efficiency > from["control"].efficiency * 1.5);
}

#[test]
fn explorations_before_the_experiment_are_untagged() {
    let (_a, dir) = target();
    write_experiment(&dir, "2026-01-05T11:00:00Z", 50);
    sim(&dir, 2.0, 3);
    let mut seen = BTreeMap::<String, u64>::new();
    for (rel, text) in snapshot(&dir) {
        if !rel.starts_with("logs/traversal/") {
            continue;
        }
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let started = parse_ts(first["timestamp"].as_str().unwrap()).unwrap();
        let tag = first["variant"].as_str().unwrap_or("-").to_string();
        if started < t("2026-01-05T11:00:00Z") {
            assert_eq!(tag, "-", "{rel}");
        } else {
            assert_ne!(tag, "-", "{rel}");
        }
        *seen.entry(tag).or_default() += 1;
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[test]
fn runs_accumulate() {
    let (_a, dir) = target();
    let first = simulate(&dir, &SimOptions::new(t("2026-01-05T10:00:00Z"), 1.0, 1)).unwrap();
    let before = snapshot(&dir);
    let second = simulate(&dir, &SimOptions::new(t("2026-01-05T11:00:00Z"), 1.0, 1)).unwrap();
    let after = snapshot(&dir);
    for (rel, text) in &before {
        assert!(after[rel].starts_with(text.as_str()), "{rel} was rewritten");
    }
    let health = &after["logs/health/health.csv"];
    assert_eq!(health.matches("timestamp,metric,value").count(), 1);
    assert_eq!(health.lines().count(), 1 + 3 + 3);
    let total: usize = after.values().map(|s| s.lines().count()).sum();
    assert_eq!(total as u64, first.lines + second.lines);
    assert_eq!(
        git(&dir, &["status", "--porcelain"]),
        "",
        "logs/ is ignored"
    );
}

fn is_log_ts(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    s.len() == 24 && s.ends_with('Z') && &s[19..20] == "." && parse_ts(s).is_ok()
}

fn has(v: &Value, fields: &[&str]) {
    for f in fields {
        assert!(v.get(f).is_some(), "missing {f} in {v}");
    }
}

#[test]
fn every_line_has_the_documented_fields() {
    let (_a, dir) = target();
    write_experiment(&dir, "2026-01-05T10:30:00Z", 50);
    sim(&dir, 2.0, 4);
    let mut kinds = BTreeMap::<String, u64>::new();
    for (rel, text) in snapshot(&dir) {
        if rel.ends_with(".csv") {
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("timestamp,metric,value"));
            for l in lines {
                let cols: Vec<&str> = l.split(',').collect();
                assert_eq!(cols.len(), 3, "{l}");
                assert!(is_log_ts(&Value::from(cols[0])), "{l}");
                assert!(cols[2].parse::<f64>().is_ok(), "{l}");
            }
            continue;
        }
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let tagged = v.get("variant").is_some();
            let kind = check_line(&rel, &v);
            *kinds.entry(kind).or_default() += 1;
            let ts = v
                .get("ts")
                .or(v.get("timestamp"))
                .or(v.pointer("/header/timestamp"));
            assert!(is_log_ts(ts.unwrap()), "{line}");
            let late = parse_ts(ts.unwrap().as_str().unwrap()).unwrap() > t("2026-01-05T10:31:00Z");
            if late {
                assert!(tagged, "{rel}: {line}");
            }
        }
    }
    for k in [
        "EXPLORATION_START",
        "EXPLORATION_END",
        "STEP",
        "BRANCH",
        "MERGE",
        "ENERGY_INJECTION",
        "skill_loaded",
        "protocol_invoked",
        "tool_call",
        "outcome",
        "energy_changed",
    ] {
        assert!(kinds.contains_key(k), "no {k} line in {kinds:?}");
    }
}

/// Asserts one line's required fields; returns its kind.
fn check_line(rel: &str, v: &Value) -> String {
    if rel.starts_with("logs/traversal/traversal_") {
        let Some(event) = v.get("event").and_then(Value::as_str) else {
            has(v, &["header", "state", "decision", "movement", "findings"]);
            has(
                &v["header"],
                &[
                    "timestamp",
                    "exploration_id",
                    "subentity_id",
                    "actor_id",
                    "tick",
                    "step_number",
                ],
            );
            assert_eq!(v["header"]["level"], "STEP");
            has(
                &v["state"],
                &[
                    "before",
                    "after",
                    "transition_reason",
                    "position",
                    "depth",
                    "satisfaction",
                    "criticality",
                ],
            );
            has(
                &v["state"]["position"],
                &["node_id", "node_type", "node_name"],
            );
            has(&v["decision"], &["type", "candidates", "selected"]);
            let cands = v["decision"]["candidates"].as_array().unwrap();
            assert_eq!(
                cands.iter().filter(|c| c["verdict"] == "SELECTED").count(),
                1
            );
            for c in cands {
                has(
                    c,
                    &[
                        "link_id",
                        "target_id",
                        "target_type",
                        "score",
                        "semantic",
                        "polarity",
                        "permanence_factor",
                        "self_novelty",
                        "sibling_divergence",
                        "verdict",
                    ],
                );
            }
            has(&v["movement"], &["from", "to", "via"]);
            has(
                &v["movement"]["via"],
                &[
                    "link_id",
                    "polarity",
                    "permanence",
                    "energy_before",
                    "energy_after",
                ],
            );
            has(
                &v["findings"],
                &[
                    "found_narratives",
                    "found_count",
                    "new_this_step",
                    "alignment_this_step",
                ],
            );
            if let Some(a) = v.get("anomalies") {
                let a = a.as_array().unwrap();
                assert!(!a.is_empty());
                for x in a {
                    has(x, &["type", "severity", "detail", "suggested_action"]);
                }
            }
            return "STEP".into();
        };
        has(v, &["exploration_id", "timestamp"]);
        match event {
            "EXPLORATION_START" => {
                has(
                    v,
                    &[
                        "actor_id",
                        "root_subentity_id",
                        "intention_embedding_hash",
                        "exploration_context",
                    ],
                );
                has(
                    &v["exploration_context"],
                    &[
                        "query",
                        "intention",
                        "intention_type",
                        "origin_moment",
                        "actor_task",
                    ],
                );
                let id = v["exploration_id"].as_str().unwrap();
                assert!(rel.ends_with(&format!("traversal_{id}.jsonl")));
            }
            "BRANCH" => {
                has(v, &["parent_id", "position", "children"]);
                for c in v["children"].as_array().unwrap() {
                    has(c, &["id", "target_link", "target_node", "initial_score"]);
                }
            }
            "MERGE" => has(
                v,
                &[
                    "subentity_id",
                    "parent_id",
                    "contributed_narratives",
                    "satisfaction_contributed",
                    "crystallized",
                    "path_length",
                ],
            ),
            "CRYSTALLIZE" => has(v, &["subentity_id", "narrative_id"]),
            "ENERGY_INJECTION" => {
                has(v, &["subentity_id", "energy_injection"]);
                has(
                    &v["energy_injection"],
                    &[
                        "target_node",
                        "amount",
                        "reason",
                        "energy_before",
                        "energy_after",
                    ],
                );
            }
            "EXPLORATION_END" => {
                has(
                    v,
                    &[
                        "total_subentities",
                        "nodes_visited",
                        "found_narratives",
                        "crystallized",
                        "termination",
                    ],
                );
                has(
                    &v["termination"],
                    &[
                        "reason",
                        "final_satisfaction",
                        "final_criticality",
                        "steps_taken",
                        "duration_ms",
                    ],
                );
            }
            other => panic!("unknown event {other}"),
        }
        return event.into();
    }
    let event = v["event"].as_str().unwrap().to_string();
    if rel.starts_with("logs/agents/agents-") {
        has(v, &["ts", "session", "agent"]);
        match event.as_str() {
            "skill_loaded" => has(v, &["skill"]),
            "protocol_invoked" => has(v, &["protocol", "step"]),
            "tool_call" => {
                has(v, &["tool", "ok", "duration_ms"]);
                if v["ok"] == false {
                    has(v, &["error"]);
                }
            }
            "outcome" => {
                assert!(v["outcome"] == "success" || v["outcome"] == "failure");
                has(v, &["task"]);
            }
            other => panic!("unknown agent event {other}"),
        }
    } else if rel.starts_with("logs/graph/graph-") {
        has(
            v,
            &["ts", "node_id", "node_type", "amount", "before", "after"],
        );
        assert!(
            event == "node_created" || event == "energy_changed",
            "{event}"
        );
    } else {
        panic!("unexpected file {rel}");
    }
    event
}

/// Prints how long 24 hours at 60 explorations an hour take (run with --ignored,
/// ideally --release): the demo runs the simulator before every cycle.
#[test]
#[ignore]
fn timing_24h() {
    let (_a, dir) = target();
    let started = std::time::Instant::now();
    let s = sim(&dir, 24.0, 1);
    eprintln!(
        "24h: {} explorations, {} lines, {} files in {:?}",
        s.explorations,
        s.lines,
        s.files,
        started.elapsed()
    );
}
