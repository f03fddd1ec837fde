//! Patch ids: the same change under another commit (a squash or a rebase on the forge,
//! a cherry-pick, a revert made there) is recognised by the hash of its diff, as `git
//! patch-id --stable` computes it: line numbers and whitespace do not count.

use super::Git;
use anyhow::Result;
use git2::Oid;

impl Git {
    /// The stable patch id of the change from `from` to `to` (any two commits), or
    /// None when their trees are the same.
    pub fn patch_id(&self, from: Oid, to: Oid) -> Result<Option<Oid>> {
        let a = self.tree_of(from)?;
        let b = self.tree_of(to)?;
        if a.id() == b.id() {
            return Ok(None);
        }
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&a), Some(&b), None)
            .map_err(|e| self.explain(e, format!("diffing {from}..{to}")))?;
        let id = diff
            .patchid(None)
            .map_err(|e| self.explain(e, format!("the patch id of {from}..{to}")))?;
        Ok(Some(id))
    }

    /// The patch id of `commit` against its only parent; None for a root, a merge or
    /// an empty commit (none of them is one change that could be matched).
    pub fn commit_patch_id(&self, commit: Oid) -> Result<Option<Oid>> {
        match self.parents(commit)?.as_slice() {
            [parent] => self.patch_id(*parent, commit),
            _ => Ok(None),
        }
    }
}
