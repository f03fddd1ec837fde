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

/// Attributes each pattern in place. `floor` gives, per pattern signature, the layer a
/// previous fix was made at: the walk then starts strictly below it (escalation).
/// `metric_of` names the guarded metric a rule's fix would move (from the proposal
/// templates), which decides whether the pattern is a problem to fix.
pub fn attribute(
    patterns: &mut [Pattern],
    obs: &Observation,
    rules: &Rules,
    cfg: &Config,
    floor: &dyn Fn(&str) -> Option<Layer>,
    metric_of: &dyn Fn(&str) -> Option<String>,
) {
    for p in patterns.iter_mut() {
        let below = floor(&p.signature());
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
        let chosen = candidates
            .into_iter()
            .find(|r| r.when.iter().all(|c| holds(c, p, obs)));
        let Some(rule) = chosen else {
            p.why.push_str("; no layer's evidence explains it");
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
        p.metric = metric_of(&rule.id);
        finish_impact(p, obs, cfg);
        p.score = p.occurrences as f64 * p.impact.max(0.01) * p.severity.max(0.01) / 1.0;
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
