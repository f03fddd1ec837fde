//! What every phase works with: the repository, its config, the records branch, the
//! cycle on whose behalf records are written, and the (possibly simulated) clock. One
//! value instead of the same five parameters on every phase function.

use crate::clock::{fmt_ts, Timestamp};
use crate::command::Limits;
use crate::config::Config;
use crate::git::Git;
use crate::records::{Records, Tx};
use anyhow::{Context as _, Result};
use git2::Oid;
use std::time::{Duration, Instant};

pub struct Ctx<'g> {
    pub git: &'g Git,
    pub cfg: &'g Config,
    pub records: Records<'g>,
    /// `C-000042` in a cycle; `human` for a human's command (approve, reject, rollback).
    pub cycle: String,
    pub now: Timestamp,
    /// The end of the cycle's `time_budget` (None outside a cycle): every command the
    /// phases run stops there, and no new work starts after it.
    pub deadline: Option<Instant>,
}

impl<'g> Ctx<'g> {
    /// Opens the records branch named by `cfg`.
    pub fn open(
        git: &'g Git,
        cfg: &'g Config,
        cycle: impl Into<String>,
        now: Timestamp,
    ) -> Result<Ctx<'g>> {
        Ok(Ctx {
            records: Records::open(git, &cfg.records_branch)?,
            git,
            cfg,
            cycle: cycle.into(),
            now,
            deadline: None,
        })
    }

    /// True once the cycle's time budget is spent: start nothing new.
    pub fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The limits of one configured command: its own `timeout`, and the deadline.
    pub fn limits(&self, timeout: Duration) -> Limits {
        Limits {
            timeout,
            deadline: self.deadline,
        }
    }

    /// The clock as records spell it.
    pub fn ts(&self) -> String {
        fmt_ts(self.now)
    }

    /// A transaction on the records' current tip.
    pub fn tx(&self) -> Tx {
        self.records.tx()
    }

    /// Lands `tx` as one records commit of this cycle.
    pub fn commit(&mut self, tx: Tx, summary: &str) -> Result<Oid> {
        tx.commit(&mut self.records, &self.cycle, self.now, summary)
    }

    /// The deploy branch's tip.
    pub fn deploy_tip(&self) -> Result<Oid> {
        self.git
            .ref_oid(&self.cfg.deploy_branch)?
            .with_context(|| format!("deploy branch {} does not exist", self.cfg.deploy_branch))
    }
}
