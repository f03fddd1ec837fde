//! `improve health` and `improve check`.

use super::app::App;
use super::out::{self, Paint};
use anyhow::Result;
use improve::error::{exit, Error};
use improve::health::{self, Recorded};
use improve::records::Records;
use serde_json::json;

/// The health of the improvement loop itself: H1–H10 and M1–M3 with the seed's
/// thresholds and an overall HEALTHY / WARNING / ERROR. Exits 3 on ERROR. With -q it
/// prints nothing while the loop is HEALTHY.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// text (a table), markdown (for a pull request or an issue) or json (as --json).
    #[arg(long, value_parser = ["text", "markdown", "json"])]
    pub format: Option<String>,
}

/// Verify the invariants V1–V10 over the recorded history, each with its evidence.
/// Exits 1 on any violation.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

fn load(app: &App) -> Result<(improve::git::Git, improve::config::Config, Recorded)> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let r = Recorded::load(&git, &records)?;
    Ok((git, cfg, r))
}

/// The output format: `--json` is `--format json`; with another `--format` it is bad
/// usage, not a silent choice of one.
fn format(app: &App, asked: Option<&str>) -> Result<&'static str> {
    match (app.json, asked) {
        (true, None | Some("json")) | (false, Some("json")) => Ok("json"),
        (true, Some(f)) => Err(Error::Usage(format!(
            "--json and --format {f} ask for two formats; give one"
        ))
        .into()),
        (false, Some("markdown")) => Ok("markdown"),
        (false, _) => Ok("text"),
    }
}

pub fn health(app: &App, args: HealthArgs) -> Result<i32> {
    let format = format(app, args.format.as_deref())?;
    let (git, cfg, r) = load(app)?;
    let inv = health::check(&git, &cfg, &r);
    let h = health::compute(&r, &inv, app.now);
    let quiet_and_well = app.quiet && h.overall == health::Level::Healthy;
    match format {
        _ if quiet_and_well => {}
        "json" => out::json(&h)?,
        "markdown" => out::text(&render_markdown(&h)),
        _ => out::text(&render_text(&h)),
    }
    // The result is printed; ERROR is said by the exit code alone (not as an error
    // object after the health object).
    Ok(if h.overall == health::Level::Error {
        exit::HEALTH_ERROR
    } else {
        exit::OK
    })
}

pub fn check(app: &App, _args: CheckArgs) -> Result<i32> {
    let (git, cfg, r) = load(app)?;
    let inv = health::check(&git, &cfg, &r);
    let bad = inv.iter().filter(|i| !i.ok).count();
    if app.json {
        out::json(&json!({"ok": bad == 0, "violated": bad, "invariants": inv}))?;
    } else {
        for i in &inv {
            let mark = if i.ok {
                out::paint(Paint::Green, "ok  ")
            } else {
                out::paint(Paint::Red, "FAIL")
            };
            outln!(
                "{mark} {:<4} {}{} — {} checked",
                i.id,
                i.name,
                if i.critical { " (CRITICAL)" } else { "" },
                i.checked
            );
            for e in &i.evidence {
                outln!("       {}", out::safe(e));
            }
        }
        outln!(
            "{}",
            if bad == 0 {
                "all invariants hold".to_string()
            } else {
                format!("{} violated", out::count(bad, "invariant", "invariants"))
            }
        );
    }
    Ok(if bad == 0 { exit::OK } else { exit::FAILURE })
}

fn level_paint(l: health::Level) -> Paint {
    match l {
        health::Level::Healthy => Paint::Green,
        health::Level::Warning => Paint::Yellow,
        health::Level::Error => Paint::Red,
    }
}

fn render_text(h: &health::Health) -> String {
    let mut s = format!(
        "improve health: {}\n",
        out::paint(level_paint(h.overall), h.overall.as_str())
    );
    for i in &h.indicators {
        let level = format!("{:<8}", i.level.as_str());
        s.push_str(&format!(
            "  {:<4} {} {:<26} {}  [{}]\n",
            i.id,
            out::paint(level_paint(i.level), &level),
            i.name,
            out::safe(&i.detail),
            i.thresholds
        ));
    }
    s
}

fn render_markdown(h: &health::Health) -> String {
    let mut s = format!("## improve health: **{}**\n\n| | indicator | level | detail | thresholds |\n|---|---|---|---|---|\n", h.overall.as_str());
    for i in &h.indicators {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            i.id,
            i.name,
            i.level.as_str(),
            i.detail.replace('|', "\\|"),
            i.thresholds
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use improve::health::{Health, Indicator, Level};

    #[test]
    fn markdown_is_a_table_with_escaped_pipes() {
        let ind = |id, level, detail: &str| Indicator {
            id,
            name: "an indicator",
            level,
            value: Some(1.0),
            detail: detail.into(),
            thresholds: "<1",
        };
        let h = Health {
            overall: Level::Warning,
            indicators: vec![
                ind("H1", Level::Healthy, "a|b"),
                ind("M2", Level::Warning, "10 waiting"),
            ],
        };
        let md = render_markdown(&h);
        assert!(md.contains("**WARNING**"), "{md}");
        assert!(md.contains("|---|---|---|---|---|"), "{md}");
        assert!(md.contains("a\\|b"), "{md}");
        assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 3);
        let text = render_text(&h);
        assert!(text.starts_with("improve health: WARNING"), "{text}");
    }
}
