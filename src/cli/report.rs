//! `improve report --html OUT`.

use super::app::App;
use super::out;
use anyhow::Result;
use improve::health::{self, Recorded};
use improve::records::Records;
use improve::report::{self, attention};
use serde_json::json;
use std::path::PathBuf;

/// Write one static HTML page (no network, no scripts): what needs a decision first
/// (waiting proposals with their commands, failed rollbacks, alerts), then what is
/// being watched, then charts of the guarded metrics on a time axis with their healthy
/// levels and labelled deploy/rollback markers, and the tables.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the page (replaced atomically).
    #[arg(long, value_name = "OUT")]
    pub html: PathBuf,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let r = Recorded::load(&git, &records)?;
    let inv = health::check(&git, &cfg, &r);
    let h = health::compute(&r, &inv, app.now);
    let html = report::render(&cfg, &r, &h, &git.root().display().to_string(), app.now);
    improve::fsutil::write_atomic(&args.html, html.as_bytes())?;
    if app.json {
        // What the page leads with, for a script that files or posts it.
        out::json(&json!({
            "path": args.html, "bytes": html.len(), "generated_at": improve::clock::fmt_ts(app.now),
            "health": h.overall,
            "needs_decision": attention::decision_count(&r, &h),
            "waiting": attention::waiting(&r).iter().map(|p| &p.id).collect::<Vec<_>>(),
            "failed_rollbacks": attention::failed_rollbacks(&r).iter().map(|d| &d.id).collect::<Vec<_>>(),
            "watched": r.deployments.iter().filter(|d| d.status.is_live()).map(|d| &d.id).collect::<Vec<_>>(),
            "cycles": r.summary.cycles, "proposals": r.proposals.len(), "deployments": r.deployments.len(),
        }))?;
    } else {
        app.say(format!(
            "wrote {} ({} bytes); open it in a browser",
            args.html.display(),
            html.len()
        ));
    }
    Ok(0)
}
