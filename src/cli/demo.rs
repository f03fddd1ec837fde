//! `improve demo`: the one-minute story on a self-contained target system, and
//! `improve demo simulate` to append simulated logs to a demo repository by hand.

use super::app::App;
use anyhow::Result;
use improve::clock::{fmt_ts, parse_ts};
use improve::demo::{self, story};
use improve::error::Error;
use std::path::PathBuf;

/// Run the demo: create a small target system with a planted fault in DIR, then play
/// three acts on a simulated clock (50 hours of logs and cycles, in seconds): a
/// fault found, fixed and stable; a harmful human change reverted automatically; a
/// proposal waiting for a human. The story ends now (or at IMPROVE_NOW, a simulated clock),
/// so `improve --repo DIR status|health|check|report` afterwards see fresh records.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<DemoCmd>,
    /// Where to create the demo system (must not exist or be empty).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Seed of the log simulator.
    #[arg(long, default_value_t = story::DEFAULT_SEED)]
    pub seed: u64,
}

#[derive(Debug, clap::Subcommand)]
pub enum DemoCmd {
    /// Append H hours of simulated logs to the demo repository given by --repo, from
    /// its current constants (edit them and the numbers follow), and print what was
    /// written. The hours end now (or at IMPROVE_NOW) unless --start says where they begin.
    Simulate(SimulateArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// How many hours of logs to write (60 explorations an hour).
    #[arg(long, default_value_t = 6.0)]
    pub hours: f64,
    /// Seed of the simulator: same seed, start and constants give the same logs.
    #[arg(long, default_value_t = story::DEFAULT_SEED)]
    pub seed: u64,
    /// Start of the simulated span (RFC 3339); default: the hours before now.
    #[arg(long, value_name = "RFC3339")]
    pub start: Option<String>,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    match args.cmd {
        Some(DemoCmd::Simulate(s)) => simulate(app, s),
        None => {
            let dir = args.dir.unwrap_or_else(|| PathBuf::from("demo-system"));
            let plan = story::Plan::new(&dir, app.now, args.seed);
            demo::create_target(&dir, plan.start)?;
            // `improve init` at the start of the story: the records branch.
            improve::init::init(&improve::git::Git::open(&dir)?, plan.start, false, false)?;
            let outcome = story::play(&plan, &|line| app.say(line))?;
            if app.json {
                super::print_json(&outcome)?;
            }
            Ok(0)
        }
    }
}

fn simulate(app: &App, args: SimulateArgs) -> Result<i32> {
    if !(args.hours.is_finite() && args.hours > 0.0 && args.hours <= 24.0 * 31.0) {
        return Err(Error::Usage(format!(
            "--hours must be between 0 and 744, got {}",
            args.hours
        ))
        .into());
    }
    let start = match &args.start {
        Some(s) => parse_ts(s).map_err(|e| Error::Usage(format!("--start: {e:#}")))?,
        None => app.now - chrono::Duration::milliseconds((args.hours * 3_600_000.0) as i64),
    };
    let opts = demo::SimOptions::new(start, args.hours, args.seed);
    let stats = demo::simulate(&app.repo, &opts)?;
    if app.json {
        super::print_json(&stats)?;
        return Ok(0);
    }
    let end = start + chrono::Duration::milliseconds((args.hours * 3_600_000.0) as i64);
    app.say(format!(
        "simulated {} .. {} (seed {}): {} explorations, {} lines in {} files under {}",
        fmt_ts(start),
        fmt_ts(end),
        args.seed,
        stats.explorations,
        stats.lines,
        stats.files,
        app.repo.join("logs").display()
    ));
    app.say(format!(
        "  mean efficiency {:.3}, mean sibling divergence {:.3}",
        stats.mean_efficiency, stats.mean_sibling_divergence
    ));
    for (variant, v) in &stats.per_variant {
        app.say(format!(
            "  {variant}: {} explorations, {} steps, efficiency {:.3}, sibling divergence {:.3}, {} LOW_SIBLING_DIVERGENCE, {} BACKTRACK",
            v.explorations,
            v.steps,
            v.mean_efficiency,
            v.mean_sibling_divergence,
            v.low_divergence_anomalies,
            v.backtrack_anomalies
        ));
    }
    if !stats.anomalies.is_empty() {
        let a: Vec<String> = stats
            .anomalies
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        app.say(format!("  anomalies: {}", a.join(", ")));
    }
    Ok(0)
}
