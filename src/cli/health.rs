//! `improve health` and `improve check`.

use crate::app::App;
use crate::error::Error;
use crate::history::Recorded;
use crate::records::Records;
use crate::{check, health};
use anyhow::Result;

/// The health of the improvement loop itself: H1–H10 and M1–M3 with the seed's
/// thresholds and an overall HEALTHY / WARNING / ERROR. Exits 3 on ERROR.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    #[arg(long, default_value = "text", value_parser = ["text", "markdown", "json"])]
    pub format: String,
}

/// Verify the invariants V1–V10 over the recorded history, each with its evidence.
/// Exits 1 on any violation.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

fn load(app: &App) -> Result<(crate::git::Git, crate::config::Config, Recorded)> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let r = Recorded::load(&git, &records)?;
    Ok((git, cfg, r))
}

pub fn health(app: &App, args: HealthArgs) -> Result<i32> {
    let (git, cfg, r) = load(app)?;
    let inv = check::check(&git, &cfg, &r);
    let h = health::compute(&r, &inv, app.now);
    let format = if app.json {
        "json"
    } else {
        args.format.as_str()
    };
    match format {
        "json" => crate::cli::print_json(&h)?,
        "markdown" => print!("{}", health::render_markdown(&h)),
        _ => print!("{}", health::render_text(&h)),
    }
    if h.overall == health::Level::Error {
        return Err(Error::HealthError.into());
    }
    Ok(0)
}

pub fn check(app: &App, _args: CheckArgs) -> Result<i32> {
    let (git, cfg, r) = load(app)?;
    let inv = check::check(&git, &cfg, &r);
    let bad = inv.iter().filter(|i| !i.ok).count();
    if app.json {
        crate::cli::print_json(&inv)?;
    } else {
        for i in &inv {
            println!(
                "{} {:<4} {}{} — {} checked",
                if i.ok { "ok  " } else { "FAIL" },
                i.id,
                i.name,
                if i.critical { " (CRITICAL)" } else { "" },
                i.checked
            );
            for e in &i.evidence {
                println!("       {e}");
            }
        }
        println!(
            "{}",
            if bad == 0 {
                "all invariants hold".to_string()
            } else {
                format!("{bad} invariants violated")
            }
        );
    }
    Ok(if bad == 0 { 0 } else { 1 })
}
