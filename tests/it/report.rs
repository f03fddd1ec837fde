//! `improve report --html` on the repository the demo leaves (a stable fix, a rollback,
//! a proposal waiting, a deployment under watch): the page leads with the decision, its
//! charts have time axes, healthy levels and markers linked to existing rows, its
//! y-axes are honest, and it is the same page every time for the same clock.

use crate::support::improve_at as improve;
use std::path::Path;

/// The story ends here; the report is generated an hour later.
const END: &str = "2026-01-07T00:00:00Z";
const LATER: &str = "2026-01-07T01:00:00Z";

/// The ids of the records under `dir/` on the records branch with `status`.
fn with_status(repo: &Path, dir: &str, status: &str) -> Vec<String> {
    let ls = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["ls-tree", "-r", "--name-only", "improve/records", dir])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    String::from_utf8_lossy(&ls.stdout)
        .lines()
        .filter(|n| n.ends_with(".yaml"))
        .filter_map(|n| {
            let show = std::process::Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(["show", &format!("improve/records:{n}")])
                .output()
                .unwrap();
            let y: serde_yaml::Value = serde_yaml::from_slice(&show.stdout).unwrap();
            (y["status"] == status).then(|| y["id"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Every text between `start` and the next `end` after it.
fn all_between<'a>(s: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut out = vec![];
    let mut rest = s;
    while let Some(i) = rest.find(start) {
        rest = &rest[i + start.len()..];
        let j = rest.find(end).expect("closed");
        out.push(&rest[..j]);
        rest = &rest[j..];
    }
    out
}

fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let len = html[start..].find("</section>").unwrap();
    &html[start..start + len]
}

#[test]
fn the_demo_report_leads_with_the_decision_and_charts_honestly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo-system");
    improve(END)
        .arg("-q")
        .arg("demo")
        .arg(&dir)
        .assert()
        .success();
    let repo = dir.to_str().unwrap();
    let out = tmp.path().join("report.html");
    improve(LATER)
        .args(["--repo", repo, "report", "--html", out.to_str().unwrap()])
        .assert()
        .success();
    let html = std::fs::read_to_string(&out).unwrap();

    // The order an SRE reads it in.
    let at = |id: &str| {
        html.find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}"))
    };
    let order = [
        "summary",
        "decisions",
        "watched",
        "metrics",
        "deployments",
        "health",
        "cycles",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
    // Generated at the simulated clock.
    assert!(
        html.contains("<time datetime=\"2026-01-07T01:00:00Z\">2026-01-07 01:00 UTC</time>"),
        "generated-at"
    );

    // The proposal waiting for a human, with the commands that decide it.
    let waiting = with_status(&dir, "proposals", "awaiting_approval");
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let p = &waiting[0];
    let decisions = section(&html, "decisions");
    for command in [
        format!("improve approve {p} --by NAME"),
        format!("improve reject {p} --by NAME --reason"),
        format!("git merge --no-ff improve/proposal/{p}"),
    ] {
        assert!(
            decisions.contains(&command),
            "{command:?} not in\n{decisions}"
        );
    }
    assert!(decisions.contains(&format!("<article class=\"decision\" id=\"{p}\">")));
    assert!(decisions.contains("Validation: shadow"), "{decisions}");

    // The deployment under watch, with the monitor's verdict per guarded metric.
    let live = with_status(&dir, "deployments", "monitoring");
    assert_eq!(live.len(), 1, "{live:?}");
    let watched = section(&html, "watched");
    assert!(
        watched.contains(&format!("<a href=\"#{}\">", live[0])),
        "{watched}"
    );
    assert!(watched.contains("<table class=\"verdicts\">"), "{watched}");
    assert!(
        watched.contains("<td class=\"verdict pass\">pass</td>"),
        "{watched}"
    );

    // Every deployment has a row; every chart links a marker to it; the rollback too.
    let rolled = with_status(&dir, "deployments", "rolled_back");
    assert_eq!(rolled.len(), 1);
    let charts = section(&html, "metrics");
    let figures = all_between(charts, "<figure class=\"chart\"", "</figure>");
    assert_eq!(figures.len(), 9, "one chart per guarded metric with data");
    for id in live.iter().chain(&rolled) {
        assert!(html.contains(&format!("<tr id=\"{id}\">")), "row {id}");
        assert!(charts.contains(&format!("<a class=\"deploy\" href=\"#{id}\">")));
    }
    assert!(charts.contains(&format!("<a class=\"rollback\" href=\"#{}\">", rolled[0])));
    for href in all_between(charts, "href=\"#", "\"") {
        assert!(
            html.contains(&format!("<tr id=\"{href}\">")),
            "dangling #{href}"
        );
    }

    for fig in &figures {
        let name = all_between(fig, "data-metric=\"", "\"")[0];
        // A time axis with hour labels and the date where the day changes.
        let xticks = all_between(fig, "class=\"xtick\"", "</text>");
        assert!(xticks.len() >= 2, "{name}: {xticks:?}");
        assert!(
            xticks.iter().all(|t| t.ends_with(":00")),
            "{name}: {xticks:?}"
        );
        assert!(fig.contains("class=\"xday\""), "{name}");
        // The healthy level from the config, as a labelled line.
        let label = all_between(fig, "class=\"healthy-label\"", "</text>");
        assert_eq!(label.len(), 1, "{name}");
        assert!(fig.contains("class=\"healthy\""), "{name}");
        let healthy: f64 = label[0].rsplit(' ').next().unwrap().parse().unwrap();
        // Honest y-axis: from zero or spanning the healthy level, never magnifying
        // noise: at least a tenth of the largest value.
        let yticks: Vec<f64> = all_between(fig, "class=\"ytick\"", "</text>")
            .iter()
            .map(|t| t.rsplit('>').next().unwrap().parse().unwrap())
            .collect();
        let values: Vec<f64> = all_between(fig, "<circle", "</title>")
            .iter()
            .map(|t| t.rsplit(": ").next().unwrap().parse().unwrap())
            .collect();
        let (lo, hi) = (yticks[0], *yticks.last().unwrap());
        let (vmin, vmax) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        assert!(lo <= vmin && hi >= vmax, "{name}: {yticks:?} vs {values:?}");
        assert!(
            lo <= healthy && healthy <= hi,
            "{name}: {yticks:?} vs {healthy}"
        );
        assert!(lo == 0.0 || lo <= healthy, "{name}: {yticks:?}");
        assert!(hi - lo >= vmax.abs() / 10.0 - 1e-9, "{name}: {yticks:?}");
    }
    let efficiency = figures
        .iter()
        .find(|f| f.contains("data-metric=\"efficiency\""))
        .unwrap();
    assert!(efficiency.contains("healthy ≥ 0.20"), "the config's level");
    assert!(efficiency.contains("critical"));

    // One static page: no script, nothing fetched from elsewhere.
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));

    // The same clock gives the same page.
    let again = tmp.path().join("again.html");
    improve(LATER)
        .args(["--repo", repo, "report", "--html", again.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
}
