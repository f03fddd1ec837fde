//! H1–H10 and M1–M5, one function each, over what is on record. An indicator without
//! data says so and is HEALTHY (nothing to judge yet); rates over fewer than
//! `MIN_EVENTS_FOR_ERROR` events are at most WARNING.

use super::{at_least, below, ind, no_data, small_sample, Indicator, InvariantResult, Level};
use super::{Recorded, MIN_EVENTS_FOR_ERROR};
use crate::clock::{parse_ts, Timestamp};
use crate::deploy::{DeployStatus, Deployment};
use crate::store::library::Outcome;
use crate::store::proposals::Status;

fn small_note(n: usize) -> &'static str {
    if n < MIN_EVENTS_FOR_ERROR {
        " (small sample: at most WARNING)"
    } else {
        ""
    }
}

/// H1 improvement velocity: fixes that became stable in the last 30 days, per week.
pub fn h1_velocity(r: &Recorded, now: Timestamp) -> Indicator {
    const T: &str = ">0 stable fixes/week when there is work";
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
    if stable_recent == 0 && waiting == 0 {
        return ind(
            "H1",
            "improvement velocity",
            T,
            Some(0.0),
            Level::Healthy,
            "nothing needed fixing".into(),
        );
    }
    ind(
        "H1",
        "improvement velocity",
        T,
        Some(per_week),
        if stable_recent > 0 { Level::Healthy } else { Level::Warning },
        format!("{stable_recent} fixes stable in 30 days ({per_week:.2}/week), {waiting} proposals open"),
    )
}

/// H2 deployment success: of the tool's own deploys, the share that went through.
pub fn h2_deployment_success(r: &Recorded) -> Indicator {
    const T: &str = ">=95% healthy, 90-94% warning";
    let tool: Vec<&Deployment> = r.deployments.iter().filter(|d| d.by_tool()).collect();
    if tool.is_empty() {
        return no_data("H2", "deployment success", T, "no deployments");
    }
    let ok = tool
        .iter()
        .filter(|d| !matches!(d.status, DeployStatus::Failed))
        .count();
    let rate = ok as f64 / tool.len() as f64;
    ind(
        "H2",
        "deployment success",
        T,
        Some(rate),
        at_least(rate, 0.95, 0.90),
        format!("{ok} of {} deployments went through", tool.len()),
    )
}

/// H3 rollback rate over finished deployments.
pub fn h3_rollback_rate(r: &Recorded) -> Indicator {
    const T: &str = "<5% healthy, 5-10% warning";
    let finished: Vec<&Deployment> = r
        .deployments
        .iter()
        .filter(|d| d.status != DeployStatus::Deploying)
        .collect();
    if finished.is_empty() {
        return no_data("H3", "rollback rate", T, "no deployments");
    }
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
    ind(
        "H3",
        "rollback rate",
        T,
        Some(rate),
        small_sample(below(rate, 0.05, 0.10), finished.len()),
        format!(
            "{rb} of {} deployments rolled back{}",
            finished.len(),
            small_note(finished.len())
        ),
    )
}

/// Distinct problems found, each once at its first detection, and whether it was
/// found before any threshold was breached (kept by the cycles in the summary).
fn first_detections(r: &Recorded) -> &[(String, bool)] {
    &r.summary.first_detections
}

/// H4 detection lead time: the share of problems found proactively.
pub fn h4_detection_lead_time(r: &Recorded) -> Indicator {
    const T: &str = ">=80% proactive";
    let first = first_detections(r);
    if first.is_empty() {
        return no_data("H4", "detection lead time", T, "no problems detected");
    }
    let proactive = first.iter().filter(|(_, p)| *p).count();
    let rate = proactive as f64 / first.len() as f64;
    ind(
        "H4",
        "detection lead time",
        T,
        Some(rate),
        small_sample(at_least(rate, 0.80, 0.60), first.len()),
        format!(
            "{proactive} of {} distinct problems found before a threshold breach{}",
            first.len(),
            small_note(first.len())
        ),
    )
}

/// H5 fix recurrence: of the patterns with a fix watched to the end, the share that
/// came back or never went (a fix judged ineffective counts: its pattern went on).
pub fn h5_fix_recurrence(r: &Recorded) -> Indicator {
    const T: &str = "<10% healthy, 10-20% warning";
    let fixed: Vec<_> = r
        .library
        .patterns
        .iter()
        .filter(|k| k.fixes.iter().any(|f| f.outcome.held()))
        .collect();
    if fixed.is_empty() {
        return no_data("H5", "fix recurrence", T, "no stable fixes");
    }
    let ineffective = |k: &&&crate::store::library::KnownPattern| {
        k.fixes.iter().any(|f| f.outcome == Outcome::Ineffective)
    };
    let recurred = fixed
        .iter()
        .filter(|k| k.recurrences > 0 || ineffective(k))
        .count();
    let without_effect = fixed.iter().filter(ineffective).count();
    let rate = recurred as f64 / fixed.len() as f64;
    ind(
        "H5",
        "fix recurrence",
        T,
        Some(rate),
        below(rate, 0.10, 0.20),
        format!(
            "{recurred} of {} fixed patterns came back or went on ({without_effect} after a fix judged ineffective)",
            fixed.len()
        ),
    )
}

/// H6 resource overhead: cycle time over the interval the cycles watched.
pub fn h6_overhead(r: &Recorded) -> Indicator {
    const T: &str = "<3% healthy, 3-5% warning";
    let spent = r.summary.spent_ms as f64 / 1000.0;
    let watched = r.summary.watched_ms as f64 / 1000.0;
    if watched <= 0.0 {
        return no_data("H6", "resource overhead", T, "no cycles");
    }
    let rate = spent / watched;
    ind(
        "H6",
        "resource overhead",
        T,
        Some(rate),
        below(rate, 0.03, 0.05),
        format!(
            "{spent:.2}s of cycle time over {:.1}h watched",
            watched / 3600.0
        ),
    )
}

/// H7 human approval rate: of the proposals humans decided, the share approved.
pub fn h7_human_approval(r: &Recorded) -> Indicator {
    const T: &str = ">=80% healthy, 60-79% warning";
    let decided: Vec<_> = r
        .proposals
        .iter()
        .filter(|p| p.status == Status::Rejected || p.human_approved())
        .collect();
    if decided.is_empty() {
        return no_data("H7", "human approval rate", T, "no human decisions");
    }
    let approved = decided
        .iter()
        .filter(|p| p.status != Status::Rejected)
        .count();
    let rate = approved as f64 / decided.len() as f64;
    ind(
        "H7",
        "human approval rate",
        T,
        Some(rate),
        at_least(rate, 0.80, 0.60),
        format!("{approved} of {} human decisions approved", decided.len()),
    )
}

/// H8 library growth: known patterns grow while problems are found.
pub fn h8_library_growth(r: &Recorded) -> Indicator {
    let known = r.library.patterns.len();
    let with_fixes = r
        .library
        .patterns
        .iter()
        .filter(|k| !k.fixes.is_empty())
        .count();
    ind(
        "H8",
        "pattern library growth",
        "grows while problems are found",
        Some(known as f64),
        if known == 0 && !first_detections(r).is_empty() {
            Level::Warning
        } else {
            Level::Healthy
        },
        format!("{known} known patterns, {with_fixes} with fix outcomes"),
    )
}

/// H9 value metric trend: satisfaction, completion (agent success), errors.
pub fn h9_value_trend(r: &Recorded) -> Indicator {
    const T: &str = "2+ of satisfaction/completion/error improving";
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
        return no_data("H9", "value metric trend", T, "too little history");
    }
    // "2+ improving" (DESIGN §10); with history for fewer than two metrics, all of
    // those improving is the best that can be asked.
    let level = if improving >= 2.min(judged) {
        Level::Healthy
    } else if worsening >= 2 {
        Level::Error
    } else {
        Level::Warning
    };
    ind(
        "H9",
        "value metric trend",
        T,
        Some(improving as f64),
        level,
        parts.join("; "),
    )
}

/// H10 invariant violations: any CRITICAL one, or three, is ERROR.
pub fn h10_invariants(invariants: &[InvariantResult]) -> Indicator {
    let violated: Vec<_> = invariants.iter().filter(|i| !i.ok).collect();
    let critical = violated.iter().any(|i| i.critical);
    let n = violated.len();
    ind(
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
    )
}

/// M1 last cycle age: the newest cycle by its start, not by its place in the records.
pub fn m1_last_cycle(r: &Recorded, now: Timestamp) -> Indicator {
    let last = r
        .summary
        .newest
        .as_ref()
        .and_then(|(started, c)| Some((parse_ts(started).ok()?, c)));
    let Some((t, c)) = last else {
        return ind(
            "M1",
            "last cycle",
            "< 24h ago",
            None,
            Level::Warning,
            "no cycle has run yet".into(),
        );
    };
    let hours = (now - t).num_minutes() as f64 / 60.0;
    ind(
        "M1",
        "last cycle",
        "< 24h ago",
        Some(hours),
        if hours < 24.0 {
            Level::Healthy
        } else {
            Level::Error
        },
        format!("{c} ran {hours:.1}h ago"),
    )
}

/// M2 trigger queue: triggers waiting for a cycle.
pub fn m2_trigger_queue(r: &Recorded) -> Indicator {
    let q = r.queued_triggers as f64;
    ind(
        "M2",
        "trigger queue",
        "<10 healthy, 10-50 warning",
        Some(q),
        below(q, 10.0, 50.0),
        format!("{} triggers waiting", r.queued_triggers),
    )
}

/// M4 log data: the newest cycle found log files to read. One that found none (the log
/// directory is gone, or no `sources:` glob matches) has no data, and nothing it did
/// not see can be called healthy: WARNING, with how many cycles in a row and since
/// when. (No data is not an error of the loop itself: it runs, and says so.)
pub fn m4_log_data(r: &Recorded) -> Indicator {
    const T: &str = "the newest cycle found log files; none is WARNING";
    let Some(newest) = r.cycles.last() else {
        return no_data("M4", "log data", T, "no cycles");
    };
    // The run of blind cycles is kept by the summary: the records read here are only
    // the newest few, and a log directory can be gone for weeks.
    let Some((since, since_at)) = r
        .summary
        .no_data_since
        .as_ref()
        .filter(|_| r.summary.no_data_run > 0)
    else {
        return ind(
            "M4",
            "log data",
            T,
            Some(0.0),
            Level::Healthy,
            format!(
                "{} read {} lines from {} files",
                newest.cycle, newest.lines_read, newest.files_read
            ),
        );
    };
    let run = r.summary.no_data_run;
    let why = newest
        .notes
        .iter()
        .find(|n| n.starts_with("no data"))
        .cloned()
        .unwrap_or_else(|| "no log file found".into());
    ind(
        "M4",
        "log data",
        T,
        Some(run as f64),
        Level::Warning,
        format!(
            "{run} cycle{} in a row found no log file (since {since} at {since_at}): {why}",
            if run == 1 { "" } else { "s" },
        ),
    )
}

/// M3 cycle duration p95, over the last `summary::RECENT` cycles (30 days hourly).
pub fn m3_cycle_duration(r: &Recorded) -> Indicator {
    let mut durs: Vec<f64> = r
        .summary
        .recent_ms
        .iter()
        .map(|ms| *ms as f64 / 1000.0)
        .collect();
    if durs.is_empty() {
        return no_data("M3", "cycle duration p95", "< 1h", "no cycles");
    }
    durs.sort_by(f64::total_cmp);
    let p95 = durs[((durs.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(durs.len() - 1)];
    ind(
        "M3",
        "cycle duration p95",
        "< 1h",
        Some(p95),
        if p95 < 3600.0 {
            Level::Healthy
        } else {
            Level::Error
        },
        format!("p95 {p95:.2}s over the last {} cycles", durs.len()),
    )
}

/// M5 storage: how big `.git` is and how fast it grows (the records live there), and
/// the system's logs against `retention.logs_warn_size` (the tool never deletes them).
pub fn m5_storage(r: &Recorded, now: Timestamp) -> Indicator {
    const T: &str = "logs under retention.logs_warn_size";
    let Some(s) = &r.storage else {
        return no_data("M5", "storage", T, "the object store could not be read");
    };
    let mb = |b: f64| b / 1_048_576.0;
    let mut detail = format!(".git {:.1} MB", mb(s.size.bytes() as f64));
    if let Some(g) = s.growth(now, 30) {
        detail.push_str(&format!(
            " ({:+.2} MB/day over {:.0} days)",
            mb(g.bytes_per_day),
            g.days
        ));
    }
    detail.push_str(&format!("; records of {} cycles", r.summary.cycles));
    let mut level = Level::Healthy;
    match &s.logs {
        Some(l) => {
            detail.push_str(&format!(
                "; logs {:.1} MB in {} files (measured {})",
                mb(l.bytes as f64),
                l.files,
                l.ts
            ));
            if l.over() {
                level = Level::Warning;
                detail.push_str(&format!(
                    ", past {:.0} MB: bound them (README, \"What grows\"); improve never deletes them",
                    mb(l.warn_bytes as f64)
                ));
            }
        }
        None => detail.push_str("; logs not measured yet (a cycle measures them daily)"),
    }
    ind(
        "M5",
        "storage",
        T,
        Some(s.size.bytes() as f64),
        level,
        detail,
    )
}
