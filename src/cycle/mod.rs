//! One bounded cycle: TRIGGER -> OBSERVE -> MONITOR -> DIAGNOSE -> PROPOSE -> VALIDATE
//! -> APPROVE -> DEPLOY -> LEARN. This module only sequences the phases; each phase
//! owns its decisions. Observe, diagnose and propose land in ONE records commit
//! together with the advanced cursors, so a cycle killed before it leaves no trace and
//! the next cycle simply redoes the work; proposal branch refs are created after that
//! commit and repaired by the next cycle if the process died in between.

mod advance;
pub mod record;

pub use record::{CycleRecord, PatternOut, ProposalOut, Report};

use crate::clock::{fmt_ts, parse_ts, Timestamp};
use crate::config::Config;
use crate::context::Ctx;
use crate::diagnose::{attribute, patterns, Pattern};
use crate::error::Error;
use crate::git::Git;
use crate::lock::{Acquire, CycleLock};
use crate::observe::{self, Observation, Window};
use crate::propose::generate::{self, Draft, Skip, Templates};
use crate::propose::persist::persist;
use crate::records::{State, Tx};
use crate::store::library::{self, Library};
use crate::store::proposals;
use crate::triggers::{self, Pending, Trigger};
use crate::vocab::{TriggerKind, Urgency};
use crate::{audit, crash, deploy, learn};
use anyhow::{Context, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub dry_run: bool,
    pub push: Option<String>,
    /// A meta cycle: triggered by the tool's own health check (`meta_check`); it
    /// observes and records but never proposes a change to the config (V10).
    pub meta: bool,
}

/// The clock and budget of one cycle, and what it has noted so far.
struct Run {
    started: Instant,
    budget: Duration,
    phase_ms: BTreeMap<String, u64>,
    notes: Vec<String>,
}

impl Run {
    fn over_budget(&self) -> bool {
        self.started.elapsed() > self.budget
    }
    fn timed<T>(&mut self, phase: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let t0 = Instant::now();
        let out = f()?;
        self.phase_ms
            .insert(phase.to_string(), t0.elapsed().as_millis() as u64);
        Ok(out)
    }
}

/// What DIAGNOSE found, and what PROPOSE needs from it.
struct Diagnosis {
    found: Vec<Pattern>,
    library: Library,
    templates: Templates,
}

/// Runs one cycle.
pub fn run(git: &Git, cfg: &Config, now: Timestamp, opts: &Options) -> Result<Report> {
    let _lock = if opts.dry_run {
        None
    } else {
        Some(lock(git, now)?)
    };
    crash::point("after-lock");
    let mut ctx = Ctx::open(git, cfg, "", now)?;
    if !ctx.records.exists() {
        return Err(Error::Usage(format!(
            "no records branch {} in {}: run `improve init` first",
            cfg.records_branch,
            git.root().display()
        ))
        .into());
    }
    let mut run = Run {
        started: Instant::now(),
        budget: Duration::from_millis(
            cfg.dur(&cfg.cycle.time_budget).num_milliseconds().max(1) as u64
        ),
        phase_ms: BTreeMap::new(),
        notes: vec![],
    };
    let verification = audit::verify(git, ctx.records.tip)?;
    if !verification.ok() {
        run.notes.push(format!(
            "audit log failed verification ({}); deploys are refused until a human resolves it",
            verification.problems.first().cloned().unwrap_or_default()
        ));
    }
    if !opts.dry_run {
        proposals::ensure_branches(git, &proposals::load_all(&ctx.records)?)?;
    }
    ctx.cycle = ctx.records.next_id("cycles", "C-", 6)?;
    let mut state = State::load(&ctx.records)?;

    // TRIGGER
    let mut pending = triggers::collect(git, &ctx.records, opts.meta, now)?;

    // OBSERVE
    let window = window_for(cfg, &state, now);
    let (obs, cursors) = run.timed("observe", || {
        observe::run(
            &git.root(),
            cfg,
            std::mem::take(&mut state.cursors),
            window,
            now,
        )
        .context("observe phase")
    })?;
    crash::point("after-observe");

    // MONITOR before DIAGNOSE: a cycle that reverts a deploy diagnoses and proposes
    // from the reverted state, and learns from the outcome it just recorded.
    let mut lifecycle = vec![];
    if !opts.dry_run {
        lifecycle = deploy::monitor::run(&mut ctx, &obs)?;
    }

    // DIAGNOSE
    let diagnosis = run.timed("diagnose", || diagnose(&ctx, &obs))?;
    // Configured targets that do not resolve are said once a cycle, with the config's
    // file and line, rather than as one failed proposal after another.
    let targets = crate::propose::targets::check_repo(git, cfg)?;
    run.notes.extend(
        targets
            .unresolved
            .iter()
            .map(|u| format!("configured target does not resolve: {u}")),
    );
    pending.triggers.extend(triggers::from_findings(
        &obs.breaches,
        &diagnosis.found,
        now,
    ));
    crash::point("after-diagnose");

    // PROPOSE
    let (drafts, skips) = if run.over_budget() {
        run.notes
            .push("time budget spent before PROPOSE: deferred to the next cycle".into());
        (vec![], vec![])
    } else {
        run.timed("propose", || propose(&ctx, &diagnosis))?
    };
    let outcome = if obs.is_empty() && pending.only_periodic() {
        "no_signals"
    } else if drafts.is_empty() {
        "observed"
    } else {
        "proposed"
    };
    let record = CycleRecord {
        cycle: ctx.cycle.clone(),
        started: ctx.ts(),
        outcome: outcome.to_string(),
        triggers: pending.triggers.clone(),
        window: (fmt_ts(window.start), fmt_ts(window.end)),
        files_read: obs.files_read,
        lines_read: obs.lines_read,
        bytes_read: obs.bytes_read,
        skipped_total: obs.skipped_total,
        skipped: obs.skipped.clone(),
        metrics: obs.metrics.clone(),
        patterns: diagnosis.found.clone(),
        proposals: drafts.iter().map(|d| d.proposal.id.clone()).collect(),
        not_proposed: skips,
        phase_ms: run.phase_ms.clone(),
        notes: run.notes.clone(),
        audit_ok: verification.ok(),
    };
    let mut report = Report::of(&record, &drafts, opts.dry_run, lifecycle);
    if opts.dry_run {
        return Ok(report);
    }

    // Observe, diagnose and propose land in one records commit.
    state.cursors = cursors;
    state.last_cycle = Some(ctx.cycle.clone());
    state.last_cycle_end = Some(ctx.ts());
    let before = deploy::adopt::previous_window(&ctx.records)?;
    let drafts = record_first_half(&mut ctx, &pending, &obs, &state, diagnosis, drafts, &record)?;
    pending.clear_spool();
    proposals::ensure_branches(git, drafts.iter().map(|d| &d.proposal))?;
    crash::point("after-propose");

    // VALIDATE -> APPROVE -> DEPLOY, then LEARN.
    if run.over_budget() {
        report
            .notes
            .push("time budget spent: validation and deploys deferred to the next cycle".into());
    } else {
        let inputs = advance::Inputs {
            obs: &obs,
            before: &before,
            audit_ok: verification.ok(),
        };
        report
            .lifecycle
            .extend(advance::advance(&mut ctx, &inputs)?);
    }
    crash::point("before-learn");
    if let Some(line) = learn::meta::maybe_propose(&mut ctx, pending.is_meta())? {
        report.lifecycle.push(line);
    }
    finish(&mut ctx, &run, report.lifecycle.len())?;
    if let Some(remote) = &opts.push {
        if let Err(e) = push(&ctx, remote) {
            report.notes.push(format!(
                "push to {remote} failed (retried next cycle): {e:#}"
            ));
        }
    }
    Ok(report)
}

/// The cycle lock; a cycle that finds another running queues its trigger and exits 75.
fn lock(git: &Git, now: Timestamp) -> Result<CycleLock> {
    match CycleLock::try_acquire(&git.local_dir()?)? {
        Acquire::Held(l) => Ok(l),
        Acquire::Busy(pid) => {
            triggers::spool(
                git,
                &Trigger::new(
                    TriggerKind::Periodic,
                    "cycle started while another ran",
                    Urgency::Low,
                    now,
                ),
            )?;
            Err(Error::Busy { pid }.into())
        }
    }
}

/// DIAGNOSE: patterns in this window against the metrics history, known patterns
/// found in the library (recurrences counted first, so attribution escalates), then
/// each attributed to the layer where its root cause lives.
fn diagnose(ctx: &Ctx, obs: &Observation) -> Result<Diagnosis> {
    let (git, cfg) = (ctx.git, ctx.cfg);
    let ts = ctx.ts();
    let mut history = patterns::History::load(&ctx.records)?;
    history.push_cycle(&ctx.cycle, &ts, &obs.metrics);
    let mut library = library::load(&ctx.records)?;
    let mut found = patterns::detect(obs, &history, cfg);
    for p in found.iter_mut() {
        if let Some(k) = library.find_similar(p, cfg.learning.similarity_threshold) {
            p.known = Some(k.signature.clone());
        }
    }
    library.mark_recurrences(&found, &ts);
    let rules = attribute::Rules::for_repo(git, cfg)?;
    let templates = Templates::for_repo(git, cfg)?;
    attribute::attribute(
        &mut found,
        obs,
        &rules,
        cfg,
        &attribute::Levers {
            floor: &|sig| library.escalation_floor(sig),
            metric_of: &|rule| templates.metric_of(rule),
            spent: &|rule, sig| templates.spent(rule, sig, &library),
        },
    );
    Ok(Diagnosis {
        found,
        library,
        templates,
    })
}

/// PROPOSE: drafts for the actionable patterns (objects not yet written).
fn propose(ctx: &Ctx, d: &Diagnosis) -> Result<(Vec<Draft>, Vec<Skip>)> {
    let existing = proposals::load_all(&ctx.records)?;
    let first_id = ctx
        .records
        .next_id("proposals", "P-", 4)?
        .trim_start_matches("P-")
        .parse::<u64>()
        .unwrap_or(1);
    let inputs = generate::Inputs {
        git: ctx.git,
        deploy_tip: ctx.deploy_tip()?,
        cfg: ctx.cfg,
        templates: &d.templates,
        library: &d.library,
        existing: &existing,
        now: ctx.now,
        cycle: &ctx.cycle,
    };
    generate::generate(&d.found, &inputs, first_id)
}

/// The cycle's first records commit: consumed triggers, metrics, cursors, patterns,
/// the new proposals (their branch commits written now), the library, the cycle
/// record and its learning record. Returns the drafts with their commits.
fn record_first_half(
    ctx: &mut Ctx,
    pending: &Pending,
    obs: &Observation,
    state: &State,
    mut diagnosis: Diagnosis,
    mut drafts: Vec<Draft>,
    record: &CycleRecord,
) -> Result<Vec<Draft>> {
    let cycle = ctx.cycle.clone();
    let ts = ctx.ts();
    let deploy_tip = ctx.deploy_tip()?;
    let mut tx = ctx.tx();
    deploy::adopt::remember_window(&mut tx, obs)?;
    tx.audit(
        "trigger",
        "consumed",
        &cycle,
        json!({"triggers": pending.triggers.iter().map(|t| format!("{}: {}", t.kind, t.reason)).collect::<Vec<_>>()}),
    );
    pending.consume(&mut tx);
    append_metrics(&mut tx, &cycle, &ts, obs);
    state.put(&mut tx)?;
    tx.audit(
        "observe",
        "read",
        &cycle,
        json!({"files": obs.files_read, "lines": obs.lines_read, "bytes": obs.bytes_read, "skipped": obs.skipped_total}),
    );
    tx.audit(
        "diagnose",
        "patterns",
        &cycle,
        json!({
            "found": record.patterns.len(),
            "actionable": record.patterns.iter().filter(|p| p.actionable).map(|p| p.signature()).collect::<Vec<_>>(),
        }),
    );
    for d in drafts.iter_mut() {
        persist(ctx.git, deploy_tip, d, &mut tx, ctx.now)?;
    }
    crash::point("proposal-before-branch");
    let proposed: Vec<_> = drafts.iter().map(|d| &d.proposal).collect();
    learn::learn_patterns(
        &mut diagnosis.library,
        &diagnosis.found,
        &proposed,
        &cycle,
        &ts,
    );
    tx.put_json(&record::path(&cycle), record)?;
    learn::record(
        &mut tx,
        &diagnosis.library,
        &cycle,
        &ts,
        &record.outcome,
        &record.patterns,
        &record.proposals,
    )?;
    ctx.commit(tx, &format!("{cycle}: {}", record.outcome))?;
    Ok(drafts)
}

/// Appends this window's metrics to `metrics/YYYY-MM.csv`, the history drift is
/// judged over.
fn append_metrics(tx: &mut Tx, cycle: &str, ts: &str, obs: &Observation) {
    let month = &ts[..7];
    tx.append_csv(
        &format!("metrics/{month}.csv"),
        patterns::METRICS_HEADER,
        &patterns::History::csv_rows(cycle, ts, &obs.metrics),
    );
}

/// The whole cycle's cost, for H6 (overhead) and M3 (duration): the first commit could
/// only time the phases before it.
fn finish(ctx: &mut Ctx, run: &Run, events: usize) -> Result<()> {
    let t_total = run.started.elapsed().as_millis() as u64;
    let rest = t_total.saturating_sub(run.phase_ms.values().sum::<u64>());
    let Some(mut rec) = record::load(&ctx.records, &ctx.cycle)? else {
        return Ok(());
    };
    rec.phase_ms
        .insert("validate_deploy_monitor_learn".to_string(), rest);
    let mut tx = ctx.tx();
    tx.put_json(&record::path(&ctx.cycle), &rec)?;
    tx.audit(
        "learn",
        "finished",
        &ctx.cycle,
        json!({"total_ms": t_total, "events": events}),
    );
    let summary = format!("{}: finished", ctx.cycle);
    ctx.commit(tx, &summary)?;
    Ok(())
}

/// The window of this cycle: from the last cycle's end (at most `window_max` ago),
/// or `window_default` back on the first cycle.
pub fn window_for(cfg: &Config, state: &State, now: Timestamp) -> Window {
    let max = cfg.dur(&cfg.observation.window_max);
    let start = match state
        .last_cycle_end
        .as_deref()
        .and_then(|s| parse_ts(s).ok())
    {
        Some(t) if t < now => t.max(now - max),
        _ => now - cfg.dur(&cfg.observation.window_default).min(max),
    };
    Window { start, end: now }
}

/// Pushes the records branch, open proposal branches and the tool's tags (never
/// forced).
fn push(ctx: &Ctx, remote: &str) -> Result<()> {
    let git = ctx.git;
    let mut refs = vec![format!(
        "refs/heads/{0}:refs/heads/{0}",
        ctx.cfg.records_branch
    )];
    for p in proposals::load_all(&ctx.records)? {
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
