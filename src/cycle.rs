//! One bounded cycle: TRIGGER -> OBSERVE -> DIAGNOSE -> PROPOSE (-> VALIDATE -> APPROVE
//! -> DEPLOY -> MONITOR -> LEARN). Observe, diagnose and propose land in ONE records
//! commit together with the advanced cursors, so a cycle killed before it leaves no
//! trace and the next cycle simply redoes the work; proposal branch refs are created
//! after that commit and repaired by the next cycle if the process died in between.

use crate::app::App;
use crate::clock::{fmt_ts, Timestamp};
use crate::config::Config;
use crate::diagnose::{attribute, patterns, Pattern};
use crate::error::Error;
use crate::git::Git;
use crate::learn::library::{self, Library};
use crate::lock::{Acquire, CycleLock};
use crate::observe::{self, Cursors, Observation, Skipped, Window};
use crate::propose::generate::{self, Draft, Skip, Templates};
use crate::propose::proposal::{self as prop, Proposal};
use crate::records::{Records, Tx};
use crate::triggers::{self, Trigger};
use crate::{audit, crash, lifecycle};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub dry_run: bool,
    pub push: Option<String>,
    /// A meta cycle: triggered by the tool's own health check (`meta_check`); it
    /// observes and records but never proposes a change to the config (V10).
    pub meta: bool,
}

/// The previous window's guarded-metric samples (bounded): the baseline of a deploy a
/// human made between two cycles.
pub const SAMPLES_PATH: &str = "samples/last-window.json";

/// `state.json` on the records branch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(deserialize_with = "observe::deserialize_cursors")]
    pub cursors: Cursors,
    #[serde(default)]
    pub last_cycle: Option<String>,
    #[serde(default)]
    pub last_cycle_end: Option<String>,
    #[serde(default)]
    pub last_meta_cycle: Option<String>,
}

/// `cycles/C-000042.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CycleRecord {
    pub cycle: String,
    pub started: String,
    pub outcome: String,
    pub triggers: Vec<Trigger>,
    pub window: (String, String),
    pub files_read: u64,
    pub lines_read: u64,
    pub bytes_read: u64,
    pub skipped_total: u64,
    pub skipped: Vec<Skipped>,
    pub metrics: BTreeMap<String, f64>,
    pub patterns: Vec<Pattern>,
    pub proposals: Vec<String>,
    pub not_proposed: Vec<Skip>,
    pub phase_ms: BTreeMap<String, u64>,
    pub notes: Vec<String>,
    pub audit_ok: bool,
}

/// What `improve cycle` prints (`--json`: this object).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cycle: String,
    pub outcome: String,
    pub dry_run: bool,
    pub window: (String, String),
    pub files_read: u64,
    pub lines_read: u64,
    pub skipped_total: u64,
    pub skipped: Vec<Skipped>,
    pub patterns: Vec<PatternOut>,
    pub proposals: Vec<ProposalOut>,
    pub not_proposed: Vec<Skip>,
    pub lifecycle: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatternOut {
    pub kind: String,
    pub subject: String,
    pub occurrences: u64,
    pub layer: Option<String>,
    pub confidence: f64,
    pub actionable: bool,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProposalOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub branch: String,
    pub risk: String,
    pub target: BTreeMap<String, String>,
    pub summary: String,
    pub conflicts: Vec<String>,
}

/// Loads every proposal record.
pub fn load_proposals(records: &Records) -> Result<Vec<Proposal>> {
    let mut out = vec![];
    for id in records.list("proposals")? {
        if let Some(p) = records.read_yaml::<Proposal>(&prop::yaml_path(&id))? {
            out.push(p);
        }
    }
    Ok(out)
}

pub fn load_library(records: &Records) -> Result<Library> {
    Ok(records.read_json(library::PATH)?.unwrap_or_default())
}

/// Runs one cycle.
pub fn run(app: &App, opts: &Options) -> Result<Report> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let now = app.now;
    let _lock = if opts.dry_run {
        None
    } else {
        match CycleLock::try_acquire(&git.local_dir()?)? {
            Acquire::Held(l) => Some(l),
            Acquire::Busy(pid) => {
                triggers::spool(
                    &git,
                    &Trigger::new("periodic", "cycle started while another ran", "low", now),
                )?;
                return Err(Error::Busy { pid }.into());
            }
        }
    };
    crash::point("after-lock");
    let mut records = Records::open(&git, &cfg.records_branch)?;
    if !records.exists() {
        return Err(Error::Usage(format!(
            "no records branch {} in {}: run `improve init` first",
            cfg.records_branch,
            git.root().display()
        ))
        .into());
    }
    let started = Instant::now();
    let budget = std::time::Duration::from_millis(
        cfg.dur(&cfg.cycle.time_budget).num_milliseconds().max(1) as u64,
    );
    let mut notes = vec![];
    let mut phase_ms = BTreeMap::new();
    let verification = audit::verify(&git, records.tip)?;
    if !verification.ok() {
        notes.push(format!(
            "audit log failed verification ({}); deploys are refused until a human resolves it",
            verification.problems.first().cloned().unwrap_or_default()
        ));
    }
    if !opts.dry_run {
        ensure_branches(&git, &load_proposals(&records)?)?;
    }
    let cycle = records.next_id("cycles", "C-", 6)?;
    let mut state: State = records.read_json("state.json")?.unwrap_or_default();

    // TRIGGER
    let spooled = triggers::read_spool(&git)?;
    let mut trig: Vec<Trigger> = spooled.iter().map(|(_, t)| t.clone()).collect();
    let queued = records.list("triggers")?;
    for name in &queued {
        if let Some(t) = records.read_json::<Trigger>(&format!("triggers/{name}"))? {
            trig.push(t);
        }
    }
    if opts.meta {
        trig.push(Trigger::new(
            "meta_check",
            "health of improve itself",
            "low",
            now,
        ));
    } else {
        trig.push(Trigger::new("periodic", "scheduled cycle", "low", now));
    }

    // OBSERVE
    let t0 = Instant::now();
    let window = window_for(&cfg, &state, now);
    let (obs, cursors) = observe::run(
        &git.root(),
        &cfg,
        std::mem::take(&mut state.cursors),
        window,
        now,
    )
    .context("observe phase")?;
    phase_ms.insert("observe".to_string(), t0.elapsed().as_millis() as u64);
    crash::point("after-observe");

    // MONITOR before DIAGNOSE: a cycle that reverts a deploy diagnoses and proposes
    // from the reverted state, and learns from the outcome it just recorded.
    let mut monitored = vec![];
    if !opts.dry_run {
        monitored = lifecycle::monitor_all(&git, &mut records, &cfg, &cycle, now, &obs)?;
    }

    // DIAGNOSE
    let t0 = Instant::now();
    let ts = fmt_ts(now);
    let mut history = patterns::History::load(&records)?;
    history.push_cycle(&cycle, &ts, &obs.metrics);
    let mut library = load_library(&records)?;
    let mut found = patterns::detect(&obs, &history, &cfg);
    for p in found.iter_mut() {
        if let Some(k) = library.find_similar(p, cfg.learning.similarity_threshold) {
            p.known = Some(k.signature.clone());
        }
    }
    library.mark_recurrences(&found, &ts);
    let rules = load_rules(&git, &cfg)?;
    let templates = load_templates(&git, &cfg)?;
    attribute::attribute(
        &mut found,
        &obs,
        &rules,
        &cfg,
        &|sig| library.escalation_floor(sig),
        &|rule| templates.metric_of(rule),
    );
    for b in &obs.breaches {
        trig.push(Trigger::new(
            "threshold_breach",
            format!("{} = {} past {}", b.metric, b.value, b.threshold),
            patterns::urgency(if b.threshold != 0.0 {
                (b.value / b.threshold).abs()
            } else {
                2.0
            }),
            now,
        ));
    }
    for p in found.iter().filter(|p| p.actionable) {
        trig.push(Trigger::new(
            "pattern_detected",
            p.signature(),
            "medium",
            now,
        ));
    }
    phase_ms.insert("diagnose".to_string(), t0.elapsed().as_millis() as u64);
    crash::point("after-diagnose");

    // PROPOSE
    let t0 = Instant::now();
    let deploy_tip = git
        .ref_oid(&cfg.deploy_branch)?
        .with_context(|| format!("deploy branch {} does not exist", cfg.deploy_branch))?;
    let existing = load_proposals(&records)?;
    let first_id = records
        .next_id("proposals", "P-", 4)?
        .trim_start_matches("P-")
        .parse::<u64>()
        .unwrap_or(1);
    let (drafts, skips) = if started.elapsed() > budget {
        notes.push("time budget spent before PROPOSE: deferred to the next cycle".into());
        (vec![], vec![])
    } else {
        let ctx = generate::Ctx {
            git: &git,
            deploy_tip,
            cfg: &cfg,
            templates: &templates,
            library: &library,
            existing: &existing,
            now,
            cycle: &cycle,
        };
        generate::generate(&found, &ctx, first_id)?
    };
    phase_ms.insert("propose".to_string(), t0.elapsed().as_millis() as u64);

    let no_signals = obs.is_empty() && trig.iter().all(|t| t.kind == "periodic");
    let outcome = if no_signals {
        "no_signals"
    } else if drafts.is_empty() {
        "observed"
    } else {
        "proposed"
    };
    let mut report = Report {
        cycle: cycle.clone(),
        outcome: outcome.to_string(),
        dry_run: opts.dry_run,
        window: (fmt_ts(window.start), fmt_ts(window.end)),
        files_read: obs.files_read,
        lines_read: obs.lines_read,
        skipped_total: obs.skipped_total,
        skipped: obs.skipped.iter().take(20).cloned().collect(),
        patterns: found.iter().map(pattern_out).collect(),
        proposals: drafts.iter().map(|d| proposal_out(&d.proposal)).collect(),
        not_proposed: skips.clone(),
        lifecycle: monitored,
        notes: notes.clone(),
    };
    if opts.dry_run {
        return Ok(report);
    }

    // Write proposal branches' commits (objects only), then everything in one commit.
    let mut drafts = drafts;
    for d in drafts.iter_mut() {
        let msg = format!(
            "{}\n\n{}",
            d.proposal.title,
            crate::propose::render::pr_body(&d.proposal)
        );
        let oid = git.commit_changes(Some(deploy_tip), &d.files, &msg, now)?;
        d.proposal.branch_commit = oid.to_string();
    }
    crash::point("proposal-before-branch");
    library.observe_patterns(&found, &cycle, &ts);
    for d in &drafts {
        library.record_fix(
            &d.proposal.pattern.signature,
            library::Fix::of(&d.proposal, library::Outcome::Pending, &ts),
        );
    }
    state.cursors = cursors;
    state.last_cycle = Some(cycle.clone());
    state.last_cycle_end = Some(ts.clone());
    let record = CycleRecord {
        cycle: cycle.clone(),
        started: ts.clone(),
        outcome: outcome.to_string(),
        triggers: trig.clone(),
        window: report.window.clone(),
        files_read: obs.files_read,
        lines_read: obs.lines_read,
        bytes_read: obs.bytes_read,
        skipped_total: obs.skipped_total,
        skipped: obs.skipped.clone(),
        metrics: obs.metrics.clone(),
        patterns: found.clone(),
        proposals: drafts.iter().map(|d| d.proposal.id.clone()).collect(),
        not_proposed: skips,
        phase_ms: phase_ms.clone(),
        notes: notes.clone(),
        audit_ok: verification.ok(),
    };
    let before: BTreeMap<String, Vec<f64>> = records.read_json(SAMPLES_PATH)?.unwrap_or_default();
    let mut tx = records.tx();
    tx.put_json(
        SAMPLES_PATH,
        &lifecycle::capped(crate::deploy::monitor::window_samples(&obs)),
    )?;
    write_first_half(
        &mut tx, &cycle, &ts, &record, &obs, &state, &library, &drafts, &queued, &trig,
    )?;
    tx.commit(&mut records, &cycle, now, &format!("{cycle}: {outcome}"))?;
    for (path, _) in &spooled {
        let _ = std::fs::remove_file(path);
    }
    ensure_branches(&git, drafts.iter().map(|d| &d.proposal))?;
    crash::point("after-propose");

    // VALIDATE -> APPROVE -> DEPLOY -> MONITOR, then LEARN.
    if started.elapsed() > budget {
        report
            .notes
            .push("time budget spent: validation and deploys deferred to the next cycle".into());
    } else {
        let lc = lifecycle::advance(
            &git,
            &mut records,
            &cfg,
            &cycle,
            now,
            &obs,
            &before,
            verification.ok(),
        )?;
        report.lifecycle.extend(lc);
    }
    crash::point("before-learn");
    let meta_cycle = opts.meta || trig.iter().any(|t| t.kind == "meta_check");
    if let Some(line) =
        crate::learn::meta::maybe_propose(&git, &mut records, &cfg, &cycle, now, meta_cycle)?
    {
        report.lifecycle.push(line);
    }
    // The whole cycle's cost, for H6 (overhead) and M3 (duration): the first commit
    // could only time the phases before it.
    let t_total = started.elapsed().as_millis() as u64;
    let rest = t_total.saturating_sub(phase_ms.values().sum::<u64>());
    let record_path = format!("cycles/{cycle}.json");
    if let Some(mut rec) = records.read_json::<CycleRecord>(&record_path)? {
        rec.phase_ms
            .insert("validate_deploy_monitor_learn".to_string(), rest);
        let mut tx = records.tx();
        tx.put_json(&record_path, &rec)?;
        tx.audit(
            "learn",
            "finished",
            &cycle,
            json!({"total_ms": t_total, "events": report.lifecycle.len()}),
        );
        tx.commit(&mut records, &cycle, now, &format!("{cycle}: finished"))?;
    }
    if let Some(remote) = &opts.push {
        match push(&git, &cfg, &records, remote) {
            Ok(()) => {}
            Err(e) => report.notes.push(format!(
                "push to {remote} failed (retried next cycle): {e:#}"
            )),
        }
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn write_first_half(
    tx: &mut Tx,
    cycle: &str,
    ts: &str,
    record: &CycleRecord,
    obs: &Observation,
    state: &State,
    library: &Library,
    drafts: &[Draft],
    queued: &[String],
    trig: &[Trigger],
) -> Result<()> {
    tx.audit(
        "trigger",
        "consumed",
        cycle,
        json!({"triggers": trig.iter().map(|t| format!("{}: {}", t.kind, t.reason)).collect::<Vec<_>>()}),
    );
    for name in queued {
        tx.delete(&format!("triggers/{name}"));
    }
    let month = &ts[..7];
    let metrics_path = format!("metrics/{month}.csv");
    tx.append_csv(
        &metrics_path,
        patterns::METRICS_HEADER,
        &patterns::History::csv_rows(cycle, ts, &obs.metrics),
    );
    tx.put_json_rows("state.json", state)?;
    tx.audit(
        "observe",
        "read",
        cycle,
        json!({"files": obs.files_read, "lines": obs.lines_read, "bytes": obs.bytes_read, "skipped": obs.skipped_total}),
    );
    tx.audit(
        "diagnose",
        "patterns",
        cycle,
        json!({
            "found": record.patterns.len(),
            "actionable": record.patterns.iter().filter(|p| p.actionable).map(|p| p.signature()).collect::<Vec<_>>(),
        }),
    );
    for d in drafts {
        let p = &d.proposal;
        tx.put_yaml(&prop::yaml_path(&p.id), p)?;
        tx.put(&prop::patch_path(&p.id), d.patch.clone().into_bytes());
        tx.put(
            &prop::body_path(&p.id),
            crate::propose::render::pr_body(p).into_bytes(),
        );
        tx.audit(
            "propose",
            "proposed",
            &p.id,
            json!({"type": p.kind.as_str(), "target": p.target, "change": p.change.summary, "branch": p.branch, "commit": p.branch_commit, "conflicts": p.conflicts}),
        );
    }
    tx.put_json(library::PATH, library)?;
    tx.put_json(&format!("cycles/{cycle}.json"), record)?;
    // V8: every finished cycle leaves a learning record, in the same commit as the
    // cycle record so one never exists without the other.
    let learned: Vec<serde_json::Value> = record
        .patterns
        .iter()
        .map(|p| json!({"signature": p.signature(), "known": p.known, "layer": p.layer, "rule": p.rule, "actionable": p.actionable, "confidence": p.confidence}))
        .collect();
    tx.put_json(
        &format!("learning/{cycle}.json"),
        &json!({"cycle": cycle, "ts": ts, "outcome": record.outcome, "patterns": learned, "proposals": record.proposals, "library_size": library.patterns.len()}),
    )?;
    tx.audit(
        "learn",
        "recorded",
        cycle,
        json!({"outcome": record.outcome, "patterns": record.patterns.len()}),
    );
    Ok(())
}

/// The window of this cycle: from the last cycle's end (at most `window_max` ago),
/// or `window_default` back on the first cycle.
pub fn window_for(cfg: &Config, state: &State, now: Timestamp) -> Window {
    let max = cfg.dur(&cfg.observation.window_max);
    let start = match state
        .last_cycle_end
        .as_deref()
        .and_then(|s| crate::clock::parse_ts(s).ok())
    {
        Some(t) if t < now => t.max(now - max),
        _ => now - cfg.dur(&cfg.observation.window_default).min(max),
    };
    Window { start, end: now }
}

/// Creates missing proposal branch refs from their records: right after the records
/// commit that names them, and at the start of the next cycle when a process died in
/// between. Never moves an existing branch: once a human has pushed to it, it is theirs.
pub fn ensure_branches<'a>(
    git: &Git,
    proposals: impl IntoIterator<Item = &'a Proposal>,
) -> Result<()> {
    for p in proposals {
        if !p.status.is_open() || p.branch_commit.is_empty() {
            continue;
        }
        if git.ref_oid(&p.branch)?.is_none() {
            if let Ok(oid) = git2::Oid::from_str(&p.branch_commit) {
                git.update_ref(&p.branch, oid, None, "improve: proposal branch")?;
            }
        }
    }
    Ok(())
}

fn push(git: &Git, cfg: &Config, records: &Records, remote: &str) -> Result<()> {
    let mut refs = vec![format!("refs/heads/{0}:refs/heads/{0}", cfg.records_branch)];
    for p in load_proposals(records)? {
        if p.status.is_open() && git.ref_oid(&p.branch)?.is_some() {
            refs.push(format!("refs/heads/{0}:refs/heads/{0}", p.branch));
        }
    }
    let mut args = vec!["push", "--porcelain", remote];
    args.extend(refs.iter().map(String::as_str));
    git.run_git(&args)?;
    // Tags of deploys and rollbacks travel too (never forced).
    let _ = git.run_git(&["push", remote, "refs/tags/improve/*:refs/tags/improve/*"]);
    Ok(())
}

fn load_rules(git: &Git, cfg: &Config) -> Result<attribute::Rules> {
    match read_deploy_file(git, cfg, attribute::RULES_OVERRIDE)? {
        Some(t) => attribute::Rules::parse(&t, attribute::RULES_OVERRIDE),
        None => Ok(attribute::Rules::builtin()),
    }
}

fn load_templates(git: &Git, cfg: &Config) -> Result<Templates> {
    match read_deploy_file(git, cfg, generate::TEMPLATES_OVERRIDE)? {
        Some(t) => Templates::parse(&t, generate::TEMPLATES_OVERRIDE),
        None => Ok(Templates::builtin()),
    }
}

fn read_deploy_file(git: &Git, cfg: &Config, path: &str) -> Result<Option<String>> {
    let Some(tip) = git.ref_oid(&cfg.deploy_branch)? else {
        return Ok(None);
    };
    Ok(git
        .read_file(tip, path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

pub fn pattern_out(p: &Pattern) -> PatternOut {
    PatternOut {
        kind: p.kind.as_str().to_string(),
        subject: p.subject.clone(),
        occurrences: p.occurrences,
        layer: p.layer.map(|l| l.as_str().to_string()),
        confidence: (p.confidence * 1000.0).round() / 1000.0,
        actionable: p.actionable,
        why: p.why.clone(),
    }
}

pub fn proposal_out(p: &Proposal) -> ProposalOut {
    let mut target = BTreeMap::new();
    target.insert("file".to_string(), p.target.file.clone());
    target.insert("name".to_string(), p.target.name.clone());
    ProposalOut {
        id: p.id.clone(),
        kind: p.kind.as_str().to_string(),
        branch: p.branch.clone(),
        risk: p.risk.as_str().to_string(),
        target,
        summary: p.change.summary.clone(),
        conflicts: p.conflicts.clone(),
    }
}
