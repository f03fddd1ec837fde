//! `improve status`, `improve proposals`, `improve show P-N`: what was found, where,
//! why, what is proposed, where each proposal stands and what happens next.

use super::app::App;
use anyhow::{Context, Result};
use improve::cycle::{record, CycleRecord, PatternOut};
use improve::deploy::{self, Deployment};
use improve::records::Records;
use improve::store::proposals::{self as prop, Proposal, Status};
use serde_json::json;

/// Where things stand: the last cycle, open proposals, live deployments.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

/// List proposals, newest first.
#[derive(Debug, clap::Args)]
pub struct ProposalsArgs {
    /// Include closed ones (deployed, stable, rejected, failed, rolled back).
    #[arg(long)]
    pub all: bool,
}

/// Explain one proposal: the pattern and its evidence, the change, the validation,
/// the decision, and what happens next.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A proposal id (P-7 or P-0007) or a deployment id (D-3).
    pub id: String,
}

/// `P-7` -> `P-0007`.
pub fn normalize_id(id: &str) -> String {
    let id = id.trim().to_ascii_uppercase();
    if let Some((p, n)) = id.split_once('-') {
        if let Ok(n) = n.parse::<u64>() {
            return format!("{p}-{n:04}");
        }
    }
    id
}

/// What happens next for a proposal, in plain words.
pub fn next_step(p: &Proposal) -> String {
    match p.status {
        Status::Proposed => "validation runs in the next cycle".into(),
        Status::Validating => "an experiment is running; later cycles judge it".into(),
        Status::AwaitingApproval => format!(
            "waiting for a human: merge {} or run `improve approve {} --by NAME` / `improve reject {} --by NAME --reason TEXT`",
            p.branch, p.id, p.id
        ),
        Status::Approved => "deploys in the next cycle".into(),
        Status::Deployed => format!(
            "monitored after deploy; roll back with `improve rollback {}` or `git revert` of the deploy commit",
            p.deployment.clone().unwrap_or_else(|| "D-N".into())
        ),
        Status::Stable => "done: stable after the monitor period".into(),
        Status::RolledBack => "done: reverted; this fix is not proposed again for this pattern".into(),
        Status::RollbackFailed => "a human must resolve the conflicting revert".into(),
        Status::Rejected => "done: rejected; not proposed again unless the evidence changes materially".into(),
        Status::Failed => "done: failed validation or verification".into(),
        Status::Closed => "done: closed".into(),
    }
}

fn open_records(app: &App) -> Result<(improve::git::Git, improve::config::Config)> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    Ok((git, cfg))
}

pub fn status(app: &App, _args: StatusArgs) -> Result<i32> {
    let (git, cfg) = open_records(app)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    if !records.exists() {
        app.say("not initialised: run `improve init`");
        return Ok(0);
    }
    // The summary the cycles keep and the chain since the last verified checkpoint:
    // bounded by what is shown, not by the history.
    let summary = improve::cycle::summary::current(&records)?;
    let last: Option<CycleRecord> = match &summary.last_cycle {
        Some(id) => record::load(&records, id)?,
        None => None,
    };
    let proposals = prop::load_all(&records)?;
    let deployments = deploy::load_all(&records)?;
    let verification = improve::audit::verify_from_checkpoint(&git, records.tip)?;
    if app.json {
        super::print_json(&json!({
            "cycles": summary.cycles,
            "last_cycle": last.as_ref().map(|c| json!({"cycle": c.cycle, "started": c.started, "outcome": c.outcome, "patterns": c.patterns.iter().map(PatternOut::of).collect::<Vec<_>>()})),
            "proposals": proposals.iter().map(|p| json!({"id": p.id, "status": p.status.as_str(), "type": p.kind.as_str(), "summary": p.change.summary, "next": next_step(p)})).collect::<Vec<_>>(),
            "deployments": deployments.iter().map(|d| json!({"id": d.id, "proposal": d.proposal, "status": d.status.as_str()})).collect::<Vec<_>>(),
            "audit_ok": verification.ok(),
        }))?;
        return Ok(0);
    }
    println!("improve status for {}", git.root().display());
    match &last {
        None => println!("  no cycle has run yet: `improve cycle`"),
        Some(c) => {
            println!(
                "  {} cycles; the last, {} at {}: {}",
                summary.cycles, c.cycle, c.started, c.outcome
            );
            println!(
                "    read {} lines from {} files; skipped {}",
                c.lines_read, c.files_read, c.skipped_total
            );
            for p in &c.patterns {
                let layer = p
                    .layer
                    .map(|l| format!(", {} layer", l.as_str()))
                    .unwrap_or_default();
                let mark = if p.actionable { "problem" } else { "noted" };
                println!(
                    "    {mark}: {} {}{layer} — {}",
                    p.kind.as_str(),
                    p.subject,
                    p.why
                );
            }
        }
    }
    let open: Vec<&Proposal> = proposals.iter().filter(|p| p.status.is_open()).collect();
    println!("  {} open proposals", open.len());
    for p in &open {
        println!(
            "    {} [{}] {} — next: {}",
            p.id,
            p.status.as_str(),
            p.change.summary,
            next_step(p)
        );
        if !p.conflicts.is_empty() {
            println!(
                "      conflicts with {} (escalated to a human)",
                p.conflicts.join(", ")
            );
        }
    }
    let live: Vec<_> = deployments.iter().filter(|d| d.status.is_live()).collect();
    if !live.is_empty() {
        println!("  {} deployments being watched", live.len());
        for d in live {
            println!(
                "    {} ({}) since {} — roll back: improve rollback {} or git revert {}",
                d.id,
                d.proposal,
                d.deployed_at,
                d.id,
                &d.deploy_commit[..d.deploy_commit.len().min(12)]
            );
        }
    }
    println!(
        "  audit log: {}",
        if verification.ok() {
            format!("{} entries, chain intact", verification.last_seq)
        } else {
            format!("FAILED: {}", verification.problems.join("; "))
        }
    );
    Ok(0)
}

pub fn proposals(app: &App, args: ProposalsArgs) -> Result<i32> {
    let (git, cfg) = open_records(app)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let mut list = prop::load_all(&records)?;
    list.reverse();
    let list: Vec<Proposal> = list
        .into_iter()
        .filter(|p| args.all || p.status.is_open())
        .collect();
    if app.json {
        super::print_json(&list)?;
        return Ok(0);
    }
    if list.is_empty() {
        println!("no {}proposals", if args.all { "" } else { "open " });
    }
    for p in &list {
        println!(
            "{}  {:<17} {:<15} {:<8} {}",
            p.id,
            p.status.as_str(),
            p.kind.as_str(),
            p.risk.as_str(),
            p.change.summary
        );
    }
    Ok(0)
}

pub fn show(app: &App, args: ShowArgs) -> Result<i32> {
    let (git, cfg) = open_records(app)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let id = normalize_id(&args.id);
    if id.starts_with("D-") {
        return show_deployment(app, &records, &id);
    }
    let p: Proposal = records
        .read_yaml(&prop::yaml_path(&id))?
        .with_context(|| format!("no proposal {id} on record (see `improve proposals --all`)"))?;
    if app.json {
        super::print_json(&p)?;
        return Ok(0);
    }
    println!("{} — {}", p.id, p.title);
    println!(
        "  status: {} ({} risk, {}); next: {}",
        p.status.as_str(),
        p.risk.as_str(),
        p.kind.as_str(),
        next_step(&p)
    );
    println!(
        "  branch: {} (commit {})",
        p.branch,
        short(&p.branch_commit)
    );
    println!();
    println!("What was found");
    println!(
        "  pattern {} ({} occurrences) — {}",
        p.pattern.signature, p.pattern.occurrences, p.pattern.why
    );
    if let Some(l) = p.pattern.layer {
        println!(
            "  attributed to the {} layer (rule {}, confidence {:.2}): {}",
            l.as_str(),
            p.pattern.rule.clone().unwrap_or_default(),
            p.pattern.confidence,
            p.pattern.explanation
        );
    }
    println!("  evidence:");
    for e in p.pattern.evidence.iter().take(8) {
        let loc = if e.line > 0 {
            format!("{}:{}", e.file, e.line)
        } else {
            e.file.clone()
        };
        println!(
            "    {loc}{}{}{}",
            e.ts.as_ref()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default(),
            e.value
                .map(|v| format!(" value {v:.4}"))
                .unwrap_or_default(),
            if e.detail.is_empty() {
                String::new()
            } else {
                format!(" — {}", e.detail.escape_debug())
            }
        );
    }
    println!();
    println!("What is proposed");
    println!("  {}", p.change.summary);
    println!("  rationale: {}", p.rationale);
    println!(
        "  target metric: {} ({:?} is better)",
        p.target_metric.name, p.target_metric.direction
    );
    println!(
        "  validation: {} — {}",
        p.validation_plan.mode, p.validation_plan.description
    );
    println!("  rollback: {}", p.rollback_plan);
    if !p.conflicts.is_empty() {
        println!(
            "  CONFLICTS with {}: escalated to a human",
            p.conflicts.join(", ")
        );
    }
    if let Some(patch) = records.read_string(&prop::patch_path(&p.id))? {
        println!();
        println!("The change (change.patch)");
        for l in patch.lines() {
            println!("  {l}");
        }
    }
    if let Some(v) = records.read_string(&format!("proposals/{}/validation.json", p.id))? {
        println!();
        println!("Validation");
        for l in v.lines().take(40) {
            println!("  {l}");
        }
    }
    println!();
    println!("History");
    for e in &p.history {
        println!(
            "  {} {}{}",
            e.ts,
            e.what,
            e.by.as_ref()
                .map(|b| format!(" (by {b})"))
                .unwrap_or_default()
        );
    }
    Ok(0)
}

pub fn short(oid: &str) -> &str {
    &oid[..oid.len().min(12)]
}

fn show_deployment(app: &App, records: &Records, id: &str) -> Result<i32> {
    let d: Deployment = records
        .read_yaml(&deploy::path(id))?
        .with_context(|| format!("no deployment {id} on record"))?;
    if app.json {
        super::print_json(&d)?;
        return Ok(0);
    }
    println!(
        "{} — deployment of {} ({} tier, approved by {})",
        d.id,
        d.proposal,
        d.tier_name(),
        d.approved_by
    );
    println!("  status: {}", d.status.as_str());
    println!(
        "  deploy commit {} on {} at {} (tag {})",
        d.deploy_commit, d.branch, d.deployed_at, d.deploy_tag
    );
    println!("  backup: tag {} at {}", d.backup_tag, d.backup_commit);
    if let Some(r) = &d.rollback_commit {
        println!(
            "  rolled back by {r}{}",
            d.rollback_tag
                .as_ref()
                .map(|t| format!(" (tag {t})"))
                .unwrap_or_default()
        );
    }
    if let Some(r) = &d.reason {
        println!("  reason: {r}");
    }
    for c in &d.checks {
        println!("  check: {}", serde_json::to_string(c)?);
    }
    if d.status.is_live() {
        println!(
            "  roll back: improve rollback {} (or git revert {})",
            d.id, d.deploy_commit
        );
    }
    Ok(0)
}
