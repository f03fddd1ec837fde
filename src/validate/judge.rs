//! The judge behind canary, A/B and post-deploy monitoring, in the manner of
//! Kayenta: per metric, a one-sided Mann-Whitney test and a Hodges-Lehmann shift
//! against an allowed effect; critical metrics veto; every verdict says its numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Direction, MetricCfg};
use crate::stats;

/// How one metric is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub name: String,
    pub direction: Direction,
    /// A failure of this metric fails the whole judgment.
    pub critical: bool,
    /// Relative shift tolerated in the bad direction (0.1 = 10 %).
    pub allowed_effect: f64,
    /// No data in a group is a failure rather than "not judged".
    pub required: bool,
}

impl MetricSpec {
    pub fn from_config(m: &MetricCfg) -> MetricSpec {
        MetricSpec {
            name: m.name.clone(),
            direction: m.direction,
            critical: m.critical,
            allowed_effect: m.allowed_effect,
            required: m.required,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Passed,
    Failed,
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricStatus {
    Pass,
    Fail,
    /// No samples in one group.
    Nodata,
    /// Fewer than `min_samples` in one group.
    Insufficient,
}

/// The judgment of one metric, with everything needed to explain it.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Hodges-Lehmann shift, variant - control.
    pub shift: Option<f64>,
    pub ci_lo: Option<f64>,
    pub ci_hi: Option<f64>,
    /// Shift relative to the control's baseline, signed so positive is better for
    /// the metric's direction. Absolute when the baseline is 0.
    pub relative_effect: Option<f64>,
    /// Mann-Whitney U of the variant.
    pub u: Option<f64>,
    /// One-sided Mann-Whitney p-value for "the variant is worse": the test the
    /// failure rule uses.
    pub p: Option<f64>,
    /// Significantly better in the metric's good direction.
    pub improved: bool,
    /// Failed, and worse by more than twice the allowed effect.
    pub severe: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Judgment {
    pub verdict: Verdict,
    /// Passing metrics / judged metrics (0 when none was judged).
    pub score: f64,
    pub metrics: Vec<MetricResult>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JudgeParams {
    /// 0.95: a difference is significant when its one-sided p < 1 - confidence.
    pub confidence: f64,
    /// Samples needed in each group before a metric is judged.
    pub min_samples: usize,
    /// Share of judged metrics that must pass.
    pub pass_score: f64,
}

impl Default for JudgeParams {
    fn default() -> JudgeParams {
        JudgeParams {
            confidence: 0.95,
            min_samples: 10,
            pass_score: 0.75,
        }
    }
}

/// A number in a sentence: four significant digits, no float noise.
fn num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn pval(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p != 0.0 && p.abs() < 0.1 {
        format!("{}%", num(p))
    } else {
        format!("{p:.1}%")
    }
}

fn finite(x: Option<&Vec<f64>>) -> Vec<f64> {
    x.map(|v| v.iter().copied().filter(|x| x.is_finite()).collect())
        .unwrap_or_default()
}

/// Judges one metric.
fn judge_metric(c: &[f64], v: &[f64], spec: &MetricSpec, params: &JudgeParams) -> MetricResult {
    let confidence = if params.confidence.is_finite() {
        params.confidence
    } else {
        0.95
    };
    let alpha = (1.0 - confidence).clamp(1e-9, 0.5);
    let allowed = if spec.allowed_effect.is_finite() {
        spec.allowed_effect.abs()
    } else {
        0.0
    };
    let mut r = MetricResult {
        name: spec.name.clone(),
        status: MetricStatus::Nodata,
        critical: spec.critical,
        n_control: c.len(),
        n_variant: v.len(),
        control_median: stats::median(c),
        variant_median: stats::median(v),
        control_mean: stats::mean(c),
        variant_mean: stats::mean(v),
        shift: None,
        ci_lo: None,
        ci_hi: None,
        relative_effect: None,
        u: None,
        p: None,
        improved: false,
        severe: false,
        reason: String::new(),
    };
    let counts = format!("n={} control / {} variant", c.len(), v.len());
    if c.is_empty() || v.is_empty() {
        r.reason = format!(
            "{}: no data ({counts}){}.",
            spec.name,
            if spec.required {
                "; the metric is required, so this is a failure"
            } else {
                "; not judged"
            }
        );
        return r;
    }
    if c.len() < params.min_samples || v.len() < params.min_samples {
        r.status = MetricStatus::Insufficient;
        r.reason = format!(
            "{}: too few samples ({counts}, {} needed in each); not judged.",
            spec.name, params.min_samples
        );
        return r;
    }
    let (Some(mw), Some(hl)) = (
        stats::mann_whitney(c, v),
        stats::hodges_lehmann(c, v, 1.0 - alpha),
    ) else {
        // Unreachable with non-empty finite samples; kept as "no data" to stay total.
        r.reason = format!("{}: no usable data ({counts}).", spec.name);
        return r;
    };
    let sign = spec.direction.sign();
    let (p_worse, p_better) = match spec.direction {
        Direction::Higher => (mw.p_less, mw.p_greater),
        Direction::Lower => (mw.p_greater, mw.p_less),
    };
    // A baseline within 1e-9 of the data's magnitude (rounding residue of values
    // around zero, a subnormal) is zero: dividing by it would mean nothing.
    let scale = c.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let negligible = |x: f64| if x.abs() <= scale * 1e-9 { 0.0 } else { x };
    let cmed = negligible(r.control_median.unwrap_or(0.0));
    let cmean = negligible(r.control_mean.unwrap_or(0.0));
    // The baseline the shift is measured against; with a zero baseline the shift
    // is compared with the allowed effect as an absolute number.
    let (baseline, base_name) = if cmed != 0.0 {
        (cmed.abs(), "of the control median")
    } else if cmean != 0.0 {
        (cmean.abs(), "of the control mean")
    } else {
        (1.0, "absolute, the control is 0")
    };
    let absolute = cmed == 0.0 && cmean == 0.0;
    let amount = |x: f64| if absolute { num(x) } else { pct(x) };
    let relative = sign * hl.estimate / baseline;
    let relative = if relative.is_finite() {
        relative
    } else {
        relative.signum() * f64::MAX
    };
    let worse_by = -relative;
    let significant_worse = p_worse < alpha;
    let fail = significant_worse && worse_by > allowed;
    r.improved = p_better < alpha && relative > 0.0;
    r.severe = fail && worse_by > 2.0 * allowed;
    r.status = if fail {
        MetricStatus::Fail
    } else {
        MetricStatus::Pass
    };
    r.shift = Some(hl.estimate);
    r.ci_lo = Some(hl.lo);
    r.ci_hi = Some(hl.hi);
    r.relative_effect = Some(relative);
    r.u = Some(mw.u);
    r.p = Some(p_worse);

    let effect = if relative == 0.0 {
        "no change".to_string()
    } else if relative > 0.0 {
        format!("{} better", amount(relative))
    } else {
        format!("{} worse", amount(worse_by))
    };
    let verdict = if fail {
        format!(
            "fail: significantly worse (p(worse)={} < {}) by more than the allowed {}{}",
            pval(p_worse),
            pval(alpha),
            amount(allowed),
            if r.severe { ", severe" } else { "" }
        )
    } else if significant_worse {
        format!(
            "pass: worse (p(worse)={}) but within the allowed {}",
            pval(p_worse),
            amount(allowed)
        )
    } else if r.improved {
        format!("pass: significantly better (p(better)={})", pval(p_better))
    } else {
        format!(
            "pass: no significant degradation (p(worse)={})",
            pval(p_worse)
        )
    };
    r.reason = format!(
        "{}: variant median {} vs control {} ({counts}), shift {} ({}% CI {} to {}), {effect} ({base_name}); {verdict}.",
        spec.name,
        num(r.variant_median.unwrap_or(0.0)),
        num(cmed),
        num(hl.estimate),
        num(hl.confidence * 100.0),
        num(hl.lo),
        num(hl.hi),
    );
    r
}

/// Judges the variant against the control over every metric in `specs`.
///
/// A metric fails when the variant is significantly worse (one-sided Mann-Whitney,
/// p < 1 - confidence) and worse by more than its allowed effect. Metrics without
/// data are failures only when required; metrics with too few samples are not
/// judged. PASSED needs at least one judged metric, no critical failure and
/// score >= pass_score; FAILED is a critical failure, or a score too low even if
/// every metric still short of samples were to pass; anything else is
/// INCONCLUSIVE.
pub fn judge(
    control: &BTreeMap<String, Vec<f64>>,
    variant: &BTreeMap<String, Vec<f64>>,
    specs: &[MetricSpec],
    params: &JudgeParams,
) -> Judgment {
    let metrics: Vec<MetricResult> = specs
        .iter()
        .map(|s| {
            let c = finite(control.get(&s.name));
            let v = finite(variant.get(&s.name));
            judge_metric(&c, &v, s, params)
        })
        .collect();

    let mut passing = 0usize;
    let mut failing = 0usize;
    let mut insufficient = 0usize;
    let mut critical_failures: Vec<&str> = Vec::new();
    for (m, s) in metrics.iter().zip(specs) {
        let failed = match m.status {
            MetricStatus::Pass => {
                passing += 1;
                false
            }
            MetricStatus::Fail => true,
            MetricStatus::Nodata => s.required,
            MetricStatus::Insufficient => {
                insufficient += 1;
                false
            }
        };
        if failed {
            failing += 1;
            if s.critical {
                critical_failures.push(&m.name);
            }
        }
    }
    let judged = passing + failing;
    let score = if judged == 0 {
        0.0
    } else {
        passing as f64 / judged as f64
    };
    // The best score still reachable if every metric short of samples passed.
    let best_score = if judged + insufficient == 0 {
        0.0
    } else {
        (passing + insufficient) as f64 / (judged + insufficient) as f64
    };
    let pass_score = if params.pass_score.is_finite() {
        params.pass_score
    } else {
        1.0
    };
    let tally = format!(
        "{passing} of {judged} judged metrics pass (score {:.2}, needed {:.2}){}",
        score,
        pass_score,
        if insufficient > 0 {
            format!(", {insufficient} with too few samples")
        } else {
            String::new()
        }
    );
    let (verdict, reason) = if !critical_failures.is_empty() {
        (
            Verdict::Failed,
            format!(
                "FAILED: critical metric {} failed; {tally}.",
                critical_failures.join(", ")
            ),
        )
    } else if judged == 0 {
        (
            Verdict::Inconclusive,
            format!(
                "INCONCLUSIVE: no metric could be judged ({} metrics, {insufficient} with too few samples).",
                metrics.len()
            ),
        )
    } else if score >= pass_score {
        (Verdict::Passed, format!("PASSED: {tally}."))
    } else if best_score < pass_score {
        (Verdict::Failed, format!("FAILED: {tally}."))
    } else {
        (
            Verdict::Inconclusive,
            format!("INCONCLUSIVE: {tally}; more samples could still change it."),
        )
    };
    Judgment {
        verdict,
        score,
        metrics,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_rng::Rng;

    fn spec(name: &str, direction: Direction, critical: bool) -> MetricSpec {
        MetricSpec {
            name: name.into(),
            direction,
            critical,
            allowed_effect: 0.10,
            required: false,
        }
    }

    fn params() -> JudgeParams {
        JudgeParams {
            confidence: 0.95,
            min_samples: 10,
            pass_score: 0.75,
        }
    }

    fn groups(pairs: &[(&str, Vec<f64>)]) -> BTreeMap<String, Vec<f64>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// Serializes and checks no number became null (NaN/inf) in a judged metric.
    fn assert_clean(j: &Judgment) {
        assert!(j.score.is_finite());
        let json = serde_json::to_value(j).expect("judgment serializes");
        for m in json["metrics"].as_array().unwrap() {
            if m["status"] == "pass" || m["status"] == "fail" {
                for f in [
                    "control_median",
                    "variant_median",
                    "shift",
                    "ci_lo",
                    "ci_hi",
                ] {
                    assert!(m[f].is_number(), "{f} is not a number in {m}");
                }
                for f in ["relative_effect", "u", "p"] {
                    assert!(m[f].is_number(), "{f} is not a number in {m}");
                }
            }
            assert!(!m["reason"].as_str().unwrap().is_empty());
        }
        let back: Judgment = serde_json::from_value(json).unwrap();
        assert_eq!(back.verdict, j.verdict);
    }

    #[test]
    fn planted_improvement_passes_and_is_measured() {
        let mut rng = Rng::new(7);
        let control = groups(&[
            ("latency_ms", rng.normals(60, 200.0, 20.0)),
            ("success_rate", rng.normals(60, 0.90, 0.02)),
        ]);
        let variant = groups(&[
            ("latency_ms", rng.normals(60, 160.0, 20.0)),
            ("success_rate", rng.normals(60, 0.90, 0.02)),
        ]);
        let specs = [
            spec("latency_ms", Direction::Lower, true),
            spec("success_rate", Direction::Higher, false),
        ];
        let j = judge(&control, &variant, &specs, &params());
        assert_eq!(j.verdict, Verdict::Passed, "{}", j.reason);
        assert_eq!(j.score, 1.0);
        let lat = &j.metrics[0];
        assert_eq!(lat.status, MetricStatus::Pass);
        assert!(lat.improved && !lat.severe);
        let rel = lat.relative_effect.unwrap();
        assert!((0.14..0.26).contains(&rel), "relative effect {rel}");
        assert!(lat.shift.unwrap() < 0.0 && lat.ci_hi.unwrap() < 0.0);
        assert!(lat.p.unwrap() > 0.5, "p(worse) of an improvement");
        assert!(
            lat.reason.contains("better") && lat.reason.contains("n=60"),
            "{}",
            lat.reason
        );
        assert!(!j.metrics[1].improved);
        assert!(j.reason.starts_with("PASSED"), "{}", j.reason);
        assert_clean(&j);
    }

    #[test]
    fn planted_degradation_of_critical_metric_fails() {
        let mut rng = Rng::new(11);
        let control = groups(&[
            ("latency_ms", rng.normals(40, 200.0, 20.0)),
            ("a", rng.normals(40, 5.0, 1.0)),
            ("b", rng.normals(40, 5.0, 1.0)),
            ("c", rng.normals(40, 5.0, 1.0)),
        ]);
        let variant = groups(&[
            ("latency_ms", rng.normals(40, 260.0, 20.0)),
            ("a", rng.normals(40, 5.0, 1.0)),
            ("b", rng.normals(40, 5.0, 1.0)),
            ("c", rng.normals(40, 5.0, 1.0)),
        ]);
        let specs = [
            spec("latency_ms", Direction::Lower, true),
            spec("a", Direction::Higher, false),
            spec("b", Direction::Higher, false),
            spec("c", Direction::Higher, false),
        ];
        let j = judge(&control, &variant, &specs, &params());
        // 3 of 4 pass (score 0.75 = pass_score), but the critical failure vetoes.
        assert_eq!(j.score, 0.75);
        assert_eq!(j.verdict, Verdict::Failed, "{}", j.reason);
        let lat = &j.metrics[0];
        assert_eq!(lat.status, MetricStatus::Fail);
        assert!(lat.severe, "30% worse is more than twice the allowed 10%");
        assert!(lat.p.unwrap() < 0.05);
        assert!(
            j.reason.contains("critical metric latency_ms"),
            "{}",
            j.reason
        );
        assert!(lat.reason.contains("worse"), "{}", lat.reason);
        assert_clean(&j);

        // The same degradation on a non-critical metric: one failure in four is
        // still a pass at 0.75.
        let mut specs = specs;
        specs[0].critical = false;
        let j = judge(&control, &variant, &specs, &params());
        assert_eq!(j.verdict, Verdict::Passed, "{}", j.reason);
    }

    #[test]
    fn direction_decides_what_is_worse() {
        let mut rng = Rng::new(21);
        let control = groups(&[("rate", rng.normals(30, 0.9, 0.03))]);
        let variant = groups(&[("rate", rng.normals(30, 0.7, 0.03))]);
        let j = judge(
            &control,
            &variant,
            &[spec("rate", Direction::Higher, true)],
            &params(),
        );
        assert_eq!(j.verdict, Verdict::Failed, "{}", j.reason);
        assert!(j.metrics[0].relative_effect.unwrap() < -0.15);
        let j = judge(
            &control,
            &variant,
            &[spec("rate", Direction::Lower, true)],
            &params(),
        );
        assert_eq!(j.verdict, Verdict::Passed, "{}", j.reason);
        assert!(j.metrics[0].improved);
        assert!(j.metrics[0].relative_effect.unwrap() > 0.15);
    }

    #[test]
    fn significant_but_allowed_degradation_passes() {
        let mut rng = Rng::new(3);
        let control = groups(&[("err", rng.normals(400, 100.0, 3.0))]);
        let variant = groups(&[("err", rng.normals(400, 104.0, 3.0))]);
        let j = judge(
            &control,
            &variant,
            &[spec("err", Direction::Lower, true)],
            &params(),
        );
        let m = &j.metrics[0];
        assert!(m.p.unwrap() < 1e-6, "{m:?}");
        assert_eq!(m.status, MetricStatus::Pass);
        assert!(!m.severe && !m.improved);
        assert!(
            m.reason.contains("within the allowed 10.0%"),
            "{}",
            m.reason
        );
        assert_eq!(j.verdict, Verdict::Passed);
    }

    #[test]
    fn large_but_insignificant_shift_passes() {
        // Half the samples moved a lot, with much noise: not significant at n=10.
        let control = groups(&[("x", vec![1., 9., 2., 8., 3., 7., 4., 6., 5., 5.])]);
        let variant = groups(&[("x", vec![1., 9., 2., 8., 3., 7., 4., 6., 0., 1.])]);
        let j = judge(
            &control,
            &variant,
            &[spec("x", Direction::Higher, true)],
            &params(),
        );
        let m = &j.metrics[0];
        assert!(m.p.unwrap() >= 0.05, "{m:?}");
        assert_eq!(m.status, MetricStatus::Pass);
    }

    #[test]
    fn too_few_samples_is_inconclusive() {
        let mut rng = Rng::new(5);
        let control = groups(&[
            ("x", rng.normals(5, 1.0, 0.1)),
            ("y", rng.normals(50, 1.0, 0.1)),
        ]);
        let variant = groups(&[
            ("x", rng.normals(50, 2.0, 0.1)),
            ("y", rng.normals(4, 2.0, 0.1)),
        ]);
        let specs = [
            spec("x", Direction::Higher, true),
            spec("y", Direction::Higher, false),
        ];
        let j = judge(&control, &variant, &specs, &params());
        assert_eq!(j.verdict, Verdict::Inconclusive, "{}", j.reason);
        assert_eq!(j.score, 0.0);
        assert!(j
            .metrics
            .iter()
            .all(|m| m.status == MetricStatus::Insufficient));
        assert!(
            j.metrics[0].reason.contains("10 needed"),
            "{}",
            j.metrics[0].reason
        );
        assert_clean(&j);
    }

    #[test]
    fn low_score_fails_unless_missing_samples_could_lift_it() {
        let mut rng = Rng::new(9);
        let bad_c = rng.normals(30, 100.0, 5.0);
        let bad_v = rng.normals(30, 150.0, 5.0);
        let ok = rng.normals(30, 100.0, 5.0);
        let control = groups(&[("a", bad_c.clone()), ("b", ok.clone()), ("c", ok.clone())]);
        let variant = groups(&[
            ("a", bad_v.clone()),
            ("b", ok.clone()),
            ("c", ok[..3].to_vec()),
        ]);
        let specs = [
            spec("a", Direction::Lower, false),
            spec("b", Direction::Lower, false),
            spec("c", Direction::Lower, false),
        ];
        let j = judge(&control, &variant, &specs, &params());
        // a fails, b passes, c short of samples: 0.5 now, 0.67 at best: still < 0.75.
        assert_eq!(j.score, 0.5);
        assert_eq!(j.verdict, Verdict::Failed, "{}", j.reason);

        let lenient = JudgeParams {
            pass_score: 0.6,
            ..params()
        };
        let j = judge(&control, &variant, &specs, &lenient);
        assert_eq!(j.verdict, Verdict::Inconclusive, "{}", j.reason);
    }

    #[test]
    fn nodata_required_versus_optional() {
        let mut rng = Rng::new(1);
        let data = rng.normals(20, 10.0, 1.0);
        let control = groups(&[("present", data.clone()), ("gone", data.clone())]);
        let variant = groups(&[("present", data.clone()), ("gone", vec![f64::NAN])]);
        let mut gone = spec("gone", Direction::Higher, false);
        let present = spec("present", Direction::Higher, false);

        let j = judge(
            &control,
            &variant,
            &[present.clone(), gone.clone()],
            &params(),
        );
        assert_eq!(j.metrics[1].status, MetricStatus::Nodata);
        assert_eq!(j.verdict, Verdict::Passed, "optional nodata is not judged");
        assert_eq!(j.score, 1.0);
        assert!(j.metrics[1].reason.contains("not judged"));

        gone.required = true;
        let j = judge(
            &control,
            &variant,
            &[present.clone(), gone.clone()],
            &params(),
        );
        assert_eq!(j.score, 0.5);
        assert_eq!(j.verdict, Verdict::Failed, "{}", j.reason);
        assert!(j.metrics[1].reason.contains("required"));

        gone.critical = true;
        let j = judge(&control, &variant, &[present, gone], &params());
        assert_eq!(j.verdict, Verdict::Failed);
        assert!(j.reason.contains("critical metric gone"), "{}", j.reason);
        assert_clean(&j);

        // A metric absent from both maps is nodata too.
        let j = judge(
            &control,
            &variant,
            &[spec("nowhere", Direction::Lower, true)],
            &params(),
        );
        assert_eq!(j.metrics[0].status, MetricStatus::Nodata);
        assert_eq!(j.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn constant_series_and_zero_baselines() {
        let control = groups(&[
            ("flat", vec![3.0; 20]),
            ("errors", vec![0.0; 20]),
            ("errors_up", vec![0.0; 20]),
        ]);
        let mut up = vec![0.0; 20];
        up[..12].fill(1.0);
        let variant = groups(&[
            ("flat", vec![3.0; 20]),
            ("errors", vec![0.0; 20]),
            ("errors_up", up),
        ]);
        let specs = [
            spec("flat", Direction::Higher, true),
            spec("errors", Direction::Lower, true),
            spec("errors_up", Direction::Lower, false),
        ];
        let j = judge(&control, &variant, &specs, &params());
        for m in &j.metrics[..2] {
            assert_eq!(m.status, MetricStatus::Pass, "{}", m.reason);
            assert_eq!(m.p, Some(1.0));
            assert_eq!(m.relative_effect, Some(0.0));
        }
        // Zero baseline: the shift (1 error) is compared in absolute terms.
        let m = &j.metrics[2];
        assert_eq!(m.status, MetricStatus::Fail, "{}", m.reason);
        assert_eq!(m.relative_effect, Some(-1.0));
        assert!(m.reason.contains("absolute"), "{}", m.reason);
        assert_clean(&j);
    }

    #[test]
    fn zero_median_falls_back_to_mean() {
        // Median 0 but mean 1: a shift of +0.5 is 50 % of the mean.
        let mut c = vec![0.0; 12];
        c.extend([2.5; 8]);
        let v: Vec<f64> = c.iter().map(|x| x + 0.5).collect();
        let control = groups(&[("q", c)]);
        let variant = groups(&[("q", v)]);
        let j = judge(
            &control,
            &variant,
            &[spec("q", Direction::Lower, false)],
            &params(),
        );
        let m = &j.metrics[0];
        assert!((m.relative_effect.unwrap() + 0.5).abs() < 1e-9, "{m:?}");
        assert!(m.reason.contains("control mean"), "{}", m.reason);
        assert_clean(&j);
    }

    #[test]
    fn values_around_zero_use_the_absolute_shift() {
        // Median 0 and a mean that is only rounding residue: absolute comparison.
        let c: Vec<f64> = (0..21).map(|i| (i as f64 - 10.0) * 0.1).collect();
        let v: Vec<f64> = c.iter().map(|x| x + 0.05).collect();
        let control = groups(&[("m", c)]);
        let variant = groups(&[("m", v)]);
        let j = judge(
            &control,
            &variant,
            &[spec("m", Direction::Lower, false)],
            &params(),
        );
        let m = &j.metrics[0];
        assert!((m.relative_effect.unwrap() + 0.05).abs() < 1e-9, "{m:?}");
        assert!(m.reason.contains("absolute"), "{}", m.reason);
    }

    #[test]
    fn degenerate_inputs_never_panic_or_nan() {
        let j = judge(&BTreeMap::new(), &BTreeMap::new(), &[], &params());
        assert_eq!(j.verdict, Verdict::Inconclusive);
        assert_eq!(j.score, 0.0);
        let weird = JudgeParams {
            confidence: f64::NAN,
            min_samples: 0,
            pass_score: f64::NAN,
        };
        let control = groups(&[("x", vec![f64::INFINITY, 1.0, 2.0])]);
        let variant = groups(&[("x", vec![1.0e308, -1.0e308, 5.0])]);
        let mut s = spec("x", Direction::Lower, true);
        s.allowed_effect = f64::NAN;
        let j = judge(&control, &variant, &[s], &weird);
        assert_eq!(j.metrics[0].n_control, 2);
        assert_clean(&j);
    }

    #[test]
    fn enums_serialize_as_documented() {
        assert_eq!(
            serde_json::to_string(&Verdict::Inconclusive).unwrap(),
            "\"INCONCLUSIVE\""
        );
        assert_eq!(
            serde_json::to_string(&MetricStatus::Insufficient).unwrap(),
            "\"insufficient\""
        );
        let cfg: MetricCfg =
            serde_yaml::from_str("name: m\ndirection: lower\ncritical: true").unwrap();
        let s = MetricSpec::from_config(&cfg);
        assert_eq!(
            (s.direction, s.critical, s.required),
            (Direction::Lower, true, false)
        );
        assert_eq!(s.allowed_effect, cfg.allowed_effect);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => -1e3..1e3f64,
            1 => Just(0.0),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => prop::num::f64::ANY,
        ]
    }

    fn finite_or_none(x: Option<f64>) -> bool {
        x.is_none_or(f64::is_finite)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn judge_is_total_and_finite(
            c in prop::collection::vec(value(), 0..40),
            v in prop::collection::vec(value(), 0..40),
            lower in any::<bool>(),
            critical in any::<bool>(),
            required in any::<bool>(),
            allowed in prop_oneof![0.0..1.0f64, Just(f64::NAN)],
            min_samples in 0usize..12,
        ) {
            let control: BTreeMap<String, Vec<f64>> = [("m".to_string(), c)].into();
            let variant: BTreeMap<String, Vec<f64>> = [("m".to_string(), v)].into();
            let spec = MetricSpec {
                name: "m".into(),
                direction: if lower { Direction::Lower } else { Direction::Higher },
                critical,
                allowed_effect: allowed,
                required,
            };
            let params = JudgeParams { confidence: 0.95, min_samples, pass_score: 0.75 };
            let j = judge(&control, &variant, &[spec], &params);
            prop_assert!(j.score.is_finite());
            let m = &j.metrics[0];
            for x in [m.control_median, m.variant_median, m.control_mean, m.variant_mean,
                      m.shift, m.ci_lo, m.ci_hi, m.relative_effect, m.u, m.p] {
                prop_assert!(finite_or_none(x), "{m:?}");
            }
            if let Some(p) = m.p {
                prop_assert!((0.0..=1.0).contains(&p));
            }
            prop_assert!(serde_json::to_string(&j).is_ok());
        }

        #[test]
        fn stats_are_total_and_finite(
            a in prop::collection::vec(value(), 0..30),
            b in prop::collection::vec(value(), 0..30),
        ) {
            use crate::stats::*;
            if let Some(r) = mann_whitney(&a, &b) {
                for p in [r.p_two_sided, r.p_greater, r.p_less] {
                    prop_assert!((0.0..=1.0).contains(&p), "{r:?}");
                }
                prop_assert!(r.u.is_finite() && r.z.is_finite());
            }
            if let Some(h) = hodges_lehmann(&a, &b, 0.95) {
                prop_assert!(h.lo <= h.estimate && h.estimate <= h.hi, "{h:?}");
            }
            if let Some(t) = linear_trend(&a) {
                prop_assert!(t.slope.is_finite() && t.t.is_finite() && (0.0..=1.0).contains(&t.p), "{t:?}");
            }
            if let Some(m) = mann_kendall(&a) {
                prop_assert!(m.z.is_finite() && m.sen_slope.is_finite() && (0.0..=1.0).contains(&m.p), "{m:?}");
            }
            if let Some(c) = pearson(&a, &b) {
                prop_assert!((-1.0..=1.0).contains(&c.r) && (0.0..=1.0).contains(&c.p), "{c:?}");
            }
            for x in [mean(&a), median(&a), std_dev(&a)] {
                prop_assert!(finite_or_none(x));
            }
        }
    }
}
