//! Deploying a proposal: V1–V4 checked first and blocking, a clean tree and a
//! non-diverged branch required; then intent recorded, backup tag, one deploy commit
//! with trailers, deploy tag, verification, and the outcome recorded. Each step is
//! recoverable: a deployment found `deploying` by the next cycle is completed from the
//! commit it can find by its trailer, or marked failed and retried.

use super::{path, DeployStatus, Deployment};
use crate::approve::{self, Tier};
use crate::clock::{fmt_ts, Timestamp};
use crate::config::Config;
use crate::error::Error;
use crate::git::{trailers, Git};
use crate::propose::proposal::{self as prop, Proposal, Status};
use crate::records::Records;
use crate::validate::{self, Outcome, Validation};
use crate::{crash, learn::library, notify};
use anyhow::{Context, Result};
use git2::Oid;
use serde_json::json;
use std::collections::BTreeMap;

fn refuse(invariant: &'static str, message: impl Into<String>) -> anyhow::Error {
    Error::Invariant {
        invariant,
        message: message.into(),
    }
    .into()
}

/// The checks that block a deploy (V1–V4 and git safety).
pub fn preflight(
    git: &Git,
    cfg: &Config,
    records: &Records,
    p: &Proposal,
    audit_ok: bool,
) -> Result<Tier> {
    let v: Option<Validation> = records.read_json(&validate::path(&p.id))?;
    let human = p
        .approved_by
        .as_deref()
        .is_some_and(|b| !b.starts_with("improve"));
    // V1: no deploy without validation.
    let v = match v {
        None => {
            return Err(refuse(
                "V1",
                format!("{} has no validation on record", p.id),
            ))
        }
        Some(v) => v,
    };
    match v.status {
        Outcome::Passed => {}
        Outcome::Manual | Outcome::Inconclusive if human => {}
        other => {
            return Err(refuse(
                "V1",
                format!(
                    "{} validation is {}{}",
                    p.id,
                    other.as_str(),
                    if human {
                        ""
                    } else {
                        " and no human approved it"
                    }
                ),
            ))
        }
    }
    if v.commit != p.branch_commit {
        return Err(refuse(
            "V1",
            format!("{} changed since it was validated", p.id),
        ));
    }
    // V2: no deploy without a working audit log.
    if !cfg.audit.enabled || !audit_ok {
        return Err(refuse(
            "V2",
            "the audit log does not verify; a human must resolve it before any deploy",
        ));
    }
    // V4: the tier allows it.
    let (tier, why) = approve::tier(p, &v, cfg);
    if !human && !tier.deploys_alone() {
        return Err(refuse(
            "V4",
            format!(
                "{} is in the {} tier ({why}) and no human approved it",
                p.id,
                tier.as_str()
            ),
        ));
    }
    if !human && p.approved_by.is_none() {
        return Err(refuse("V4", format!("{} was never approved", p.id)));
    }
    // V3: a rollback must stay possible: the backup tag is free and the change is one
    // ordinary commit on top of the deploy branch.
    let branch_tip = Oid::from_str(&p.branch_commit).context("branch commit")?;
    if git.parents(branch_tip)?.len() != 1 {
        return Err(refuse(
            "V3",
            format!("{} is not a single ordinary commit", p.branch),
        ));
    }
    let next = records.next_id("deployments", "D-", 4)?;
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    if let Some(existing) = git.ref_oid(&format!("refs/tags/improve/backup/{next}"))? {
        if existing != tip {
            return Err(refuse("V3", format!("the backup tag improve/backup/{next} already exists and points elsewhere: no backup can be made")));
        }
    }
    // Git safety.
    if !git.is_clean()? && git.head_branch().as_deref() == Some(cfg.deploy_branch.as_str()) {
        return Err(refuse(
            "git",
            "the working tree has uncommitted changes; nothing is deployed onto a dirty tree",
        ));
    }
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    if let Some(up) = git.upstream_oid(&cfg.deploy_branch)? {
        if !git.is_ancestor(up, tip)? {
            return Err(refuse(
                "git",
                format!(
                    "{} has diverged from its upstream; pull first",
                    cfg.deploy_branch
                ),
            ));
        }
    }
    Ok(tier)
}

/// Deploys `p` (already through `preflight`). Returns the deployment record.
#[allow(clippy::too_many_arguments)]
pub fn deploy(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    p: &mut Proposal,
    tier: Tier,
    cycle: &str,
    now: Timestamp,
    baseline: BTreeMap<String, Vec<f64>>,
) -> Result<Deployment> {
    let ts = fmt_ts(now);
    let id = records.next_id("deployments", "D-", 4)?;
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let by = p.approved_by.clone().unwrap_or_else(|| "improve".into());
    let mut d = Deployment {
        id: id.clone(),
        proposal: p.id.clone(),
        status: DeployStatus::Deploying,
        tier: tier.as_str().to_string(),
        approved_by: by.clone(),
        branch: cfg.deploy_branch.clone(),
        backup_tag: format!("improve/backup/{id}"),
        backup_commit: tip.to_string(),
        deploy_tag: format!("improve/deploy/{id}"),
        deploy_commit: String::new(),
        deployed_at: ts.clone(),
        baseline,
        checks: vec![],
        degraded_in_a_row: 0,
        rollback_commit: None,
        rollback_tag: None,
        reason: None,
        ended_at: None,
    };
    // 1. Intent.
    let mut tx = records.tx();
    tx.put_yaml(&path(&id), &d)?;
    tx.audit("deploy", "intent", &id, json!({"proposal": p.id, "backup": tip.to_string(), "tier": tier.as_str(), "approved_by": by}));
    tx.commit(records, cycle, now, &format!("{id}: deploying {}", p.id))?;
    // 2. Backup tag.
    git.tag(&d.backup_tag, tip)?;
    crash::point("deploy-after-backup-tag");
    // 3. The deploy commit: the proposal's change on top of the current tip.
    let branch_commit = Oid::from_str(&p.branch_commit)?;
    let base = Oid::from_str(&p.base_commit).context("proposal base commit")?;
    // The whole branch since its base (a human may have added commits), squashed.
    let tree = match git.squash_tree(base, branch_commit, tip)? {
        Ok(t) => t,
        Err(paths) => {
            d.status = DeployStatus::Failed;
            d.reason = Some(format!(
                "the change no longer applies to {} (conflicts in {})",
                cfg.deploy_branch,
                paths.join(", ")
            ));
            p.status = Status::Closed;
            p.push_event(
                &ts,
                format!("closed: {}", d.reason.clone().unwrap_or_default()),
                None,
            );
            finish(records, cfg, p, &d, cycle, now, "failed", None)?;
            return Ok(d);
        }
    };
    let message = format!(
        "{}\n\n{}\n\nImprove-Proposal: {}\nImprove-Deployment: {id}\nImprove-Tier: {}\nImprove-Approved-By: {by}\n",
        p.title,
        p.change.summary,
        p.id,
        tier.as_str()
    );
    let parent = git.find_commit(tip)?;
    let new = git.commit_tree(tree, &[&parent], &message, now)?;
    git.advance_branch(&cfg.deploy_branch, tip, new, "improve: deploy")?;
    git.tag(&d.deploy_tag, new)?;
    d.deploy_commit = new.to_string();
    crash::point("deploy-after-commit");
    // 4. Verification.
    if !cfg.deployment.verify_command.is_empty() {
        let dir = tempfile::tempdir()?;
        git.export_tree(new, dir.path())?;
        let timeout = std::time::Duration::from_millis(
            cfg.dur(&cfg.deployment.rollback_timeout)
                .num_milliseconds()
                .max(1000) as u64,
        );
        let run = validate::command::run(
            &cfg.deployment.verify_command,
            dir.path(),
            &[],
            None,
            timeout,
        )?;
        d.checks.push(json!({"verify": run.argv, "exit_code": run.exit_code, "timed_out": run.timed_out, "output": run.output_tail}));
        if !run.ok() {
            // Restore by reverting our own commit: history is never rewritten, even
            // the tool's own (a push may already have published it).
            d.reason =
                Some("the verification command failed; the backup state was restored".into());
            d.status = match super::rollback::revert_commit_onto(
                git,
                cfg,
                &mut d,
                now,
                "verification failed",
            )? {
                Ok(_) => DeployStatus::Failed,
                Err(_) => DeployStatus::RollbackFailed,
            };
            p.status = Status::Failed;
            p.push_event(
                &ts,
                format!("deploy {id} failed verification; restored"),
                None,
            );
            finish(
                records,
                cfg,
                p,
                &d,
                cycle,
                now,
                "failed",
                Some(library::Outcome::Failed),
            )?;
            return Ok(d);
        }
    }
    crash::point("deploy-before-record");
    d.status = DeployStatus::Monitoring;
    p.status = Status::Deployed;
    p.deployment = Some(id.clone());
    p.push_event(
        &ts,
        format!("deployed as {id} (commit {})", &d.deploy_commit[..12]),
        Some(&by),
    );
    finish(
        records,
        cfg,
        p,
        &d,
        cycle,
        now,
        "deployed",
        Some(library::Outcome::Deployed),
    )?;
    Ok(d)
}

/// Records the deployment's state with the proposal, the library and a notification.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    records: &mut Records,
    cfg: &Config,
    p: &Proposal,
    d: &Deployment,
    cycle: &str,
    now: Timestamp,
    action: &str,
    outcome: Option<library::Outcome>,
) -> Result<()> {
    let mut tx = records.tx();
    tx.put_yaml(&path(&d.id), d)?;
    tx.put_yaml(&prop::yaml_path(&p.id), p)?;
    if let Some(o) = outcome {
        let mut lib = crate::cycle::load_library(records)?;
        lib.record_fix(&p.pattern.signature, library::Fix::of(p, o, &fmt_ts(now)));
        tx.put_json(library::PATH, &lib)?;
    }
    let detail = json!({"proposal": p.id, "status": d.status.as_str(), "commit": d.deploy_commit, "reason": d.reason, "tier": d.tier});
    tx.audit("deploy", action, &d.id, detail);
    let msg = match action {
        "deployed" => format!(
            "{} deployed {} ({}): {}",
            d.id, p.id, d.tier, p.change.summary
        ),
        _ => format!(
            "{} of {} {action}: {}",
            d.id,
            p.id,
            d.reason.clone().unwrap_or_default()
        ),
    };
    let tell = action != "deployed" || d.tier == "notify" || d.tier == "auto";
    if tell {
        notify::send(
            &mut tx,
            cfg,
            now,
            action,
            &d.id,
            msg,
            Some(format!("improve show {}", d.id)),
        );
    }
    tx.commit(records, cycle, now, &format!("{}: {action}", d.id))?;
    Ok(())
}

/// Ends a watched deployment (stable, rolled back, rollback failed) together with its
/// proposal, the library's fix outcome and a notification, in one records commit.
pub fn end(
    records: &mut Records,
    cfg: &Config,
    d: &mut Deployment,
    status: DeployStatus,
    reason: Option<String>,
    event: String,
    by: Option<&str>,
    cycle: &str,
    now: Timestamp,
) -> Result<()> {
    let mut p: Proposal = records
        .read_yaml(&prop::yaml_path(&d.proposal))?
        .with_context(|| format!("proposal {} of {} is missing", d.proposal, d.id))?;
    let ts = fmt_ts(now);
    let (proposal_status, action, outcome) = match status {
        DeployStatus::Stable => (Status::Stable, "stable", library::Outcome::Stable),
        DeployStatus::RollbackFailed => (
            Status::RollbackFailed,
            "rollback_failed",
            library::Outcome::RolledBack,
        ),
        _ => (
            Status::RolledBack,
            "rolled_back",
            library::Outcome::RolledBack,
        ),
    };
    d.status = status;
    if reason.is_some() {
        d.reason = reason;
    }
    d.ended_at = Some(ts.clone());
    p.status = proposal_status;
    p.push_event(&ts, event, by);
    finish(records, cfg, &p, d, cycle, now, action, Some(outcome))
}

/// Completes deployments a crashed cycle left `deploying`.
pub fn recover(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    cycle: &str,
    now: Timestamp,
) -> Result<Vec<String>> {
    let mut lines = vec![];
    for mut d in super::load_deployments(records)? {
        if d.status != DeployStatus::Deploying {
            continue;
        }
        let Some(mut p) = records.read_yaml::<Proposal>(&prop::yaml_path(&d.proposal))? else {
            continue;
        };
        let tip = git
            .ref_oid(&cfg.deploy_branch)?
            .context("no deploy branch")?;
        let backup = Oid::from_str(&d.backup_commit)?;
        let found = git
            .commits_between(Some(backup), tip)?
            .into_iter()
            .find(|c| {
                git.message(*c)
                    .map(|m| trailers(&m).get("Improve-Deployment") == Some(&d.id))
                    .unwrap_or(false)
            });
        match found {
            Some(c) => {
                git.tag(&d.backup_tag, backup)?;
                git.tag(&d.deploy_tag, c)?;
                d.deploy_commit = c.to_string();
                d.status = DeployStatus::Monitoring;
                p.status = Status::Deployed;
                p.deployment = Some(d.id.clone());
                p.push_event(
                    &fmt_ts(now),
                    format!("deploy {} completed after an interruption", d.id),
                    None,
                );
                finish(
                    records,
                    cfg,
                    &p,
                    &d,
                    cycle,
                    now,
                    "deployed",
                    Some(library::Outcome::Deployed),
                )?;
                lines.push(format!(
                    "{}: completed an interrupted deploy of {}",
                    d.id, p.id
                ));
            }
            None => {
                d.status = DeployStatus::Failed;
                d.reason =
                    Some("interrupted before the deploy commit; the proposal deploys again".into());
                p.push_event(
                    &fmt_ts(now),
                    format!(
                        "deploy {} was interrupted before its commit; retrying",
                        d.id
                    ),
                    None,
                );
                finish(records, cfg, &p, &d, cycle, now, "interrupted", None)?;
                lines.push(format!(
                    "{}: an interrupted deploy of {} left no commit; it is retried",
                    d.id, p.id
                ));
            }
        }
    }
    Ok(lines)
}
