//! Decision replay, the shadow mode of a system without its own replay tool: mind logs
//! every candidate of every decision with its score factors, so each logged decision is
//! re-ranked under the baseline and a candidate formula and the links each would pick
//! are compared with the project's judge. An estimate from logs: only logged candidates
//! are ranked, and nothing that a different choice would have changed downstream.

use super::judge::{judge, JudgeParams, Judgment, MetricSpec};
use crate::config::Direction;
use crate::observe::Skipped;
use crate::propose::formula::LINK_SCORE_FACTORS;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// What every result says it is.
pub const BASIS: &str = "an estimate from logs";

/// Examples kept per list (skipped decisions, malformed lines, changed selections).
pub const MAX_EXAMPLES: usize = 20;

/// The guarded metrics sampled on the selected link of each decision.
pub const SAMPLED: [&str; 2] = ["sibling_divergence", "semantic"];

/// Below this share of logged selections reproduced by the baseline, the logs do not
/// look like the output of the plain product: the estimate is flagged.
pub const MIN_REPRODUCTION: f64 = 0.9;

/// How the five factors of a link score combine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Formula {
    /// Exponent per factor; a factor not named keeps 1.0.
    #[serde(default)]
    pub exponents: BTreeMap<String, f64>,
    /// Weight per factor (a factor not named keeps 1.0). With weights the score is the
    /// weighted sum of the powered factors: in a product a weight is a constant
    /// multiplier, which never changes a ranking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<BTreeMap<String, f64>>,
}

impl Formula {
    /// The plain product mind logs its scores with.
    pub fn baseline() -> Formula {
        Formula::default()
    }

    /// The product with one factor raised to `exponent` (what `propose::formula` writes).
    pub fn with_exponent(factor: &str, exponent: f64) -> Formula {
        Formula {
            exponents: BTreeMap::from([(factor.to_string(), exponent)]),
            weights: None,
        }
    }

    /// Unknown factor names and numbers that are not finite (or exponents <= 0) are
    /// refused rather than silently ignored.
    pub fn check(&self) -> Result<()> {
        let known = |f: &String| LINK_SCORE_FACTORS.contains(&f.as_str());
        for (f, e) in &self.exponents {
            if !known(f) {
                bail!(
                    "exponent for unknown factor `{f}` (known: {})",
                    LINK_SCORE_FACTORS.join(", ")
                );
            }
            if !(e.is_finite() && *e > 0.0) {
                bail!("exponent {e} for `{f}` must be a positive number");
            }
        }
        for (f, w) in self.weights.iter().flatten() {
            if !known(f) {
                bail!(
                    "weight for unknown factor `{f}` (known: {})",
                    LINK_SCORE_FACTORS.join(", ")
                );
            }
            if !w.is_finite() {
                bail!("weight {w} for `{f}` must be a finite number");
            }
        }
        Ok(())
    }

    fn exponent(&self, factor: &str) -> f64 {
        self.exponents.get(factor).copied().unwrap_or(1.0)
    }

    /// The score of one candidate's factors, in `LINK_SCORE_FACTORS` order. A power keeps
    /// the factor's sign (for the factors in [0, 1] that `propose::formula` raises this
    /// is the clamp it writes).
    pub fn score(&self, factors: &[f64; 5]) -> f64 {
        let powered = LINK_SCORE_FACTORS.iter().zip(factors).map(|(name, &x)| {
            let e = self.exponent(name);
            let p = if e == 1.0 {
                x
            } else {
                x.signum() * x.abs().powf(e)
            };
            (name, p)
        });
        match &self.weights {
            None => powered.map(|(_, p)| p).product(),
            Some(w) => powered
                .map(|(name, p)| w.get(*name).copied().unwrap_or(1.0) * p)
                .sum(),
        }
    }

    /// `semantic × polarity × … × sibling_divergence^1.5`, or `1·semantic + …`.
    pub fn describe(&self) -> String {
        let term = |name: &str| {
            let e = self.exponent(name);
            if e == 1.0 {
                name.to_string()
            } else {
                format!("{name}^{e}")
            }
        };
        match &self.weights {
            None => LINK_SCORE_FACTORS.map(term).join(" × "),
            Some(w) => LINK_SCORE_FACTORS
                .map(|n| format!("{}·{}", w.get(n).copied().unwrap_or(1.0), term(n)))
                .join(" + "),
        }
    }
}

/// A decision whose selection the candidate formula changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub file: String,
    pub line: u64,
    pub baseline_link: String,
    pub candidate_link: String,
}

/// The result, as the validation record carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionReplayReport {
    /// Always "an estimate from logs".
    pub basis: String,
    /// One paragraph with the numbers, starting "An estimate from logs:".
    pub summary: String,
    pub baseline_formula: String,
    pub candidate_formula: String,
    pub formula: Formula,
    pub files: u64,
    pub lines: u64,
    /// Step lines with a `decision.candidates` list.
    pub decisions: u64,
    pub replayed: u64,
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
    pub skipped_examples: Vec<Skipped>,
    pub malformed: u64,
    pub malformed_examples: Vec<Skipped>,
    /// Candidates left out of replayed decisions for lack of a factor.
    pub incomplete_candidates: u64,
    pub selections_changed: u64,
    pub changed_examples: Vec<Change>,
    /// Decisions whose logged selection was among the ranked candidates...
    pub logged_checked: u64,
    /// ...and whose baseline re-rank picked it (or a candidate scoring the same).
    pub logged_reproduced: u64,
    pub logged_reproduction: Option<f64>,
    /// False when the baseline reproduces fewer than `MIN_REPRODUCTION` of the logged
    /// selections: the logs were not scored the way the replay assumes.
    pub logs_consistent: Option<bool>,
    /// Ranked candidates that logged a `score`, and those whose score is not the product
    /// of their logged factors (beyond rounding): a second sign the logs were scored
    /// some other way.
    pub logged_scores: u64,
    pub logged_score_mismatches: u64,
    /// Per replayed decision, the factors of the link each formula selects.
    pub baseline: BTreeMap<String, Vec<f64>>,
    pub candidate: BTreeMap<String, Vec<f64>>,
    pub judgment: Judgment,
}

/// The metrics the judge compares: divergence is what such a change is for, semantic
/// quality is what it must not cost (critical).
pub fn default_specs() -> Vec<MetricSpec> {
    SAMPLED
        .iter()
        .map(|name| MetricSpec {
            name: name.to_string(),
            direction: Direction::Higher,
            critical: *name == "semantic",
            allowed_effect: 0.10,
            required: false,
        })
        .collect()
}

/// Re-ranks every logged decision of `files` under the baseline and `formula` and
/// judges the selected links' metrics.
#[tracing::instrument(name = "decision_replay", skip_all)]
pub fn replay_decisions<P: AsRef<Path>>(
    files: &[P],
    formula: &Formula,
    specs: &[MetricSpec],
    params: &JudgeParams,
) -> Result<DecisionReplayReport> {
    replay_decisions_from(files, &Formula::baseline(), formula, specs, params)
}

/// `replay_decisions` against a `baseline` other than the plain product: the formula
/// the logs were scored with (after an exponent was deployed, the product with it).
pub fn replay_decisions_from<P: AsRef<Path>>(
    files: &[P],
    baseline: &Formula,
    formula: &Formula,
    specs: &[MetricSpec],
    params: &JudgeParams,
) -> Result<DecisionReplayReport> {
    let mut r = Replayer::new(formula.clone())?.from(baseline.clone())?;
    for (i, f) in files.iter().enumerate() {
        tracing::trace!(target: "improve::progress", done = i as u64, total = files.len() as u64);
        r.read_file(f.as_ref())?;
    }
    Ok(r.finish(specs, params))
}

/// The formulas a proposal declares: a change to `<FACTOR>_EXPONENT` (a new constant,
/// or a tune of one) raises that factor of the link score from its old value (1.0 when
/// the constant is new) to its new one. None for any other proposal.
pub fn declared(p: &crate::store::proposals::Proposal) -> Option<(Formula, Formula)> {
    declared_by(
        &p.target.name,
        p.change.old_value.as_deref(),
        p.change.new_value.as_deref(),
    )
}

/// `declared` from a target's name and its old and new values.
pub fn declared_by(name: &str, old: Option<&str>, new: Option<&str>) -> Option<(Formula, Formula)> {
    let factor = name.strip_suffix("_EXPONENT")?.to_ascii_lowercase();
    if !LINK_SCORE_FACTORS.contains(&factor.as_str()) {
        return None;
    }
    let number = |v: Option<&str>| v.and_then(|s| s.trim().parse::<f64>().ok());
    let new = number(new)?;
    let old = number(old).unwrap_or(1.0);
    Some((
        Formula::with_exponent(&factor, old),
        Formula::with_exponent(&factor, new),
    ))
}

/// The accumulator behind `replay_decisions`, fed one file (or reader) at a time.
pub struct Replayer {
    /// What the logged scores are assumed to come from (the plain product by default).
    scored_by: Formula,
    formula: Formula,
    files: u64,
    lines: u64,
    decisions: u64,
    replayed: u64,
    skipped: Vec<Skipped>,
    skipped_by_reason: BTreeMap<String, u64>,
    malformed: u64,
    malformed_examples: Vec<Skipped>,
    incomplete: u64,
    changed: u64,
    changed_examples: Vec<Change>,
    checked: u64,
    reproduced: u64,
    scores: u64,
    score_mismatches: u64,
    baseline: BTreeMap<String, Vec<f64>>,
    candidate: BTreeMap<String, Vec<f64>>,
}

/// One logged candidate with all five factors.
struct Cand {
    link: String,
    factors: [f64; 5],
    selected: bool,
    /// The `score` the system logged, if any.
    score: Option<f64>,
}

impl Replayer {
    pub fn new(formula: Formula) -> Result<Replayer> {
        formula.check()?;
        Ok(Replayer {
            scored_by: Formula::baseline(),
            formula,
            files: 0,
            lines: 0,
            decisions: 0,
            replayed: 0,
            skipped: Vec::new(),
            skipped_by_reason: BTreeMap::new(),
            malformed: 0,
            malformed_examples: Vec::new(),
            incomplete: 0,
            changed: 0,
            changed_examples: Vec::new(),
            checked: 0,
            reproduced: 0,
            scores: 0,
            score_mismatches: 0,
            baseline: BTreeMap::new(),
            candidate: BTreeMap::new(),
        })
    }

    /// Ranks the baseline side with `baseline` instead of the plain product.
    pub fn from(mut self, baseline: Formula) -> Result<Replayer> {
        baseline.check()?;
        self.scored_by = baseline;
        Ok(self)
    }

    pub fn read_file(&mut self, path: &Path) -> Result<()> {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        self.read(&path.display().to_string(), std::io::BufReader::new(f))
            .with_context(|| format!("reading {}", path.display()))
    }

    /// Reads one JSONL stream line by line; `file` names it in skips.
    pub fn read<R: BufRead>(&mut self, file: &str, mut reader: R) -> Result<()> {
        self.files += 1;
        let mut buf = Vec::new();
        let mut line = 0u64;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            line += 1;
            self.lines += 1;
            let text = buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Value>(text) {
                Ok(Value::Object(o)) => self.step(file, line, &o),
                Ok(_) => self.malformed(file, line, "not a JSON object".into()),
                Err(e) => self.malformed(file, line, format!("not JSON: {e}")),
            }
        }
    }

    fn malformed(&mut self, file: &str, line: u64, reason: String) {
        self.malformed += 1;
        if self.malformed_examples.len() < MAX_EXAMPLES {
            self.malformed_examples.push(Skipped {
                file: file.into(),
                line,
                reason,
            });
        }
    }

    fn skip(&mut self, file: &str, line: u64, key: &str, reason: String) {
        *self.skipped_by_reason.entry(key.into()).or_default() += 1;
        if self.skipped.len() < MAX_EXAMPLES {
            self.skipped.push(Skipped {
                file: file.into(),
                line,
                reason,
            });
        }
    }

    /// One line: a step with a decision is replayed; events and other steps are not
    /// decisions.
    fn step(&mut self, file: &str, line: u64, o: &serde_json::Map<String, Value>) {
        if o.contains_key("event") {
            return;
        }
        let Some(decision) = o.get("decision").and_then(Value::as_object) else {
            return;
        };
        let Some(list) = decision.get("candidates") else {
            return;
        };
        self.decisions += 1;
        let Some(list) = list.as_array() else {
            self.skip(
                file,
                line,
                "candidates is not a list",
                "`decision.candidates` is not a list".into(),
            );
            return;
        };
        let logged_id = decision
            .get("selected")
            .and_then(|s| s.get("link_id"))
            .and_then(Value::as_str);
        let mut cands = Vec::new();
        let mut missing = Vec::new();
        for (i, c) in list.iter().enumerate() {
            match candidate(c, i, logged_id) {
                Ok(c) => cands.push(c),
                Err(lacks) => missing.push(format!("#{} lacks {lacks}", i + 1)),
            }
        }
        if cands.len() < 2 {
            let (key, reason) = if list.is_empty() {
                ("no candidates", "no candidates".to_string())
            } else {
                (
                    "fewer than two complete candidates",
                    format!(
                        "{} of {} candidates have all five factors{}",
                        cands.len(),
                        list.len(),
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", missing.join("; "))
                        }
                    ),
                )
            };
            self.skip(file, line, key, reason);
            return;
        }
        self.incomplete += missing.len() as u64;
        self.replayed += 1;
        let base: Vec<f64> = cands
            .iter()
            .map(|c| self.scored_by.score(&c.factors))
            .collect();
        let cand: Vec<f64> = cands
            .iter()
            .map(|c| self.formula.score(&c.factors))
            .collect();
        let (b, c) = (top(&base), top(&cand));
        for (cd, s) in cands.iter().zip(&base) {
            if let Some(logged) = cd.score {
                self.scores += 1;
                // Loggers round each factor; 1e-3 is far above that and far below a
                // different formula.
                if (logged - s).abs() > 1e-3 * logged.abs().max(1.0) {
                    self.score_mismatches += 1;
                }
            }
        }
        let best_logged = cands
            .iter()
            .zip(&base)
            .filter(|(c, _)| c.selected)
            .map(|(_, s)| *s)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
        if let Some(logged) = best_logged {
            self.checked += 1;
            if same(base[b], logged) {
                self.reproduced += 1;
            }
        }
        if b != c {
            self.changed += 1;
            if self.changed_examples.len() < MAX_EXAMPLES {
                self.changed_examples.push(Change {
                    file: file.into(),
                    line,
                    baseline_link: cands[b].link.clone(),
                    candidate_link: cands[c].link.clone(),
                });
            }
        }
        for name in SAMPLED {
            let at = LINK_SCORE_FACTORS
                .iter()
                .position(|f| *f == name)
                .unwrap_or(0);
            self.baseline
                .entry(name.into())
                .or_default()
                .push(cands[b].factors[at]);
            self.candidate
                .entry(name.into())
                .or_default()
                .push(cands[c].factors[at]);
        }
    }

    pub fn finish(self, specs: &[MetricSpec], params: &JudgeParams) -> DecisionReplayReport {
        let judgment = judge(&self.baseline, &self.candidate, specs, params);
        let reproduction = (self.checked > 0).then(|| self.reproduced as f64 / self.checked as f64);
        let consistent = reproduction.map(|r| r >= MIN_REPRODUCTION);
        let mean = |m: &BTreeMap<String, Vec<f64>>, k: &str| {
            m.get(k)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{:.4}", v.iter().sum::<f64>() / v.len() as f64))
                .unwrap_or_else(|| "n/a".into())
        };
        let skipped = self.skipped_by_reason.values().sum::<u64>();
        let mut summary = format!(
            "An estimate from logs: {} of {} logged decisions re-ranked from {} files ({skipped} skipped, {} malformed lines); {} changes {} selections{}",
            self.replayed,
            self.decisions,
            self.files,
            self.malformed,
            self.formula.describe(),
            self.changed,
            if self.replayed > 0 {
                format!(" ({:.1}%)", 100.0 * self.changed as f64 / self.replayed as f64)
            } else {
                String::new()
            }
        );
        for name in SAMPLED {
            summary.push_str(&format!(
                "; mean {name} of the selected link {} -> {}",
                mean(&self.baseline, name),
                mean(&self.candidate, name)
            ));
        }
        match reproduction {
            Some(r) => summary.push_str(&format!(
                "; the baseline re-rank reproduces {} of {} logged selections{}",
                self.reproduced,
                self.checked,
                if r < MIN_REPRODUCTION {
                    format!(
                        " ({:.0}% < {:.0}%: the logs do not look scored by the baseline formula; treat the estimate with care)",
                        100.0 * r,
                        100.0 * MIN_REPRODUCTION
                    )
                } else {
                    String::new()
                }
            )),
            None => summary.push_str("; no logged selection to check the baseline against"),
        }
        if self.score_mismatches > 0 {
            summary.push_str(&format!(
                "; {} of {} logged scores are not the product of their factors",
                self.score_mismatches, self.scores
            ));
        }
        summary.push_str(&format!(". {}", judgment.reason));
        DecisionReplayReport {
            basis: BASIS.into(),
            summary,
            baseline_formula: self.scored_by.describe(),
            candidate_formula: self.formula.describe(),
            formula: self.formula,
            files: self.files,
            lines: self.lines,
            decisions: self.decisions,
            replayed: self.replayed,
            skipped,
            skipped_by_reason: self.skipped_by_reason,
            skipped_examples: self.skipped,
            malformed: self.malformed,
            malformed_examples: self.malformed_examples,
            incomplete_candidates: self.incomplete,
            selections_changed: self.changed,
            changed_examples: self.changed_examples,
            logged_checked: self.checked,
            logged_reproduced: self.reproduced,
            logged_reproduction: reproduction,
            logs_consistent: consistent,
            logged_scores: self.scores,
            logged_score_mismatches: self.score_mismatches,
            baseline: self.baseline,
            candidate: self.candidate,
            judgment,
        }
    }
}

/// A candidate with all five factors (flat, or under `components` as older producers
/// wrote them), or the names of the factors it lacks.
fn candidate(c: &Value, index: usize, logged_id: Option<&str>) -> Result<Cand, String> {
    let get = |name: &str| {
        let flat = c.get(name).and_then(Value::as_f64);
        let nested = || {
            c.get("components")
                .and_then(|x| x.get(name))
                .and_then(Value::as_f64)
        };
        flat.or_else(nested).filter(|x| x.is_finite())
    };
    let mut factors = [0.0; 5];
    let mut lacks = Vec::new();
    for (slot, name) in factors.iter_mut().zip(LINK_SCORE_FACTORS) {
        match get(name) {
            Some(x) => *slot = x,
            None => lacks.push(name),
        }
    }
    if !lacks.is_empty() {
        return Err(lacks.join(", "));
    }
    let id = |k: &str| c.get(k).and_then(Value::as_str).map(String::from);
    let link = id("link_id")
        .or_else(|| id("target_id"))
        .unwrap_or_else(|| format!("#{}", index + 1));
    let verdict = c.get("verdict").and_then(Value::as_str);
    let selected = verdict.is_some_and(|v| v.eq_ignore_ascii_case("SELECTED"))
        || (logged_id.is_some() && id("link_id").as_deref() == logged_id);
    Ok(Cand {
        link,
        factors,
        selected,
        score: c
            .get("score")
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite()),
    })
}

/// Index of the highest score; the first of equals wins, as in a stable sort.
fn top(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

/// Equal up to float noise of the logger's rounding.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[cfg(test)]
#[path = "decision_replay_tests.rs"]
mod tests;
