//! `improve health` and `improve check`.

use super::app::App;
use anyhow::Result;
use improve::error::Error;
use improve::health::{self, Recorded};
use improve::records::Records;

/// The health of the improvement loop itself: H1–H10 and M1–M3 with the seed's
/// thresholds and an overall HEALTHY / WARNING / ERROR. Exits 3 on ERROR.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    #[arg(long, default_value = "text", value_parser = ["text", "markdown", "json"])]
    pub format: String,
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

pub fn health(app: &App, args: HealthArgs) -> Result<i32> {
    let (git, cfg, r) = load(app)?;
    let inv = health::check(&git, &cfg, &r);
    let h = health::compute(&r, &inv, app.now);
    let format = if app.json {
        "json"
    } else {
        args.format.as_str()
    };
    match format {
        "json" => super::print_json(&h)?,
        "markdown" => print!("{}", render_markdown(&h)),
        _ => print!("{}", render_text(&h)),
    }
    if h.overall == health::Level::Error {
        return Err(Error::HealthError.into());
    }
    Ok(0)
}

pub fn check(app: &App, _args: CheckArgs) -> Result<i32> {
    let (git, cfg, r) = load(app)?;
    let inv = health::check(&git, &cfg, &r);
    let bad = inv.iter().filter(|i| !i.ok).count();
    if app.json {
        super::print_json(&inv)?;
    } else {
        for i in &inv {
            println!(
                "{} {:<4} {}{} — {} checked",
                if i.ok { "ok  " } else { "FAIL" },
                i.id,
                i.name,
                if i.critical { " (CRITICAL)" } else { "" },
                i.checked
            );
            for e in &i.evidence {
                println!("       {e}");
            }
        }
        println!(
            "{}",
            if bad == 0 {
                "all invariants hold".to_string()
            } else {
                format!("{bad} invariants violated")
            }
        );
    }
    Ok(if bad == 0 { 0 } else { 1 })
}

fn render_text(h: &health::Health) -> String {
    let mut s = format!("improve health: {}\n", h.overall.as_str());
    for i in &h.indicators {
        s.push_str(&format!(
            "  {:<4} {:<8} {:<26} {}  [{}]\n",
            i.id,
            i.level.as_str(),
            i.name,
            i.detail,
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
