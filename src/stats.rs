//! The statistics every judgment in `improve` rests on: location, rank tests, shift
//! intervals, trend tests and correlation. Pure functions over slices; non-finite
//! inputs are dropped, and degenerate data (empty, constant) yields `None` or p = 1,
//! never NaN, never a panic.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Largest sample per side for the pairwise-difference estimators: 1000 x 1000
/// differences is 8 MB, enough precision, bounded memory.
const MAX_PAIRWISE: usize = 1000;

/// Points Sen's slope is taken over: a 30-day window of hourly cycles is 720, whose
/// 258,840 slopes cost more than the rest of a cycle's detection; 250 evenly spaced
/// points (31,125 slopes) estimate the same median slope.
const MAX_SEN: usize = 250;

/// Exact Mann-Whitney distribution below this size per side (and without ties).
const MAX_EXACT: usize = 20;

/// The finite values of `x`, in order.
fn finite(x: &[f64]) -> Vec<f64> {
    x.iter().copied().filter(|v| v.is_finite()).collect()
}

fn sorted_finite(x: &[f64]) -> Vec<f64> {
    let mut v = finite(x);
    v.sort_by(f64::total_cmp);
    v
}

/// Median of an already sorted, non-empty slice.
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        v[n / 2 - 1] / 2.0 + v[n / 2] / 2.0
    }
}

/// Median of a non-empty slice by selection, O(n) instead of a sort (the slice is
/// reordered); the same value as `median_sorted` of the sorted slice.
fn median_select(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (below, mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        return mid;
    }
    let lower = below.iter().copied().max_by(f64::total_cmp).unwrap_or(mid);
    lower / 2.0 + mid / 2.0
}

/// Sum that cannot overflow to infinity for large finite values: scaled by the
/// largest magnitude when needed.
fn safe_mean(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let s: f64 = v.iter().sum();
    if s.is_finite() {
        s / n
    } else {
        v.iter().map(|x| x / n).sum()
    }
}

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal parameters are valid")
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom.
fn t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { 1.0 } else { 0.0 };
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => (2.0 * d.sf(t.abs())).clamp(0.0, 1.0),
        Err(_) => 1.0,
    }
}

fn normal_two_sided(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    (2.0 * std_normal().sf(z.abs())).clamp(0.0, 1.0)
}

/// Arithmetic mean of the finite values; `None` when there are none.
pub fn mean(x: &[f64]) -> Option<f64> {
    let v = finite(x);
    (!v.is_empty()).then(|| safe_mean(&v))
}

/// Median of the finite values; `None` when there are none.
pub fn median(x: &[f64]) -> Option<f64> {
    let v = sorted_finite(x);
    (!v.is_empty()).then(|| median_sorted(&v))
}

/// Sample standard deviation (n - 1) of the finite values; `None` below two values.
pub fn std_dev(x: &[f64]) -> Option<f64> {
    let v = finite(x);
    if v.len() < 2 {
        return None;
    }
    let m = safe_mean(&v);
    let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    let sd = (ss / (v.len() - 1) as f64).sqrt();
    sd.is_finite().then_some(sd)
}

/// Mann-Whitney U test of two independent samples.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MannWhitney {
    /// U of `b`: pairs with b > a, ties counting one half. Large when b is larger.
    pub u: f64,
    /// Standardised U (tie-corrected, continuity-corrected towards 0); 0 when the
    /// exact distribution was used and the variance is nil.
    pub z: f64,
    pub p_two_sided: f64,
    /// H1: b is stochastically greater than a.
    pub p_greater: f64,
    /// H1: b is stochastically less than a.
    pub p_less: f64,
    pub n_a: usize,
    pub n_b: usize,
}

/// Midranks (1-based) of the pooled sample, and the tie term sum(t^3 - t).
fn midranks(pooled: &[f64]) -> (Vec<f64>, f64) {
    let mut idx: Vec<usize> = (0..pooled.len()).collect();
    idx.sort_by(|&i, &j| pooled[i].total_cmp(&pooled[j]));
    let mut ranks = vec![0.0; pooled.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && pooled[idx[j + 1]] == pooled[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    (ranks, ties)
}

/// Counts of each U value (0..=m*n) over all arrangements of two samples of sizes
/// m and n without ties: f(m, n, u) = f(m, n-1, u-m) + f(m-1, n, u), by whether
/// the largest value belongs to the second sample.
fn exact_u_counts(m: usize, n: usize) -> Vec<f64> {
    // table[i][j] = distribution for sizes (i, j)
    let mut table: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); n + 1]; m + 1];
    for i in 0..=m {
        for j in 0..=n {
            let mut f = vec![0.0; i * j + 1];
            if i == 0 || j == 0 {
                f[0] = 1.0;
            } else {
                for (u, c) in table[i - 1][j].iter().enumerate() {
                    f[u] += c;
                }
                for (u, c) in table[i][j - 1].iter().enumerate() {
                    f[u + i] += c;
                }
            }
            table[i][j] = f;
        }
    }
    std::mem::take(&mut table[m][n])
}

/// Mann-Whitney U test. The exact distribution is used when both samples have at
/// most 20 values and there are no ties; otherwise the tie-corrected normal
/// approximation with continuity correction (as scipy's `mannwhitneyu`).
/// All values equal: p = 1 everywhere. `None` when a sample is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let a = finite(a);
    let b = finite(b);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (na, nb) = (a.len(), b.len());
    let pooled: Vec<f64> = a.iter().chain(b.iter()).copied().collect();
    let (ranks, ties) = midranks(&pooled);
    let rank_b: f64 = ranks[na..].iter().sum();
    let u = rank_b - (nb * (nb + 1)) as f64 / 2.0;
    let (fa, fb) = (na as f64, nb as f64);
    let n = fa + fb;
    let mu = fa * fb / 2.0;
    let var = fa * fb / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)).max(1.0));
    let sd = if var > 0.0 { var.sqrt() } else { 0.0 };
    let diff = u - mu;
    let z = if sd > 0.0 {
        diff.signum() * (diff.abs() - 0.5).max(0.0) / sd
    } else {
        0.0
    };

    let (p_greater, p_less) = if sd == 0.0 {
        (1.0, 1.0)
    } else if ties == 0.0 && na <= MAX_EXACT && nb <= MAX_EXACT {
        let counts = exact_u_counts(na, nb);
        let total: f64 = counts.iter().sum();
        // u is an integer here (no ties)
        let k = u.round() as usize;
        let le: f64 = counts[..=k].iter().sum();
        let ge: f64 = counts[k..].iter().sum();
        ((ge / total).min(1.0), (le / total).min(1.0))
    } else {
        let nd = std_normal();
        (
            nd.sf((diff - 0.5) / sd).clamp(0.0, 1.0),
            nd.cdf((diff + 0.5) / sd).clamp(0.0, 1.0),
        )
    };
    let p_two_sided = (2.0 * p_greater.min(p_less)).min(1.0);
    Some(MannWhitney {
        u,
        z,
        p_two_sided,
        p_greater,
        p_less,
        n_a: na,
        n_b: nb,
    })
}

/// Hodges-Lehmann estimate of the shift of `b` relative to `a`, with its interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HodgesLehmann {
    /// Median of all differences b_j - a_i.
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
    /// The confidence actually asked for (clamped to a sane range).
    pub confidence: f64,
}

/// At most `MAX_PAIRWISE` values of a sorted sample, evenly spaced across it, so
/// the subsample keeps the sample's shape (deterministic: no random draw).
fn thin_sorted(v: Vec<f64>) -> Vec<f64> {
    if v.len() <= MAX_PAIRWISE {
        return v;
    }
    let n = v.len();
    (0..MAX_PAIRWISE)
        .map(|i| v[i * (n - 1) / (MAX_PAIRWISE - 1)])
        .collect()
}

/// The rank k (1-based) of the differences bounding a 1 - alpha interval: the
/// largest k with P(U <= k - 1) <= alpha / 2, exact for samples of at most 20,
/// normal approximation with continuity correction above. Never below 1.
fn interval_rank(na: usize, nb: usize, alpha: f64) -> usize {
    if na <= MAX_EXACT && nb <= MAX_EXACT {
        let counts = exact_u_counts(na, nb);
        let total: f64 = counts.iter().sum();
        let mut cum = 0.0;
        let mut k = 1;
        for (u, c) in counts.iter().enumerate() {
            cum += c;
            if cum / total > alpha / 2.0 {
                break;
            }
            k = u + 1;
        }
        return k;
    }
    let (fa, fb) = (na as f64, nb as f64);
    let zc = std_normal().inverse_cdf(1.0 - alpha / 2.0);
    let sd = (fa * fb * (fa + fb + 1.0) / 12.0).sqrt();
    (fa * fb / 2.0 - zc * sd + 0.5).floor().max(1.0) as usize
}

/// Hodges-Lehmann shift of `b` relative to `a` (median of b_j - a_i) and its
/// distribution-free interval: the k-th smallest and k-th largest differences, k
/// from the Mann-Whitney critical value (`interval_rank`). Samples above 1000
/// values are thinned deterministically, which widens the interval slightly.
pub fn hodges_lehmann(a: &[f64], b: &[f64], confidence: f64) -> Option<HodgesLehmann> {
    let a = thin_sorted(sorted_finite(a));
    let b = thin_sorted(sorted_finite(b));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let confidence = if confidence.is_finite() {
        confidence.clamp(0.5, 0.999_999)
    } else {
        0.95
    };
    let mut d: Vec<f64> = Vec::with_capacity(a.len() * b.len());
    for y in &b {
        for x in &a {
            let diff = y - x;
            if diff.is_finite() {
                d.push(diff);
            }
        }
    }
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let estimate = median_sorted(&d);
    let k = interval_rank(a.len(), b.len(), 1.0 - confidence).min(d.len().div_ceil(2));
    Some(HodgesLehmann {
        estimate,
        lo: d[k - 1],
        hi: d[d.len() - k],
        confidence,
    })
}

/// Ordinary least-squares trend of a series against its index.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trend {
    pub slope: f64,
    pub intercept: f64,
    /// Slope t statistic (n - 2 df); +-f64::MAX for a perfect non-flat fit.
    pub t: f64,
    pub p: f64,
    pub n: usize,
}

/// Least-squares line through (i, y_i), i = 0..n, over the finite values (kept in
/// order), with the slope's two-sided t-test. `None` below three values.
pub fn linear_trend(y: &[f64]) -> Option<Trend> {
    let y = finite(y);
    let n = y.len();
    if n < 3 {
        return None;
    }
    let fx = n as f64;
    let mx = (fx - 1.0) / 2.0;
    let my = safe_mean(&y);
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - mx;
        sxx += dx * dx;
        sxy += dx * (v - my);
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = y
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let r = v - (intercept + slope * i as f64);
            r * r
        })
        .sum();
    let df = fx - 2.0;
    let se = (sse / df / sxx).sqrt();
    if !slope.is_finite() || !intercept.is_finite() {
        return None;
    }
    // A residual this small relative to the data is rounding, not noise.
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    let t = if se.is_finite() && se > scale * 1e-12 {
        slope / se
    } else if slope.abs() > scale * 1e-12 {
        slope.signum() * f64::MAX
    } else {
        0.0
    };
    Some(Trend {
        slope,
        intercept,
        t,
        p: t_two_sided(t, df),
        n,
    })
}

/// Mann-Kendall monotonic trend test with Sen's slope.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MannKendall {
    /// Sum of sign(y_j - y_i) over i < j.
    pub s: f64,
    /// Tie-corrected, continuity-corrected normal score.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Median of the pairwise slopes (y_j - y_i) / (j - i).
    pub sen_slope: f64,
}

/// Mann-Kendall's S: over every pair i < j, +1 when y[j] > y[i], -1 when below, 0 on
/// a tie. Counted with a Fenwick tree over the ranks of the values seen so far:
/// O(n log n). `sorted` is `y` sorted.
fn kendall_s(y: &[f64], sorted: &[f64]) -> f64 {
    let mut ranks: Vec<f64> = sorted.to_vec();
    ranks.dedup();
    let mut tree = vec![0u32; ranks.len() + 1];
    let mut s = 0i64;
    for (seen, v) in y.iter().enumerate() {
        // 1-based rank of v among the distinct values.
        let r = ranks.partition_point(|x| x.total_cmp(v).is_lt()) + 1;
        let count = |mut i: usize| {
            let mut c = 0i64;
            while i > 0 {
                c += i64::from(tree[i]);
                i &= i - 1;
            }
            c
        };
        let below = count(r - 1);
        let at_or_below = count(r);
        s += below - (seen as i64 - at_or_below);
        let mut i = r;
        while i < tree.len() {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    s as f64
}

/// Mann-Kendall test over the finite values (kept in order). `None` below three
/// values. S is exact, counted in O(n log n) (each value against the ranks before
/// it); Sen's slope uses at most `MAX_SEN` evenly spaced points (their positions
/// kept), so a drift check over a full window costs what it did over a short one.
/// The drift detector still judges a bounded window of the history
/// (`diagnose::detect::HISTORY_WINDOW`), not all of it.
pub fn mann_kendall(y: &[f64]) -> Option<MannKendall> {
    // -0.0 + 0.0 is 0.0: the two zeros are one value (a tie), for the ranks too.
    let y: Vec<f64> = finite(y).into_iter().map(|v| v + 0.0).collect();
    let n = y.len();
    if n < 3 {
        return None;
    }
    let mut sorted = y.clone();
    sorted.sort_by(f64::total_cmp);
    let s = kendall_s(&y, &sorted);
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j + 1;
    }
    let fnn = n as f64;
    let var = (fnn * (fnn - 1.0) * (2.0 * fnn + 5.0) - tie_term) / 18.0;
    let z = if var > 0.0 && s != 0.0 {
        (s - s.signum()) / var.sqrt()
    } else {
        0.0
    };

    let idx: Vec<usize> = if n <= MAX_SEN {
        (0..n).collect()
    } else {
        (0..MAX_SEN).map(|k| k * (n - 1) / (MAX_SEN - 1)).collect()
    };
    let mut slopes = Vec::with_capacity(idx.len() * (idx.len() - 1) / 2);
    for (p, &i) in idx.iter().enumerate() {
        for &j in &idx[p + 1..] {
            let sl = (y[j] - y[i]) / (j - i) as f64;
            if sl.is_finite() {
                slopes.push(sl);
            }
        }
    }
    // Up to 31,000 slopes: selecting the median is a tenth of sorting them.
    let sen_slope = if slopes.is_empty() {
        0.0
    } else {
        median_select(&mut slopes)
    };
    Some(MannKendall {
        s,
        z,
        p: normal_two_sided(z),
        sen_slope,
    })
}

/// Pearson correlation with its two-sided p-value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Correlation {
    pub r: f64,
    pub p: f64,
    /// Pairs used (both values finite).
    pub n: usize,
}

/// Pearson's r over the pairs where both values are finite (the slices are paired
/// by index; the longer one's tail is ignored). p from t = r sqrt((n-2)/(1-r^2));
/// |r| = 1 gives p = 0. `None` below three pairs or when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<Correlation> {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .collect();
    let n = pairs.len();
    if n < 3 {
        return None;
    }
    let xs: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let (mx, my) = (safe_mean(&xs), safe_mean(&ys));
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        let (dx, dy) = (x - mx, y - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 || !sxx.is_finite() || !syy.is_finite() {
        return None;
    }
    let r = (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0);
    if !r.is_finite() {
        return None;
    }
    let df = (n - 2) as f64;
    // Within rounding of a perfect line: call it one (t would be infinite).
    if 1.0 - r * r <= 1e-12 {
        return Some(Correlation {
            r: r.signum(),
            p: 0.0,
            n,
        });
    }
    let p = t_two_sided(r * (df / (1.0 - r * r)).sqrt(), df);
    Some(Correlation { r, p, n })
}

/// A tiny seeded generator for the statistical tests (no `rand` dependency).
#[cfg(test)]
pub(crate) mod test_rng {
    /// SplitMix64 with Box-Muller normals.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
        }
        pub fn uniform(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
        pub fn normals(&mut self, n: usize, mean: f64, sd: f64) -> Vec<f64> {
            (0..n).map(|_| self.normal(mean, sd)).collect()
        }
    }
}

#[cfg(test)]
mod tests;
