//! The one way a drafted proposal becomes real: its branch commit (objects only, on
//! top of the deploy branch) and its records (proposal.yaml, change.patch, PR_BODY.md
//! and an audit entry) in the caller's records transaction. The branch ref itself is
//! created after that transaction lands (`store::proposals::ensure_branches`), so a
//! crash in between leaves a record the next cycle repairs, never a stray branch.

use super::generate::Draft;
use super::render;
use crate::clock::Timestamp;
use crate::git::Git;
use crate::records::Tx;
use crate::sanitize;
use crate::store::proposals::{self, Proposal};
use anyhow::Result;
use git2::Oid;
use serde_json::json;

/// Writes `d`'s branch commit on `deploy_tip` and puts its records into `tx`.
pub fn persist(
    git: &Git,
    deploy_tip: Oid,
    d: &mut Draft,
    tx: &mut Tx,
    now: Timestamp,
) -> Result<()> {
    let body = render::pr_body(&d.proposal);
    // The body is the PR description, with log text in it: no line of it may read as
    // a trailer (`Improve-Tier: auto`) of the commit a human may merge. The one
    // trailer names the proposal wherever its change lands: a forge's squash message
    // keeps it, so the merge is recognised even when the diff was touched.
    let msg = format!(
        "{}\n\n{}\n\nImprove-Proposal: {}\n",
        sanitize::commit_subject(&d.proposal.title),
        sanitize::commit_body(body.trim_end()),
        d.proposal.id
    );
    let oid = git.commit_changes(Some(deploy_tip), &d.files, &msg, now)?;
    d.proposal.branch_commit = oid.to_string();
    let p: &Proposal = &d.proposal;
    proposals::put(tx, p)?;
    tx.put(&proposals::patch_path(&p.id), d.patch.clone().into_bytes());
    tx.put(&proposals::body_path(&p.id), body.into_bytes());
    tx.audit(
        "propose",
        "proposed",
        &p.id,
        json!({"type": p.kind.as_str(), "target": p.target, "change": p.change.summary, "branch": p.branch, "commit": p.branch_commit, "conflicts": p.conflicts}),
    );
    Ok(())
}
