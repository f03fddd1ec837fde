//! ROLLBACK with `git revert`: computed in memory first, so a revert that would
//! conflict writes nothing — no conflict markers, no half-reverted tree; the
//! deployment becomes `rollback_failed` and humans are alerted. A human's own revert
//! of a deploy is recognised and recorded the same way, however it was made: `git
//! revert` ("This reverts commit …") or a revert pull request squash-merged on the
//! forge (a commit whose patch id is the deploy's, inverted).

use super::outcome::{self, Ending};
use super::{DeployStatus, Deployment};
use crate::context::Ctx;
use crate::error::Error;
use crate::git::RevertOutcome;
use anyhow::{Context, Result};
use git2::Oid;

/// Reverts `d.deploy_commit` on the deploy branch and tags it. Err(conflicting paths)
/// when it cannot be done cleanly.
pub fn revert_commit_onto(
    ctx: &Ctx,
    d: &mut Deployment,
    reason: &str,
) -> Result<std::result::Result<Oid, Vec<String>>> {
    let (git, cfg) = (ctx.git, ctx.cfg);
    let tip = ctx.deploy_tip()?;
    let target = Oid::from_str(&d.deploy_commit).context("deploy commit")?;
    let subject = git
        .message(target)?
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    // The subject and the reason may carry log text: one safe line, and a body no
    // line of which reads as a trailer.
    let message = format!(
        "{}\n\nThis reverts commit {target}.\n\n{}\n\nImprove-Proposal: {}\nImprove-Deployment: {}\nImprove-Rollback: {}\n",
        crate::sanitize::commit_subject(&format!("Revert \"{subject}\"")),
        crate::sanitize::commit_body(reason),
        d.proposal,
        d.id,
        crate::sanitize::title(reason, 200)
    );
    match revert_deployment(ctx, d, target, tip, &message)? {
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

/// The revert of `d` on top of `tip`, computed in memory. A deployment adopted from a
/// rebase of several commits spans backup..deploy: all of it is undone in one commit.
fn revert_deployment(
    ctx: &Ctx,
    d: &Deployment,
    target: Oid,
    tip: Oid,
    message: &str,
) -> Result<RevertOutcome> {
    let git = ctx.git;
    let backup = Oid::from_str(&d.backup_commit).ok();
    let parent = git.parents(target)?.first().copied();
    match backup {
        Some(b) if parent != Some(b) && git.is_ancestor(b, target)? => {
            match git.squash_tree(target, b, tip)? {
                Err(paths) => Ok(RevertOutcome::Conflict(paths)),
                Ok(tree) => {
                    let onto = git.find_commit(tip)?;
                    Ok(RevertOutcome::Clean(git.commit_tree(
                        tree,
                        &[&onto],
                        message,
                        ctx.now,
                    )?))
                }
            }
        }
        _ => git.revert(target, tip, message, ctx.now),
    }
}

/// Rolls `d` back and records it (monitor degradation, or `improve rollback`).
pub fn rollback(ctx: &mut Ctx, d: &mut Deployment, reason: &str, by: &str) -> Result<String> {
    match revert_commit_onto(ctx, d, reason)? {
        Ok(_) => {
            crate::crash::point("revert-before-record");
            d.rollback_due = None;
            outcome::end(
                ctx,
                d,
                Ending {
                    status: DeployStatus::RolledBack,
                    reason: Some(format!("{reason} (by {by})")),
                    event: format!("rolled back ({reason})"),
                    by: Some(by.to_string()),
                },
            )?;
            Ok(format!("{} rolled back: {reason}", d.id))
        }
        Err(paths) => {
            let conflicts = paths.join(", ");
            outcome::end(
                ctx,
                d,
                Ending {
                    status: DeployStatus::RollbackFailed,
                    reason: Some(format!(
                        "{reason}; the revert conflicts in {conflicts} and was not forced: a human must resolve it"
                    )),
                    event: "rollback failed: the revert conflicts; humans alerted".into(),
                    by: Some(by.to_string()),
                },
            )?;
            Ok(format!(
                "{} ROLLBACK FAILED: revert conflicts in {conflicts}; humans alerted",
                d.id
            ))
        }
    }
}

/// Finds a revert of the deploy commit made by someone else (a human's `git revert`),
/// and records it like the tool's own.
pub fn detect_human_revert(ctx: &mut Ctx, d: &mut Deployment) -> Result<Option<String>> {
    let git = ctx.git;
    let tip = ctx.deploy_tip()?;
    let Ok(deployed) = Oid::from_str(&d.deploy_commit) else {
        return Ok(None);
    };
    if !git.is_ancestor(deployed, tip)? {
        return Ok(None);
    }
    let needle = format!("This reverts commit {deployed}");
    // The deploy undone: the change from the deploy commit back to its backup.
    let inverse = match Oid::from_str(&d.backup_commit) {
        Ok(b) if git.find_commit(b).is_ok() => git.patch_id(deployed, b)?,
        _ => None,
    };
    for c in git.commits_between(Some(deployed), tip)? {
        let message = git.message(c)?;
        let by_message = message.contains(&needle);
        let tool_made = message
            .lines()
            .any(|l| l.starts_with("Improve-Deployment:"));
        if !by_message && (tool_made || inverse.is_none() || git.commit_patch_id(c)? != inverse) {
            continue;
        }
        let how = if by_message {
            "git revert"
        } else {
            "a revert (same change, inverted)"
        };
        let author = git.author(c)?;
        let tag = format!("improve/rollback/{}", d.id);
        git.tag(&tag, c)?;
        d.rollback_commit = Some(c.to_string());
        d.rollback_tag = Some(tag);
        outcome::end(
            ctx,
            d,
            Ending {
                status: DeployStatus::RolledBack,
                reason: Some(format!("reverted by {author} with {how}")),
                event: format!("reverted by a human (commit {})", &c.to_string()[..12]),
                by: Some(author.clone()),
            },
        )?;
        return Ok(Some(format!(
            "{}: a human ({author}) reverted it with {how}; recorded",
            d.id
        )));
    }
    Ok(None)
}
