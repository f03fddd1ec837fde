//! VALIDATE: prove a proposal before it deploys (DESIGN §6). `unit_test` and `shadow`
//! run once in a throwaway worktree; `canary` and `ab_test` span cycles through
//! `improvement-data/experiments.yaml`; `manual` when no mode can run. Every verdict
//! keeps its numbers in `proposals/P-N/validation.json`.

pub mod decision_replay;
pub mod environment;
pub mod experiment;
pub mod judge;
pub mod modified;
pub mod replay;
mod run;

pub use run::{record_failure, retry_environment, validate};

use crate::clock::{fmt_ts, Timestamp};
use crate::store::proposals::Proposal;
use crate::vocab::ValidationMode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Passed,
    Failed,
    Inconclusive,
    /// An experiment is collecting samples.
    Running,
    /// No automatic mode applies; a human validates by approving.
    Manual,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "PASSED",
            Outcome::Failed => "FAILED",
            Outcome::Inconclusive => "INCONCLUSIVE",
            Outcome::Running => "RUNNING",
            Outcome::Manual => "MANUAL",
        }
    }
}

/// `proposals/P-N/validation.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Validation {
    pub proposal: String,
    pub mode: ValidationMode,
    pub status: Outcome,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The branch commit that was validated (a human's later commit re-validates).
    pub commit: String,
    /// Commands run, exit codes and the tail of their output.
    #[serde(default)]
    pub runs: Vec<crate::command::RunRecord>,
    /// Metrics before and after (shadow replay or experiment medians).
    #[serde(default)]
    pub metrics_before: BTreeMap<String, f64>,
    #[serde(default)]
    pub metrics_after: BTreeMap<String, f64>,
    /// Relative improvement per metric, signed so that positive is better.
    #[serde(default)]
    pub improvement: BTreeMap<String, f64>,
    /// Whether the target metric improved measurably (needed for the AUTO tier).
    #[serde(default)]
    pub target_improved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgment: Option<judge::Judgment>,
    pub recommendation: String,
    #[serde(default)]
    pub extended: bool,
    /// Why the validation could not judge the change (a command that cannot run, a
    /// missing service, logs that cannot be replayed): INCONCLUSIVE, never FAILED, and
    /// tried again in a later cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

pub fn path(id: &str) -> String {
    format!("proposals/{id}/validation.json")
}

impl Validation {
    /// A validation of `p`'s branch commit in `mode`, started now.
    pub fn new(p: &Proposal, mode: ValidationMode, now: Timestamp) -> Validation {
        Validation {
            proposal: p.id.clone(),
            mode,
            status: Outcome::Running,
            started: fmt_ts(now),
            finished: None,
            commit: p.branch_commit.clone(),
            runs: vec![],
            metrics_before: Default::default(),
            metrics_after: Default::default(),
            improvement: Default::default(),
            target_improved: false,
            judgment: None,
            recommendation: String::new(),
            extended: false,
            environment: None,
        }
    }
}

/// Where one cycle left a proposal's validation.
pub enum Step {
    /// A verdict (PASSED, FAILED, INCONCLUSIVE, or MANUAL: a human validates).
    Finished(Box<Validation>),
    /// Something started or was extended (an experiment); the line says what.
    Started(String),
    /// An experiment is still gathering samples.
    Waiting,
}
