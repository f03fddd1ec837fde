//! PROPOSE: for each actionable, attributed pattern pick the first candidate fix from
//! `templates/proposals.yaml` that applies to this repository, write the change, and
//! rank. Noise control lives here: one open proposal per pattern, limits on new and
//! open proposals, failed fixes never again, rejected ones only on new evidence.

use super::edit::{self, Format, Value};
use super::patch;
use super::render;
use crate::clock::{fmt_ts, Timestamp};
use crate::config::{Config, Direction, ProposalType, Risk};
use crate::diagnose::Pattern;
use crate::git::Git;
use crate::store::library::Library;
use crate::store::proposals::*;
use crate::vocab::ValidationMode;
use anyhow::{bail, Context, Result};
use git2::Oid;
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
}

impl Templates {
    pub fn parse(text: &str, name: &str) -> Result<Templates> {
        serde_yaml::from_str(text).with_context(|| format!("{name}: invalid proposal templates"))
    }
    /// The repository's own templates (`improvement-data/templates/proposals.yaml`
    /// on the deploy branch) when it has them, else the built-in ones.
    pub fn for_repo(git: &Git, cfg: &Config) -> Result<Templates> {
        match cfg.deploy_file(git, TEMPLATES_OVERRIDE)? {
            Some(t) => Templates::parse(&t, TEMPLATES_OVERRIDE),
            None => Ok(Templates::builtin()),
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
}

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

/// What drafting a proposal reads: the deploy branch's tree, config, templates, the
/// library and the proposals already on record.
pub struct Inputs<'a> {
    pub git: &'a Git,
    pub deploy_tip: Oid,
    pub cfg: &'a Config,
    pub templates: &'a Templates,
    pub library: &'a Library,
    pub existing: &'a [Proposal],
    pub now: Timestamp,
    pub cycle: &'a str,
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
        let cands = ctx
            .templates
            .candidates
            .get(&rule)
            .cloned()
            .unwrap_or_else(|| fallback(pat));
        let mut reasons = vec![];
        let id = format!("P-{:04}", first_id + n as u64);
        let mut made = None;
        for cand in &cands {
            let key = (cand.target.file.as_str(), cand.target.name.as_str());
            if ctx.library.failed_fix(&sig, key.0, key.1) {
                reasons.push(format!(
                    "{} {}: failed before for this pattern",
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

fn fallback(pat: &Pattern) -> Vec<Candidate> {
    vec![Candidate {
        kind: ProposalType::BehaviorFix,
        target: Target {
            file: "docs/improve/behavior.md".into(),
            name: format!("unexplained {}", pat.subject),
        },
        direction: None,
        step: None,
        risk: Risk::Medium,
        complexity: 3.0,
        metric: pat.metric.clone(),
        validation: None,
    }]
}

/// Refuses paths outside `allowed_paths`, escaping the repository, or through symlinks.
pub fn check_path(ctx: &Inputs, path: &str) -> Result<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        bail!("{path:?} is not a plain path inside the repository");
    }
    if path.starts_with(".git/") || path == ".git" {
        bail!("{path:?} is inside .git");
    }
    if !ctx.cfg.allowed_matcher().is_match(path) {
        bail!("{path} is outside allowed_paths");
    }
    if ctx.git.is_symlink(ctx.deploy_tip, path)? {
        bail!("{path} is (or goes through) a symbolic link");
    }
    Ok(())
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The new value of a tune: a relative step in the named direction, within the
/// configured bounds and max step; integers stay integers, fractions stay in [0, 1].
pub fn tuned_value(ctx: &Inputs, cand: &Candidate, old: &Value) -> Option<f64> {
    let o = as_f64(old)?;
    let step = cand.step.unwrap_or(0.2).abs();
    let bound = ctx.cfg.bound(&cand.target.file, &cand.target.name);
    let max_step = bound.map(|b| b.max_step).unwrap_or(0.2).abs();
    let rel = step.min(max_step);
    let up = cand.direction.as_deref() != Some("decrease");
    let delta = if o == 0.0 { rel } else { o.abs() * rel };
    let mut new = if up { o + delta } else { o - delta };
    if let Some(b) = bound {
        if let Some(lo) = b.min {
            new = new.max(lo);
        }
        if let Some(hi) = b.max {
            new = new.min(hi);
        }
    } else if (0.0..=1.0).contains(&o) && matches!(old, Value::Float(_)) {
        new = new.clamp(0.0, 1.0);
    }
    if matches!(old, Value::Int(_)) {
        new = if up { new.floor() } else { new.ceil() };
        if new == o {
            new = if up { o + 1.0 } else { o - 1.0 };
            if let Some(b) = bound {
                if b.min.is_some_and(|lo| new < lo) || b.max.is_some_and(|hi| new > hi) {
                    return None;
                }
            }
        }
    } else {
        new = (new * 1e6).round() / 1e6;
    }
    if (new - o).abs() < 1e-12 || !new.is_finite() {
        return None;
    }
    Some(new)
}

fn read_text(ctx: &Inputs, path: &str) -> Result<Option<String>> {
    match ctx.git.read_file(ctx.deploy_tip, path)? {
        Some(b) => Ok(Some(
            String::from_utf8(b).with_context(|| format!("{path} is not UTF-8"))?,
        )),
        None => Ok(None),
    }
}

pub fn draft(pat: &Pattern, cand: &Candidate, ctx: &Inputs, id: &str) -> Result<Option<Draft>> {
    let file = cand.target.file.clone();
    let name = cand.target.name.clone();
    let mut files = BTreeMap::new();
    let (summary, old_value, new_value, document_only, title);
    match cand.kind {
        ProposalType::ConstantTune | ProposalType::ProtocolUpdate => {
            check_path(ctx, &file)?;
            let Some(src) = read_text(ctx, &file)? else {
                bail!("{file} does not exist");
            };
            let format = Format::from_path(&file)
                .with_context(|| format!("{file}: no editor for this file type"))?;
            let lit = edit::find(format, &src, &name)?;
            let Some(new) = tuned_value(ctx, cand, &lit.value) else {
                return Ok(None);
            };
            let (new_src, _old) = edit::tune(format, &src, &name, new)?;
            let new_lit = edit::find(format, &new_src, &name)?;
            summary = format!("{name} in {file}: {} -> {}", lit.text, new_lit.text);
            old_value = Some(lit.text.clone());
            new_value = Some(new_lit.text.clone());
            document_only = false;
            title = format!(
                "{id}: {} {name} to {} ({})",
                cand.direction.as_deref().unwrap_or("change"),
                new_lit.text,
                pat.subject
            );
            files.insert(file.clone(), Some(new_src.into_bytes()));
        }
        ProposalType::SkillImprove => {
            check_path(ctx, &file)?;
            let src = read_text(ctx, &file)?.unwrap_or_default();
            let quoted: Vec<String> = pat
                .evidence
                .iter()
                .take(5)
                .map(|e| e.detail.clone())
                .filter(|d| !d.is_empty())
                .collect();
            let body = format!(
                "Agents hit `{}` repeatedly ({} times). {}\n\nBefore choosing a tool, check what the task needs and prefer the tool whose inputs you already have; on an error, read it before retrying.",
                pat.subject, pat.occurrences, pat.explanation
            );
            let new_src = edit::markdown::upsert_section(&src, &name, &body, &quoted);
            if new_src == src {
                return Ok(None);
            }
            summary = format!("add guidance section \"{name}\" to {file}");
            old_value = None;
            new_value = None;
            document_only = false;
            title = format!("{id}: improve {file} ({})", pat.subject);
            files.insert(file.clone(), Some(new_src.into_bytes()));
        }
        ProposalType::FormulaChange | ProposalType::BehaviorFix | ProposalType::GraphContent => {
            let doc = format!("docs/improve/{id}.md");
            check_path(ctx, &doc)?;
            summary = format!("proposal document docs/improve/{id}.md: change {name} in {file}");
            old_value = None;
            new_value = None;
            document_only = true;
            title = format!("{id}: {} — {name} ({})", cand.kind.as_str(), pat.subject);
        }
    }
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
        .unwrap_or_else(|| planned_mode(cand.kind, cand.risk));
    let now = fmt_ts(ctx.now);
    let mut p = Proposal {
        id: id.to_string(),
        kind: cand.kind,
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
            "{} {} Expected: {metric_name} moves in its good direction.{}",
            pat.explanation,
            pat.why,
            if proven { " This fix worked before for this pattern (proven fix, ranked x1.5)." } else { "" }
        ),
        risk: cand.risk,
        complexity: cand.complexity,
        target_metric: TargetMetric { name: metric_name.clone(), direction },
        validation_plan: ValidationPlan {
            mode,
            description: plan_text(mode, &metric_name, ctx.cfg),
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
    if document_only {
        let what = match cand.kind {
            ProposalType::FormulaChange => "a formula",
            ProposalType::BehaviorFix => "the system's behaviour",
            _ => "the graph's content",
        };
        files.insert(
            format!("docs/improve/{id}.md"),
            Some(render::proposal_doc(&p, what).into_bytes()),
        );
    }
    let mut diff = String::new();
    for (path, new) in &files {
        let old = read_text(ctx, path)?;
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

fn plan_text(mode: ValidationMode, metric: &str, cfg: &Config) -> String {
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
