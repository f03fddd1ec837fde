//! The judge's numbers as tables, one row per metric, in the manner of Kayenta and
//! Argo Rollouts: baseline, after (or candidate), change, interval, p, verdict — from
//! a deployment's monitor checks and from a validation's judgment or shadow replay.

use super::out::{safe, Paint};
use super::table::{interval, num, pct, Table};
use improve::config::{Config, Direction};
use improve::deploy::{Deployment, MonitorCheck};
use improve::validate::judge::{Judgment, MetricStatus};
use improve::validate::Validation;

pub fn status_word(s: &MetricStatus) -> &'static str {
    match s {
        MetricStatus::Pass => "pass",
        MetricStatus::Fail => "fail",
        MetricStatus::Nodata => "no data",
        MetricStatus::Insufficient => "too few samples",
    }
}

/// The colour of a verdict cell.
pub fn verdict_paint(_col: usize, cell: &str) -> Option<Paint> {
    match cell.split_whitespace().next()? {
        "pass" | "better" | "PASSED" => Some(Paint::Green),
        "fail" | "worse" | "FAILED" | "SEVERE" => Some(Paint::Red),
        "no" | "too" | "INCONCLUSIVE" | "within" => Some(Paint::Yellow),
        _ => None,
    }
}

/// Paints only the last column (the verdict).
pub fn last_column(cols: usize) -> impl Fn(usize, &str) -> Option<Paint> {
    move |col, cell| {
        (col + 1 == cols)
            .then(|| verdict_paint(col, cell))
            .flatten()
    }
}

/// One monitor check: a row per guarded metric, after = the window since the deploy.
pub fn monitor_table(m: &MonitorCheck) -> Table {
    let mut t = Table::new(&[
        "metric",
        ">baseline",
        ">after",
        ">change",
        ">shift interval",
        ">p (worse)",
        "verdict",
    ]);
    for c in &m.metrics {
        let degraded = m.degraded.contains(&c.name);
        let verdict = match (&c.status, degraded) {
            (MetricStatus::Fail, _) | (_, true) if m.severe => "fail (severe)".to_string(),
            (_, true) => "fail (degraded)".to_string(),
            (s, false) => status_word(s).to_string(),
        };
        t.row(vec![
            safe(&c.name).into_owned(),
            num(c.baseline),
            num(c.current),
            pct(c.relative_effect),
            interval(c.interval),
            num(c.p),
            verdict,
        ]);
    }
    t
}

/// A validation's judgment (canary, A/B): baseline = control, candidate = variant.
pub fn judgment_table(j: &Judgment) -> Table {
    let mut t = Table::new(&[
        "metric",
        ">baseline",
        ">candidate",
        ">n",
        ">change",
        ">shift interval",
        ">p (worse)",
        "verdict",
    ]);
    for m in &j.metrics {
        let verdict = match (&m.status, m.improved, m.severe) {
            (MetricStatus::Fail, _, true) => "fail (severe)".to_string(),
            (MetricStatus::Pass, true, _) => "pass (improved)".to_string(),
            (s, _, _) => status_word(s).to_string(),
        };
        t.row(vec![
            format!("{}{}", safe(&m.name), if m.critical { " *" } else { "" }),
            num(m.control_median),
            num(m.variant_median),
            format!("{}/{}", m.n_control, m.n_variant),
            pct(m.relative_effect),
            interval(m.ci_lo.zip(m.ci_hi)),
            num(m.p),
            verdict,
        ]);
    }
    t
}

/// A shadow replay's metrics: before (baseline) and after (candidate), the change
/// signed so positive is better, and whether it stays within the allowed effect.
pub fn replay_table(cfg: &Config, v: &Validation) -> Table {
    let mut t = Table::new(&["metric", ">baseline", ">candidate", ">change", "verdict"]);
    let names: std::collections::BTreeSet<&String> = v
        .metrics_before
        .keys()
        .chain(v.metrics_after.keys())
        .collect();
    for name in names {
        let imp = v.improvement.get(name).copied();
        let verdict = match (imp, cfg.metric(name)) {
            (None, _) => "not compared".to_string(),
            (Some(i), _) if i > 0.0 => "better".to_string(),
            (Some(i), Some(m)) if i < -m.allowed_effect => format!(
                "worse (beyond the allowed {})",
                pct(Some(m.allowed_effect)).trim_start_matches('+')
            ),
            (Some(i), _) if i < 0.0 => "within the allowed effect".to_string(),
            (Some(_), _) => "unchanged".to_string(),
        };
        t.row(vec![
            safe(name).into_owned(),
            num(v.metrics_before.get(name).copied()),
            num(v.metrics_after.get(name).copied()),
            pct(imp),
            verdict,
        ]);
    }
    t
}

/// The latest monitor check of a deployment in one line.
pub fn monitor_summary(d: &Deployment) -> String {
    let Some(m) = d.checks.iter().rev().find_map(|c| c.monitor()) else {
        return "none yet: the next cycle compares the metrics with the baseline".into();
    };
    let passing = m
        .metrics
        .iter()
        .filter(|c| c.status == MetricStatus::Pass && !m.degraded.contains(&c.name))
        .count();
    let metrics: Vec<String> = m
        .metrics
        .iter()
        .filter(|c| c.status != MetricStatus::Pass || m.degraded.contains(&c.name))
        .map(|c| {
            format!(
                "{} {} ({})",
                safe(&c.name),
                status_word(&c.status),
                pct(c.relative_effect)
            )
        })
        .collect();
    let verdict = if m.degraded.is_empty() {
        "healthy".to_string()
    } else {
        format!(
            "DEGRADED{}: {}",
            if m.severe { " (severe)" } else { "" },
            m.degraded.join(", ")
        )
    };
    let pass = format!("{passing} of {} metrics pass", m.metrics.len());
    if metrics.is_empty() {
        format!("{} at {}: {verdict}, {pass}", m.cycle, m.ts)
    } else {
        format!(
            "{} at {}: {verdict}, {pass}; {}",
            m.cycle,
            m.ts,
            metrics.join(", ")
        )
    }
}

/// "higher is better" / "lower is better".
pub fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::Higher => "higher is better",
        Direction::Lower => "lower is better",
    }
}
