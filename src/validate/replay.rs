//! `unit_test` and `shadow`: export the baseline and the candidate trees to throwaway
//! directories and run the configured commands there, so the user's working tree is
//! never touched. Shadow runs the replay command on the same recorded inputs for both
//! and compares the metrics it prints (one JSON object).

use crate::command::{self, Limits, RunRecord};
use crate::config::Config;
use crate::git::Git;
use anyhow::{Context, Result};
use git2::Oid;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Runs the test command on `commit`, stopped at its timeout or the cycle's
/// `deadline`. None when no test command is configured.
#[tracing::instrument(level = "debug", skip_all)]
pub fn unit_test(
    git: &Git,
    cfg: &Config,
    commit: Oid,
    deadline: Option<Instant>,
) -> Result<Option<RunRecord>> {
    if cfg.validation.test_command.is_empty() {
        return Ok(None);
    }
    let dir = tempfile::tempdir().context("creating a temporary worktree")?;
    git.export_tree(commit, dir.path())?;
    let limits = Limits {
        timeout: duration(cfg, &cfg.validation.test_timeout),
        deadline,
    };
    command::run_limited(&cfg.validation.test_command, dir.path(), &[], None, limits).map(Some)
}

pub struct Shadow {
    pub baseline: RunRecord,
    pub candidate: RunRecord,
    pub before: BTreeMap<String, f64>,
    pub after: BTreeMap<String, f64>,
}

/// Runs the replay command on `base` and `candidate` over the same inputs (the
/// repository's logs, passed as `IMPROVE_REPLAY_INPUTS`), each stopped at its timeout
/// or the cycle's `deadline`. None when not configured.
#[tracing::instrument(name = "shadow_replay", level = "debug", skip_all)]
pub fn shadow(
    git: &Git,
    cfg: &Config,
    base: Oid,
    candidate: Oid,
    deadline: Option<Instant>,
) -> Result<Option<Shadow>> {
    if cfg.validation.replay_command.is_empty() {
        return Ok(None);
    }
    let inputs = git.root().display().to_string();
    let limits = Limits {
        timeout: duration(cfg, &cfg.validation.test_timeout),
        deadline,
    };
    let one = |commit: Oid| -> Result<(RunRecord, BTreeMap<String, f64>)> {
        let dir = tempfile::tempdir()?;
        git.export_tree(commit, dir.path())?;
        let r = command::run_limited(
            &cfg.validation.replay_command,
            dir.path(),
            &[("IMPROVE_REPLAY_INPUTS", inputs.clone())],
            None,
            limits,
        )?;
        let metrics = parse_metrics(&r.stdout);
        Ok((r, metrics))
    };
    let (baseline, before) = one(base)?;
    let (candidate_run, after) = one(candidate)?;
    Ok(Some(Shadow {
        baseline,
        candidate: candidate_run,
        before,
        after,
    }))
}

/// The numeric fields of the last JSON object the command printed.
pub fn parse_metrics(stdout: &str) -> BTreeMap<String, f64> {
    stdout
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l.trim()).ok()
        })
        .map(|m| {
            m.into_iter()
                .filter_map(|(k, v)| v.as_f64().filter(|f| f.is_finite()).map(|f| (k, f)))
                .collect()
        })
        .unwrap_or_default()
}

fn duration(cfg: &Config, s: &str) -> Duration {
    Duration::from_millis(cfg.dur(s).num_milliseconds().max(1000) as u64)
}

/// Relative change of `after` against `before`, signed so that positive is better.
pub fn improvement(before: f64, after: f64, higher_is_better: bool) -> f64 {
    let base = if before.abs() > 1e-12 {
        before.abs()
    } else {
        1.0
    };
    let rel = (after - before) / base;
    if higher_is_better {
        rel
    } else {
        -rel
    }
}
