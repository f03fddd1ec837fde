//! HEALTH: is the improvement loop itself healthy? H1–H10 and M1–M5 with the seed's
//! thresholds (DESIGN §10), one function per indicator (`indicators`), the invariants
//! V1–V10 beside them (`invariants`), all over what is on record (`recorded`); an
//! overall HEALTHY / WARNING / ERROR that `improve health` maps to exit 3.

pub mod indicators;
pub mod invariants;
pub mod recorded;

pub use invariants::{check, InvariantResult};
pub use recorded::Recorded;

use crate::clock::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Healthy,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Healthy => "HEALTHY",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub id: &'static str,
    pub name: &'static str,
    pub level: Level,
    /// The measured value (None: not enough data yet, counted as healthy).
    pub value: Option<f64>,
    pub detail: String,
    pub thresholds: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub overall: Level,
    pub indicators: Vec<Indicator>,
}

pub(crate) fn ind(
    id: &'static str,
    name: &'static str,
    thresholds: &'static str,
    value: Option<f64>,
    level: Level,
    detail: String,
) -> Indicator {
    Indicator {
        id,
        name,
        level,
        value,
        detail,
        thresholds,
    }
}

/// Higher is better: healthy at or above `ok`, warning at or above `warn`.
pub(crate) fn at_least(v: f64, ok: f64, warn: f64) -> Level {
    if v >= ok {
        Level::Healthy
    } else if v >= warn {
        Level::Warning
    } else {
        Level::Error
    }
}

/// Lower is better: healthy below `ok`, warning up to `warn`.
pub(crate) fn below(v: f64, ok: f64, warn: f64) -> Level {
    if v < ok {
        Level::Healthy
    } else if v <= warn {
        Level::Warning
    } else {
        Level::Error
    }
}

/// Fewer than this many events make a rate too noisy for ERROR: one rollback in three
/// deployments is a thing to look at, not an alarm.
pub const MIN_EVENTS_FOR_ERROR: usize = 10;

pub(crate) fn small_sample(level: Level, n: usize) -> Level {
    if n < MIN_EVENTS_FOR_ERROR && level == Level::Error {
        Level::Warning
    } else {
        level
    }
}

pub(crate) fn no_data(
    id: &'static str,
    name: &'static str,
    thresholds: &'static str,
    why: &str,
) -> Indicator {
    ind(
        id,
        name,
        thresholds,
        None,
        Level::Healthy,
        format!("no data yet: {why}"),
    )
}

/// Every indicator, and the worst level among them.
pub fn compute(r: &Recorded, invariants: &[InvariantResult], now: Timestamp) -> Health {
    use indicators::*;
    let v = vec![
        h1_velocity(r, now),
        h2_deployment_success(r),
        h3_rollback_rate(r),
        h4_detection_lead_time(r),
        h5_fix_recurrence(r),
        h6_overhead(r),
        h7_human_approval(r),
        h8_library_growth(r),
        h9_value_trend(r),
        h10_invariants(invariants),
        m1_last_cycle(r, now),
        m2_trigger_queue(r),
        m3_cycle_duration(r),
        m4_log_data(r),
        m5_storage(r, now),
    ];
    let overall = v.iter().map(|i| i.level).max().unwrap_or(Level::Healthy);
    Health {
        overall,
        indicators: v,
    }
}

#[cfg(test)]
pub(crate) mod tests;
