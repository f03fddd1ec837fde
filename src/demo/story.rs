//! The story `improve demo` tells: real cycles on the demo target, a simulated clock and
//! the log simulator between them. Nothing is faked: every record comes from a cycle,
//! every commit from the tool or from a scripted teammate using plain git.

use super::{simulate, SimOptions, SimStats};
use crate::clock::{fmt_ts, Timestamp};
use crate::config::Config;
use crate::cycle::{self, CycleRecord, Options, Report};
use crate::deploy::{self, Deployment};
use crate::git::Git;
use crate::records::Records;
use crate::store::proposals::{self, Proposal, Status};
use crate::validate::judge::MetricStatus;
use crate::validate::Validation;
use anyhow::{bail, Context, Result};
use chrono::{Duration, Timelike};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const DEFAULT_SEED: u64 = 42;
/// Hours of simulated time from the first log line to the last cycle.
pub const STORY_HOURS: i64 = 50;

/// Where the story happens on the clock: it ends at the last whole hour before `end`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: PathBuf,
    pub start: Timestamp,
    pub seed: u64,
}

impl Plan {
    pub fn new(dir: &Path, end: Timestamp, seed: u64) -> Plan {
        let hour = end
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(end);
        Plan {
            dir: dir.to_path_buf(),
            start: hour - Duration::hours(STORY_HOURS),
            seed,
        }
    }

    /// `h` hours into the story.
    pub fn at(&self, h: f64) -> Timestamp {
        self.start + Duration::milliseconds((h * 3_600_000.0).round() as i64)
    }
}

/// What the story left behind, for scripts and tests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub dir: String,
    pub start: String,
    pub end: String,
    pub cycles: u32,
    pub stable: Vec<String>,
    pub rolled_back: Vec<String>,
    pub awaiting_approval: Vec<String>,
}

struct Story<'a> {
    plan: &'a Plan,
    say: &'a dyn Fn(&str),
    logged_until: Timestamp,
    cycles: u32,
}

/// Who does what in the story besides the tool.
const MAINTAINER: (&str, &str) = (super::target::AUTHOR_NAME, super::target::AUTHOR_EMAIL);
const TEAMMATE: (&str, &str) = ("Dana Reviewer", "dana@example.com");

/// Plays the three acts on a target already created and initialised at `plan.start`.
pub fn play(plan: &Plan, say: &dyn Fn(&str)) -> Result<Outcome> {
    let mut s = Story {
        plan,
        say,
        logged_until: plan.start,
        cycles: 0,
    };
    s.say(format!(
        "improve demo: a small exploration system with a planted fault, in {}",
        plan.dir.display()
    ));
    s.say(format!(
        "  {STORY_HOURS}h on a simulated clock, {} .. {}: the simulator writes the logs the system would write, from the constants in its working tree, and `improve cycle` runs every few hours (real cycles, real git commits).",
        fmt_ts(plan.start),
        fmt_ts(plan.at(STORY_HOURS as f64))
    ));
    s.act1()?;
    let (timeout, skill) = s.act2()?;
    s.act3(&timeout, &skill)?;
    s.epilogue()?;
    let records = s.records()?;
    let git = &records.0;
    let recs = Records::open(git, &records.1)?;
    let deployments = deploy::load_all(&recs)?;
    let of = |st: deploy::DeployStatus| {
        deployments
            .iter()
            .filter(|d| d.status == st)
            .map(|d| d.id.clone())
            .collect::<Vec<_>>()
    };
    Ok(Outcome {
        dir: plan.dir.display().to_string(),
        start: fmt_ts(plan.start),
        end: fmt_ts(plan.at(STORY_HOURS as f64)),
        cycles: s.cycles,
        stable: of(deploy::DeployStatus::Stable),
        rolled_back: of(deploy::DeployStatus::RolledBack),
        awaiting_approval: proposals::load_all(&recs)?
            .into_iter()
            .filter(|p| p.status == Status::AwaitingApproval)
            .map(|p| p.id)
            .collect(),
    })
}

/// A cycle's report with the metrics it observed.
struct Ran {
    at: Timestamp,
    report: Report,
    metrics: BTreeMap<String, f64>,
}

impl Ran {
    fn m(&self, name: &str) -> f64 {
        self.metrics.get(name).copied().unwrap_or(f64::NAN)
    }
}

impl Story<'_> {
    fn say(&self, line: impl AsRef<str>) {
        (self.say)(line.as_ref())
    }

    fn records(&self) -> Result<(Git, String)> {
        let git = Git::open(&self.plan.dir)?;
        let branch = Config::for_repo(&git)?.records_branch;
        Ok((git, branch))
    }

    fn dir(&self) -> String {
        self.plan.dir.display().to_string()
    }

    /// Appends logs from where they end to `until`, from the working tree's constants.
    fn simulate_until(&mut self, until: Timestamp) -> Result<SimStats> {
        let hours = (until - self.logged_until).num_milliseconds() as f64 / 3_600_000.0;
        if hours <= 0.0 {
            return Ok(SimStats::default());
        }
        let stats = simulate(
            &self.plan.dir,
            &SimOptions::new(self.logged_until, hours, self.plan.seed),
        )?;
        self.logged_until = until;
        Ok(stats)
    }

    /// Simulates up to `h` hours into the story, then runs one real cycle there.
    fn cycle_at(&mut self, h: f64) -> Result<Ran> {
        let now = self.plan.at(h);
        self.simulate_until(now)?;
        let git = Git::open(&self.plan.dir)?;
        let cfg = Config::for_repo(&git)?;
        let report = cycle::run(&git, &cfg, now, &Options::default())
            .with_context(|| format!("cycle at {}", fmt_ts(now)))?;
        self.cycles += 1;
        let (git, branch) = self.records()?;
        let records = Records::open(&git, &branch)?;
        let rec: CycleRecord =
            cycle::record::load(&records, &report.cycle)?.context("cycle record missing")?;
        Ok(Ran {
            at: now,
            report,
            metrics: rec.metrics,
        })
    }

    fn clock(&self, t: Timestamp) -> String {
        let m = (t - self.plan.start).num_minutes();
        format!("+{:02}h{:02}", m / 60, m % 60)
    }

    /// One line per cycle: when, which, the two metrics the story follows.
    fn cycle_line(&self, r: &Ran) {
        self.say(format!(
            "  {} {}  efficiency {:.3}  sibling divergence {:.3}  ({} explorations)",
            self.clock(r.at),
            r.report.cycle,
            r.m("efficiency"),
            r.m("sibling_divergence"),
            r.m("exploration_count")
        ));
    }

    /// What a cycle found (actionable patterns), proposed and moved.
    fn cycle_events(&self, r: &Ran) {
        for p in r.report.patterns.iter().filter(|p| p.actionable) {
            self.say(format!(
                "      found {} {} x{}{}",
                p.kind,
                p.subject,
                p.occurrences,
                p.layer
                    .as_ref()
                    .map(|l| format!(" at the {l} layer (confidence {:.2})", p.confidence))
                    .unwrap_or_default()
            ));
        }
        for p in &r.report.proposals {
            self.say(format!(
                "      proposed {} ({}, {} risk): {}",
                p.id, p.kind, p.risk, p.summary
            ));
            if let Ok(Some(line)) = self.validation_line(&p.id) {
                self.say(format!("        {line}"));
            }
        }
        for s in &r.report.not_proposed {
            self.say(format!(
                "      not proposed for {}: {}",
                s.pattern, s.reason
            ));
        }
        for l in &r.report.lifecycle {
            self.say(format!("      {}", without_long_details(l, 100)));
        }
    }

    /// The replay's numbers of a proposal's validation, if it measured any.
    fn validation_line(&self, id: &str) -> Result<Option<String>> {
        let (git, branch) = self.records()?;
        let records = Records::open(&git, &branch)?;
        let Some(v) = records.read_json::<Validation>(&crate::validate::path(id))? else {
            return Ok(None);
        };
        let p: Proposal = records
            .read_yaml(&crate::store::proposals::yaml_path(id))?
            .context("proposal record missing")?;
        let mut names = vec![p.target_metric.name.clone()];
        if !names.contains(&"efficiency".to_string()) {
            names.push("efficiency".into());
        }
        let parts: Vec<String> = names
            .iter()
            .filter_map(|n| {
                let (b, a) = (v.metrics_before.get(n)?, v.metrics_after.get(n)?);
                Some(format!(
                    "{n} {b:.3} -> {a:.3} ({:+.0}%)",
                    v.improvement.get(n).copied().unwrap_or(0.0) * 100.0
                ))
            })
            .collect();
        let mut runs: Vec<String> = vec![];
        for r in &v.runs {
            let label = format!(
                "{} {}",
                r.argv.join(" "),
                if r.ok() { "ok" } else { "FAILED" }
            );
            if !runs.contains(&label) {
                runs.push(label);
            }
        }
        Ok(Some(format!(
            "validation {} ({}{}){}",
            v.status.as_str(),
            v.mode,
            if runs.is_empty() {
                String::new()
            } else {
                format!(": {}", runs.join(", "))
            },
            if parts.is_empty() {
                String::new()
            } else {
                format!("; replay: {}", parts.join(", "))
            }
        )))
    }

    fn act1(&mut self) -> Result<()> {
        self.say("");
        self.say("Act 1 — a fault, found, fixed, stable");
        self.say("  runtime/physics/constants.py ships with SIBLING_DIVERGENCE_WEIGHT = 0.10 (too low: sibling subentities walk the same paths and find little).");
        let first = self.cycle_at(6.0)?;
        self.cycle_line(&first);
        self.cycle_events(&first);
        let mut last = None;
        for h in [10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0] {
            let r = self.cycle_at(h)?;
            self.cycle_line(&r);
            self.cycle_events(&r);
            last = Some(r);
        }
        let last = last.context("no cycles")?;
        self.say(format!(
            "  efficiency {:.2} -> {:.2}, sibling divergence {:.2} -> {:.2} (healthy: efficiency >= 0.20, divergence >= 0.70)",
            first.m("efficiency"),
            last.m("efficiency"),
            first.m("sibling_divergence"),
            last.m("sibling_divergence")
        ));
        self.say(format!(
            "  look closer: improve --repo {0} show P-1; improve --repo {0} show D-1; git -C {0} show improve/deploy/D-0001",
            self.dir()
        ));
        Ok(())
    }

    /// Returns the ids of the timeout proposal (merged and reverted) and the skill
    /// proposal (left waiting for act 3).
    fn act2(&mut self) -> Result<(String, String)> {
        self.say("");
        self.say("Act 2 — a change that hurts, reverted automatically");
        let t = self.plan.at(34.0) + Duration::minutes(10);
        self.maintainer_tightens(t)?;
        self.say(format!(
            "  {} the maintainer commits stricter thresholds (timeouts and tool errors above 1% are breaches) and repository-local proposal templates (where this protocol keeps timeout_s, at most 45s; skill changes need a reviewer)",
            self.clock(t)
        ));
        let r = self.cycle_at(38.0)?;
        self.cycle_line(&r);
        self.cycle_events(&r);
        let find = |kind: &str| {
            r.report
                .proposals
                .iter()
                .find(|p| p.kind == kind)
                .map(|p| (p.id.clone(), p.branch.clone()))
        };
        let (Some((timeout, branch)), Some((skill, _))) =
            (find("protocol_update"), find("skill_improve"))
        else {
            bail!(
                "the story expected a protocol_update and a skill_improve proposal at +38h; the cycle proposed {:?}",
                r.report.proposals.iter().map(|p| &p.kind).collect::<Vec<_>>()
            );
        };

        // The teammate: review, "while I'm here", merge by hand before the next cycle.
        let t = self.plan.at(41.0) + Duration::minutes(45);
        self.simulate_until(t)?;
        self.teammate_merges(&timeout, &branch, t)?;
        self.say(format!(
            "  {} {} reviews {timeout} on {branch}, pushes a commit that also sets MAX_DEPTH = 4 (\"explorations that deep rarely pay off, while I'm here\") and merges it with git merge --no-ff; validation never saw that commit",
            self.clock(t),
            TEAMMATE.0
        ));
        for l in git_as(
            &self.plan.dir,
            TEAMMATE,
            t,
            &["log", "--oneline", "--graph", "-4", "main"],
        )?
        .lines()
        {
            self.say(format!("      {l}"));
        }
        let merged = self.cycle_at(42.0)?;
        self.cycle_line(&merged);
        self.cycle_events(&merged);
        let reverted = self.cycle_at(46.0)?;
        self.cycle_line(&reverted);
        self.cycle_events(&reverted);
        let (git, branch_name) = self.records()?;
        let records = Records::open(&git, &branch_name)?;
        let d = deploy::load_all(&records)?
            .into_iter()
            .find(|d| d.proposal == timeout)
            .context("the teammate's merge was not recorded as a deployment")?;
        if d.status != deploy::DeployStatus::RolledBack {
            bail!(
                "the story expected {} to be rolled back at +46h; it is {}",
                d.id,
                d.status.as_str()
            );
        }
        if let Some(line) = check_line(&d) {
            self.say(format!(
                "  the monitor compared the hours since {} with the hours before it: {line}",
                d.id
            ));
        }
        for l in git_as(
            &self.plan.dir,
            TEAMMATE,
            self.plan.at(46.0),
            &["log", "--oneline", "--decorate", "-3", "main"],
        )?
        .lines()
        {
            self.say(format!("      {l}"));
        }
        self.say(format!(
            "  MAX_DEPTH is back to {} and timeout_s to {} in the working tree; a notification went to the humans (improve --repo {} status).",
            read_constant(&self.plan.dir, "runtime/physics/constants.py", "MAX_DEPTH")?,
            read_constant(&self.plan.dir, "protocols/explore.yaml", "timeout_s")?,
            self.dir()
        ));
        self.say(format!(
            "  look closer: improve --repo {0} show {1}; git -C {0} show {2}",
            self.dir(),
            d.id,
            d.rollback_tag.clone().unwrap_or_default()
        ));
        Ok((timeout, skill))
    }

    fn act3(&mut self, timeout: &str, skill: &str) -> Result<()> {
        self.say("");
        self.say("Act 3 — a proposal waiting for a human");
        let r = self.cycle_at(STORY_HOURS as f64)?;
        self.cycle_line(&r);
        self.cycle_events(&r);
        let (git, branch) = self.records()?;
        let records = Records::open(&git, &branch)?;
        let p: Proposal = records
            .read_yaml(&crate::store::proposals::yaml_path(skill))?
            .context("skill proposal missing")?;
        if p.status != Status::AwaitingApproval {
            bail!(
                "the story expected {skill} to wait for a human; it is {}",
                p.status.as_str()
            );
        }
        self.say(format!(
            "  {} ({}, {} risk, {} tier) waits for a human since {}: {}",
            p.id,
            p.kind.as_str(),
            p.risk.as_str(),
            p.tier.map(|t| t.as_str()).unwrap_or("?"),
            p.awaiting_since.as_deref().unwrap_or("?"),
            p.change.summary
        ));
        self.say(format!("    why: {}", p.pattern.why));
        if let Some(line) = self.validation_line(skill)? {
            self.say(format!("    {line}"));
        }
        self.say(format!(
            "  The timeout fix ({timeout}) is not proposed again for this breach: it went out with the harmful commit and was reverted, and improve never re-proposes a fix that failed for a pattern. A human can."
        ));
        let others: Vec<String> = proposals::load_all(&records)?
            .into_iter()
            .filter(|o| o.status == Status::AwaitingApproval && o.id != p.id)
            .map(|o| format!("{} ({}: {})", o.id, o.kind.as_str(), o.pattern.subject))
            .collect();
        if !others.is_empty() {
            self.say(format!(
                "  also waiting: {} — documents for metric drifts improve could not attribute below the behaviour layer (after a fix many metrics move at once); a human reads them and rejects what is not a problem.",
                others.join(", ")
            ));
        }
        let dir = self.dir();
        self.say(format!("  read it:  improve --repo {dir} show {}   (or review the branch {} as a pull request)", p.id, p.branch));
        self.say(format!("  approve:  improve --repo {dir} approve {} --by NAME   (the next cycle deploys it), or git merge --no-ff {}", p.id, p.branch));
        self.say(format!(
            "  reject:   improve --repo {dir} reject {} --by NAME --reason TEXT",
            p.id
        ));
        Ok(())
    }

    fn epilogue(&self) -> Result<()> {
        let dir = self.dir();
        let now = self.plan.at(STORY_HOURS as f64);
        let (git, branch) = self.records()?;
        let cfg = Config::for_repo(&git)?;
        let records = Records::open(&git, &branch)?;
        let recorded = crate::health::Recorded::load(&git, &records)?;
        let inv = crate::health::check(&git, &cfg, &recorded);
        let h = crate::health::compute(&recorded, &inv, now);
        self.say("");
        self.say(format!(
            "{} cycles ran. The loop's own health: {}; invariants V1-V10: {}.",
            self.cycles,
            h.overall.as_str(),
            if inv.iter().all(|i| i.ok) {
                "all hold".to_string()
            } else {
                format!("{} violated", inv.iter().filter(|i| !i.ok).count())
            }
        ));
        for i in h
            .indicators
            .iter()
            .filter(|i| i.level != crate::health::Level::Healthy)
        {
            self.say(format!(
                "  {} {} {}: {}",
                i.id,
                i.level.as_str(),
                i.name,
                i.detail
            ));
        }
        self.say("  (the rollback rate is high on purpose: act 2 is one rollback among a handful of deployments; a real system judges it over many.)");
        self.say("Look closer:");
        for c in [
            format!("improve --repo {dir} status"),
            format!("improve --repo {dir} health"),
            format!("improve --repo {dir} check"),
            format!("improve --repo {dir} report --html {dir}/report.html"),
            format!("git -C {dir} log --oneline --decorate"),
        ] {
            self.say(format!("  {c}"));
        }
        Ok(())
    }

    /// The maintainer's commit on main: stricter thresholds, a bound for timeout_s, and
    /// repository-local templates that know this protocol's layout.
    fn maintainer_tightens(&self, t: Timestamp) -> Result<()> {
        let dir = &self.plan.dir;
        let cfg_path = dir.join(crate::config::CONFIG_PATH);
        let cfg = std::fs::read_to_string(&cfg_path)?;
        let cfg = replace_once(
            &cfg,
            "  - {metric: timeout_rate, max: 0.20}",
            "  - {metric: timeout_rate, max: 0.01}",
        )?;
        let cfg = replace_once(
            &cfg,
            "  - {metric: tool_error_rate, max: 0.10}",
            "  - {metric: tool_error_rate, max: 0.01}",
        )?;
        let cfg = replace_once(
            &cfg,
            "tunables:\n",
            "tunables:\n  - {file: protocols/explore.yaml, name: \"steps[1].parameters.timeout_s\", min: 10, max: 45, max_step: 0.5}\n",
        )?;
        std::fs::write(&cfg_path, cfg)?;
        let tpath = dir.join(crate::propose::generate::TEMPLATES_OVERRIDE);
        let templates = std::fs::read_to_string(&tpath)?;
        let templates = replace_once(
            &templates,
            "name: \"steps[0].timeout_s\"}",
            "name: \"steps[1].parameters.timeout_s\"}",
        )?;
        let templates = replace_once(
            &templates,
            "name: Tool selection}, risk: low,",
            "name: Tool selection}, risk: medium,",
        )?;
        std::fs::write(&tpath, templates)?;
        git_as(dir, MAINTAINER, t, &["add", "improvement-data"])?;
        git_as(
            dir,
            MAINTAINER,
            t,
            &[
                "commit",
                "-q",
                "-m",
                "improve: stricter timeout and tool-error thresholds; templates for our protocol layout",
            ],
        )?;
        Ok(())
    }

    /// The teammate's extra commit on the proposal branch and the merge into main.
    fn teammate_merges(&self, id: &str, branch: &str, t: Timestamp) -> Result<()> {
        let dir = &self.plan.dir;
        git_as(dir, TEAMMATE, t, &["checkout", "-q", branch])?;
        let path = dir.join("runtime/physics/constants.py");
        let text = std::fs::read_to_string(&path)?;
        std::fs::write(
            &path,
            replace_once(&text, "MAX_DEPTH = 10\n", "MAX_DEPTH = 4\n")?,
        )?;
        git_as(
            dir,
            TEAMMATE,
            t,
            &[
                "commit",
                "-q",
                "-am",
                "Cap MAX_DEPTH at 4: deep explorations rarely pay off",
            ],
        )?;
        git_as(dir, TEAMMATE, t, &["checkout", "-q", "main"])?;
        git_as(
            dir,
            TEAMMATE,
            t,
            &[
                "merge",
                "--no-ff",
                "-q",
                "-m",
                &format!("Merge {id}: longer explore timeout"),
                branch,
            ],
        )?;
        Ok(())
    }
}

/// The last monitor check of a deployment, as "efficiency -52% (severe), ...".
fn check_line(d: &Deployment) -> Option<String> {
    let last = d.checks.last()?.monitor()?;
    let parts: Vec<String> = last
        .metrics
        .iter()
        .filter(|m| m.status == MetricStatus::Fail)
        .filter_map(|m| Some(format!("{} {:+.0}%", m.name, m.relative_effect? * 100.0)))
        .collect();
    Some(format!(
        "{}{}",
        parts.join(", "),
        if last.severe {
            " (severe: reverted at once)"
        } else {
            ""
        }
    ))
}

/// Drops parenthesised details longer than `max` characters (the judge's full
/// statistics), which `improve show` prints in full.
fn without_long_details(line: &str, max: usize) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find(" (") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let mut depth = 1;
        let close = after.char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(i)
        });
        match close {
            Some(i) if i > max => rest = &after[i + 1..],
            Some(i) => {
                out.push_str(&rest[open..open + 2 + i + 1]);
                rest = &after[i + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn replace_once(text: &str, from: &str, to: &str) -> Result<String> {
    if text.matches(from).count() != 1 {
        bail!("the demo expected exactly one {from:?} to replace");
    }
    Ok(text.replacen(from, to, 1))
}

/// The first `NAME = value` / `name: value` of a file in the working tree.
fn read_constant(dir: &Path, rel: &str, name: &str) -> Result<String> {
    let text = std::fs::read_to_string(dir.join(rel))?;
    for line in text.lines() {
        let t = line.trim().trim_start_matches("- ");
        for sep in [" = ", ": "] {
            if let Some(v) = t.strip_prefix(name).and_then(|r| r.strip_prefix(sep)) {
                return Ok(v.split('#').next().unwrap_or("").trim().to_string());
            }
        }
    }
    Ok("?".into())
}

/// Runs git in the demo repository as a teammate at `when`, isolated from the user's
/// configuration.
fn git_as(dir: &Path, who: (&str, &str), when: Timestamp, args: &[&str]) -> Result<String> {
    let date = format!("{} +0000", when.timestamp());
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", who.0)
        .env("GIT_COMMITTER_EMAIL", who.1)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_ends_at_the_last_whole_hour_before_now() {
        let now = crate::clock::parse_ts("2026-03-01T05:30:12Z").unwrap();
        let plan = Plan::new(Path::new("x"), now, 1);
        assert_eq!(fmt_ts(plan.at(STORY_HOURS as f64)), "2026-03-01T05:00:00Z");
        assert_eq!(fmt_ts(plan.at(1.5)), "2026-02-27T04:30:00Z");
    }

    #[test]
    fn long_details_are_dropped_and_short_ones_kept() {
        let long = "x".repeat(30);
        let line = format!(
            "D-3 rolled back (severe): efficiency ({long}); satisfaction (s (nested {long}))"
        );
        assert_eq!(
            without_long_details(&line, 20),
            "D-3 rolled back (severe): efficiency; satisfaction"
        );
        assert_eq!(
            without_long_details("a (b) c (unclosed", 20),
            "a (b) c (unclosed"
        );
    }

    #[test]
    fn replace_once_insists_on_exactly_one_match() {
        assert_eq!(replace_once("a b", "b", "c").unwrap(), "a c");
        assert!(replace_once("b b", "b", "c").is_err());
        assert!(replace_once("a", "b", "c").is_err());
    }
}
