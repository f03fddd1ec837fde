//! Property tests: whatever the samples (NaN, infinities, subnormals, empty), the
//! judge and the statistics under it return finite numbers and never panic.

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
