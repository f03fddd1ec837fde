//! A directory's entries with no allocation each: `readdir` over an open directory,
//! names borrowed from libc's buffer. std's `read_dir` copies every name twice (its
//! entry, then `file_name`), and the walk lists every log file every cycle: a month of
//! one log per exploration is 43,000 names, which the walk only hashes and looks up,
//! but which cost 86,000 allocations and frees a cycle.
//!
//! The directory stays open (`Dir`) after its listing for the files handed to the
//! observe workers, which `stat` them relative to it: no path lookup from the root.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Link,
    Other,
}

impl Kind {
    fn of_mode(mode: libc::mode_t) -> Kind {
        match mode & libc::S_IFMT {
            libc::S_IFREG => Kind::File,
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFLNK => Kind::Link,
            _ => Kind::Other,
        }
    }
}

/// The metadata the walk and the reader need from a `stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub ino: u64,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (as `identity::mtime_ns`).
    pub mtime_ns: i64,
    pub kind: Kind,
}

impl From<&std::fs::Metadata> for Stat {
    fn from(m: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        let t = m.file_type();
        Stat {
            ino: m.ino(),
            size: m.len(),
            mtime_ns: super::identity::mtime_ns(m),
            kind: if t.is_file() {
                Kind::File
            } else if t.is_dir() {
                Kind::Dir
            } else if t.is_symlink() {
                Kind::Link
            } else {
                Kind::Other
            },
        }
    }
}

/// An open directory, for `stat`s of its entries by name (shared by the workers).
#[derive(Debug)]
pub(crate) struct Dir(OwnedFd);

impl Dir {
    /// `fstatat` of the entry `name`, not following a symbolic link.
    // libc's field types differ between platforms: the casts are not the same on all.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn stat(&self, name: &CStr) -> io::Result<Stat> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: a valid directory descriptor, a NUL-terminated name and a buffer of
        // the size fstatat writes.
        let rc = unsafe {
            libc::fstatat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fstatat succeeded, so it filled the buffer.
        let st = unsafe { st.assume_init() };
        Ok(Stat {
            ino: st.st_ino as u64,
            size: st.st_size as u64,
            mtime_ns: super::identity::mtime_ns_of(st.st_mtime as i64, st.st_mtime_nsec as i64),
            kind: Kind::of_mode(st.st_mode),
        })
    }
}

/// One entry as `readdir` returned it; `name` lives until the next entry is read.
pub(crate) struct Raw<'a> {
    /// Where the listing resumes after this entry (`d_off`).
    pub next: i64,
    pub ino: u64,
    pub name: &'a CStr,
    /// `None` when the filesystem does not say (`DT_UNKNOWN`): ask `Dir::stat`.
    pub kind: Option<Kind>,
}

impl Raw<'_> {
    pub(crate) fn bytes(&self) -> &[u8] {
        self.name.to_bytes()
    }
}

/// A directory being listed.
pub(crate) struct Stream {
    dir: NonNull<libc::DIR>,
}

impl Stream {
    /// Opens `path` for listing, and again as a `Dir` for `stat`s by name (a second
    /// descriptor: the listing's is closed as soon as the listing ends).
    pub(crate) fn open(path: &Path) -> io::Result<(Stream, Dir)> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
        // SAFETY: a NUL-terminated path; the descriptor is owned at once.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just opened and is owned by nothing else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: dup of a valid descriptor.
        let listing_fd = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if listing_fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fdopendir takes ownership of listing_fd on success; on failure it is
        // still ours to close.
        let dir = unsafe { libc::fdopendir(listing_fd) };
        match NonNull::new(dir) {
            Some(dir) => Ok((Stream { dir }, Dir(owned))),
            None => {
                let e = io::Error::last_os_error();
                // SAFETY: fdopendir failed, so listing_fd is still open and ours.
                unsafe { libc::close(listing_fd) };
                Err(e)
            }
        }
    }

    /// Resumes the listing at `pos`, a position an entry's `next` gave (or, in a
    /// directory ext4 lists in hash order, any hash position: see `SPLIT`).
    pub(crate) fn seek(&mut self, pos: i64) {
        // SAFETY: a DIR this stream owns.
        unsafe { libc::seekdir(self.dir.as_ptr(), pos as libc::c_long) };
    }

    /// The next entry other than `.` and `..`; an error when the listing broke off.
    #[allow(clippy::should_implement_trait)] // it lends its names: not an Iterator
    pub(crate) fn next(&mut self) -> Option<io::Result<Raw<'_>>> {
        loop {
            // readdir reports an error only through errno, with a null return.
            // SAFETY: errno is thread-local.
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: a DIR this stream owns and only it reads.
            let ent = unsafe { libc::readdir64(self.dir.as_ptr()) };
            let Some(ent) = NonNull::new(ent) else {
                let e = io::Error::last_os_error();
                return (e.raw_os_error() != Some(0)).then_some(Err(e));
            };
            // SAFETY: readdir's entry is valid until the next call on this DIR, which
            // needs `&mut self` and so ends the borrow of `name`.
            let ent = unsafe { ent.as_ref() };
            // SAFETY: d_name is NUL-terminated within the entry.
            let name = unsafe { CStr::from_ptr(ent.d_name.as_ptr()) };
            let b = name.to_bytes();
            if b == b"." || b == b".." {
                continue;
            }
            let kind = match ent.d_type {
                libc::DT_REG => Some(Kind::File),
                libc::DT_DIR => Some(Kind::Dir),
                libc::DT_LNK => Some(Kind::Link),
                libc::DT_UNKNOWN => None,
                _ => Some(Kind::Other),
            };
            return Some(Ok(Raw {
                next: ent.d_off,
                ino: ent.d_ino,
                name,
                kind,
            }));
        }
    }
}

/// Where a big ext4 directory's listing is cut in two, to be listed by two threads:
/// the middle of the hash space. ext4 lists a hashed directory in the order of its
/// names' hashes, an entry's position is its hash (major hash in the upper half of
/// the 64-bit position), and a seek to a position resumes at the first entry at or
/// past it. So the entries before `SPLIT` and the entries from a seek to `SPLIT` are
/// the whole directory, each entry once. Listing a directory of 43,000 logs is 25 ms
/// of kernel time (a hash and an allocation per name), the largest cost of a cycle
/// that grows with the files a system keeps.
///
/// Whatever the positions mean, the halves stay exact while they only grow along the
/// listing, which `Half::upper` checks: a directory listed in byte offsets (ext4 without
/// hashed directories) ends before `SPLIT`, and its upper half is empty.
pub(crate) const SPLIT: i64 = 1 << 62;

/// Whether listing `dir` in two halves pays: a directory of at least `min_bytes` on
/// ext4 (its magic is shared with ext2 and ext3, whose directories are listed the same
/// way, in hash or in byte order).
#[allow(clippy::unnecessary_cast)] // f_type is not an i64 on every platform
pub(crate) fn splits(dir: &Dir, min_bytes: u64) -> bool {
    const EXT4_SUPER_MAGIC: i64 = 0xEF53;
    let mut fs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: a valid descriptor and a buffer of the size fstatfs writes.
    if unsafe { libc::fstatfs(dir.0.as_raw_fd(), fs.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstatfs succeeded.
    let fs = unsafe { fs.assume_init() };
    if fs.f_type as i64 != EXT4_SUPER_MAGIC {
        return false;
    }
    dir.stat(c".").is_ok_and(|st| st.size >= min_bytes)
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: the DIR is open and owned by this stream.
        unsafe { libc::closedir(self.dir.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn lists_every_entry_once_with_kinds_and_stats_like_std() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("a.jsonl"), "x\n").unwrap();
        std::fs::write(p.join("é ü.jsonl"), "yy\n").unwrap();
        std::fs::create_dir(p.join("sub")).unwrap();
        std::os::unix::fs::symlink("a.jsonl", p.join("link")).unwrap();
        for i in 0..2000 {
            std::fs::write(p.join(format!("many_{i:05}.jsonl")), "").unwrap();
        }
        let (mut s, dir) = Stream::open(p).unwrap();
        let mut seen = BTreeMap::new();
        while let Some(e) = s.next() {
            let e = e.unwrap();
            let name = String::from_utf8(e.bytes().to_vec()).unwrap();
            let st = dir.stat(e.name).unwrap();
            assert_eq!(e.kind.unwrap_or(st.kind), st.kind, "{name}");
            assert_eq!(e.ino, st.ino, "{name}");
            assert!(seen.insert(name, st).is_none(), "listed twice");
        }
        drop(s);
        assert_eq!(seen.len(), 2004);
        assert_eq!(seen["sub"].kind, Kind::Dir);
        assert_eq!(seen["link"].kind, Kind::Link, "a link is not followed");
        let m = std::fs::metadata(p.join("é ü.jsonl")).unwrap();
        let got = seen["é ü.jsonl"];
        assert_eq!(got, Stat::from(&m));
        assert_eq!((got.ino, got.size), (m.ino(), 3));
        // The directory still answers stats after its listing is closed.
        assert_eq!(dir.stat(c"a.jsonl").unwrap().size, 2);
        assert_eq!(
            dir.stat(c"gone").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(Stream::open(&p.join("a.jsonl")).is_err(), "not a directory");
    }
}
