//! `improve init`: install the config and create the records branch.

use super::app::App;
use anyhow::Result;

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
    let s = improve::init::init(&git, app.now, args.commit, args.new_chain)?;
    if app.json {
        super::print_json(&s)?;
        return Ok(0);
    }
    if s.wrote_config {
        app.say(format!(
            "wrote {} (seed defaults, documented inline)",
            s.config
        ));
    } else {
        app.say(format!("{} exists; kept as it is", s.config));
    }
    match &s.committed_on {
        Some(branch) => app.say(format!("committed {} on {branch}", s.config)),
        None if s.wrote_config => app.say(format!(
            "review and commit it: git add {0} && git commit -m 'improve: config'",
            s.config
        )),
        None => {}
    }
    if s.created_records {
        app.say(format!("created records branch {}", s.records_branch));
    } else {
        app.say(format!("records branch {} exists", s.records_branch));
    }
    Ok(0)
}
