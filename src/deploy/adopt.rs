//! A human's merge of a proposal is approval and deployment at once, whatever the
//! merge method: a merge commit (or fast-forward), a squash (the change under another
//! commit, found by its patch id or by the `Improve-Proposal:` trailer the squash
//! message kept) or a rebase (each commit rewritten, found by their patch ids in
//! order). The next cycle finds it on the deploy branch (after fetching the remote),
//! records it as a deployment by the merger (backup and deploy tags around it) and
//! monitors it like the tool's own. Its baseline is the previous window's samples,
//! which every cycle keeps for this purpose, because this window may already hold logs
//! written after the merge.

use super::outcome::finish;
use super::{DeployStatus, Deployment};
use crate::context::Ctx;
use crate::git::Git;
use crate::observe::samples::{self, Samples};
use crate::observe::Observation;
use crate::records::{Records, Tx};
use crate::store::library::Outcome as FixOutcome;
use crate::store::proposals::{Proposal, Status};
use crate::vocab::Approver;
use anyhow::Result;
use git2::Oid;

/// The previous window's guarded-metric samples (bounded).
const LAST_WINDOW: &str = "samples/last-window.json";

/// Keeps this window's samples as the next cycle's `previous_window`.
pub fn remember_window(tx: &mut Tx, obs: &Observation) -> Result<()> {
    tx.put_json(LAST_WINDOW, &samples::window(obs))
}

/// The samples the previous cycle kept (empty on the first cycles).
pub fn previous_window(records: &Records) -> Result<Samples> {
    Ok(records.read_json(LAST_WINDOW)?.unwrap_or_default())
}

/// How a proposal's change reached the deploy branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The branch itself is in the deploy branch's history (merge commit, fast-forward).
    Merge,
    /// One commit with the whole change: a squash (or the rebase of a one-commit branch).
    Squash,
    /// One commit carrying the proposal's `Improve-Proposal:` trailer whose diff is not
    /// exactly the branch's (a squash whose conflicts were resolved on the way).
    Trailer,
    /// Each of the branch's commits rewritten, in order.
    Rebase,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Merge => "merged",
            Method::Squash => "squash-merged",
            Method::Trailer => "squash-merged (found by its Improve-Proposal trailer)",
            Method::Rebase => "rebase-merged",
        }
    }
}

/// Where a proposal's change landed on the deploy branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landing {
    pub method: Method,
    /// The deploy branch's commit before the change (the backup).
    pub before: Oid,
    /// The first commit on the deploy branch's first-parent line holding all of it.
    pub landed: Oid,
}

/// A commit the tool itself wrote on the deploy branch: a deploy, a revert, an
/// experiment's start or end. Never a human's merge, whatever trailer it carries.
fn is_tool_commit(message: &str) -> bool {
    message.starts_with("improve: ")
        || message
            .lines()
            .any(|l| l.starts_with("Improve-Deployment:") || l.starts_with("Improve-Rollback:"))
}

/// True when `message` carries `Improve-Proposal: <id>` on a line of its own (a
/// squash message lists the branch's commit messages, so not only the last paragraph).
fn names_proposal(message: &str, id: &str) -> bool {
    message
        .lines()
        .any(|l| l.trim().strip_prefix("Improve-Proposal:").map(str::trim) == Some(id))
}

/// Where `p`'s change landed on the deploy branch, if a human merged it by any method.
pub fn landing(ctx: &Ctx, p: &Proposal) -> Result<Option<Landing>> {
    let git = ctx.git;
    let Ok(base) = Oid::from_str(&p.base_commit) else {
        return Ok(None);
    };
    let tip = match git.ref_oid(&p.branch)? {
        Some(t) => t,
        None => match Oid::from_str(&p.branch_commit) {
            Ok(t) if git.find_commit(t).is_ok() => t,
            _ => return Ok(None),
        },
    };
    let deploy_tip = ctx.deploy_tip()?;
    if tip == base || !git.is_ancestor(base, deploy_tip)? {
        return Ok(None);
    }
    let line = git.first_parent_between(Some(base), deploy_tip)?;
    let own = git.commits_between(Some(base), tip)?;
    if git.is_ancestor(tip, deploy_tip)? {
        let first = own.first().copied().unwrap_or(tip);
        return Ok(span(git, &line, first, tip, Method::Merge));
    }
    // Squash or rebase: the change under other commits since the branch's base.
    let whole = git.patch_id(base, tip)?;
    let mut own_ids = vec![];
    for c in &own {
        own_ids.push(git.commit_patch_id(*c)?);
    }
    let paths = git.changed_paths(base, tip)?;
    let mut rebased: Vec<Oid> = vec![];
    let mut by_trailer = None;
    for c in git.commits_between(Some(base), deploy_tip)? {
        let message = git.message(c)?;
        if is_tool_commit(&message) {
            continue;
        }
        if names_proposal(&message, &p.id) && by_trailer.is_none() {
            by_trailer = Some(c);
        }
        // Only a commit that touches the branch's files can carry its change: the
        // others cost two tree lookups instead of a diff.
        if !touches(git, c, &paths)? {
            continue;
        }
        let id = git.commit_patch_id(c)?;
        if id.is_some() && id == whole {
            return Ok(span(git, &line, c, c, Method::Squash));
        }
        if id.is_some() && own_ids.get(rebased.len()) == Some(&id) {
            rebased.push(c);
            if rebased.len() == own_ids.len() {
                return Ok(span(git, &line, rebased[0], c, Method::Rebase));
            }
            continue;
        }
    }
    Ok(by_trailer.and_then(|c| span(git, &line, c, c, Method::Trailer)))
}

/// True when `commit` changes one of `paths` against its only parent.
fn touches(git: &Git, commit: Oid, paths: &[String]) -> Result<bool> {
    let [parent] = git.parents(commit)?[..] else {
        return Ok(false);
    };
    for path in paths {
        if git.blob_id(parent, path)? != git.blob_id(commit, path)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The landing of the commits `first`..=`last` (in the deploy branch's history): the
/// first-parent commits that first hold each, and the backup before them.
fn span(git: &Git, line: &[Oid], first: Oid, last: Oid, method: Method) -> Option<Landing> {
    let holding = |c: Oid| {
        line.iter()
            .copied()
            .find(|l| git.is_ancestor(c, *l).unwrap_or(false))
    };
    let start = holding(first)?;
    let landed = holding(last)?;
    let before = git.parents(start).ok()?.first().copied()?;
    Some(Landing {
        method,
        before,
        landed,
    })
}

/// Records the merge of `p` (landed as `at`) as a deployment and starts monitoring
/// it. `before`: the previous window's samples.
pub fn adopt(
    ctx: &mut Ctx,
    p: &mut Proposal,
    at: Landing,
    obs: &Observation,
    before: &Samples,
) -> Result<String> {
    let git = ctx.git;
    let by = git.author(at.landed)?;
    let ts = ctx.ts();
    let id = ctx.records.next_id("deployments", "D-", 4)?;
    let how = at.method.as_str();
    let d = Deployment {
        id: id.clone(),
        proposal: p.id.clone(),
        status: DeployStatus::Monitoring,
        tier: None,
        approved_by: Approver::human(&by),
        branch: ctx.cfg.deploy_branch.clone(),
        backup_tag: format!("improve/backup/{id}"),
        backup_commit: at.before.to_string(),
        deploy_tag: format!("improve/deploy/{id}"),
        deploy_commit: at.landed.to_string(),
        deployed_at: ts.clone(),
        baseline: if before.is_empty() {
            samples::window(obs)
        } else {
            before.clone()
        },
        checks: vec![],
        degraded_in_a_row: 0,
        rollback_commit: None,
        rollback_tag: None,
        rollback_due: None,
        reason: Some(format!("{how} by {by}")),
        ended_at: None,
        effect: None,
    };
    git.tag(&d.backup_tag, at.before)?;
    git.tag(&d.deploy_tag, at.landed)?;
    p.status = Status::Deployed;
    p.approved_by = Some(Approver::human(&by));
    p.deployment = Some(id.clone());
    p.push_event(
        &ts,
        format!(
            "{how} into {} by {by} (commit {}): approved and deployed as {id}",
            ctx.cfg.deploy_branch,
            &at.landed.to_string()[..12]
        ),
        Some(&by),
    );
    finish(ctx, p, &d, "deployed", Some(FixOutcome::Deployed))?;
    Ok(format!(
        "{}: {} {how} by {by}; recorded as deployment {id} and monitored",
        p.id, p.branch
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_commits_and_trailers_are_told_apart() {
        assert!(is_tool_commit(
            "P-0001: tune\n\nx\n\nImprove-Proposal: P-0001\nImprove-Deployment: D-0001\n"
        ));
        assert!(is_tool_commit(
            "improve: start canary for P-0001\n\nImprove-Proposal: P-0001\n"
        ));
        assert!(!is_tool_commit(
            "P-0001: tune (#3)\n\nbody\n\nImprove-Proposal: P-0001\n"
        ));
        let squash = "Tune (#3)\n\n* P-0001: tune\n\nImprove-Proposal: P-0001\n\n* fix typo\n";
        assert!(names_proposal(squash, "P-0001"));
        assert!(!names_proposal(squash, "P-0010"));
        assert!(!names_proposal(
            "mentions Improve-Proposal: P-0001 inline",
            "P-0001"
        ));
    }
}
