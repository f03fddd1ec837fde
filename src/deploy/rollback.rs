//! ROLLBACK with `git revert`: computed in memory first, so a revert that would
//! conflict writes nothing — no conflict markers, no half-reverted tree; the
//! deployment becomes `rollback_failed` and humans are alerted.

use super::{deployer, DeployStatus, Deployment};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::error::Error;
use crate::git::{Git, RevertOutcome};
use crate::records::Records;
use anyhow::{Context, Result};
use git2::Oid;

/// Reverts `d.deploy_commit` on the deploy branch and tags it. Err(conflicting paths)
/// when it cannot be done cleanly.
pub fn revert_commit_onto(
    git: &Git,
    cfg: &Config,
    d: &mut Deployment,
    now: Timestamp,
    reason: &str,
) -> Result<std::result::Result<Oid, Vec<String>>> {
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let target = Oid::from_str(&d.deploy_commit).context("deploy commit")?;
    let subject = git
        .message(target)?
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let message = format!(
        "Revert \"{subject}\"\n\nThis reverts commit {target}.\n\n{reason}\n\nImprove-Proposal: {}\nImprove-Deployment: {}\nImprove-Rollback: {}\n",
        d.proposal,
        d.id,
        reason.lines().next().unwrap_or("")
    );
    match git.revert(target, tip, &message, now)? {
        RevertOutcome::Conflict(paths) => Ok(Err(paths)),
        RevertOutcome::Clean(new) => {
            if !git.is_clean()? && git.head_branch().as_deref() == Some(cfg.deploy_branch.as_str())
            {
                return Err(Error::Invariant {
                    invariant: "git",
                    message: "the working tree has uncommitted changes; the revert was not applied"
                        .into(),
                }
                .into());
            }
            git.advance_branch(&cfg.deploy_branch, tip, new, "improve: rollback")?;
            crate::crash::point("revert-after-commit");
            let tag = format!("improve/rollback/{}", d.id);
            git.tag(&tag, new)?;
            d.rollback_commit = Some(new.to_string());
            d.rollback_tag = Some(tag);
            Ok(Ok(new))
        }
    }
}

/// Rolls `d` back and records it (monitor degradation, or `improve rollback`).
pub fn rollback(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    d: &mut Deployment,
    cycle: &str,
    now: Timestamp,
    reason: &str,
    by: &str,
) -> Result<String> {
    match revert_commit_onto(git, cfg, d, now, reason)? {
        Ok(_) => {
            crate::crash::point("revert-before-record");
            let why = format!("{reason} (by {by})");
            deployer::end(
                records,
                cfg,
                d,
                DeployStatus::RolledBack,
                Some(why),
                format!("rolled back ({reason})"),
                Some(by),
                cycle,
                now,
            )?;
            Ok(format!("{} rolled back: {reason}", d.id))
        }
        Err(paths) => {
            let why = format!(
                "{reason}; the revert conflicts in {} and was not forced: a human must resolve it",
                paths.join(", ")
            );
            let event = "rollback failed: the revert conflicts; humans alerted".to_string();
            deployer::end(
                records,
                cfg,
                d,
                DeployStatus::RollbackFailed,
                Some(why),
                event,
                Some(by),
                cycle,
                now,
            )?;
            Ok(format!(
                "{} ROLLBACK FAILED: revert conflicts in {}; humans alerted",
                d.id,
                paths.join(", ")
            ))
        }
    }
}

/// Finds a revert of the deploy commit made by someone else (a human's `git revert`),
/// and records it like the tool's own.
pub fn detect_human_revert(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    d: &mut Deployment,
    cycle: &str,
    now: Timestamp,
) -> Result<Option<String>> {
    let tip = git
        .ref_oid(&cfg.deploy_branch)?
        .context("no deploy branch")?;
    let Ok(deployed) = Oid::from_str(&d.deploy_commit) else {
        return Ok(None);
    };
    if !git.is_ancestor(deployed, tip)? {
        return Ok(None);
    }
    let needle = format!("This reverts commit {deployed}");
    for c in git.commits_between(Some(deployed), tip)? {
        let msg = git.message(c)?;
        if msg.contains(&needle) {
            let author = git.author(c)?;
            let tag = format!("improve/rollback/{}", d.id);
            git.tag(&tag, c)?;
            d.rollback_commit = Some(c.to_string());
            d.rollback_tag = Some(tag);
            let event = format!("reverted by a human (commit {})", &c.to_string()[..12]);
            let why = format!("reverted by {author} with git revert");
            deployer::end(
                records,
                cfg,
                d,
                DeployStatus::RolledBack,
                Some(why),
                event,
                Some(&author),
                cycle,
                now,
            )?;
            return Ok(Some(format!(
                "{}: a human ({author}) reverted it with git revert; recorded",
                d.id
            )));
        }
    }
    Ok(None)
}
