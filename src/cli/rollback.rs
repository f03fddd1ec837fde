//! `improve rollback D-N`: revert a deployment on request.

use super::app::App;
use anyhow::Result;
use improve::context::Ctx;
use improve::deploy::{self, rollback, DeployStatus};
use improve::error::{exit, Error};
use improve::lock::{Acquire, CycleLock};
use serde_json::json;

/// Revert a deployment with `git revert` (never forced: a revert that would conflict
/// changes nothing and is reported), tag it improve/rollback/D-N and record it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deployment (D-3 or D-0003).
    pub id: String,
    /// Why (recorded in the revert commit and the deployment record).
    #[arg(long, default_value = "requested by a human")]
    pub reason: String,
    /// Who asks for it (recorded with the rollback).
    #[arg(long, default_value = "a human")]
    pub by: String,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let _lock = match CycleLock::try_acquire(&git.local_dir()?)? {
        Acquire::Held(l) => l,
        Acquire::Busy(pid) => {
            let what = format!("the rollback of {}", args.id);
            return Err(Error::CycleRunning { pid, what }.into());
        }
    };
    let mut ctx = Ctx::open(&git, &cfg, "human", app.now)?;
    let id = super::show::normalize_id(&args.id);
    let mut d = deploy::load(&ctx.records, &id)?.ok_or_else(|| super::show::unknown(&id))?;
    if !d.status.is_live() && d.status != DeployStatus::Stable {
        return Err(Error::Usage(format!(
            "{id} is {}; nothing to roll back",
            d.status.as_str()
        ))
        .into());
    }
    let line = rollback::rollback(&mut ctx, &mut d, &args.reason, &args.by)?;
    if app.json {
        super::out::json(&json!({
            "id": d.id, "proposal": d.proposal, "status": d.status.as_str(),
            "rollback_commit": d.rollback_commit, "message": line,
        }))?;
    } else {
        app.say(super::out::safe(&line));
    }
    Ok(if d.status == DeployStatus::RolledBack {
        exit::OK
    } else {
        exit::FAILURE
    })
}
