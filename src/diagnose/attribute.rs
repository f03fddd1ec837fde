//! Layer attribution: walk the layers from the symptom down and stop at the first
//! whose evidence explains the pattern. Rules are data (`templates/attribution.yaml`,
//! overridable per repository at `improvement-data/templates/attribution.yaml`).

use super::{patterns::unhealthiness, Layer, Pattern, PatternKind};
use crate::config::Config;
use crate::observe::Observation;
use anyhow::{Context, Result};
use serde::Deserialize;

pub const DEFAULT_RULES: &str = include_str!("../../templates/attribution.yaml");
pub const RULES_OVERRIDE: &str = "improvement-data/templates/attribution.yaml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    #[serde(rename = "match")]
    pub matches: Match,
    pub layer: Layer,
    #[serde(default)]
    pub when: Vec<Condition>,
    pub strength: f64,
    #[serde(default)]
    pub explanation: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    pub kind: String,
    pub subject: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub context: Option<String>,
    /// Share of the window's explorations in which this anomaly type occurred.
    #[serde(default)]
    pub anomaly: Option<String>,
    pub op: String,
    pub value: f64,
}

impl Rules {
    pub fn parse(text: &str, name: &str) -> Result<Rules> {
        serde_yaml::from_str(text).with_context(|| format!("{name}: invalid attribution rules"))
    }

    /// The repository's own rules (`improvement-data/templates/attribution.yaml` on
    /// the deploy branch) when it has them, else the built-in ones.
    pub fn for_repo(git: &crate::git::Git, cfg: &Config) -> Result<Rules> {
        match cfg.deploy_file(git, RULES_OVERRIDE)? {
            Some(t) => Rules::parse(&t, RULES_OVERRIDE),
            None => Ok(Rules::builtin()),
        }
    }
    pub fn builtin() -> Rules {
        Rules::parse(DEFAULT_RULES, "templates/attribution.yaml").expect("built-in rules are valid")
    }
}

fn glob_match(pattern: &str, s: &str) -> bool {
    globset::Glob::new(pattern)
        .map(|g| g.compile_matcher().is_match(s))
        .unwrap_or(pattern == s)
}

fn holds(c: &Condition, p: &Pattern, obs: &Observation) -> bool {
    let actual = if let Some(m) = &c.metric {
        match obs.metrics.get(m) {
            Some(v) => *v,
            None => return false,
        }
    } else if let Some(kind) = &c.anomaly {
        let explorations = obs.metrics.get("exploration_count").copied().unwrap_or(0.0);
        if explorations <= 0.0 {
            return false;
        }
        let with = obs.anomalies.get(kind).map_or(0, |a| a.explorations) as f64;
        with / explorations
    } else if let Some(ctx) = &c.context {
        let total = p.occurrences.max(1) as f64;
        let n = p
            .stats
            .get("context")
            .and_then(|c| c.get(ctx))
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as f64;
        n / total
    } else {
        return false;
    };
    match c.op.as_str() {
        "<" => actual < c.value,
        "<=" => actual <= c.value,
        ">" => actual > c.value,
        ">=" => actual >= c.value,
        "==" => (actual - c.value).abs() < 1e-12,
        _ => false,
    }
}

/// What attribution asks of the proposal templates and the pattern library.
pub struct Levers<'a> {
    /// Per pattern signature, the layer a previous fix was made at when the pattern came
    /// back: the walk then starts strictly below it (escalation).
    pub floor: &'a dyn Fn(&str) -> Option<Layer>,
    /// The guarded metric a rule's fix would move, which decides whether the pattern is
    /// a problem to fix.
    pub metric_of: &'a dyn Fn(&str) -> Option<String>,
    /// Whether every fix a rule proposes was tried for the pattern (rule id, signature)
    /// and failed, was rolled back or had no effect: the walk goes on past it.
    pub spent: &'a dyn Fn(&str, &str) -> bool,
}

/// Attributes each pattern in place (see `Levers`), then marks a guarded metric's
/// unhealthy level as covered when another actionable pattern is about that metric:
/// one problem, one proposal.
pub fn attribute(
    patterns: &mut [Pattern],
    obs: &Observation,
    rules: &Rules,
    cfg: &Config,
    levers: &Levers,
) {
    for p in patterns.iter_mut() {
        let sig = p.signature();
        let below = (levers.floor)(&sig);
        let mut candidates: Vec<&Rule> = rules
            .rules
            .iter()
            .filter(|r| {
                glob_match(&r.matches.kind, p.kind.as_str())
                    && glob_match(&r.matches.subject, &p.subject)
            })
            .filter(|r| below.is_none_or(|b| r.layer > b))
            .collect();
        // Walk from the symptom layer down over the rules written for this pattern;
        // wildcard rules are fallbacks, tried only when no specific rule explains it.
        candidates.sort_by_key(|r| {
            (
                r.matches.subject.contains('*') || r.matches.kind.contains('*'),
                r.layer,
            )
        });
        // A rule whose every fix was tried gives way to another lever at its layer or
        // to a deeper layer, never to a rule above it.
        let mut spent: Vec<String> = vec![];
        let mut spent_layer: Option<Layer> = None;
        let chosen = candidates.into_iter().find(|r| {
            if spent_layer.is_some_and(|l| r.layer < l) {
                return false;
            }
            if !r.when.iter().all(|c| holds(c, p, obs)) {
                return false;
            }
            if (levers.spent)(&r.id, &sig) {
                spent.push(r.id.clone());
                spent_layer = Some(spent_layer.map_or(r.layer, |l| l.max(r.layer)));
                return false;
            }
            true
        });
        let Some(rule) = chosen else {
            p.why.push_str(if spent.is_empty() {
                "; no layer's evidence explains it"
            } else {
                "; every fix the rules that explain it propose was tried without effect: a human should look"
            });
            p.actionable = false;
            continue;
        };
        let evidence_strength = (p.severity / (1.0 + p.severity)).clamp(0.1, 1.0);
        let known_bonus = if p.known.is_some() { 1.2 } else { 1.0 };
        p.layer = Some(rule.layer);
        p.rule = Some(rule.id.clone());
        p.confidence = (rule.strength * evidence_strength * known_bonus).min(1.0);
        p.explanation = rule.explanation.clone();
        if let Some(b) = below {
            p.explanation = format!(
                "{} (escalated: a fix at the {} layer did not hold)",
                p.explanation,
                b.as_str()
            );
        }
        if !spent.is_empty() {
            p.explanation = format!(
                "{} (escalated: every fix of {} was tried for this pattern and did not work)",
                p.explanation,
                spent.join(", ")
            );
        }
        p.metric = (levers.metric_of)(&rule.id);
        finish_impact(p, obs, cfg);
        p.score = p.occurrences as f64 * p.impact.max(0.01) * p.severity.max(0.01) / 1.0;
    }
    cover_levels(patterns);
}

/// An unhealthy level of a metric that another actionable pattern is about (its
/// subject, or the metric its fix moves) is that pattern's problem: watched, not
/// proposed for twice.
fn cover_levels(patterns: &mut [Pattern]) {
    let about: Vec<(String, String)> = patterns
        .iter()
        .filter(|p| p.actionable && p.kind != PatternKind::UnhealthyLevel)
        .flat_map(|p| {
            let sig = p.signature();
            [Some(p.subject.clone()), p.metric.clone()]
                .into_iter()
                .flatten()
                .map(move |m| (m, sig.clone()))
        })
        .collect();
    for p in patterns
        .iter_mut()
        .filter(|p| p.actionable && p.kind == PatternKind::UnhealthyLevel)
    {
        if let Some((_, by)) = about.iter().find(|(m, _)| *m == p.subject) {
            p.actionable = false;
            p.why = format!("{}; the same problem as {by}, proposed for there", p.why);
        }
    }
}

/// Recurring anomalies are a problem only when the metric their fix would move is
/// unhealthy (or they include error-level occurrences): info noise is not fixed.
fn finish_impact(p: &mut Pattern, obs: &Observation, cfg: &Config) {
    if p.kind != PatternKind::RecurringAnomaly || !p.actionable {
        return;
    }
    let severe = p
        .stats
        .get("by_severity")
        .and_then(|s| s.as_object())
        .is_some_and(|s| s.contains_key("error") || s.contains_key("critical"));
    match p.metric.clone() {
        Some(m) => match obs
            .metrics
            .get(&m)
            .and_then(|v| unhealthiness(cfg, &m, *v).map(|u| (v, u)))
        {
            Some((v, u)) if u > 0.0 => {
                p.impact = u;
                p.why = format!("{}; {m} is unhealthy at {v:.3}", p.why);
            }
            Some((v, _)) if !severe => {
                p.actionable = false;
                p.why = format!(
                    "{}; but {m} is healthy at {v:.3}: not a problem to fix",
                    p.why
                );
            }
            _ => p.impact = 1.0,
        },
        None if severe => p.impact = 1.0,
        None => {
            p.actionable = false;
            p.why = format!("{}; no guarded metric suffers: watched, not fixed", p.why);
        }
    }
}
