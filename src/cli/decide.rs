//! `improve approve` and `improve reject`: a human's decision on a proposal.

use crate::app::App;
use crate::clock::fmt_ts;
use crate::error::Error;
use crate::learn::library;
use crate::propose::proposal::{self as prop, Proposal, Status};
use crate::records::Records;
use anyhow::{Context, Result};
use serde_json::json;

/// Approve a proposal: it deploys in the next cycle (V1–V4 still apply). Merging the
/// proposal branch yourself is approval and deployment at once.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The proposal (P-7 or P-0007).
    pub id: String,
    /// Who approves (recorded in the deploy commit's trailer).
    #[arg(long)]
    pub by: String,
}

/// Reject a proposal: it closes, and the same fix is not proposed again for the same
/// pattern unless the evidence changes materially.
#[derive(Debug, clap::Args)]
pub struct RejectArgs {
    pub id: String,
    #[arg(long)]
    pub by: String,
    #[arg(long)]
    pub reason: String,
}

fn load(app: &App, id: &str) -> Result<(crate::git::Git, crate::config::Config, Proposal)> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let id = super::show::normalize_id(id);
    let p: Proposal = records
        .read_yaml(&prop::yaml_path(&id))?
        .with_context(|| format!("no proposal {id} on record"))?;
    Ok((git, cfg, p))
}

pub fn approve(app: &App, args: ApproveArgs) -> Result<i32> {
    let (git, cfg, mut p) = load(app, &args.id)?;
    // Only after validation: approving cannot skip it (V1).
    if p.status != Status::AwaitingApproval {
        return Err(Error::Usage(format!(
            "{} is {}; only a proposal waiting for a human can be approved (next: {})",
            p.id,
            p.status.as_str(),
            super::show::next_step(&p)
        ))
        .into());
    }
    let mut records = Records::open(&git, &cfg.records_branch)?;
    let ts = fmt_ts(app.now);
    p.status = Status::Approved;
    p.approved_by = Some(args.by.clone());
    p.push_event(&ts, "approved", Some(&args.by));
    let mut tx = records.tx();
    tx.put_yaml(&prop::yaml_path(&p.id), &p)?;
    tx.put_json(
        &format!("proposals/{}/approval.json", p.id),
        &json!({"decision": "approved", "by": args.by, "ts": ts}),
    )?;
    tx.audit("approve", "approved", &p.id, json!({"by": args.by}));
    tx.commit(
        &mut records,
        "human",
        app.now,
        &format!("{}: approved by {}", p.id, args.by),
    )?;
    app.say(format!(
        "{} approved by {}; it deploys in the next cycle (`improve cycle`)",
        p.id, args.by
    ));
    Ok(0)
}

pub fn reject(app: &App, args: RejectArgs) -> Result<i32> {
    let (git, cfg, mut p) = load(app, &args.id)?;
    if !p.status.is_open() {
        return Err(Error::Usage(format!(
            "{} is {}; only an open proposal can be rejected",
            p.id,
            p.status.as_str()
        ))
        .into());
    }
    let mut records = Records::open(&git, &cfg.records_branch)?;
    let ts = fmt_ts(app.now);
    let was_validating = p.status == Status::Validating;
    p.status = Status::Rejected;
    p.push_event(&ts, format!("rejected: {}", args.reason), Some(&args.by));
    if was_validating {
        crate::validate::experiment::stop(&git, &cfg, &p.id, app.now)?;
    }
    let mut lib = crate::cycle::load_library(&records)?;
    lib.record_fix(
        &p.pattern.signature,
        library::Fix::of(&p, library::Outcome::Rejected, &ts),
    );
    let mut tx = records.tx();
    tx.put_yaml(&prop::yaml_path(&p.id), &p)?;
    tx.put_json(library::PATH, &lib)?;
    tx.put_json(
        &format!("proposals/{}/approval.json", p.id),
        &json!({"decision": "rejected", "by": args.by, "reason": args.reason, "ts": ts}),
    )?;
    tx.audit(
        "approve",
        "rejected",
        &p.id,
        json!({"by": args.by, "reason": args.reason}),
    );
    tx.commit(
        &mut records,
        "human",
        app.now,
        &format!("{}: rejected by {}", p.id, args.by),
    )?;
    app.say(format!(
        "{} rejected by {}; not proposed again unless the evidence changes materially",
        p.id, args.by
    ));
    Ok(0)
}
