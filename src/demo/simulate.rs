//! Writes the demo system's logs for a span of time, from its current constants and
//! active experiments: traversal files in the mind format, agent traces, graph events
//! and an hourly health CSV, all appended so successive runs accumulate. The numbers
//! come from `model.rs`; this file only dresses them up as log lines.

use super::constants::Constants;
use super::experiments::Experiments;
use super::model::{self, Outcome, SplitMix64, Termination};
use crate::clock::Timestamp;
use anyhow::{Context, Result};
use chrono::Duration;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub hours: f64,
    pub seed: u64,
    pub start: Timestamp,
    pub explorations_per_hour: u32,
}

impl SimOptions {
    /// `hours` of logs from `start`, at the default 60 explorations an hour.
    pub fn new(start: Timestamp, hours: f64, seed: u64) -> SimOptions {
        SimOptions {
            hours,
            seed,
            start,
            explorations_per_hour: 60,
        }
    }
}

/// What a run wrote. Untagged explorations count as "control" in `by_variant`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimStats {
    pub explorations: u64,
    pub lines: u64,
    /// Distinct files written to.
    pub files: u64,
    pub by_variant: BTreeMap<String, u64>,
    /// Mean of the doctor's per-exploration efficiency.
    pub mean_efficiency: f64,
    /// Mean of the doctor's per-exploration sibling divergence (all candidates).
    pub mean_sibling_divergence: f64,
    pub per_variant: BTreeMap<String, VariantStats>,
    /// Anomaly occurrences by type.
    pub anomalies: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VariantStats {
    pub explorations: u64,
    pub steps: u64,
    pub mean_efficiency: f64,
    pub mean_sibling_divergence: f64,
    pub low_divergence_anomalies: u64,
    pub backtrack_anomalies: u64,
}

const LOW_DIVERGENCE: f64 = 0.5;
const STATES: [&str; 3] = ["moment", "space", "thing"];

/// Reads the current constants of `repo` (and its experiments) and appends logs for
/// `[start, start + hours]` under `repo/logs/`.
pub fn simulate(repo: &Path, opts: &SimOptions) -> Result<SimStats> {
    let base = Constants::read(repo)?;
    let experiments = Experiments::load(repo)?;
    let variants: Vec<Constants> = experiments
        .experiments
        .iter()
        .map(|e| {
            let mut c = base.clone();
            for o in &e.overrides {
                c.set(&o.name, o.value);
            }
            c
        })
        .collect();

    let span_ms = (opts.hours.max(0.0) * 3_600_000.0) as i64;
    let n = (opts.hours.max(0.0) * f64::from(opts.explorations_per_hour)).round() as u64;
    let start_ms = opts.start.timestamp_millis() as u64;
    let mut schedule = SplitMix64::new(model::mix(opts.seed, start_ms, u64::MAX));
    let mut out = Output::new(repo);
    let mut health = HealthBuckets::new(opts.start, span_ms);
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let mut anomalies: BTreeMap<String, u64> = BTreeMap::new();

    for i in 0..n {
        let offset = ((i as f64 + schedule.uniform()) * span_ms as f64 / n as f64) as i64;
        let t0 = opts.start + Duration::milliseconds(offset);
        let assignment = experiments.assign(t0, schedule.uniform());
        let (consts, tag) = match assignment {
            None => (&base, None),
            Some(None) => (&base, Some("control")),
            Some(Some(k)) => (&variants[k], Some(experiments.experiments[k].tag())),
        };
        let mut core = SplitMix64::new(model::mix(opts.seed, start_ms, i));
        let outcome = model::explore(&consts.params(), &mut core);
        let cosmetic = SplitMix64::new(model::mix(opts.seed ^ 0x5EED_C0DE, start_ms, i));
        let mut ex = Exploration::new(t0, consts, tag, cosmetic);
        let summary = ex.write(&outcome, &mut out)?;
        health.add(t0, &outcome, &summary);

        let a = acc.entry(tag.unwrap_or("control").to_string()).or_default();
        let h = outcome.health();
        a.explorations += 1;
        a.steps += outcome.steps.len() as u64;
        a.efficiency += h.efficiency;
        a.divergence += h.sibling_divergence;
        a.low_divergence += summary.low_divergence;
        a.backtracks += summary.backtracks;
        *anomalies
            .entry("LOW_SIBLING_DIVERGENCE".into())
            .or_default() += summary.low_divergence;
        *anomalies.entry("BACKTRACK".into()).or_default() += summary.backtracks;
    }
    health.write(&mut out)?;
    out.flush()?;

    let total = acc.values().fold(Acc::default(), |a, b| a.plus(b));
    Ok(SimStats {
        explorations: n,
        lines: out.lines,
        files: out.files.len() as u64,
        by_variant: acc
            .iter()
            .map(|(k, a)| (k.clone(), a.explorations))
            .collect(),
        mean_efficiency: total.mean(total.efficiency),
        mean_sibling_divergence: total.mean(total.divergence),
        per_variant: acc.iter().map(|(k, a)| (k.clone(), a.stats())).collect(),
        anomalies: anomalies.into_iter().filter(|(_, c)| *c > 0).collect(),
    })
}

/// Running sums per variant.
#[derive(Debug, Clone, Default)]
struct Acc {
    explorations: u64,
    steps: u64,
    efficiency: f64,
    divergence: f64,
    low_divergence: u64,
    backtracks: u64,
}

impl Acc {
    fn plus(&self, o: &Acc) -> Acc {
        Acc {
            explorations: self.explorations + o.explorations,
            steps: self.steps + o.steps,
            efficiency: self.efficiency + o.efficiency,
            divergence: self.divergence + o.divergence,
            low_divergence: self.low_divergence + o.low_divergence,
            backtracks: self.backtracks + o.backtracks,
        }
    }
    fn mean(&self, sum: f64) -> f64 {
        if self.explorations == 0 {
            0.0
        } else {
            sum / self.explorations as f64
        }
    }
    fn stats(&self) -> VariantStats {
        VariantStats {
            explorations: self.explorations,
            steps: self.steps,
            mean_efficiency: self.mean(self.efficiency),
            mean_sibling_divergence: self.mean(self.divergence),
            low_divergence_anomalies: self.low_divergence,
            backtrack_anomalies: self.backtracks,
        }
    }
}

/// Appends lines to files under the repository, buffering the shared day files.
struct Output {
    root: PathBuf,
    files: BTreeSet<PathBuf>,
    pending: BTreeMap<PathBuf, String>,
    lines: u64,
}

impl Output {
    fn new(root: &Path) -> Output {
        Output {
            root: root.to_path_buf(),
            files: BTreeSet::new(),
            pending: BTreeMap::new(),
            lines: 0,
        }
    }

    /// Queues one line for `rel`; written by `flush`.
    fn push(&mut self, rel: &str, line: &str) {
        let buf = self.pending.entry(self.root.join(rel)).or_default();
        buf.push_str(line);
        buf.push('\n');
        self.lines += 1;
    }

    fn push_json(&mut self, rel: &str, value: &Value) {
        self.push(rel, &value.to_string());
    }

    /// Appends a whole file's worth of lines at once.
    fn append(&mut self, path: &Path, text: &str) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("appending to {}", path.display()))?;
        self.files.insert(path.to_path_buf());
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        for (path, text) in std::mem::take(&mut self.pending) {
            self.append(&path, &text)?;
        }
        Ok(())
    }
}

/// What the log writer counted in one exploration.
#[derive(Debug, Default)]
struct Summary {
    low_divergence: u64,
    backtracks: u64,
    tool_calls: u64,
    tool_errors: u64,
}

/// Dresses one model outcome up as the lines the mind system would write.
struct Exploration<'a> {
    t0: Timestamp,
    id: String,
    consts: &'a Constants,
    tag: Option<&'a str>,
    rng: SplitMix64,
}

fn ts(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

impl<'a> Exploration<'a> {
    fn new(
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

    fn tagged(&self, mut v: Value) -> Value {
        if let (Some(tag), Value::Object(m)) = (self.tag, &mut v) {
            m.insert("variant".into(), Value::from(tag));
        }
        v
    }

    fn node(&mut self, kind: &str) -> String {
        format!("{kind}_{}", self.rng.below(400))
    }

    fn write(&mut self, o: &Outcome, out: &mut Output) -> Result<Summary> {
        let mut sum = Summary::default();
        let mut lines: Vec<Value> = Vec::with_capacity(o.steps.len() + 4);
        let actor = "actor_explorer";
        let root_sub = format!("sub_{}_0", &self.id[self.id.len() - 8..]);
        let session = format!("s-{}", &self.id[self.id.len() - 8..]);
        let origin = self.node("moment");
        let day = self.t0.format("%Y-%m-%d").to_string();
        let agents = format!("logs/agents/agents-{day}.jsonl");
        let graph = format!("logs/graph/graph-{day}.jsonl");
        let timeout_ms = (self.consts.get("timeout_s").max(1.0) * 1000.0) as i64;
        let intention =
            ["EXPLORE", "SUMMARIZE", "VERIFY", "CONTRADICT"][self.rng.below(4) as usize];

        lines.push(json!({
            "event": "EXPLORATION_START",
            "exploration_id": self.id,
            "actor_id": actor,
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

        let mut t = self.t0;
        let mut position = (origin.clone(), "moment".to_string());
        let mut visited = vec![origin.clone()];
        let mut found: BTreeMap<String, f64> = BTreeMap::new();
        let mut state = "SEEKING";
        let mut branched: Vec<String> = vec![];
        let last = o.steps.len();
        for (k, s) in o.steps.iter().enumerate() {
            let step_no = k + 1;
            let mut ms = 120 + self.rng.below(900) as i64;
            if step_no == last && o.termination == Termination::Timeout {
                ms += timeout_ms;
            }
            t += Duration::milliseconds(ms);
            let (to_id, to_type) = if s.backtrack {
                (
                    visited[self.rng.below(visited.len() as u64) as usize].clone(),
                    "moment".to_string(),
                )
            } else if s.found {
                (self.node("narrative"), "narrative".to_string())
            } else {
                let kind = STATES[self.rng.below(3) as usize];
                (self.node(kind), kind.to_string())
            };
            let link = format!("link_{}", self.rng.next_u64() % 100_000);
            let mut candidates =
                vec![self.candidate(&link, &to_id, &to_type, s.semantic, s.divergence, None)];
            for d in s.rejected_divergence {
                let other = self.node("moment");
                let l = format!("link_{}", self.rng.next_u64() % 100_000);
                let sem = (s.semantic - 0.05 - 0.2 * self.rng.uniform()).max(0.01);
                candidates.push(self.candidate(&l, &other, "moment", sem, d, Some("lower score")));
            }
            let mut anomalies = vec![];
            if s.divergence < LOW_DIVERGENCE {
                sum.low_divergence += 1;
                anomalies.push(json!({
                    "type": "LOW_SIBLING_DIVERGENCE",
                    "severity": "warn",
                    "detail": format!("selected {link} has sibling_divergence {:.2} < {LOW_DIVERGENCE}", s.divergence),
                    "suggested_action": "diversify sibling paths (check the sibling divergence weighting)",
                }));
            }
            if s.backtrack {
                sum.backtracks += 1;
                anomalies.push(json!({
                    "type": "BACKTRACK",
                    "severity": "info",
                    "detail": format!("revisited {to_id}"),
                    "suggested_action": "none",
                }));
            }
            let new_this_step: Vec<String> = if s.found {
                found.insert(to_id.clone(), r4(s.alignment));
                vec![to_id.clone()]
            } else {
                vec![]
            };
            let after = if s.found {
                "RESONATING"
            } else if s.backtrack {
                "REFLECTING"
            } else {
                "SEEKING"
            };
            let reason = match after {
                "RESONATING" => "narrative aligned with intention",
                "REFLECTING" => "returned to a visited node",
                _ => "continuing search",
            };
            let max_depth = f64::from(self.consts.params().max_depth.max(1));
            let criticality =
                (0.2 + 0.5 * f64::from(s.depth) / max_depth - 0.2 * s.satisfaction).clamp(0.0, 1.0);
            let energy_before = r4(0.3 + 0.6 * self.rng.uniform());
            let injected = self.consts.state_multiplier(after) * 0.1;
            let mut line = json!({
                "header": {
                    "timestamp": ts(t),
                    "exploration_id": self.id,
                    "subentity_id": root_sub,
                    "actor_id": actor,
                    "tick": 1000 + step_no * 10,
                    "step_number": step_no,
                    "level": "STEP",
                },
                "state": {
                    "before": state,
                    "after": after,
                    "transition_reason": reason,
                    "position": {"node_id": to_id, "node_type": to_type, "node_name": to_id.replace('_', " ")},
                    "depth": s.depth,
                    "satisfaction": r4(s.satisfaction),
                    "criticality": r4(criticality),
                },
                "decision": {
                    "type": "traverse",
                    "candidates": candidates,
                    "selected": {"link_id": link, "reason": "highest score"},
                    "explanation": format!("traverse {link} to {to_id}"),
                    "confidence": r4(s.semantic),
                },
                "movement": {
                    "from": {"node_id": position.0, "node_type": position.1},
                    "to": {"node_id": to_id, "node_type": to_type},
                    "via": {
                        "link_id": link,
                        "polarity": "supports",
                        "permanence": r4(self.consts.get("LINK_FACTORS['supports']")),
                        "energy_before": energy_before,
                        "energy_after": r4(energy_before + injected),
                    },
                },
                "findings": {
                    "found_narratives": found,
                    "found_count": found.len(),
                    "new_this_step": new_this_step,
                    "alignment_this_step": if s.found { r4(s.alignment) } else { 0.0 },
                },
                "tree": {
                    "parent_id": null,
                    "sibling_ids": [],
                    "children_ids": branched,
                    "active_siblings": branched.len(),
                },
                "emotions": {
                    "joy_sadness": r4(s.satisfaction - 0.5),
                    "trust_disgust": r4(s.semantic - 0.5),
                    "fear_anger": 0.0,
                    "surprise_anticipation": r4(s.divergence - 0.5),
                },
            });
            if !anomalies.is_empty() {
                line["anomalies"] = Value::Array(anomalies);
            }
            lines.push(line);
            if s.found {
                let amount = r4(self.consts.state_multiplier("RESONATING") * s.alignment);
                let before = r4(self.rng.uniform());
                lines.push(json!({
                    "event": "ENERGY_INJECTION",
                    "exploration_id": self.id,
                    "subentity_id": root_sub,
                    "timestamp": ts(t),
                    "energy_injection": {
                        "target_node": to_id,
                        "amount": amount,
                        "reason": "narrative_resonance",
                        "energy_before": before,
                        "energy_after": r4(before + amount),
                    },
                }));
                let ev = json!({"ts": ts(t), "event": "energy_changed", "node_id": to_id, "node_type": "narrative", "amount": amount, "before": before, "after": r4(before + amount)});
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
                let mut v = json!({"ts": ts(t), "session": session, "agent": "explorer", "event": "tool_call", "tool": "graph_query", "ok": fail.is_none(), "duration_ms": fail.map_or(ms, |f| f.1)});
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
                lines.push(json!({"event": "BRANCH", "exploration_id": self.id, "parent_id": root_sub, "position": to_id, "timestamp": ts(t), "children": children}));
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
            lines.push(json!({"event": "CRYSTALLIZE", "exploration_id": self.id, "subentity_id": root_sub, "timestamp": ts(t), "narrative_id": c, "source_narratives": found.keys().collect::<Vec<_>>(), "novelty": r4(0.8 + 0.2 * self.rng.uniform())}));
            let ev = json!({"ts": ts(t), "event": "node_created", "node_id": c, "node_type": "narrative", "amount": r4(self.consts.state_multiplier("CRYSTALLIZING")), "before": 0.0, "after": r4(self.consts.state_multiplier("CRYSTALLIZING"))});
            out.push_json(&graph, &self.tagged(ev));
        }
        for child in &branched {
            lines.push(json!({
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
        lines.push(json!({
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

        let mut text = String::with_capacity(lines.len() * 1200);
        for l in lines {
            text.push_str(&self.tagged(l).to_string());
            text.push('\n');
            out.lines += 1;
        }
        let path = out
            .root
            .join(format!("logs/traversal/traversal_{}.jsonl", self.id));
        out.append(&path, &text)?;
        Ok(sum)
    }

    fn candidate(
        &mut self,
        link: &str,
        target: &str,
        target_type: &str,
        semantic: f64,
        divergence: f64,
        why_not: Option<&str>,
    ) -> Value {
        let novelty = self.rng.uniform();
        let w = self.consts.get("SIBLING_DIVERGENCE_WEIGHT");
        let score = semantic * (1.0 - w) + w * divergence + 0.05 * novelty;
        json!({
            "link_id": link,
            "target_id": target,
            "target_type": target_type,
            "score": r4(score),
            "semantic": r4(semantic),
            "polarity": r4(0.5 + 0.5 * self.rng.uniform()),
            "permanence_factor": r4(self.consts.get("LINK_FACTORS['supports']")),
            "self_novelty": r4(novelty),
            "sibling_divergence": r4(divergence),
            "verdict": if why_not.is_none() { "SELECTED" } else { "REJECTED" },
            "why_not": why_not,
        })
    }
}

/// Hourly system-wide rates for `logs/health/health.csv`.
struct HealthBuckets {
    start: Timestamp,
    span_ms: i64,
    /// explorations, timeouts, errors, tool calls, tool errors
    buckets: Vec<[u64; 5]>,
}

impl HealthBuckets {
    fn new(start: Timestamp, span_ms: i64) -> Self {
        let hours = ((span_ms + 3_599_999) / 3_600_000).max(1) as usize;
        HealthBuckets {
            start,
            span_ms,
            buckets: vec![[0; 5]; hours],
        }
    }

    fn add(&mut self, t: Timestamp, o: &Outcome, s: &Summary) {
        let h = ((t - self.start).num_milliseconds() / 3_600_000).max(0) as usize;
        let last = self.buckets.len() - 1;
        let b = &mut self.buckets[h.min(last)];
        b[0] += 1;
        b[1] += u64::from(o.termination == Termination::Timeout);
        b[2] += u64::from(o.termination == Termination::Error);
        b[3] += s.tool_calls;
        b[4] += s.tool_errors;
    }

    fn write(&self, out: &mut Output) -> Result<()> {
        let rel = "logs/health/health.csv";
        let path = out.root.join(rel);
        let fresh = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        if fresh && self.buckets.iter().any(|b| b[0] > 0) {
            out.push(rel, "timestamp,metric,value");
        }
        for (h, b) in self.buckets.iter().enumerate() {
            if b[0] == 0 {
                continue;
            }
            let end_ms = ((h as i64 + 1) * 3_600_000).min(self.span_ms);
            let at = ts(self.start + Duration::milliseconds(end_ms));
            let rate = |x: u64, n: u64| r4(x as f64 / n.max(1) as f64);
            for (metric, value) in [
                ("error_rate", rate(b[2], b[0])),
                ("timeout_rate", rate(b[1], b[0])),
                ("tool_error_rate", rate(b[4], b[3])),
            ] {
                out.push(rel, &format!("{at},{metric},{value}"));
            }
        }
        Ok(())
    }
}
