//! Microbenchmark of the drift and correlation tests on long metric histories: the
//! whole history (what a cycle used to judge: Mann-Kendall is quadratic) against the
//! bounded window a cycle judges now (`diagnose::detect::HISTORY_WINDOW`), and the
//! whole DIAGNOSE pattern pass over a history of that length. Prints a markdown table.
//!
//! usage: bench_drift [POINTS...]   (default: 3000 8760 43800 50000; the whole-history
//! column is measured up to 8,760 points and extrapolated beyond, at n^2)

use improve::config::{Config, Direction};
use improve::diagnose::detect::{self, HISTORY_WINDOW};
use improve::diagnose::patterns::{self, History};
use improve::observe::Observation;
use std::collections::BTreeMap;
use std::time::Instant;

/// A noisy metric with a slow trend (deterministic: no rand dependency).
fn series(n: usize) -> Vec<f64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            0.6 - 1e-6 * i as f64 + (x % 1000) as f64 / 1e4
        })
        .collect()
}

/// Median seconds of `runs` calls of `f`.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    let parsed: Result<Vec<usize>, _> = std::env::args().skip(1).map(|a| a.parse()).collect();
    let sizes = match parsed {
        Ok(v) if !v.is_empty() => v,
        _ => vec![3000, 8760, 43_800, 50_000],
    };
    let cfg = Config::builtin();
    println!("| history points | drift, whole history | drift, last {HISTORY_WINDOW} | DIAGNOSE pass (9 guarded metrics) |");
    println!("|---|---|---|---|");
    let mut measured_full: Option<(usize, f64)> = None;
    for n in sizes {
        let y = series(n);
        let judge = |v: &[f64]| {
            detect::detect_drift("m", v, Direction::Higher, 0.05, 0.05, 6);
        };
        let full = if n <= 8760 {
            let t = time(3, || judge(&y));
            measured_full = Some((n, t));
            format!("{:.3} s", t)
        } else {
            match measured_full {
                Some((m, t)) => {
                    format!("~{:.1} s (n^2 from {m})", t * (n as f64 / m as f64).powi(2))
                }
                None => "not measured".into(),
            }
        };
        let windowed = time(5, || judge(detect::recent(&y, HISTORY_WINDOW)));
        let mut h = History::default();
        for (i, v) in y.iter().enumerate() {
            let m: BTreeMap<String, f64> = cfg
                .metrics
                .iter()
                .map(|g| (g.name.clone(), v + g.name.len() as f64 * 1e-3))
                .collect();
            h.push_cycle(&format!("C-{i:06}"), "t", &m);
        }
        let obs = Observation::default();
        let pass = time(3, || {
            patterns::detect(&obs, &h, &cfg);
        });
        println!(
            "| {n} | {full} | {:.2} ms | {:.1} ms |",
            windowed * 1e3,
            pass * 1e3
        );
    }
}
