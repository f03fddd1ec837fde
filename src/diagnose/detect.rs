//! Drift and correlation patterns over the metrics history (DESIGN §4): a metric
//! that moves steadily in one direction, and pairs of metrics that move together.
//! Both need significance as well as size, so one noisy window is never a pattern.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Direction;
use crate::stats;

/// How many of the latest history points (cycles) drift and correlation are judged
/// on: 720, thirty days of hourly cycles. A trend is about the system's recent
/// behaviour, and Mann-Kendall compares every pair of points, so judging the whole
/// history would make every cycle slower than the last (7.5 s at five years of
/// hourly cycles); over a bounded window a cycle after five years costs what one
/// after a month does. `triggers.history_window` in the config is to override it.
pub const HISTORY_WINDOW: usize = 720;

/// The last `window` items of `v` (all of them when there are fewer).
pub fn recent<T>(v: &[T], window: usize) -> &[T] {
    &v[v.len().saturating_sub(window)..]
}

/// A metric trending over its history.
/// Serializable for the cycle record (not deserializable: `method` is static).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub metric: String,
    /// Change of the fitted line from the first to the last point, over |mean|
    /// (the absolute change when the mean is 0). Signed.
    pub relative_trend: f64,
    /// Per-cycle slope of the fit (Sen's slope or least squares, per `method`).
    pub slope: f64,
    pub p: f64,
    /// "mann-kendall" or "regression": the test that found the trend.
    pub method: &'static str,
    /// The trend goes in the metric's bad direction.
    pub worsening: bool,
    /// History points used.
    pub n: usize,
}

/// Reports a drift of `metric` when its history (finite values, oldest first) has
/// at least `min_history` points (and 3), a significant trend (Mann-Kendall p <
/// alpha, tried first as it shrugs off outliers, else the least-squares slope's
/// t-test) and |relative_trend| > `drift_threshold`.
pub fn detect_drift(
    metric: &str,
    history: &[f64],
    direction: Direction,
    drift_threshold: f64,
    alpha: f64,
    min_history: usize,
) -> Option<Drift> {
    let y: Vec<f64> = history.iter().copied().filter(|v| v.is_finite()).collect();
    let n = y.len();
    if n < min_history.max(3) {
        return None;
    }
    let mean = stats::mean(&y)?;
    // A mean that is rounding residue of values around zero is zero.
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mean_is_zero = mean.abs() <= scale * 1e-9;
    let relative = |slope: f64| {
        let change = slope * (n - 1) as f64;
        let r = if !mean_is_zero {
            change / mean.abs()
        } else {
            change
        };
        if r.is_finite() {
            r
        } else {
            r.signum() * f64::MAX
        }
    };
    let mk = stats::mann_kendall(&y).map(|m| ("mann-kendall", m.sen_slope, m.p));
    let lt = stats::linear_trend(&y).map(|t| ("regression", t.slope, t.p));
    [mk, lt]
        .into_iter()
        .flatten()
        .find(|&(_, slope, p)| p < alpha && relative(slope).abs() > drift_threshold)
        .map(|(method, slope, p)| Drift {
            metric: metric.to_string(),
            relative_trend: relative(slope),
            slope,
            p,
            method,
            worsening: match direction {
                Direction::Higher => slope < 0.0,
                Direction::Lower => slope > 0.0,
            },
            n,
        })
}

/// Two metrics that move together.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Correlated {
    pub a: String,
    pub b: String,
    /// Pearson's r over the cycles where both have values.
    pub r: f64,
    pub p: f64,
    pub n: usize,
}

/// Pairs (a < b by name) whose values, over the cycles where both are present and
/// finite (at least `min_history` and 3), correlate with |r| > `threshold` and p <
/// `alpha`. A series constant over those cycles has no correlation and is skipped.
/// Returned in name order.
pub fn detect_correlations(
    series: &BTreeMap<String, Vec<Option<f64>>>,
    threshold: f64,
    alpha: f64,
    min_history: usize,
) -> Vec<Correlated> {
    let names: Vec<&String> = series.keys().collect();
    let mut found = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (xs, ys): (Vec<f64>, Vec<f64>) = series[*a]
                .iter()
                .zip(&series[*b])
                .filter_map(|(x, y)| match (x, y) {
                    (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Some((*x, *y)),
                    _ => None,
                })
                .unzip();
            if xs.len() < min_history.max(3) {
                continue;
            }
            if let Some(c) = stats::pearson(&xs, &ys) {
                if c.r.abs() > threshold && c.p < alpha {
                    found.push(Correlated {
                        a: a.to_string(),
                        b: b.to_string(),
                        r: c.r,
                        p: c.p,
                        n: c.n,
                    });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_rng::Rng;

    fn trend(seed: u64, n: usize, base: f64, slope: f64, sd: f64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|i| base + slope * i as f64 + rng.normal(0.0, sd))
            .collect()
    }

    fn rate(hits: usize, trials: u64) -> f64 {
        hits as f64 / trials as f64
    }

    #[test]
    fn planted_trend_is_found_and_judged_by_direction() {
        let mut found = 0;
        for seed in 0..100 {
            // +0.5 a cycle over 30 cycles on ~107: a 13.5 % rise under noise sd 3.
            let y = trend(seed, 30, 100.0, 0.5, 3.0);
            if let Some(d) = detect_drift("latency", &y, Direction::Lower, 0.05, 0.05, 10) {
                assert!(
                    d.worsening && d.slope > 0.0 && d.relative_trend > 0.05,
                    "{d:?}"
                );
                assert!(d.p < 0.05 && d.n == 30);
                found += 1;
            }
        }
        assert!(found >= 95, "planted trend found in {found} of 100 seeds");

        let y = trend(1, 30, 100.0, 0.5, 3.0);
        let d = detect_drift("rate", &y, Direction::Higher, 0.05, 0.05, 10).unwrap();
        assert!(!d.worsening);
        assert_eq!(d.method, "mann-kendall");
        assert!((d.relative_trend - 0.135).abs() < 0.04, "{d:?}");
        let down: Vec<f64> = y.iter().map(|v| 200.0 - v).collect();
        let d = detect_drift("rate", &down, Direction::Higher, 0.05, 0.05, 10).unwrap();
        assert!(d.worsening && d.relative_trend < -0.05, "{d:?}");
    }

    #[test]
    fn flat_noise_false_positive_rate_is_near_alpha() {
        // Threshold 0 so that significance alone decides: the rate measures the
        // calibration of the tests (two tests, either may fire: a little over alpha).
        let seeds = 400u64;
        let (mut drift, mut mk, mut ols) = (0, 0, 0);
        for seed in 0..seeds {
            let y = trend(1000 + seed, 40, 50.0, 0.0, 5.0);
            drift += detect_drift("m", &y, Direction::Higher, 0.0, 0.05, 10).is_some() as usize;
            mk += (stats::mann_kendall(&y).unwrap().p < 0.05) as usize;
            ols += (stats::linear_trend(&y).unwrap().p < 0.05) as usize;
        }
        for (what, r) in [
            ("mann-kendall", rate(mk, seeds)),
            ("regression", rate(ols, seeds)),
        ] {
            assert!(
                (0.02..=0.085).contains(&r),
                "{what} false-positive rate {r}"
            );
        }
        let r = rate(drift, seeds);
        assert!((0.02..=0.11).contains(&r), "drift false-positive rate {r}");

        // With the default 5 % threshold, flat noise around a real level is quiet.
        let noisy = (0..200u64)
            .filter(|s| {
                let y = trend(5000 + s, 40, 50.0, 0.0, 5.0);
                detect_drift("m", &y, Direction::Higher, 0.05, 0.05, 10).is_some()
            })
            .count();
        assert!(
            rate(noisy, 200) <= 0.05,
            "{noisy} of 200 flat series drifted"
        );
    }

    #[test]
    fn small_significant_trend_under_threshold_is_not_drift() {
        // 0.01 a cycle on 100 with tiny noise: significant, but only 0.3 % overall.
        let y = trend(4, 30, 100.0, 0.01, 0.001);
        assert!(stats::linear_trend(&y).unwrap().p < 1e-6);
        assert!(detect_drift("m", &y, Direction::Higher, 0.05, 0.05, 10).is_none());
    }

    #[test]
    fn outliers_do_not_hide_a_trend() {
        let mut y = trend(8, 30, 100.0, 0.5, 1.0);
        y[3] = 10_000.0;
        y[27] = -10_000.0;
        let d = detect_drift("m", &y, Direction::Higher, 0.05, 0.05, 10).unwrap();
        assert_eq!(d.method, "mann-kendall");
        assert!((d.slope - 0.5).abs() < 0.1, "{d:?}");
    }

    #[test]
    fn degenerate_histories() {
        assert!(detect_drift("m", &[5.0; 30], Direction::Higher, 0.05, 0.05, 10).is_none());
        assert!(detect_drift("m", &[1.0, 2.0, 3.0], Direction::Higher, 0.05, 0.05, 10).is_none());
        assert!(detect_drift("m", &[], Direction::Higher, 0.05, 0.05, 0).is_none());
        let nan = [f64::NAN; 20];
        assert!(detect_drift("m", &nan, Direction::Higher, 0.05, 0.05, 0).is_none());
        // Zero mean: the absolute change over the history is used.
        let y: Vec<f64> = (0..21).map(|i| (i as f64 - 10.0) * 0.1).collect();
        let d = detect_drift("m", &y, Direction::Lower, 0.05, 0.05, 10).unwrap();
        assert!((d.relative_trend - 2.0).abs() < 1e-9, "{d:?}");
        assert!(d.worsening);
        // A perfect line has p = 0 and still a finite relative trend.
        let y: Vec<f64> = (0..12).map(|i| 1.0 + i as f64).collect();
        let d = detect_drift("m", &y, Direction::Higher, 0.05, 0.05, 3).unwrap();
        assert!(d.relative_trend.is_finite() && d.p < 1e-3);
    }

    fn series(pairs: Vec<(&str, Vec<Option<f64>>)>) -> BTreeMap<String, Vec<Option<f64>>> {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn planted_correlation_found_independent_not() {
        let mut rng = Rng::new(42);
        let x = rng.normals(40, 10.0, 2.0);
        let y: Vec<f64> = x.iter().map(|v| 3.0 * v + rng.normal(0.0, 1.5)).collect();
        let z: Vec<f64> = x.iter().map(|v| 50.0 - v + rng.normal(0.0, 0.5)).collect();
        let w = rng.normals(40, 0.0, 1.0);
        let some = |v: &Vec<f64>| v.iter().map(|x| Some(*x)).collect::<Vec<_>>();
        let mut s = series(vec![
            ("x", some(&x)),
            ("y", some(&y)),
            ("z", some(&z)),
            ("w", some(&w)),
            ("flat", vec![Some(1.0); 40]),
        ]);
        // Missing cycles are skipped, not zero-filled.
        s.get_mut("y").unwrap()[5] = None;
        s.get_mut("x").unwrap()[9] = Some(f64::NAN);
        let found = detect_correlations(&s, 0.7, 0.05, 10);
        let pairs: Vec<(&str, &str)> = found.iter().map(|c| (c.a.as_str(), c.b.as_str())).collect();
        assert_eq!(pairs, [("x", "y"), ("x", "z"), ("y", "z")], "{found:?}");
        assert!(found[0].r > 0.9 && found[0].n == 38);
        assert!(found[1].r < -0.9 && found[1].n == 39);
        assert!(found.iter().all(|c| c.p < 1e-6));
    }

    #[test]
    fn independent_series_false_positive_rate_is_near_alpha() {
        let seeds = 400u64;
        let mut hits = 0;
        for seed in 0..seeds {
            let mut rng = Rng::new(9000 + seed);
            let s = series(vec![
                (
                    "a",
                    rng.normals(30, 0.0, 1.0).into_iter().map(Some).collect(),
                ),
                (
                    "b",
                    rng.normals(30, 5.0, 2.0).into_iter().map(Some).collect(),
                ),
            ]);
            hits += detect_correlations(&s, 0.0, 0.05, 10).len();
            assert!(detect_correlations(&s, 0.7, 0.05, 10).is_empty());
        }
        let r = rate(hits, seeds);
        assert!(
            (0.02..=0.085).contains(&r),
            "correlation false-positive rate {r}"
        );
    }

    #[test]
    fn too_little_overlap_is_skipped() {
        let a: Vec<Option<f64>> = (0..20).map(|i| (i % 2 == 0).then_some(i as f64)).collect();
        let b: Vec<Option<f64>> = (0..20).map(|i| (i % 2 == 1).then_some(i as f64)).collect();
        let c: Vec<Option<f64>> = (0..20).map(|i| Some(i as f64)).collect();
        let s = series(vec![("a", a), ("b", b), ("c", c)]);
        let found = detect_correlations(&s, 0.7, 0.05, 10);
        // a/b never overlap; a/c and b/c overlap on 10 cycles each.
        let pairs: Vec<(&str, &str)> = found.iter().map(|c| (c.a.as_str(), c.b.as_str())).collect();
        assert_eq!(pairs, [("a", "c"), ("b", "c")]);
        assert!(detect_correlations(&s, 0.7, 0.05, 11).is_empty());
        assert!(detect_correlations(&BTreeMap::new(), 0.7, 0.05, 0).is_empty());
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
            1 => proptest::num::f64::ANY,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn detection_is_total_and_finite(
            a in proptest::collection::vec(value(), 0..40),
            b in proptest::collection::vec(proptest::option::of(value()), 0..40),
        ) {
            if let Some(d) = detect_drift("m", &a, Direction::Lower, 0.0, 0.5, 3) {
                prop_assert!(d.relative_trend.is_finite() && d.slope.is_finite(), "{d:?}");
                prop_assert!((0.0..0.5).contains(&d.p));
            }
            let s: BTreeMap<String, Vec<Option<f64>>> =
                [("a".to_string(), a.into_iter().map(Some).collect()), ("b".to_string(), b)].into();
            for c in detect_correlations(&s, 0.0, 1.0, 3) {
                prop_assert!(c.r.is_finite() && c.p.is_finite(), "{c:?}");
            }
        }
    }
}
