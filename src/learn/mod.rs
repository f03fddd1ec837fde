//! LEARN: every finished cycle leaves a learning record (V8), the pattern library
//! learns this cycle's patterns and the fixes proposed for them, and the loop tunes its
//! own config when its record says it is noisy (`meta`).

pub mod meta;

use crate::diagnose::Pattern;
use crate::records::Tx;
use crate::store::library::{self, Fix, Library, Outcome};
use crate::store::proposals::Proposal;
use anyhow::Result;
use serde_json::json;

/// Records this cycle's patterns and the fixes proposed for them in the library.
pub fn learn_patterns(
    library: &mut Library,
    found: &[Pattern],
    proposed: &[&Proposal],
    cycle: &str,
    ts: &str,
) {
    library.observe_patterns(found, cycle, ts);
    for p in proposed {
        library.record_fix(&p.pattern.signature, Fix::of(p, Outcome::Pending, ts));
    }
}

/// Writes the library and the cycle's learning record (V8: every finished cycle has
/// one, in the same commit as the cycle record so one never exists without the
/// other).
pub fn record(
    tx: &mut Tx,
    library: &Library,
    cycle: &str,
    ts: &str,
    outcome: &str,
    patterns: &[Pattern],
    proposals: &[String],
) -> Result<()> {
    library::put(tx, library)?;
    let learned: Vec<serde_json::Value> = patterns
        .iter()
        .map(|p| json!({"signature": p.signature(), "known": p.known, "layer": p.layer, "rule": p.rule, "actionable": p.actionable, "confidence": p.confidence}))
        .collect();
    tx.put_json(
        &path(cycle),
        &json!({"cycle": cycle, "ts": ts, "outcome": outcome, "patterns": learned, "proposals": proposals, "library_size": library.patterns.len()}),
    )?;
    tx.audit(
        "learn",
        "recorded",
        cycle,
        json!({"outcome": outcome, "patterns": patterns.len()}),
    );
    Ok(())
}

/// Where learning records live.
pub const DIR: &str = "learning";

/// `learning/00/0/0/C-000042.json` (sharded like the cycle records, see
/// `records::layout`; earlier versions wrote `learning/C-000042.json`).
pub fn path(cycle: &str) -> String {
    crate::records::layout::shard_path(DIR, &format!("{cycle}.json"))
}

/// The cycles that left a learning record, oldest first (V8): lists the shards, reads
/// no record.
pub fn ids(records: &crate::records::Records) -> Result<Vec<String>> {
    records.ids(DIR, ".json")
}
