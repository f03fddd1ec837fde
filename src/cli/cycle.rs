//! `improve cycle`: run one bounded improvement cycle.

use super::app::App;
use anyhow::Result;
use improve::cycle::{self, Options};

/// Run one bounded cycle: observe the logs since the last cycle, diagnose, propose,
/// then validate, approve, deploy and monitor what is on record. Exits 75 (and queues
/// its trigger) when another cycle is running.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show what the cycle would find and propose; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Push the records branch, open proposal branches and tags to this remote
    /// (never forced; a failure is reported and retried next cycle).
    #[arg(long, value_name = "REMOTE")]
    pub push: Option<String>,
    /// A meta cycle (trigger `meta_check`): checks the loop itself; never proposes a
    /// change to improve's own config (V10).
    #[arg(long)]
    pub meta: bool,
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let report = cycle::run(
        &git,
        &cfg,
        app.now,
        &Options {
            dry_run: args.dry_run,
            push: args.push,
            meta: args.meta,
        },
    )?;
    // A push the remote refused or a diverged deploy branch fails the cycle (exit 1)
    // after the report is shown: everything else the cycle did is on record.
    let failed = || match report.errors.is_empty() {
        true => Ok(0),
        false => Err(anyhow::anyhow!(report.errors.join("\n"))),
    };
    if app.json {
        super::print_json(&report)?;
        return failed();
    }
    let dry = if report.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    app.say(format!(
        "{}: {}{dry} — read {} lines from {} files, window {} .. {}",
        report.cycle,
        report.outcome,
        report.lines_read,
        report.files_read,
        report.window.0,
        report.window.1
    ));
    if report.skipped_total > 0 {
        app.say(format!(
            "  skipped {} malformed or unusable lines, e.g.:",
            report.skipped_total
        ));
        for s in report.skipped.iter().take(5) {
            app.say(format!("    {}:{}: {}", s.file, s.line, s.reason));
        }
    }
    for p in &report.patterns {
        app.say(format!(
            "  pattern {} {} ({} occurrences){}: {}",
            p.kind,
            p.subject,
            p.occurrences,
            p.layer
                .as_ref()
                .map(|l| format!(" at the {l} layer, confidence {:.2}", p.confidence))
                .unwrap_or_default(),
            p.why
        ));
    }
    for p in &report.proposals {
        app.say(format!(
            "  proposed {} ({}, {} risk): {} — branch {}",
            p.id, p.kind, p.risk, p.summary, p.branch
        ));
    }
    for s in &report.not_proposed {
        app.say(format!("  not proposed for {}: {}", s.pattern, s.reason));
    }
    for l in &report.lifecycle {
        app.say(format!("  {l}"));
    }
    for n in &report.notes {
        app.say(format!("  note: {n}"));
    }
    if !report.proposals.is_empty() {
        app.say("  look closer: improve show P-N; review the branch as a pull request");
    }
    failed()
}
