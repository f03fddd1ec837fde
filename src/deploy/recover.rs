//! Deploys a cycle left half done. A deployment found `deploying` is completed from
//! the deploy commit its trailer names by running every step it skipped — tags,
//! verification, then monitoring or the restore a failed verification calls for —
//! through the same `complete` a deploy runs; a restore that already
//! landed is recorded, never made twice. When the process died before the deploy
//! commit, the deployment is marked failed so the still-approved proposal deploys
//! again.

use super::complete::complete;
use super::deployer::summary;
use super::outcome::finish;
use super::{DeployStatus, Deployment};
use crate::context::Ctx;
use crate::git::{trailers, Git};
use crate::store::library::Outcome as FixOutcome;
use crate::store::proposals::{self, Status};
use anyhow::Result;
use git2::Oid;

/// Completes the deployments a crashed cycle left `deploying`; one line each. One
/// that cannot be completed now (git refused the restore: a lock, a rebase) stays
/// `deploying`, is reported, and is completed by a later cycle; no new deploy starts
/// meanwhile (see `deployer::preflight`).
pub fn recover(ctx: &mut Ctx) -> Result<Vec<String>> {
    let mut lines = vec![];
    for d in super::load_live(&ctx.records)? {
        if d.status != DeployStatus::Deploying {
            continue;
        }
        let id = d.id.clone();
        match recover_one(ctx, d) {
            Ok(Some(l)) => lines.push(l),
            Ok(None) => {}
            Err(e) => {
                lines.push(format!(
                    "{id}: the interrupted deploy could not be completed this cycle (retried next cycle): {e:#}"
                ));
                ctx.records.refresh()?;
            }
        }
    }
    Ok(lines)
}

/// The commit on the deploy branch since `from` whose trailer names deployment `id`
/// (and, with `reverts`, whose message says it reverts that commit).
fn find(git: &Git, from: Oid, tip: Oid, id: &str, reverts: Option<Oid>) -> Result<Option<Oid>> {
    for c in git.commits_between(Some(from), tip)? {
        let m = git.message(c)?;
        let ours = trailers(&m).get("Improve-Deployment").map(String::as_str) == Some(id);
        let reverting = reverts.map(|r| m.contains(&format!("This reverts commit {r}")));
        if ours && reverting.unwrap_or(!m.contains("This reverts commit ")) {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

fn recover_one(ctx: &mut Ctx, mut d: Deployment) -> Result<Option<String>> {
    let git = ctx.git;
    let Some(mut p) = proposals::load(&ctx.records, &d.proposal)? else {
        return Ok(None);
    };
    let tip = ctx.deploy_tip()?;
    let backup = Oid::from_str(&d.backup_commit)?;
    let ts = ctx.ts();
    let Some(c) = find(git, backup, tip, &d.id, None)? else {
        d.status = DeployStatus::Failed;
        d.reason = Some("interrupted before the deploy commit; the proposal deploys again".into());
        p.push_event(
            &ts,
            format!(
                "deploy {} was interrupted before its commit; retrying",
                d.id
            ),
            None,
        );
        finish(ctx, &p, &d, "interrupted", None)?;
        return Ok(Some(format!(
            "{}: an interrupted deploy of {} left no commit; it is retried",
            d.id, p.id
        )));
    };
    git.tag(&d.backup_tag, backup)?;
    git.tag(&d.deploy_tag, c)?;
    d.deploy_commit = c.to_string();
    // Verification failed and its restore landed before the interruption: record it.
    if let Some(r) = find(git, c, tip, &d.id, Some(c))? {
        let tag = format!("improve/rollback/{}", d.id);
        git.tag(&tag, r)?;
        d.rollback_commit = Some(r.to_string());
        d.rollback_tag = Some(tag);
        d.status = DeployStatus::Failed;
        d.reason = Some(
            "the verification failed and the backup state was restored (recorded after an interruption)"
                .into(),
        );
        p.status = Status::Failed;
        p.push_event(
            &ts,
            format!("deploy {} failed verification; restored", d.id),
            None,
        );
        finish(ctx, &p, &d, "failed", Some(FixOutcome::Failed))?;
        return Ok(Some(format!(
            "{}: an interrupted deploy of {} had failed verification and was restored; recorded",
            d.id, p.id
        )));
    }
    let deferred = complete(ctx, &mut p, &mut d, c, true)?;
    Ok(Some(match d.status {
        _ if deferred => format!(
            "{}: the deploy of {} is still unverified: the time budget ended during its verification; verified next cycle",
            d.id, p.id
        ),
        DeployStatus::Monitoring => format!(
            "{}: completed an interrupted deploy of {}: verified, now monitored",
            d.id, p.id
        ),
        _ => summary(ctx, &p, &d),
    }))
}
