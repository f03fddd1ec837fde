//! A small fluent harness: real temporary git repositories with pinned author, dates
//! and `GIT_CONFIG_GLOBAL=/dev/null`, the binary driven through assert_cmd with the
//! simulated clock, and a generator of mind-format logs with planted problems.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;

pub const T0: &str = "2026-01-05T00:00:00Z";

/// Environment every git and improve invocation gets: nothing from the machine.
pub fn pinned_env(cmd: &mut Proc, date: &str) {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Human")
        .env("GIT_AUTHOR_EMAIL", "human@example.com")
        .env("GIT_COMMITTER_NAME", "Test Human")
        .env("GIT_COMMITTER_EMAIL", "human@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env_remove("IMPROVE_NOW")
        .env_remove("IMPROVE_CRASH_AT")
        .env_remove("RUST_LOG");
}

/// The improve binary at `now` with a pinned environment (nothing from the machine).
pub fn improve_at(now: &str) -> Command {
    let mut c = Command::cargo_bin("improve").expect("binary built");
    c.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_COMMITTER_NAME", "improve-bot")
        .env("GIT_COMMITTER_EMAIL", "bot@example.com")
        .env_remove("IMPROVE_NOW")
        .env_remove("IMPROVE_CRASH_AT")
        .env_remove("RUST_LOG")
        .arg("--now")
        .arg(now);
    c
}

pub struct Env {
    _dir: tempfile::TempDir,
    pub repo: PathBuf,
    pub base: PathBuf,
}

pub const CONSTANTS_PY: &str = r#""""
Physics constants of the traversal engine.
SIBLING_DIVERGENCE_WEIGHT = 0.99 in this docstring is a decoy.
"""
from enum import Enum


class SubEntityState(Enum):
    SEEKING = "seeking"
    BRANCHING = "branching"


# How much divergence from siblings counts in link scoring.
SIBLING_DIVERGENCE_WEIGHT = 0.10  # planted fault: too low
BACKTRACK_PENALTY = 0.30
MAX_DEPTH = 10
SATISFACTION_THRESHOLD = 0.75

STATE_MULTIPLIER = {
    SubEntityState.SEEKING: 0.5,
    SubEntityState.BRANCHING: 0.8,
}

LINK_FACTORS = {
    'supports': 0.20,
    'contradicts': 0.15,
}
"#;

pub const SUBENTITY_PY: &str = "\"\"\"SubEntity traversal.\"\"\"\n\nINTENTION_WEIGHT = 0.25\n\n\ndef score(query, intention):\n    return (1 - INTENTION_WEIGHT) * query + INTENTION_WEIGHT * intention\n\n\nclass SubEntity:\n    def semantic(self, q, i):\n        return score(q, i)\n\n    def score_link(self, semantic, divergence):\n        return semantic * divergence\n\n    def move(self, target):\n        self.position = target\n";

/// The demo system's config, templates and rules: this target has the demo's tunables
/// (`SIBLING_DIVERGENCE_WEIGHT` ...), not mind's, which the default config is for.
pub const DEMO_CONFIG: &str = include_str!("../../src/demo/assets/improve_config.yaml");
pub const DEMO_TEMPLATES: &str = include_str!("../../src/demo/assets/proposals.yaml");
pub const DEMO_RULES: &str = include_str!("../../src/demo/assets/attribution.yaml");

impl Env {
    /// A mind-shaped repository with `improve init` done and the config committed:
    /// the demo system's config, proposal templates and attribution rules.
    pub fn new() -> Env {
        let env = Env::bare_target();
        env.improve(T0).args(["init"]).assert().success();
        env.write("improvement-data/config.yaml", DEMO_CONFIG);
        env.write("improvement-data/templates/proposals.yaml", DEMO_TEMPLATES);
        env.write("improvement-data/templates/attribution.yaml", DEMO_RULES);
        env.git(&["add", "improvement-data"]);
        env.git(&["commit", "-qm", "improve: config"]);
        env
    }

    /// An empty git repository on `main`, no commit yet.
    pub fn empty() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().to_path_buf();
        let repo = base.join("system");
        std::fs::create_dir_all(&repo).unwrap();
        let env = Env {
            _dir: dir,
            repo,
            base,
        };
        env.git(&["init", "-q", "-b", "main"]);
        env
    }

    /// The target repository without improve's config.
    pub fn bare_target() -> Env {
        let env = Env::empty();
        env.write("runtime/physics/constants.py", CONSTANTS_PY);
        env.write("runtime/physics/subentity.py", SUBENTITY_PY);
        env.write(
            "protocols/explore.yaml",
            "name: explore\nsteps:\n  - name: explore\n    timeout_s: 30\n    max_retries: 2\n",
        );
        env.write(
            "skills/SKILL_explore.md",
            "# Skill: explore\n\n## When to use\nWhen a question needs the graph.\n",
        );
        env.write(".gitignore", "logs/\n");
        env.git(&["add", "-A"]);
        env.git(&["commit", "-qm", "initial system"]);
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.repo.join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn append(&self, rel: &str, content: &str) {
        use std::io::Write;
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(content.as_bytes()).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Runs git in the repository with pinned identity and dates; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.git_status(args);
        assert!(ok, "git {args:?} failed: {err}");
        out
    }

    pub fn git_status(&self, args: &[&str]) -> (bool, String, String) {
        let mut c = Proc::new("git");
        c.arg("-C").arg(&self.repo).args(args);
        pinned_env(&mut c, "2026-01-05T00:00:00Z");
        let o = c.output().expect("git runs");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    }

    pub fn rev(&self, name: &str) -> String {
        self.git(&["rev-parse", name])
    }

    pub fn rev_opt(&self, name: &str) -> Option<String> {
        let (ok, out, _) = self.git_status(&["rev-parse", "--verify", "-q", name]);
        ok.then_some(out)
    }

    /// A file on the records branch.
    pub fn record(&self, path: &str) -> String {
        self.git(&["show", &format!("improve/records:{path}")])
    }

    /// A cycle's record (`C-000003`), wherever its shard is.
    pub fn cycle_record(&self, id: &str) -> Option<String> {
        let files = self.git(&["ls-tree", "-r", "--name-only", "improve/records", "cycles/"]);
        let path = files
            .lines()
            .find(|p| p.ends_with(&format!("/{id}.json")))?
            .to_string();
        self.record_opt(&path)
    }

    /// The whole audit log, its daily files in order.
    pub fn audit_log(&self) -> String {
        let files = self.git(&["ls-tree", "-r", "--name-only", "improve/records", "audit/"]);
        files
            .lines()
            .filter(|p| p.ends_with(".jsonl"))
            .map(|p| self.record(p))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn record_opt(&self, path: &str) -> Option<String> {
        let (ok, out, _) = self.git_status(&["show", &format!("improve/records:{path}")]);
        ok.then_some(out)
    }

    pub fn branches(&self, prefix: &str) -> Vec<String> {
        self.git(&[
            "for-each-ref",
            "--format=%(refname:short)",
            &format!("refs/heads/{prefix}"),
        ])
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// The improve binary at `now`, in this repository, with a pinned environment.
    pub fn improve(&self, now: &str) -> Command {
        let mut c = improve_at(now);
        c.current_dir(&self.repo);
        c
    }

    /// Runs `improve cycle --json` at `now` and returns the parsed report.
    pub fn cycle_json(&self, now: &str) -> serde_json::Value {
        let out = self
            .improve(now)
            .args(["cycle", "--json"])
            .output()
            .unwrap();
        report_of(&out)
    }

    /// A proposal's status on record.
    pub fn status_of(&self, id: &str) -> String {
        self.record_yaml(&format!("proposals/{id}/proposal.yaml"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A deployment's record.
    pub fn deployment(&self, id: &str) -> serde_yaml::Value {
        self.record_yaml(&format!("deployments/{id}.yaml"))
    }
}

/// The report of a `cycle --json` that must have succeeded.
pub fn report_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "cycle failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("cycle --json prints JSON")
}

/// Parameters of one simulated exploration.
#[derive(Clone)]
pub struct Expl {
    pub id: String,
    pub start: chrono::DateTime<chrono::Utc>,
    pub steps: usize,
    /// sibling_divergence of the selected candidate per step.
    pub divergence: f64,
    /// anomalies planted on every n-th step: (type, severity, every).
    pub anomalies: Vec<(&'static str, &'static str, usize)>,
    pub found: usize,
    pub satisfaction: f64,
    pub reason: &'static str,
    pub variant: Option<String>,
}

impl Expl {
    pub fn healthy(id: &str, start: chrono::DateTime<chrono::Utc>) -> Expl {
        Expl {
            id: id.to_string(),
            start,
            steps: 10,
            divergence: 0.8,
            anomalies: vec![],
            found: 3,
            satisfaction: 0.8,
            reason: "satisfaction_reached",
            variant: None,
        }
    }

    /// The exploration as mind traversal JSONL.
    pub fn jsonl(&self) -> String {
        use serde_json::json;
        let ts = |ms: i64| {
            (self.start + chrono::Duration::milliseconds(ms))
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        };
        let mut out = String::new();
        let mut push = |mut v: serde_json::Value| {
            if let Some(var) = &self.variant {
                v["variant"] = json!(var);
            }
            out.push_str(&serde_json::to_string(&v).unwrap());
            out.push('\n');
        };
        push(
            json!({"event": "EXPLORATION_START", "exploration_id": self.id, "actor_id": "actor_1", "timestamp": ts(0),
            "root_subentity_id": "se_root", "intention_embedding_hash": null,
            "exploration_context": {"query": "q", "intention": "i", "intention_type": "EXPLORE", "origin_moment": "m1", "actor_task": "t"}}),
        );
        let mut found = 0usize;
        for s in 1..=self.steps {
            let sat = self.satisfaction * s as f64 / self.steps as f64;
            let new_found =
                if found < self.found && s % (self.steps / self.found.max(1)).max(1) == 0 {
                    1
                } else {
                    0
                };
            found += new_found;
            let mut line = json!({
                "header": {"timestamp": ts(s as i64 * 100), "exploration_id": self.id, "subentity_id": "se_1", "actor_id": "actor_1", "tick": s, "step_number": s, "level": "STEP"},
                "state": {"before": "SEEKING", "after": "SEEKING", "transition_reason": "continue", "position": {"node_id": format!("n{s}"), "node_type": "moment", "node_name": "x"}, "depth": s, "satisfaction": sat, "criticality": 0.3},
                "decision": {"type": "traverse", "candidates": [
                    {"link_id": "l1", "target_id": format!("n{}", s + 1), "target_type": "moment", "score": 0.8, "semantic": 0.7, "polarity": 0.5, "permanence_factor": 0.5, "self_novelty": 0.5, "sibling_divergence": self.divergence, "verdict": "SELECTED"},
                    {"link_id": "l2", "target_id": "nx", "target_type": "moment", "score": 0.4, "semantic": 0.3, "polarity": 0.5, "permanence_factor": 0.5, "self_novelty": 0.5, "sibling_divergence": self.divergence, "verdict": "REJECTED", "why_not": "lower score"}],
                    "selected": {"link_id": "l1", "reason": "best"}, "explanation": "e", "confidence": 0.8},
                "movement": {"from": {"node_id": format!("n{s}"), "node_type": "moment"}, "to": {"node_id": format!("n{}", s + 1), "node_type": "moment"}, "via": {"link_id": "l1", "polarity": 0.5, "permanence": 0.5, "energy_before": 1.0, "energy_after": 0.9}},
                "findings": {"found_narratives": (0..found).map(|k| format!("nar{k}")).collect::<Vec<_>>(), "found_count": found, "new_this_step": new_found, "alignment_this_step": 0.5},
            });
            let planted: Vec<serde_json::Value> = self
                .anomalies
                .iter()
                .filter(|(_, _, every)| s % every == 0)
                .map(|(t, sev, _)| json!({"type": t, "severity": sev, "detail": format!("{t} at step {s}"), "suggested_action": "look"}))
                .collect();
            if !planted.is_empty() {
                line["anomalies"] = json!(planted);
            }
            push(line);
        }
        push(
            json!({"event": "EXPLORATION_END", "exploration_id": self.id, "timestamp": ts(self.steps as i64 * 100 + 50),
            "total_subentities": 1, "nodes_visited": ["n1"], "found_narratives": {}, "crystallized": null,
            "termination": {"reason": self.reason, "final_satisfaction": self.satisfaction, "final_criticality": 0.3, "steps_taken": self.steps, "duration_ms": self.steps * 100 + 50}}),
        );
        out
    }
}

pub fn ts(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// Writes `n` explorations built by `f(i)` as traversal files under logs/traversal/.
pub fn write_explorations(env: &Env, n: usize, f: impl Fn(usize) -> Expl) {
    for i in 0..n {
        let e = f(i);
        env.write(
            &format!("logs/traversal/traversal_{}.jsonl", e.id),
            &e.jsonl(),
        );
    }
}

pub fn base_path(p: &Path) -> String {
    p.display().to_string()
}

/// The system's own test: constants within their valid ranges (plain python3).
pub const CHECK_PY: &str = r#"import re, sys
src = open("runtime/physics/constants.py").read()
w = float(re.search(r"^SIBLING_DIVERGENCE_WEIGHT = ([0-9.]+) *(#.*)?$", src, re.M).group(1))
sys.exit(0 if 0.0 <= w <= 1.0 else 1)
"#;

/// A replay that prints metrics computed from the constants: a higher sibling
/// divergence weight means more divergence and more efficiency.
pub const REPLAY_PY: &str = r#"import json, re
src = open("runtime/physics/constants.py").read()
w = float(re.search(r"^SIBLING_DIVERGENCE_WEIGHT = ([0-9.]+) *(#.*)?$", src, re.M).group(1))
proto = open("protocols/explore.yaml").read()
r = int(re.search(r"max_retries: (\d+)", proto).group(1))
print(json.dumps({"sibling_divergence": 0.3 + w, "efficiency": 0.1 + w / 2 + r / 100.0}))
"#;

impl Env {
    /// Edits the committed config (text replacements) and commits it as a human.
    pub fn configure(&self, edits: &[(&str, &str)]) {
        let mut cfg = self.read("improvement-data/config.yaml");
        for (from, to) in edits {
            assert!(cfg.contains(from), "config has no {from:?}");
            cfg = cfg.replace(from, to);
        }
        self.write("improvement-data/config.yaml", &cfg);
        self.git(&["commit", "-qam", "configure improve"]);
    }

    /// A repository whose config runs the system's test and replay commands.
    pub fn with_validation() -> Env {
        let env = Env::new();
        env.write("tests/check.py", CHECK_PY);
        env.write("tools/replay.py", REPLAY_PY);
        env.git(&["add", "-A"]);
        env.git(&["commit", "-qm", "test and replay commands"]);
        env.configure(&[
            (
                "test_command: []",
                "test_command: [python3, tests/check.py]",
            ),
            (
                "replay_command: []",
                "replay_command: [python3, tools/replay.py]",
            ),
        ]);
        env
    }

    /// Overrides the proposal templates of the target repository.
    pub fn templates(&self, yaml: &str) {
        self.write("improvement-data/templates/proposals.yaml", yaml);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", "proposal templates"]);
    }

    pub fn record_yaml(&self, path: &str) -> serde_yaml::Value {
        serde_yaml::from_str(&self.record(path)).unwrap()
    }
}

/// Logs with the divergence fault: low sibling divergence and LOW_SIBLING_DIVERGENCE
/// warnings on every step.
pub fn faulty(env: &Env, n: usize, start: chrono::DateTime<chrono::Utc>, tag: &str) {
    write_explorations(env, n, |i| Expl {
        divergence: 0.3,
        found: 1,
        satisfaction: 0.4,
        anomalies: vec![("LOW_SIBLING_DIVERGENCE", "warn", 1)],
        ..Expl::healthy(
            &format!("f{tag}x{i}"),
            start + chrono::Duration::minutes(2 * i as i64),
        )
    });
}

/// Healthy logs: what the system looks like once the fault is fixed.
pub fn good(env: &Env, n: usize, start: chrono::DateTime<chrono::Utc>, tag: &str) {
    write_explorations(env, n, |i| {
        Expl::healthy(
            &format!("g{tag}x{i}"),
            start + chrono::Duration::minutes(2 * i as i64),
        )
    });
}

/// Logs that are clearly worse than healthy (a harmful change).
pub fn degraded(env: &Env, n: usize, start: chrono::DateTime<chrono::Utc>, tag: &str) {
    write_explorations(env, n, |i| Expl {
        found: 0,
        satisfaction: 0.2,
        divergence: 0.75,
        reason: "max_depth",
        ..Expl::healthy(
            &format!("b{tag}x{i}"),
            start + chrono::Duration::minutes(2 * i as i64),
        )
    });
}

pub fn h(hours: i64) -> chrono::DateTime<chrono::Utc> {
    ts(T0) + chrono::Duration::hours(hours)
}

pub fn at(hours: i64) -> String {
    h(hours).to_rfc3339()
}

pub fn lifecycle_lines(report: &serde_json::Value) -> String {
    report["lifecycle"].to_string()
}
