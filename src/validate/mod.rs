//! VALIDATE: prove a proposal before it deploys (DESIGN §6). `unit_test` and `shadow`
//! run once in a throwaway worktree; `canary` and `ab_test` span cycles through
//! `improvement-data/experiments.yaml`; `manual` when no mode can run. Every verdict
//! keeps its numbers in `proposals/P-N/validation.json`.

pub mod command;
pub mod decision_replay;
pub mod experiment;
pub mod judge;
pub mod replay;

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
    pub mode: String,
    pub status: Outcome,
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The branch commit that was validated (a human's later commit re-validates).
    pub commit: String,
    /// Commands run, exit codes and the tail of their output.
    #[serde(default)]
    pub runs: Vec<command::RunRecord>,
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
}

pub fn path(id: &str) -> String {
    format!("proposals/{id}/validation.json")
}
