//! Writing the records' blobs and trees as loose objects without asking every pack
//! first whether it holds them.
//!
//! libgit2 checks each object it writes against every pack index ("freshen"), and each
//! such search maps 64 KiB of an index that is 28 bytes per object ever written: after
//! a simulated year, 280 of the 530 pack searches of an hourly cycle were these, and
//! with them most of a 6.6 MB index stayed resident. An object database holding only
//! the loose backend writes the same objects, at the same paths, after one `stat`.
//! A blob that some pack already holds is written loose once more; the next repack
//! keeps one copy. Commits are still written through the repository: they are two a
//! cycle and their parents must be checked.
//!
//! Trees are serialised here (git's format: `<octal mode> <name>\0<20-byte id>`,
//! sorted by name with a directory compared as if its name ended in `/`), since a
//! tree builder writes through its repository's whole object database.

use anyhow::Result;
use git2::{ObjectType, Oid};
use libgit2_sys as raw;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub(crate) struct LooseWriter {
    odb: *mut raw::git_odb,
}

// SAFETY: libgit2's object database may be used from any thread, one call at a time;
// `LooseWriter` is only reached through `&Git`, which is not shared between threads.
unsafe impl Send for LooseWriter {}

fn check(code: libc::c_int) -> Result<(), git2::Error> {
    if code < 0 {
        return Err(git2::Error::last_error(code));
    }
    Ok(())
}

impl LooseWriter {
    /// A writer into the loose objects of `objects` (a repository's `objects/`).
    pub(crate) fn open(objects: &Path) -> Result<LooseWriter> {
        let path = CString::new(objects.as_os_str().as_bytes())?;
        let mut w = LooseWriter {
            odb: std::ptr::null_mut(),
        };
        // SAFETY: out-pointers filled by libgit2 (initialised by git2 before any
        // repository was opened); the backend belongs to the odb once added, and the
        // odb is freed by Drop, also on the error paths below.
        unsafe {
            check(raw::git_odb_new(&mut w.odb))?;
            let mut backend = std::ptr::null_mut();
            // Default compression, no fsync, default directory and file modes: what
            // the repository's own loose backend uses.
            check(raw::git_odb_backend_loose(
                &mut backend,
                path.as_ptr(),
                -1,
                0,
                0,
                0,
            ))?;
            check(raw::git_odb_add_backend(w.odb, backend, 1))?;
        }
        Ok(w)
    }

    /// Writes `data` as an object of `kind` (blob or tree) and returns its id. The
    /// error is libgit2's, for the caller to explain (a full disk, a quota).
    pub(crate) fn write(&self, kind: ObjectType, data: &[u8]) -> Result<Oid, git2::Error> {
        let otype = match kind {
            ObjectType::Blob => raw::GIT_OBJECT_BLOB,
            ObjectType::Tree => raw::GIT_OBJECT_TREE,
            other => {
                return Err(git2::Error::from_str(&format!(
                    "the loose writer writes blobs and trees, not {other}"
                )))
            }
        };
        let mut out = raw::git_oid {
            id: [0; raw::GIT_OID_MAX_SIZE],
        };
        // SAFETY: `data` outlives the call, `out` is a valid out-pointer, `odb` is live.
        check(unsafe {
            raw::git_odb_write(&mut out, self.odb, data.as_ptr().cast(), data.len(), otype)
        })?;
        Oid::from_bytes(&out.id[..20])
    }
}

impl Drop for LooseWriter {
    fn drop(&mut self) {
        if !self.odb.is_null() {
            // SAFETY: created by git_odb_new and freed once.
            unsafe { raw::git_odb_free(self.odb) }
        }
    }
}

/// One tree entry: its mode (`0o100644`, `0o100755`, `0o040000`, ...) and object id.
pub(crate) type Entry = (i32, Oid);

/// A tree's bytes in git's format from its entries by name.
pub(crate) fn tree_bytes(entries: &std::collections::BTreeMap<Vec<u8>, Entry>) -> Vec<u8> {
    let key = |name: &[u8], mode: i32| {
        let mut k = name.to_vec();
        if mode == 0o040000 {
            k.push(b'/');
        }
        k
    };
    let mut sorted: Vec<(Vec<u8>, &[u8], &Entry)> = entries
        .iter()
        .map(|(n, e)| (key(n, e.0), n.as_slice(), e))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(entries.len() * 48);
    for (_, name, (mode, id)) in sorted {
        out.extend_from_slice(format!("{mode:o} ").as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(id.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn trees_and_blobs_are_the_objects_libgit2_writes() {
        let d = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(d.path()).unwrap();
        let w = LooseWriter::open(&d.path().join(".git/objects")).unwrap();
        let blob = w.write(ObjectType::Blob, b"hello\n").unwrap();
        assert_eq!(blob, repo.blob(b"hello\n").unwrap());
        let exec = w.write(ObjectType::Blob, b"#!/bin/sh\n").unwrap();
        // A directory `a` sorts as `a/`: after `a.b` and `a-c`, before `a0`.
        let mut sub = BTreeMap::new();
        sub.insert(b"x".to_vec(), (0o100644, blob));
        let sub_id = w.write(ObjectType::Tree, &tree_bytes(&sub)).unwrap();
        let mut top = BTreeMap::new();
        for (name, e) in [
            ("a", (0o040000, sub_id)),
            ("a.b", (0o100644, blob)),
            ("a-c", (0o100755, exec)),
            ("a0", (0o100644, blob)),
            ("b", (0o100644, blob)),
        ] {
            top.insert(name.as_bytes().to_vec(), e);
        }
        let ours = w.write(ObjectType::Tree, &tree_bytes(&top)).unwrap();
        let mut b = repo.treebuilder(None).unwrap();
        let mut sb = repo.treebuilder(None).unwrap();
        sb.insert("x", blob, 0o100644).unwrap();
        let sub_lib = sb.write().unwrap();
        assert_eq!(sub_id, sub_lib);
        for (name, (mode, id)) in &top {
            b.insert(std::str::from_utf8(name).unwrap(), *id, *mode)
                .unwrap();
        }
        assert_eq!(ours, b.write().unwrap(), "same bytes, same id");
        // And the object is there, readable by the repository.
        let t = repo.find_tree(ours).unwrap();
        let names: Vec<_> = t.iter().map(|e| e.name().unwrap().to_string()).collect();
        assert_eq!(names, ["a-c", "a.b", "a", "a0", "b"]);
        assert!(w.write(ObjectType::Commit, b"").is_err());
    }
}
