//! VALIDATE -> APPROVE -> DEPLOY -> MONITOR for the proposals and deployments already
//! on record. Each step lands as its own records commit.

use crate::clock::Timestamp;
use crate::config::Config;
use crate::git::Git;
use crate::observe::Observation;
use crate::records::Records;
use anyhow::Result;

/// Advances every open proposal and live deployment by what this cycle allows.
/// Returns one plain line per thing that happened.
pub fn run(
    _git: &Git,
    _records: &mut Records,
    _cfg: &Config,
    _cycle: &str,
    _now: Timestamp,
    _obs: &Observation,
    _audit_ok: bool,
) -> Result<Vec<String>> {
    Ok(vec![])
}
