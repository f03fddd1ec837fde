//! `improvement-data/experiments.yaml`: the canary and A/B experiments the tool has
//! started. The demo system reads it to route a share of its explorations to a
//! variant with the experiment's constant overrides, and tags their log lines.

use crate::clock::Timestamp;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// Reads `improvement-data/experiments.yaml` under `repo`; none when absent.
    pub fn load(repo: &Path) -> Result<Experiments> {
        let path = repo.join(crate::config::EXPERIMENTS_PATH);
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().is_empty() => Ok(Experiments::default()),
            Ok(text) => {
                serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Experiments::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
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
}
