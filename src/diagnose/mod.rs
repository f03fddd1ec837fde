//! DIAGNOSE: turn one window's observation and the metrics history into patterns
//! (recurring anomalies, drift, correlations, threshold breaches, guarded metrics on
//! the bad side of their healthy level), weigh each against healthy levels so noise is
//! not a problem to fix, and attribute each to the layer where its root cause lives
//! (rules as data in `templates/attribution.yaml`).

pub mod attribute;
pub mod detect;
pub mod history_cache;
pub mod patterns;

#[cfg(test)]
mod tests;

use crate::observe::Evidence;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    RecurringAnomaly,
    MetricDrift,
    Correlation,
    ThresholdBreach,
    /// A guarded metric on the bad side of its healthy level, drifting or not (the
    /// system doctor's levels).
    UnhealthyLevel,
}

impl PatternKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PatternKind::RecurringAnomaly => "recurring_anomaly",
            PatternKind::MetricDrift => "metric_drift",
            PatternKind::Correlation => "correlation",
            PatternKind::ThresholdBreach => "threshold_breach",
            PatternKind::UnhealthyLevel => "unhealthy_level",
        }
    }
}

/// Layers from the symptom down (DESIGN §4); the order is the attribution walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Output,
    Behavior,
    Physics,
    Protocol,
    Skill,
    Data,
}

impl Layer {
    pub const ALL: [Layer; 6] = [
        Layer::Output,
        Layer::Behavior,
        Layer::Physics,
        Layer::Protocol,
        Layer::Skill,
        Layer::Data,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Output => "output",
            Layer::Behavior => "behavior",
            Layer::Physics => "physics",
            Layer::Protocol => "protocol",
            Layer::Skill => "skill",
            Layer::Data => "data",
        }
    }
}

/// One detected pattern with its evidence (V5) and diagnosis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pattern {
    pub kind: PatternKind,
    /// Anomaly type, metric name, or "a~b" for a correlation.
    pub subject: String,
    pub occurrences: u64,
    /// Severity relative to what counts as noise (1.0 = at the noise line).
    pub severity: f64,
    /// How far the affected metric is from healthy (0 = healthy).
    pub impact: f64,
    /// `occurrences x impact / noise`, for ranking.
    pub score: f64,
    /// Whether this pattern is a problem to fix (healthy systems yield none).
    pub actionable: bool,
    /// Why it is (or is not) actionable, in plain words.
    pub why: String,
    pub evidence: Vec<Evidence>,
    /// Statistics behind the detection (p-values, slopes, r...).
    pub stats: serde_json::Value,
    pub layer: Option<Layer>,
    pub rule: Option<String>,
    pub confidence: f64,
    pub explanation: String,
    /// The guarded metric a fix would move, if the rules name one.
    pub metric: Option<String>,
    /// Features for similarity search in the pattern library.
    pub features: Vec<f64>,
    /// Set when the library knows this pattern (and how often it came back).
    pub known: Option<String>,
}

impl Pattern {
    /// A stable signature: the same problem in another window has the same one.
    pub fn signature(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.subject)
    }
}
