//! Guarded-metric samples: per metric, the per-unit values (one per exploration,
//! session, …) that the canary judge, the post-deploy monitor and a human merge's
//! baseline compare. One place says how they are taken from a window and how many
//! are kept, so every record that carries samples is bounded the same way.

use super::Observation;
use std::collections::BTreeMap;

/// Samples by metric name.
pub type Samples = BTreeMap<String, Vec<f64>>;

/// Most samples kept per metric (and per group of an experiment): enough for the
/// judge, bounded in the size of a record.
pub const MAX: usize = 2000;

/// All of this window's samples, whatever variant they ran under.
pub fn window(obs: &Observation) -> Samples {
    let mut out = Samples::new();
    for per_metric in obs.samples.values() {
        extend(&mut out, per_metric);
    }
    out
}

/// This window's samples of one variant (`control` for untagged lines).
pub fn variant<'a>(obs: &'a Observation, tag: &str) -> Option<&'a Samples> {
    obs.samples.get(tag)
}

/// Adds `from` to `into`, dropping non-finite values and keeping the newest `MAX`.
pub fn extend(into: &mut Samples, from: &Samples) {
    for (m, v) in from {
        let dst = into.entry(m.clone()).or_default();
        dst.extend(v.iter().copied().filter(|x| x.is_finite()));
        if dst.len() > MAX {
            let cut = dst.len() - MAX;
            dst.drain(..cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_merges_variants_drops_non_finite_and_keeps_the_newest() {
        let mut obs = Observation::default();
        let big: Vec<f64> = (0..MAX + 5).map(|i| i as f64).collect();
        // Variants are merged in name order: P-0001 before control.
        obs.samples
            .entry("P-0001".into())
            .or_default()
            .insert("m".into(), big);
        obs.samples
            .entry("control".into())
            .or_default()
            .insert("m".into(), vec![f64::NAN, -1.0]);
        let w = window(&obs);
        assert_eq!(w["m"].len(), MAX);
        // The oldest six are dropped (MAX + 5 + 1 finite values), NaN never enters.
        assert_eq!(w["m"][0], 6.0);
        assert_eq!(*w["m"].last().unwrap(), -1.0);
        assert!(w["m"].iter().all(|x| x.is_finite()));
        assert!(variant(&obs, "P-0001").is_some());
        assert!(variant(&obs, "P-0002").is_none());
    }
}
