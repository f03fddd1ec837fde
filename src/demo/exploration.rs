//! Dresses one exploration of the model up as the lines the mind system writes: the
//! traversal file (start, steps, branch/merge, energy, end), the agent session around
//! it and its graph events. Step lines, the bulk of the output, are serialized from
//! typed structs (see `steplog.rs`) because building JSON maps dominated the run time.

use super::constants::Constants;
use super::model::{Outcome, SplitMix64, Termination};
use super::output::Output;
use super::steplog::*;
use crate::clock::Timestamp;
use anyhow::Result;
use chrono::{Duration, SecondsFormat};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const LOW_DIVERGENCE: f64 = 0.5;
const KINDS: [&str; 3] = ["moment", "space", "thing"];

/// What the log writer counted in one exploration.
#[derive(Debug, Default)]
pub(super) struct Summary {
    pub low_divergence: u64,
    pub backtracks: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
}

/// Dresses one model outcome up as the lines the mind system would write.
pub(super) struct Exploration<'a> {
    t0: Timestamp,
    id: String,
    consts: &'a Constants,
    tag: Option<&'a str>,
    rng: SplitMix64,
}

const ACTOR: &str = "actor_explorer";

/// ISO 8601 UTC with milliseconds and `Z`, as the mind logger writes.
pub(super) fn ts(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

impl<'a> Exploration<'a> {
    pub(super) fn new(
        t0: Timestamp,
        consts: &'a Constants,
        tag: Option<&'a str>,
        mut rng: SplitMix64,
    ) -> Self {
        let id = format!(
            "exp_{}_{:08x}",
            t0.format("%Y%m%dT%H%M%S%3f"),
            rng.next_u64() as u32
        );
        Exploration {
            t0,
            id,
            consts,
            tag,
            rng,
        }
    }

    /// Appends one event line (tagged with the variant) to a traversal file's text.
    fn emit(&self, text: &mut String, v: Value) {
        text.push_str(&self.tagged(v).to_string());
        text.push('\n');
    }

    fn tagged(&self, mut v: Value) -> Value {
        if let (Some(tag), Value::Object(m)) = (self.tag, &mut v) {
            m.insert("variant".into(), Value::from(tag));
        }
        v
    }

    fn node(&mut self, kind: &str) -> String {
        format!("{kind}_{}", self.rng.below(400))
    }

    pub(super) fn write(&mut self, o: &Outcome, out: &mut Output) -> Result<Summary> {
        let mut sum = Summary::default();
        let mut events: Vec<Value> = Vec::with_capacity(4);
        let root_sub = format!("sub_{}_0", &self.id[self.id.len() - 8..]);
        let session = format!("s-{}", &self.id[self.id.len() - 8..]);
        let origin = self.node("moment");
        let day = self.t0.format("%Y-%m-%d").to_string();
        let agents = format!("logs/agents/agents-{day}.jsonl");
        let graph = format!("logs/graph/graph-{day}.jsonl");
        let timeout_ms = (self.consts.get("timeout_s").max(1.0) * 1000.0) as i64;
        let intention =
            ["EXPLORE", "SUMMARIZE", "VERIFY", "CONTRADICT"][self.rng.below(4) as usize];

        events.push(json!({
            "event": "EXPLORATION_START",
            "exploration_id": self.id,
            "actor_id": ACTOR,
            "timestamp": ts(self.t0),
            "root_subentity_id": root_sub,
            "intention_embedding_hash": format!("{:016x}", self.rng.next_u64()),
            "exploration_context": {
                "query": format!("what connects {origin} to the open questions?"),
                "intention": "find narratives that explain the moment",
                "intention_type": intention,
                "origin_moment": origin,
                "actor_task": "TASK_explore",
            },
        }));
        for (event, key, value) in [
            ("skill_loaded", "skill", "skills/SKILL_explore.md"),
            ("protocol_invoked", "protocol", "protocols/explore.yaml"),
        ] {
            let mut v = json!({"ts": ts(self.t0), "session": session, "agent": "explorer", "event": event, key: value});
            if event == "protocol_invoked" {
                v["step"] = json!("explore");
            }
            out.push_json(&agents, &self.tagged(v));
        }

        let mut text = String::with_capacity((o.steps.len() + 4) * 1200);
        for l in events.drain(..) {
            self.emit(&mut text, l);
            out.lines += 1;
        }
        let mut t = self.t0;
        let mut position = (origin.clone(), "moment");
        let mut visited = vec![origin.clone()];
        let mut found: BTreeMap<String, f64> = BTreeMap::new();
        let mut state = "SEEKING";
        let mut branched: Vec<String> = vec![];
        let last = o.steps.len();
        let max_depth = f64::from(self.consts.params().max_depth.max(1));
        let w = self.consts.get("SIBLING_DIVERGENCE_WEIGHT");
        let permanence = r4(self.consts.get("LINK_FACTORS['supports']"));
        for (k, s) in o.steps.iter().enumerate() {
            let step_no = k + 1;
            let mut ms = 120 + self.rng.below(900) as i64;
            if step_no == last && o.termination == Termination::Timeout {
                ms += timeout_ms;
            }
            t += Duration::milliseconds(ms);
            let now = ts(t);
            let (to_id, to_type) = if s.backtrack {
                let i = self.rng.below(visited.len() as u64) as usize;
                (visited[i].clone(), "moment")
            } else if s.found {
                (self.node("narrative"), "narrative")
            } else {
                let kind = KINDS[self.rng.below(3) as usize];
                (self.node(kind), kind)
            };
            let link = format!("link_{}", self.rng.below(100_000));
            let mut candidates = Vec::with_capacity(3);
            candidates.push(self.candidate(
                (link.clone(), to_id.clone(), to_type),
                s.semantic,
                s.divergence,
                w,
                None,
            ));
            for d in s.rejected_divergence {
                let other = self.node("moment");
                let l = format!("link_{}", self.rng.below(100_000));
                let sem = (s.semantic - 0.05 - 0.2 * self.rng.uniform()).max(0.01);
                candidates.push(self.candidate(
                    (l, other, "moment"),
                    sem,
                    d,
                    w,
                    Some("lower score"),
                ));
            }
            let mut anomalies = vec![];
            if s.divergence < LOW_DIVERGENCE {
                sum.low_divergence += 1;
                anomalies.push(Anomaly {
                    kind: "LOW_SIBLING_DIVERGENCE",
                    severity: "warn",
                    detail: format!(
                        "selected {link} has sibling_divergence {:.2} < {LOW_DIVERGENCE}",
                        s.divergence
                    ),
                    suggested_action:
                        "diversify sibling paths (check the sibling divergence weighting)",
                });
            }
            if s.backtrack {
                sum.backtracks += 1;
                anomalies.push(Anomaly {
                    kind: "BACKTRACK",
                    severity: "info",
                    detail: format!("revisited {to_id}"),
                    suggested_action: "none",
                });
            }
            if s.found {
                found.insert(to_id.clone(), r4(s.alignment));
            }
            let (after, reason) = if s.found {
                ("RESONATING", "narrative aligned with intention")
            } else if s.backtrack {
                ("REFLECTING", "returned to a visited node")
            } else {
                ("SEEKING", "continuing search")
            };
            let criticality =
                (0.2 + 0.5 * f64::from(s.depth) / max_depth - 0.2 * s.satisfaction).clamp(0.0, 1.0);
            let energy_before = r4(0.3 + 0.6 * self.rng.uniform());
            let injected = self.consts.state_multiplier(after) * 0.1;
            let line = StepLine {
                header: Header {
                    timestamp: &now,
                    exploration_id: &self.id,
                    subentity_id: &root_sub,
                    actor_id: ACTOR,
                    tick: 1000 + step_no * 10,
                    step_number: step_no,
                    level: "STEP",
                },
                state: State {
                    before: state,
                    after,
                    transition_reason: reason,
                    position: Position {
                        node_id: &to_id,
                        node_type: to_type,
                        node_name: to_id.replace('_', " "),
                    },
                    depth: s.depth,
                    satisfaction: r4(s.satisfaction),
                    criticality: r4(criticality),
                },
                decision: Decision {
                    kind: "traverse",
                    candidates,
                    selected: Selected {
                        link_id: &link,
                        reason: "highest score",
                    },
                    explanation: format!("traverse {link} to {to_id}"),
                    confidence: r4(s.semantic),
                },
                movement: Movement {
                    from: Node {
                        node_id: &position.0,
                        node_type: position.1,
                    },
                    to: Node {
                        node_id: &to_id,
                        node_type: to_type,
                    },
                    via: Via {
                        link_id: &link,
                        polarity: "supports",
                        permanence,
                        energy_before,
                        energy_after: r4(energy_before + injected),
                    },
                },
                findings: Findings {
                    found_narratives: &found,
                    found_count: found.len(),
                    new_this_step: if s.found {
                        vec![to_id.as_str()]
                    } else {
                        vec![]
                    },
                    alignment_this_step: if s.found { r4(s.alignment) } else { 0.0 },
                },
                tree: Tree {
                    parent_id: None,
                    sibling_ids: [],
                    children_ids: &branched,
                    active_siblings: branched.len(),
                },
                emotions: Emotions {
                    joy_sadness: r4(s.satisfaction - 0.5),
                    trust_disgust: r4(s.semantic - 0.5),
                    fear_anger: 0.0,
                    surprise_anticipation: r4(s.divergence - 0.5),
                },
                anomalies,
                variant: self.tag,
            };
            text.push_str(&serde_json::to_string(&line)?);
            text.push('\n');
            out.lines += 1;
            if s.found {
                let amount = r4(self.consts.state_multiplier("RESONATING") * s.alignment);
                let before = r4(self.rng.uniform());
                let v = json!({
                    "event": "ENERGY_INJECTION",
                    "exploration_id": self.id,
                    "subentity_id": root_sub,
                    "timestamp": now,
                    "energy_injection": {
                        "target_node": to_id,
                        "amount": amount,
                        "reason": "narrative_resonance",
                        "energy_before": before,
                        "energy_after": r4(before + amount),
                    },
                });
                self.emit(&mut text, v);
                out.lines += 1;
                let ev = json!({"ts": now, "event": "energy_changed", "node_id": to_id, "node_type": "narrative", "amount": amount, "before": before, "after": r4(before + amount)});
                out.push_json(&graph, &self.tagged(ev));
            }
            if step_no % 3 == 1 || step_no == last {
                sum.tool_calls += 1;
                let fail = if step_no == last && o.termination == Termination::Timeout {
                    Some(("timeout", timeout_ms))
                } else if step_no == last && o.termination == Termination::Error {
                    Some(("graph_unavailable", ms))
                } else if self.rng.uniform() < 0.02 {
                    Some(("connection_reset", ms))
                } else {
                    None
                };
                let mut v = json!({"ts": now, "session": session, "agent": "explorer", "event": "tool_call", "tool": "graph_query", "ok": fail.is_none(), "duration_ms": fail.map_or(ms, |f| f.1)});
                if let Some((err, _)) = fail {
                    sum.tool_errors += 1;
                    v["error"] = json!(err);
                }
                out.push_json(&agents, &self.tagged(v));
            }
            if step_no == 2 && last >= 3 && self.rng.uniform() < 0.2 {
                branched = (1..=2).map(|c| format!("{root_sub}_{c}")).collect();
                let children: Vec<Value> = branched
                    .iter()
                    .map(|c| json!({"id": c, "target_link": format!("link_{}", self.rng.below(100_000)), "target_node": self.node("moment"), "initial_score": r4(0.4 + 0.4 * self.rng.uniform())}))
                    .collect();
                let v = json!({"event": "BRANCH", "exploration_id": self.id, "parent_id": root_sub, "position": to_id, "timestamp": now, "children": children});
                self.emit(&mut text, v);
                out.lines += 1;
            }
            if !visited.contains(&to_id) {
                visited.push(to_id.clone());
            }
            position = (to_id, to_type);
            state = after;
        }

        let final_sat = o.steps.last().map_or(0.0, |s| s.satisfaction);
        let crystallized = (o.termination == Termination::SatisfactionReached
            && found.len() >= 2
            && self.rng.uniform() < 0.3)
            .then(|| self.node("narrative_new"));
        if let Some(c) = &crystallized {
            events.push(json!({"event": "CRYSTALLIZE", "exploration_id": self.id, "subentity_id": root_sub, "timestamp": ts(t), "narrative_id": c, "source_narratives": found.keys().collect::<Vec<_>>(), "novelty": r4(0.8 + 0.2 * self.rng.uniform())}));
            let ev = json!({"ts": ts(t), "event": "node_created", "node_id": c, "node_type": "narrative", "amount": r4(self.consts.state_multiplier("CRYSTALLIZING")), "before": 0.0, "after": r4(self.consts.state_multiplier("CRYSTALLIZING"))});
            out.push_json(&graph, &self.tagged(ev));
        }
        for child in &branched {
            events.push(json!({
                "event": "MERGE",
                "exploration_id": self.id,
                "subentity_id": child,
                "parent_id": root_sub,
                "timestamp": ts(t),
                "contributed_narratives": {},
                "satisfaction_contributed": r4(0.05 * self.rng.uniform()),
                "crystallized": null,
                "path_length": 1 + self.rng.below(4),
            }));
        }
        let duration_ms = (t - self.t0).num_milliseconds();
        let mut termination = json!({
            "reason": o.termination.as_str(),
            "final_satisfaction": r4(final_sat),
            "final_criticality": r4((0.2 + 0.3 * (1.0 - final_sat)).clamp(0.0, 1.0)),
            "steps_taken": o.steps.len(),
            "duration_ms": duration_ms,
        });
        if o.termination == Termination::Error {
            termination["error_message"] = json!("graph query failed: graph_unavailable");
        }
        events.push(json!({
            "event": "EXPLORATION_END",
            "exploration_id": self.id,
            "timestamp": ts(t),
            "total_subentities": 1 + branched.len(),
            "nodes_visited": visited,
            "found_narratives": found,
            "crystallized": crystallized,
            "termination": termination,
        }));
        let success = o.termination == Termination::SatisfactionReached
            || (o.termination == Termination::MaxDepth && !found.is_empty());
        let v = json!({"ts": ts(t), "session": session, "agent": "explorer", "event": "outcome", "outcome": if success { "success" } else { "failure" }, "task": "TASK_explore"});
        out.push_json(&agents, &self.tagged(v));

        for l in events.drain(..) {
            self.emit(&mut text, l);
            out.lines += 1;
        }
        let path = out
            .root
            .join(format!("logs/traversal/traversal_{}.jsonl", self.id));
        out.append(&path, &text)?;
        Ok(sum)
    }

    /// One logged candidate: `(link, target, target type)`, its factors, and why it
    /// was not selected (none for the selected one).
    fn candidate(
        &mut self,
        (link_id, target_id, target_type): (String, String, &'static str),
        semantic: f64,
        divergence: f64,
        weight: f64,
        why_not: Option<&'static str>,
    ) -> Candidate {
        let novelty = self.rng.uniform();
        let score = semantic * (1.0 - weight) + weight * divergence + 0.05 * novelty;
        Candidate {
            link_id,
            target_id,
            target_type,
            score: r4(score),
            semantic: r4(semantic),
            polarity: r4(0.5 + 0.5 * self.rng.uniform()),
            permanence_factor: r4(self.consts.get("LINK_FACTORS['supports']")),
            self_novelty: r4(novelty),
            sibling_divergence: r4(divergence),
            verdict: if why_not.is_none() {
                "SELECTED"
            } else {
                "REJECTED"
            },
            why_not,
        }
    }
}
