//! The pattern library (`patterns/library.json`): which patterns were seen, how they
//! were diagnosed, which fixes were tried and how each turned out. Proven fixes (stable
//! and measured effective) are proposed first; failed, rolled-back and ineffective ones
//! never again for the same pattern; a pattern that comes back after a fix escalates one
//! layer deeper.

use super::proposals::Proposal;
use crate::diagnose::{Layer, Pattern, PatternKind};
use crate::records::{Records, Tx};
use anyhow::Result;
use serde::{Deserialize, Serialize};

pub const PATH: &str = "patterns/library.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Library {
    pub patterns: Vec<KnownPattern>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KnownPattern {
    pub signature: String,
    pub kind: PatternKind,
    pub subject: String,
    pub features: Vec<f64>,
    pub first_seen: String,
    pub last_seen: String,
    pub cycles_seen: u64,
    /// Times it came back after a fix had been deployed.
    pub recurrences: u64,
    pub diagnoses: Vec<Diagnosis>,
    pub fixes: Vec<Fix>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnosis {
    pub cycle: String,
    /// Diagnosed while the pattern was back after a fix (escalated).
    #[serde(default)]
    pub recurrence: bool,
    pub layer: Option<Layer>,
    pub rule: Option<String>,
    pub confidence: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pending,
    Deployed,
    /// Watched without degradation, and its pattern's metric moved toward healthy.
    Stable,
    /// Watched without degradation, but too little data said whether it worked.
    Unproven,
    /// Watched without degradation, but the pattern went on and its metric did not
    /// move toward healthy: not a fix. Never proposed again for the pattern.
    Ineffective,
    RolledBack,
    Failed,
    Rejected,
}

impl Outcome {
    /// The fix was deployed and watched to the end without harm (whatever its effect).
    pub fn held(self) -> bool {
        matches!(
            self,
            Outcome::Stable | Outcome::Unproven | Outcome::Ineffective
        )
    }
    /// The fix did not work for the pattern: not proposed for it again.
    pub fn did_not_work(self) -> bool {
        matches!(
            self,
            Outcome::RolledBack | Outcome::Failed | Outcome::Ineffective
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fix {
    pub proposal: String,
    pub kind: String,
    pub file: String,
    pub name: String,
    pub layer: Option<Layer>,
    pub outcome: Outcome,
    pub updated: String,
}

impl Fix {
    /// The fix a proposal makes, with its current outcome.
    pub fn of(p: &Proposal, outcome: Outcome, ts: &str) -> Fix {
        Fix {
            proposal: p.id.clone(),
            kind: p.kind.as_str().to_string(),
            file: p.target.file.clone(),
            name: p.target.name.clone(),
            layer: p.pattern.layer,
            outcome,
            updated: ts.to_string(),
        }
    }
}

/// Loads the library (empty before the first cycle).
pub fn load(records: &Records) -> Result<Library> {
    Ok(records.read_json(PATH)?.unwrap_or_default())
}

/// Writes the library into `tx`.
pub fn put(tx: &mut Tx, library: &Library) -> Result<()> {
    tx.put_json(PATH, library)
}

/// Records the outcome of `p`'s fix into `tx`: the one way a fix's fate reaches the
/// library outside a cycle's first commit (failed validation, deploy, stable,
/// rollback, rejection).
pub fn record_outcome(
    records: &Records,
    tx: &mut Tx,
    p: &Proposal,
    outcome: Outcome,
    ts: &str,
) -> Result<()> {
    let mut lib = load(records)?;
    lib.record_fix(&p.pattern.signature, Fix::of(p, outcome, ts));
    put(tx, &lib)
}

/// Cosine similarity of two feature vectors (0 when either is empty or zero).
pub fn similarity(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let dot: f64 = (0..n).map(|i| a[i] * b[i]).sum();
    let na: f64 = a[..n].iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b[..n].iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

impl Library {
    pub fn get(&self, signature: &str) -> Option<&KnownPattern> {
        self.patterns.iter().find(|p| p.signature == signature)
    }

    fn get_mut(&mut self, signature: &str) -> Option<&mut KnownPattern> {
        self.patterns.iter_mut().find(|p| p.signature == signature)
    }

    /// The known pattern for `p`: same signature, else the most similar one of the
    /// same kind at or above `threshold`.
    pub fn find_similar(&self, p: &Pattern, threshold: f64) -> Option<&KnownPattern> {
        if let Some(k) = self.get(&p.signature()) {
            return Some(k);
        }
        self.patterns
            .iter()
            .filter(|k| k.kind == p.kind)
            .map(|k| (similarity(&k.features, &p.features), k))
            .filter(|(s, _)| *s >= threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k)
    }

    fn fixes_for<'a>(
        &'a self,
        sig: &str,
        file: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Fix> + 'a {
        self.get(sig)
            .into_iter()
            .flat_map(|k| k.fixes.iter())
            .filter(move |f| f.file == file && f.name == name)
    }

    pub fn proven_fix(&self, sig: &str, file: &str, name: &str) -> bool {
        self.fixes_for(sig, file, name)
            .any(|f| f.outcome == Outcome::Stable)
    }

    /// A fix that failed, was rolled back or had no effect for this pattern.
    pub fn failed_fix(&self, sig: &str, file: &str, name: &str) -> bool {
        self.fixes_for(sig, file, name)
            .any(|f| f.outcome.did_not_work())
    }

    /// How the fix of `file`/`name` for this pattern turned out last, if it was tried.
    pub fn fix_outcome(&self, sig: &str, file: &str, name: &str) -> Option<Outcome> {
        self.fixes_for(sig, file, name).last().map(|f| f.outcome)
    }

    /// The layer the last deployed fix of this pattern was made at, if the pattern
    /// has come back since: diagnosis then starts below it.
    pub fn escalation_floor(&self, sig: &str) -> Option<Layer> {
        let k = self.get(sig)?;
        if k.recurrences == 0 {
            return None;
        }
        k.fixes
            .iter()
            .rev()
            .find(|f| {
                matches!(
                    f.outcome,
                    Outcome::Stable | Outcome::Unproven | Outcome::Deployed
                )
            })
            .and_then(|f| f.layer)
    }

    /// Counts a recurrence for every pattern that is a problem again after one of its
    /// fixes became stable (called before attribution, so the diagnosis escalates).
    pub fn mark_recurrences(&mut self, patterns: &[Pattern], now: &str) {
        for p in patterns.iter().filter(|p| p.actionable) {
            let Some(k) = self.get_mut(&p.signature()) else {
                continue;
            };
            let fixed = k.fixes.iter().any(|f| {
                matches!(f.outcome, Outcome::Stable | Outcome::Unproven) && f.updated.as_str() < now
            });
            let in_flight = k
                .fixes
                .iter()
                .any(|f| matches!(f.outcome, Outcome::Pending | Outcome::Deployed));
            let already = k.diagnoses.last().is_some_and(|d| d.recurrence);
            if fixed && !in_flight && !already {
                k.recurrences += 1;
            }
        }
    }

    /// Records this cycle's patterns and their diagnoses.
    pub fn observe_patterns(&mut self, patterns: &[Pattern], cycle: &str, now: &str) {
        for p in patterns {
            let sig = p.signature();
            if self.get(&sig).is_none() {
                self.patterns.push(KnownPattern {
                    signature: sig.clone(),
                    kind: p.kind,
                    subject: p.subject.clone(),
                    features: p.features.clone(),
                    first_seen: now.to_string(),
                    last_seen: now.to_string(),
                    cycles_seen: 0,
                    recurrences: 0,
                    diagnoses: vec![],
                    fixes: vec![],
                });
            }
            let k = self.get_mut(&sig).expect("just inserted");
            k.cycles_seen += 1;
            k.last_seen = now.to_string();
            k.features = p.features.clone();
            if p.layer.is_some() {
                let recurrence = k.recurrences > 0 && p.explanation.contains("escalated");
                k.diagnoses.push(Diagnosis {
                    cycle: cycle.to_string(),
                    recurrence,
                    layer: p.layer,
                    rule: p.rule.clone(),
                    confidence: p.confidence,
                });
                // Keep the library bounded: the last 20 diagnoses tell the story.
                let n = k.diagnoses.len();
                if n > 20 {
                    k.diagnoses.drain(..n - 20);
                }
            }
        }
    }

    /// Records (or updates) the outcome of a fix.
    pub fn record_fix(&mut self, sig: &str, fix: Fix) {
        let Some(k) = self.get_mut(sig) else { return };
        match k.fixes.iter_mut().find(|f| f.proposal == fix.proposal) {
            Some(f) => *f = fix,
            None => k.fixes.push(fix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(fixes: Vec<(Outcome, &str)>) -> Library {
        Library {
            patterns: vec![KnownPattern {
                signature: "unhealthy_level:semantic_quality".into(),
                kind: PatternKind::UnhealthyLevel,
                subject: "semantic_quality".into(),
                features: vec![],
                first_seen: "t0".into(),
                last_seen: "t0".into(),
                cycles_seen: 1,
                recurrences: 0,
                diagnoses: vec![],
                fixes: fixes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (outcome, name))| Fix {
                        proposal: format!("P-{i}"),
                        kind: "constant_tune".into(),
                        file: "runtime/physics/subentity.py".into(),
                        name: name.into(),
                        layer: Some(Layer::Physics),
                        outcome,
                        updated: "t1".into(),
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn only_an_effective_stable_fix_is_proven_and_an_ineffective_one_is_not_tried_again() {
        let sig = "unhealthy_level:semantic_quality";
        let f = "runtime/physics/subentity.py";
        for (outcome, proven, failed) in [
            (Outcome::Stable, true, false),
            (Outcome::Unproven, false, false),
            (Outcome::Ineffective, false, true),
            (Outcome::RolledBack, false, true),
            (Outcome::Failed, false, true),
            (Outcome::Deployed, false, false),
        ] {
            let lib = known(vec![(outcome, "INTENTION_WEIGHT")]);
            assert_eq!(
                lib.proven_fix(sig, f, "INTENTION_WEIGHT"),
                proven,
                "{outcome:?}"
            );
            assert_eq!(
                lib.failed_fix(sig, f, "INTENTION_WEIGHT"),
                failed,
                "{outcome:?}"
            );
            assert!(!lib.failed_fix(sig, f, "OTHER"));
        }
        let lib = known(vec![(Outcome::Ineffective, "INTENTION_WEIGHT")]);
        assert_eq!(
            lib.fix_outcome(sig, f, "INTENTION_WEIGHT"),
            Some(Outcome::Ineffective)
        );
        // An unproven fix still escalates the pattern when it comes back.
        let mut lib = known(vec![(Outcome::Unproven, "INTENTION_WEIGHT")]);
        lib.patterns[0].recurrences = 1;
        assert_eq!(lib.escalation_floor(sig), Some(Layer::Physics));
    }
}
