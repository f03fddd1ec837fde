//! True and actionable messages for what git or the host refuses: a disk that is full
//! (libgit2 sometimes fails without a reason, which printed "no error"), a repository
//! owned by another user, a shallow clone, a branch behind or diverged from its
//! upstream. Each says what to do.

use super::Git;
use crate::error::GitRefusal;
use anyhow::{anyhow, Result};
use git2::{ErrorClass, Oid};
use std::path::{Path, PathBuf};

/// Below this much free space, a failed write is most likely the full disk.
const LOW_SPACE: u64 = 1 << 20;

/// Bytes available to us on the filesystem holding `path`.
pub(crate) fn free_space(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the zeroed struct we own from a valid C string.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return None;
        }
        Some(s.f_bavail as u64 * s.f_frsize as u64)
    }
}

/// A libgit2 failure while doing `what`, told truthfully: its own message without
/// the class/code noise; when libgit2 gave no reason ("no error"), what we can tell
/// (the free space where the repository lives), never "no error".
pub(crate) fn explain(e: git2::Error, what: impl Into<String>, free: Option<u64>) -> anyhow::Error {
    let what = what.into();
    let silent =
        e.class() == ErrorClass::None || e.message().trim().is_empty() || e.message() == "no error";
    let full_msg = e.message().contains("No space left") || e.message().contains("quota");
    let low = free.filter(|f| *f < LOW_SPACE);
    let said = if silent {
        format!(
            "git (libgit2) failed without giving a reason (code {:?})",
            e.code()
        )
    } else {
        e.message().to_string()
    };
    let why = match low {
        // Whatever libgit2 said (a missing object it failed to write, or nothing),
        // a nearly full disk is worth saying: it is the likely cause.
        Some(f) => format!(
            "{said}; the filesystem holding the repository has only {} KiB free, the likely cause: free some space and run again",
            f / 1024
        ),
        None if full_msg => format!("{said}; the filesystem is full: free some space and run again"),
        None if silent => format!("{said}; run again with RUST_LOG=debug and report it"),
        None => said,
    };
    anyhow!("{what}: {why}")
}

/// The error of opening the repository at `path`: ownership gets its own refusal
/// with the command that resolves it; anything else says where it looked.
pub(crate) fn not_owner_or(e: git2::Error, path: &Path) -> anyhow::Error {
    if e.code() == git2::ErrorCode::Owner {
        return GitRefusal::NotOwner {
            path: repository_root(path),
        }
        .into();
    }
    anyhow::Error::new(e).context(format!("{} is not inside a git repository", path.display()))
}

/// The nearest directory at or above `path` holding `.git` (what `safe.directory`
/// wants), else `path` itself.
fn repository_root(path: &Path) -> PathBuf {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    abs.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&abs)
        .to_path_buf()
}

/// Where a branch stands against its upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// No upstream configured, or not known locally.
    None,
    UpToDate,
    /// Local commits not pushed yet: fine to deploy on.
    Ahead(usize),
    /// The upstream has commits the branch lacks: fast-forward it first.
    Behind(usize),
    /// Both: a human must reconcile them.
    Diverged {
        ahead: usize,
        behind: usize,
    },
}

impl Git {
    /// A libgit2 failure while doing `what`, with the free space of the repository's
    /// filesystem consulted (see [`explain`]).
    pub(crate) fn explain(&self, e: git2::Error, what: impl Into<String>) -> anyhow::Error {
        explain(e, what, free_space(self.repo.path()))
    }

    /// Refuses in a shallow clone: history the tool needs for `what` is cut off.
    pub fn ensure_full_history(&self, what: &str) -> Result<()> {
        if self.repo.is_shallow() {
            return Err(GitRefusal::Shallow {
                path: self.root(),
                what: what.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// True when `commit` is a grafted boundary of a shallow clone (its parents are
    /// not in this clone).
    pub(super) fn is_grafted(&self, commit: Oid) -> bool {
        if !self.repo.is_shallow() {
            return false;
        }
        let hex = commit.to_string();
        std::fs::read_to_string(self.common_dir().join("shallow"))
            .map(|s| s.lines().any(|l| l.trim() == hex))
            .unwrap_or(false)
    }

    /// How `branch` relates to its upstream (commits ahead and behind).
    pub fn upstream_relation(&self, branch: &str) -> Result<Upstream> {
        let (Some(local), Some(up)) = (self.ref_oid(branch)?, self.upstream_oid(branch)?) else {
            return Ok(Upstream::None);
        };
        let (ahead, behind) = self
            .repo
            .graph_ahead_behind(local, up)
            .map_err(|e| self.explain(e, format!("comparing {branch} with its upstream")))?;
        Ok(match (ahead, behind) {
            (0, 0) => Upstream::UpToDate,
            (a, 0) => Upstream::Ahead(a),
            (0, b) => Upstream::Behind(b),
            (ahead, behind) => Upstream::Diverged { ahead, behind },
        })
    }

    /// Refuses a branch that is behind or diverged from its upstream, saying which
    /// and what to do; ahead (unpushed commits) is fine.
    pub fn require_upstream_ok(&self, branch: &str) -> Result<()> {
        let upstream = self
            .upstream_name(branch)
            .unwrap_or_else(|| "its upstream".into());
        let (relation, advice) = match self.upstream_relation(branch)? {
            Upstream::None | Upstream::UpToDate | Upstream::Ahead(_) => return Ok(()),
            Upstream::Behind(n) => (
                format!("{n} commit{} behind", if n == 1 { "" } else { "s" }),
                format!("fast-forward it first: git checkout {branch} && git merge --ff-only {upstream}"),
            ),
            Upstream::Diverged { ahead, behind } => (
                format!("diverged ({ahead} ahead, {behind} behind) from"),
                "a human must reconcile them (merge or rebase, then push); improve never deploys onto a diverged branch".to_string(),
            ),
        };
        Err(GitRefusal::Upstream {
            branch: branch.to_string(),
            upstream,
            relation,
            advice,
        }
        .into())
    }

    fn upstream_name(&self, branch: &str) -> Option<String> {
        let b = self
            .repo
            .find_branch(branch, git2::BranchType::Local)
            .ok()?;
        let u = b.upstream().ok()?;
        u.name().ok().flatten().map(str::to_string)
    }
}
