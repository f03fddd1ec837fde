//! The processes a command leaves behind: its process group, plus any descendant that
//! left the group (a daemon's `setsid`) but still carries the run's token in its
//! environment. Both are found in `/proc` and signalled, so nothing outlives the run.

use std::time::{Duration, Instant};

/// The environment variable that marks every process a run started.
pub const TOKEN_VAR: &str = "IMPROVE_RUN_TOKEN";

/// How long processes get between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// A token no other run of this or any other process shares.
pub fn new_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// True when process `pid` exists and is not a zombie (an exited process its parent
/// has not reaped, which can no longer do anything).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(state_and_group(&stat), Some(("Z" | "X", _))),
        Err(_) => !std::path::Path::new("/proc/self").exists(),
    }
}

/// The state and process group of a `/proc/<pid>/stat` line (fields after the
/// command name, which may itself contain spaces or ')': state, ppid, pgrp).
fn state_and_group(stat: &str) -> Option<(&str, i32)> {
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

/// The live (not zombie) processes in group `pgid` or carrying `token`. Falls back to
/// asking the kernel about the group alone where `/proc` cannot be read.
pub fn members(pgid: i32, token: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        // SAFETY: signal 0 only checks whether the group has a member.
        let any = unsafe { libc::kill(-pgid, 0) } == 0;
        return if any { vec![-pgid] } else { vec![] };
    };
    let needle = format!("{TOKEN_VAR}={token}\0");
    let me = std::process::id() as i32;
    let mut out = vec![];
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((state, pgrp)) = state_and_group(&stat) else {
            continue;
        };
        if state == "Z" || state == "X" {
            continue;
        }
        if pgrp == pgid || carries(pid, needle.as_bytes()) {
            out.push(pid);
        }
    }
    out
}

fn carries(pid: i32, needle: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| memchr::memmem::find(&env, needle).is_some())
        .unwrap_or(false)
}

/// Sends `sig` to the group and to every process in `pids`.
pub fn signal(pgid: i32, pids: &[i32], sig: i32) {
    // SAFETY: plain kill(2) calls; ESRCH (already gone) is ignored.
    unsafe {
        libc::kill(-pgid, sig);
        for &p in pids {
            libc::kill(p, sig);
        }
    }
}

/// True once the leader has exited, without reaping it: while it is a zombie its pid
/// (which is the group id) cannot be reused, so signalling the group stays safe.
pub fn leader_exited(pid: i32) -> bool {
    // SAFETY: waitid with WNOWAIT only inspects our own child; zeroed siginfo is valid.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc == 0 && info.si_pid() != 0
    }
}

/// Ends everything the run left: SIGTERM, up to [`GRACE`] to exit, then SIGKILL.
/// Returns how many processes (other than a still-running leader) had to be stopped.
pub fn terminate(leader: i32, token: &str) -> u32 {
    let mut left = members(leader, token);
    if left.is_empty() {
        return 0;
    }
    let count = left.iter().filter(|&&p| p != leader).count() as u32;
    signal(leader, &left, libc::SIGTERM);
    let until = Instant::now() + GRACE;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        left = members(leader, token);
        if left.is_empty() {
            return count;
        }
    }
    signal(leader, &left, libc::SIGKILL);
    // SIGKILL cannot be ignored; wait briefly so callers see the processes gone.
    let until = Instant::now() + Duration::from_secs(1);
    while !members(leader, token).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    count
}
