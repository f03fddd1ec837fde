//! `state.json` on the records branch: where reading stopped in every log file and
//! when the last cycles ran. The observe phase owns the cursors' shape; this is only
//! the record that carries them from one cycle to the next.

use crate::clock::Timestamp;
use crate::observe::{self, Cursors, SEALED_DIR};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PATH: &str = "state.json";

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
    /// Where each sealed segment file is (sharded, or flat from an earlier version).
    #[serde(skip)]
    pub(super) sealed_paths: BTreeMap<String, String>,
}

impl State {
    /// `state.json` alone: the live cursors and the cycle bookkeeping.
    pub fn load(records: &super::Records) -> anyhow::Result<State> {
        Ok(records.read_json(PATH)?.unwrap_or_default())
    }

    /// The state a cycle reads from: `state.json` plus the sealed cursor segments
    /// (under `observe/sealed/`, sharded as `layout` says), so finished files are passed
    /// over without a cursor each; the segments due for their re-check (once every
    /// `recheck_hours`, in the hours since the last cycle) with their records.
    pub fn load_for_cycle(
        records: &super::Records,
        now: Timestamp,
        recheck_hours: u32,
    ) -> anyhow::Result<State> {
        let mut state = State::load(records)?;
        state.sealed_paths = records.sharded_files(SEALED_DIR)?.into_iter().collect();
        let names: Vec<String> = state.sealed_paths.keys().cloned().collect();
        let paths = &state.sealed_paths;
        let since = state
            .last_cycle_end
            .as_deref()
            .and_then(|t| crate::clock::parse_ts(t).ok());
        state.cursors.load_sealed(
            &names,
            |n| match paths.get(n) {
                Some(p) => records.read(p),
                None => Ok(None),
            },
            crate::observe::Recheck {
                since,
                now,
                period: recheck_hours,
            },
        )?;
        Ok(state)
    }

    /// Writes the state into `tx`: `state.json` (one line per live cursor) and the
    /// sealed segments that changed (new ones are written once and never again, so
    /// their blobs are shared by every later commit; each into its shard, so adding one
    /// rewrites a tree of a hundred segments at most).
    pub fn put(&self, tx: &mut super::Tx) -> anyhow::Result<()> {
        tx.put_json_rows(PATH, self)?;
        for (path, bytes) in self.cursors.to_files() {
            let name = path.rsplit('/').next().unwrap_or(&path);
            let path = match self.sealed_paths.get(name) {
                Some(p) => p.clone(),
                None => super::layout::shard_path(SEALED_DIR, name),
            };
            match bytes {
                Some(b) => tx.put(&path, b),
                None => tx.delete(&path),
            }
        }
        Ok(())
    }
}
