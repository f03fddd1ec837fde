//! `improve trigger`: ask for a cycle (a human request).

use super::app::App;
use anyhow::Result;
use improve::triggers::{self, Trigger};
use improve::vocab::{TriggerKind, Urgency};

/// Queue a human request for the next cycle (it is recorded with the cycle that
/// consumes it).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Why a cycle is wanted (recorded; never executed).
    #[arg(long)]
    pub reason: String,
    /// low, medium, high or critical.
    #[arg(long, default_value = "medium")]
    pub urgency: Urgency,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let t = Trigger::new(
        TriggerKind::HumanRequest,
        args.reason,
        args.urgency,
        app.now,
    );
    triggers::spool(&git, &t)?;
    if app.json {
        super::print_json(&t)?;
    } else {
        app.say(format!(
            "queued a human_request trigger ({}); the next `improve cycle` consumes it",
            t.urgency
        ));
    }
    Ok(0)
}
