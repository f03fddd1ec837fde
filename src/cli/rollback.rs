//! `improve rollback D-N`: revert a deployment on request.

use crate::app::App;
use crate::deploy::{self, rollback, Deployment};
use crate::error::Error;
use crate::lock::{Acquire, CycleLock};
use crate::records::Records;
use anyhow::{Context, Result};

/// Revert a deployment with `git revert` (never forced: a revert that would conflict
/// changes nothing and is reported), tag it improve/rollback/D-N and record it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deployment (D-3 or D-0003).
    pub id: String,
    #[arg(long, default_value = "requested by a human")]
    pub reason: String,
    #[arg(long, default_value = "a human")]
    pub by: String,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let _lock = match CycleLock::try_acquire(&git.local_dir()?)? {
        Acquire::Held(l) => l,
        Acquire::Busy(pid) => return Err(Error::Busy { pid }.into()),
    };
    let mut records = Records::open(&git, &cfg.records_branch)?;
    let id = super::show::normalize_id(&args.id);
    let mut d: Deployment = records
        .read_yaml(&deploy::path(&id))?
        .with_context(|| format!("no deployment {id} on record"))?;
    if !d.status.is_live() && d.status != deploy::DeployStatus::Stable {
        return Err(Error::Usage(format!(
            "{id} is {}; nothing to roll back",
            d.status.as_str()
        ))
        .into());
    }
    let line = rollback::rollback(
        &git,
        &mut records,
        &cfg,
        &mut d,
        "human",
        app.now,
        &args.reason,
        &args.by,
    )?;
    app.say(&line);
    Ok(if d.status == deploy::DeployStatus::RolledBack {
        0
    } else {
        1
    })
}
