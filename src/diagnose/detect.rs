// TEMP STUB
use std::collections::BTreeMap;
pub struct Drift {
    pub metric: String,
    pub relative_trend: f64,
    pub slope: f64,
    pub p: f64,
    pub method: &'static str,
    pub worsening: bool,
    pub n: usize,
}
pub fn detect_drift(
    _m: &str,
    _h: &[f64],
    _d: crate::config::Direction,
    _t: f64,
    _a: f64,
    _min: usize,
) -> Option<Drift> {
    None
}
pub struct Correlated {
    pub a: String,
    pub b: String,
    pub r: f64,
    pub p: f64,
    pub n: usize,
}
pub fn detect_correlations(
    _s: &BTreeMap<String, Vec<Option<f64>>>,
    _t: f64,
    _a: f64,
    _m: usize,
) -> Vec<Correlated> {
    vec![]
}
