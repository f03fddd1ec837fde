//! The top of the report: what needs a human's decision (proposals waiting, with the
//! commands that decide them; rollbacks that failed; alerts), then what is being
//! watched (live deployments with the monitor's last verdict per metric).

use super::{ago, esc, when};
use crate::clock::{fmt_ts, parse_duration, parse_ts, Timestamp};
use crate::config::{Config, Direction};
use crate::deploy::{DeployStatus, Deployment};
use crate::health::Recorded;
use crate::health::{Health, Level};
use crate::store::proposals::{Proposal, Status};

/// Proposals waiting for a human, oldest wait first.
pub fn waiting(r: &Recorded) -> Vec<&Proposal> {
    let mut v: Vec<&Proposal> = r
        .proposals
        .iter()
        .filter(|p| p.status == Status::AwaitingApproval)
        .collect();
    v.sort_by(|a, b| {
        let since = |p: &Proposal| {
            p.awaiting_since
                .clone()
                .unwrap_or_else(|| p.created.clone())
        };
        since(a).cmp(&since(b)).then(a.id.cmp(&b.id))
    });
    v
}

pub fn failed_rollbacks(r: &Recorded) -> Vec<&Deployment> {
    r.deployments
        .iter()
        .filter(|d| d.status == DeployStatus::RollbackFailed)
        .collect()
}

/// Health indicators that are not HEALTHY, errors first, and a broken audit chain.
fn alerts(r: &Recorded, h: &Health) -> Vec<(Level, String)> {
    let mut v: Vec<(Level, String)> = r
        .audit_problems
        .iter()
        .map(|p| {
            (
                Level::Error,
                format!("<b>audit log</b> does not verify: {}", esc(p)),
            )
        })
        .collect();
    for level in [Level::Error, Level::Warning] {
        for i in h.indicators.iter().filter(|i| i.level == level) {
            v.push((
                level,
                format!(
                    "<a href=\"#health-{id}\"><b>{id} {name}</b></a> {detail} <small>({th})</small>",
                    id = esc(i.id),
                    name = esc(i.name),
                    detail = esc(&i.detail),
                    th = esc(i.thresholds)
                ),
            ));
        }
    }
    v
}

/// How many things need a decision: waiting proposals, failed rollbacks, errors.
pub fn decision_count(r: &Recorded, h: &Health) -> usize {
    waiting(r).len()
        + failed_rollbacks(r).len()
        + alerts(r, h)
            .iter()
            .filter(|(l, _)| *l == Level::Error)
            .count()
}

fn metric_link(cfg: &Config, name: &str) -> String {
    if cfg.metrics.iter().any(|m| m.name == name) {
        format!("<a href=\"#metric-{0}\">{0}</a>", esc(name))
    } else {
        esc(name)
    }
}

fn proposal_card(cfg: &Config, r: &Recorded, p: &Proposal, now: Timestamp) -> String {
    let id = esc(&p.id);
    let since = p.awaiting_since.as_deref().unwrap_or(&p.created);
    let better = match p.target_metric.direction {
        Direction::Higher => "higher is better",
        Direction::Lower => "lower is better",
    };
    let mut s = format!(
        "<article class=\"decision\" id=\"{id}\"><h3><span class=\"tag wait\">waiting for you</span> {id} — {}</h3>",
        esc(&p.change.summary)
    );
    let mut meta = vec![
        esc(p.kind.as_str()),
        format!("{} risk", esc(p.risk.as_str())),
    ];
    if let Some(t) = p.tier {
        meta.push(format!("tier {}", esc(t.as_str())));
    }
    meta.push(format!(
        "waiting {} <small>(since {})</small>",
        ago(now, since),
        when(since)
    ));
    meta.push(format!(
        "target {} ({better})",
        metric_link(cfg, &p.target_metric.name)
    ));
    if let Some(e) = &p.escalated_at {
        meta.push(format!("<b class=\"ERROR\">escalated {}</b>", esc(e)));
    }
    if !p.conflicts.is_empty() {
        meta.push(format!(
            "<b class=\"WARNING\">conflicts with {}</b>",
            esc(&p.conflicts.join(", "))
        ));
    }
    s.push_str(&format!(
        "<p class=\"meta\">{}</p><p>{}</p>",
        meta.join(" · "),
        esc(&p.pattern.why)
    ));
    match r.validations.get(&p.id) {
        Some(v) => s.push_str(&format!(
            "<p class=\"validation\">Validation: {} <b class=\"v-{}\">{}</b> — target metric {}. {}</p>",
            esc(v.mode.as_str()),
            esc(v.status.as_str()),
            esc(v.status.as_str()),
            if v.target_improved {
                "<b>improved measurably</b>"
            } else {
                "<b>not improved measurably</b>"
            },
            esc(&v.recommendation)
        )),
        None => s.push_str("<p class=\"validation\">Validation: none on record.</p>"),
    }
    if !p.pattern.evidence.is_empty() {
        s.push_str(&format!(
            "<details><summary>Evidence: {} occurrence(s), {} shown</summary><ul class=\"evidence\">",
            p.pattern.occurrences,
            p.pattern.evidence.len().min(5)
        ));
        for e in p.pattern.evidence.iter().take(5) {
            s.push_str(&format!(
                "<li><code>{}:{}</code> {} {}</li>",
                esc(&e.file),
                e.line,
                esc(e.ts.as_deref().unwrap_or("")),
                esc(&e.detail)
            ));
        }
        s.push_str("</ul></details>");
    }
    s.push_str(&format!(
        "<div class=\"commands\"><div class=\"cmd-label\">Decide — in the repository:</div><pre><code>improve show {id}\nimprove approve {id} --by NAME                  <span class=\"c\"># deploys in the next cycle</span>\nimprove reject {id} --by NAME --reason \"...\"\ngit switch {deploy} &amp;&amp; git merge --no-ff {branch}   <span class=\"c\"># approve and deploy at once (or merge its pull request)</span></code></pre></div></article>",
        deploy = esc(&cfg.deploy_branch),
        branch = esc(&p.branch)
    ));
    s
}

fn rollback_card(r: &Recorded, d: &Deployment) -> String {
    let id = esc(&d.id);
    let summary = r
        .proposal(&d.proposal)
        .map(|p| p.change.summary.as_str())
        .unwrap_or("");
    format!(
        "<article class=\"decision critical\"><h3><span class=\"tag err\">rollback failed</span> <a href=\"#{id}\">{id}</a> — {} {}</h3><p>The automatic revert would conflict, so nothing was changed: the deployment is still live. {}</p><div class=\"commands\"><div class=\"cmd-label\">Resolve by hand — the next cycle records the revert:</div><pre><code>git revert {}   <span class=\"c\"># resolve the conflict, commit</span></code></pre></div></article>",
        esc(&d.proposal),
        esc(summary),
        esc(d.reason.as_deref().unwrap_or("")),
        esc(&d.deploy_commit)
    )
}

/// "Needs a decision": waiting proposals, failed rollbacks, alerts.
pub fn decisions(cfg: &Config, r: &Recorded, h: &Health, now: Timestamp) -> String {
    let waiting = waiting(r);
    let failed = failed_rollbacks(r);
    let alerts = alerts(r, h);
    let mut s = format!(
        "<section id=\"decisions\"><h2>Needs a decision <span class=\"count\">{}</span></h2>",
        decision_count(r, h)
    );
    if waiting.is_empty() && failed.is_empty() {
        s.push_str("<p class=\"calm\">No proposal waits for a human and no rollback failed.</p>");
    }
    for d in failed {
        s.push_str(&rollback_card(r, d));
    }
    for p in waiting {
        s.push_str(&proposal_card(cfg, r, p, now));
    }
    if !alerts.is_empty() {
        s.push_str("<h3 class=\"sub\">Alerts</h3><ul class=\"alerts\">");
        for (level, text) in alerts {
            s.push_str(&format!(
                "<li class=\"alert\"><span class=\"lvl {0}\">{0}</span> {text}</li>",
                level.as_str()
            ));
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>");
    s
}

/// One guarded metric in the monitor's check of a deployment.
struct Verdict {
    metric: String,
    /// Relative change after the deploy, signed so that positive is better.
    effect: f64,
    /// One-sided p-value of a degradation.
    p_worse: f64,
    status: String,
}

/// The monitor's last check of a deployment that judged metrics: its cycle and verdicts.
fn last_verdicts(d: &Deployment) -> Option<(String, Vec<Verdict>)> {
    let check = d.checks.iter().rev().find_map(|c| c.monitor())?;
    let rows = check
        .metrics
        .iter()
        .map(|m| Verdict {
            metric: m.name.clone(),
            effect: m.relative_effect.unwrap_or(f64::NAN),
            p_worse: m.p.unwrap_or(f64::NAN),
            status: serde_json::to_value(&m.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        })
        .collect();
    Some((check.cycle.clone(), rows))
}

fn watched_card(cfg: &Config, r: &Recorded, d: &Deployment, now: Timestamp) -> String {
    let id = esc(&d.id);
    let summary = r
        .proposal(&d.proposal)
        .map(|p| p.change.summary.as_str())
        .unwrap_or("");
    let until = parse_ts(&d.deployed_at)
        .ok()
        .zip(parse_duration(&cfg.deployment.monitor_duration).ok())
        .map(|(t, span)| {
            let end = t + span;
            let left = (end - now).num_minutes().max(0);
            format!(
                "monitored until {} ({}h {}m left)",
                when(&fmt_ts(end)),
                left / 60,
                left % 60
            )
        })
        .unwrap_or_default();
    let mut s = format!(
        "<article class=\"watch\"><h3><span class=\"tag watching\">{}</span> <a href=\"#{id}\">{id}</a> — {} {}</h3><p class=\"meta\">deployed {} <small>({})</small> · tier {} · {until} · degraded checks in a row: {} of {} · roll back by hand: <code>improve rollback {id}</code></p>",
        esc(d.status.as_str()),
        esc(&d.proposal),
        esc(summary),
        ago(now, &d.deployed_at),
        when(&d.deployed_at),
        esc(d.tier_name()),
        d.degraded_in_a_row,
        cfg.deployment.consecutive_checks
    );
    match last_verdicts(d) {
        Some((cycle, rows)) => {
            s.push_str(&format!(
                "<table class=\"verdicts\"><caption>The monitor's last check ({}): after the deploy vs. the baseline before it</caption><tr><th>metric</th><th class=\"num\">change</th><th class=\"num\" title=\"one-sided p-value of a degradation\">p(worse)</th><th>verdict</th></tr>",
                esc(&cycle)
            ));
            for v in rows {
                let change = if !v.effect.is_finite() {
                    "—".into()
                } else if v.effect.abs() < 0.0005 {
                    "no change".into()
                } else if v.effect > 0.0 {
                    format!("{:+.1}% better", v.effect * 100.0)
                } else {
                    format!("{:+.1}% worse", v.effect * 100.0)
                };
                let p = if v.p_worse.is_finite() {
                    format!("{:.3}", v.p_worse)
                } else {
                    "—".into()
                };
                s.push_str(&format!(
                    "<tr><td>{}</td><td class=\"num\">{change}</td><td class=\"num\">{p}</td><td class=\"verdict {1}\">{1}</td></tr>",
                    metric_link(cfg, &v.metric),
                    esc(&v.status)
                ));
            }
            s.push_str("</table>");
        }
        None => s.push_str("<p>No check yet: the next cycle compares it with its baseline.</p>"),
    }
    s.push_str("</article>");
    s
}

/// "Being watched": live deployments, then proposals in validation or about to deploy.
pub fn watched(cfg: &Config, r: &Recorded, now: Timestamp) -> String {
    let live: Vec<&Deployment> = r
        .deployments
        .iter()
        .filter(|d| d.status.is_live())
        .collect();
    let moving: Vec<&Proposal> = r
        .proposals
        .iter()
        .filter(|p| {
            matches!(
                p.status,
                Status::Proposed | Status::Validating | Status::Approved
            )
        })
        .collect();
    let mut s = format!(
        "<section id=\"watched\"><h2>Being watched <span class=\"count\">{}</span></h2>",
        live.len() + moving.len()
    );
    if live.is_empty() && moving.is_empty() {
        s.push_str(
            "<p class=\"calm\">No deployment is under watch and no proposal is in validation.</p>",
        );
    }
    for d in live {
        s.push_str(&watched_card(cfg, r, d, now));
    }
    if !moving.is_empty() {
        s.push_str("<ul class=\"moving\">");
        for p in moving {
            s.push_str(&format!(
                "<li><b>{}</b> <span class=\"tag\">{}</span> {} — {}</li>",
                esc(&p.id),
                esc(p.status.as_str()),
                esc(&p.change.summary),
                esc(&next_step(p))
            ));
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>");
    s
}

fn next_step(p: &Proposal) -> String {
    match p.status {
        Status::Proposed => "validation runs in the next cycle".into(),
        Status::Validating => format!("{} running; later cycles judge it", p.validation_plan.mode),
        Status::Approved => format!(
            "approved by {}; deploys in the next cycle",
            p.approved_by
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "a human".into())
        ),
        _ => String::new(),
    }
}
