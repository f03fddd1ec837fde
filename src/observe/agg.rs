//! Aggregates as plain values with an order-independent merge: exact fixed-point sums,
//! bottom-k (hash-keyed) reservoirs and "smallest (file, line)" evidence lists. Each
//! thread fills its own `Agg`; merging them in any order gives the same Observation, so
//! a parallel run equals a sequential one bit for bit.

use super::{AnomalyStat, Breach, Evidence, Observation, Skipped};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Samples kept per variant per metric.
pub const SAMPLE_CAP: usize = 5000;
/// Evidence items kept per anomaly type.
pub const EVIDENCE_CAP: usize = 20;
/// Skipped lines listed individually (the rest are only counted).
pub const SKIPPED_CAP: usize = 100;

/// Fixed-point scale of exact sums (2^32): sums of any order are identical.
const SCALE: f64 = 4294967296.0;

/// An exact, order-independent sum and count, for window means.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mean {
    sum: i128,
    pub n: u64,
}

impl Mean {
    pub fn add(&mut self, v: f64) {
        self.sum = self.sum.saturating_add((v * SCALE).round() as i128);
        self.n += 1;
    }
    pub fn merge(&mut self, o: &Mean) {
        self.sum = self.sum.saturating_add(o.sum);
        self.n += o.n;
    }
    pub fn total(&self) -> f64 {
        self.sum as f64 / SCALE
    }
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.total() / self.n as f64)
    }
}

/// Bottom-k sample: keeps the values with the smallest keys, where a key is a hash of
/// where the value came from. Deterministic, uniform, and mergeable in any order.
#[derive(Debug, Clone, Default)]
pub struct Reservoir {
    heap: BinaryHeap<(u64, u64)>,
}

impl Reservoir {
    pub fn push(&mut self, key: u64, v: f64) {
        if self.heap.len() < SAMPLE_CAP {
            self.heap.push((key, v.to_bits()));
        } else if let Some(&(top, _)) = self.heap.peek() {
            if key < top {
                self.heap.pop();
                self.heap.push((key, v.to_bits()));
            }
        }
    }
    pub fn merge(&mut self, o: Reservoir) {
        for (k, v) in o.heap {
            self.push(k, f64::from_bits(v));
        }
    }
    /// The kept values, ordered by key (a deterministic shuffle).
    pub fn values(self) -> Vec<f64> {
        let mut v = self.heap.into_vec();
        v.sort_unstable();
        v.into_iter().map(|(_, b)| f64::from_bits(b)).collect()
    }
}

/// A stable 64-bit hash (FNV-1a then a splitmix finaliser): reservoir keys must not
/// change between runs or Rust versions.
pub fn hash_parts(parts: &[&[u8]], n: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for &b in *p {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    }
    super::identity::mix(h ^ n.wrapping_mul(0x9e3779b97f4a7c15))
}

/// Inserts into a list kept sorted by (file, line) and capped: the first occurrences.
fn keep_first<T>(list: &mut Vec<T>, item: T, cap: usize, key: impl Fn(&T) -> (&str, u64)) {
    let k = key(&item);
    if list.len() >= cap {
        match list.last() {
            Some(last) if key(last) <= k => return,
            _ => {}
        }
    }
    let pos = list.partition_point(|e| key(e) <= k);
    list.insert(pos, item);
    list.truncate(cap);
}

/// One thread's (or one file's) view of the window.
#[derive(Debug, Clone, Default)]
pub struct Agg {
    pub means: BTreeMap<String, Mean>,
    pub counts: BTreeMap<String, u64>,
    pub samples: BTreeMap<String, BTreeMap<String, Reservoir>>,
    pub anomalies: BTreeMap<String, AnomalyStat>,
    /// Worst breach per metric.
    pub breaches: BTreeMap<String, Breach>,
    pub skipped: Vec<Skipped>,
    pub skipped_total: u64,
    /// Files not read at all (line 0), also in `skipped`.
    pub skipped_files: Vec<Skipped>,
    pub sources_found: bool,
    pub files_read: u64,
    pub lines_read: u64,
    pub bytes_read: u64,
    pub first_ts: Option<(i64, String)>,
    pub last_ts: Option<(i64, String)>,
    pub sessions: BTreeSet<String>,
}

impl Agg {
    pub fn count(&mut self, key: &str, n: u64) {
        match self.counts.get_mut(key) {
            Some(c) => *c += n,
            None => {
                self.counts.insert(key.to_string(), n);
            }
        }
    }

    pub fn mean(&mut self, metric: &str, v: f64) {
        match self.means.get_mut(metric) {
            Some(m) => m.add(v),
            None => {
                let mut m = Mean::default();
                m.add(v);
                self.means.insert(metric.to_string(), m);
            }
        }
    }

    /// Adds a per-unit sample (`key` says where it came from, for the reservoir).
    pub fn sample(&mut self, variant: &str, metric: &str, key: u64, v: f64) {
        let by_metric = match self.samples.get_mut(variant) {
            Some(m) => m,
            None => self.samples.entry(variant.to_string()).or_default(),
        };
        match by_metric.get_mut(metric) {
            Some(r) => r.push(key, v),
            None => {
                let mut r = Reservoir::default();
                r.push(key, v);
                by_metric.insert(metric.to_string(), r);
            }
        }
    }

    pub fn skip(&mut self, file: &str, line: u64, reason: String) {
        self.skipped_total += 1;
        keep_first(
            &mut self.skipped,
            Skipped {
                file: file.to_string(),
                line,
                reason,
            },
            SKIPPED_CAP,
            |s| (s.file.as_str(), s.line),
        );
    }

    /// A whole file not read: in `skipped` with line 0 (so every listing of skipped
    /// input shows it), in `skipped_files`, and counted as `skipped_files`.
    pub fn skip_file(&mut self, file: &str, reason: String) {
        self.count("skipped_files", 1);
        let s = Skipped {
            file: file.to_string(),
            line: 0,
            reason: reason.clone(),
        };
        keep_first(&mut self.skipped_files, s, SKIPPED_CAP, |s| {
            (s.file.as_str(), s.line)
        });
        self.skip(file, 0, reason);
    }

    pub fn seen_ts(&mut self, ms: i64, raw: &str) {
        if self
            .first_ts
            .as_ref()
            .is_none_or(|(m, s)| (ms, raw) < (*m, s))
        {
            self.first_ts = Some((ms, raw.to_string()));
        }
        if self
            .last_ts
            .as_ref()
            .is_none_or(|(m, s)| (ms, raw) > (*m, s))
        {
            self.last_ts = Some((ms, raw.to_string()));
        }
    }

    /// Records one anomaly occurrence with its evidence and attribution context.
    pub fn anomaly(&mut self, kind: &str, severity: &str, ev: Evidence, context: &[String]) {
        let st = match self.anomalies.get_mut(kind) {
            Some(s) => s,
            None => self.anomalies.entry(kind.to_string()).or_default(),
        };
        st.count += 1;
        if !severity.is_empty() {
            *st.by_severity.entry(severity.to_string()).or_default() += 1;
        }
        for c in context {
            match st.context.get_mut(c) {
                Some(n) => *n += 1,
                None => {
                    st.context.insert(c.clone(), 1);
                }
            }
        }
        keep_first(&mut st.evidence, ev, EVIDENCE_CAP, |e| {
            (e.file.as_str(), e.line)
        });
    }

    /// Keeps the worst breach per metric (largest excess; ties to the earliest line).
    /// Callers count every breach in `counts["breach:METRIC"]` themselves.
    pub fn breach(&mut self, b: Breach) {
        let sev = |b: &Breach| {
            if b.threshold == 0.0 {
                (b.value - b.threshold).abs()
            } else {
                (b.value / b.threshold)
                    .abs()
                    .max((b.threshold / b.value).abs())
            }
        };
        match self.breaches.get(&b.metric) {
            Some(old)
                if (
                    sev(old),
                    std::cmp::Reverse((&old.evidence.file, old.evidence.line)),
                ) >= (
                    sev(&b),
                    std::cmp::Reverse((&b.evidence.file, b.evidence.line)),
                ) => {}
            _ => {
                self.breaches.insert(b.metric.clone(), b);
            }
        }
    }

    pub fn merge(&mut self, o: Agg) {
        for (k, m) in o.means {
            self.means.entry(k).or_default().merge(&m);
        }
        for (k, n) in o.counts {
            *self.counts.entry(k).or_default() += n;
        }
        for (variant, by_metric) in o.samples {
            let mine = self.samples.entry(variant).or_default();
            for (metric, r) in by_metric {
                mine.entry(metric).or_default().merge(r);
            }
        }
        for (kind, st) in o.anomalies {
            let mine = self.anomalies.entry(kind).or_default();
            mine.count += st.count;
            mine.explorations += st.explorations;
            for (k, n) in st.by_severity {
                *mine.by_severity.entry(k).or_default() += n;
            }
            for (k, n) in st.context {
                *mine.context.entry(k).or_default() += n;
            }
            for e in st.evidence {
                keep_first(&mut mine.evidence, e, EVIDENCE_CAP, |e| {
                    (e.file.as_str(), e.line)
                });
            }
        }
        for (_, b) in o.breaches {
            self.breach(b);
        }
        self.skipped_total += o.skipped_total;
        for s in o.skipped {
            keep_first(&mut self.skipped, s, SKIPPED_CAP, |s| {
                (s.file.as_str(), s.line)
            });
        }
        for s in o.skipped_files {
            keep_first(&mut self.skipped_files, s, SKIPPED_CAP, |s| {
                (s.file.as_str(), s.line)
            });
        }
        self.sources_found |= o.sources_found;
        self.files_read += o.files_read;
        self.lines_read += o.lines_read;
        self.bytes_read += o.bytes_read;
        if let Some((ms, s)) = o.first_ts {
            self.seen_ts(ms, &s);
        }
        if let Some((ms, s)) = o.last_ts {
            self.seen_ts(ms, &s);
        }
        self.sessions.extend(o.sessions);
    }

    /// The Observation: window means, totals and derived rates.
    pub fn finish(mut self) -> Observation {
        let mut metrics = BTreeMap::new();
        for (k, m) in &self.means {
            if let Some(v) = m.mean() {
                metrics.insert(k.clone(), v);
            }
        }
        let c = |k: &str| self.counts.get(k).copied().unwrap_or(0);
        metrics.insert("exploration_count".into(), c("explorations") as f64);
        let steps = c("step_lines");
        if steps > 0 {
            metrics.insert("anomaly_rate".into(), c("anomalies") as f64 / steps as f64);
        }
        for k in ["nodes_created", "links_created"] {
            if c(k) > 0 {
                metrics.insert(k.into(), c(k) as f64);
            }
        }
        if let Some(e) = self.means.get("energy_amount") {
            metrics.remove("energy_amount");
            metrics.insert("energy_injected".into(), e.total());
        }
        if !self.sessions.is_empty() {
            self.counts
                .insert("sessions".into(), self.sessions.len() as u64);
        }
        let samples = self
            .samples
            .into_iter()
            .map(|(v, m)| (v, m.into_iter().map(|(k, r)| (k, r.values())).collect()))
            .collect();
        Observation {
            metrics,
            counts: self.counts,
            samples,
            anomalies: self.anomalies,
            breaches: self.breaches.into_values().collect(),
            skipped: self.skipped,
            skipped_total: self.skipped_total,
            skipped_files: self.skipped_files,
            sources_found: self.sources_found,
            files_read: self.files_read,
            lines_read: self.lines_read,
            bytes_read: self.bytes_read,
            first_ts: self.first_ts.map(|(_, s)| s),
            last_ts: self.last_ts.map(|(_, s)| s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_is_order_independent() {
        let vals = [0.1, 1e6, 0.3, -2.5, 0.7];
        let mut a = Mean::default();
        let mut b = Mean::default();
        for v in vals {
            a.add(v);
        }
        for v in vals.iter().rev() {
            b.add(*v);
        }
        assert_eq!(a, b);
        assert!((a.mean().unwrap() - vals.iter().sum::<f64>() / 5.0).abs() < 1e-9);
    }

    #[test]
    fn reservoir_is_capped_and_mergeable_in_any_order() {
        let mut all = Reservoir::default();
        let mut x = Reservoir::default();
        let mut y = Reservoir::default();
        for i in 0..12000u64 {
            let k = hash_parts(&[b"f"], i);
            all.push(k, i as f64);
            if i % 2 == 0 { &mut x } else { &mut y }.push(k, i as f64);
        }
        let mut yx = y.clone();
        yx.merge(x.clone());
        x.merge(y);
        let (a, b, c) = (all.values(), x.values(), yx.values());
        assert_eq!(a.len(), SAMPLE_CAP);
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn keeps_first_evidence() {
        let mut l: Vec<(String, u64)> = vec![];
        for line in (1..50).rev() {
            keep_first(&mut l, ("f".into(), line), 3, |e| (e.0.as_str(), e.1));
        }
        assert_eq!(l.iter().map(|e| e.1).collect::<Vec<_>>(), vec![1, 2, 3]);
    }
}
