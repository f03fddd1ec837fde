//! Deploys a cycle left half done: a deployment found `deploying` is completed from
//! the deploy commit its trailer names, or, when the process died before that commit,
//! marked failed so the still-approved proposal deploys again.

use super::outcome::finish;
use super::{DeployStatus, Deployment};
use crate::context::Ctx;
use crate::git::trailers;
use crate::store::library::Outcome as FixOutcome;
use crate::store::proposals;
use anyhow::Result;
use git2::Oid;

/// Completes the deployments a crashed cycle left `deploying`; one line each.
pub fn recover(ctx: &mut Ctx) -> Result<Vec<String>> {
    let mut lines = vec![];
    for d in super::load_all(&ctx.records)? {
        if d.status == DeployStatus::Deploying {
            if let Some(l) = recover_one(ctx, d)? {
                lines.push(l);
            }
        }
    }
    Ok(lines)
}

fn recover_one(ctx: &mut Ctx, mut d: Deployment) -> Result<Option<String>> {
    let git = ctx.git;
    let Some(mut p) = proposals::load(&ctx.records, &d.proposal)? else {
        return Ok(None);
    };
    let tip = ctx.deploy_tip()?;
    let backup = Oid::from_str(&d.backup_commit)?;
    let found = git
        .commits_between(Some(backup), tip)?
        .into_iter()
        .find(|c| {
            git.message(*c)
                .map(|m| trailers(&m).get("Improve-Deployment") == Some(&d.id))
                .unwrap_or(false)
        });
    let ts = ctx.ts();
    let Some(c) = found else {
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
    d.status = DeployStatus::Monitoring;
    p.status = proposals::Status::Deployed;
    p.deployment = Some(d.id.clone());
    p.push_event(
        &ts,
        format!("deploy {} completed after an interruption", d.id),
        None,
    );
    finish(ctx, &p, &d, "deployed", Some(FixOutcome::Deployed))?;
    Ok(Some(format!(
        "{}: completed an interrupted deploy of {}",
        d.id, p.id
    )))
}
