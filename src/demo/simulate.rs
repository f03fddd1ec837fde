//! Writes the demo system's logs for a span of time, from its current constants and
//! active experiments: traversal files in the mind format, agent traces, graph events
//! and an hourly health CSV, all appended so successive runs accumulate. The numbers
//! come from `model.rs`; this file only dresses them up as log lines. Nothing is
//! written through a symlink inside the repository.

use super::constants::Constants;
use super::exploration::{r4, ts, Exploration, Summary};
use super::model::{self, Outcome, SplitMix64, Termination};
use super::output::Output;
use crate::clock::Timestamp;
use crate::validate::experiment::Experiments;
use anyhow::Result;
use chrono::Duration;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

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
        let fresh = std::fs::symlink_metadata(&path).map_or(true, |m| m.len() == 0);
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
