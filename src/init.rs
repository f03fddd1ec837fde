//! Setting a repository up for improve: the config file (seed defaults, documented
//! inline) and the records branch with the first audit entry. An existing config is
//! kept, an existing records branch left alone, so running it again is harmless.

use crate::audit;
use crate::clock::Timestamp;
use crate::config::{Config, CONFIG_PATH, DEFAULT_CONFIG};
use crate::git::Git;
use crate::records::{Records, State};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// What `init` did.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    pub config: &'static str,
    /// The config file was written (it did not exist).
    pub wrote_config: bool,
    /// The branch the config was committed on (`commit` asked for it).
    pub committed_on: Option<String>,
    pub records_branch: String,
    /// The records branch was created (it did not exist).
    pub created_records: bool,
    pub audit_entries: u64,
}

/// Installs the config and creates the records branch. With `commit`, a config it
/// wrote is also committed onto the checked-out branch. A records branch is never
/// created over a chain this clone's audit anchor remembers unless `new_chain` says
/// so; the reset is then recorded in the new chain's first entry.
pub fn init(git: &Git, now: Timestamp, commit: bool, new_chain: bool) -> Result<Setup> {
    let path = git.root().join(CONFIG_PATH);
    let wrote_config = !path.exists() && !git.is_bare();
    if wrote_config {
        crate::fsutil::write_atomic(&path, DEFAULT_CONFIG.as_bytes())?;
    }
    let cfg = if path.exists() {
        Config::load(&path)?
    } else {
        Config::for_repo(git)?
    };
    let committed_on = if commit && wrote_config {
        Some(commit_config(git, now)?)
    } else {
        None
    };
    let mut records = Records::open(git, &cfg.records_branch)?;
    let created_records = !records.exists();
    if created_records {
        let reset = audit::start_new_chain(git, new_chain, now)?;
        let mut tx = records.tx();
        tx.put("README.md", RECORDS_README.as_bytes().to_vec());
        State::default().put(&mut tx)?;
        let mut detail = json!({"config": CONFIG_PATH, "deploy_branch": cfg.deploy_branch});
        if let Some(previous) = reset {
            detail["new_chain"] = previous;
        }
        tx.audit("init", "created", &cfg.records_branch, detail);
        tx.commit(&mut records, "init", now, "create the records branch")?;
    }
    let v = audit::verify(git, records.tip)?;
    Ok(Setup {
        config: CONFIG_PATH,
        wrote_config,
        committed_on,
        records_branch: cfg.records_branch,
        created_records,
        audit_entries: v.entries,
    })
}

/// Commits the freshly written config onto the checked-out branch.
fn commit_config(git: &Git, now: Timestamp) -> Result<String> {
    let branch = git
        .head_branch()
        .context("HEAD is not on a branch; commit the config yourself")?;
    let tip = git
        .ref_oid(&branch)?
        .context("the branch has no commits yet")?;
    let mut changes = BTreeMap::new();
    changes.insert(
        CONFIG_PATH.to_string(),
        Some(DEFAULT_CONFIG.as_bytes().to_vec()),
    );
    let new = git.commit_changes(
        Some(tip),
        &changes,
        "improve: install improvement-data/config.yaml",
        now,
    )?;
    // The file is already in the working tree with this content, so only the ref and
    // the index move.
    std::fs::remove_file(git.root().join(CONFIG_PATH))?;
    git.advance_branch(&branch, tip, new, "improve: install config")?;
    Ok(branch)
}

const RECORDS_README: &str = "# improve/records\n\nEverything `improve` records about this repository, committed by the tool alone,\nfast-forward only. Do not edit: `improve audit verify` detects any change.\n\n- audit/YYYY-MM/DD.jsonl: hash-chained audit log (audit-index.json: where each deployment's entry is)\n- cycles/, learning/: one record per cycle, sharded (cycles/00/0/0/C-000042.json); summary.json: what every cycle adds up to\n- metrics/YYYY-MM/DD.csv: aggregate time series\n- patterns/library.json: known patterns and fix outcomes\n- proposals/P-NNNN/: proposal.yaml, change.patch, PR_BODY.md, validation, approval\n- deployments/: deploy, monitoring and rollback records\n- triggers/: queued triggers; notifications.jsonl: outbox for humans\n- state.json: per-file read cursors\n";
