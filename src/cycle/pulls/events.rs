//! The comments a proposal's pull request should carry by now, each under a key so it
//! is posted once: deployed (with the baseline), judged degraded or stable, rolled back
//! (with the monitor's numbers), and the closing word when the proposal ended without
//! a merge.

use super::wanted::status_word;
use crate::context::Ctx;
use crate::deploy::{DeployStatus, Deployment, MetricCheck};
use crate::propose::render::{self, MetricRow};
use crate::store::proposals::{Proposal, Status};

/// What an event does to the pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// A comment, open or not (a merged pull request hears how its deploy went).
    Comment,
    /// A comment, and closed if it is open (the tool deployed the change itself).
    CommentAndClose,
    /// Only while it is open: the proposal ended without a merge. A pull request a
    /// human already closed is left alone.
    Close,
}

/// One comment a pull request should carry, under its key.
pub struct Event {
    pub key: String,
    pub text: String,
    pub act: Act,
}

fn event(key: String, text: String, act: Act) -> Event {
    Event { key, text, act }
}

/// The comments `p`'s pull request should carry by now, in the order they happened.
pub fn events(ctx: &Ctx, p: &Proposal, d: Option<&Deployment>) -> Vec<Event> {
    let mut out = vec![];
    let last = p
        .history
        .last()
        .map(|e| {
            let by =
                e.by.as_deref()
                    .map(|b| format!(" (by {b})"))
                    .unwrap_or_default();
            format!("{}{by}", e.what)
        })
        .unwrap_or_default();
    let closing = |why: &str| {
        format!(
            "**{why}**: {}\n\nClosing this pull request; the branch is kept. `improve show {}` has the whole history.",
            render::escape_md(&last),
            p.id
        )
    };
    match p.status {
        Status::Rejected => out.push(event(
            format!("{}:rejected", p.id),
            closing("Rejected"),
            Act::Close,
        )),
        Status::Failed if d.is_none() => out.push(event(
            format!("{}:failed", p.id),
            closing("Failed"),
            Act::Close,
        )),
        Status::Closed if d.is_none() => out.push(event(
            format!("{}:closed", p.id),
            closing("Closed"),
            Act::Close,
        )),
        _ => {}
    }
    let Some(d) = d else {
        return out;
    };
    let key = |what: &str| format!("{}:{what}:{}", p.id, d.id);
    let judged = |verdict: &str| format!("{}:judged:{}:{verdict}", p.id, d.id);
    match d.status {
        DeployStatus::Deploying => return out,
        DeployStatus::Failed => {
            out.push(event(
                key("failed"),
                format!(
                    "**Deploy {} failed**: {}.\n\nClosing this pull request; the branch is kept.",
                    d.id,
                    render::escape_md(d.reason.as_deref().unwrap_or("no reason recorded"))
                ),
                Act::CommentAndClose,
            ));
            return out;
        }
        // A deploy the tool made itself lands as its own commit: the pull request has
        // nothing left to merge, so it is closed with the news.
        _ => out.push(event(
            key("deployed"),
            deployed_text(ctx, d),
            if d.by_tool() {
                Act::CommentAndClose
            } else {
                Act::Comment
            },
        )),
    }
    let monitor: Vec<_> = d.checks.iter().filter_map(|c| c.monitor()).collect();
    if let Some(bad) = monitor
        .iter()
        .find(|m| !m.degraded.is_empty() && !m.deferred)
    {
        out.push(event(
            judged("degraded"),
            format!(
                "**Degraded** in the monitor's check of {} ({}): {} got worse beyond the allowed threshold{}.\n\n{}",
                bad.cycle,
                bad.ts,
                bad.degraded.iter().map(|m| render::code_span(m)).collect::<Vec<_>>().join(", "),
                if bad.severe { ", severely" } else { "" },
                table(&bad.metrics)
            ),
            Act::Comment,
        ));
    }
    if d.status == DeployStatus::Stable {
        let table_text = monitor
            .last()
            .map(|m| table(&m.metrics))
            .unwrap_or_default();
        out.push(event(
            judged("stable"),
            format!(
                "**Judged stable**: watched for {} without degradation.\n\n{table_text}",
                ctx.cfg.deployment.monitor_duration
            ),
            Act::Comment,
        ));
    }
    if matches!(
        d.status,
        DeployStatus::RolledBack | DeployStatus::RollbackFailed
    ) {
        let what = match (&d.rollback_commit, d.status) {
            (Some(c), DeployStatus::RolledBack) => format!(
                "**Rolled back** with revert commit {} (tag {})",
                render::code_span(&c[..c.len().min(12)]),
                render::code_span(d.rollback_tag.as_deref().unwrap_or(""))
            ),
            _ => "**Rollback failed**: the revert conflicts and was not forced; a human must resolve it".to_string(),
        };
        let table_text = monitor
            .last()
            .map(|m| format!("\n\nThe last check:\n\n{}", table(&m.metrics)))
            .unwrap_or_default();
        out.push(event(
            key("rolled_back"),
            format!(
                "{what}: {}.{table_text}",
                render::escape_md(d.reason.as_deref().unwrap_or("no reason recorded"))
            ),
            Act::Comment,
        ));
    }
    out
}

fn deployed_text(ctx: &Ctx, d: &Deployment) -> String {
    let commit = &d.deploy_commit[..d.deploy_commit.len().min(12)];
    let how = if d.by_tool() {
        format!(
            "**Deployed** by improve as {} in the {} tier (approved by {})",
            d.id,
            d.tier_name(),
            render::escape_md(&d.approved_by.to_string())
        )
    } else {
        format!(
            "**Merged** by {}: recorded as deployment {}",
            render::escape_md(&d.approved_by.to_string()),
            d.id
        )
    };
    let baseline: Vec<MetricRow> = d
        .baseline
        .iter()
        .map(|(name, xs)| MetricRow {
            name: name.clone(),
            baseline: crate::stats::median(xs),
            status: format!("{} samples", xs.len()),
            ..MetricRow::default()
        })
        .collect();
    let table_text = if baseline.is_empty() {
        String::new()
    } else {
        format!(
            "\n\nThe baseline it is judged against:\n\n{}",
            render::metric_table(&baseline)
        )
    };
    format!(
        "{how}: commit {} on {} (tags {} and {}). The monitor watches it for {} and reverts it if the guarded metrics degrade.{table_text}",
        render::code_span(commit),
        render::code_span(&d.branch),
        render::code_span(&d.backup_tag),
        render::code_span(&d.deploy_tag),
        ctx.cfg.deployment.monitor_duration
    )
}

/// One monitor check's metrics as the comments show them.
fn table(metrics: &[MetricCheck]) -> String {
    let rows: Vec<MetricRow> = metrics
        .iter()
        .map(|m| MetricRow {
            name: m.name.clone(),
            baseline: m.baseline,
            candidate: m.current,
            effect: m.relative_effect,
            interval: m.interval,
            samples: None,
            status: status_word(&m.status),
        })
        .collect();
    render::metric_table(&rows)
}
