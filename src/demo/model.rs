//! The demo system's causal model: how its constants shape an exploration. Kept apart
//! from log writing so that `tools/replay.py` in the demo repository can port it line
//! for line (same PRNG, same arithmetic) and shadow validation sees the same numbers.
//!
//! One exploration, step by step (w = SIBLING_DIVERGENCE_WEIGHT):
//! - the selected candidate's sibling divergence is `clamp(0.15 + 2.2 w, .., 0.82)`
//!   plus noise (sd 0.12): mean 0.37 at the planted fault w = 0.10, 0.81 at w >= 0.30.
//!   The two rejected candidates are a little less divergent (0 to 0.15 below).
//! - the selected candidate's semantic quality is 0.68 (sd 0.08), falling by 1.0 per
//!   unit of w above 0.45: too much divergence weight trades relevance away.
//! - a step backtracks (revisits a node) with probability 3%, whatever the constants:
//!   that is noise a tool must leave alone. A backtrack finds nothing.
//! - a narrative is found with probability `K (0.02 + 0.30 div) (sem / 0.68) ramp(depth)`
//!   where `ramp` grows from 0.2 at depth 1 to 1.0 at depth 6: narratives sit a few hops
//!   from the origin moment, so a MAX_DEPTH below 6 cuts explorations short where they
//!   would have found most (efficiency ~0.12 at the fault, ~0.25 fixed, lower still
//!   when MAX_DEPTH < 6).
//! - satisfaction starts at 0.05-0.15 and gains 0.02 a step plus 0.3 x alignment per
//!   finding; the exploration ends at SATISFACTION_THRESHOLD (satisfaction_reached), at
//!   depth MAX_DEPTH (max_depth), on a timeout (3% at `timeout_s` = 30, scaling with
//!   30 / timeout_s) or on an error (0.5%).

use std::collections::BTreeMap;

/// splitmix64: tiny, fast, and trivially portable to Python (mask to 64 bits).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Approximately standard normal (Irwin-Hall of four uniforms): no libm needed,
    /// so Python reproduces it bit for bit.
    pub fn gauss(&mut self) -> f64 {
        let s = self.uniform() + self.uniform() + self.uniform() + self.uniform();
        (s - 2.0) * 1.732_050_807_568_877_2
    }

    /// An index in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Derives an independent seed from three numbers (seed, run start, index).
pub fn mix(a: u64, b: u64, c: u64) -> u64 {
    let x = SplitMix64::new(a).next_u64() ^ b;
    let y = SplitMix64::new(x).next_u64() ^ c;
    SplitMix64::new(y).next_u64()
}

/// The constants the model reads, already resolved from the repository.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub divergence_weight: f64,
    pub max_depth: u32,
    pub satisfaction_threshold: f64,
    pub timeout_s: f64,
}

/// Calibrates the finding probability so efficiency lands near the documented levels.
const FIND_SCALE: f64 = 1.3;
const BACKTRACK_P: f64 = 0.03;
const ERROR_P: f64 = 0.005;
/// Longest exploration the model runs, whatever MAX_DEPTH says.
const DEPTH_CAP: u32 = 200;

impl Params {
    pub fn divergence_mean(&self) -> f64 {
        (0.15 + 2.2 * self.divergence_weight).clamp(0.05, 0.82)
    }
    pub fn semantic_mean(&self) -> f64 {
        (0.68 - (self.divergence_weight - 0.45).max(0.0)).clamp(0.2, 0.9)
    }
    pub fn timeout_p(&self) -> f64 {
        let t = if self.timeout_s > 0.0 {
            self.timeout_s
        } else {
            30.0
        };
        0.03 * (30.0 / t).clamp(0.25, 4.0)
    }
    fn depth_limit(&self) -> u32 {
        self.max_depth.clamp(1, DEPTH_CAP)
    }
}

/// Share of the full finding chance available at a depth.
pub fn ramp(depth: u32) -> f64 {
    (0.05 + 0.15 * depth as f64).clamp(0.0, 1.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Termination {
    SatisfactionReached,
    MaxDepth,
    Timeout,
    Error,
}

impl Termination {
    pub fn as_str(self) -> &'static str {
        match self {
            Termination::SatisfactionReached => "satisfaction_reached",
            Termination::MaxDepth => "max_depth",
            Termination::Timeout => "timeout",
            Termination::Error => "error",
        }
    }
}

/// What happened in one step, as the model decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub depth: u32,
    /// Sibling divergence of the selected candidate.
    pub divergence: f64,
    /// Sibling divergence of the two rejected candidates.
    pub rejected_divergence: [f64; 2],
    /// Semantic score of the selected candidate.
    pub semantic: f64,
    pub backtrack: bool,
    pub found: bool,
    pub alignment: f64,
    /// Satisfaction after the step.
    pub satisfaction: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub steps: Vec<Step>,
    pub termination: Termination,
}

/// Runs one exploration. The number and order of draws is fixed per step so that the
/// Python port stays in lock step.
pub fn explore(p: &Params, rng: &mut SplitMix64) -> Outcome {
    let mut sat = 0.05 + 0.10 * rng.uniform();
    let limit = p.depth_limit();
    let timeout_draw = rng.uniform();
    let timeout_at = rng.uniform();
    let error_draw = rng.uniform();
    let error_at = rng.uniform();
    let timeout_step =
        (timeout_draw < p.timeout_p()).then(|| 1 + (timeout_at * limit as f64) as u32);
    let error_step = (error_draw < ERROR_P).then(|| 1 + (error_at * limit as f64) as u32);
    let (d_mean, s_mean) = (p.divergence_mean(), p.semantic_mean());
    let mut steps = Vec::with_capacity(limit.min(16) as usize);
    let mut depth = 0u32;
    let termination = loop {
        depth += 1;
        let divergence = (d_mean + 0.12 * rng.gauss()).clamp(0.01, 0.99);
        let r1 = rng.uniform();
        let r2 = rng.uniform();
        let rejected_divergence = [
            (divergence - 0.15 * r1).clamp(0.01, 0.99),
            (divergence - 0.15 * r2).clamp(0.01, 0.99),
        ];
        let semantic = (s_mean + 0.08 * rng.gauss()).clamp(0.01, 0.99);
        let backtrack = rng.uniform() < BACKTRACK_P;
        let find_draw = rng.uniform();
        let alignment = 0.6 + 0.35 * rng.uniform();
        let p_find = if backtrack {
            0.0
        } else {
            FIND_SCALE * (0.02 + 0.30 * divergence) * (semantic / 0.68) * ramp(depth)
        };
        let found = find_draw < p_find;
        sat += 0.02;
        if found {
            sat += 0.3 * alignment;
        }
        sat = sat.min(1.0);
        steps.push(Step {
            depth,
            divergence,
            rejected_divergence,
            semantic,
            backtrack,
            found,
            alignment,
            satisfaction: sat,
        });
        if error_step == Some(depth) {
            break Termination::Error;
        }
        if timeout_step == Some(depth) {
            break Termination::Timeout;
        }
        if sat >= p.satisfaction_threshold {
            break Termination::SatisfactionReached;
        }
        if depth >= limit {
            break Termination::MaxDepth;
        }
    };
    Outcome { steps, termination }
}

/// The system doctor's per-exploration health metrics (formats/traversal.md),
/// computed from the model's steps exactly as they would be from the step lines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Health {
    pub efficiency: f64,
    pub satisfaction: f64,
    pub satisfaction_velocity: f64,
    pub sibling_divergence: f64,
    pub semantic_quality: f64,
    pub backtrack_rate: f64,
    pub timed_out: bool,
}

impl Outcome {
    pub fn found_count(&self) -> usize {
        self.steps.iter().filter(|s| s.found).count()
    }

    pub fn health(&self) -> Health {
        let n = self.steps.len().max(1) as f64;
        let first = self.steps.first().map_or(0.0, |s| s.satisfaction);
        let last = self.steps.last().map_or(0.0, |s| s.satisfaction);
        let mut div_sum = 0.0;
        let mut div_n = 0usize;
        for s in &self.steps {
            for d in [
                s.divergence,
                s.rejected_divergence[0],
                s.rejected_divergence[1],
            ] {
                if d > 0.0 {
                    div_sum += d;
                    div_n += 1;
                }
            }
        }
        Health {
            efficiency: self.found_count() as f64 / n,
            satisfaction: last,
            satisfaction_velocity: (last - first) / n,
            sibling_divergence: if div_n > 0 {
                div_sum / div_n as f64
            } else {
                0.0
            },
            semantic_quality: self.steps.iter().map(|s| s.semantic).sum::<f64>() / n,
            backtrack_rate: self.steps.iter().filter(|s| s.backtrack).count() as f64 / n,
            timed_out: self.termination == Termination::Timeout,
        }
    }
}

/// What `tools/replay.py` prints: the mean doctor metrics of `n` explorations run
/// with a fixed seed. Deterministic, so baseline and candidate are compared fairly.
pub fn replay_metrics(p: &Params, seed: u64, n: u32) -> BTreeMap<String, f64> {
    let mut sums = [0.0f64; 7];
    for i in 0..n {
        let mut rng = SplitMix64::new(mix(seed, 0, i as u64));
        let h = explore(p, &mut rng).health();
        let vals = [
            h.efficiency,
            h.satisfaction,
            h.satisfaction_velocity,
            h.sibling_divergence,
            h.semantic_quality,
            h.backtrack_rate,
            if h.timed_out { 1.0 } else { 0.0 },
        ];
        for (s, v) in sums.iter_mut().zip(vals) {
            *s += v;
        }
    }
    let n = n.max(1) as f64;
    [
        "efficiency",
        "satisfaction",
        "satisfaction_velocity",
        "sibling_divergence",
        "semantic_quality",
        "backtrack_rate",
        "timeout_rate",
    ]
    .into_iter()
    .zip(sums)
    .map(|(k, s)| (k.to_string(), s / n))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(w: f64, depth: u32) -> Params {
        Params {
            divergence_weight: w,
            max_depth: depth,
            satisfaction_threshold: 0.75,
            timeout_s: 30.0,
        }
    }

    #[test]
    fn splitmix_matches_reference_vector() {
        // First outputs of splitmix64 seeded with 0 (reference implementation).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn uniform_and_gauss_are_in_range() {
        let mut r = SplitMix64::new(42);
        let xs: Vec<f64> = (0..10_000).map(|_| r.gauss()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((var - 1.0).abs() < 0.1, "{var}");
        assert!((0..1000).all(|_| (0.0..1.0).contains(&r.uniform())));
    }

    #[test]
    fn levels_match_the_documented_model() {
        let fault = replay_metrics(&params(0.10, 10), 7, 3000);
        let fixed = replay_metrics(&params(0.30, 10), 7, 3000);
        let shallow = replay_metrics(&params(0.10, 4), 7, 3000);
        eprintln!("fault {fault:?}\nfixed {fixed:?}\nshallow {shallow:?}");
        assert!((0.09..0.16).contains(&fault["efficiency"]), "{fault:?}");
        assert!((0.20..0.32).contains(&fixed["efficiency"]), "{fixed:?}");
        assert!(
            shallow["efficiency"] < fault["efficiency"] * 0.8,
            "{shallow:?}"
        );
        assert!(fault["sibling_divergence"] < 0.45);
        assert!(fixed["sibling_divergence"] > 0.70);
        assert!((0.015..0.05).contains(&fault["timeout_rate"]));
        assert!((0.01..0.05).contains(&fault["backtrack_rate"]));
        assert!((0.01..0.05).contains(&fixed["backtrack_rate"]));
    }

    #[test]
    fn too_much_divergence_weight_costs_relevance() {
        let fixed = replay_metrics(&params(0.30, 10), 7, 2000);
        let over = replay_metrics(&params(0.90, 10), 7, 2000);
        assert!(over["semantic_quality"] < fixed["semantic_quality"] - 0.2);
        assert!(over["efficiency"] < fixed["efficiency"]);
    }
}
