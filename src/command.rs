//! Runs a configured command: argv only (never a shell), in a given directory, in its
//! own process group, stopped at its timeout or the cycle's deadline, whichever comes
//! first. Nothing from logs reaches the argv, and nothing it starts outlives the run.

mod group;

pub use group::alive;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What stopped a command before it finished by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// Its own timeout (`test_timeout`, `rollback_timeout`, ...).
    Timeout,
    /// The cycle's absolute deadline (the end of `time_budget`).
    Deadline,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub argv: Vec<String>,
    pub dir: String,
    pub exit_code: Option<i32>,
    /// Stopped by a time limit; `stopped_by` says which.
    pub timed_out: bool,
    pub millis: u64,
    /// The last lines of stdout and stderr (bounded).
    pub output_tail: String,
    #[serde(skip)]
    pub stdout: String,
    /// The limit that stopped it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<StopCause>,
    /// The command could not be started at all (program not found, not executable,
    /// directory missing): a fault of the environment, not a verdict on the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_error: Option<String>,
    /// The signal that ended it, when it did not exit by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Processes it left running after it exited (or when it was stopped), which were
    /// terminated with it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leftovers_killed: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How a run ended, for a caller that must tell a verdict from an accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0 within its limits.
    Passed,
    /// It ran and failed (non-zero exit, or killed by a signal nobody sent it).
    Failed,
    /// Its own timeout stopped it: the command is too slow, a failure of the change.
    TimedOut,
    /// The cycle's deadline stopped it (or came before it could start): no verdict.
    DeadlineReached,
    /// It could not be started: no verdict, the environment is at fault.
    CouldNotRun,
}

impl Outcome {
    /// True when the run says nothing about the change (treat as INCONCLUSIVE).
    pub fn is_inconclusive(self) -> bool {
        matches!(self, Outcome::DeadlineReached | Outcome::CouldNotRun)
    }
}

impl RunRecord {
    pub fn ok(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.spawn_error.is_none()
    }

    pub fn outcome(&self) -> Outcome {
        match (self.spawn_error.is_some(), self.stopped_by) {
            (true, _) => Outcome::CouldNotRun,
            (_, Some(StopCause::Deadline)) => Outcome::DeadlineReached,
            (_, Some(StopCause::Timeout)) => Outcome::TimedOut,
            _ if self.ok() => Outcome::Passed,
            _ => Outcome::Failed,
        }
    }
}

/// The time limits of one run: its own timeout, and the absolute end of the cycle's
/// budget, if the caller has one. The run is stopped at whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub deadline: Option<Instant>,
}

impl Limits {
    pub fn timeout(timeout: Duration) -> Limits {
        Limits {
            timeout,
            deadline: None,
        }
    }

    /// The instant the run is stopped at, and which limit that is.
    fn stop_at(&self, started: Instant) -> (Instant, StopCause) {
        let own = started + self.timeout;
        match self.deadline {
            Some(d) if d < own => (d, StopCause::Deadline),
            _ => (own, StopCause::Timeout),
        }
    }
}

/// How much of each output stream is kept (its end, where results are printed).
const KEEP_BYTES: u64 = 4 << 20;

fn tail(s: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}

/// Runs `argv` in `dir`, feeding `stdin` if given, killing it after `timeout`. A
/// command that cannot be started is an error here; [`run_limited`] records it instead.
pub fn run(
    argv: &[String],
    dir: &Path,
    envs: &[(&str, String)],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<RunRecord> {
    let r = run_limited(argv, dir, envs, stdin, Limits::timeout(timeout))?;
    if let Some(e) = &r.spawn_error {
        bail!("{e}");
    }
    Ok(r)
}

/// Runs `argv` in `dir` in a process group of its own, feeding `stdin` if given, and
/// stops it (SIGTERM to the group, SIGKILL after a grace period) at `limits`. Output
/// goes to unlinked temporary files, so a background process that inherits it cannot
/// keep the caller waiting; whatever the command leaves running when it exits is
/// terminated too. A command that cannot be started gives a record with
/// `spawn_error`; only a failure of this process itself (no temporary file) is an error.
pub fn run_limited(
    argv: &[String],
    dir: &Path,
    envs: &[(&str, String)],
    stdin: Option<&[u8]>,
    limits: Limits,
) -> Result<RunRecord> {
    let (prog, args) = argv.split_first().context("empty command")?;
    let started = Instant::now();
    let (stop_at, cause) = limits.stop_at(started);
    let mut record = RunRecord {
        argv: argv.to_vec(),
        dir: dir.display().to_string(),
        exit_code: None,
        timed_out: false,
        millis: 0,
        output_tail: String::new(),
        stdout: String::new(),
        stopped_by: None,
        spawn_error: None,
        signal: None,
        leftovers_killed: 0,
    };
    if started >= stop_at {
        record.timed_out = true;
        record.stopped_by = Some(cause);
        record.output_tail = "not started: the cycle's time budget is spent".into();
        return Ok(record);
    }
    let mut out = tempfile::tempfile().context("creating a file for the command's output")?;
    let mut err = tempfile::tempfile().context("creating a file for the command's errors")?;
    let input = match stdin {
        Some(bytes) => {
            // A file, not a pipe: a command that never reads cannot block us.
            let mut f = tempfile::tempfile().context("creating a file for the command's input")?;
            f.write_all(bytes)?;
            f.seek(SeekFrom::Start(0))?;
            Stdio::from(f)
        }
        None => Stdio::null(),
    };
    let token = group::new_token();
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .current_dir(dir)
        .stdin(input)
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(err.try_clone()?))
        .env(group::TOKEN_VAR, &token)
        .process_group(0);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            record.spawn_error = Some(format!(
                "cannot run {prog:?} in {}: {}",
                dir.display(),
                spawn_reason(&e)
            ));
            record.millis = started.elapsed().as_millis() as u64;
            record.output_tail = record.spawn_error.clone().unwrap_or_default();
            return Ok(record);
        }
    };
    let leader = child.id() as i32;
    let mut pause = Duration::from_millis(1);
    loop {
        if group::leader_exited(leader) {
            break;
        }
        if Instant::now() >= stop_at {
            record.timed_out = true;
            record.stopped_by = Some(cause);
            break;
        }
        std::thread::sleep(pause.min(stop_at.saturating_duration_since(Instant::now())));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    // Whether it exited or was stopped, nothing it started may outlive it; the leader
    // is reaped only afterwards, so its pid (the group id) cannot be reused meanwhile.
    record.leftovers_killed = group::terminate(leader, &token);
    let status = child.wait().context("waiting for the command")?;
    record.exit_code = status.code();
    record.signal = status.signal();
    record.millis = started.elapsed().as_millis() as u64;
    let stdout = read_end(&mut out);
    let stderr = read_end(&mut err);
    record.output_tail = format!("{}\n{}", tail(&stdout, 20), tail(&stderr, 20))
        .trim()
        .to_string();
    record.stdout = stdout;
    Ok(record)
}

/// A true reason for a failed start, naming the errno's meaning without Rust's noise.
fn spawn_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "program or directory not found".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied (not executable?)".into(),
        _ => e.to_string(),
    }
}

/// The last [`KEEP_BYTES`] of a stream, from a line boundary when it was cut.
fn read_end(f: &mut File) -> String {
    let len = f.seek(SeekFrom::End(0)).unwrap_or(0);
    let from = len.saturating_sub(KEEP_BYTES);
    let mut buf = Vec::with_capacity((len - from) as usize);
    if f.seek(SeekFrom::Start(from)).is_ok() {
        let _ = f.read_to_end(&mut buf);
    }
    if from > 0 {
        let cut = memchr::memchr(b'\n', &buf).map_or(0, |i| i + 1);
        buf.drain(..cut);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests;
