//! A human's new commits on a proposal branch are a modification of the proposal:
//! whatever was validated or approved before no longer holds, so it is validated
//! again (and never rewritten by the tool: the branch is the human's now).

use crate::context::Ctx;
use crate::store::proposals::{self, Proposal, Status};
use anyhow::Result;
use git2::Oid;
use serde_json::json;

/// Sends `p` back to validation when its branch has commits it was not validated at.
/// Returns true when it did.
pub fn revalidate_if_modified(ctx: &mut Ctx, p: &mut Proposal, branch_tip: Oid) -> Result<bool> {
    if p.branch_commit.is_empty() || branch_tip.to_string() == p.branch_commit {
        return Ok(false);
    }
    let author = ctx.git.author(branch_tip)?;
    p.branch_commit = branch_tip.to_string();
    p.status = Status::Proposed;
    p.approved_by = None;
    p.push_event(
        &ctx.ts(),
        "the branch has new commits: re-validating",
        Some(&author),
    );
    let mut tx = ctx.tx();
    proposals::put(&mut tx, p)?;
    tx.audit(
        "validate",
        "modified",
        &p.id,
        json!({"commit": p.branch_commit, "by": author}),
    );
    ctx.commit(tx, &format!("{}: modified", p.id))?;
    Ok(true)
}
