//! The judge on planted improvements and degradations, missing and scarce data,
//! constant series and zero baselines; every judgment must serialize cleanly.

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
    // Zero baseline: the shift (0/1 data: the error rate rose from 0 to 0.6) is
    // compared in absolute terms.
    let m = &j.metrics[2];
    assert_eq!(m.status, MetricStatus::Fail, "{}", m.reason);
    assert!(
        (m.relative_effect.unwrap() + 0.6).abs() < 1e-12,
        "{:?}",
        m.relative_effect
    );
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
    let cfg: MetricCfg = serde_yaml::from_str("name: m\ndirection: lower\ncritical: true").unwrap();
    let s = MetricSpec::from_config(&cfg);
    assert_eq!(
        (s.direction, s.critical, s.required),
        (Direction::Lower, true, false)
    );
    assert_eq!(s.allowed_effect, cfg.allowed_effect);
}

#[test]
fn a_binary_metric_is_judged_on_proportions() {
    // 90% success before, 40% after: the medians are both 1 or the shift is 0, but
    // the rate collapsed.
    let control: Vec<f64> = (0..100)
        .map(|i| if i % 10 == 0 { 0.0 } else { 1.0 })
        .collect();
    let variant: Vec<f64> = (0..100)
        .map(|i| if i % 10 < 6 { 0.0 } else { 1.0 })
        .collect();
    let spec = MetricSpec {
        name: "agent_success_rate".into(),
        direction: crate::config::Direction::Higher,
        critical: true,
        allowed_effect: 0.10,
        required: false,
    };
    let mut c = BTreeMap::new();
    c.insert("agent_success_rate".to_string(), control);
    let mut v = BTreeMap::new();
    v.insert("agent_success_rate".to_string(), variant);
    let j = judge(&c, &v, &[spec], &JudgeParams::default());
    assert_eq!(j.verdict, Verdict::Failed, "{}", j.reason);
    let m = &j.metrics[0];
    assert!(
        (m.relative_effect.unwrap() + 0.5).abs() < 1e-12,
        "50 points: {:?}",
        m.relative_effect
    );
    assert!(m.severe);
    assert!(m.reason.contains("absolute"), "{}", m.reason);
    // A small rate doubling (3% -> 6%) is 3 points: within the allowed 10.
    let c3: Vec<f64> = (0..300)
        .map(|i| if i % 33 == 0 { 1.0 } else { 0.0 })
        .collect();
    let v6: Vec<f64> = (0..300)
        .map(|i| if i % 16 == 0 { 1.0 } else { 0.0 })
        .collect();
    let lower = MetricSpec {
        name: "tool_error_rate".into(),
        direction: crate::config::Direction::Lower,
        critical: true,
        allowed_effect: 0.10,
        required: false,
    };
    let mut c = BTreeMap::new();
    c.insert("tool_error_rate".to_string(), c3);
    let mut v = BTreeMap::new();
    v.insert("tool_error_rate".to_string(), v6);
    let j = judge(&c, &v, &[lower], &JudgeParams::default());
    assert_eq!(
        j.metrics[0].status,
        MetricStatus::Pass,
        "{}",
        j.metrics[0].reason
    );
}
