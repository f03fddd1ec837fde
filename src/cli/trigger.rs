//! `improve trigger`: ask for a cycle (a human request).

use crate::app::App;
use crate::triggers::{self, Trigger};
use anyhow::Result;

/// Queue a human request for the next cycle (it is recorded with the cycle that
/// consumes it).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Why a cycle is wanted (recorded; never executed).
    #[arg(long)]
    pub reason: String,
    /// low, medium, high or critical.
    #[arg(long, default_value = "medium", value_parser = ["low", "medium", "high", "critical"])]
    pub urgency: String,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let t = Trigger::new("human_request", args.reason, &args.urgency, app.now);
    triggers::spool(&git, &t)?;
    if app.json {
        crate::cli::print_json(&t)?;
    } else {
        app.say(format!(
            "queued a human_request trigger ({}); the next `improve cycle` consumes it",
            t.urgency
        ));
    }
    Ok(0)
}
