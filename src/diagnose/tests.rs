use super::attribute::{attribute, Levers, Rules};
use super::patterns::{detect, History};
use super::{Layer, Pattern, PatternKind};
use crate::config::Config;
use crate::observe::{AnomalyStat, Evidence, Observation};
use std::collections::BTreeMap;

/// A window of `n` explorations with these per-exploration values.
fn window(n: usize, metrics: &[(&str, f64)]) -> Observation {
    let mut obs = Observation {
        lines_read: 100,
        ..Default::default()
    };
    obs.metrics.insert("exploration_count".into(), n as f64);
    obs.metrics.insert("steps".into(), 8.0);
    let control = obs.samples.entry("control".into()).or_default();
    for (m, v) in metrics {
        obs.metrics.insert(m.to_string(), *v);
        control.insert(m.to_string(), vec![*v; n]);
    }
    obs
}

fn anomaly(obs: &mut Observation, kind: &str, count: u64, explorations: u64) {
    obs.anomalies.insert(
        kind.into(),
        AnomalyStat {
            count,
            by_severity: BTreeMap::from([("warn".to_string(), count)]),
            explorations,
            evidence: vec![Evidence {
                file: "engine/data/logs/traversal/traversal_a.jsonl".into(),
                line: 3,
                ts: None,
                value: None,
                detail: format!("{kind} here"),
            }],
            context: BTreeMap::new(),
        },
    );
}

fn levels(found: &[Pattern]) -> Vec<(&str, bool)> {
    found
        .iter()
        .filter(|p| p.kind == PatternKind::UnhealthyLevel)
        .map(|p| (p.subject.as_str(), p.actionable))
        .collect()
}

#[test]
fn a_flat_metric_below_its_healthy_level_is_a_pattern_with_the_doctors_level() {
    let cfg = Config::builtin();
    let obs = window(10, &[("semantic_quality", 0.38), ("efficiency", 0.35)]);
    let found = detect(&obs, &History::default(), &cfg);
    assert_eq!(levels(&found), [("semantic_quality", true)]);
    let p = found
        .iter()
        .find(|p| p.kind == PatternKind::UnhealthyLevel)
        .unwrap();
    assert_eq!(p.occurrences, 10);
    // 0.38 is 0.22 under 0.60: 36.7% of the level.
    assert!((p.impact - 0.22 / 0.60).abs() < 1e-9, "{}", p.impact);
    assert!(
        p.why.contains("the doctor's ERROR level is below 0.4"),
        "{}",
        p.why
    );
    assert_eq!(p.evidence.len(), 1);
    // In the warning band it says so; two explorations are never a pattern.
    let warn = detect(
        &window(10, &[("semantic_quality", 0.5)]),
        &History::default(),
        &cfg,
    );
    assert!(warn[0].why.contains("a WARNING"), "{}", warn[0].why);
    assert!(levels(&detect(
        &window(2, &[("semantic_quality", 0.38)]),
        &History::default(),
        &cfg
    ))
    .is_empty());
    // Lower-is-better metrics are judged the other way round.
    let bt = detect(
        &window(10, &[("backtrack_rate", 0.35)]),
        &History::default(),
        &cfg,
    );
    assert_eq!(levels(&bt), [("backtrack_rate", true)]);
    assert!(
        bt[0].why.contains("above its healthy level 0.1"),
        "{}",
        bt[0].why
    );
}

fn levers<'a>(
    spent: &'a dyn Fn(&str, &str) -> bool,
    metric_of: &'a dyn Fn(&str) -> Option<String>,
) -> Levers<'a> {
    Levers {
        floor: &|_| None,
        metric_of,
        spent,
    }
}

#[test]
fn an_unhealthy_level_another_pattern_is_about_is_covered() {
    let cfg = Config::builtin();
    let mut obs = window(10, &[("sibling_divergence", 0.45)]);
    anomaly(&mut obs, "LOW_SIBLING_DIVERGENCE", 80, 10);
    let mut found = detect(&obs, &History::default(), &cfg);
    let rules = Rules::builtin();
    // As the templates say: the divergence rules' fixes move sibling_divergence.
    let metric_of = |r: &str| {
        r.starts_with("divergence")
            .then(|| "sibling_divergence".to_string())
    };
    attribute(
        &mut found,
        &obs,
        &rules,
        &cfg,
        &levers(&|_, _| false, &metric_of),
    );
    let anomaly = found
        .iter()
        .find(|p| p.kind == PatternKind::RecurringAnomaly)
        .unwrap();
    assert!(anomaly.actionable);
    assert_eq!(anomaly.rule.as_deref(), Some("divergence-physics"));
    assert_eq!(levels(&found), [("sibling_divergence", false)]);
    let level = found
        .iter()
        .find(|p| p.kind == PatternKind::UnhealthyLevel)
        .unwrap();
    assert!(
        level
            .why
            .contains("the same problem as recurring_anomaly:LOW_SIBLING_DIVERGENCE"),
        "{}",
        level.why
    );
}

#[test]
fn a_spent_rule_gives_way_to_another_at_its_layer_or_below_never_above() {
    let cfg = Config::builtin();
    let mut obs = window(
        10,
        &[("satisfaction", 0.7), ("satisfaction_velocity", 0.02)],
    );
    anomaly(&mut obs, "SATISFACTION_PLATEAU", 60, 10);
    let rules = Rules::builtin();
    let run = |spent: &dyn Fn(&str, &str) -> bool| {
        let mut found = detect(&obs, &History::default(), &cfg);
        attribute(&mut found, &obs, &rules, &cfg, &levers(spent, &|_| None));
        found
            .into_iter()
            .find(|p| p.kind == PatternKind::RecurringAnomaly)
            .unwrap()
    };
    let p = run(&|_, _| false);
    assert_eq!(p.rule.as_deref(), Some("plateau-threshold-physics"));
    // Its levers tried: the other physics rule for plateaus.
    let p = run(&|r, _| r == "plateau-threshold-physics");
    assert_eq!(p.rule.as_deref(), Some("plateau-fatigue-physics"));
    assert_eq!(p.layer, Some(Layer::Physics));
    assert!(p
        .explanation
        .contains("every fix of plateau-threshold-physics was tried"));
    // Both spent: the behaviour-layer fallback is above physics, so nothing explains it.
    let p = run(&|r, _| r.starts_with("plateau-"));
    assert!(!p.actionable);
    assert!(p.why.contains("was tried without effect"), "{}", p.why);
}
