//! The cycle lock: `flock` on `.git/improve/cycle.lock`, in the common git directory
//! (`Git::local_dir`), so one lock covers the repository whatever the worktree. The
//! kernel releases it when the holder dies, so a stale lock from a killed cycle is
//! taken over safely without guessing from pids; the pid inside is only for the
//! message a second cycle prints.

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

pub struct CycleLock {
    file: File,
}

pub enum Acquire {
    Held(CycleLock),
    /// Another live process holds it (its pid, if readable).
    Busy(u32),
}

impl CycleLock {
    pub fn try_acquire(dir: &Path) -> Result<Acquire> {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::fsutil::io_error(e, format!("creating {}", dir.display())))?;
        let path = dir.join("cycle.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut s = String::new();
                let _ = file.read_to_string(&mut s);
                return Ok(Acquire::Busy(s.trim().parse().unwrap_or(0)));
            }
            return Err(err).with_context(|| format!("locking {}", path.display()));
        }
        let wrote = file
            .set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(file, "{}", std::process::id()))
            .and_then(|_| file.flush());
        wrote.map_err(|e| crate::fsutil::io_error(e, format!("writing {}", path.display())))?;
        Ok(Acquire::Held(CycleLock { file }))
    }
}

impl Drop for CycleLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        // SAFETY: unlocking our own descriptor; closing it would unlock as well.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
