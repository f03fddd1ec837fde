//! `state.json` on the records branch: where reading stopped in every log file and
//! when the last cycles ran. The observe phase owns the cursors' shape; this is only
//! the record that carries them from one cycle to the next.

use crate::clock::Timestamp;
use crate::observe::{self, Cursors, SEALED_DIR};
use serde::{Deserialize, Serialize};

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
}

impl State {
    /// `state.json` alone: the live cursors and the cycle bookkeeping.
    pub fn load(records: &super::Records) -> anyhow::Result<State> {
        Ok(records.read_json(PATH)?.unwrap_or_default())
    }

    /// The state a cycle reads from: `state.json` plus the sealed cursor segments
    /// (`observe/sealed/`), so finished files are passed over without a cursor each.
    pub fn load_for_cycle(records: &super::Records, now: Timestamp) -> anyhow::Result<State> {
        let mut state = State::load(records)?;
        let names = records.list(SEALED_DIR)?;
        state
            .cursors
            .load_sealed(&names, |n| records.read(&format!("{SEALED_DIR}/{n}")), now)?;
        Ok(state)
    }

    /// Writes the state into `tx`: `state.json` (one line per live cursor) and the
    /// sealed segments that changed (new ones are written once and never again, so
    /// their blobs are shared by every later commit).
    pub fn put(&self, tx: &mut super::Tx) -> anyhow::Result<()> {
        tx.put_json_rows(PATH, self)?;
        for (path, bytes) in self.cursors.to_files() {
            match bytes {
                Some(b) => tx.put(&path, b),
                None => tx.delete(&path),
            }
        }
        Ok(())
    }
}
