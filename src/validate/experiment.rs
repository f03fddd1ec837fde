//! `canary` and `ab_test`: the active experiments live in
//! `improvement-data/experiments.yaml` on the deploy branch, where the system reads
//! them and tags its log lines with `variant`. Samples accumulate across cycles in
//! `proposals/P-N/experiment.json` (bounded) until the duration has passed; then the
//! judge decides. INCONCLUSIVE extends once, then a human decides (E3).

use crate::clock::{fmt_ts, parse_ts, Timestamp};
use crate::config::{Config, EXPERIMENTS_PATH};
use crate::git::Git;
use crate::observe::Observation;
use crate::propose::proposal::Proposal;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Experiments {
    #[serde(default)]
    pub experiments: Vec<Experiment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub proposal: String,
    pub mode: String,
    pub percentage: u32,
    pub started: String,
    #[serde(default)]
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub file: String,
    pub name: String,
    pub value: f64,
}

/// `proposals/P-N/experiment.json`: samples gathered so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExperimentState {
    pub mode: String,
    pub started: String,
    pub ends: String,
    pub extended: bool,
    pub control: BTreeMap<String, Vec<f64>>,
    pub variant: BTreeMap<String, Vec<f64>>,
}

/// Most samples kept per group and metric: enough for the judge, bounded in size.
pub const MAX_SAMPLES: usize = 2000;

pub fn state_path(id: &str) -> String {
    format!("proposals/{id}/experiment.json")
}

pub fn read(git: &Git, tip: git2::Oid) -> Result<Experiments> {
    match git.read_file(tip, EXPERIMENTS_PATH)? {
        Some(b) => {
            serde_yaml::from_slice(&b).with_context(|| format!("{EXPERIMENTS_PATH} is not valid"))
        }
        None => Ok(Experiments::default()),
    }
}

fn write_commit(
    git: &Git,
    cfg: &Config,
    exps: &Experiments,
    message: &str,
    now: Timestamp,
) -> Result<git2::Oid> {
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let mut text = String::from("# Active experiments, written by `improve` (canary and A/B validation).\n# The system tags each log line with the variant it ran under.\n");
    text.push_str(&serde_yaml::to_string(exps)?);
    let mut changes = BTreeMap::new();
    changes.insert(EXPERIMENTS_PATH.to_string(), Some(text.into_bytes()));
    let new = git.commit_changes(Some(tip), &changes, message, now)?;
    git.advance_branch(&cfg.deploy_branch, tip, new, "improve: experiments")?;
    Ok(new)
}

/// The overrides a constant tune runs with in its variant.
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

/// Starts an experiment for `p`; returns its state record.
pub fn start(
    git: &Git,
    cfg: &Config,
    p: &Proposal,
    mode: &str,
    now: Timestamp,
) -> Result<ExperimentState> {
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let mut exps = read(git, tip)?;
    exps.experiments.retain(|e| e.proposal != p.id);
    let (pct, dur) = if mode == "canary" {
        (
            cfg.validation.canary_percentage,
            cfg.dur(&cfg.validation.canary_duration),
        )
    } else {
        (
            cfg.validation.ab_percentage,
            cfg.dur(&cfg.validation.ab_duration),
        )
    };
    exps.experiments.push(Experiment {
        proposal: p.id.clone(),
        mode: mode.to_string(),
        percentage: pct,
        started: fmt_ts(now),
        overrides: overrides(p),
    });
    write_commit(
        git,
        cfg,
        &exps,
        &format!(
            "improve: start {mode} for {}\n\nImprove-Proposal: {}\n",
            p.id, p.id
        ),
        now,
    )?;
    Ok(ExperimentState {
        mode: mode.to_string(),
        started: fmt_ts(now),
        ends: fmt_ts(now + dur),
        extended: false,
        control: BTreeMap::new(),
        variant: BTreeMap::new(),
    })
}

/// Removes `id`'s experiment from the deploy branch (a no-op when already gone).
pub fn stop(git: &Git, cfg: &Config, id: &str, now: Timestamp) -> Result<()> {
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let mut exps = read(git, tip)?;
    let before = exps.experiments.len();
    exps.experiments.retain(|e| e.proposal != id);
    if exps.experiments.len() != before {
        write_commit(
            git,
            cfg,
            &exps,
            &format!("improve: end the experiment of {id}\n\nImprove-Proposal: {id}\n"),
            now,
        )?;
    }
    Ok(())
}

/// Adds this cycle's samples of the variant and of the control group.
pub fn accumulate(state: &mut ExperimentState, obs: &Observation, id: &str) {
    let add = |into: &mut BTreeMap<String, Vec<f64>>, from: Option<&BTreeMap<String, Vec<f64>>>| {
        if let Some(from) = from {
            for (m, v) in from {
                let dst = into.entry(m.clone()).or_default();
                dst.extend(v.iter().copied().filter(|x| x.is_finite()));
                if dst.len() > MAX_SAMPLES {
                    let cut = dst.len() - MAX_SAMPLES;
                    dst.drain(..cut);
                }
            }
        }
    };
    add(&mut state.variant, obs.samples.get(id));
    add(&mut state.control, obs.samples.get("control"));
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
