//! Meta-improvement: the loop tunes its own config (`improvement-data/config.yaml`)
//! when its record says it is noisy — humans reject most of what it proposes, or its
//! deploys roll back too often. At most one meta-proposal a day, always in the REQUIRE
//! tier (a config change is a meta-change, see `approve::tier`), and never from a
//! meta cycle (V10).

use crate::clock::{fmt_ts, parse_ts, Timestamp};
use crate::config::{Config, ProposalType, Risk, CONFIG_PATH};
use crate::cycle::{self, State};
use crate::deploy::{self, DeployStatus};
use crate::diagnose::{Layer, Pattern, PatternKind};
use crate::git::Git;
use crate::observe::Evidence;
use crate::propose::generate::{self, Candidate, Templates};
use crate::propose::proposal::{self as prop, Status, Target};
use crate::records::Records;
use anyhow::{Context, Result};
use serde_json::json;

/// What the record says about the loop's own noise, as a pattern and a fix.
fn diagnose(records: &Records) -> Result<Option<(Pattern, Candidate)>> {
    let proposals = cycle::load_proposals(records)?;
    let decided: Vec<_> = proposals
        .iter()
        .filter(|p| {
            p.status == Status::Rejected
                || p.approved_by
                    .as_deref()
                    .is_some_and(|b| !b.starts_with("improve"))
        })
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
                file: prop::yaml_path(&p.id),
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
    let deployments = deploy::load_deployments(records)?;
    let finished: Vec<_> = deployments.iter().filter(|d| !d.status.is_live()).collect();
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
        validation: Some("manual".into()),
    }
}

/// Proposes a config change when the record calls for one. `meta_cycle`: this cycle
/// was triggered by the tool's own health check, which may never change its config.
pub fn maybe_propose(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    cycle: &str,
    now: Timestamp,
    meta_cycle: bool,
) -> Result<Option<String>> {
    if meta_cycle {
        return Ok(None);
    }
    let mut state: State = records.read_json("state.json")?.unwrap_or_default();
    let per_day = cfg.meta.max_cycles_per_day.max(1) as i64;
    if let Some(last) = state
        .last_meta_cycle
        .as_deref()
        .and_then(|t| parse_ts(t).ok())
    {
        if now - last < chrono::Duration::hours(24 / per_day) {
            return Ok(None);
        }
    }
    let existing = cycle::load_proposals(records)?;
    if existing
        .iter()
        .any(|p| p.status.is_open() && p.target.file == CONFIG_PATH)
    {
        return Ok(None);
    }
    let Some((pattern, cand)) = diagnose(records)? else {
        return Ok(None);
    };
    let deploy_tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let templates = Templates {
        candidates: Default::default(),
    };
    let library = cycle::load_library(records)?;
    let ctx = generate::Ctx {
        git,
        deploy_tip,
        cfg,
        templates: &templates,
        library: &library,
        existing: &existing,
        now,
        cycle,
    };
    let id = records.next_id("proposals", "P-", 4)?;
    let Some(mut d) = generate::draft(&pattern, &cand, &ctx, &id)? else {
        return Ok(None);
    };
    d.proposal.tier = Some("require".into());
    let msg = format!(
        "{}\n\n{}",
        d.proposal.title,
        crate::propose::render::pr_body(&d.proposal)
    );
    let oid = git.commit_changes(Some(deploy_tip), &d.files, &msg, now)?;
    d.proposal.branch_commit = oid.to_string();
    state.last_meta_cycle = Some(fmt_ts(now));
    let p = &d.proposal;
    let mut tx = records.tx();
    tx.put_yaml(&prop::yaml_path(&p.id), p)?;
    tx.put(&prop::patch_path(&p.id), d.patch.clone().into_bytes());
    tx.put(
        &prop::body_path(&p.id),
        crate::propose::render::pr_body(p).into_bytes(),
    );
    tx.put_json_rows("state.json", &state)?;
    tx.audit(
        "learn",
        "meta_proposed",
        &p.id,
        json!({"change": p.change.summary, "why": pattern.why, "tier": "require"}),
    );
    tx.commit(records, cycle, now, &format!("{}: meta-proposal", p.id))?;
    cycle::ensure_branches(git, [&d.proposal])?;
    Ok(Some(format!(
        "{}: meta-proposal ({}) — {}; a human must approve it",
        p.id, p.change.summary, pattern.why
    )))
}
