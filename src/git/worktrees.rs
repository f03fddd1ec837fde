//! Other worktrees and humans mid-operation: which worktree has a branch checked out
//! (or is rebasing or bisecting it), and whether a rebase, merge, cherry-pick, revert
//! or bisect is in progress anywhere. Read from the git directories as git does.

use super::Git;
use crate::error::GitRefusal;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// One worktree of the repository, main or linked.
#[derive(Debug, Clone)]
pub struct Worktree {
    /// Its working directory (may be gone for a worktree awaiting `git worktree prune`).
    pub path: PathBuf,
    /// Its own git directory (`.git`, or `.git/worktrees/<name>`).
    pub gitdir: PathBuf,
    /// This process's worktree.
    pub current: bool,
}

impl Worktree {
    fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.gitdir.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// The branch HEAD points at (full ref name), if it is on a branch.
    fn head_ref(&self) -> Option<String> {
        self.read("HEAD")?.strip_prefix("ref: ").map(str::to_string)
    }

    /// The operation a human is in the middle of here, and how to get out of it.
    fn operation(&self) -> Option<(&'static str, &'static str)> {
        let has = |n: &str| self.gitdir.join(n).exists();
        if has("rebase-merge") || (has("rebase-apply") && !has("rebase-apply/applying")) {
            Some((
                "rebase",
                "finish it (git rebase --continue) or abort it (git rebase --abort)",
            ))
        } else if has("rebase-apply") {
            Some((
                "am",
                "finish it (git am --continue) or abort it (git am --abort)",
            ))
        } else if has("MERGE_HEAD") {
            Some(("merge", "commit the merge or abort it (git merge --abort)"))
        } else if has("CHERRY_PICK_HEAD") || (has("sequencer/todo") && !has("REVERT_HEAD")) {
            Some((
                "cherry-pick",
                "finish it (git cherry-pick --continue) or abort it (git cherry-pick --abort)",
            ))
        } else if has("REVERT_HEAD") {
            Some((
                "revert",
                "finish it (git revert --continue) or abort it (git revert --abort)",
            ))
        } else if has("BISECT_LOG") || has("BISECT_START") {
            Some(("bisect", "end it (git bisect reset)"))
        } else {
            None
        }
    }

    /// How this worktree uses `full` (refs/heads/...), if it does: git refuses to
    /// move a branch that another worktree has checked out, or that any worktree is
    /// rebasing or bisecting (`find_shared_symref` in git's worktree.c).
    fn uses(&self, full: &str) -> Option<String> {
        let short = full.trim_start_matches("refs/heads/");
        for dir in ["rebase-merge", "rebase-apply"] {
            if self.read(&format!("{dir}/head-name")).as_deref() == Some(full) {
                return Some("being rebased".into());
            }
        }
        if self.read("BISECT_START").as_deref() == Some(short) {
            return Some("being bisected".into());
        }
        if !self.current && self.head_ref().as_deref() == Some(full) {
            return Some(if self.path.exists() {
                "checked out".into()
            } else {
                "checked out (its directory is gone: git worktree prune)".into()
            });
        }
        None
    }
}

impl Git {
    /// The git directory shared by every worktree (`.git` of the main one).
    pub fn common_dir(&self) -> PathBuf {
        self.repo.commondir().to_path_buf()
    }

    /// Every worktree of the repository: the main one first (unless the repository
    /// is bare), then the linked ones.
    pub fn worktrees(&self) -> Result<Vec<Worktree>> {
        let common = self.common_dir();
        let here = canonical(self.repo.path());
        let mut out = vec![];
        let main_dir = git2::Repository::open(&common)
            .ok()
            .and_then(|r| r.workdir().map(Path::to_path_buf));
        if let Some(path) = main_dir {
            out.push(Worktree {
                path,
                current: canonical(&common) == here,
                gitdir: common.clone(),
            });
        }
        let linked = match std::fs::read_dir(common.join("worktrees")) {
            Ok(d) => d,
            Err(_) => return Ok(out),
        };
        for entry in linked.flatten() {
            let gitdir = entry.path();
            let Ok(dotgit) = std::fs::read_to_string(gitdir.join("gitdir")) else {
                continue;
            };
            let dotgit = PathBuf::from(dotgit.trim());
            let path = dotgit.parent().map(Path::to_path_buf).unwrap_or(dotgit);
            out.push(Worktree {
                path,
                current: canonical(&gitdir) == here,
                gitdir,
            });
        }
        Ok(out)
    }

    /// Whether `branch` may not be moved because of a worktree: checked out in
    /// another one, or being rebased or bisected in any (this one included).
    pub fn worktree_conflict(&self, branch: &str) -> Result<Option<GitRefusal>> {
        let full = super::full_ref(branch);
        for wt in self.worktrees()? {
            if let Some(how) = wt.uses(&full) {
                return Ok(Some(GitRefusal::BranchInUse {
                    branch: branch.to_string(),
                    worktree: wt.path,
                    how,
                }));
            }
        }
        Ok(None)
    }

    /// Every rebase, am, merge, cherry-pick, revert or bisect in progress, in any
    /// worktree of the repository.
    pub fn operations_in_progress(&self) -> Result<Vec<GitRefusal>> {
        Ok(self
            .worktrees()?
            .into_iter()
            .filter_map(|wt| {
                let (operation, advice) = wt.operation()?;
                Some(GitRefusal::OperationInProgress {
                    operation,
                    worktree: wt.path,
                    advice,
                })
            })
            .collect())
    }

    /// The operation a human is in the middle of in this process's worktree.
    pub(super) fn operation_here(&self) -> Result<Option<GitRefusal>> {
        Ok(self
            .worktrees()?
            .into_iter()
            .find(|w| w.current)
            .and_then(|wt| {
                let (operation, advice) = wt.operation()?;
                Some(GitRefusal::OperationInProgress {
                    operation,
                    worktree: wt.path,
                    advice,
                })
            }))
    }

    /// The first operation a human is in the middle of, in any worktree.
    pub fn operation_in_progress(&self) -> Result<Option<GitRefusal>> {
        Ok(self.operations_in_progress()?.into_iter().next())
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
