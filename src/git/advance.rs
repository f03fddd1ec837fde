//! Moving a checked-out branch the way git does, all or nothing: the index lock is
//! taken first (created exclusively, so a human's git and ours exclude each other),
//! the files that differ are written, the new index is staged in the lock, the ref
//! moves with its expected old value, and only then does the lock become the index.
//! Any failure puts the files back and leaves the index and the ref as they were.

use super::Git;
use crate::error::GitRefusal;
use anyhow::{Context, Result};
use git2::{IndexEntry, IndexTime, Oid};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `.git/index.lock`, held by us: removed on drop unless committed.
struct IndexLock {
    path: PathBuf,
    file: Option<File>,
}

impl IndexLock {
    fn acquire(gitdir: &Path) -> Result<IndexLock> {
        let path = gitdir.join("index.lock");
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => Ok(IndexLock {
                path,
                file: Some(file),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(GitRefusal::IndexLocked { path }.into())
            }
            Err(e) => Err(crate::fsutil::io_error(
                e,
                format!("creating {}", path.display()),
            )),
        }
    }

    /// Writes the new index into the lock file (not yet in effect).
    fn stage(&mut self, bytes: &[u8]) -> Result<()> {
        let f = self.file.as_mut().expect("open until committed");
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| crate::fsutil::io_error(e, format!("writing {}", self.path.display())))
    }

    /// Puts the staged index in effect (git's own protocol: rename the lock).
    fn commit(mut self) -> Result<()> {
        self.file = None;
        let index = self.path.with_file_name("index");
        std::fs::rename(&self.path, &index).map_err(|e| {
            crate::fsutil::io_error(
                e,
                format!("renaming {} onto {}", self.path.display(), index.display()),
            )
        })
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Git {
    /// Everything that would refuse moving branch `name` now, checked without taking
    /// or writing anything: another worktree holding the branch, commit hooks improve
    /// would bypass, a foreign ref lock ([`GitRefusal::RefLocked`]) and, when it is
    /// checked out here, an operation in progress, a foreign `index.lock`
    /// ([`GitRefusal::IndexLocked`]) and a dirty tree. A caller that records its
    /// intent before moving (a deploy) checks first, so the common refusals leave no
    /// record behind; the move itself checks again, all or nothing. No lock is held
    /// in between: a process killed there must not leave `index.lock` behind for
    /// every human's git to trip on.
    pub fn check_move(&self, name: &str) -> Result<()> {
        if let Some(refusal) = self.worktree_conflict(name)? {
            return Err(refusal.into());
        }
        self.check_hooks_policy()?;
        self.no_ref_lock(name)?;
        if self.repo.is_bare() || self.head_branch().as_deref() != Some(name) {
            return Ok(());
        }
        if let Some(refusal) = self.operation_here()? {
            return Err(refusal.into());
        }
        let index_lock = self.repo.path().join("index.lock");
        if index_lock.exists() {
            return Err(GitRefusal::IndexLocked { path: index_lock }.into());
        }
        if !self.is_clean()? {
            return Err(GitRefusal::Dirty {
                worktree: self.root(),
                branch: name.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// A foreign `refs/heads/NAME.lock` refuses before any file is written (the ref
    /// update would fail on it anyway, after the files had to be put back).
    fn no_ref_lock(&self, name: &str) -> Result<()> {
        let path = self
            .common_dir()
            .join(format!("{}.lock", super::full_ref(name)));
        if path.exists() {
            return Err(GitRefusal::RefLocked { path }.into());
        }
        Ok(())
    }

    /// Moves branch `name` from `old` to `new`. When it is checked out here, the
    /// working tree and index come along, all or nothing (see the module doc): the
    /// tree must be clean, and a foreign `index.lock` is a typed refusal
    /// ([`GitRefusal::IndexLocked`]) with nothing written. A branch another worktree
    /// has checked out, or any worktree is rebasing or bisecting, is refused as git
    /// refuses it; so is a repository whose commit hooks improve would bypass.
    pub fn advance_branch(&self, name: &str, old: Oid, new: Oid, msg: &str) -> Result<()> {
        if let Some(refusal) = self.worktree_conflict(name)? {
            return Err(refusal.into());
        }
        self.check_hooks_policy()?;
        self.no_ref_lock(name)?;
        let checked_out = !self.repo.is_bare() && self.head_branch().as_deref() == Some(name);
        if !checked_out {
            return self.update_ref(name, new, Some(old), msg);
        }
        if let Some(refusal) = self.operation_here()? {
            return Err(refusal.into());
        }
        let mut lock = IndexLock::acquire(self.repo.path())?;
        if !self.is_clean()? {
            return Err(GitRefusal::Dirty {
                worktree: self.root(),
                branch: name.to_string(),
            }
            .into());
        }
        let changed = self.changed_paths(old, new)?;
        self.nothing_untracked_in_the_way(old, &changed)?;
        let result = self
            .write_files(new, &changed)
            .and_then(|_| {
                let bytes = self.index_for(new, &changed)?;
                lock.stage(&bytes)
            })
            .and_then(|_| self.update_ref(name, new, Some(old), msg));
        if let Err(e) = result {
            return Err(self.restore(old, &changed, e));
        }
        if let Err(e) = lock.commit() {
            let _ = self.update_ref(
                name,
                old,
                Some(new),
                "improve: undo a move whose index could not be written",
            );
            return Err(self.restore(old, &changed, e));
        }
        Ok(())
    }

    /// Refuses when a path the move would create exists untracked (a human's file):
    /// git would refuse to overwrite it, and a failed move must not remove it.
    fn nothing_untracked_in_the_way(&self, old: Oid, changed: &[String]) -> Result<()> {
        let tree = self.repo.find_commit(old)?.tree()?;
        let root = self.root();
        for p in changed {
            if tree.get_path(Path::new(p)).is_err()
                && std::fs::symlink_metadata(root.join(p)).is_ok()
            {
                anyhow::bail!(
                    "{} exists untracked and the move would overwrite it; nothing was written. Move it away or add it to git, then run improve again",
                    root.join(p).display()
                );
            }
        }
        Ok(())
    }

    /// Writes the files of `commit` that are among `changed` (removing those it does
    /// not have), without touching the index.
    fn write_files(&self, commit: Oid, changed: &[String]) -> Result<()> {
        let tree = self.repo.find_commit(commit)?.tree()?;
        let mut co = git2::build::CheckoutBuilder::new();
        co.force().update_index(false).remove_untracked(false);
        let mut any = false;
        for p in changed {
            if tree.get_path(Path::new(p)).is_ok() {
                co.path(p);
                any = true;
            } else {
                remove_file_and_empty_dirs(&self.root(), p)?;
            }
        }
        if any {
            self.repo
                .checkout_tree(tree.as_object(), Some(&mut co))
                .map_err(|e| self.explain(e, format!("writing the files of {commit}")))?;
        }
        Ok(())
    }

    /// Puts the files of `old` back after a failed move and returns the error.
    fn restore(&self, old: Oid, changed: &[String], cause: anyhow::Error) -> anyhow::Error {
        match self.write_files(old, changed) {
            Ok(()) => cause,
            Err(e) => cause.context(format!(
                "and putting the files of {old} back failed too ({e:#}); the working tree may differ from HEAD in: {}",
                changed.join(", ")
            )),
        }
    }

    /// The bytes of an index for `commit`: entries unchanged since the current index
    /// keep their stat data (so git does not rehash them); changed ones get the stat
    /// of the file just written.
    fn index_for(&self, commit: Oid, changed: &[String]) -> Result<Vec<u8>> {
        let tree = self.repo.find_commit(commit)?.tree()?;
        let mut current = self.repo.index().context("reading the index")?;
        current.read(false).context("reading the index")?;
        let changed: HashSet<&str> = changed.iter().map(String::as_str).collect();
        let tmp = tempfile::Builder::new()
            .prefix("improve-index")
            .tempdir_in(self.repo.path())
            .map_err(|e| crate::fsutil::io_error(e, "creating a temporary index"))?;
        let path = tmp.path().join("index");
        let mut index = git2::Index::open(&path)?;
        index.read_tree(&tree)?;
        let root = self.root();
        let entries: Vec<IndexEntry> = index.iter().collect();
        for mut e in entries {
            let rel = String::from_utf8_lossy(&e.path).into_owned();
            if changed.contains(rel.as_str()) {
                if let Ok(m) = std::fs::symlink_metadata(root.join(&rel)) {
                    set_stat(&mut e, &m);
                }
            } else if let Some(cur) = current.get_path(Path::new(&rel), 0) {
                if cur.id == e.id && cur.mode == e.mode {
                    e = cur;
                }
            }
            index.add(&e)?;
        }
        index
            .write()
            .map_err(|e| self.explain(e, "writing the new index"))?;
        std::fs::read(&path).map_err(|e| crate::fsutil::io_error(e, "reading the new index"))
    }
}

fn set_stat(e: &mut IndexEntry, m: &std::fs::Metadata) {
    e.ctime = IndexTime::new(m.ctime() as i32, m.ctime_nsec() as u32);
    e.mtime = IndexTime::new(m.mtime() as i32, m.mtime_nsec() as u32);
    e.dev = m.dev() as u32;
    e.ino = m.ino() as u32;
    e.uid = m.uid();
    e.gid = m.gid();
    e.file_size = m.size() as u32;
}

/// Removes `rel` under `root` and the directories it leaves empty.
fn remove_file_and_empty_dirs(root: &Path, rel: &str) -> Result<()> {
    let path = root.join(rel);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(crate::fsutil::io_error(
                e,
                format!("removing {}", path.display()),
            ))
        }
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}
