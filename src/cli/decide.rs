//! `improve approve` and `improve reject`: a human's decision on a proposal.

use super::app::App;
use super::out::{self, safe};
use super::show::{next_step, normalize_id, unknown};
use anyhow::Result;
use improve::approve;
use improve::context::Ctx;
use improve::error::Error;
use improve::store::proposals::{self, Status};
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
    /// The proposal (P-7 or P-0007).
    pub id: String,
    /// Who rejects (recorded with the decision).
    #[arg(long)]
    pub by: String,
    /// Why (recorded; shown with the proposal's history).
    #[arg(long)]
    pub reason: String,
}

/// The proposal `id` names, or bad usage (exit 2) when none is on record.
fn existing(ctx: &Ctx, id: &str) -> Result<proposals::Proposal> {
    proposals::load(&ctx.records, id)?.ok_or_else(|| unknown(id))
}

/// Says what was decided: a line, or with `--json` the proposal's new state.
fn decided(
    app: &App,
    p: &proposals::Proposal,
    decision: &str,
    by: &str,
    line: String,
) -> Result<i32> {
    if app.json {
        out::json(&json!({
            "id": p.id, "decision": decision, "by": by,
            "status": p.status.as_str(), "next": next_step(p),
        }))?;
    } else {
        app.say(line);
    }
    Ok(0)
}

pub fn approve(app: &App, args: ApproveArgs) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let mut ctx = Ctx::open(&git, &cfg, "human", app.now)?;
    let id = normalize_id(&args.id);
    // Only after validation: approving cannot skip it (V1). Said here with the next
    // step, so the human knows what to do instead.
    let p = existing(&ctx, &id)?;
    if p.status != Status::AwaitingApproval {
        return Err(Error::Usage(format!(
            "{} is {}; only a proposal waiting for a human can be approved (next: {})",
            p.id,
            p.status.as_str(),
            next_step(&p)
        ))
        .into());
    }
    let p = approve::approve(&mut ctx, &id, &args.by)?;
    let line = format!(
        "{} approved by {}; it deploys in the next cycle (`improve cycle`)",
        p.id,
        safe(&args.by)
    );
    decided(app, &p, "approved", &args.by, line)
}

pub fn reject(app: &App, args: RejectArgs) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let mut ctx = Ctx::open(&git, &cfg, "human", app.now)?;
    let id = normalize_id(&args.id);
    existing(&ctx, &id)?;
    let p = approve::reject(&mut ctx, &id, &args.by, &args.reason)?;
    let line = format!(
        "{} rejected by {}; not proposed again unless the evidence changes materially",
        p.id,
        safe(&args.by)
    );
    decided(app, &p, "rejected", &args.by, line)
}
