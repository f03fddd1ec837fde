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
    // Every configured target, resolved against this repository's deploy branch.
    let cfg = improve::config::Config::load(&git.root().join(s.config))
        .or_else(|_| improve::config::Config::for_repo(&git))?;
    let targets = improve::propose::targets::check_repo(&git, &cfg)?;
    if app.json {
        let mut v = serde_json::to_value(&s)?;
        v["unresolved_targets"] = serde_json::to_value(&targets.unresolved)?;
        super::print_json(&v)?;
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
    if targets.unresolved.is_empty() {
        app.say(format!(
            "all {} tunables and {} template targets resolve on {}",
            targets.tunables, targets.template_targets, cfg.deploy_branch
        ));
    } else {
        app.say(format!(
            "{} of the configured targets do not resolve on {} (edit the config or the templates; `improve config check` repeats this):",
            targets.unresolved.len(),
            cfg.deploy_branch
        ));
        for u in &targets.unresolved {
            app.say(format!("  {u}"));
        }
    }
    Ok(0)
}
