//! Meta-improvement: the loop tunes its own config (`improvement-data/config.yaml`)
//! when its record says it is noisy — humans reject most of what it proposes, or its
//! deploys roll back too often. At most one meta-proposal a day, always in the REQUIRE
//! tier (a config change is a meta-change, see `approve::tier`), and never from a
//! meta cycle (V10).

use crate::clock::parse_ts;
use crate::config::{ProposalType, Risk, CONFIG_PATH};
use crate::context::Ctx;
use crate::deploy::{self, DeployStatus};
use crate::diagnose::{Layer, Pattern, PatternKind};
use crate::observe::Evidence;
use crate::propose::generate::{self, Candidate, Templates};
use crate::propose::persist::persist;
use crate::records::{Records, State};
use crate::store::library;
use crate::store::proposals::{self, Status, Target};
use crate::vocab::{Tier, ValidationMode};
use anyhow::Result;
use serde_json::json;

/// What the record says about the loop's own noise, as a pattern and a fix.
fn diagnose(
    records: &Records,
    all: &[proposals::Proposal],
) -> Result<Option<(Pattern, Candidate)>> {
    let decided: Vec<_> = all
        .iter()
        .filter(|p| p.status == Status::Rejected || p.human_approved())
        .collect();
    let rejected: Vec<_> = decided
        .iter()
        .filter(|p| p.status == Status::Rejected)
        .collect();
    let base = |subject: &str, n: u64, why: String, evidence: Vec<Evidence>| {
        Pattern {
        kind: PatternKind::ThresholdBreach,
        subject: subject.to_string(),
        occurrences: n,
        severity: 2.0,
        impact: 1.0,
        score: n as f64,
        actionable: true,
        why,
        evidence,
        stats: json!({}),
        layer: Some(Layer::Protocol),
        rule: Some("meta".into()),
        confidence: 0.6,
        explanation: "The improvement loop's own settings make it noisy; a stricter setting proposes less and better.".into(),
        metric: None,
        features: vec![],
        known: None,
    }
    };
    if decided.len() >= 5 && (rejected.len() as f64) / (decided.len() as f64) > 0.4 {
        let evidence = rejected
            .iter()
            .map(|p| Evidence {
                file: proposals::yaml_path(&p.id),
                line: 0,
                ts: Some(p.created.clone()),
                value: None,
                detail: format!("{} rejected", p.id),
            })
            .collect();
        let pat = base(
            "human_approval_rate",
            rejected.len() as u64,
            format!(
                "humans rejected {} of the last {} proposals they decided",
                rejected.len(),
                decided.len()
            ),
            evidence,
        );
        return Ok(Some((pat, candidate("triggers.pattern_threshold", 0.34))));
    }
    let finished = deploy::load_closed(records)?;
    let rolled: Vec<_> = finished
        .iter()
        .filter(|d| d.status == DeployStatus::RolledBack)
        .collect();
    if finished.len() >= 5 && (rolled.len() as f64) / (finished.len() as f64) > 0.10 {
        let evidence = rolled
            .iter()
            .map(|d| Evidence {
                file: deploy::path(&d.id),
                line: 0,
                ts: Some(d.deployed_at.clone()),
                value: None,
                detail: format!("{} rolled back", d.id),
            })
            .collect();
        let pat = base(
            "rollback_rate",
            rolled.len() as u64,
            format!(
                "{} of {} deployments rolled back",
                rolled.len(),
                finished.len()
            ),
            evidence,
        );
        return Ok(Some((pat, candidate("validation.min_samples", 0.5))));
    }
    Ok(None)
}

fn candidate(name: &str, step: f64) -> Candidate {
    Candidate {
        kind: ProposalType::ConstantTune,
        target: Target {
            file: CONFIG_PATH.into(),
            name: name.into(),
        },
        direction: Some("increase".into()),
        step: Some(step),
        risk: Risk::Low,
        complexity: 1.0,
        metric: None,
        validation: Some(ValidationMode::Manual),
        formula: None,
        change: None,
        note: None,
    }
}

/// Proposes a config change when the record calls for one. `meta_cycle`: this cycle
/// was triggered by the tool's own health check, which may never change its config.
/// `last_meta_cycle` is the read state's (the cycle has it already: `state.json` is
/// read again only when a proposal is written).
#[tracing::instrument(name = "learn", skip_all)]
pub fn maybe_propose(
    ctx: &mut Ctx,
    meta_cycle: bool,
    last_meta_cycle: Option<&str>,
) -> Result<Option<String>> {
    if meta_cycle {
        return Ok(None);
    }
    let per_day = ctx.cfg.meta.max_cycles_per_day.max(1) as i64;
    if let Some(last) = last_meta_cycle.and_then(|t| parse_ts(t).ok()) {
        if ctx.now - last < chrono::Duration::hours(24 / per_day) {
            return Ok(None);
        }
    }
    let existing = proposals::load_all(&ctx.records)?;
    if existing
        .iter()
        .any(|p| p.status.is_open() && p.target.file == CONFIG_PATH)
    {
        return Ok(None);
    }
    let Some((pattern, cand)) = diagnose(&ctx.records, &existing)? else {
        return Ok(None);
    };
    let deploy_tip = ctx.deploy_tip()?;
    let templates = Templates {
        candidates: Default::default(),
    };
    let library = library::load(&ctx.records)?;
    let inputs = generate::Inputs {
        git: ctx.git,
        deploy_tip,
        cfg: ctx.cfg,
        templates: &templates,
        library: &library,
        existing: &existing,
        now: ctx.now,
        cycle: &ctx.cycle,
    };
    let id = ctx.records.next_id("proposals", "P-", 4)?;
    let Some(mut d) = generate::draft(&pattern, &cand, &inputs, &id)? else {
        return Ok(None);
    };
    d.proposal.tier = Some(Tier::Require);
    let mut state = State::load(&ctx.records)?;
    state.last_meta_cycle = Some(ctx.ts());
    let mut tx = ctx.tx();
    persist(ctx.git, deploy_tip, &mut d, &mut tx, ctx.now)?;
    state.put(&mut tx)?;
    let p = &d.proposal;
    tx.audit(
        "learn",
        "meta_proposed",
        &p.id,
        json!({"change": p.change.summary, "why": pattern.why, "tier": "require"}),
    );
    ctx.commit(tx, &format!("{}: meta-proposal", p.id))?;
    proposals::ensure_branches(ctx.git, [p])?;
    Ok(Some(format!(
        "{}: meta-proposal ({}) — {}; a human must approve it",
        p.id, p.change.summary, pattern.why
    )))
}
