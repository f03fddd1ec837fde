//! Whether a fix worked, not only whether it hurt: the metric its pattern is about,
//! before the deploy against everything seen since, with a one-sided Mann-Whitney test
//! toward healthy and a Hodges–Lehmann shift. Too little data is `unknown`; a pattern
//! that goes on with its metric not moving toward healthy is `ineffective`.

use crate::config::Direction;
use crate::stats;
use serde::{Deserialize, Serialize};

/// Most samples of the watched metric kept while monitoring (newest win).
pub const MAX_AFTER: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The metric moved toward healthy, significantly.
    Effective,
    /// The pattern goes on and its metric did not move toward healthy.
    Ineffective,
    /// Too little data to say (or the metric is healthy without having moved).
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Effective => "effective",
            Verdict::Ineffective => "ineffective",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The effect of a deployment on its pattern's metric. While the deployment is watched
/// `verdict` is None and `after` gathers the metric's samples; at the end of the
/// monitor window the numbers are filled in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Effect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub metric: String,
    pub direction: Direction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<f64>,
    /// Means before the deploy and since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<f64>,
    #[serde(default)]
    pub n_before: usize,
    #[serde(default)]
    pub n_after: usize,
    /// Hodges–Lehmann shift (after − before) and its relative size, signed so that
    /// positive is toward healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_change: Option<f64>,
    /// Rank-biserial correlation of after against before (−1..1), positive toward
    /// healthy: the effect size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_size: Option<f64>,
    /// One-sided Mann-Whitney p for "after is better than before".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The metric's samples since the deploy (bounded), judged at the end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples_after: Vec<f64>,
}

impl Effect {
    /// A new effect watch on `metric`.
    pub fn watch(metric: &str, direction: Direction, healthy: Option<f64>) -> Effect {
        Effect {
            verdict: None,
            metric: metric.to_string(),
            direction,
            healthy,
            before: None,
            after: None,
            n_before: 0,
            n_after: 0,
            shift: None,
            relative_change: None,
            effect_size: None,
            p: None,
            reason: String::new(),
            samples_after: vec![],
        }
    }

    /// Adds one window's samples of the metric (finite ones, newest kept).
    pub fn gather(&mut self, window: &[f64]) {
        self.samples_after
            .extend(window.iter().copied().filter(|x| x.is_finite()));
        let n = self.samples_after.len();
        if n > MAX_AFTER {
            self.samples_after.drain(..n - MAX_AFTER);
        }
    }

    /// Judges the samples gathered against `before` (the baseline at deploy time).
    pub fn judge(&mut self, before: &[f64], min_samples: usize, confidence: f64) {
        let before: Vec<f64> = before.iter().copied().filter(|x| x.is_finite()).collect();
        let after = self.samples_after.clone();
        self.n_before = before.len();
        self.n_after = after.len();
        self.before = stats::mean(&before);
        self.after = stats::mean(&after);
        let m = &self.metric;
        let min = min_samples.max(2);
        if before.len() < min || after.len() < min {
            self.verdict = Some(Verdict::Unknown);
            self.reason = format!(
                "{m}: too little data to judge the fix ({} samples before, {} since, {min} needed in each)",
                before.len(),
                after.len()
            );
            return;
        }
        let alpha = (1.0 - confidence).clamp(1e-9, 0.5);
        let sign = self.direction.sign();
        if let (Some(mw), Some(hl)) = (
            stats::mann_whitney(&before, &after),
            stats::hodges_lehmann(&before, &after, 1.0 - alpha),
        ) {
            let pairs = (before.len() * after.len()) as f64;
            self.effect_size = Some(sign * (2.0 * mw.u / pairs - 1.0));
            self.p = Some(match self.direction {
                Direction::Higher => mw.p_greater,
                Direction::Lower => mw.p_less,
            });
            self.shift = Some(hl.estimate);
            let base = self.before.unwrap_or(0.0).abs();
            self.relative_change = Some(if base > 0.0 {
                sign * hl.estimate / base
            } else {
                sign * hl.estimate
            });
        }
        let (b, a) = (self.before.unwrap_or(0.0), self.after.unwrap_or(0.0));
        let p = self.p.unwrap_or(1.0);
        let moved = p < alpha && self.effect_size.unwrap_or(0.0) > 0.0;
        let healthy_now = self.healthy.map(|h| match self.direction {
            Direction::Higher => a >= h,
            Direction::Lower => a <= h,
        });
        let numbers = format!(
            "{m} {b:.3} -> {a:.3} ({} before, {} since), effect size {:+.2}, p={p:.4}",
            before.len(),
            after.len(),
            self.effect_size.unwrap_or(0.0)
        );
        let (verdict, why) = if moved {
            (Verdict::Effective, "moved toward healthy".to_string())
        } else if healthy_now == Some(true) {
            (
                Verdict::Unknown,
                "healthy now but did not move measurably: the fix may not be why".to_string(),
            )
        } else {
            let level = self
                .healthy
                .map(|h| format!(" and still on the bad side of its healthy level {h}"))
                .unwrap_or_default();
            (
                Verdict::Ineffective,
                format!(
                    "did not move toward healthy (p >= {alpha:.2}){level}: the pattern goes on"
                ),
            )
        };
        self.verdict = Some(verdict);
        self.reason = format!("{}: {numbers}; {why}", verdict.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> Effect {
        Effect::watch("semantic_quality", Direction::Higher, Some(0.6))
    }

    #[test]
    fn healed_is_effective_unchanged_is_ineffective_thin_is_unknown() {
        let before: Vec<f64> = (0..20).map(|i| 0.36 + 0.002 * i as f64).collect();
        let mut healed = watch();
        healed.gather(&(0..20).map(|i| 0.66 + 0.002 * i as f64).collect::<Vec<_>>());
        healed.judge(&before, 5, 0.95);
        assert_eq!(
            healed.verdict,
            Some(Verdict::Effective),
            "{}",
            healed.reason
        );
        // Every pair is after > before: the effect size is exactly 1.
        assert!((healed.effect_size.unwrap() - 1.0).abs() < 1e-12);
        assert!((healed.shift.unwrap() - 0.30).abs() < 1e-9);
        assert!((healed.before.unwrap() - 0.379).abs() < 1e-9);
        assert!(healed.p.unwrap() < 1e-6);

        let mut same = watch();
        same.gather(&before);
        same.judge(&before, 5, 0.95);
        assert_eq!(same.verdict, Some(Verdict::Ineffective), "{}", same.reason);
        assert!(same.effect_size.unwrap().abs() < 1e-12);
        assert!(same.reason.contains("healthy level 0.6"), "{}", same.reason);

        let mut thin = watch();
        thin.gather(&[0.7, 0.7]);
        thin.judge(&before, 5, 0.95);
        assert_eq!(thin.verdict, Some(Verdict::Unknown));
        assert!(thin.reason.contains("too little data"), "{}", thin.reason);
    }

    #[test]
    fn lower_is_better_metrics_are_judged_in_their_direction() {
        let before = vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0];
        let mut e = Effect::watch("timeout_rate", Direction::Lower, Some(0.1));
        e.gather(&[0.0; 10]);
        e.judge(&before, 5, 0.95);
        assert_eq!(e.verdict, Some(Verdict::Effective), "{}", e.reason);
        assert!(e.effect_size.unwrap() > 0.0);
        let mut worse = Effect::watch("timeout_rate", Direction::Lower, Some(0.1));
        worse.gather(&[1.0; 10]);
        worse.judge(&before, 5, 0.95);
        assert_eq!(
            worse.verdict,
            Some(Verdict::Ineffective),
            "{}",
            worse.reason
        );
    }

    #[test]
    fn gathering_is_bounded_and_drops_non_finite() {
        let mut e = watch();
        e.gather(&[f64::NAN, 1.0]);
        e.gather(&vec![0.5; MAX_AFTER + 3]);
        assert_eq!(e.samples_after.len(), MAX_AFTER);
        assert!(e.samples_after.iter().all(|x| *x == 0.5));
    }
}
