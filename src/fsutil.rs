//! Durable local writes: temp file, fsync, rename, so a crash leaves the old file or
//! the new one, never half of either. And I/O errors told with what was being done
//! and what to do about a full disk or a read-only filesystem.

use anyhow::Result;
use std::fmt::Display;
use std::io::Write;
use std::path::Path;

/// An I/O error while doing `what`: the system's own message, plus what to do when
/// the cause is the host's (full disk, quota, read-only filesystem).
pub fn io_error(e: std::io::Error, what: impl Display) -> anyhow::Error {
    let hint = match e.raw_os_error() {
        Some(libc::ENOSPC) => " (the filesystem is full: free some space and run again)",
        Some(libc::EDQUOT) => " (the disk quota is exhausted: free some space and run again)",
        Some(libc::EROFS) => " (the filesystem is read-only)",
        _ => "",
    };
    anyhow::Error::new(e).context(format!("{what}{hint}"))
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(e, format!("creating {}", dir.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(e, format!("writing {}", tmp.display())));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        io_error(
            e,
            format!("renaming {} onto {}", tmp.display(), path.display()),
        )
    })
}

/// Opens `root/rel` for appending (creating it and its directories), never following
/// a symlink inside `root`: each directory is opened relative to the one before with
/// `O_NOFOLLOW`, the file with `O_NOFOLLOW` too, so a log path that is a symlink (to
/// `/etc/passwd`, or a symlinked log directory) is refused, naming it, and nothing is
/// written. `root` itself may be a symlink: it is what the caller chose.
pub fn open_append_nofollow(root: &Path, rel: &Path) -> Result<std::fs::File> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::{FromRawFd, OwnedFd};
    use std::path::Component;

    let comps: Vec<&std::ffi::OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(n) => Ok(n),
            _ => Err(anyhow::anyhow!(
                "{}: only plain relative paths are written below {}",
                rel.display(),
                root.display()
            )),
        })
        .collect::<Result<_>>()?;
    let Some((file, dirs)) = comps.split_last() else {
        anyhow::bail!("nothing to open below {}", root.display());
    };
    let cstr = |p: &std::ffi::OsStr| CString::new(p.as_bytes()).expect("no NUL in a path");
    let root_c = cstr(root.as_os_str());
    // SAFETY: open(2) on a valid C string; the descriptor is owned right away.
    let fd = unsafe {
        libc::open(
            root_c.as_ptr(),
            libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io_error(
            std::io::Error::last_os_error(),
            format!("opening {}", root.display()),
        ));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let mut dir = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut at = root.to_path_buf();
    let refuse = |path: &Path, e: std::io::Error| -> anyhow::Error {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => anyhow::anyhow!(
                "refusing to write through the symlink {} (it points to {}): nothing is written through a symlink inside {}",
                path.display(),
                std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into()),
                root.display()
            ),
            _ => io_error(e, format!("opening {}", path.display())),
        }
    };
    for name in dirs {
        at.push(name);
        let c = cstr(name);
        use std::os::unix::io::AsRawFd;
        // SAFETY: mkdirat/openat relative to a directory descriptor we own.
        unsafe {
            if libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(io_error(e, format!("creating {}", at.display())));
                }
            }
            let fd = libc::openat(
                dir.as_raw_fd(),
                c.as_ptr(),
                libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_RDONLY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return Err(refuse(&at, std::io::Error::last_os_error()));
            }
            dir = OwnedFd::from_raw_fd(fd);
        }
    }
    at.push(file);
    let c = cstr(file);
    use std::os::unix::io::AsRawFd;
    // SAFETY: openat relative to a directory descriptor we own; mode for a new file.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(refuse(&at, std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor, owned by the File from now on.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}
