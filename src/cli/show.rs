//! `improve proposals` and `improve show P-N|D-N`: what was found, where, why, what
//! is proposed, how it was validated (the whole result, with a row per metric), where
//! each proposal and deployment stands and what happens next.

use super::app::App;
use super::out::{self, safe, safe_lines, Paint};
use super::table::Table;
pub use super::verdicts::monitor_summary;
use super::verdicts::{self, direction_words, last_column};
use anyhow::Result;
use improve::config::Config;
use improve::deploy::effect::Effect;
use improve::deploy::{self, Check, Deployment};
use improve::error::Error;
use improve::forge::record::PullRecord;
use improve::records::Records;
use improve::store::proposals::{self as prop, Proposal, Status};
use improve::validate::judge::{Judgment, Verdict};
use improve::validate::{self, Validation};
use serde_json::json;

/// List proposals, newest first.
#[derive(Debug, clap::Args)]
pub struct ProposalsArgs {
    /// Include closed ones (deployed, stable, rejected, failed, rolled back).
    #[arg(long)]
    pub all: bool,
}

/// Explain one proposal (P-N): the pattern and its evidence, the change, the whole
/// validation with a row per metric, the decision and what happens next; or one
/// deployment (D-N): its commits and tags, the verification, and the monitor's
/// verdict per metric (baseline, after, change, interval) in each check.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A proposal id (P-7 or P-0007) or a deployment id (D-3).
    pub id: String,
}

/// `P-7` -> `P-0007`.
pub fn normalize_id(id: &str) -> String {
    let id = id.trim().to_ascii_uppercase();
    if let Some((p, n)) = id.split_once('-') {
        if let Ok(n) = n.parse::<u64>() {
            return format!("{p}-{n:04}");
        }
    }
    id
}

/// An unknown id is bad usage (exit 2), with where to look.
pub fn unknown(id: &str) -> anyhow::Error {
    let (what, list) = if id.starts_with("D-") {
        ("deployment", "improve status")
    } else {
        ("proposal", "improve proposals --all")
    };
    Error::Usage(format!("no {what} {} on record (see `{list}`)", safe(id))).into()
}

/// What happens next for a proposal, in plain words.
pub fn next_step(p: &Proposal) -> String {
    match p.status {
        Status::Proposed => "validation runs in the next cycle".into(),
        Status::Validating => "an experiment is running; later cycles judge it".into(),
        Status::AwaitingApproval => format!(
            "waiting for a human: merge {} or run `improve approve {} --by NAME` / `improve reject {} --by NAME --reason TEXT`",
            p.branch, p.id, p.id
        ),
        Status::Approved => "deploys in the next cycle".into(),
        Status::Deployed => format!(
            "monitored after deploy; roll back with `improve rollback {}` or `git revert` of the deploy commit",
            p.deployment.clone().unwrap_or_else(|| "D-N".into())
        ),
        Status::Stable => "done: stable after the monitor period".into(),
        Status::RolledBack => "done: reverted; this fix is not proposed again for this pattern".into(),
        Status::RollbackFailed => "a human must resolve the conflicting revert".into(),
        Status::Rejected => "done: rejected; not proposed again unless the evidence changes materially".into(),
        Status::Failed => "done: failed validation or verification".into(),
        Status::Closed => "done: closed".into(),
    }
}

pub fn short(oid: &str) -> &str {
    &oid[..oid.len().min(12)]
}

fn heading(s: &str) {
    outln!();
    out::heading(s);
}

pub fn proposals(app: &App, args: ProposalsArgs) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let mut list = prop::load_all(&records)?;
    list.reverse();
    list.retain(|p| args.all || p.status.is_open());
    if app.json {
        out::json(&json!({ "proposals": list }))?;
        return Ok(0);
    }
    if list.is_empty() {
        outln!("no {}proposals", if args.all { "" } else { "open " });
        return Ok(0);
    }
    let mut t = Table::new(&["id", "status", "type", "risk", "change"]);
    for p in &list {
        t.row(vec![
            p.id.clone(),
            p.status.as_str().into(),
            p.kind.as_str().into(),
            p.risk.as_str().into(),
            safe(&p.change.summary).into_owned(),
        ]);
    }
    t.print("", |col, cell| {
        (col == 1 && cell.starts_with("awaiting")).then_some(Paint::Yellow)
    });
    Ok(0)
}

pub fn show(app: &App, args: ShowArgs) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let id = normalize_id(&args.id);
    if id.starts_with("D-") {
        return show_deployment(app, &cfg, &records, &id);
    }
    if !id.starts_with("P-") {
        return Err(Error::Usage(format!(
            "{} is neither a proposal (P-N) nor a deployment (D-N)",
            safe(&args.id)
        ))
        .into());
    }
    let p = prop::load(&records, &id)?.ok_or_else(|| unknown(&id))?;
    let validation: Option<Validation> = records.read_json(&validate::path(&p.id))?;
    let patch = records.read_string(&prop::patch_path(&p.id))?;
    let pull: Option<PullRecord> = records.read_json(&improve::forge::record::path(&p.id))?;
    if app.json {
        let mut v = serde_json::to_value(&p)?;
        v["next"] = json!(next_step(&p));
        v["validation"] = json!(validation);
        v["patch"] = json!(patch);
        v["pull_request"] = json!(pull);
        out::json(&v)?;
        return Ok(0);
    }
    proposal_head(&p);
    if let Some(pr) = &pull {
        outln!(
            "  pull request: {} ({}, {})",
            safe(&pr.url),
            pr.forge,
            safe(&pr.state)
        );
    }
    found(&p);
    proposed(&p, validation.as_ref());
    if let Some(patch) = patch {
        heading("The change (change.patch)");
        for l in safe_lines(&patch) {
            outln!("  {l}");
        }
    }
    heading("Validation");
    match &validation {
        Some(v) => validation_result(&cfg, &p, v),
        None => outln!("  none on record yet: {}", next_step(&p)),
    }
    heading("History");
    for e in &p.history {
        outln!(
            "  {} {}{}",
            e.ts,
            safe(&e.what),
            e.by.as_ref()
                .map(|b| format!(" (by {})", safe(b)))
                .unwrap_or_default()
        );
    }
    Ok(0)
}

fn proposal_head(p: &Proposal) {
    let title = p
        .title
        .strip_prefix(&format!("{}: ", p.id))
        .unwrap_or(&p.title);
    outln!("{} — {}", p.id, out::paint(Paint::Bold, &safe(title)));
    outln!(
        "  status: {} ({} risk, {}{}); next: {}",
        p.status.as_str(),
        p.risk.as_str(),
        p.kind.as_str(),
        p.tier.map(|t| format!(", {t} tier")).unwrap_or_default(),
        next_step(p)
    );
    outln!(
        "  branch: {} (commit {})",
        p.branch,
        short(&p.branch_commit)
    );
    if let Some(d) = &p.deployment {
        outln!("  deployment: {d} (`improve show {d}`)");
    }
}

fn found(p: &Proposal) {
    heading("What was found");
    outln!(
        "  pattern {} ({} occurrences) — {}",
        safe(&p.pattern.signature),
        p.pattern.occurrences,
        safe(&p.pattern.why)
    );
    if let Some(l) = p.pattern.layer {
        outln!(
            "  attributed to the {} layer (rule {}, confidence {:.2}): {}",
            l.as_str(),
            safe(p.pattern.rule.as_deref().unwrap_or("")),
            p.pattern.confidence,
            safe(&p.pattern.explanation)
        );
    }
    outln!(
        "  evidence ({} of {} shown):",
        p.pattern.evidence.len().min(8),
        p.pattern.evidence.len()
    );
    for e in p.pattern.evidence.iter().take(8) {
        let loc = if e.line > 0 {
            format!("{}:{}", safe(&e.file), e.line)
        } else {
            safe(&e.file).into_owned()
        };
        outln!(
            "    {loc}{}{}{}",
            e.ts.as_ref()
                .map(|t| format!(" at {}", safe(t)))
                .unwrap_or_default(),
            e.value
                .map(|v| format!(" value {v:.4}"))
                .unwrap_or_default(),
            if e.detail.is_empty() {
                String::new()
            } else {
                format!(" — {}", safe(&e.detail))
            }
        );
    }
}

fn proposed(p: &Proposal, v: Option<&Validation>) {
    heading("What is proposed");
    outln!("  {}", safe(&p.change.summary));
    outln!("  rationale: {}", safe(&p.rationale));
    outln!(
        "  target metric: {} ({})",
        safe(&p.target_metric.name),
        direction_words(p.target_metric.direction)
    );
    // The plan as proposed; the mode it was validated in is the record's (below).
    let planned = p.validation_plan.mode;
    match v {
        Some(v) if v.mode != planned => outln!(
            "  validation plan: {planned} — {} (validated as {} instead; see below)",
            safe(&p.validation_plan.description),
            v.mode
        ),
        _ => outln!(
            "  validation plan: {planned} — {}",
            safe(&p.validation_plan.description)
        ),
    }
    outln!("  rollback: {}", safe(&p.rollback_plan));
    if !p.conflicts.is_empty() {
        outln!(
            "  {} with {}: escalated to a human",
            out::paint(Paint::Yellow, "CONFLICTS"),
            p.conflicts.join(", ")
        );
    }
}

/// Every field of `proposals/P-N/validation.json`, the metrics as tables.
fn validation_result(cfg: &Config, p: &Proposal, v: &Validation) {
    let status = v.status.as_str();
    let painted = out::paint(
        match status {
            "PASSED" => Paint::Green,
            "FAILED" => Paint::Red,
            _ => Paint::Yellow,
        },
        status,
    );
    outln!("  mode: {} — {painted}", v.mode);
    outln!(
        "  started {}{}; commit {}",
        v.started,
        v.finished
            .as_ref()
            .map(|f| format!(", finished {f}"))
            .unwrap_or_else(|| ", still running".into()),
        short(&v.commit)
    );
    outln!(
        "  target metric {}: {} (target_improved: {})",
        safe(&p.target_metric.name),
        if v.target_improved {
            "improved measurably"
        } else {
            "not improved measurably"
        },
        v.target_improved
    );
    if !v.recommendation.is_empty() {
        outln!("  recommendation: {}", safe(&v.recommendation));
    }
    if let Some(why) = &v.environment {
        outln!(
            "  could not judge the change here: {} (validated again in a later cycle; the fix is not held against its pattern)",
            safe(why)
        );
    }
    if v.extended {
        outln!("  extended: the experiment ran longer for more samples");
    }
    for r in &v.runs {
        let how = match (r.exit_code, r.timed_out, &r.spawn_error, r.signal) {
            (_, _, Some(e), _) => format!("could not start: {}", safe(e)),
            (_, true, _, _) => format!(
                "stopped by {}",
                r.stopped_by
                    .as_ref()
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|| "its time limit".into())
            ),
            (_, _, _, Some(sig)) => format!("ended by signal {sig}"),
            (Some(c), ..) => format!("exit {c}"),
            (None, ..) => "no exit code".into(),
        };
        outln!(
            "  ran `{}` in {} ms: {how}{}",
            safe(&r.argv.join(" ")),
            r.millis,
            if r.leftovers_killed > 0 {
                format!(" ({} leftover processes ended)", r.leftovers_killed)
            } else {
                String::new()
            }
        );
        for l in safe_lines(&r.output_tail) {
            outln!("    | {l}");
        }
    }
    if !v.metrics_before.is_empty() || !v.metrics_after.is_empty() {
        outln!("  replay, baseline against candidate:");
        let t = verdicts::replay_table(cfg, v);
        t.print("    ", last_column(5));
    }
    if let Some(j) = &v.judgment {
        outln!(
            "  judgment: {} (score {:.2}) — {}",
            verdict_word(j),
            j.score,
            safe(&j.reason)
        );
        verdicts::judgment_table(j).print("    ", last_column(8));
        for m in &j.metrics {
            outln!("    {}", safe(&m.reason));
        }
        if j.metrics.iter().any(|m| m.critical) {
            outln!("    (* critical: its failure fails the judgment)");
        }
    }
}

/// Whether the fix worked: the verdict on its pattern's metric, with the numbers.
fn effect_line(e: &Effect) -> String {
    let num =
        |x: Option<f64>, p: usize| x.map(|v| format!("{v:.p$}")).unwrap_or_else(|| "?".into());
    match e.verdict {
        None => format!(
            "effect: being measured on {} ({} samples since the deploy)",
            safe(&e.metric),
            e.samples_after.len()
        ),
        Some(v) => format!(
            "effect: {} — {} {} -> {} (n {} / {}), shift {}, effect size {}, p {}{}",
            v.as_str(),
            safe(&e.metric),
            num(e.before, 3),
            num(e.after, 3),
            e.n_before,
            e.n_after,
            num(e.shift, 3),
            num(e.effect_size, 2),
            num(e.p, 3),
            if e.reason.is_empty() {
                String::new()
            } else {
                format!("; {}", safe(&e.reason))
            }
        ),
    }
}

fn verdict_word(j: &Judgment) -> &'static str {
    match j.verdict {
        Verdict::Passed => "PASSED",
        Verdict::Failed => "FAILED",
        Verdict::Inconclusive => "INCONCLUSIVE",
    }
}

fn show_deployment(app: &App, cfg: &Config, records: &Records, id: &str) -> Result<i32> {
    let d: Deployment = deploy::load(records, id)?.ok_or_else(|| unknown(id))?;
    if app.json {
        out::json(&d)?;
        return Ok(0);
    }
    let who = if d.approved_by.is_human() {
        format!("approved by {}", safe(&d.approved_by.to_string()))
    } else {
        "deployed by the tool as its tier allows".to_string()
    };
    outln!(
        "{} — deployment of {} ({} tier, {who})",
        d.id,
        d.proposal,
        d.tier_name()
    );
    outln!("  status: {}", d.status.as_str());
    outln!(
        "  deploy commit {} on {} at {} (tag {})",
        d.deploy_commit,
        d.branch,
        d.deployed_at,
        d.deploy_tag
    );
    outln!("  backup: tag {} at {}", d.backup_tag, d.backup_commit);
    if let Some(r) = &d.rollback_commit {
        outln!(
            "  rolled back by {r}{}",
            d.rollback_tag
                .as_ref()
                .map(|t| format!(" (tag {t})"))
                .unwrap_or_default()
        );
    }
    if let Some(r) = &d.reason {
        outln!("  reason: {}", safe(r));
    }
    if let Some(e) = &d.ended_at {
        outln!("  ended {e}");
    }
    if let Some(e) = &d.effect {
        outln!("  {}", effect_line(e));
    }
    for c in &d.checks {
        if let Check::Verify(v) = c {
            heading("Verification");
            outln!(
                "  `{}`: {}{}",
                safe(&v.verify.join(" ")),
                v.exit_code
                    .map(|c| format!("exit {c}"))
                    .unwrap_or_else(|| "no exit code".into()),
                if v.timed_out { ", timed out" } else { "" }
            );
            for l in safe_lines(&v.output) {
                outln!("    | {l}");
            }
        }
    }
    let monitors: Vec<_> = d.checks.iter().filter_map(Check::monitor).collect();
    heading(&format!(
        "Monitor: {} against the baseline before the deploy",
        out::count(monitors.len(), "check", "checks")
    ));
    if monitors.is_empty() {
        outln!("  {}", monitor_summary(&d));
    }
    // Every check in one line; the table for the latest (and, with -v, for each).
    for (i, m) in monitors.iter().enumerate() {
        let latest = i + 1 == monitors.len();
        let verdict = if m.degraded.is_empty() {
            out::paint(Paint::Green, "healthy")
        } else {
            out::paint(
                Paint::Red,
                &format!(
                    "DEGRADED{}: {}",
                    if m.severe { " (severe)" } else { "" },
                    m.degraded.join(", ")
                ),
            )
        };
        outln!(
            "  {} at {}: {verdict}{}",
            m.cycle,
            m.ts,
            if m.deferred {
                " (not counted: a newer deployment was reverted in this window)"
            } else {
                ""
            }
        );
        if latest || app.verbose > 0 {
            verdicts::monitor_table(m).print("    ", last_column(7));
        }
        if latest {
            for c in &m.metrics {
                outln!("    {}", safe(&c.reason));
            }
        }
    }
    if monitors.len() > 1 && app.verbose == 0 {
        outln!("  (-v shows the table of every check; --json has all the numbers)");
    }
    if d.status.is_live() {
        outln!();
        outln!(
            "  monitored for {}; roll back: improve rollback {} (or git revert {})",
            cfg.deployment.monitor_duration,
            d.id,
            d.deploy_commit
        );
    }
    Ok(0)
}
