//! `improve health`: is the improvement loop itself healthy? H1–H10 and M1–M3 with
//! the seed's thresholds (DESIGN §10), an overall HEALTHY / WARNING / ERROR, and exit
//! 3 on ERROR so a timer's failure hook can alert.

use crate::check::InvariantResult;
use crate::clock::{parse_ts, Timestamp};
use crate::deploy::DeployStatus;
use crate::history::Recorded;
use crate::learn::library::Outcome;
use crate::propose::proposal::Status;
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

fn ind(
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
fn at_least(v: f64, ok: f64, warn: f64) -> Level {
    if v >= ok {
        Level::Healthy
    } else if v >= warn {
        Level::Warning
    } else {
        Level::Error
    }
}

/// Lower is better: healthy below `ok`, warning up to `warn`.
fn below(v: f64, ok: f64, warn: f64) -> Level {
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

fn small_sample(level: Level, n: usize) -> Level {
    if n < MIN_EVENTS_FOR_ERROR && level == Level::Error {
        Level::Warning
    } else {
        level
    }
}

fn no_data(id: &'static str, name: &'static str, thresholds: &'static str, why: &str) -> Indicator {
    ind(
        id,
        name,
        thresholds,
        None,
        Level::Healthy,
        format!("no data yet: {why}"),
    )
}

pub fn compute(r: &Recorded, invariants: &[InvariantResult], now: Timestamp) -> Health {
    let mut v = vec![];
    let tool_deploys: Vec<_> = r.deployments.iter().filter(|d| d.tier != "human").collect();
    let finished: Vec<_> = r
        .deployments
        .iter()
        .filter(|d| d.status != DeployStatus::Deploying)
        .collect();

    // H1 improvement velocity: fixes that became stable in the last 30 days, per week.
    let month_ago = now - chrono::Duration::days(30);
    let stable_recent = r
        .deployments
        .iter()
        .filter(|d| d.status == DeployStatus::Stable)
        .filter(|d| {
            d.ended_at
                .as_deref()
                .and_then(|t| parse_ts(t).ok())
                .is_some_and(|t| t >= month_ago)
        })
        .count();
    let waiting = r.proposals.iter().filter(|p| p.status.is_open()).count();
    let per_week = stable_recent as f64 / (30.0 / 7.0);
    v.push(if stable_recent == 0 && waiting == 0 {
        ind("H1", "improvement velocity", ">0 stable fixes/week when there is work", Some(0.0), Level::Healthy, "nothing needed fixing".into())
    } else {
        ind(
            "H1",
            "improvement velocity",
            ">0 stable fixes/week when there is work",
            Some(per_week),
            if stable_recent > 0 { Level::Healthy } else { Level::Warning },
            format!("{stable_recent} fixes stable in 30 days ({per_week:.2}/week), {waiting} proposals open"),
        )
    });

    // H2 deployment success.
    if tool_deploys.is_empty() {
        v.push(no_data(
            "H2",
            "deployment success",
            ">=95% healthy, 90-94% warning",
            "no deployments",
        ));
    } else {
        let ok = tool_deploys
            .iter()
            .filter(|d| !matches!(d.status, DeployStatus::Failed))
            .count();
        let rate = ok as f64 / tool_deploys.len() as f64;
        v.push(ind(
            "H2",
            "deployment success",
            ">=95% healthy, 90-94% warning",
            Some(rate),
            at_least(rate, 0.95, 0.90),
            format!("{ok} of {} deployments went through", tool_deploys.len()),
        ));
    }

    // H3 rollback rate.
    if finished.is_empty() {
        v.push(no_data(
            "H3",
            "rollback rate",
            "<5% healthy, 5-10% warning",
            "no deployments",
        ));
    } else {
        let rb = finished
            .iter()
            .filter(|d| {
                matches!(
                    d.status,
                    DeployStatus::RolledBack | DeployStatus::RollbackFailed
                )
            })
            .count();
        let rate = rb as f64 / finished.len() as f64;
        v.push(ind(
            "H3",
            "rollback rate",
            "<5% healthy, 5-10% warning",
            Some(rate),
            small_sample(below(rate, 0.05, 0.10), finished.len()),
            format!(
                "{rb} of {} deployments rolled back{}",
                finished.len(),
                if finished.len() < MIN_EVENTS_FOR_ERROR {
                    " (small sample: at most WARNING)"
                } else {
                    ""
                }
            ),
        ));
    }

    // H4 detection lead time: of the distinct problems found (each counted once, at
    // its first detection), the share found before any threshold was breached.
    let mut first: Vec<(String, bool)> = vec![];
    for p in r
        .cycles
        .iter()
        .flat_map(|c| c.patterns.iter().filter(|p| p.actionable))
    {
        let sig = p.signature();
        if !first.iter().any(|(s, _)| *s == sig) {
            first.push((sig, p.kind != crate::diagnose::PatternKind::ThresholdBreach));
        }
    }
    if first.is_empty() {
        v.push(no_data(
            "H4",
            "detection lead time",
            ">=80% proactive",
            "no problems detected",
        ));
    } else {
        let proactive = first.iter().filter(|(_, p)| *p).count();
        let rate = proactive as f64 / first.len() as f64;
        v.push(ind(
            "H4",
            "detection lead time",
            ">=80% proactive",
            Some(rate),
            small_sample(at_least(rate, 0.80, 0.60), first.len()),
            format!(
                "{proactive} of {} distinct problems found before a threshold breach{}",
                first.len(),
                if first.len() < MIN_EVENTS_FOR_ERROR {
                    " (small sample: at most WARNING)"
                } else {
                    ""
                }
            ),
        ));
    }

    // H5 fix recurrence.
    let stable_fixes: Vec<_> = r
        .library
        .patterns
        .iter()
        .filter(|k| k.fixes.iter().any(|f| f.outcome == Outcome::Stable))
        .collect();
    if stable_fixes.is_empty() {
        v.push(no_data(
            "H5",
            "fix recurrence",
            "<10% healthy, 10-20% warning",
            "no stable fixes",
        ));
    } else {
        let recurred = stable_fixes.iter().filter(|k| k.recurrences > 0).count();
        let rate = recurred as f64 / stable_fixes.len() as f64;
        v.push(ind(
            "H5",
            "fix recurrence",
            "<10% healthy, 10-20% warning",
            Some(rate),
            below(rate, 0.10, 0.20),
            format!(
                "{recurred} of {} fixed patterns came back",
                stable_fixes.len()
            ),
        ));
    }

    // H6 resource overhead: cycle time over the interval it watched.
    let mut spent = 0.0;
    let mut watched = 0.0;
    for c in &r.cycles {
        spent += c.phase_ms.values().sum::<u64>() as f64 / 1000.0;
        if let (Ok(a), Ok(b)) = (parse_ts(&c.window.0), parse_ts(&c.window.1)) {
            watched += (b - a).num_milliseconds() as f64 / 1000.0;
        }
    }
    if watched <= 0.0 {
        v.push(no_data(
            "H6",
            "resource overhead",
            "<3% healthy, 3-5% warning",
            "no cycles",
        ));
    } else {
        let rate = spent / watched;
        v.push(ind(
            "H6",
            "resource overhead",
            "<3% healthy, 3-5% warning",
            Some(rate),
            below(rate, 0.03, 0.05),
            format!(
                "{spent:.2}s of cycle time over {:.1}h watched",
                watched / 3600.0
            ),
        ));
    }

    // H7 human approval rate.
    let decided: Vec<_> = r
        .proposals
        .iter()
        .filter(|p| {
            p.status == Status::Rejected
                || p.approved_by
                    .as_deref()
                    .is_some_and(|b| !b.starts_with("improve"))
        })
        .collect();
    if decided.is_empty() {
        v.push(no_data(
            "H7",
            "human approval rate",
            ">=80% healthy, 60-79% warning",
            "no human decisions",
        ));
    } else {
        let approved = decided
            .iter()
            .filter(|p| p.status != Status::Rejected)
            .count();
        let rate = approved as f64 / decided.len() as f64;
        v.push(ind(
            "H7",
            "human approval rate",
            ">=80% healthy, 60-79% warning",
            Some(rate),
            at_least(rate, 0.80, 0.60),
            format!("{approved} of {} human decisions approved", decided.len()),
        ));
    }

    // H8 library growth.
    let known = r.library.patterns.len();
    let with_fixes = r
        .library
        .patterns
        .iter()
        .filter(|k| !k.fixes.is_empty())
        .count();
    v.push(ind(
        "H8",
        "pattern library growth",
        "grows while problems are found",
        Some(known as f64),
        if known == 0 && !first.is_empty() {
            Level::Warning
        } else {
            Level::Healthy
        },
        format!("{known} known patterns, {with_fixes} with fix outcomes"),
    ));

    // H9 value metric trend: satisfaction, completion (agent success), errors.
    let mut improving = 0;
    let mut worsening = 0;
    let mut judged = 0;
    let mut parts = vec![];
    for (m, higher) in [
        ("satisfaction", true),
        ("agent_success_rate", true),
        ("error_rate", false),
    ] {
        let vals = r.metrics.values(m);
        if vals.len() < 3 {
            continue;
        }
        judged += 1;
        if let Some(t) = crate::stats::linear_trend(&vals) {
            let good = if higher { t.slope > 0.0 } else { t.slope < 0.0 };
            if t.p < 0.05 {
                if good {
                    improving += 1;
                } else {
                    worsening += 1;
                }
            }
            parts.push(format!("{m} slope {:+.4} (p={:.3})", t.slope, t.p));
        }
    }
    if judged == 0 {
        v.push(no_data(
            "H9",
            "value metric trend",
            "2+ of satisfaction/completion/error improving",
            "too little history",
        ));
    } else {
        // "2+ improving" (DESIGN §10); with history for fewer than two metrics, all
        // of those improving is the best that can be asked.
        let level = if improving >= 2.min(judged) {
            Level::Healthy
        } else if worsening >= 2 {
            Level::Error
        } else {
            Level::Warning
        };
        v.push(ind(
            "H9",
            "value metric trend",
            "2+ of satisfaction/completion/error improving",
            Some(improving as f64),
            level,
            parts.join("; "),
        ));
    }

    // H10 invariant violations.
    let violated: Vec<_> = invariants.iter().filter(|i| !i.ok).collect();
    let critical = violated.iter().any(|i| i.critical);
    let n = violated.len();
    v.push(ind(
        "H10",
        "invariant violations",
        "0 healthy, 1-2 warning, >=3 or any CRITICAL error",
        Some(n as f64),
        if critical || n >= 3 {
            Level::Error
        } else if n > 0 {
            Level::Warning
        } else {
            Level::Healthy
        },
        if n == 0 {
            "V1-V10 hold".into()
        } else {
            violated
                .iter()
                .map(|i| format!("{} {}", i.id, i.name))
                .collect::<Vec<_>>()
                .join("; ")
        },
    ));

    // M1 last cycle age.
    // The newest cycle by its start, not by its position in the records.
    let last = r
        .cycles
        .iter()
        .filter_map(|c| parse_ts(&c.started).ok().map(|t| (t, c)))
        .max_by_key(|(t, _)| *t);
    match last.map(|(t, _)| t) {
        None => v.push(ind(
            "M1",
            "last cycle",
            "< 24h ago",
            None,
            Level::Warning,
            "no cycle has run yet".into(),
        )),
        Some(t) => {
            let hours = (now - t).num_minutes() as f64 / 60.0;
            v.push(ind(
                "M1",
                "last cycle",
                "< 24h ago",
                Some(hours),
                if hours < 24.0 {
                    Level::Healthy
                } else {
                    Level::Error
                },
                format!(
                    "{} ran {hours:.1}h ago",
                    last.map(|(_, c)| c.cycle.as_str()).unwrap_or("")
                ),
            ));
        }
    }
    // M2 trigger queue.
    let q = r.queued_triggers as f64;
    v.push(ind(
        "M2",
        "trigger queue",
        "<10 healthy, 10-50 warning",
        Some(q),
        below(q, 10.0, 50.0),
        format!("{} triggers waiting", r.queued_triggers),
    ));
    // M3 cycle duration p95.
    let mut durs: Vec<f64> = r
        .cycles
        .iter()
        .map(|c| c.phase_ms.values().sum::<u64>() as f64 / 1000.0)
        .collect();
    if durs.is_empty() {
        v.push(no_data("M3", "cycle duration p95", "< 1h", "no cycles"));
    } else {
        durs.sort_by(f64::total_cmp);
        let p95 = durs[((durs.len() as f64 * 0.95).ceil() as usize)
            .saturating_sub(1)
            .min(durs.len() - 1)];
        v.push(ind(
            "M3",
            "cycle duration p95",
            "< 1h",
            Some(p95),
            if p95 < 3600.0 {
                Level::Healthy
            } else {
                Level::Error
            },
            format!("p95 {p95:.2}s over {} cycles", durs.len()),
        ));
    }
    let overall = v.iter().map(|i| i.level).max().unwrap_or(Level::Healthy);
    Health {
        overall,
        indicators: v,
    }
}

pub fn render_text(h: &Health) -> String {
    let mut s = format!("improve health: {}\n", h.overall.as_str());
    for i in &h.indicators {
        s.push_str(&format!(
            "  {:<4} {:<8} {:<26} {}  [{}]\n",
            i.id,
            i.level.as_str(),
            i.name,
            i.detail,
            i.thresholds
        ));
    }
    s
}

pub fn render_markdown(h: &Health) -> String {
    let mut s = format!("## improve health: **{}**\n\n| | indicator | level | detail | thresholds |\n|---|---|---|---|---|\n", h.overall.as_str());
    for i in &h.indicators {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            i.id,
            i.name,
            i.level.as_str(),
            i.detail.replace('|', "\\|"),
            i.thresholds
        ));
    }
    s
}

#[cfg(test)]
#[path = "health_tests.rs"]
pub(crate) mod tests;
