//! Named crash points for the reliability suite: when `IMPROVE_CRASH_AT` names a
//! point, the process kills itself there with SIGKILL (no destructors, no flushing),
//! exactly like a power cut or an OOM kill. Unset, a point costs one env lookup.

/// Every point the suite kills at; a test checks the binary reaches each of them.
pub const POINTS: &[&str] = &[
    "after-lock",
    "after-observe",
    "after-diagnose",
    "records-before-commit",
    "records-after-commit",
    "proposal-before-branch",
    "after-propose",
    "deploy-after-backup-tag",
    "deploy-after-move",
    "deploy-after-commit",
    "deploy-before-record",
    "deploy-before-restore",
    "revert-after-commit",
    "revert-before-record",
    "before-learn",
];

pub fn point(name: &str) {
    if let Some(target) = std::env::var_os("IMPROVE_CRASH_AT") {
        if target == name {
            let _ = std::io::Write::flush(&mut std::io::stderr());
            // SAFETY: raising a signal on our own pid has no memory-safety effect.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
    }
}
