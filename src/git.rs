//! The one place that talks to git. Every call carries context (which ref, which path,
//! which oid) so an error says what was being done. Records and proposal branches are
//! written with plumbing (trees and commits built in the object database), so the
//! user's working tree and index are never touched; only a deploy or rollback onto the
//! checked-out branch updates the working tree, and only when it was clean.

mod advance;
mod errors;
mod loose;
mod patch;
mod remote;
mod sign;
#[cfg(test)]
mod tests;
mod worktrees;

use crate::clock::Timestamp;
use crate::error::GitRefusal;
use anyhow::{anyhow, bail, Context, Result};
use git2::{ObjectType, Oid, Repository, Signature, Time};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[cfg(test)]
use errors::explain;
use errors::not_owner_or;
pub use errors::Upstream;
pub use git2::Oid as ObjectId;
pub use remote::UpstreamConfig;
pub use worktrees::Worktree;

/// A target repository.
pub struct Git {
    repo: Repository,
    /// The entries of the directory `read_file` last looked in, by (commit, dir):
    /// reading N files of one directory would otherwise load, inflate, hash-check and
    /// parse that directory's tree N times (15 s for 10,000 cycle records).
    dir_cache: std::cell::RefCell<Option<DirEntries>>,
    /// Where records blobs and trees are written (see `loose`), opened on first use.
    loose: std::cell::OnceCell<loose::LooseWriter>,
}

/// One directory of one commit: file name -> (blob id, is a blob).
struct DirEntries {
    commit: Oid,
    dir: String,
    entries: std::collections::HashMap<String, (Oid, bool)>,
}

/// The outcome of reverting a commit onto a branch, computed without touching files.
pub enum RevertOutcome {
    /// The revert commit was created (not yet on any branch).
    Clean(Oid),
    /// The revert would conflict in these paths; nothing was written.
    Conflict(Vec<String>),
}

/// libgit2's global options for an hourly process over a records branch that only
/// grows: what a cycle costs must follow what it reads, not the size of `.git`.
///
/// - Pack windows: libgit2 maps pack files in windows of 1 GiB, up to 8 GiB, and every
///   page a read touches (a delta chain's bases are spread over the pack) stays
///   resident until exit (24 MB after 1,400 hourly cycles against 14 MB in the first
///   hundred). Windows of 256 KiB, at most 2 MiB mapped, keep it bounded (19 MB there);
///   unmapped pages stay in the page cache, so reads cost no more.
/// - Loose objects first: libgit2 looks in the packs first, so reading a record
///   written since the last repack searched every pack index (each search maps 64 KiB
///   of an index that is 28 bytes per object ever written) before one `stat` found
///   it. A year on: 0.6 MB less resident.
/// - No second hash of what is read: libgit2 hashes every object it reads again to
///   check it (git itself does not, outside fsck); a cycle reads about a megabyte of
///   records after a year. Writes are hashed as ever: that is how their ids are made.
fn set_libgit2_options() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: libgit2's global options, set once before any repository is opened
        // by this process (the Once), so no other thread reads them meanwhile.
        unsafe {
            let _ = git2::opts::set_mwindow_size(256 << 10);
            let _ = git2::opts::set_mwindow_mapped_limit(2 << 20);
            // Above the packs' 2 (libgit2's odb.c); git2 does not wrap this option.
            libgit2_sys::git_libgit2_opts(
                libgit2_sys::GIT_OPT_SET_ODB_LOOSE_PRIORITY as libc::c_int,
                3 as libc::c_int,
            );
        }
        git2::opts::strict_hash_verification(false);
    });
}

impl Git {
    /// Opens the repository at `path` (or one of its parents).
    pub fn open(path: &Path) -> Result<Git> {
        set_libgit2_options();
        let repo = Repository::discover(path).map_err(|e| not_owner_or(e, path))?;
        Ok(Git {
            repo,
            dir_cache: Default::default(),
            loose: Default::default(),
        })
    }

    /// The working tree's root, or the git dir of a bare repository.
    pub fn root(&self) -> PathBuf {
        self.repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.repo.path().to_path_buf())
    }

    /// `.git/improve/`: local, unversioned state (lock, trigger spool, anchor). In
    /// the common git directory, so every worktree of the repository shares one lock,
    /// one spool and one anchor.
    pub fn local_dir(&self) -> Result<PathBuf> {
        let dir = self.repo.commondir().join("improve");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    pub fn is_bare(&self) -> bool {
        self.repo.is_bare()
    }

    /// The oid a ref points at, if it exists. Accepts short branch names.
    pub fn ref_oid(&self, name: &str) -> Result<Option<Oid>> {
        let full = full_ref(name);
        match self.repo.find_reference(&full) {
            Ok(r) => Ok(Some(
                r.peel_to_commit()
                    .map_err(|e| self.explain(e, format!("{full} does not point at a commit")))?
                    .id(),
            )),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.explain(e, format!("reading {full}"))),
        }
    }

    /// Resolves a revision (oid, branch, tag) to a commit id.
    pub fn resolve(&self, rev: &str) -> Result<Oid> {
        let obj = self
            .repo
            .revparse_single(rev)
            .map_err(|e| self.explain(e, format!("cannot resolve {rev:?}")))?;
        Ok(obj
            .peel_to_commit()
            .map_err(|e| self.explain(e, format!("{rev:?} is not a commit")))?
            .id())
    }

    /// The branch HEAD points at (short name), if HEAD is on a branch.
    pub fn head_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if !head.is_branch() {
            return None;
        }
        head.shorthand().map(str::to_string)
    }

    /// True when no tracked file differs from HEAD in the index or working tree.
    /// Untracked files (typically the logs the system is writing) do not count.
    pub fn is_clean(&self) -> Result<bool> {
        if self.repo.is_bare() {
            return Ok(true);
        }
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(false).include_ignored(false);
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(|e| self.explain(e, "reading the working tree status"))?;
        Ok(statuses.iter().all(|s| s.status() == git2::Status::CURRENT))
    }

    /// The blob `id`, which is `path` in `commit` (both name it in an error).
    pub fn read_blob(&self, id: Oid, path: &str, commit: Oid) -> Result<Vec<u8>> {
        let blob = self
            .repo
            .find_blob(id)
            .map_err(|e| self.explain(e, format!("reading blob {path} at {commit}")))?;
        Ok(blob.content().to_vec())
    }

    /// Reads the file at `path` in `commit`, if present.
    pub fn read_file(&self, commit: Oid, path: &str) -> Result<Option<Vec<u8>>> {
        if let Some((dir, name)) = path.rsplit_once('/') {
            let mut cache = self.dir_cache.borrow_mut();
            if !matches!(&*cache, Some(c) if c.commit == commit && c.dir == dir) {
                *cache = self.dir_entries(commit, dir)?;
            }
            if let Some(c) = &*cache {
                return match c.entries.get(name) {
                    Some((id, true)) => self.read_blob(*id, path, commit).map(Some),
                    _ => Ok(None),
                };
            }
        }
        let tree = self.tree_of(commit)?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => {
                if entry.kind() != Some(ObjectType::Blob) {
                    return Ok(None);
                }
                self.read_blob(entry.id(), path, commit).map(Some)
            }
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.explain(e, format!("looking up {path} at {commit}"))),
        }
    }

    /// The entries of `dir` in `commit` (None when it is not a directory there).
    fn dir_entries(&self, commit: Oid, dir: &str) -> Result<Option<DirEntries>> {
        let tree = self.tree_of(commit)?;
        let sub = match tree.get_path(Path::new(dir)) {
            Ok(e) if e.kind() == Some(ObjectType::Tree) => self.repo.find_tree(e.id())?,
            _ => return Ok(None),
        };
        let entries = sub
            .iter()
            .filter_map(|e| {
                let blob = e.kind() == Some(ObjectType::Blob);
                Some((e.name()?.to_string(), (e.id(), blob)))
            })
            .collect();
        Ok(Some(DirEntries {
            commit,
            dir: dir.to_string(),
            entries,
        }))
    }

    /// The blob id of the file at `path` in `commit`, if present: lets a caller tell
    /// that a file is unchanged without reading it.
    pub fn blob_id(&self, commit: Oid, path: &str) -> Result<Option<Oid>> {
        let tree = self.tree_of(commit)?;
        match tree.get_path(Path::new(path)) {
            Ok(e) if e.kind() == Some(ObjectType::Blob) => Ok(Some(e.id())),
            Ok(_) => Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.explain(e, format!("looking up {path} at {commit}"))),
        }
    }

    /// The id of the directory (tree) at `path` in `commit`, if present: lets a caller
    /// tell that a whole directory is unchanged without listing it.
    pub fn tree_id_at(&self, commit: Oid, path: &str) -> Result<Option<Oid>> {
        let tree = self.tree_of(commit)?;
        match tree.get_path(Path::new(path)) {
            Ok(e) if e.kind() == Some(ObjectType::Tree) => Ok(Some(e.id())),
            Ok(_) => Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("looking up {path} at {commit}")),
        }
    }

    /// True when `path` in `commit` is a symbolic link (never followed for writing).
    pub fn is_symlink(&self, commit: Oid, path: &str) -> Result<bool> {
        let tree = self.tree_of(commit)?;
        // Any symlink along the path leads out of what we can reason about.
        let mut prefix = String::new();
        for comp in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
            if let Ok(e) = tree.get_path(Path::new(&prefix)) {
                if e.filemode() == 0o120000 {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The file names directly below `dir` in `commit` (empty when absent).
    pub fn list_dir(&self, commit: Oid, dir: &str) -> Result<Vec<String>> {
        let tree = self.tree_of(commit)?;
        let sub = if dir.is_empty() {
            tree
        } else {
            match tree.get_path(Path::new(dir)) {
                Ok(e) => match self.repo.find_tree(e.id()) {
                    Ok(t) => t,
                    Err(_) => return Ok(vec![]),
                },
                Err(_) => return Ok(vec![]),
            }
        };
        Ok(sub
            .iter()
            .filter_map(|e| e.name().map(str::to_string))
            .collect())
    }

    /// All file paths below the root of `commit` (for tests and checks).
    pub fn list_files(&self, commit: Oid) -> Result<Vec<String>> {
        let tree = self.tree_of(commit)?;
        let mut out = vec![];
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
            if e.kind() == Some(ObjectType::Blob) {
                out.push(format!("{dir}{}", e.name().unwrap_or("")));
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(|e| self.explain(e, "walking a tree"))?;
        Ok(out)
    }

    fn tree_of(&self, commit: Oid) -> Result<git2::Tree<'_>> {
        self.repo
            .find_commit(commit)
            .map_err(|e| self.explain(e, format!("commit {commit} not found")))?
            .tree()
            .map_err(|e| self.explain(e, format!("tree of {commit}")))
    }

    /// Builds a commit from `parent`'s tree with `changes` applied (path -> new
    /// content, or None to delete) and returns its id. No ref is moved.
    pub fn commit_changes(
        &self,
        parent: Option<Oid>,
        changes: &BTreeMap<String, Option<Vec<u8>>>,
        message: &str,
        when: Timestamp,
    ) -> Result<Oid> {
        let base = match parent {
            Some(p) => Some(self.tree_of(p)?),
            None => None,
        };
        let (tree_id, _) = self
            .build_tree(base.as_ref(), changes, "")
            .context("writing the files of a commit")?;
        let parents: Vec<git2::Commit> = match parent {
            Some(p) => vec![self.repo.find_commit(p)?],
            None => vec![],
        };
        self.commit_tree(tree_id, &parents.iter().collect::<Vec<_>>(), message, when)
    }

    /// Creates a commit object for `tree` with `parents`.
    pub fn commit_tree(
        &self,
        tree: Oid,
        parents: &[&git2::Commit],
        message: &str,
        when: Timestamp,
    ) -> Result<Oid> {
        let sig = self.signature(when)?;
        let tree = self.repo.find_tree(tree)?;
        let Some(signer) = self.signer()? else {
            return self
                .repo
                .commit(None, &sig, &sig, message, &tree, parents)
                .map_err(|e| self.explain(e, "writing a commit"));
        };
        let buf = self
            .repo
            .commit_create_buffer(&sig, &sig, message, &tree, parents)
            .map_err(|e| self.explain(e, "preparing a commit"))?;
        let payload = std::str::from_utf8(&buf).context("a commit that is not UTF-8")?;
        let signature = self.sign(&signer, payload)?;
        self.repo
            .commit_signed(payload, &signature, None)
            .map_err(|e| self.explain(e, "writing a signed commit"))
    }

    fn loose(&self) -> Result<&loose::LooseWriter> {
        if let Some(w) = self.loose.get() {
            return Ok(w);
        }
        let w = loose::LooseWriter::open(&self.repo.commondir().join("objects"))
            .context("opening the object database for writing")?;
        Ok(self.loose.get_or_init(|| w))
    }

    /// Writes `base` with `changes` applied (paths below `prefix`) and returns the new
    /// tree's id, and whether it is empty (an empty subdirectory is dropped).
    fn build_tree(
        &self,
        base: Option<&git2::Tree>,
        changes: &BTreeMap<String, Option<Vec<u8>>>,
        prefix: &str,
    ) -> Result<(Oid, bool)> {
        let mut entries: BTreeMap<Vec<u8>, loose::Entry> = base
            .map(|t| {
                t.iter()
                    .map(|e| (e.name_bytes().to_vec(), (e.filemode(), e.id())))
                    .collect()
            })
            .unwrap_or_default();
        // Group changes by their first path component below `prefix`.
        let mut subdirs: BTreeMap<String, BTreeMap<String, Option<Vec<u8>>>> = BTreeMap::new();
        for (path, content) in changes {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    subdirs
                        .entry(dir.to_string())
                        .or_default()
                        .insert(rest.to_string(), content.clone());
                }
                None => match content {
                    Some(bytes) => {
                        let blob = self
                            .loose()?
                            .write(ObjectType::Blob, bytes)
                            .map_err(|e| self.explain(e, format!("writing {prefix}{path}")))?;
                        // Keep an existing executable bit.
                        let mode = match entries.get(path.as_bytes()) {
                            Some((0o100755, _)) => 0o100755,
                            _ => 0o100644,
                        };
                        entries.insert(path.as_bytes().to_vec(), (mode, blob));
                    }
                    None => {
                        entries.remove(path.as_bytes());
                    }
                },
            }
        }
        for (dir, sub) in subdirs {
            let existing = base
                .and_then(|t| t.get_name(&dir))
                .filter(|e| e.kind() == Some(ObjectType::Tree))
                .map(|e| self.repo.find_tree(e.id()))
                .transpose()?;
            let (id, empty) =
                self.build_tree(existing.as_ref(), &sub, &format!("{prefix}{dir}/"))?;
            if empty {
                entries.remove(dir.as_bytes());
            } else {
                entries.insert(dir.into_bytes(), (0o040000, id));
            }
        }
        let id = self
            .loose()?
            .write(ObjectType::Tree, &loose::tree_bytes(&entries))
            .map_err(|e| {
                let dir = if prefix.is_empty() { "/" } else { prefix };
                self.explain(e, format!("writing the directory {dir}"))
            })?;
        Ok((id, entries.is_empty()))
    }

    /// Moves (or creates) `name` to `new`, but only if it still points at `expected`
    /// (None: must not exist). Two writers can never lose each other's work.
    pub fn update_ref(&self, name: &str, new: Oid, expected: Option<Oid>, msg: &str) -> Result<()> {
        let full = full_ref(name);
        match expected {
            Some(old) => self
                .repo
                .reference_matching(&full, new, true, old, msg)
                .map_err(|e| {
                    self.ref_error(e, &full, &format!("updating {full} from {old} to {new}"))
                })?,
            None => self
                .repo
                .reference(&full, new, false, msg)
                .map_err(|e| self.ref_error(e, &full, &format!("creating {full} at {new}")))?,
        };
        Ok(())
    }

    /// A failed ref update, with the cause git gives: moved meanwhile, exists, locked
    /// by another process, or the host's (a full disk).
    fn ref_error(&self, e: git2::Error, full: &str, what: &str) -> anyhow::Error {
        match e.code() {
            git2::ErrorCode::Modified => anyhow!("{what}: {full} moved meanwhile; nothing was changed"),
            git2::ErrorCode::Exists => anyhow!("{what}: {full} exists already"),
            git2::ErrorCode::Locked => anyhow!(
                "{what}: {full} is locked by another git process ({}.lock exists); retry when it is done",
                self.common_dir().join(full).display()
            ),
            _ => self.explain(e, what),
        }
    }

    /// Creates a tag ref; an existing tag at the same target is fine, another is an error.
    pub fn tag(&self, name: &str, target: Oid) -> Result<()> {
        let full = format!("refs/tags/{name}");
        if let Ok(r) = self.repo.find_reference(&full) {
            if r.target() == Some(target) {
                return Ok(());
            }
            bail!("tag {name} exists and points elsewhere");
        }
        self.repo
            .reference(&full, target, false, "improve: tag")
            .map_err(|e| self.explain(e, format!("creating tag {name}")))?;
        Ok(())
    }

    pub fn delete_ref(&self, name: &str) -> Result<()> {
        let full = full_ref(name);
        if let Ok(mut r) = self.repo.find_reference(&full) {
            r.delete()
                .map_err(|e| self.explain(e, format!("deleting {full}")))?;
        }
        Ok(())
    }

    /// True when `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        self.repo
            .graph_descendant_of(descendant, ancestor)
            .map_err(|e| self.explain(e, format!("ancestry of {ancestor} and {descendant}")))
    }

    /// Commits on the first-parent line of `to` back to `from`, oldest first: the
    /// commits that landed on the branch itself, not those merged into it.
    pub fn first_parent_between(&self, from: Option<Oid>, to: Oid) -> Result<Vec<Oid>> {
        let mut walk = self.repo.revwalk()?;
        walk.simplify_first_parent()?;
        walk.push(to)?;
        if let Some(f) = from {
            walk.hide(f)?;
        }
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
        walk.map(|r| r.map_err(|e| self.explain(e, "walking history")))
            .collect()
    }

    /// Commits reachable from `to` but not from `from`, oldest first.
    pub fn commits_between(&self, from: Option<Oid>, to: Oid) -> Result<Vec<Oid>> {
        let mut walk = self.repo.revwalk()?;
        walk.push(to)?;
        if let Some(f) = from {
            walk.hide(f)?;
        }
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
        walk.map(|r| r.map_err(|e| self.explain(e, "walking history")))
            .collect()
    }

    pub fn message(&self, commit: Oid) -> Result<String> {
        Ok(self
            .repo
            .find_commit(commit)
            .map_err(|e| self.explain(e, format!("commit {commit}")))?
            .message()
            .unwrap_or("")
            .to_string())
    }

    pub fn find_commit(&self, oid: Oid) -> Result<git2::Commit<'_>> {
        self.repo
            .find_commit(oid)
            .map_err(|e| self.explain(e, format!("commit {oid}")))
    }

    /// The parents of `commit`. In a shallow clone a grafted commit's parents are
    /// missing, which is an error saying so, never "no parents".
    pub fn parents(&self, commit: Oid) -> Result<Vec<Oid>> {
        if self.is_grafted(commit) {
            return Err(GitRefusal::Shallow {
                path: self.root(),
                what: format!("the parents of {commit}"),
            }
            .into());
        }
        Ok(self.repo.find_commit(commit)?.parent_ids().collect())
    }

    pub fn author(&self, commit: Oid) -> Result<String> {
        let c = self.repo.find_commit(commit)?;
        let a = c.author();
        Ok(a.name().unwrap_or("unknown").to_string())
    }

    pub fn tree_id(&self, commit: Oid) -> Result<Oid> {
        Ok(self.repo.find_commit(commit)?.tree_id())
    }

    /// Reverts `commit` on top of `onto` in memory. A conflict writes nothing.
    pub fn revert(
        &self,
        commit: Oid,
        onto: Oid,
        message: &str,
        when: Timestamp,
    ) -> Result<RevertOutcome> {
        let c = self.repo.find_commit(commit)?;
        let o = self.repo.find_commit(onto)?;
        // A merge commit is reverted against its first parent (the branch it landed on).
        let mainline = if c.parent_count() > 1 { 1 } else { 0 };
        let mut index = self
            .repo
            .revert_commit(&c, &o, mainline, None)
            .map_err(|e| self.explain(e, format!("reverting {commit} onto {onto}")))?;
        if index.has_conflicts() {
            return Ok(RevertOutcome::Conflict(conflict_paths(&index)?));
        }
        let tree = index.write_tree_to(&self.repo)?;
        let id = self.commit_tree(tree, &[&o], message, when)?;
        Ok(RevertOutcome::Clean(id))
    }

    /// The tree of `onto` with everything the branch changed since `base` (a squash
    /// of the branch, three-way merged), or the conflicting paths.
    pub fn squash_tree(
        &self,
        base: Oid,
        branch_tip: Oid,
        onto: Oid,
    ) -> Result<std::result::Result<Oid, Vec<String>>> {
        if base == onto {
            return Ok(Ok(self.tree_id(branch_tip)?));
        }
        let ancestor = self.tree_of(base)?;
        let ours = self.tree_of(onto)?;
        let theirs = self.tree_of(branch_tip)?;
        let mut index = self
            .repo
            .merge_trees(&ancestor, &ours, &theirs, None)
            .map_err(|e| self.explain(e, format!("applying {base}..{branch_tip} onto {onto}")))?;
        if index.has_conflicts() {
            return Ok(Err(conflict_paths(&index)?));
        }
        Ok(Ok(index.write_tree_to(&self.repo)?))
    }

    /// The files that differ between two commits.
    pub fn changed_paths(&self, from: Oid, to: Oid) -> Result<Vec<String>> {
        let a = self.tree_of(from)?;
        let b = self.tree_of(to)?;
        let diff = self.repo.diff_tree_to_tree(Some(&a), Some(&b), None)?;
        let mut out = vec![];
        for d in diff.deltas() {
            for f in [d.old_file().path(), d.new_file().path()]
                .into_iter()
                .flatten()
            {
                let s = f.to_string_lossy().to_string();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        Ok(out)
    }

    /// Writes the tree of `commit` into `dir` (a throwaway worktree for tests).
    pub fn export_tree(&self, commit: Oid, dir: &Path) -> Result<()> {
        let tree = self.tree_of(commit)?;
        let mut co = git2::build::CheckoutBuilder::new();
        // Never the repository's own index: the export must leave the user's
        // checkout exactly as it was.
        co.force()
            .target_dir(dir)
            .recreate_missing(true)
            .update_index(false);
        self.repo
            .checkout_tree(tree.as_object(), Some(&mut co))
            .map_err(|e| self.explain(e, format!("exporting {commit} to {}", dir.display())))
    }

    /// The upstream of a local branch, if one is configured and known locally.
    pub fn upstream_oid(&self, branch: &str) -> Result<Option<Oid>> {
        let b = match self.repo.find_branch(branch, git2::BranchType::Local) {
            Ok(b) => b,
            Err(_) => return Ok(None),
        };
        match b.upstream() {
            Ok(u) => Ok(u.get().target()),
            Err(_) => Ok(None),
        }
    }

    /// Branch names under a prefix (e.g. `improve/proposal/`).
    pub fn branches_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Oid)>> {
        let mut out = vec![];
        for r in self
            .repo
            .references_glob(&format!("refs/heads/{prefix}*"))?
        {
            let r = r?;
            if let (Some(name), Some(oid)) = (r.shorthand(), r.target()) {
                out.push((name.to_string(), oid));
            }
        }
        Ok(out)
    }

    /// The committer identity: the repository's `user.name`/`user.email`, else the
    /// tool's own; the time is the (possibly simulated) clock.
    fn signature(&self, when: Timestamp) -> Result<Signature<'static>> {
        let cfg = self.repo.config().ok();
        let get = |k: &str| cfg.as_ref().and_then(|c| c.get_string(k).ok());
        let name = std::env::var("GIT_COMMITTER_NAME")
            .ok()
            .or_else(|| get("user.name"))
            .unwrap_or_else(|| "improve".into());
        let email = std::env::var("GIT_COMMITTER_EMAIL")
            .ok()
            .or_else(|| get("user.email"))
            .unwrap_or_else(|| "improve@localhost".into());
        Signature::new(&name, &email, &Time::new(when.timestamp(), 0))
            .map_err(|e| anyhow!("bad committer identity {name:?} <{email}>: {e}"))
    }

    /// Runs the system git for network operations (push, fetch), so the user's
    /// credentials and transports apply. No shell; never a force refspec.
    pub fn run_git(&self, args: &[&str]) -> Result<String> {
        if args
            .iter()
            .any(|a| a.starts_with('+') || *a == "--force" || *a == "-f")
        {
            bail!("refusing to run a forcing git command: {args:?}");
        }
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(self.repo.path())
            .args(args)
            .output()
            .with_context(|| format!("running git {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    }
}

/// The paths an in-memory merge or revert left in conflict.
fn conflict_paths(index: &git2::Index) -> Result<Vec<String>> {
    let mut paths = vec![];
    for conflict in index.conflicts()? {
        let conflict = conflict?;
        if let Some(e) = conflict.our.or(conflict.their).or(conflict.ancestor) {
            paths.push(String::from_utf8_lossy(&e.path).to_string());
        }
    }
    Ok(paths)
}

/// `main` -> `refs/heads/main`; full names pass through.
pub fn full_ref(name: &str) -> String {
    if name.starts_with("refs/") {
        name.to_string()
    } else {
        format!("refs/heads/{name}")
    }
}

/// Parses commit trailers (`Key: value` lines in the last paragraph).
pub fn trailers(message: &str) -> BTreeMap<String, String> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or("");
    last.lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}
