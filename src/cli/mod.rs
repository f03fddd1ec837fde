//! The command line (DESIGN §11): one file per subcommand, each with its documented
//! `Args` (the doc comment is the `--help` text) and one `run` function, dispatched
//! from a single `match`. Exit codes are decided in `improve::error`.

mod app;
mod audit;
mod config;
mod cycle;
mod decide;
mod demo;
mod generate;
mod health;
mod init;
mod report;
mod rollback;
mod show;
mod trigger;

use app::App;
use clap::{Parser, Subcommand};
use improve::error::{exit, exit_code};
use std::path::PathBuf;

/// Makes a running system better over time while its humans stay in control.
///
/// A timer runs `improve cycle` against the system's git repository: it reads the
/// logs, finds recurring problems, proposes fixes as branches you review as pull
/// requests, deploys what its approval tier allows, watches the metrics and reverts
/// on degradation. Everything it does is recorded on the `improve/records` branch.
#[derive(Debug, Parser)]
#[command(
    name = "improve",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The target repository (default: the current directory).
    #[arg(long, global = true, value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// A simulated clock (RFC 3339), for tests, demos and replays.
    #[arg(long, global = true, env = "IMPROVE_NOW", value_name = "RFC3339")]
    pub now: Option<String>,
    /// Print results as JSON for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v, -vv); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, no progress lines on stdout.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    Config(config::Args),
    Cycle(cycle::Args),
    Trigger(trigger::Args),
    Status(show::StatusArgs),
    Proposals(show::ProposalsArgs),
    Show(show::ShowArgs),
    Approve(decide::ApproveArgs),
    Reject(decide::RejectArgs),
    Rollback(rollback::Args),
    Health(health::HealthArgs),
    Check(health::CheckArgs),
    Report(report::Args),
    Audit(audit::Args),
    Completions(generate::CompletionsArgs),
    Man(generate::ManArgs),
    Demo(demo::Args),
}

fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let code = exit_code(&e);
            if code == exit::BUSY {
                eprintln!("improve: {e}");
            } else {
                eprintln!("improve: error: {e:#}");
            }
            code
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let now = improve::clock::now(cli.now.as_deref())
        .map_err(|e| improve::error::Error::Usage(format!("{e:#}")))?;
    let app = App {
        repo: cli.repo.clone(),
        now,
        json: cli.json,
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Init(a) => init::run(&app, a),
        Command::Config(a) => config::run(&app, a),
        Command::Cycle(a) => cycle::run(&app, a),
        Command::Trigger(a) => trigger::run(&app, a),
        Command::Status(a) => show::status(&app, a),
        Command::Proposals(a) => show::proposals(&app, a),
        Command::Show(a) => show::show(&app, a),
        Command::Approve(a) => decide::approve(&app, a),
        Command::Reject(a) => decide::reject(&app, a),
        Command::Rollback(a) => rollback::run(&app, a),
        Command::Health(a) => health::health(&app, a),
        Command::Check(a) => health::check(&app, a),
        Command::Report(a) => report::run(&app, a),
        Command::Audit(a) => audit::run(&app, a),
        Command::Completions(a) => generate::completions(a),
        Command::Man(a) => generate::man(a),
        Command::Demo(a) => demo::run(&app, a),
    }
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
