//! `improve report --html OUT`.

use crate::app::App;
use crate::history::Recorded;
use crate::records::Records;
use crate::{check, health, report};
use anyhow::Result;
use std::path::PathBuf;

/// Write one static HTML page (no network, no scripts): health, recent cycles, open
/// proposals with evidence, deployments and rollbacks, and charts of the guarded
/// metrics with deploy and rollback markers.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_name = "OUT")]
    pub html: PathBuf,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let r = Recorded::load(&git, &records)?;
    let inv = check::check(&git, &cfg, &r);
    let h = health::compute(&r, &inv, app.now);
    let html = report::render(&cfg, &r, &h, &git.root().display().to_string(), app.now);
    crate::fsutil::write_atomic(&args.html, html.as_bytes())?;
    app.say(format!(
        "wrote {} ({} bytes); open it in a browser",
        args.html.display(),
        html.len()
    ));
    Ok(0)
}
