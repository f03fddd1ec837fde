//! A repository in the mind system's layout and shapes, written for these tests (never
//! copied from mind): a `@dataclass` with field defaults, keyword defaults of a method
//! and of a function, a dict keyed by an enum, the link score as a plain product,
//! archived code, procedures whose `steps` is a mapping, skills under `.mind/` and
//! `.claude/`; and traversal logs in the shape mind's logger writes, with one fault
//! planted at a time.

#![allow(dead_code)]

use crate::support::Env;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

pub const SUBENTITY_PY: &str = r#""""
Walkers of an exploration: each scores the links around it, moves, and stops when
satisfied or worn out.
"""

from __future__ import annotations
from dataclasses import dataclass, field
from enum import Enum
from typing import List

# Alignment of a link = (1 - INTENTION_WEIGHT) x query + INTENTION_WEIGHT x intention.
INTENTION_WEIGHT = 0.25


class SubEntityState(str, Enum):
    SEEKING = "seeking"
    BRANCHING = "branching"
    ABSORBING = "absorbing"
    RESONATING = "resonating"
    MERGING = "merging"


# Energy injected per step: criticality x STATE_MULTIPLIER[state].
STATE_MULTIPLIER = {
    SubEntityState.SEEKING: 0.5,
    SubEntityState.BRANCHING: 0.5,
    SubEntityState.ABSORBING: 1.0,
    SubEntityState.RESONATING: 2.0,
    SubEntityState.MERGING: 0.0,
}


@dataclass
class SubEntity:
    id: str
    depth: int = 0
    satisfaction: float = 0.0
    progress_history: List[float] = field(default_factory=list)

    def alignment(self, query: float, intention: float) -> float:
        return (1 - INTENTION_WEIGHT) * query + INTENTION_WEIGHT * intention

    def is_fatigued(self, window: int = 5, threshold: float = 0.05) -> bool:
        """No progress above `threshold` over the last `window` steps."""
        if len(self.progress_history) < window:
            return False
        return all(abs(d) < threshold for d in self.progress_history[-window:])

    def to_dict(self) -> dict:
        return {"id": self.id, "is_fatigued": self.is_fatigued()}
"#;

pub const EXPLORATION_PY: &str = r#""""Runs an exploration: a tree of walkers under one time limit."""

import asyncio
from dataclasses import dataclass

from .subentity import SubEntity


@dataclass
class ExplorationConfig:
    """Limits of one exploration."""
    max_depth: int = 10
    max_children: int = 3
    timeout_s: float = 30.0
    satisfaction_threshold: float = 0.8
    min_link_score: float = 0.1


class ExplorationRunner:
    def __init__(self, config=None):
        self.config = config or ExplorationConfig()

    async def explore(self, root: SubEntity):
        await asyncio.wait_for(self._run_subentity(root), timeout=self.config.timeout_s)

    async def _run_subentity(self, se: SubEntity):
        while se.depth < self.config.max_depth:
            await self._step_seeking(se)
            if se.satisfaction >= self.config.satisfaction_threshold:
                return

    async def _step_seeking(self, se: SubEntity):
        se.depth += 1

    async def _step_crystallizing(self, se: SubEntity):
        return None
"#;

pub const LINK_SCORING_PY: &str = r#""""
Link score of a candidate link:
    score = semantic x polarity x permanence_factor x self_novelty x sibling_divergence
"""

from typing import Dict, Tuple


def calculate_link_score(link: Dict, siblings) -> Tuple[float, Dict[str, float]]:
    semantic = link.get("semantic", 0.5)
    polarity = link.get("polarity", 1.0)
    permanence_factor = 1.0 - link.get("permanence", 0.0)
    self_novelty = link.get("novelty", 1.0)
    sibling_divergence = 1.0 if not siblings else link.get("divergence", 1.0)
    score = semantic * polarity * permanence_factor * self_novelty * sibling_divergence
    return score, {"semantic": semantic, "sibling_divergence": sibling_divergence}
"#;

pub const EXPLORE_CMD_PY: &str = r#""""The explore command."""

from .physics.exploration import ExplorationConfig, ExplorationRunner


async def run_exploration(query: str, timeout: float = 30.0, max_depth: int = 10):
    config = ExplorationConfig(max_depth=max_depth, timeout_s=timeout)
    return ExplorationRunner(config)
"#;

pub const CONSTANTS_PY: &str = r#""""Graph physics constants."""

DECAY_RATE = 0.02
BELIEF_FLOW_RATE = 0.1
LINK_FACTORS = {
    'supports': 0.20,
    'contradicts': 0.15,
}
"#;

pub const ARCHIVED_TICK_PY: &str = "\"\"\"An old tick, kept for reference.\"\"\"\n\nfrom ..constants import LINK_FACTORS\n\nWEIGHT = LINK_FACTORS['supports']\n";

pub const PROCEDURE_YAML: &str = r#"procedure: explore_space
version: "2.0"
description: Understand what exists in a space before acting.
steps:
  identify_space:
    type: ask
    questions:
      - name: space_id
        ask: "Which space?"
    next: load_space_contents
  load_space_contents:
    type: query
    auto_fetch:
      - query:
          find: narrative
        store_as: narratives
"#;

pub const CAPABILITY_PROCEDURE_YAML: &str = r#"procedure: investigate
steps:
  gather:
    type: query
    context_lines: 20
  report:
    type: ask
"#;

pub const SKILL_ASSESS_MD: &str = "# Skill: assess exploration quality\n\n## Purpose\nTrace a poor exploration to the layer that caused it.\n\n## Process\nRead the traversal log, then the doctor's report.\n";

pub const SKILL_DEBUG_MD: &str = "# Skill: investigate and fix with evidence first\n\n## Purpose\nFind the cause before changing anything.\n";

/// A test that needs a graph server at 127.0.0.1:1 (nothing listens there), unless
/// `FAKE_GRAPH=up`: how mind's suite behaves without its FalkorDB server.
pub const RUN_TESTS_PY: &str = r#"import os, socket, sys

if os.environ.get("FAKE_GRAPH") != "up":
    socket.create_connection(("127.0.0.1", 1), timeout=2)
src = open("runtime/physics/subentity.py").read()
sys.exit(0 if "INTENTION_WEIGHT" in src else 1)
"#;

/// Where mind's logger writes.
pub const LOG_DIR: &str = "engine/data/logs/traversal";

/// A mind-shaped repository with `improve init` done and the default config committed.
pub fn mind() -> Env {
    let env = mind_without_improve();
    env.improve(crate::support::T0)
        .args(["init", "--commit"])
        .assert()
        .success();
    env
}

/// The mind-shaped system alone, committed on `main`.
pub fn mind_without_improve() -> Env {
    let env = Env::empty();
    for (path, text) in [
        ("runtime/physics/subentity.py", SUBENTITY_PY),
        ("runtime/physics/exploration.py", EXPLORATION_PY),
        ("runtime/physics/link_scoring.py", LINK_SCORING_PY),
        ("runtime/physics/constants.py", CONSTANTS_PY),
        ("runtime/physics/archive/tick_v1_0.py", ARCHIVED_TICK_PY),
        ("runtime/explore_cmd.py", EXPLORE_CMD_PY),
        (".mind/procedures/explore_space.yaml", PROCEDURE_YAML),
        (
            ".mind/capabilities/investigate-runtime/procedures/PROCEDURE_investigate.yaml",
            CAPABILITY_PROCEDURE_YAML,
        ),
        (
            ".mind/skills/SKILL_Assess_SubEntity_Exploration_Quality_From_Logs.md",
            SKILL_ASSESS_MD,
        ),
        (
            ".mind/skills/SKILL_Debug_Investigate_And_Fix_Issues_With_Evidence_First.md",
            SKILL_DEBUG_MD,
        ),
        (
            ".claude/skills/SKILL_Debug_Investigate_And_Fix_Issues_With_Evidence_First.md",
            SKILL_DEBUG_MD,
        ),
        (
            ".mind/capabilities/investigate-runtime/skills/SKILL_investigate.md",
            SKILL_DEBUG_MD,
        ),
        ("tests/run_tests.py", RUN_TESTS_PY),
        (".gitignore", "engine/data/logs/\n"),
    ] {
        env.write(path, text);
    }
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "a system in mind's layout"]);
    env
}

/// One logged candidate: (semantic, sibling_divergence); the other factors are 1.0.
pub type Cand = (f64, f64);

/// One exploration as mind's logger writes it.
#[derive(Clone)]
pub struct Exploration {
    pub id: String,
    pub start: DateTime<Utc>,
    /// Candidates of each step's decision, best (by the plain product) first.
    pub decisions: Vec<Vec<Cand>>,
    /// Satisfaction after each step.
    pub satisfaction: Vec<f64>,
    /// Narratives found by the end.
    pub found: usize,
    /// Depth reached per step (the step number by default).
    pub depth_offset: usize,
    pub reason: &'static str,
}

impl Exploration {
    /// A healthy exploration: 8 steps, links that match and diverge, satisfaction
    /// rising from 0.1 to 0.95 (velocity 0.85 / 8), 3 narratives found, finished by satisfaction.
    pub fn healthy(id: &str, start: DateTime<Utc>) -> Exploration {
        Exploration {
            id: id.into(),
            start,
            decisions: vec![vec![(0.75, 0.8), (0.5, 0.7)]; 8],
            satisfaction: (0..8).map(|s| 0.1 + 0.85 * s as f64 / 7.0).collect(),
            found: 3,
            depth_offset: 0,
            reason: "satisfaction_reached",
        }
    }

    /// The exploration's lines, with the anomalies mind's logger would detect.
    pub fn jsonl(&self) -> String {
        let ts = |ms: i64| {
            (self.start + Duration::milliseconds(ms))
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        };
        let mut lines: Vec<Value> = vec![json!({
            "event": "EXPLORATION_START", "exploration_id": self.id, "actor_id": "actor_a",
            "timestamp": ts(0), "root_subentity_id": "se_root", "intention_embedding_hash": null,
            "exploration_context": {"query": "what happened", "intention": "explain", "intention_type": "EXPLORE",
                                    "origin_moment": "moment_1", "actor_task": "answer"}
        })];
        let steps = self.decisions.len();
        let mut found = serde_json::Map::new();
        for s in 0..steps {
            let n = s + 1;
            let depth = n + self.depth_offset;
            let sat = self.satisfaction[s];
            if found.len() < self.found && n * self.found.max(1) >= (found.len() + 1) * steps {
                found.insert(format!("narr_{}", found.len()), json!(0.8));
            }
            let cands: Vec<Value> = self.decisions[s]
                .iter()
                .enumerate()
                .map(|(i, (sem, div))| {
                    json!({"link_id": format!("l{n}_{i}"), "target_id": format!("n{n}_{i}"), "target_type": "narrative",
                           "score": sem * div, "semantic": sem, "polarity": 1.0, "permanence_factor": 1.0,
                           "self_novelty": 1.0, "sibling_divergence": div,
                           "verdict": if i == 0 { "SELECTED" } else { "REJECTED" }})
                })
                .collect();
            let mut anomalies = vec![];
            if self.decisions[s].first().is_some_and(|c| c.1 < 0.5) {
                anomalies.push(json!({"type": "LOW_SIBLING_DIVERGENCE", "severity": "warn",
                    "detail": format!("Selected link has low sibling divergence ({:.2}). May explore redundant paths.", self.decisions[s][0].1),
                    "suggested_action": "Consider increasing divergence weight in link scoring"}));
            }
            if s >= 5 {
                let recent = &self.satisfaction[s - 5..s];
                let (lo, hi) = recent
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
                if hi - lo < 0.05 {
                    anomalies.push(json!({"type": "SATISFACTION_PLATEAU", "severity": "warn",
                        "detail": "Satisfaction unchanged for 5 steps. May be stuck.",
                        "suggested_action": "Consider crystallizing or backtracking"}));
                }
            }
            if depth > 8 {
                anomalies.push(json!({"type": "DEEP_EXPLORATION", "severity": "info",
                    "detail": format!("Exploration at depth {depth}. May be inefficient."),
                    "suggested_action": "Consider higher branching earlier"}));
            }
            let mut line = json!({
                "header": {"timestamp": ts(100 * n as i64), "exploration_id": self.id, "subentity_id": "se_root",
                           "actor_id": "actor_a", "tick": n, "step_number": n, "level": "STEP"},
                "state": {"before": "SEEKING", "after": "SEEKING", "transition_reason": "traversed",
                          "position": {"node_id": format!("n{n}_0"), "node_type": "narrative", "node_name": "x"},
                          "depth": depth, "satisfaction": sat, "criticality": 0.3},
                "progress_narrative": "moving on",
                "decision": {"type": "traverse", "selected": {"link_id": format!("l{n}_0"), "reason": "highest score"},
                             "explanation": "best link", "confidence": 0.7, "candidates": cands},
                "movement": {"from": {"node_id": format!("n{s}_0"), "node_type": "narrative"},
                             "to": {"node_id": format!("n{n}_0"), "node_type": "narrative"},
                             "via": {"link_id": format!("l{n}_0"), "polarity": 1.0, "permanence": 0.0,
                                     "energy_before": 1.0, "energy_after": 0.9}},
                "tree": {"parent_id": null, "sibling_ids": [], "children_ids": [], "active_siblings": 0},
                "emotions": {"joy_sadness": 0.0, "trust_disgust": 0.0, "fear_anger": 0.0, "surprise_anticipation": 0.0},
            });
            if !found.is_empty() {
                line["findings"] = json!({"found_narratives": found.clone(), "found_count": found.len(),
                                          "new_this_step": null, "alignment_this_step": null});
            }
            if !anomalies.is_empty() {
                line["anomalies"] = json!(anomalies);
            }
            lines.push(line);
        }
        let end = 100 * steps as i64 + 50;
        lines.push(json!({
            "event": "EXPLORATION_END", "exploration_id": self.id, "timestamp": ts(end),
            "total_subentities": 1, "nodes_visited": ["n1_0"], "found_narratives": found, "crystallized": null,
            "termination": {"reason": self.reason, "final_satisfaction": self.satisfaction.last().copied().unwrap_or(0.0),
                            "final_criticality": 0.3, "steps_taken": steps, "duration_ms": end}
        }));
        lines
            .iter()
            .map(|l| format!("{}\n", serde_json::to_string(l).unwrap()))
            .collect()
    }
}

/// Writes `n` explorations made by `f(i)`, two minutes apart from `start`.
pub fn explorations(
    env: &Env,
    n: usize,
    start: DateTime<Utc>,
    f: impl Fn(Exploration, usize) -> Exploration,
) {
    for i in 0..n {
        let base = Exploration::healthy(
            &format!("exp_{}_{i}", start.format("%H%M")),
            start + Duration::minutes(2 * i as i64),
        );
        let e = f(base, i);
        env.write(&format!("{LOG_DIR}/traversal_{}.jsonl", e.id), &e.jsonl());
    }
}

/// The planted faults, each alone.
pub fn low_semantic(e: Exploration, _: usize) -> Exploration {
    Exploration {
        decisions: vec![vec![(0.38, 0.8), (0.3, 0.7)]; 8],
        ..e
    }
}

pub fn timeouts(e: Exploration, i: usize) -> Exploration {
    if i % 5 < 2 {
        Exploration {
            reason: "timeout",
            ..e
        }
    } else {
        e
    }
}

pub fn deep_timeouts(e: Exploration, i: usize) -> Exploration {
    Exploration {
        depth_offset: 3,
        ..timeouts(e, i)
    }
}

/// Satisfaction rises, then sits at `level` for the second half.
pub fn plateau(level: f64) -> impl Fn(Exploration, usize) -> Exploration {
    move |e, _| Exploration {
        decisions: vec![vec![(0.75, 0.8), (0.5, 0.7)]; 12],
        satisfaction: (0..12)
            .map(|s| {
                if s < 4 {
                    level * (s + 1) as f64 / 4.0
                } else {
                    level
                }
            })
            .collect(),
        ..e
    }
}
