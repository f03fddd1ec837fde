//! `improve config check [FILE]`: validate a config file, committed or not, and resolve
//! every target it and the proposal templates name against the deploy branch.

use super::app::App;
use anyhow::{Context, Result};
use improve::config::{Config, CONFIG_PATH};
use improve::error::exit;
use improve::propose::targets::{self, Named};
use std::path::PathBuf;

/// Check improve's configuration.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Validate a config file (default: the working tree's improvement-data/config.yaml,
    /// committed or not) and resolve every target its tunables and the proposal
    /// templates name against the deploy branch. Exit 2 when the file is invalid (file,
    /// line and field named), 1 when some target does not resolve, 0 when all is well.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config file to check (relative to the current directory).
    pub file: Option<PathBuf>,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    match args.command {
        Sub::Check(a) => check(app, a),
    }
}

fn check(app: &App, args: CheckArgs) -> Result<i32> {
    let git = app.git()?;
    let (label, text) = match &args.file {
        Some(f) => (
            f.display().to_string(),
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        ),
        None => {
            let wt = git.root().join(CONFIG_PATH);
            if wt.exists() {
                (CONFIG_PATH.to_string(), std::fs::read_to_string(&wt)?)
            } else {
                let cfg = Config::for_repo(&git)?;
                match cfg.deploy_file(&git, CONFIG_PATH)? {
                    Some(t) => (format!("{CONFIG_PATH} (on {})", cfg.deploy_branch), t),
                    None => (
                        "<built-in config>".to_string(),
                        improve::config::DEFAULT_CONFIG.to_string(),
                    ),
                }
            }
        }
    };
    let cfg = match Config::parse(&text, std::path::Path::new(&label)) {
        Ok(c) => c,
        Err(e) if app.json => {
            super::print_json(&serde_json::json!({
                "file": label, "valid": false, "error": format!("{e:#}"),
            }))?;
            return Ok(exit::USAGE);
        }
        Err(e) => return Err(e),
    };
    let checked = targets::check_against(
        &git,
        &cfg,
        Named {
            name: &label,
            text: &text,
        },
    )?;
    let (report, tree, tname) = (checked.report, checked.tree, checked.templates);
    let code = if report.unresolved.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    };
    if app.json {
        super::print_json(&serde_json::json!({
            "file": label, "valid": true, "templates": tname, "tree": tree,
            "tunables": report.tunables, "template_targets": report.template_targets,
            "unresolved": report.unresolved,
        }))?;
        return Ok(code);
    }
    app.say(format!(
        "{label}: valid; {} tunables and {} template targets checked against {tree} (templates: {tname})",
        report.tunables, report.template_targets
    ));
    if report.unresolved.is_empty() {
        app.say("every target resolves");
    } else {
        app.say(format!(
            "{} targets do not resolve:",
            report.unresolved.len()
        ));
        for u in &report.unresolved {
            app.say(format!("  {u}"));
        }
    }
    Ok(code)
}
