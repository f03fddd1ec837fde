//! One bounded cycle: TRIGGER -> OBSERVE -> MONITOR -> DIAGNOSE -> PROPOSE -> VALIDATE
//! -> APPROVE -> DEPLOY -> LEARN. This module only sequences the phases; each phase
//! owns its decisions. Observe, diagnose and propose land in ONE records commit
//! together with the advanced cursors, so a cycle killed before it leaves no trace and
//! the next cycle simply redoes the work; proposal branch refs are created after that
//! commit and repaired by the next cycle if the process died in between. A cycle with
//! a remote fetches it first and (with `--push`) publishes what it committed last; a
//! configured forge gets one pull request per proposal (`pulls`).

mod advance;
mod pulls;
pub mod record;
pub mod remote;
pub mod summary;

pub use record::{CycleRecord, PatternOut, ProposalOut, Report};

use crate::clock::{fmt_ts, parse_ts, Timestamp};
use crate::config::Config;
use crate::context::Ctx;
use crate::diagnose::{attribute, detect, patterns, Pattern};
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
use crate::{audit, crash, deploy, housekeeping, learn};
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
    /// What the budget did not allow (the cycle record's `deferred`).
    deferred: Vec<String>,
}

impl Run {
    fn over_budget(&self) -> bool {
        self.started.elapsed() > self.budget
    }
    /// The end of the budget: every command the cycle runs stops there.
    fn deadline(&self) -> Instant {
        self.started + self.budget
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
#[tracing::instrument(name = "cycle", skip_all, fields(id = tracing::field::Empty, dry_run = opts.dry_run))]
pub fn run(git: &Git, cfg: &Config, now: Timestamp, opts: &Options) -> Result<Report> {
    let _lock = if opts.dry_run {
        None
    } else {
        Some(lock(git, now)?)
    };
    crash::point("after-lock");
    // Fetch first: a merge or a push made on the forge is seen by this cycle.
    let remote = (!opts.dry_run)
        .then(|| remote::Remote::of(git, cfg, opts.push.as_deref()))
        .flatten();
    let fetched = remote
        .as_ref()
        .map(|r| remote::fetch(git, cfg, r))
        .unwrap_or_default();
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
        notes: fetched.notes,
        deferred: vec![],
    };
    if let Some(d) = &fetched.diverged {
        run.notes.push(d.clone());
    }
    ctx.deadline = Some(run.deadline());
    let recheck = observe::recheck_hours(cfg.dur(&cfg.observation.window_max));
    let mut state = tracing::info_span!("state")
        .in_scope(|| State::load_for_cycle(&ctx.records, now, recheck))?;

    // OBSERVE lists and reads the system's logs on a thread of its own: listing a log
    // directory is kernel time that grows with the files the system keeps (a month of
    // one file per exploration is 25 ms on ext4), and it needs nothing from git. This
    // thread meanwhile does the reads of the records that do not depend on what
    // observe finds, so the listing's cost hides behind them on a second core.
    let window = window_for(cfg, &state, now);
    let cursors = std::mem::take(&mut state.cursors);
    let root = git.root();
    let span = tracing::Span::current();
    let (prologue, observed) = std::thread::scope(|s| {
        let walk = s.spawn(|| {
            span.in_scope(|| {
                let t0 = Instant::now();
                let out = observe::run(&root, cfg, cursors, window, now);
                (out, t0.elapsed())
            })
        });
        let prologue = prologue(&mut ctx, &mut run, opts, now);
        let observed = walk
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (prologue, observed)
    });
    let Prologue {
        verification,
        mut pending,
        history,
    } = prologue?;
    let (obs, cursors) = observed.0.context("observe phase")?;
    run.phase_ms
        .insert("observe".to_string(), observed.1.as_millis() as u64);
    crash::point("after-observe");

    // MONITOR before DIAGNOSE: a cycle that reverts a deploy diagnoses and proposes
    // from the reverted state, and learns from the outcome it just recorded.
    let mut lifecycle = fetched.lines;
    let mut monitor_refused = vec![];
    if !opts.dry_run {
        let m = deploy::monitor::run(&mut ctx, &obs)?;
        lifecycle.extend(m.lines);
        monitor_refused = m.refused;
    }

    // DIAGNOSE
    let diagnosis = run.timed("diagnose", || diagnose(&ctx, &obs, history))?;
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
        run.deferred.push("PROPOSE (new proposals)".into());
        (vec![], vec![])
    } else {
        run.timed("propose", || propose(&ctx, &diagnosis))?
    };
    let no_data = record::no_data_reason(obs.sources_found, &git.root(), &source_globs(cfg));
    if let Some(why) = &no_data {
        run.notes.push(why.clone());
    }
    let outcome = if no_data.is_some() {
        record::NO_DATA
    } else if obs.is_empty() && pending.only_periodic() {
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
        deferred: run.deferred.clone(),
    };
    let mut report = Report::of(&record, &drafts, opts.dry_run, lifecycle);
    report.refused = monitor_refused;
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

    // Pull requests for the proposals whose branches are on the remote, and what
    // happened to them on the forge, before anything decides on them.
    let mut errors = vec![];
    let mut pushed = vec![];
    if let Some(r) = remote.as_ref().filter(|r| r.push) {
        match remote::push_proposals(&ctx, r) {
            Ok(b) => pushed = b,
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    let mut forge = pulls::connect(&ctx).unwrap_or_else(|note| {
        report.notes.push(note);
        None
    });
    if let Some(s) = forge.as_mut() {
        let on_remote = |b: &str| {
            remote
                .as_ref()
                .is_some_and(|r| r.has_branch(git, b, &pushed))
        };
        report
            .lifecycle
            .extend(pulls::open_and_read(&mut ctx, s, &on_remote)?);
        report.notes.append(&mut s.notes);
    }

    // VALIDATE -> APPROVE -> DEPLOY, then LEARN.
    let inputs = advance::Inputs {
        obs: &obs,
        before: &before,
        audit_ok: verification.ok(),
        blocked: fetched.diverged.as_deref(),
    };
    let advanced = advance::advance(&mut ctx, &inputs)?;
    report.lifecycle.extend(advanced.lines);
    report.refused.extend(advanced.refused);
    if !advanced.deferred.is_empty() {
        report.notes.push(format!(
            "time budget ({}) spent: deferred to the next cycle: {}",
            cfg.cycle.time_budget,
            advanced.deferred.join(", ")
        ));
        report.deferred.extend(advanced.deferred);
    }
    crash::point("before-learn");
    if let Some(line) = learn::meta::maybe_propose(
        &mut ctx,
        pending.is_meta(),
        state.last_meta_cycle.as_deref(),
    )? {
        report.lifecycle.push(line);
    }
    if let Some(s) = forge.as_mut() {
        report.lifecycle.extend(pulls::update(&mut ctx, s)?);
        report.notes.append(&mut s.notes);
    }
    retire_branches(&mut ctx, &mut report);
    finish(&mut ctx, &run, &report)?;
    housekeep(git, cfg, now, &mut report);
    // Published last, fast-forward only; a refusal fails the cycle (exit 1) once
    // everything is on record.
    if let Some(r) = remote.as_ref().filter(|r| r.push) {
        if let Err(e) = remote::publish(&ctx, r) {
            errors.push(format!("{e:#}"));
        }
    }
    errors.extend(fetched.diverged);
    report.errors = errors;
    Ok(report)
}

/// What the cycle reads from the records while OBSERVE runs.
struct Prologue {
    verification: audit::Verification,
    pending: Pending,
    /// The metrics history DIAGNOSE judges drift against (this cycle's row not yet in).
    history: patterns::History,
}

/// The audit chain verified, proposal branches repaired, the cycle's id, the pending
/// triggers and the metrics history: nothing here depends on the logs, and nothing
/// OBSERVE does depends on it (observe reads files, never git).
fn prologue(ctx: &mut Ctx, run: &mut Run, opts: &Options, now: Timestamp) -> Result<Prologue> {
    let git = ctx.git;
    let verification = verify_audit(git, ctx.records.tip, opts.dry_run, &mut run.notes)?;
    if !opts.dry_run {
        tracing::info_span!("branches")
            .in_scope(|| proposals::ensure_branches(git, &proposals::load_all(&ctx.records)?))?;
    }
    ctx.cycle = ctx.records.next_id(record::DIR, "C-", 6)?;
    tracing::Span::current().record("id", ctx.cycle.as_str());
    if !opts.dry_run {
        run.notes.extend(summary::upgrade(ctx)?);
    }
    // TRIGGER
    let pending = triggers::collect(git, &ctx.records, opts.meta, now)?;
    let history = tracing::info_span!("history")
        .in_scope(|| patterns::History::load_recent(&ctx.records, detect::HISTORY_WINDOW))?;
    Ok(Prologue {
        verification,
        pending,
        history,
    })
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
#[tracing::instrument(skip_all)]
fn diagnose(ctx: &Ctx, obs: &Observation, mut history: patterns::History) -> Result<Diagnosis> {
    let (git, cfg) = (ctx.git, ctx.cfg);
    let ts = ctx.ts();
    history.push_cycle(&ctx.cycle, &ts, &obs.metrics);
    let mut library = library::load(&ctx.records)?;
    let mut found = tracing::info_span!("detect").in_scope(|| patterns::detect(obs, &history, cfg));
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
#[tracing::instrument(skip_all)]
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
#[tracing::instrument(name = "record", skip_all)]
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
    summary::put_record(&ctx.records, &mut tx, record, None)?;
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

/// Appends this window's metrics to the day's metrics file, the history drift is
/// judged over.
fn append_metrics(tx: &mut Tx, cycle: &str, ts: &str, obs: &Observation) {
    tx.append_csv(
        &patterns::History::file_for(ts),
        patterns::METRICS_HEADER,
        &patterns::History::csv_rows(cycle, ts, &obs.metrics),
    );
}

/// The whole cycle's cost, for H6 (overhead) and M3 (duration): the first commit could
/// only time the phases before it; and what the budget deferred.
#[tracing::instrument(skip_all)]
fn finish(ctx: &mut Ctx, run: &Run, report: &Report) -> Result<()> {
    let events = report.lifecycle.len();
    let t_total = run.started.elapsed().as_millis() as u64;
    let rest = t_total.saturating_sub(run.phase_ms.values().sum::<u64>());
    let Some(first) = record::load(&ctx.records, &ctx.cycle)? else {
        return Ok(());
    };
    let mut rec = first.clone();
    rec.phase_ms
        .insert("validate_deploy_monitor_learn".to_string(), rest);
    rec.deferred = report.deferred.clone();
    rec.notes = report.notes.clone();
    let mut tx = ctx.tx();
    summary::put_record(&ctx.records, &mut tx, &rec, Some(&first))?;
    let mut detail = json!({"total_ms": t_total, "events": events});
    if !rec.deferred.is_empty() {
        detail["deferred"] = json!(rec.deferred);
    }
    tx.audit("learn", "finished", &ctx.cycle, detail);
    let summary = format!("{}: finished", ctx.cycle);
    ctx.commit(tx, &summary)?;
    Ok(())
}

/// Deletes the branches of proposals closed longer than `retention.proposal_branches`
/// (their commits kept as tags). Never fatal: what fails is tried again next cycle.
#[tracing::instrument(skip_all)]
fn retire_branches(ctx: &mut Ctx, report: &mut Report) {
    let keep = ctx.cfg.dur(&ctx.cfg.retention.proposal_branches);
    match proposals::retire_branches(ctx, keep) {
        Ok(ids) if !ids.is_empty() => report.lifecycle.push(format!(
            "retention: deleted the branches of {} (closed for {}; kept as tags improve/archive/…)",
            ids.join(", "),
            ctx.cfg.retention.proposal_branches
        )),
        Ok(_) => {}
        Err(e) => report.notes.push(format!("retention: {e:#}")),
    }
}

/// Keeps the repository packed (the cycle writes some twenty objects an hour, and git2
/// never runs gc) and measures the system's logs once a day; what it did, when
/// anything, is a note. Never fatal: a repository that cannot be packed now is packed
/// by a later cycle.
#[tracing::instrument(skip_all)]
fn housekeep(git: &Git, cfg: &Config, now: Timestamp, report: &mut Report) {
    let policy = housekeeping::Policy {
        logs: Some(housekeeping::LogPolicy {
            root: git.root(),
            globs: source_globs(cfg),
            warn_bytes: cfg.retention.logs_warn_bytes(),
        }),
        ..housekeeping::Policy::default()
    };
    match housekeeping::run(&git.common_dir(), &policy, now) {
        Ok(r) => {
            report.notes.extend(r.note());
            if let Some(l) = r.logs.filter(|l| l.over() && l.ts == fmt_ts(now)) {
                report.notes.push(format!(
                    "logs: {} bytes in {} files, past retention.logs_warn_size ({}); improve never deletes them",
                    l.bytes, l.files, cfg.retention.logs_warn_size
                ));
            }
        }
        Err(e) => report.notes.push(format!("housekeeping: {e:#}")),
    }
}

/// Verifies the audit chain: a cycle verifies only the entries since the checkpoint
/// in the local anchor (a dry run, which writes nothing, the whole chain). Problems
/// refuse deploys (V2); warnings (a clock that stepped back) are noted, once, when
/// the entries they concern are first verified.
#[tracing::instrument(skip_all)]
fn verify_audit(
    git: &Git,
    tip: Option<git2::Oid>,
    dry_run: bool,
    notes: &mut Vec<String>,
) -> Result<audit::Verification> {
    let v = if dry_run {
        audit::verify(git, tip)?
    } else {
        audit::verify_incremental(git, tip)?
    };
    if !v.ok() {
        notes.push(format!(
            "audit log failed verification ({}); deploys are refused until a human resolves it",
            v.problems.first().cloned().unwrap_or_default()
        ));
    }
    for w in v.warnings.iter().take(3) {
        notes.push(format!("audit warning (deploys go on): {w}"));
    }
    Ok(v)
}

/// Every `sources:` glob of the config: for saying why there is no data, and what the
/// logs' size is measured over.
fn source_globs(cfg: &Config) -> Vec<String> {
    let s = &cfg.sources;
    s.traversal
        .iter()
        .chain(&s.agent_traces)
        .chain(&s.health)
        .chain(&s.graph_events)
        .chain(s.jsonl.iter().map(|g| &g.glob))
        .cloned()
        .collect()
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
