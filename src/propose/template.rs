//! The proposal templates (`templates/proposals.yaml`, or a repository's own at
//! `improvement-data/templates/proposals.yaml`): per attribution rule, the fixes to try
//! in order. Each fix is known to the pattern library by one key, so a fix that failed
//! or had no effect is not tried again for the same pattern, and a rule whose every fix
//! was tried is spent.

use super::formula::exponent_constant;
use crate::config::{Config, ProposalType, Risk};
use crate::git::Git;
use crate::store::library::Library;
use crate::store::proposals::Target;
use crate::vocab::ValidationMode;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const DEFAULT_TEMPLATES: &str = include_str!("../../templates/proposals.yaml");
pub const TEMPLATES_OVERRIDE: &str = "improvement-data/templates/proposals.yaml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub candidates: BTreeMap<String, Vec<Candidate>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    #[serde(rename = "type")]
    pub kind: ProposalType,
    pub target: Target,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub step: Option<f64>,
    pub risk: Risk,
    pub complexity: f64,
    #[serde(default)]
    pub metric: Option<String>,
    /// Overrides the validation mode DESIGN §6 would choose (e.g. a canary for a tune).
    #[serde(default)]
    pub validation: Option<ValidationMode>,
    /// A formula change that raises one factor of the link score to a new constant.
    #[serde(default)]
    pub formula: Option<FormulaSpec>,
    /// For a document: what to change, in words.
    #[serde(default)]
    pub change: Option<String>,
    /// Added to the proposal's rationale (where the idea comes from, what else to touch).
    #[serde(default)]
    pub note: Option<String>,
}

/// `formula: {factor: sibling_divergence, exponent: 1.5}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormulaSpec {
    pub factor: String,
    pub exponent: f64,
}

impl Candidate {
    /// The target the library knows this fix by: a formula change by the constant it
    /// introduces, so tuning that constant later is the same lever.
    pub fn key(&self) -> Target {
        match &self.formula {
            Some(f) => Target {
                file: self.target.file.clone(),
                name: exponent_constant(&f.factor),
            },
            None => self.target.clone(),
        }
    }
}

impl Templates {
    pub fn parse(text: &str, name: &str) -> Result<Templates> {
        serde_yaml::from_str(text).with_context(|| format!("{name}: invalid proposal templates"))
    }
    /// The repository's own templates (`improvement-data/templates/proposals.yaml`
    /// on the deploy branch) when it has them, else the built-in ones.
    pub fn for_repo(git: &Git, cfg: &Config) -> Result<Templates> {
        Ok(Templates::source_for_repo(git, cfg)?.0)
    }
    /// The templates with the name and text they were read from (for errors and the
    /// lines `config check` names).
    pub fn source_for_repo(git: &Git, cfg: &Config) -> Result<(Templates, String, String)> {
        match cfg.deploy_file(git, TEMPLATES_OVERRIDE)? {
            Some(t) => Ok((
                Templates::parse(&t, TEMPLATES_OVERRIDE)?,
                TEMPLATES_OVERRIDE.to_string(),
                t,
            )),
            None => Ok((
                Templates::builtin(),
                "templates/proposals.yaml (built in)".to_string(),
                DEFAULT_TEMPLATES.to_string(),
            )),
        }
    }
    pub fn builtin() -> Templates {
        Templates::parse(DEFAULT_TEMPLATES, "templates/proposals.yaml")
            .expect("built-in templates are valid")
    }
    /// The guarded metric the first candidate of a rule would move.
    pub fn metric_of(&self, rule: &str) -> Option<String> {
        self.candidates
            .get(rule)?
            .iter()
            .find_map(|c| c.metric.clone())
    }
    /// Whether every fix of `rule` was tried for the pattern `sig` and failed, was
    /// rolled back or had no effect: attribution then looks past the rule.
    pub fn spent(&self, rule: &str, sig: &str, library: &Library) -> bool {
        let Some(cands) = self.candidates.get(rule) else {
            return false;
        };
        !cands.is_empty()
            && cands.iter().all(|c| {
                let k = c.key();
                library.failed_fix(sig, &k.file, &k.name)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::library::{Fix, KnownPattern, Outcome};

    #[test]
    fn the_builtin_templates_parse_with_their_shared_lists() {
        let t = Templates::builtin();
        // `*divergence` is the same list as `divergence-physics`.
        let a = &t.candidates["divergence-physics"];
        let b = &t.candidates["efficiency-physics"];
        assert_eq!(a.len(), b.len());
        assert_eq!(a[0].key().name, "SIBLING_DIVERGENCE_EXPONENT");
        assert_eq!(b[0].key().name, "SIBLING_DIVERGENCE_EXPONENT");
        assert_eq!(
            t.metric_of("semantic-physics").as_deref(),
            Some("semantic_quality")
        );
    }

    #[test]
    fn a_rule_is_spent_when_each_of_its_fixes_did_not_work() {
        let t = Templates::builtin();
        let sig = "unhealthy_level:semantic_quality";
        let mut lib = Library::default();
        lib.patterns.push(KnownPattern {
            signature: sig.into(),
            kind: crate::diagnose::PatternKind::UnhealthyLevel,
            subject: "semantic_quality".into(),
            features: vec![],
            first_seen: String::new(),
            last_seen: String::new(),
            cycles_seen: 1,
            recurrences: 0,
            diagnoses: vec![],
            fixes: vec![],
        });
        let fix = |c: &Candidate, n: usize, outcome| Fix {
            proposal: format!("P-{n}"),
            kind: c.kind.as_str().into(),
            file: c.key().file,
            name: c.key().name,
            layer: None,
            outcome,
            updated: String::new(),
        };
        let cands = t.candidates["semantic-physics"].clone();
        for (n, c) in cands.iter().enumerate() {
            assert!(!t.spent("semantic-physics", sig, &lib));
            let outcome = [Outcome::Ineffective, Outcome::RolledBack, Outcome::Failed][n % 3];
            lib.record_fix(sig, fix(c, n, outcome));
        }
        assert!(t.spent("semantic-physics", sig, &lib));
        assert!(!t.spent("semantic-physics", "other:pattern", &lib));
        assert!(!t.spent("no-such-rule", sig, &lib));
    }
}
