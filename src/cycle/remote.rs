//! The remote a cycle works against: the `--push` remote, else the deploy branch's
//! upstream remote. It is fetched first (deploy branch, proposal branches, records),
//! so a merge made on the forge is seen by this cycle; the local deploy branch is
//! fast-forwarded when the working tree allows, and a real divergence stops deploys.
//! With `--push`, what the tool committed is published at the end, fast-forward only:
//! a rejected push is an error, never a note. The system git does the network work,
//! so the user's credentials and transports apply.

use crate::config::Config;
use crate::context::Ctx;
use crate::git::{Git, ObjectId as Oid};
use crate::store::proposals;
use anyhow::{anyhow, Result};

/// Where proposal branches live (`improve/proposal/P-0007`).
const PROPOSAL_PREFIX: &str = "improve/proposal/";

/// The remote of this cycle.
#[derive(Debug, Clone)]
pub struct Remote {
    /// A remote name (`origin`), or a URL or path given to `--push`.
    pub name: String,
    /// A configured remote: it has remote-tracking refs to compare with.
    pub named: bool,
    /// `--push` was given: the cycle publishes what it committed.
    pub push: bool,
    /// The deploy branch's name on the remote (`main`).
    pub deploy_branch: String,
}

impl Remote {
    /// The remote of a cycle: `--push REMOTE`, else the deploy branch's upstream
    /// remote; None when there is neither.
    pub fn of(git: &Git, cfg: &Config, push: Option<&str>) -> Option<Remote> {
        let upstream = git.upstream_config(&cfg.deploy_branch);
        let (name, pushing) = match push {
            Some(p) => (p.to_string(), true),
            None => (upstream.as_ref()?.remote.clone(), false),
        };
        // The deploy branch goes where its upstream is, when that is on this remote.
        let deploy_branch = upstream
            .filter(|u| u.remote == name)
            .and_then(|u| u.merge.strip_prefix("refs/heads/").map(str::to_string))
            .unwrap_or_else(|| cfg.deploy_branch.clone());
        Some(Remote {
            named: git.is_remote(&name),
            name,
            push: pushing,
            deploy_branch,
        })
    }

    /// The remote-tracking ref of `branch` on this remote (`refs/remotes/origin/main`).
    fn tracking(&self, branch: &str) -> Option<String> {
        self.named
            .then(|| format!("refs/remotes/{}/{branch}", self.name))
    }

    /// Where the remote's `branch` was at the last fetch or push, if known.
    pub fn tip(&self, git: &Git, branch: &str) -> Result<Option<Oid>> {
        match self.tracking(branch) {
            Some(r) => git.ref_oid(&r),
            None => Ok(None),
        }
    }

    /// True when `branch` is known to be on the remote (a remote-tracking ref, or
    /// pushed there this cycle when the remote has none).
    pub fn has_branch(&self, git: &Git, branch: &str, pushed: &[String]) -> bool {
        if self.named {
            matches!(self.tip(git, branch), Ok(Some(_)))
        } else {
            pushed.iter().any(|b| b == branch)
        }
    }
}

/// What the fetch found and did.
#[derive(Debug, Default)]
pub struct Fetched {
    /// What moved, one line each (for the cycle's report).
    pub lines: Vec<String>,
    /// What could not be done (the cycle goes on with what is known locally).
    pub notes: Vec<String>,
    /// The deploy branch and its remote counterpart both have commits the other
    /// lacks: deploys stop and the cycle exits 1, naming both commits.
    pub diverged: Option<String>,
}

fn short(oid: Oid) -> String {
    oid.to_string()[..12].to_string()
}

/// Fetches `remote` and brings the local branches along where that is a fast-forward:
/// the deploy branch (when its working tree allows), proposal branches a human pushed
/// to, the records branch. Never moves a branch any other way.
pub fn fetch(git: &Git, cfg: &Config, remote: &Remote) -> Fetched {
    let mut out = Fetched::default();
    if !remote.named {
        out.notes.push(format!(
            "{} is not a configured remote, so it is not fetched and the deploy branch is not pushed to it (git remote add NAME URL, then --push NAME)",
            remote.name
        ));
        return out;
    }
    // The remote's configured refspec: every branch into refs/remotes/NAME/, tags left
    // alone (the tool's own are never moved, and a fetch must not fail over one).
    if let Err(e) = git.run_git(&["fetch", "--quiet", "--no-tags", &remote.name]) {
        out.notes.push(format!(
            "fetch from {} failed; working from what is known locally: {e:#}",
            remote.name
        ));
        return out;
    }
    if let Err(e) = sync_deploy_branch(git, cfg, remote, &mut out) {
        out.notes.push(format!("{}: {e:#}", cfg.deploy_branch));
    }
    if let Err(e) = sync_proposal_branches(git, remote, &mut out) {
        out.notes.push(format!("proposal branches: {e:#}"));
    }
    if let Err(e) = sync_records(git, cfg, remote, &mut out) {
        out.notes.push(format!("{}: {e:#}", cfg.records_branch));
    }
    out
}

fn sync_deploy_branch(git: &Git, cfg: &Config, remote: &Remote, out: &mut Fetched) -> Result<()> {
    let branch = &cfg.deploy_branch;
    let there = format!("{}/{}", remote.name, remote.deploy_branch);
    let (Some(local), Some(up)) = (
        git.ref_oid(branch)?,
        remote.tip(git, &remote.deploy_branch)?,
    ) else {
        return Ok(());
    };
    if local == up || git.is_ancestor(up, local)? {
        return Ok(());
    }
    if !git.is_ancestor(local, up)? {
        out.diverged = Some(format!(
            "{branch} (at {}) has diverged from {there} (at {}): each has commits the other lacks; deploys are stopped until a human reconciles them (merge or rebase, then push). improve never deploys onto a diverged branch and never force-pushes",
            short(local),
            short(up)
        ));
        return Ok(());
    }
    // Behind: fast-forward, as `git merge --ff-only` would, when nothing is in the way
    // (a dirty tree, a rebase in progress, the branch checked out elsewhere).
    match git.advance_branch(branch, local, up, &format!("improve: fast-forward to {there}")) {
        Ok(()) => out.lines.push(format!(
            "{branch} fast-forwarded to {there} ({}..{})",
            short(local),
            short(up)
        )),
        Err(e) => out.notes.push(format!(
            "{branch} is behind {there} and was not fast-forwarded ({e:#}); nothing deploys until it is"
        )),
    }
    Ok(())
}

/// Proposal branches a human pushed to on the forge: the local branch follows when it
/// is a fast-forward (the next step re-validates the new commits); a branch rewritten
/// there is left as it is here, and said.
fn sync_proposal_branches(git: &Git, remote: &Remote, out: &mut Fetched) -> Result<()> {
    let head = git.head_branch();
    for (name, there) in git.remote_branches(&remote.name, PROPOSAL_PREFIX)? {
        if head.as_deref() == Some(name.as_str()) {
            continue;
        }
        match git.ref_oid(&name)? {
            None => git.update_ref(
                &name,
                there,
                None,
                "improve: proposal branch from the remote",
            )?,
            Some(here) if here == there || git.is_ancestor(there, here)? => {}
            Some(here) if git.is_ancestor(here, there)? => {
                git.update_ref(
                    &name,
                    there,
                    Some(here),
                    "improve: fast-forward from the remote",
                )?;
                out.lines.push(format!(
                    "{name}: new commits on {} ({}..{}) fetched",
                    remote.name,
                    short(here),
                    short(there)
                ));
            }
            Some(here) => out.notes.push(format!(
                "{name} was rewritten on {} (at {}, here {}); left as it is here",
                remote.name,
                short(there),
                short(here)
            )),
        }
    }
    Ok(())
}

/// The records branch follows the remote's when that is a fast-forward (records
/// written from another clone); a divergence is left for the push to report.
fn sync_records(git: &Git, cfg: &Config, remote: &Remote, out: &mut Fetched) -> Result<()> {
    let branch = &cfg.records_branch;
    let Some(there) = remote.tip(git, branch)? else {
        return Ok(());
    };
    match git.ref_oid(branch)? {
        Some(here) if here != there && git.is_ancestor(here, there)? => {
            git.update_ref(
                branch,
                there,
                Some(here),
                "improve: fast-forward from the remote",
            )?;
            out.lines
                .push(format!("{branch} fast-forwarded to {}", remote.name));
        }
        _ => {}
    }
    Ok(())
}

/// Pushes the proposal branches of open proposals that the remote lacks (so their
/// pull requests can be opened this cycle). Returns the branches pushed.
pub fn push_proposals(ctx: &Ctx, remote: &Remote) -> Result<Vec<String>> {
    let refs = proposal_refs(ctx, remote)?;
    push(ctx.git, remote, &refs)?;
    Ok(refs.into_iter().map(|(b, _)| b).collect())
}

/// The open proposals' branches that are not on the remote, or behind there.
fn proposal_refs(ctx: &Ctx, remote: &Remote) -> Result<Vec<(String, String)>> {
    let git = ctx.git;
    let mut refs = vec![];
    for p in proposals::load_all(&ctx.records)? {
        if !p.status.is_open() {
            continue;
        }
        let Some(here) = git.ref_oid(&p.branch)? else {
            continue;
        };
        // Never over a branch a human moved on the remote: only new, or ahead here.
        let wanted = match remote.tip(git, &p.branch)? {
            None => true,
            Some(there) => there != here && git.is_ancestor(there, here)?,
        };
        if wanted {
            refs.push((p.branch.clone(), p.branch.clone()));
        }
    }
    Ok(refs)
}

/// Publishes what the tool committed, fast-forward only: the deploy branch when it is
/// ahead of the remote's (deploys, reverts, experiments), the tool's tags, open
/// proposal branches and the records branch. Any rejection is an error naming what
/// was refused; nothing is ever forced.
pub fn publish(ctx: &Ctx, remote: &Remote) -> Result<()> {
    let git = ctx.git;
    let cfg = ctx.cfg;
    let mut refs = proposal_refs(ctx, remote)?;
    if remote.named {
        let here = ctx.deploy_tip()?;
        let ahead = match remote.tip(git, &remote.deploy_branch)? {
            None => true,
            Some(there) => there != here && git.is_ancestor(there, here)?,
        };
        if ahead {
            refs.push((cfg.deploy_branch.clone(), remote.deploy_branch.clone()));
        }
    }
    if git.ref_oid(&cfg.records_branch)?.is_some() {
        refs.push((cfg.records_branch.clone(), cfg.records_branch.clone()));
    }
    push(git, remote, &refs)?;
    // The tool's tags (backup, deploy, rollback) travel after the commits they name.
    git.run_git(&[
        "push",
        "--porcelain",
        &remote.name,
        "refs/tags/improve/*:refs/tags/improve/*",
    ])
    .map_err(|e| anyhow!("pushing the improve/* tags to {}: {e:#}", remote.name))?;
    Ok(())
}

/// `git push REMOTE local:remote...`, never forced: the remote refuses anything but a
/// fast-forward, and that refusal is the error.
fn push(git: &Git, remote: &Remote, refs: &[(String, String)]) -> Result<()> {
    if refs.is_empty() {
        return Ok(());
    }
    let specs: Vec<String> = refs
        .iter()
        .map(|(here, there)| format!("refs/heads/{here}:refs/heads/{there}"))
        .collect();
    let mut args = vec!["push", "--porcelain", remote.name.as_str()];
    args.extend(specs.iter().map(String::as_str));
    git.run_git(&args).map(|_| ()).map_err(|e| {
        let names: Vec<&str> = refs.iter().map(|(b, _)| b.as_str()).collect();
        anyhow!(
            "push of {} to {} was refused or failed (nothing is ever forced; fetch, reconcile, and run again): {e:#}",
            names.join(", "),
            remote.name
        )
    })
}
