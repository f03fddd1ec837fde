//! Pattern detection: recurring anomalies from this window, drift and correlations over
//! the metrics history, threshold breaches from health, and guarded metrics that sit on
//! the bad side of their healthy level (flat or not, as the system's doctor judges them).
//! A single occurrence is never a pattern, and a pattern whose metric is healthy is
//! recorded but not acted on.

use super::history_cache::{self, Source};
use super::{detect, Pattern, PatternKind};
use crate::audit::files;
use crate::config::{Config, Direction};
use crate::observe::Observation;
use crate::records::Records;
use crate::vocab::Urgency;
use anyhow::Result;
use serde_json::json;
use std::collections::BTreeMap;

/// The metrics history: one row per cycle, aligned series per metric.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct History {
    pub cycles: Vec<(String, String)>,
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

pub const METRICS_HEADER: &str = "cycle,ts,metric,value\n";

/// Where the metrics history lives: one CSV a day in a directory a month
/// (`metrics/2026-01/05.csv`, see `audit::files`); earlier versions wrote one a month
/// (`metrics/2026-01.csv`), still read in place.
pub const DIR: &str = "metrics";

impl History {
    /// The file a cycle stamped `ts` (`2026-01-05T13:00:00Z`) appends its rows to.
    pub fn file_for(ts: &str) -> String {
        match (ts.get(..7), ts.get(8..10)) {
            (Some(month), Some(day)) => format!("{DIR}/{month}/{day}.csv"),
            _ => format!("{DIR}/{ts}.csv"),
        }
    }

    /// Reads every metrics file on the records branch.
    pub fn load(records: &Records) -> Result<History> {
        let Some(tip) = records.tip else {
            return Ok(History::default());
        };
        let mut h = History::default();
        for f in files::files(records.git, tip, DIR)? {
            if let Some(bytes) = records.read(&f)? {
                h.read_csv(&bytes);
            }
        }
        Ok(h)
    }

    /// Reads the newest metrics files, as many as hold at least the last `cycles`
    /// cycles: what drift, correlation, H9 and the report's charts look at
    /// (`HISTORY_WINDOW`), at a cost that does not grow with the history. Every file
    /// but the newest comes from the local cache (`history_cache`) when the cache was
    /// built from exactly those blobs: a cycle then parses only today's file.
    pub fn load_recent(records: &Records, cycles: usize) -> Result<History> {
        let Some(tip) = records.tip else {
            return Ok(History::default());
        };
        let git = records.git;
        let cache = history_cache::load(git);
        // Newest first; an older file's bytes are read only when the cache does not
        // know how many cycles it holds.
        let mut picked: Vec<(Source, git2::Oid, Option<Vec<u8>>)> = vec![];
        let mut seen = 0;
        files::newest_first(git, tip, DIR, |f| {
            if seen >= cycles {
                return Ok(false);
            }
            let Some(id) = git.blob_id(tip, f)? else {
                return Ok(true);
            };
            let blob = id.to_string();
            let known = match (&cache, picked.is_empty()) {
                (Some(c), false) => c.cycles_of(f, &blob),
                _ => None,
            };
            let (n, bytes) = match known {
                Some(n) => (n, None),
                None => {
                    let b = git.read_blob(id, f, tip)?;
                    (cycles_in(&b), Some(b))
                }
            };
            seen += n;
            let path = f.to_string();
            picked.push((
                Source {
                    path,
                    blob,
                    cycles: n,
                },
                id,
                bytes,
            ));
            Ok(true)
        })?;
        picked.reverse();
        let Some((_, _, newest)) = picked.pop() else {
            return Ok(History::default());
        };
        let older: Vec<Source> = picked.iter().map(|(s, ..)| s.clone()).collect();
        let mut h = match cache {
            Some(c) if c.files == older => History {
                cycles: c.cycles,
                series: c.series,
            },
            _ => {
                let mut h = History::default();
                for (s, id, bytes) in picked {
                    let b = match bytes {
                        Some(b) => b,
                        None => git.read_blob(id, &s.path, tip)?,
                    };
                    h.read_csv(&b);
                }
                history_cache::store(git, &older, &h.cycles, &h.series);
                h
            }
        };
        if let Some(b) = newest {
            h.read_csv(&b);
        }
        Ok(h)
    }

    /// Every cycle reads a month of rows (about ten thousand): one record buffer for
    /// them all, and no allocation for a row of a metric and cycle already seen.
    fn read_csv(&mut self, bytes: &[u8]) {
        let mut rdr = csv::Reader::from_reader(bytes);
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => continue,
            }
            if let (Some(c), Some(t), Some(m), Some(v)) =
                (rec.get(0), rec.get(1), rec.get(2), rec.get(3))
            {
                // Non-finite values are never written (`push_cycle`); one edited
                // in is not a measurement.
                if let Some(v) = v.parse::<f64>().ok().filter(|v| v.is_finite()) {
                    self.push_value(c, t, m, v);
                }
            }
        }
    }

    fn push_value(&mut self, cycle: &str, ts: &str, metric: &str, v: f64) {
        if self.cycles.last().map(|(c, _)| c.as_str()) != Some(cycle) {
            self.cycles.push((cycle.to_string(), ts.to_string()));
            for s in self.series.values_mut() {
                s.push(None);
            }
        }
        let n = self.cycles.len();
        let s = match self.series.get_mut(metric) {
            Some(s) => s,
            None => self
                .series
                .entry(metric.to_string())
                .or_insert_with(|| vec![None; n]),
        };
        if s.len() < n {
            s.resize(n, None);
        }
        s[n - 1] = Some(v);
    }

    /// Appends this cycle's window metrics as a new history row.
    pub fn push_cycle(&mut self, cycle: &str, ts: &str, metrics: &BTreeMap<String, f64>) {
        for (m, v) in metrics {
            if v.is_finite() {
                self.push_value(cycle, ts, m, *v);
            }
        }
    }

    /// The CSV rows for one cycle's metrics.
    pub fn csv_rows(cycle: &str, ts: &str, metrics: &BTreeMap<String, f64>) -> String {
        let mut out = String::new();
        for (m, v) in metrics {
            if v.is_finite() {
                out.push_str(&format!("{cycle},{ts},{m},{v}\n"));
            }
        }
        out
    }

    pub fn values(&self, metric: &str) -> Vec<f64> {
        self.series
            .get(metric)
            .map(|s| s.iter().flatten().copied().collect())
            .unwrap_or_default()
    }
}

/// Cycles in a metrics CSV: its rows come grouped by cycle (one cycle appends them).
fn cycles_in(csv: &[u8]) -> usize {
    let mut n = 0;
    let mut last: &[u8] = b"";
    for line in csv.split(|b| *b == b'\n').skip(1) {
        let cycle = line.split(|b| *b == b',').next().unwrap_or_default();
        if !cycle.is_empty() && cycle != last {
            n += 1;
            last = cycle;
        }
    }
    n
}

/// How far a value is from its healthy level in the bad direction (0 when healthy,
/// 1 for a value twice as bad); None when no healthy level is configured.
pub fn unhealthiness(cfg: &Config, metric: &str, value: f64) -> Option<f64> {
    let m = cfg.metric(metric)?;
    let healthy = m.healthy?;
    let gap = match m.direction {
        Direction::Higher => healthy - value,
        Direction::Lower => value - healthy,
    };
    let scale = healthy.abs().max(1e-9);
    Some((gap / scale).max(0.0))
}

/// Detects all patterns of this cycle. `history` already includes this cycle's row.
pub fn detect(obs: &Observation, history: &History, cfg: &Config) -> Vec<Pattern> {
    let mut out = vec![];
    recurring(obs, cfg, &mut out);
    drift(history, cfg, &mut out);
    correlations(history, cfg, &mut out);
    breaches(obs, &mut out);
    levels(obs, cfg, &mut out);
    out
}

fn base(kind: PatternKind, subject: &str) -> Pattern {
    Pattern {
        kind,
        subject: subject.to_string(),
        occurrences: 0,
        severity: 0.0,
        impact: 0.0,
        score: 0.0,
        actionable: false,
        why: String::new(),
        evidence: vec![],
        stats: json!({}),
        layer: None,
        rule: None,
        confidence: 0.0,
        explanation: String::new(),
        metric: None,
        features: vec![],
        known: None,
    }
}

/// Features for similarity search in the library: the kind (one slot each; none for an
/// unhealthy level), how strong, how many (log scale) and whether severe.
fn features(kind: PatternKind, strength: f64, n: u64, severe: bool) -> Vec<f64> {
    let slot = match kind {
        PatternKind::RecurringAnomaly => Some(0),
        PatternKind::MetricDrift => Some(1),
        PatternKind::Correlation => Some(2),
        PatternKind::ThresholdBreach => Some(3),
        PatternKind::UnhealthyLevel => None,
    };
    let mut f: Vec<f64> = (0..4).map(|i| f64::from(slot == Some(i))).collect();
    f.extend([
        strength,
        (n as f64).ln_1p() / 10.0,
        f64::from(u8::from(severe)),
    ]);
    f
}

fn total_steps(obs: &Observation) -> f64 {
    let steps = obs.metrics.get("steps").copied().unwrap_or(0.0)
        * obs.metrics.get("exploration_count").copied().unwrap_or(0.0);
    if steps > 0.0 {
        steps
    } else {
        (obs.lines_read as f64).max(1.0)
    }
}

fn recurring(obs: &Observation, cfg: &Config, out: &mut Vec<Pattern>) {
    let steps = total_steps(obs);
    for (kind, stat) in &obs.anomalies {
        if stat.count < cfg.triggers.pattern_threshold.max(2) {
            continue; // a single occurrence is never a pattern
        }
        let weighted: f64 = stat
            .by_severity
            .iter()
            .map(|(sev, n)| {
                cfg.anomalies
                    .severity_weight
                    .get(sev.as_str())
                    .copied()
                    .unwrap_or(1.0)
                    * *n as f64
            })
            .sum();
        let rate = weighted / steps;
        let noise = cfg.anomalies.min_weighted_rate.max(1e-9);
        let mut p = base(PatternKind::RecurringAnomaly, kind);
        p.occurrences = stat.count;
        p.severity = rate / noise;
        p.evidence = stat.evidence.clone();
        let severe = stat
            .by_severity
            .keys()
            .any(|s| s == "error" || s == "critical");
        p.stats = json!({
            "weighted_rate_per_step": rate,
            "noise_rate": noise,
            "by_severity": stat.by_severity,
            "explorations": stat.explorations,
            "context": stat.context,
        });
        p.features = features(p.kind, p.severity.min(10.0) / 10.0, stat.count, severe);
        if p.severity < 1.0 {
            p.why = format!(
                "{} occurrences at a weighted rate of {:.3} per step, under the noise line {:.3}: not a problem to fix",
                stat.count, rate, noise
            );
        } else {
            p.actionable = true;
            p.why = format!(
                "{} occurrences in {} explorations, weighted rate {:.3} per step ({:.1}x the noise line)",
                stat.count, stat.explorations, rate, p.severity
            );
        }
        out.push(p);
    }
}

fn drift(history: &History, cfg: &Config, out: &mut Vec<Pattern>) {
    let alpha = 1.0 - cfg.triggers.significance;
    for (metric, series) in &history.series {
        // Only guarded metrics have a known good direction; counters such as
        // exploration_count follow the window's length, not the system's health.
        let Some(guarded) = cfg.metric(metric) else {
            continue;
        };
        // The recent window only, each value with its row (the cycle it came from).
        let rows = detect::recent(series, detect::HISTORY_WINDOW);
        let first_row = series.len() - rows.len();
        let points: Vec<(usize, f64)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|x| (first_row + i, x)))
            .collect();
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        let direction = guarded.direction;
        let Some(d) = detect::detect_drift(
            metric,
            &values,
            direction,
            cfg.triggers.drift_threshold,
            alpha,
            cfg.triggers.min_history,
        ) else {
            continue;
        };
        let mut p = base(PatternKind::MetricDrift, metric);
        p.occurrences = d.n as u64;
        p.severity = d.relative_trend.abs() / cfg.triggers.drift_threshold.max(1e-9);
        p.stats = json!({
            "relative_trend": d.relative_trend, "slope": d.slope, "p": d.p,
            "method": d.method, "worsening": d.worsening, "n": d.n,
        });
        let (first_row, first_value) = points[points.len() - d.n];
        let (first_c, first_t) = &history.cycles[first_row];
        let (last_c, last_t) = history.cycles.last().cloned().unwrap_or_default();
        p.evidence = vec![
            crate::observe::Evidence {
                file: format!("metrics ({first_c})"),
                line: 0,
                ts: Some(first_t.clone()),
                value: Some(first_value),
                detail: format!("{metric} at the start of the trend"),
            },
            crate::observe::Evidence {
                file: format!("metrics ({last_c})"),
                line: 0,
                ts: Some(last_t),
                value: values.last().copied(),
                detail: format!("{metric} now"),
            },
        ];
        p.features = features(p.kind, p.severity.min(10.0) / 10.0, d.n as u64, false);
        let current = values.last().copied().unwrap_or(0.0);
        let unhealthy = unhealthiness(cfg, metric, current);
        p.impact = unhealthy.unwrap_or(d.relative_trend.abs());
        if !d.worsening {
            p.why = format!(
                "{metric} is improving ({:+.1}% over {} cycles)",
                d.relative_trend * 100.0,
                d.n
            );
        } else if unhealthy == Some(0.0) {
            p.why = format!(
                "{metric} is worsening ({:+.1}% over {} cycles, p={:.3}) but still healthy at {current:.3}: watched, not fixed",
                d.relative_trend * 100.0, d.n, d.p
            );
        } else {
            p.actionable = true;
            p.why = format!(
                "{metric} is worsening ({:+.1}% over {} cycles, p={:.3}) and now {current:.3}",
                d.relative_trend * 100.0,
                d.n,
                d.p
            );
        }
        out.push(p);
    }
}

fn correlations(history: &History, cfg: &Config, out: &mut Vec<Pattern>) {
    let alpha = 1.0 - cfg.triggers.significance;
    // Only guarded metrics: correlating every counter with every other is noise.
    let guarded: BTreeMap<String, Vec<Option<f64>>> = history
        .series
        .iter()
        .filter(|(k, _)| cfg.metric(k).is_some())
        .map(|(k, v)| {
            (
                k.clone(),
                detect::recent(v, detect::HISTORY_WINDOW).to_vec(),
            )
        })
        .collect();
    for c in detect::detect_correlations(
        &guarded,
        cfg.triggers.correlation_threshold,
        alpha,
        cfg.triggers.min_history,
    ) {
        let mut p = base(PatternKind::Correlation, &format!("{}~{}", c.a, c.b));
        p.occurrences = c.n as u64;
        p.severity = c.r.abs() / cfg.triggers.correlation_threshold.max(1e-9);
        p.stats = json!({"r": c.r, "p": c.p, "n": c.n});
        p.features = features(p.kind, c.r.abs(), c.n as u64, false);
        p.why = format!(
            "{} and {} move together (r={:+.2}, p={:.3}, {} cycles): a lead for diagnosis, not a cause",
            c.a, c.b, c.r, c.p, c.n
        );
        p.evidence = vec![crate::observe::Evidence {
            file: "metrics".into(),
            line: 0,
            ts: history.cycles.last().map(|(_, t)| t.clone()),
            value: Some(c.r),
            detail: format!("pearson r over {} cycles", c.n),
        }];
        out.push(p);
    }
}

fn breaches(obs: &Observation, out: &mut Vec<Pattern>) {
    let mut by_metric: BTreeMap<&str, Vec<&crate::observe::Breach>> = BTreeMap::new();
    for b in &obs.breaches {
        by_metric.entry(b.metric.as_str()).or_default().push(b);
    }
    for (metric, list) in by_metric {
        let worst = list
            .iter()
            .map(|b| {
                if b.threshold != 0.0 {
                    (b.value / b.threshold).abs()
                } else {
                    2.0
                }
            })
            .fold(0.0f64, f64::max);
        let mut p = base(PatternKind::ThresholdBreach, metric);
        p.occurrences = list.len() as u64;
        p.severity = worst;
        p.impact = (worst - 1.0).max(0.0);
        p.actionable = true;
        p.stats = json!({"worst_ratio": worst, "urgency": Urgency::of_ratio(worst).as_str()});
        p.evidence = list.iter().take(20).map(|b| b.evidence.clone()).collect();
        p.features = features(p.kind, worst.min(10.0) / 10.0, list.len() as u64, false);
        p.why = format!(
            "{metric} crossed its threshold {} times (worst {:.2}x the threshold, urgency {})",
            list.len(),
            worst,
            Urgency::of_ratio(worst).as_str()
        );
        out.push(p);
    }
}

/// Guarded metrics whose window value is on the bad side of their healthy level, over
/// at least `pattern_threshold` measured units (explorations): a problem even when it
/// does not drift. `error` says when the doctor would call it an error.
fn levels(obs: &Observation, cfg: &Config, out: &mut Vec<Pattern>) {
    for m in &cfg.metrics {
        let (Some(healthy), Some(&value)) = (m.healthy, obs.metrics.get(&m.name)) else {
            continue;
        };
        let Some(gap) = unhealthiness(cfg, &m.name, value).filter(|g| *g > 0.0) else {
            continue;
        };
        let units: Vec<f64> = obs
            .samples
            .values()
            .filter_map(|per| per.get(&m.name))
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let n = units.len() as u64;
        if n < cfg.triggers.pattern_threshold.max(2) {
            continue; // one exploration is never a pattern
        }
        let bad = |v: f64| match m.direction {
            Direction::Higher => v < healthy,
            Direction::Lower => v > healthy,
        };
        let below = units.iter().filter(|v| bad(**v)).count();
        let error = m.error.is_some_and(|e| match m.direction {
            Direction::Higher => value < e,
            Direction::Lower => value >= e,
        });
        let side = match m.direction {
            Direction::Higher => "below",
            Direction::Lower => "above",
        };
        let level = match (error, m.error) {
            (true, Some(e)) => format!("; the doctor's ERROR level is {side} {e}"),
            (false, Some(e)) => format!("; a WARNING (the doctor's ERROR level is {side} {e})"),
            _ => String::new(),
        };
        let mut p = base(PatternKind::UnhealthyLevel, &m.name);
        p.occurrences = n;
        p.severity = 1.0 + gap * 10.0;
        p.impact = gap;
        p.actionable = true;
        p.stats = json!({
            "value": value, "healthy": healthy, "error_level": m.error, "error": error,
            "units": n, "units_on_bad_side": below, "direction": m.direction,
        });
        p.why = format!(
            "{} is {value:.3} over {n} explorations, {side} its healthy level {healthy} ({below} of {n} explorations {side} it){level}",
            m.name
        );
        p.evidence = vec![crate::observe::Evidence {
            file: "traversal logs (this window)".into(),
            line: 0,
            ts: obs.last_ts.clone(),
            value: Some(value),
            detail: format!(
                "{} = {value:.3}, mean over {n} explorations from {} to {}; healthy {side} {healthy}",
                m.name,
                obs.first_ts.as_deref().unwrap_or("?"),
                obs.last_ts.as_deref().unwrap_or("?")
            ),
        }];
        p.features = features(p.kind, p.severity.min(10.0) / 10.0, n, error);
        out.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_rng::Rng;

    /// A history of `n` hourly cycles: `sat(i)` for satisfaction, independent noise
    /// for efficiency, and every tenth cycle missing efficiency.
    fn history(n: usize, sat: impl Fn(usize, &mut Rng) -> f64) -> History {
        let mut rng = Rng::new(11);
        let mut h = History::default();
        for i in 0..n {
            let mut m = BTreeMap::new();
            m.insert("satisfaction".to_string(), sat(i, &mut rng));
            if i % 10 != 0 {
                m.insert("efficiency".to_string(), rng.normal(0.5, 0.01));
            }
            h.push_cycle(&format!("C-{i:06}"), &format!("t{i}"), &m);
        }
        h
    }

    fn of(found: &[Pattern], kind: PatternKind) -> Vec<&Pattern> {
        found.iter().filter(|p| p.kind == kind).collect()
    }

    #[test]
    fn a_long_history_is_judged_on_its_recent_window() {
        let cfg = Config::builtin();
        let n = 50_000;
        let w = detect::HISTORY_WINDOW;
        // Falling for years, then flat for the last window: no drift now.
        let old_fall = history(n, |i, r| {
            let t = i.min(n - w) as f64;
            0.9 - 0.5 * t / n as f64 + r.normal(0.0, 0.01)
        });
        let obs = Observation::default();
        let found = detect(&obs, &old_fall, &cfg);
        assert!(of(&found, PatternKind::MetricDrift).is_empty(), "{found:?}");
        // Flat for years, falling in the last window: drift over exactly that window.
        let new_fall = history(n, |i, r| {
            let t = i.saturating_sub(n - w) as f64;
            0.9 - 0.3 * t / w as f64 + r.normal(0.0, 0.01)
        });
        let found = detect(&obs, &new_fall, &cfg);
        let drift = of(&found, PatternKind::MetricDrift);
        assert_eq!(drift.len(), 1, "{found:?}");
        let d = drift[0];
        assert_eq!(
            (d.subject.as_str(), d.occurrences),
            ("satisfaction", w as u64)
        );
        assert!(d.actionable && d.stats["worsening"] == true, "{d:?}");
        // The evidence names the cycle where the window starts, and its value.
        let first = &d.evidence[0];
        assert_eq!(first.file, format!("metrics (C-{:06})", n - w));
        assert_eq!(first.value, new_fall.series["satisfaction"][n - w]);
    }

    #[test]
    fn only_the_newest_files_that_cover_the_window_are_read() {
        use crate::git::Git;
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        let git = Git::open(dir.path()).unwrap();
        let mut files = BTreeMap::new();
        let mut first = 0;
        // Monthly files of an earlier version, then the daily files after them.
        for (file, cycles) in [
            ("2026-01.csv", 500),
            ("2026-02.csv", 500),
            ("2026-03.csv", 100),
            ("2026-03/05.csv", 30),
            ("2026-03/06.csv", 20),
        ] {
            let mut csv = METRICS_HEADER.to_string();
            for i in first..first + cycles {
                let m: BTreeMap<String, f64> =
                    [("satisfaction".into(), 0.5), ("efficiency".into(), 0.2)].into();
                csv.push_str(&History::csv_rows(&format!("C-{i:06}"), "t", &m));
            }
            first += cycles;
            files.insert(format!("metrics/{file}"), Some(csv.into_bytes()));
        }
        let now = crate::clock::parse_ts("2026-03-05T00:00:00Z").unwrap();
        let tip = git.commit_changes(None, &files, "metrics", now).unwrap();
        let records = Records {
            git: &git,
            branch: "improve/records".into(),
            tip: Some(tip),
        };
        let n = |cycles| History::load_recent(&records, cycles).unwrap().cycles.len();
        assert_eq!(
            (n(20), n(50), n(100), n(101), n(600), n(720)),
            (20, 50, 150, 150, 650, 1150)
        );
        let all = History::load(&records).unwrap();
        assert_eq!(all.cycles.len(), 1150);
        assert_eq!(all.cycles[0].0, "C-000000");
        assert_eq!(all.cycles[1149].0, "C-001149");
        let recent = History::load_recent(&records, 101).unwrap();
        assert_eq!(recent.cycles[0].0, "C-001000");
        assert_eq!(recent.cycles[149].0, "C-001149");
        assert_eq!(recent.series["efficiency"].len(), 150);
        assert_eq!(
            History::file_for("2026-03-06T13:00:00Z"),
            "metrics/2026-03/06.csv"
        );
    }

    #[test]
    fn correlations_are_judged_on_the_recent_window() {
        let cfg = Config::builtin();
        let w = detect::HISTORY_WINDOW;
        // satisfaction and efficiency moved together long ago, not any more.
        let mut h = History::default();
        let mut rng = Rng::new(3);
        for i in 0..5_000 {
            let x = rng.normal(0.5, 0.1);
            let y = if i < 5_000 - w {
                x
            } else {
                rng.normal(0.5, 0.1)
            };
            let m: BTreeMap<String, f64> =
                [("satisfaction".into(), x), ("efficiency".into(), y)].into();
            h.push_cycle(&format!("C-{i}"), "t", &m);
        }
        let whole = detect::detect_correlations(
            &h.series,
            cfg.triggers.correlation_threshold,
            0.05,
            cfg.triggers.min_history,
        );
        assert_eq!(whole.len(), 1, "over the whole history they correlate");
        let found = detect(&Observation::default(), &h, &cfg);
        assert!(of(&found, PatternKind::Correlation).is_empty(), "{found:?}");
    }
}
