//! Errors the caller must react to, and the exit code each one maps to.
//! Exit codes are decided here alone (DESIGN §11): 0 done, 1 failure, 2 bad usage or
//! config, 3 health ERROR, 75 another cycle is running, 141 stdout closed early.

use std::path::PathBuf;

/// An error whose kind decides the process's exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration file is invalid; always names the file and the line.
    #[error("{file}:{line}: {field}: {message}")]
    Config {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
    /// The command line asked for something that cannot be done as asked.
    #[error("{0}")]
    Usage(String),
    /// Another cycle holds the lock; the trigger was queued.
    #[error("another cycle is running (pid {pid}); trigger queued")]
    Busy { pid: u32 },
    /// A human's command found a cycle running; nothing was recorded (exit 75, like a
    /// second cycle, but nothing is queued: the human runs it again).
    #[error("a cycle is running (pid {pid}); {what} was not recorded: run it again when the cycle has finished")]
    CycleRunning { pid: u32, what: String },
    /// An invariant (V1–V10) would be broken by the action; nothing was done.
    #[error("refused by invariant {invariant}: {message}")]
    Invariant {
        invariant: &'static str,
        message: String,
    },
    /// A record on the records branch is not what this version reads (an unknown
    /// tier, mode or status, a missing field): named with its file and line, never
    /// read as a default.
    #[error("records: {file}:{line}: {message}")]
    Record {
        file: String,
        line: usize,
        message: String,
    },
    /// Health is ERROR (exit 3 so a timer's failure hook can alert).
    #[error("health is ERROR")]
    HealthError,
}

/// Why a git operation was refused, each with what a human can do about it; nothing
/// was written. The environment is at fault, not the change: a lifecycle finds it with
/// `err.downcast_ref::<GitRefusal>()`, treats it as inconclusive and tries again
/// later. Exit code 1 (failure), so a timer's failure hook alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitRefusal {
    /// Another process holds the index lock (git itself, an editor, a crashed git).
    #[error("{} exists: another git process is working in this repository (or one crashed and left it); nothing was written. Retry when it is done; if no git process is running, remove the file", path.display())]
    IndexLocked { path: PathBuf },
    /// Another process holds the lock of the branch's ref (`refs/heads/NAME.lock`).
    #[error("{} exists: another git process is updating this branch (or one crashed and left it); nothing was written. Retry when it is done; if no git process is running, remove the file", path.display())]
    RefLocked { path: PathBuf },
    /// The branch is checked out, or being rebased or bisected, in a worktree.
    #[error("{branch} is {how} in the worktree {}; git would refuse to move it there, so improve does too", worktree.display())]
    BranchInUse {
        branch: String,
        worktree: PathBuf,
        how: String,
    },
    /// A human is in the middle of a rebase, merge, cherry-pick, revert or bisect.
    #[error("a {operation} is in progress in the worktree {}; {advice}, then run improve again", worktree.display())]
    OperationInProgress {
        operation: &'static str,
        worktree: PathBuf,
        advice: &'static str,
    },
    /// The tracked files differ from HEAD.
    #[error("the working tree {} has uncommitted changes; refusing to move {branch}", worktree.display())]
    Dirty { worktree: PathBuf, branch: String },
    /// The clone is shallow: history the tool needs is missing.
    #[error("{} is a shallow clone (history is cut at grafted commits), so {what} cannot be checked; fetch the full history: git -C {} fetch --unshallow", path.display(), path.display())]
    Shallow { path: PathBuf, what: String },
    /// The repository belongs to another user and git's ownership check refuses it.
    #[error("{} is owned by another user, and git refuses to work in a repository it does not own. Run improve as the owner of the repository, or, if you trust it: git config --global --add safe.directory {}", path.display(), path.display())]
    NotOwner { path: PathBuf },
    /// The branch is behind or has diverged from its upstream.
    #[error("{branch} is {relation} its upstream {upstream}; {advice}")]
    Upstream {
        branch: String,
        upstream: String,
        relation: String,
        advice: String,
    },
    /// The repository has commit hooks, which commits written by improve do not run.
    #[error("the repository has active commit hooks ({}), which commits written by improve do not run; to accept that for this repository: git config improve.hooks skip", hooks.join(", "))]
    HooksNotRun { hooks: Vec<String> },
    /// Signing is configured but cannot be done as git would.
    #[error("commit.gpgsign is set but {reason}; to commit unsigned in this repository: git config improve.gpgsign false")]
    CannotSign { reason: String },
}

/// Exit codes, one place (DESIGN §11): every command maps its outcome through these,
/// the man page's EXIT STATUS section and the README's table are `TABLE`.
pub mod exit {
    /// Done (also a cycle that found no signals).
    pub const OK: i32 = 0;
    /// Something failed: an invariant refused an action, a record does not read, git
    /// refused, a check or the audit found a violation, a rollback did not apply.
    pub const FAILURE: i32 = 1;
    /// Bad usage or config: an unknown option or id, a path that is not a git
    /// repository, an action the proposal's state does not allow, an invalid config
    /// (named with file and line).
    pub const USAGE: i32 = 2;
    /// `improve health` found the loop in ERROR.
    pub const HEALTH_ERROR: i32 = 3;
    /// Another cycle holds the lock; this trigger was queued (EX_TEMPFAIL).
    pub const BUSY: i32 = 75;
    /// The reader of stdout closed it before everything was written (`| head`): the
    /// command still finished what it was doing, only its output was cut. 128 + 13,
    /// what a shell reports for a tool that SIGPIPE ended.
    pub const PIPE: i32 = 141;

    /// Every exit code with its meaning, in order.
    pub const TABLE: &[(i32, &str)] = &[
        (OK, "done (also a cycle that found no signals)"),
        (
            FAILURE,
            "failure: an invariant refused an action, a record does not read, git refused, a check or the audit found a violation, a rollback did not apply",
        ),
        (
            USAGE,
            "bad usage or config: an unknown option or id, a path that is not a git repository, an action the proposal's state does not allow, an invalid config (file and line named)",
        ),
        (HEALTH_ERROR, "improve health found the loop in ERROR"),
        (
            BUSY,
            "another cycle is running; the trigger was queued (the units and the crontab treat it as success)",
        ),
        (
            PIPE,
            "the reader of stdout closed it early (`| head`); the command finished its work, only the output was cut",
        ),
    ];
}

/// What kind of error ended a command (the `kind` of a JSON error object), from the
/// first typed error in the chain.
pub fn kind(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return match e {
                Error::Config { .. } => "config",
                Error::Usage(_) => "usage",
                Error::Busy { .. } | Error::CycleRunning { .. } => "busy",
                Error::HealthError => "health_error",
                Error::Invariant { .. } => "invariant",
                Error::Record { .. } => "record",
            };
        }
        if cause.downcast_ref::<GitRefusal>().is_some() {
            return "git_refusal";
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return "usage";
        }
    }
    "failure"
}

/// Maps any error chain to the exit code of the first typed error in it.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    match kind(err) {
        "config" | "usage" => exit::USAGE,
        "busy" => exit::BUSY,
        "health_error" => exit::HEALTH_ERROR,
        _ => exit::FAILURE,
    }
}

pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;
