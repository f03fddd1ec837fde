//! `summary.json`: what `health`, `check`, `status` and `report` need from every cycle
//! ever run, kept up to date by each cycle in its own records commits, so that those
//! commands read one small file instead of every cycle record. Folding every record in
//! order (`fold`) gives the same summary; one that is missing, unreadable or behind the
//! records (an earlier version ran) is rebuilt that way.

use super::record::{self, CycleRecord};
use crate::clock::parse_ts;
use crate::diagnose::PatternKind;
use crate::records::{layout, Records, Tx};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Its path on the records branch.
pub const PATH: &str = "summary.json";

/// Cycle durations kept for M3's p95: the last 30 days of hourly cycles.
pub const RECENT: usize = 720;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Cycle records folded in.
    pub cycles: u64,
    /// The last cycle folded in (the highest id): a summary whose last cycle is not
    /// the newest record is behind.
    pub last_cycle: Option<String>,
    /// The newest cycle by its start, not by its id (M1): (started, cycle).
    pub newest: Option<(String, String)>,
    /// Each distinct actionable pattern at its first detection, and whether it was
    /// found before any threshold was breached (H4, H8).
    pub first_detections: Vec<(String, bool)>,
    /// Cycle time spent and time the cycles' windows watched, in ms (H6).
    pub spent_ms: u64,
    pub watched_ms: i64,
    /// The durations of the last `RECENT` cycles in ms, oldest first (M3).
    pub recent_ms: Vec<u64>,
    /// V5 over the cycles: actionable patterns checked, and those without evidence.
    pub patterns_checked: u64,
    pub patterns_without_evidence: Vec<String>,
    /// M4: the newest cycles in a row that found no log file, and the first of them
    /// (cycle, started).
    #[serde(default)]
    pub no_data_run: u64,
    #[serde(default)]
    pub no_data_since: Option<(String, String)>,
}

/// A cycle's duration: all its phases.
pub fn duration_ms(c: &CycleRecord) -> u64 {
    c.phase_ms.values().sum()
}

/// The time a cycle's window covers, when both ends parse.
fn watched_ms(c: &CycleRecord) -> Option<i64> {
    let (a, b) = (parse_ts(&c.window.0).ok()?, parse_ts(&c.window.1).ok()?);
    Some((b - a).num_milliseconds())
}

impl Summary {
    /// The summary of `cycles`, taken in order.
    pub fn fold<'a>(cycles: impl IntoIterator<Item = &'a CycleRecord>) -> Summary {
        let mut s = Summary::default();
        for c in cycles {
            s.add(c);
        }
        s
    }

    /// Folds in the next cycle's record.
    pub fn add(&mut self, c: &CycleRecord) {
        self.cycles += 1;
        self.last_cycle = Some(c.cycle.clone());
        if let Ok(t) = parse_ts(&c.started) {
            let newer = self
                .newest
                .as_ref()
                .and_then(|(s, _)| parse_ts(s).ok())
                .is_none_or(|n| t >= n);
            if newer {
                self.newest = Some((c.started.clone(), c.cycle.clone()));
            }
        }
        for p in c.patterns.iter().filter(|p| p.actionable) {
            let sig = p.signature();
            if !self.first_detections.iter().any(|(s, _)| *s == sig) {
                self.first_detections
                    .push((sig.clone(), p.kind != PatternKind::ThresholdBreach));
            }
            self.patterns_checked += 1;
            if p.evidence.is_empty() {
                self.patterns_without_evidence
                    .push(format!("{}: pattern {sig} has no evidence", c.cycle));
            }
        }
        self.blind(c);
        self.spent_ms += duration_ms(c);
        self.watched_ms += watched_ms(c).unwrap_or(0);
        self.recent_ms.push(duration_ms(c));
        if self.recent_ms.len() > RECENT {
            self.recent_ms.drain(..self.recent_ms.len() - RECENT);
        }
    }

    /// Extends or ends the run of cycles that found no log file with `c`, the newest.
    fn blind(&mut self, c: &CycleRecord) {
        if c.outcome == record::NO_DATA {
            self.no_data_run += 1;
            if self.no_data_since.is_none() {
                self.no_data_since = Some((c.cycle.clone(), c.started.clone()));
            }
        } else {
            self.no_data_run = 0;
            self.no_data_since = None;
        }
    }

    /// Replaces what `old`, the last cycle folded in, added by what `new`, the same
    /// cycle's record rewritten at its end (with the time of its later phases), adds.
    /// Its patterns and its outcome are settled before the first write, so the first
    /// detections and the run of cycles without data stand.
    pub fn replace(&mut self, old: &CycleRecord, new: &CycleRecord) {
        self.spent_ms = (self.spent_ms + duration_ms(new)).saturating_sub(duration_ms(old));
        self.watched_ms += watched_ms(new).unwrap_or(0) - watched_ms(old).unwrap_or(0);
        if self.last_cycle.as_deref() == Some(old.cycle.as_str()) {
            if let Some(last) = self.recent_ms.last_mut() {
                *last = duration_ms(new);
            }
        }
        let actionable = |c: &CycleRecord| c.patterns.iter().filter(|p| p.actionable).count();
        self.patterns_checked =
            (self.patterns_checked + actionable(new) as u64).saturating_sub(actionable(old) as u64);
        let prefix = format!("{}: ", old.cycle);
        self.patterns_without_evidence
            .retain(|v| !v.starts_with(&prefix));
        for p in new.patterns.iter().filter(|p| p.actionable) {
            if p.evidence.is_empty() {
                self.patterns_without_evidence.push(format!(
                    "{}: pattern {} has no evidence",
                    new.cycle,
                    p.signature()
                ));
            }
        }
    }
}

/// The summary of the records at their tip: `summary.json` when it covers the newest
/// cycle record, else folded from every record (records of an earlier version, once).
pub fn current(records: &Records) -> Result<Summary> {
    let newest = records.last_number(record::DIR, "C-")?;
    if let Ok(Some(s)) = records.read_json::<Summary>(PATH) {
        if s.last_cycle.as_deref().and_then(layout::number) == newest {
            return Ok(s);
        }
    }
    Ok(Summary::fold(&record::load_all(records)?))
}

/// Writes a cycle's record into `tx` with the summary that folds it in: a new record
/// (`previous` None), or the same cycle's record rewritten at its end (`previous`, the
/// record as first written).
pub fn put_record(
    records: &Records,
    tx: &mut Tx,
    rec: &CycleRecord,
    previous: Option<&CycleRecord>,
) -> Result<()> {
    tx.put_json(&record::path(&rec.cycle), rec)?;
    let mut s = current(records)?;
    match previous {
        Some(old) => s.replace(old, rec),
        None => s.add(rec),
    }
    tx.put_json_rows(PATH, &s)
}

/// Brings records an earlier version wrote to this version's layout, in one records
/// commit of its own: flat records moved into their shards, the audit chain's
/// deployment index, the summary. What it did, when it did anything; on records of
/// this version it writes nothing.
pub fn upgrade(ctx: &mut crate::context::Ctx) -> Result<Option<String>> {
    let mut tx = ctx.tx();
    let moved = layout::upgrade(&ctx.records, &mut tx)?;
    let mut summarised = 0;
    if ctx.records.read(PATH)?.is_none() && !record::ids(&ctx.records)?.is_empty() {
        let s = current(&ctx.records)?;
        summarised = s.cycles;
        tx.put_json_rows(PATH, &s)?;
    }
    if tx.is_empty() {
        return Ok(None);
    }
    let what = format!(
        "records upgraded: {moved} records moved into shards, {summarised} cycles summarised"
    );
    tx.audit(
        "records",
        "upgraded",
        &ctx.records.branch.clone(),
        serde_json::json!({"moved": moved, "summarised": summarised}),
    );
    ctx.commit(tx, &what)?;
    Ok(Some(what))
}
