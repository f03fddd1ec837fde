//! `improve status`: what needs a human first (proposals waiting for a decision with
//! the commands that decide them, rollbacks that failed, alerts), then what is being
//! watched, then what is moving, then the last cycle's findings (notes counted; listed
//! with -v).

use super::app::App;
use super::out::{self, count, safe, Paint};
use super::show::{monitor_summary, next_step, short};
use anyhow::Result;
use improve::clock::{parse_ts, Timestamp};
use improve::config::Config;
use improve::cycle::PatternOut;
use improve::deploy::Deployment;
use improve::health::{self, Health, Level, Recorded};
use improve::records::Records;
use improve::report::attention;
use improve::store::proposals::{Proposal, Status};
use serde_json::{json, Value};

/// Where things stand: what needs you (waiting proposals with their commands, failed
/// rollbacks, alerts), what is being watched, what is moving, the last cycle's
/// findings (notes are counted; -v lists them).
#[derive(Debug, clap::Args)]
pub struct Args {}

/// The commands that decide a waiting proposal.
fn decide_commands(cfg: &Config, p: &Proposal) -> Vec<String> {
    vec![
        format!("improve show {}", p.id),
        format!("improve approve {} --by NAME", p.id),
        format!("improve reject {} --by NAME --reason TEXT", p.id),
        format!(
            "git switch {} && git merge --no-ff {}",
            cfg.deploy_branch, p.branch
        ),
    ]
}

/// How long ago `ts` was, in words (`3h 12m`); the timestamp when unreadable.
fn since(now: Timestamp, ts: &str) -> String {
    let Ok(t) = parse_ts(ts) else {
        return safe(ts).into_owned();
    };
    let m = (now - t).num_minutes().max(0);
    match m {
        0..=59 => format!("{m}m"),
        60..=1439 => format!("{}h {}m", m / 60, m % 60),
        _ => format!("{}d {}h", m / 1440, m % 1440 / 60),
    }
}

/// Health indicators that are not HEALTHY, errors first.
fn alerts(h: &Health) -> Vec<&health::Indicator> {
    let mut v: Vec<_> = h
        .indicators
        .iter()
        .filter(|i| i.level != Level::Healthy)
        .collect();
    v.sort_by_key(|i| std::cmp::Reverse(i.level));
    v
}

fn level_paint(l: Level) -> Paint {
    match l {
        Level::Healthy => Paint::Green,
        Level::Warning => Paint::Yellow,
        Level::Error => Paint::Red,
    }
}

/// Proposals on their way (validating, approved) that wait for no human.
fn moving(r: &Recorded) -> Vec<&Proposal> {
    r.proposals
        .iter()
        .filter(|p| p.status.is_open() && p.status != Status::AwaitingApproval)
        .collect()
}

pub fn run(app: &App, _args: Args) -> Result<i32> {
    let git = app.git()?;
    let cfg = app.config(&git)?;
    let records = Records::open(&git, &cfg.records_branch)?;
    let root = git.root().display().to_string();
    if !records.exists() {
        if app.json {
            out::json(&json!({"repo": root, "initialised": false}))?;
        } else {
            outln!("{root}: not initialised: run `improve init`");
        }
        return Ok(0);
    }
    let r = Recorded::load(&git, &records)?;
    let inv = health::check(&git, &cfg, &r);
    let h = health::compute(&r, &inv, app.now);
    if app.json {
        out::json(&as_json(&cfg, &r, &h, &root))?;
        return Ok(0);
    }
    outln!("improve status for {}", safe(&root));
    outln!();
    needs_you(app, &cfg, &r, &h);
    watched(app, &cfg, &r);
    let moving = moving(&r);
    if !moving.is_empty() {
        out::heading(format!(
            "On their way: {}",
            count(moving.len(), "open proposal", "open proposals")
        ));
        for p in moving {
            outln!(
                "  {} [{}] {} — next: {}",
                p.id,
                p.status.as_str(),
                safe(&p.change.summary),
                next_step(p)
            );
        }
        outln!();
    }
    findings(app, &r);
    outln!(
        "audit log: {}; health {} (`improve health`)",
        if r.audit_problems.is_empty() {
            format!("{} entries, chain intact", r.audit_entries)
        } else {
            out::paint(Paint::Red, "FAILED verification")
        },
        out::paint(level_paint(h.overall), h.overall.as_str())
    );
    Ok(0)
}

fn needs_you(app: &App, cfg: &Config, r: &Recorded, h: &Health) {
    let waiting = attention::waiting(r);
    let failed = attention::failed_rollbacks(r);
    let alerts = alerts(h);
    let n = waiting.len() + failed.len() + alerts.len() + r.audit_problems.len();
    if n == 0 {
        out::heading("Nothing needs you.");
        outln!();
        return;
    }
    out::heading(format!("Needs you ({n})"));
    for p in waiting {
        let since_ts = p.awaiting_since.as_deref().unwrap_or(&p.created);
        outln!(
            "  {} waits for a decision ({}): {}",
            out::paint(Paint::Yellow, &p.id),
            since(app.now, since_ts),
            safe(&p.change.summary)
        );
        match r.validations.get(&p.id) {
            Some(v) => outln!(
                "    validated: {} {}, target metric {}",
                v.mode,
                v.status.as_str(),
                if v.target_improved {
                    "improved measurably"
                } else {
                    "not improved measurably"
                }
            ),
            None => outln!("    validated: nothing on record"),
        }
        if !p.conflicts.is_empty() {
            outln!("    conflicts with {}", p.conflicts.join(", "));
        }
        for c in decide_commands(cfg, p) {
            outln!("    {c}");
        }
    }
    for d in failed {
        outln!(
            "  {} rollback FAILED ({}): {}",
            out::paint(Paint::Red, &d.id),
            d.proposal,
            safe(d.reason.as_deref().unwrap_or("the revert would conflict"))
        );
        outln!(
            "    resolve by hand: git revert {}  (the next cycle records it)",
            d.deploy_commit
        );
    }
    for p in &r.audit_problems {
        outln!(
            "  {} audit log does not verify: {}",
            out::paint(Paint::Red, "ERROR"),
            safe(p)
        );
    }
    for i in alerts {
        outln!(
            "  {} {} {}: {}",
            out::paint(level_paint(i.level), i.level.as_str()),
            i.id,
            i.name,
            safe(&i.detail)
        );
    }
    outln!();
}

fn watched(app: &App, cfg: &Config, r: &Recorded) {
    let live: Vec<&Deployment> = r
        .deployments
        .iter()
        .filter(|d| d.status.is_live())
        .collect();
    if live.is_empty() {
        return;
    }
    out::heading(format!(
        "Being watched: {}",
        count(live.len(), "deployment", "deployments")
    ));
    for d in live {
        let until = parse_ts(&d.deployed_at)
            .map(|t| improve::clock::fmt_ts(t + cfg.dur(&cfg.deployment.monitor_duration)))
            .unwrap_or_default();
        outln!(
            "  {} ({}) deployed {} ago, monitored until {}",
            d.id,
            d.proposal,
            since(app.now, &d.deployed_at),
            until
        );
        outln!("    last check: {}", monitor_summary(d));
        outln!(
            "    roll back: improve rollback {} (or git revert {})",
            d.id,
            short(&d.deploy_commit)
        );
    }
    outln!();
}

fn findings(app: &App, r: &Recorded) {
    let Some(c) = r.cycles.last() else {
        outln!("No cycle has run yet: `improve cycle`.");
        outln!();
        return;
    };
    out::heading(format!(
        "Last cycle: {} at {}, {} (of {})",
        c.cycle,
        c.started,
        c.outcome,
        count(r.summary.cycles as usize, "cycle", "cycles")
    ));
    outln!(
        "  read {} from {}; skipped {}",
        count(c.lines_read as usize, "line", "lines"),
        count(c.files_read as usize, "file", "files"),
        c.skipped_total
    );
    let (problems, notes): (Vec<_>, Vec<_>) = c.patterns.iter().partition(|p| p.actionable);
    for p in &problems {
        let layer = p
            .layer
            .map(|l| format!(", {} layer", l.as_str()))
            .unwrap_or_default();
        outln!(
            "  problem: {} {}{layer} — {}",
            p.kind.as_str(),
            safe(&p.subject),
            safe(&p.why)
        );
    }
    if !notes.is_empty() {
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for p in &notes {
            *kinds.entry(p.kind.as_str()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        outln!(
            "  {} ({}){}",
            count(notes.len(), "note", "notes"),
            kinds.join(", "),
            if app.verbose == 0 {
                "; -v lists them"
            } else {
                ""
            }
        );
        if app.verbose > 0 {
            for p in &notes {
                outln!(
                    "    noted: {} {} — {}",
                    p.kind.as_str(),
                    safe(&p.subject),
                    safe(&p.why)
                );
            }
        }
    }
    outln!();
}

fn as_json(cfg: &Config, r: &Recorded, h: &Health, root: &str) -> Value {
    let waiting: Vec<Value> = attention::waiting(r)
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id, "summary": p.change.summary, "branch": p.branch,
                "since": p.awaiting_since.as_deref().unwrap_or(&p.created),
                "validation": r.validations.get(&p.id).map(|v| json!({"mode": v.mode, "status": v.status, "target_improved": v.target_improved})),
                "conflicts": p.conflicts,
                "commands": decide_commands(cfg, p),
            })
        })
        .collect();
    let failed: Vec<Value> = attention::failed_rollbacks(r)
        .into_iter()
        .map(|d| json!({"id": d.id, "proposal": d.proposal, "reason": d.reason, "command": format!("git revert {}", d.deploy_commit)}))
        .collect();
    let alerts: Vec<Value> = alerts(h)
        .into_iter()
        .map(|i| json!({"level": i.level, "id": i.id, "name": i.name, "detail": i.detail}))
        .collect();
    let watched: Vec<Value> = r
        .deployments
        .iter()
        .filter(|d| d.status.is_live())
        .map(|d| json!({"id": d.id, "proposal": d.proposal, "status": d.status.as_str(), "deployed_at": d.deployed_at, "last_check": d.checks.iter().rev().find_map(|c| c.monitor()), "rollback": format!("improve rollback {}", d.id)}))
        .collect();
    let last = r.cycles.last().map(|c| {
        let patterns: Vec<PatternOut> = c.patterns.iter().map(PatternOut::of).collect();
        json!({
            "cycle": c.cycle, "started": c.started, "outcome": c.outcome,
            "lines_read": c.lines_read, "files_read": c.files_read, "skipped_total": c.skipped_total,
            "problems": patterns.iter().filter(|p| p.actionable).collect::<Vec<_>>(),
            "notes": patterns.iter().filter(|p| !p.actionable).collect::<Vec<_>>(),
        })
    });
    json!({
        "repo": root,
        "initialised": true,
        "needs_human": {"waiting": waiting, "failed_rollbacks": failed, "alerts": alerts, "audit_problems": r.audit_problems},
        "watched": watched,
        "moving": moving(r).iter().map(|p| json!({"id": p.id, "status": p.status.as_str(), "type": p.kind.as_str(), "summary": p.change.summary, "next": next_step(p)})).collect::<Vec<_>>(),
        "last_cycle": last,
        "cycles": r.summary.cycles,
        "proposals": r.proposals.iter().map(|p| json!({"id": p.id, "status": p.status.as_str()})).collect::<Vec<_>>(),
        "deployments": r.deployments.iter().map(|d| json!({"id": d.id, "proposal": d.proposal, "status": d.status.as_str()})).collect::<Vec<_>>(),
        "audit_ok": r.audit_problems.is_empty(),
        "health": h.overall,
    })
}
