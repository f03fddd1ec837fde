//! PROPOSE: for each actionable, attributed pattern pick the first candidate fix from
//! the templates that applies to this repository (`change` writes it), make it a typed
//! proposal, and rank. Noise control lives here: one open proposal per pattern, limits
//! on new and open proposals, fixes that failed or had no effect never again for the
//! pattern, rejected ones only on new evidence.

use super::change::{self, Made};
use super::patch;
use super::render;
use crate::clock::fmt_ts;
use crate::config::{Config, Direction, ProposalType, Risk};
use crate::diagnose::Pattern;
use crate::store::proposals::*;
use crate::vocab::ValidationMode;
use anyhow::Result;
use std::collections::BTreeMap;

pub use super::change::{check_path, tuned_value, Inputs};
pub use super::template::{
    Candidate, FormulaSpec, Templates, DEFAULT_TEMPLATES, TEMPLATES_OVERRIDE,
};

/// A proposal ready to be written: its record, the new file contents, the patch.
pub struct Draft {
    pub proposal: Proposal,
    pub files: BTreeMap<String, Option<Vec<u8>>>,
    pub patch: String,
}

/// Why a pattern got no new proposal (shown by `status` and in the cycle record).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Skip {
    pub pattern: String,
    pub reason: String,
}

/// Proposes for `patterns`. `first_id` is the next free number (P-NNNN).
pub fn generate(
    patterns: &[Pattern],
    ctx: &Inputs,
    first_id: u64,
) -> Result<(Vec<Draft>, Vec<Skip>)> {
    let mut skips = vec![];
    let open: Vec<&Proposal> = ctx.existing.iter().filter(|p| p.status.is_open()).collect();
    let mut drafts: Vec<Draft> = vec![];
    let mut actionable: Vec<&Pattern> = patterns
        .iter()
        .filter(|p| p.actionable && p.layer.is_some())
        .collect();
    actionable.sort_by(|a, b| b.score.total_cmp(&a.score));
    for (n, pat) in actionable.iter().enumerate() {
        let sig = pat.signature();
        if let Some(o) = open.iter().find(|p| p.pattern.signature == sig) {
            skips.push(Skip {
                pattern: sig,
                reason: format!("{} is already open for this pattern", o.id),
            });
            continue;
        }
        // A fix for this pattern is deployed and still watched: wait for its verdict
        // before piling another change on top (the monitor would judge both at once).
        if let Some(w) = ctx
            .existing
            .iter()
            .find(|p| p.pattern.signature == sig && p.status == Status::Deployed)
        {
            skips.push(Skip {
                pattern: sig,
                reason: format!(
                    "{} fixes it and is being monitored; waiting for its verdict",
                    w.id
                ),
            });
            continue;
        }
        let rule = pat.rule.clone().unwrap_or_default();
        let Some(cands) = ctx.templates.candidates.get(&rule).cloned() else {
            skips.push(Skip {
                pattern: sig,
                reason: format!("no proposal template for rule {rule}: a human should look"),
            });
            continue;
        };
        let mut reasons = vec![];
        let id = format!("P-{:04}", first_id + n as u64);
        let mut made = None;
        for cand in &cands {
            let k = cand.key();
            let key = (k.file.as_str(), k.name.as_str());
            if let Some(o) = ctx
                .library
                .fix_outcome(&sig, key.0, key.1)
                .filter(|o| o.did_not_work())
            {
                let how = match o {
                    crate::store::library::Outcome::Ineffective => "had no effect",
                    crate::store::library::Outcome::RolledBack => "was rolled back",
                    _ => "failed",
                };
                reasons.push(format!(
                    "{} {}: {how} before for this pattern",
                    key.0, key.1
                ));
                continue;
            }
            if let Some(r) = ctx.existing.iter().find(|p| {
                p.status == Status::Rejected
                    && p.pattern.signature == sig
                    && p.target.file == key.0
                    && p.target.name == key.1
            }) {
                if pat.occurrences < r.pattern.occurrences.saturating_mul(2) {
                    reasons.push(format!(
                        "{} was rejected and the evidence has not changed materially",
                        r.id
                    ));
                    continue;
                }
            }
            match draft(pat, cand, ctx, &id) {
                Ok(Some(d)) => {
                    made = Some(d);
                    break;
                }
                Ok(None) => reasons.push(format!(
                    "{} {}: nothing to change (at its bound)",
                    key.0, key.1
                )),
                Err(e) => reasons.push(format!("{} {}: {e:#}", key.0, key.1)),
            }
        }
        match made {
            Some(d) => drafts.push(d),
            None => skips.push(Skip {
                pattern: sig,
                reason: reasons.join("; "),
            }),
        }
    }
    // Rank, then apply the noise limits.
    drafts.sort_by(|a, b| b.proposal.score.total_cmp(&a.proposal.score));
    let room = ctx
        .cfg
        .cycle
        .max_open_proposals
        .saturating_sub(open.len())
        .min(ctx.cfg.cycle.max_new_proposals);
    for d in drafts.iter().skip(room) {
        skips.push(Skip {
            pattern: d.proposal.pattern.signature.clone(),
            reason: format!(
                "limit reached ({} open, at most {} new per cycle and {} open)",
                open.len(),
                ctx.cfg.cycle.max_new_proposals,
                ctx.cfg.cycle.max_open_proposals
            ),
        });
    }
    drafts.truncate(room);
    // Renumber densely in rank order so ids have no gaps.
    for (i, d) in drafts.iter_mut().enumerate() {
        let id = format!("P-{:04}", first_id + i as u64);
        if d.proposal.id != id {
            renumber(d, &id);
        }
    }
    // Conflicts (E2): same target as another open proposal or another draft.
    let mut targets: Vec<(String, String, String)> = open
        .iter()
        .map(|p| (p.target.file.clone(), p.target.name.clone(), p.id.clone()))
        .collect();
    for d in drafts.iter_mut() {
        for (f, n, id) in &targets {
            if *f == d.proposal.target.file && *n == d.proposal.target.name {
                d.proposal.conflicts.push(id.clone());
            }
        }
        targets.push((
            d.proposal.target.file.clone(),
            d.proposal.target.name.clone(),
            d.proposal.id.clone(),
        ));
    }
    Ok((drafts, skips))
}

fn renumber(d: &mut Draft, id: &str) {
    let old = d.proposal.id.clone();
    d.proposal.id = id.to_string();
    d.proposal.branch = branch_name(id);
    d.proposal.title = d.proposal.title.replace(&old, id);
    d.proposal.change.summary = d.proposal.change.summary.replace(&old, id);
    for e in d.proposal.history.iter_mut() {
        e.what = e.what.replace(&old, id);
    }
    let files = std::mem::take(&mut d.files);
    for (path, content) in files {
        let path = path.replace(&old, id);
        let content = content.map(|b| String::from_utf8_lossy(&b).replace(&old, id).into_bytes());
        d.files.insert(path, content);
    }
    d.patch = d.patch.replace(&old, id);
}

/// Drafts the proposal `cand` makes for `pat` (None: nothing to change).
pub fn draft(pat: &Pattern, cand: &Candidate, ctx: &Inputs, id: &str) -> Result<Option<Draft>> {
    let Some(made) = change::make(pat, cand, ctx, id)? else {
        return Ok(None);
    };
    let Made {
        kind,
        target,
        summary,
        old_value,
        new_value,
        title,
        mut files,
        doc,
        validation,
        notes,
    } = made;
    let file = target.file.clone();
    let name = target.name.clone();
    let document_only = doc.is_some();
    let metric_name = cand
        .metric
        .clone()
        .or_else(|| pat.metric.clone())
        .unwrap_or_else(|| "efficiency".into());
    let direction = ctx
        .cfg
        .metric(&metric_name)
        .map(|m| m.direction)
        .unwrap_or(Direction::Higher);
    let proven = ctx.library.proven_fix(&pat.signature(), &file, &name);
    let score = rank_score(
        pat.impact,
        pat.confidence,
        cand.risk,
        cand.complexity,
        proven,
    );
    let mode = cand
        .validation
        .or(validation)
        .unwrap_or_else(|| planned_mode(kind, cand.risk));
    let now = fmt_ts(ctx.now);
    let mut p = Proposal {
        id: id.to_string(),
        kind,
        // Log text (a pattern's subject) is in it: one safe line, wherever it goes.
        title: crate::sanitize::title(&title, crate::sanitize::TITLE_MAX),
        status: Status::Proposed,
        created: now.clone(),
        cycle: ctx.cycle.to_string(),
        pattern: PatternRef {
            signature: pat.signature(),
            kind: pat.kind,
            subject: pat.subject.clone(),
            occurrences: pat.occurrences,
            layer: pat.layer,
            rule: pat.rule.clone(),
            confidence: pat.confidence,
            why: pat.why.clone(),
            explanation: pat.explanation.clone(),
            evidence: pat.evidence.iter().take(20).cloned().collect(),
        },
        target: Target { file: file.clone(), name: name.clone() },
        change: Change { summary, file: file.clone(), old_value, new_value, document_only },
        rationale: format!(
            "{} {}{} Expected: {metric_name} moves in its good direction.{}",
            pat.explanation,
            pat.why,
            notes.iter().map(|n| format!(" {n}")).collect::<String>(),
            if proven { " This fix worked before for this pattern (proven fix, ranked x1.5)." } else { "" }
        ),
        risk: cand.risk,
        complexity: cand.complexity,
        target_metric: TargetMetric { name: metric_name.clone(), direction },
        validation_plan: ValidationPlan {
            mode,
            description: plan_text(mode, &metric_name, ctx.cfg, validation.is_some()),
        },
        rollback_plan: format!(
            "Deployed as one commit tagged improve/deploy/D-N after a backup tag improve/backup/D-N; the monitor reverts it with `git revert` if a guarded metric degrades by more than {:.0}%. By hand: `improve rollback D-N` or `git revert <deploy commit>`.",
            ctx.cfg.deployment.degradation_threshold * 100.0
        ),
        score,
        proven_fix: proven,
        branch: branch_name(id),
        base_commit: ctx.deploy_tip.to_string(),
        branch_commit: String::new(),
        conflicts: vec![],
        tier: None,
        deployment: None,
        approved_by: None,
        awaiting_since: None,
        escalated_at: None,
        history: vec![],
    };
    p.push_event(&now, format!("proposed in {}", ctx.cycle), None);
    if let Some(doc) = &doc {
        let extra = [("about", doc.about.clone()), ("change", doc.change.clone())];
        files.insert(
            format!("docs/improve/{id}.md"),
            Some(render::proposal_doc(&p, doc.what, &extra).into_bytes()),
        );
    }
    let mut diff = String::new();
    for (path, new) in &files {
        let old = change::read_text(ctx, path)?;
        let new = new
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned());
        diff.push_str(&patch::unified_diff(path, old.as_deref(), new.as_deref()));
    }
    if diff.is_empty() {
        return Ok(None);
    }
    Ok(Some(Draft {
        proposal: p,
        files,
        patch: diff,
    }))
}

/// `(impact x confidence) / (risk x complexity)`, x1.5 for a fix the library has seen
/// work for this pattern (DESIGN §5).
pub fn rank_score(impact: f64, confidence: f64, risk: Risk, complexity: f64, proven: bool) -> f64 {
    let base = (impact.max(0.05) * confidence) / (risk.weight() * complexity.max(1.0));
    if proven {
        base * 1.5
    } else {
        base
    }
}

/// The validation mode for a proposal type and risk (DESIGN §6); the validate phase
/// falls back to `manual` when the planned mode cannot run.
pub fn planned_mode(kind: ProposalType, risk: Risk) -> ValidationMode {
    match kind {
        ProposalType::ConstantTune if risk == Risk::Low => ValidationMode::UnitTest,
        ProposalType::ConstantTune => ValidationMode::AbTest,
        ProposalType::FormulaChange | ProposalType::ProtocolUpdate | ProposalType::SkillImprove => {
            ValidationMode::Shadow
        }
        ProposalType::BehaviorFix => ValidationMode::Canary,
        ProposalType::GraphContent => ValidationMode::Manual,
    }
}

/// What the validation will do, in one sentence. `replay`: the change declares how
/// the link score's factors combine, so the decision replay judges it.
fn plan_text(mode: ValidationMode, metric: &str, cfg: &Config, replay: bool) -> String {
    if replay && mode == ValidationMode::Shadow {
        return format!(
            "decision replay (shadow mode from logs): every logged decision re-ranked under the baseline and the candidate formula; how many selections change, and sibling divergence and semantic of the newly selected links judged with Mann-Whitney/Hodges-Lehmann; {metric} must not get worse. An estimate from logs"
        );
    }
    match mode {
        ValidationMode::UnitTest => format!(
            "apply the change in a temporary worktree and run the test command {:?}; pass iff it exits 0, then watch {metric} after deploy",
            cfg.validation.test_command
        ),
        ValidationMode::AbTest => format!(
            "A/B test at {}% for {}: variant against control per guarded metric (Mann-Whitney U, Hodges-Lehmann interval), {metric} must improve",
            cfg.validation.ab_percentage, cfg.validation.ab_duration
        ),
        ValidationMode::Canary => format!(
            "canary at {}% for {}: no guarded metric may degrade beyond its allowed effect",
            cfg.validation.canary_percentage, cfg.validation.canary_duration
        ),
        ValidationMode::Shadow => format!(
            "shadow replay with {:?} on the same recorded inputs for baseline and candidate; compare {metric}",
            cfg.validation.replay_command
        ),
        ValidationMode::Manual => {
            "no automatic mode applies: a human validates and approves".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proven_fix_outranks_an_equal_unproven_one_by_half() {
        let plain = rank_score(0.5, 0.8, Risk::Low, 1.0, false);
        let proven = rank_score(0.5, 0.8, Risk::Low, 1.0, true);
        assert!((proven / plain - 1.5).abs() < 1e-12);
        // ...and risk and complexity still count against it.
        assert!(rank_score(0.5, 0.8, Risk::High, 1.0, true) < plain);
        assert!(rank_score(0.5, 0.8, Risk::Low, 3.0, true) < plain);
    }
}
