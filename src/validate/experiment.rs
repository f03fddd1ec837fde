//! `canary` and `ab_test`: the active experiments live in
//! `improvement-data/experiments.yaml` on the deploy branch, where the system reads
//! them and tags its log lines with `variant`. Samples accumulate across cycles in
//! `proposals/P-N/experiment.json` (bounded) until the duration has passed; then the
//! judge decides. INCONCLUSIVE extends once, then a human decides (E3).

use super::judge::{self, JudgeParams, MetricSpec, Verdict};
use super::{Outcome, Step, Validation};
use crate::clock::{fmt_ts, parse_ts, Timestamp};
use crate::config::{Config, EXPERIMENTS_PATH};
use crate::context::Ctx;
use crate::git::Git;
use crate::observe::samples::{self, Samples};
use crate::observe::Observation;
use crate::store::proposals::{self, Proposal, Status};
use crate::vocab::ValidationMode;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// `improvement-data/experiments.yaml`: the file the tool writes on the deploy branch
/// and the system (the demo's simulator among them) reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Experiments {
    #[serde(default)]
    pub experiments: Vec<Experiment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// The proposal under test; also the variant tag unless `variant` says otherwise.
    pub proposal: String,
    pub mode: ExperimentMode,
    /// Share of explorations routed to the variant, in percent.
    pub percentage: u32,
    pub started: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentMode {
    Canary,
    AbTest,
}

impl ExperimentMode {
    pub fn of(mode: ValidationMode) -> Option<ExperimentMode> {
        match mode {
            ValidationMode::Canary => Some(ExperimentMode::Canary),
            ValidationMode::AbTest => Some(ExperimentMode::AbTest),
            _ => None,
        }
    }
    pub fn validation_mode(self) -> ValidationMode {
        match self {
            ExperimentMode::Canary => ValidationMode::Canary,
            ExperimentMode::AbTest => ValidationMode::AbTest,
        }
    }
    pub fn as_str(self) -> &'static str {
        self.validation_mode().as_str()
    }
    /// Share routed to the variant and how long it runs, from the config.
    fn share_and_duration(self, cfg: &Config) -> (u32, chrono::Duration) {
        match self {
            ExperimentMode::Canary => (
                cfg.validation.canary_percentage,
                cfg.dur(&cfg.validation.canary_duration),
            ),
            ExperimentMode::AbTest => (
                cfg.validation.ab_percentage,
                cfg.dur(&cfg.validation.ab_duration),
            ),
        }
    }
}

/// One constant replaced in the variant: `name` as the tunables spell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub file: String,
    pub name: String,
    pub value: f64,
}

impl Experiment {
    /// The tag the variant's log lines carry.
    pub fn tag(&self) -> &str {
        self.variant.as_deref().unwrap_or(&self.proposal)
    }
}

impl Experiments {
    fn parse(bytes: &[u8], source: &str) -> Result<Experiments> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Experiments::default());
        }
        serde_yaml::from_slice(bytes).with_context(|| format!("{source} is not valid"))
    }

    /// Reads the file in a working tree `repo` (what a running system sees).
    pub fn load(repo: &Path) -> Result<Experiments> {
        let path = repo.join(EXPERIMENTS_PATH);
        match std::fs::read(&path) {
            Ok(b) => Experiments::parse(&b, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Experiments::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Reads the file as committed at `tip`.
    pub fn at(git: &Git, tip: git2::Oid) -> Result<Experiments> {
        match git.read_file(tip, EXPERIMENTS_PATH)? {
            Some(b) => Experiments::parse(&b, EXPERIMENTS_PATH),
            None => Ok(Experiments::default()),
        }
    }

    /// Which experiment (index) an exploration started at `at` belongs to, given a
    /// uniform draw `u` in [0, 1): `None` when no experiment is active (untagged),
    /// `Some(None)` for control, `Some(Some(i))` for experiment `i`'s variant.
    pub fn assign(&self, at: Timestamp, u: f64) -> Option<Option<usize>> {
        let mut active = false;
        let mut cumulative = 0.0;
        for (i, e) in self.experiments.iter().enumerate() {
            if e.started > at {
                continue;
            }
            active = true;
            cumulative += f64::from(e.percentage.min(100)) / 100.0;
            if u < cumulative {
                return Some(Some(i));
            }
        }
        active.then_some(None)
    }

    /// Commits this set of experiments onto the deploy branch.
    fn commit(&self, git: &Git, cfg: &Config, message: &str, now: Timestamp) -> Result<()> {
        let tip = git
            .ref_oid(&cfg.deploy_branch)?
            .context("no deploy branch")?;
        let mut text = String::from("# Active experiments, written by `improve` (canary and A/B validation).\n# The system tags each log line with the variant it ran under.\n");
        text.push_str(&serde_yaml::to_string(self)?);
        let mut changes = BTreeMap::new();
        changes.insert(EXPERIMENTS_PATH.to_string(), Some(text.into_bytes()));
        let new = git.commit_changes(Some(tip), &changes, message, now)?;
        git.advance_branch(&cfg.deploy_branch, tip, new, "improve: experiments")?;
        Ok(())
    }
}

/// `proposals/P-N/experiment.json`: samples gathered so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentState {
    pub mode: ExperimentMode,
    pub started: String,
    pub ends: String,
    pub extended: bool,
    pub control: Samples,
    pub variant: Samples,
}

pub fn state_path(id: &str) -> String {
    format!("proposals/{id}/experiment.json")
}

/// The overrides a constant tune runs with in its variant; none for anything else
/// (such a proposal cannot run as an experiment).
pub fn overrides(p: &Proposal) -> Vec<Override> {
    match p
        .change
        .new_value
        .as_deref()
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        Some(value) if !p.change.document_only => vec![Override {
            file: p.target.file.clone(),
            name: p.target.name.clone(),
            value,
        }],
        _ => vec![],
    }
}

/// Starts `p`'s experiment: written to the deploy branch, its state and the running
/// validation recorded.
pub fn start(
    ctx: &mut Ctx,
    p: &mut Proposal,
    mode: ExperimentMode,
    v: &Validation,
) -> Result<String> {
    let (pct, dur) = mode.share_and_duration(ctx.cfg);
    let mut exps = Experiments::at(ctx.git, ctx.deploy_tip()?)?;
    exps.experiments.retain(|e| e.proposal != p.id);
    exps.experiments.push(Experiment {
        proposal: p.id.clone(),
        mode,
        percentage: pct,
        started: ctx.now,
        variant: None,
        overrides: overrides(p),
    });
    exps.commit(
        ctx.git,
        ctx.cfg,
        &format!(
            "improve: start {} for {}\n\nImprove-Proposal: {}\n",
            mode.as_str(),
            p.id,
            p.id
        ),
        ctx.now,
    )?;
    let st = ExperimentState {
        mode,
        started: ctx.ts(),
        ends: fmt_ts(ctx.now + dur),
        extended: false,
        control: Samples::new(),
        variant: Samples::new(),
    };
    p.status = Status::Validating;
    p.push_event(
        &ctx.ts(),
        format!("{} started at {pct}% until {}", mode.as_str(), st.ends),
        None,
    );
    let mut tx = ctx.tx();
    tx.put_json(&state_path(&p.id), &st)?;
    tx.put_json(&super::path(&p.id), v)?;
    proposals::put(&mut tx, p)?;
    tx.audit(
        "validate",
        "experiment_started",
        &p.id,
        json!({"mode": mode.as_str(), "ends": st.ends}),
    );
    ctx.commit(tx, &format!("{}: {} started", p.id, mode.as_str()))?;
    Ok(format!(
        "{}: {} started (until {})",
        p.id,
        mode.as_str(),
        st.ends
    ))
}

/// Removes `id`'s experiment from the deploy branch (a no-op when already gone).
pub fn stop(git: &Git, cfg: &Config, id: &str, now: Timestamp) -> Result<()> {
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let mut exps = Experiments::at(git, tip)?;
    let before = exps.experiments.len();
    exps.experiments.retain(|e| e.proposal != id);
    if exps.experiments.len() != before {
        exps.commit(
            git,
            cfg,
            &format!("improve: end the experiment of {id}\n\nImprove-Proposal: {id}\n"),
            now,
        )?;
    }
    Ok(())
}

/// Adds this cycle's samples of the variant and of the control group.
pub fn accumulate(state: &mut ExperimentState, obs: &Observation, id: &str) {
    if let Some(v) = samples::variant(obs, id) {
        samples::extend(&mut state.variant, v);
    }
    if let Some(c) = samples::variant(obs, "control") {
        samples::extend(&mut state.control, c);
    }
}

/// True once the experiment has run its duration.
pub fn due(state: &ExperimentState, now: Timestamp) -> bool {
    parse_ts(&state.ends).map(|e| now >= e).unwrap_or(true)
}

/// Extends the experiment once by its original duration.
pub fn extend(state: &mut ExperimentState) {
    if let (Ok(s), Ok(e)) = (parse_ts(&state.started), parse_ts(&state.ends)) {
        state.ends = fmt_ts(e + (e - s));
    }
    state.extended = true;
}

/// One cycle of a running experiment: gather this window's samples; once it is due,
/// judge variant against control (INCONCLUSIVE extends once).
#[tracing::instrument(name = "experiment", skip_all, fields(proposal = %p.id))]
pub fn advance(ctx: &mut Ctx, p: &mut Proposal, obs: &Observation) -> Result<Step> {
    let Some(mut st) = ctx
        .records
        .read_json::<ExperimentState>(&state_path(&p.id))?
    else {
        bail!("{}: experiment state missing", p.id);
    };
    accumulate(&mut st, obs, &p.id);
    let mut v: Validation = ctx
        .records
        .read_json(&super::path(&p.id))?
        .unwrap_or_else(|| Validation::new(p, st.mode.validation_mode(), ctx.now));
    if !due(&st, ctx.now) {
        let mut tx = ctx.tx();
        tx.put_json(&state_path(&p.id), &st)?;
        let n = st.variant.values().map(Vec::len).max().unwrap_or(0);
        tx.audit("validate", "samples", &p.id, json!({"variant_samples": n}));
        ctx.commit(tx, &format!("{}: experiment samples", p.id))?;
        return Ok(Step::Waiting);
    }
    let cfg = ctx.cfg;
    let specs: Vec<MetricSpec> = cfg.metrics.iter().map(MetricSpec::from_config).collect();
    let params = JudgeParams {
        confidence: cfg.validation.significance_threshold,
        min_samples: cfg.validation.min_samples,
        pass_score: cfg.validation.pass_score,
    };
    let j = judge::judge(&st.control, &st.variant, &specs, &params);
    for m in &j.metrics {
        if let (Some(c), Some(var)) = (m.control_median, m.variant_median) {
            v.metrics_before.insert(m.name.clone(), c);
            v.metrics_after.insert(m.name.clone(), var);
        }
        if let Some(e) = m.relative_effect {
            v.improvement.insert(m.name.clone(), e);
        }
    }
    v.target_improved = j
        .metrics
        .iter()
        .any(|m| m.name == p.target_metric.name && m.improved);
    let verdict = j.verdict.clone();
    v.judgment = Some(j);
    v.extended = st.extended;
    if verdict == Verdict::Inconclusive && !st.extended {
        extend(&mut st);
        v.extended = true;
        p.push_event(
            &ctx.ts(),
            format!(
                "{} INCONCLUSIVE: extended once, until {}",
                st.mode.as_str(),
                st.ends
            ),
            None,
        );
        let mut tx = ctx.tx();
        tx.put_json(&state_path(&p.id), &st)?;
        tx.put_json(&super::path(&p.id), &v)?;
        proposals::put(&mut tx, p)?;
        tx.audit("validate", "extended", &p.id, json!({"ends": st.ends}));
        ctx.commit(tx, &format!("{}: experiment extended", p.id))?;
        return Ok(Step::Started(format!(
            "{}: {} inconclusive, extended once until {}",
            p.id,
            st.mode.as_str(),
            st.ends
        )));
    }
    stop(ctx.git, ctx.cfg, &p.id, ctx.now)?;
    v.status = match verdict {
        Verdict::Passed => Outcome::Passed,
        Verdict::Failed => Outcome::Failed,
        Verdict::Inconclusive => Outcome::Inconclusive,
    };
    v.finished = Some(ctx.ts());
    let mut tx = ctx.tx();
    tx.put_json(&state_path(&p.id), &st)?;
    tx.audit(
        "validate",
        "judged",
        &p.id,
        json!({"verdict": v.status.as_str()}),
    );
    ctx.commit(tx, &format!("{}: experiment judged", p.id))?;
    Ok(Step::Finished(Box::new(v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_ts;

    const YAML: &str = "experiments:\n  - proposal: P-0003\n    mode: canary        # or ab_test\n    percentage: 10\n    started: 2026-01-05T10:00:00Z\n    overrides:\n      - {file: runtime/physics/constants.py, name: SIBLING_DIVERGENCE_WEIGHT, value: 0.3}\n";

    #[test]
    fn parses_the_documented_shape() {
        let e: Experiments = serde_yaml::from_str(YAML).unwrap();
        let x = &e.experiments[0];
        assert_eq!(x.tag(), "P-0003");
        assert_eq!(x.mode, ExperimentMode::Canary);
        assert_eq!(x.overrides[0].value, 0.3);
        let before = parse_ts("2026-01-05T09:00:00Z").unwrap();
        let after = parse_ts("2026-01-05T11:00:00Z").unwrap();
        assert_eq!(e.assign(before, 0.01), None);
        assert_eq!(e.assign(after, 0.05), Some(Some(0)));
        assert_eq!(e.assign(after, 0.50), Some(None));
    }

    #[test]
    fn what_the_tool_writes_the_system_reads() {
        let e = Experiments {
            experiments: vec![Experiment {
                proposal: "P-0001".into(),
                mode: ExperimentMode::AbTest,
                percentage: 50,
                started: parse_ts("2026-01-05T10:00:00Z").unwrap(),
                variant: None,
                overrides: vec![],
            }],
        };
        let text = serde_yaml::to_string(&e).unwrap();
        assert!(text.contains("mode: ab_test"), "{text}");
        assert!(text.contains("started: 2026-01-05T10:00:00Z"), "{text}");
        assert_eq!(Experiments::parse(text.as_bytes(), "x").unwrap(), e);
        assert!(
            Experiments::parse(b"experiments:\n  - proposal: P-1\n    mode: rollout\n", "x")
                .is_err()
        );
    }
}
