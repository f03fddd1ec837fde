//! `improve cycle`: run one bounded improvement cycle.

use super::app::App;
use super::out::{self, count, safe, Paint};
use anyhow::Result;
use improve::config::{Config, CONFIG_PATH};
use improve::cycle::{self, Options};
use improve::git::Git;

/// Run one bounded cycle: observe the logs since the last cycle, diagnose, propose,
/// then validate, approve, deploy and monitor what is on record. Exits 75 (and queues
/// its trigger) when another cycle is running. -v shows the phases with their timings.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show what the cycle would find and propose; write nothing. Warns when the
    /// config in the working copy differs from the committed one the cycle reads.
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

/// A warning when the working copy's config is not the committed one a cycle reads:
/// an edit that is not committed does not take effect (and is not checked) yet.
fn uncommitted_config(git: &Git) -> Result<Option<String>> {
    let path = git.root().join(CONFIG_PATH);
    let Ok(working) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let committed = Config::committed_text(git)?;
    if committed.as_ref().is_some_and(|(_, c)| *c == working) {
        return Ok(None);
    }
    let (on, what) = match &committed {
        Some((branch, _)) => (
            format!("the one committed on {branch}"),
            "the cycle reads the committed one",
        ),
        None => (
            "nothing committed".to_string(),
            "the cycle reads it from the working copy until it is committed",
        ),
    };
    let valid = match Config::parse(&working, &path) {
        Ok(_) => "it loads".to_string(),
        Err(e) => format!("it does NOT load: {e:#}"),
    };
    Ok(Some(format!(
        "{CONFIG_PATH} in the working copy differs from {on} ({what}); {valid}. \
         Check it with `improve config check {CONFIG_PATH}`, then commit it"
    )))
}

pub fn run(app: &App, args: Args) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let warning = if args.dry_run {
        uncommitted_config(&git)?
    } else {
        None
    };
    if let Some(w) = &warning {
        out::err_line(format!("improve: warning: {}", safe(w)));
    }
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
    // Like an error, on stderr: the deploy waits for a human (exit 1).
    for r in &report.refused {
        out::err_line(format!("improve: {}", out::safe(r)));
    }
    // A push the remote refused or a diverged deploy branch fails the cycle (exit 1)
    // after the report is shown: everything else the cycle did is on record.
    for e in &report.errors {
        out::err_line(format!("improve: error: {}", out::safe(e)));
    }
    if app.json {
        let mut v = out::with_schema("report", &report)?;
        v["warnings"] = serde_json::json!(warning.into_iter().collect::<Vec<_>>());
        out::line(serde_json::to_string_pretty(&v)?);
        return Ok(report.exit_code());
    }
    let dry = if report.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    app.say(format!(
        "{}: {}{dry} — read {} from {}, window {} .. {}",
        report.cycle,
        out::paint(Paint::Bold, &report.outcome),
        count(report.lines_read as usize, "line", "lines"),
        count(report.files_read as usize, "file", "files"),
        report.window.0,
        report.window.1
    ));
    if report.skipped_total > 0 {
        app.say(format!(
            "  skipped {} malformed or unusable lines, e.g.:",
            report.skipped_total
        ));
        for s in report.skipped.iter().take(5) {
            app.say(format!(
                "    {}:{}: {}",
                safe(&s.file),
                s.line,
                safe(&s.reason)
            ));
        }
    }
    for p in &report.patterns {
        app.say(format!(
            "  pattern {} {} ({} occurrences){}: {}",
            p.kind,
            safe(&p.subject),
            p.occurrences,
            p.layer
                .as_ref()
                .map(|l| format!(" at the {l} layer, confidence {:.2}", p.confidence))
                .unwrap_or_default(),
            safe(&p.why)
        ));
    }
    for p in &report.proposals {
        app.say(format!(
            "  proposed {} ({}, {} risk): {} — branch {}",
            p.id,
            p.kind,
            p.risk,
            safe(&p.summary),
            p.branch
        ));
    }
    for s in &report.not_proposed {
        app.say(format!(
            "  not proposed for {}: {}",
            safe(&s.pattern),
            safe(&s.reason)
        ));
    }
    for l in &report.lifecycle {
        app.say(format!("  {}", safe(l)));
    }
    for n in &report.notes {
        app.say(format!("  note: {}", safe(n)));
    }
    if !report.proposals.is_empty() {
        app.say("  look closer: improve show P-N; review the branch as a pull request");
    }
    Ok(report.exit_code())
}
