//! Every step of a deploy after its commit landed: the verification command (stopped
//! at `rollback_timeout` or the cycle's deadline), then monitoring, or the revert a
//! failed verification calls for. One function, run by the deploy and again by
//! `recover` for a deploy an interruption cut short, so a resumed deploy is verified
//! (and restored when that fails) exactly like any other.

use super::outcome::finish;
use super::{Check, DeployStatus, Deployment, VerifyCheck};
use crate::command::Outcome as RunOutcome;
use crate::context::Ctx;
use crate::crash;
use crate::store::library::Outcome as FixOutcome;
use crate::store::proposals::{Proposal, Status};
use anyhow::Result;
use git2::Oid;
use serde_json::json;

/// Every step after the deploy commit landed at `commit`: verification, then
/// monitoring, or a revert when verification fails. Run by the deploy, and again by
/// `recover` for a deploy an interruption cut short (`resumed`). Returns true when
/// the cycle's deadline stopped the verification: the deployment stays `deploying`
/// and the next cycle verifies it.
pub(super) fn complete(
    ctx: &mut Ctx,
    p: &mut Proposal,
    d: &mut Deployment,
    commit: Oid,
    resumed: bool,
) -> Result<bool> {
    let ts = ctx.ts();
    let after = if resumed {
        " (completed after an interruption)"
    } else {
        ""
    };
    match verify(ctx, d, commit)? {
        Verified::Deferred => {
            d.deploy_commit = commit.to_string();
            d.reason = Some("verification deferred: the cycle's time budget ended; the next cycle verifies it before it is monitored".into());
            let mut tx = ctx.tx();
            super::put(&mut tx, d)?;
            tx.audit(
                "deploy",
                "verification_deferred",
                &d.id,
                json!({"proposal": p.id, "commit": d.deploy_commit}),
            );
            ctx.commit(tx, &format!("{}: verification deferred", d.id))?;
            Ok(true)
        }
        Verified::Failed { why, blames_fix } => {
            crash::point("deploy-before-restore");
            // Restore by reverting our own commit: history is never rewritten, even
            // the tool's own (a push may already have published it).
            d.status = match super::rollback::revert_commit_onto(ctx, d, "verification failed")? {
                Ok(_) => {
                    d.reason = Some(format!("{why}; the backup state was restored{after}"));
                    DeployStatus::Failed
                }
                Err(paths) => {
                    d.reason = Some(format!(
                        "{why}; the revert conflicts in {} and was not forced: a human must restore the backup state",
                        paths.join(", ")
                    ));
                    DeployStatus::RollbackFailed
                }
            };
            p.status = Status::Failed;
            p.push_event(
                &ts,
                format!("deploy {} failed verification; restored{after}", d.id),
                None,
            );
            let outcome = blames_fix.then_some(FixOutcome::Failed);
            finish(ctx, p, d, "failed", outcome)?;
            Ok(false)
        }
        Verified::Passed => {
            crash::point("deploy-before-record");
            d.reason = None;
            d.status = DeployStatus::Monitoring;
            p.status = Status::Deployed;
            p.deployment = Some(d.id.clone());
            p.push_event(
                &ts,
                format!(
                    "deployed as {} (commit {}){after}",
                    d.id,
                    &d.deploy_commit[..12]
                ),
                Some(&d.approved_by.to_string()),
            );
            finish(ctx, p, d, "deployed", Some(FixOutcome::Deployed))?;
            Ok(false)
        }
    }
}

/// What the verification command said about a deployed tree.
enum Verified {
    /// It passed, or none is configured.
    Passed,
    /// It failed, timed out or could not be run. `blames_fix`: the change failed it
    /// (not a command that could not start).
    Failed { why: String, blames_fix: bool },
    /// The cycle's deadline stopped it (or came before it could start).
    Deferred,
}

/// Runs the verification command on the deployed tree, stopped at
/// `rollback_timeout` or the cycle's deadline. A run that gives a verdict is kept as
/// one of the deployment's checks.
fn verify(ctx: &Ctx, d: &mut Deployment, commit: Oid) -> Result<Verified> {
    let cfg = ctx.cfg;
    if cfg.deployment.verify_command.is_empty() {
        return Ok(Verified::Passed);
    }
    let dir = tempfile::tempdir()?;
    ctx.git.export_tree(commit, dir.path())?;
    let timeout = std::time::Duration::from_millis(
        cfg.dur(&cfg.deployment.rollback_timeout)
            .num_milliseconds()
            .max(1000) as u64,
    );
    let run = crate::command::run_limited(
        &cfg.deployment.verify_command,
        dir.path(),
        &[],
        None,
        ctx.limits(timeout),
    )?;
    let outcome = run.outcome();
    if outcome == RunOutcome::DeadlineReached {
        return Ok(Verified::Deferred);
    }
    d.checks.push(Check::Verify(VerifyCheck {
        verify: run.argv.clone(),
        exit_code: run.exit_code,
        timed_out: run.timed_out,
        output: run.output_tail.clone(),
    }));
    Ok(match outcome {
        RunOutcome::Passed => Verified::Passed,
        RunOutcome::CouldNotRun => Verified::Failed {
            why: format!(
                "the verification command could not be run ({})",
                run.spawn_error.clone().unwrap_or_default()
            ),
            blames_fix: false,
        },
        RunOutcome::TimedOut => Verified::Failed {
            why: format!(
                "the verification command did not finish within {}",
                cfg.deployment.rollback_timeout
            ),
            blames_fix: true,
        },
        _ => Verified::Failed {
            why: format!(
                "the verification command failed ({})",
                match (run.exit_code, run.signal) {
                    (Some(c), _) => format!("exit code {c}"),
                    (None, Some(s)) => format!("killed by signal {s}"),
                    _ => "no exit code".into(),
                }
            ),
            blames_fix: true,
        },
    })
}
