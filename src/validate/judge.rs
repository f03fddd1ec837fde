// TEMP STUB: replaced by the statistics helper's judge at merge.
use std::collections::BTreeMap;
pub struct MetricSpec {
    pub name: String,
    pub direction: crate::config::Direction,
    pub critical: bool,
    pub allowed_effect: f64,
    pub required: bool,
}
impl MetricSpec {
    pub fn from_config(m: &crate::config::MetricCfg) -> MetricSpec {
        MetricSpec {
            name: m.name.clone(),
            direction: m.direction,
            critical: m.critical,
            allowed_effect: m.allowed_effect,
            required: m.required,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Passed,
    Failed,
    Inconclusive,
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricStatus {
    Pass,
    Fail,
    Nodata,
    Insufficient,
}
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MetricResult {
    pub name: String,
    pub status: MetricStatus,
    pub critical: bool,
    pub n_control: usize,
    pub n_variant: usize,
    pub control_median: Option<f64>,
    pub variant_median: Option<f64>,
    pub control_mean: Option<f64>,
    pub variant_mean: Option<f64>,
    pub shift: Option<f64>,
    pub ci_lo: Option<f64>,
    pub ci_hi: Option<f64>,
    pub relative_effect: Option<f64>,
    pub u: Option<f64>,
    pub p: Option<f64>,
    pub improved: bool,
    pub severe: bool,
    pub reason: String,
}
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Judgment {
    pub verdict: Verdict,
    pub score: f64,
    pub metrics: Vec<MetricResult>,
    pub reason: String,
}
pub struct JudgeParams {
    pub confidence: f64,
    pub min_samples: usize,
    pub pass_score: f64,
}
pub fn judge(
    _c: &BTreeMap<String, Vec<f64>>,
    _v: &BTreeMap<String, Vec<f64>>,
    _s: &[MetricSpec],
    _p: &JudgeParams,
) -> Judgment {
    Judgment {
        verdict: Verdict::Inconclusive,
        score: 0.0,
        metrics: vec![],
        reason: "stub".into(),
    }
}
