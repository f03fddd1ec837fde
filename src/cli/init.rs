//! `improve init`: install the config and create the records branch.

use crate::app::App;
use crate::audit;
use crate::config::{Config, CONFIG_PATH, DEFAULT_CONFIG};
use crate::records::Records;
use anyhow::{Context, Result};
use serde_json::json;
use std::collections::BTreeMap;

/// Install `improvement-data/config.yaml` (seed defaults, documented inline) and
/// create the `improve/records` branch. An existing config is kept; run it again to
/// create a missing records branch.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also commit the config onto the checked-out branch (only if the working tree
    /// is clean); otherwise review and commit it yourself.
    #[arg(long)]
    pub commit: bool,
    /// Start a new records chain although this clone's anchor remembers one whose
    /// branch is gone; the reset is recorded in the new chain's first entry.
    #[arg(long)]
    pub new_chain: bool,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let root = git.root();
    let path = root.join(CONFIG_PATH);
    let mut wrote = false;
    if !path.exists() && !git.is_bare() {
        crate::fsutil::write_atomic(&path, DEFAULT_CONFIG.as_bytes())?;
        wrote = true;
        app.say(format!(
            "wrote {CONFIG_PATH} (seed defaults, documented inline)"
        ));
    } else {
        app.say(format!("{CONFIG_PATH} exists; kept as it is"));
    }
    let cfg = if path.exists() {
        Config::load(&path)?
    } else {
        app.config(&git)?
    };
    if args.commit && wrote {
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
            app.now,
        )?;
        // The file is already in the working tree with this content, so only the
        // ref and the index move.
        std::fs::remove_file(&path)?;
        git.advance_branch(&branch, tip, new, "improve: install config")?;
        app.say(format!("committed {CONFIG_PATH} on {branch}"));
    } else if wrote {
        app.say(format!(
            "review and commit it: git add {CONFIG_PATH} && git commit -m 'improve: config'"
        ));
    }
    let mut records = Records::open(&git, &cfg.records_branch)?;
    if records.exists() {
        app.say(format!("records branch {} exists", cfg.records_branch));
    } else {
        let reset = audit::start_new_chain(&git, args.new_chain, app.now)?;
        let mut tx = records.tx();
        tx.put("README.md", RECORDS_README.as_bytes().to_vec());
        tx.put_json_rows("state.json", &crate::cycle::State::default())?;
        let mut detail = json!({"config": CONFIG_PATH, "deploy_branch": cfg.deploy_branch});
        if let Some(previous) = reset {
            detail["new_chain"] = previous;
        }
        tx.audit("init", "created", &cfg.records_branch, detail);
        tx.commit(&mut records, "init", app.now, "create the records branch")?;
        app.say(format!("created records branch {}", cfg.records_branch));
    }
    let v = audit::verify(&git, records.tip)?;
    if app.json {
        crate::cli::print_json(
            &json!({"config": CONFIG_PATH, "records_branch": cfg.records_branch, "audit_entries": v.entries}),
        )?;
    }
    Ok(0)
}

const RECORDS_README: &str = "# improve/records\n\nEverything `improve` records about this repository, committed by the tool alone,\nfast-forward only. Do not edit: `improve audit verify` detects any change.\n\n- audit/YYYY-MM.jsonl: hash-chained audit log\n- cycles/: one record per cycle\n- metrics/: aggregate time series\n- patterns/library.json: known patterns and fix outcomes\n- proposals/P-NNNN/: proposal.yaml, change.patch, PR_BODY.md, validation, approval\n- deployments/: deploy, monitoring and rollback records\n- triggers/: queued triggers; notifications.jsonl: outbox for humans\n- state.json: per-file read cursors\n";
