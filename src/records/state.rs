//! `state.json` on the records branch: where reading stopped in every log file and
//! when the last cycles ran. The observe phase owns the cursors' shape; this is only
//! the record that carries them from one cycle to the next.

use crate::observe::{self, Cursors};
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
    pub fn load(records: &super::Records) -> anyhow::Result<State> {
        Ok(records.read_json(PATH)?.unwrap_or_default())
    }

    /// Writes the state into `tx`, one line per cursor.
    pub fn put(&self, tx: &mut super::Tx) -> anyhow::Result<()> {
        tx.put_json_rows(PATH, self)
    }
}
