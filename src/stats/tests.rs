//! Statistics checked against reference values (scipy, pymannkendall, R) and by
//! coverage on seeded samples; degenerate inputs give None or p = 1, never NaN.

use super::test_rng::Rng;
use super::*;

fn close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1e-300),
        "got {got}, want {want} (rel tol {tol})"
    );
}

// Reference values below come from scipy 1.17 (`mannwhitneyu(b, a, ...)`,
// `linregress`, `pearsonr`) and pymannkendall (`original_test`).
const A: [f64; 9] = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
#[allow(clippy::approx_constant)] // 3.14 is data, not pi
const B: [f64; 9] = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.07, 3.14, 1.28];

#[test]
fn location_and_spread() {
    assert_eq!(mean(&[1.0, 2.0, f64::NAN, 6.0]), Some(3.0));
    assert_eq!(median(&[5.0, 1.0, f64::INFINITY, 3.0]), Some(3.0));
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    close(
        std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap(),
        2.138_089_935_299_395,
        1e-12,
    );
    assert_eq!(mean(&[]), None);
    assert_eq!(median(&[f64::NAN]), None);
    assert_eq!(std_dev(&[1.0]), None);
    assert_eq!(std_dev(&[3.0, 3.0, 3.0]), Some(0.0));
    assert_eq!(mean(&[f64::MAX, f64::MAX]), Some(f64::MAX));
}

#[test]
fn mann_whitney_exact_small_samples() {
    let r = mann_whitney(&A, &B).unwrap();
    assert_eq!(r.u, 23.0);
    assert_eq!((r.n_a, r.n_b), (9, 9));
    close(r.p_two_sided, 0.135_911_147_675_853_55, 1e-9);
    close(r.p_greater, 0.943_253_805_018_511, 1e-9);
    close(r.p_less, 0.067_955_573_837_926_77, 1e-9);
    // Swapping the samples mirrors U and the one-sided p-values.
    let s = mann_whitney(&B, &A).unwrap();
    assert_eq!(s.u, 81.0 - 23.0);
    close(s.p_greater, r.p_less, 1e-12);
}

#[test]
fn mann_whitney_normal_approximation_with_ties() {
    let x = [
        3., 4., 2., 6., 2., 5., 5., 7., 8., 3., 4., 4., 1., 9., 2., 5., 6., 3., 4., 7., 5., 5., 2.,
        8., 6.,
    ];
    let y = [
        9., 7., 5., 10., 6., 8., 7., 9., 5., 6., 8., 7., 6., 10., 8., 7., 9., 6., 7., 8., 11.,
    ];
    let r = mann_whitney(&x, &y).unwrap();
    assert_eq!(r.u, 448.5);
    close(r.p_two_sided, 3.770_108_180_082_484_6e-5, 1e-6);
    close(r.p_greater, 1.885_054_090_041_242_3e-5, 1e-6);
    close(r.p_less, 0.999_982_886_634_454_9, 1e-9);
    assert!(r.z > 3.0);
}

#[test]
fn mann_whitney_degenerate_inputs() {
    assert!(mann_whitney(&[], &[1.0]).is_none());
    assert!(mann_whitney(&[f64::NAN], &[1.0]).is_none());
    let r = mann_whitney(&[2.0; 12], &[2.0; 30]).unwrap();
    assert_eq!(
        (r.p_two_sided, r.p_greater, r.p_less, r.z),
        (1.0, 1.0, 1.0, 0.0)
    );
    // Two different constants: only two tie groups, the variance stays positive.
    let r = mann_whitney(&[0.0; 10], &[1.0; 10]).unwrap();
    assert!(r.p_greater < 1e-4 && r.p_less > 0.99, "{r:?}");
    let r = mann_whitney(&[1.0], &[2.0]).unwrap();
    close(r.p_greater, 0.5, 1e-12);
}

#[test]
fn hodges_lehmann_matches_brute_force_and_covers() {
    let h = hodges_lehmann(&A, &B, 0.95).unwrap();
    close(h.estimate, -0.56, 1e-12);
    assert!(h.lo < h.estimate && h.estimate < h.hi);
    // For 9 x 9, P(U <= 17) = 0.0200 <= 0.025 < P(U <= 18) = 0.0252, so the
    // interval runs from the 18th smallest to the 18th largest difference (as
    // R's wilcox.test(conf.int = TRUE) does).
    let mut d: Vec<f64> = B
        .iter()
        .flat_map(|y| A.iter().map(move |x| y - x))
        .collect();
    d.sort_by(f64::total_cmp);
    assert_eq!((h.lo, h.hi), (d[17], d[81 - 18]));

    // Coverage of the true shift over seeded samples, small (exact) and large
    // (normal approximation) sizes.
    for (n, seeds) in [(12usize, 400u64), (60, 200)] {
        let mut covered = 0;
        for seed in 0..seeds {
            let mut rng = Rng::new(seed);
            let a = rng.normals(n, 10.0, 2.0);
            let b = rng.normals(n, 13.0, 2.0);
            let h = hodges_lehmann(&a, &b, 0.95).unwrap();
            if h.lo <= 3.0 && 3.0 <= h.hi {
                covered += 1;
            }
        }
        let rate = covered as f64 / seeds as f64;
        assert!((0.91..=0.99).contains(&rate), "n={n}: coverage {rate}");
    }
}

#[test]
fn hodges_lehmann_bounded_and_degenerate() {
    let a: Vec<f64> = (0..5000).map(|i| i as f64).collect();
    let b: Vec<f64> = (0..3000).map(|i| i as f64 + 100.0).collect();
    let h = hodges_lehmann(&a, &b, 0.95).unwrap();
    assert!((h.estimate - (-900.0)).abs() < 10.0, "{h:?}");
    let h = hodges_lehmann(&[5.0; 8], &[5.0; 8], 0.95).unwrap();
    assert_eq!((h.estimate, h.lo, h.hi), (0.0, 0.0, 0.0));
    let h = hodges_lehmann(&[1.0], &[2.0], f64::NAN).unwrap();
    assert_eq!(
        (h.estimate, h.lo, h.hi, h.confidence),
        (1.0, 1.0, 1.0, 0.95)
    );
    assert!(hodges_lehmann(&[], &[1.0], 0.95).is_none());
}

#[test]
fn linear_trend_matches_reference() {
    let y = [2.1, 2.9, 4.2, 4.8, 6.3, 6.9, 8.1, 8.8, 10.2, 10.9];
    let t = linear_trend(&y).unwrap();
    close(t.slope, 0.992_727_272_727_272_7, 1e-12);
    close(t.intercept, 2.052_727_272_727_273_6, 1e-12);
    close(t.t, 47.225_991_406_629_376, 1e-9);
    close(t.p, 4.468_596_427_656_182e-11, 1e-5);
    let y = [5., 3., 6., 2., 7., 4., 5., 6., 3., 5., 4., 6.];
    let t = linear_trend(&y).unwrap();
    close(t.t, 0.429_875_645_111_310_3, 1e-9);
    close(t.p, 0.676_401_906_212_805_2, 1e-9);
}

#[test]
fn linear_trend_degenerate() {
    assert!(linear_trend(&[1.0, 2.0]).is_none());
    let flat = linear_trend(&[4.0; 10]).unwrap();
    assert_eq!((flat.slope, flat.t, flat.p), (0.0, 0.0, 1.0));
    let line = linear_trend(&[1.0, 3.0, 5.0, 7.0]).unwrap();
    assert_eq!(line.p, 0.0);
    assert!(line.t.is_finite() && line.t > 0.0);
}

#[test]
fn mann_kendall_matches_reference() {
    let y = [
        4.1, 4.5, 3.9, 5.2, 5.0, 5.8, 5.5, 6.1, 6.0, 6.9, 6.4, 7.2, 7.0, 7.7,
    ];
    let m = mann_kendall(&y).unwrap();
    assert_eq!(m.s, 77.0);
    close(m.z, 4.160_611_651_030_328, 1e-9);
    close(m.p, 3.173_964_013_769_57e-5, 1e-6);
    close(m.sen_slope, 0.266_666_666_666_666_6, 1e-9);
    let y = [
        4.1, 4.5, 4.5, 5.2, 5.0, 5.8, 5.5, 6.1, 6.1, 6.1, 6.4, 5.0, 7.0, 4.1,
    ];
    let m = mann_kendall(&y).unwrap();
    assert_eq!(m.s, 43.0);
    close(m.z, 2.322_605_307_159_190_3, 1e-9);
    close(m.p, 0.020_200_365_358_799_655, 1e-6);
    close(m.sen_slope, 0.2, 1e-9);
}

#[test]
fn mann_kendall_degenerate_and_long() {
    assert!(mann_kendall(&[1.0, f64::NAN, 2.0]).is_none());
    let m = mann_kendall(&[3.0; 20]).unwrap();
    assert_eq!((m.s, m.z, m.p, m.sen_slope), (0.0, 0.0, 1.0, 0.0));
    let long: Vec<f64> = (0..3000).map(|i| 0.5 * i as f64).collect();
    let m = mann_kendall(&long).unwrap();
    close(m.sen_slope, 0.5, 1e-12);
    assert!(m.p < 1e-12);
}

#[test]
fn mann_kendall_s_equals_the_pairwise_count_with_ties() {
    let mut rng = Rng::new(7);
    for n in [3usize, 4, 17, 200, 721] {
        // Rounded to tenths: many ties, as metrics such as success rates have.
        let y: Vec<f64> = (0..n)
            .map(|i| (rng.normal(i as f64 * 0.01, 1.0) * 10.0).round() / 10.0)
            .collect();
        let mut pairs = 0i64;
        for i in 0..n {
            for j in i + 1..n {
                pairs += (y[j] > y[i]) as i64 - (y[j] < y[i]) as i64;
            }
        }
        assert_eq!(mann_kendall(&y).unwrap().s, pairs as f64, "n = {n}");
    }
    // The two zeros are one value.
    let z = [0.0, -0.0, 1.0, -0.0, 0.0, -1.0];
    assert_eq!(mann_kendall(&z).unwrap().s, -5.0);
}

#[test]
fn pearson_matches_reference() {
    let c = pearson(&[1., 2., 3., 4., 5., 6., 7.], &[2., 1., 4., 3., 7., 8., 6.]).unwrap();
    close(c.r, 0.848_548_317_171_946_6, 1e-12);
    close(c.p, 0.015_774_701_109_298_097, 1e-7);
    let x: Vec<f64> = (1..=10).map(f64::from).collect();
    let c = pearson(&x, &[10., 9., 11., 8., 7., 7., 5., 6., 3., 4.]).unwrap();
    close(c.r, -0.923_869_770_874_311_8, 1e-12);
    close(c.p, 1.339_578_278_501_481e-4, 1e-6);
    assert_eq!(c.n, 10);
}

#[test]
fn pearson_degenerate() {
    assert!(pearson(&[1.0, 2.0], &[1.0, 2.0]).is_none());
    assert!(pearson(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]).is_none());
    let c = pearson(&[1.0, 2.0, f64::NAN, 3.0, 4.0], &[2.0, 4.0, 1.0, 6.0, 8.0]).unwrap();
    assert_eq!((c.r, c.p, c.n), (1.0, 0.0, 4));
}

#[test]
fn median_by_selection_equals_median_of_the_sorted_values() {
    let mut rng = Rng::new(77);
    for n in 1..60 {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal(0.0, 1.0).round()).collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(median_select(&mut v), median_sorted(&sorted), "n={n}");
    }
}
