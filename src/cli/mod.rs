//! The command line (DESIGN §11): one file per subcommand, each with its documented
//! `Args` (the doc comment is the `--help` text) and one `run` function, dispatched
//! from a single `match`. Exit codes are decided in `improve::error`; everything
//! printed goes through `out` (stdout) and `trace` (stderr).

#[macro_use]
mod out;
mod app;
mod audit;
mod config;
mod cycle;
mod decide;
mod demo;
mod generate;
mod health;
mod init;
mod progress;
mod report;
mod rollback;
mod show;
mod status;
mod table;
mod trace;
mod trigger;
mod verdicts;

use app::App;
use clap::{Parser, Subcommand};
use improve::error::{exit, exit_code};
use serde_json::json;
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
    /// A simulated clock (RFC 3339), for tests, demos and replays; also IMPROVE_NOW.
    #[arg(
        long,
        global = true,
        env = "IMPROVE_NOW",
        value_name = "RFC3339",
        hide = true
    )]
    pub now: Option<String>,
    /// Print the result as one JSON object on stdout (with a `schema` version; an
    /// error is an object too, with its exit code).
    #[arg(long, global = true)]
    pub json: bool,
    /// Show what runs on stderr: -v the cycle's phases with their timings, -vv each
    /// proposal's steps and commands; RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Quiet when all is well: only errors on stderr, no progress, no narration on
    /// stdout (`health` prints nothing while HEALTHY).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: out::ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    Config(config::Args),
    Cycle(cycle::Args),
    Trigger(trigger::Args),
    Status(status::Args),
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

/// `--json` anywhere before `--`, for errors that come before the command line is
/// parsed.
fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    let code = match Cli::try_parse() {
        Ok(cli) => {
            let ansi = out::init(cli.color);
            trace::init(cli.verbose, cli.quiet, ansi);
            let json = cli.json;
            match run(cli) {
                Ok(code) => code,
                Err(e) => report_error(&e, json),
            }
        }
        Err(e) => parse_error(&e),
    };
    out::finish().unwrap_or(code)
}

/// Help and version go to stdout (exit 0); a usage error to stderr, and with
/// `--json` as an error object on stdout too (exit 2).
fn parse_error(e: &clap::Error) -> i32 {
    let color = out::init(out::ColorWhen::Auto);
    if !e.use_stderr() {
        let help = e.render();
        out::text(&if out::colored() {
            help.ansi().to_string()
        } else {
            help.to_string()
        });
        return exit::OK;
    }
    let text = if color {
        e.render().ansi().to_string()
    } else {
        e.render().to_string()
    };
    out::err_line(text.trim_end());
    if json_requested() {
        print_error("usage", &e.render().to_string(), exit::USAGE, json!({}));
    }
    exit::USAGE
}

/// Says what went wrong on stderr, and with `--json` as an object on stdout.
fn report_error(e: &anyhow::Error, json: bool) -> i32 {
    let code = exit_code(e);
    if code == exit::BUSY {
        out::err_line(format!("improve: {e}"));
    } else {
        out::err_line(format!("improve: error: {}", out::safe(&format!("{e:#}"))));
    }
    if json {
        let mut extra = json!({});
        if let Some(improve::error::Error::Config {
            file, line, field, ..
        }) = e.chain().find_map(|c| c.downcast_ref())
        {
            extra = json!({"file": file, "line": line, "field": field});
        }
        print_error(improve::error::kind(e), &format!("{e:#}"), code, extra);
    }
    code
}

/// `{"schema": 1, "error": {"kind", "message", "exit_code", ...}}` on stdout.
fn print_error(kind: &str, message: &str, code: i32, extra: serde_json::Value) {
    let mut err = json!({"kind": kind, "message": message.trim_end(), "exit_code": code});
    if let (Some(e), Some(x)) = (err.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
    }
    let _ = out::json(&json!({ "error": err }));
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let now = improve::clock::now(cli.now.as_deref())
        .map_err(|e| improve::error::Error::Usage(format!("{e:#}")))?;
    let app = App {
        repo: cli.repo.clone(),
        now,
        json: cli.json,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    match cli.command {
        Command::Init(a) => init::run(&app, a),
        Command::Config(a) => config::run(&app, a),
        Command::Cycle(a) => cycle::run(&app, a),
        Command::Trigger(a) => trigger::run(&app, a),
        Command::Status(a) => status::run(&app, a),
        Command::Proposals(a) => show::proposals(&app, a),
        Command::Show(a) => show::show(&app, a),
        Command::Approve(a) => decide::approve(&app, a),
        Command::Reject(a) => decide::reject(&app, a),
        Command::Rollback(a) => rollback::run(&app, a),
        Command::Health(a) => health::health(&app, a),
        Command::Check(a) => health::check(&app, a),
        Command::Report(a) => report::run(&app, a),
        Command::Audit(a) => audit::run(&app, a),
        Command::Completions(a) => generate::completions(&app, a),
        Command::Man(a) => generate::man(&app, a),
        Command::Demo(a) => demo::run(&app, a),
    }
}

/// Prints a value as pretty JSON on stdout, with the `schema` version.
pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    out::json(v)
}
