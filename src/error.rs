//! Errors the caller must react to, and the exit code each one maps to.
//! Exit codes are decided here alone (DESIGN §11): 0 done, 1 failure, 2 bad usage or
//! config, 3 health ERROR, 75 another cycle is running.

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

/// Exit codes, one place (DESIGN §11).
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const HEALTH_ERROR: i32 = 3;
    pub const BUSY: i32 = 75;
}

/// Maps any error chain to the exit code of the first typed error in it.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return match e {
                Error::Config { .. } | Error::Usage(_) => exit::USAGE,
                Error::Busy { .. } => exit::BUSY,
                Error::HealthError => exit::HEALTH_ERROR,
                Error::Invariant { .. } | Error::Record { .. } => exit::FAILURE,
            };
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return exit::USAGE;
        }
    }
    exit::FAILURE
}

pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;
