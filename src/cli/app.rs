//! What every command needs: the target repository, the (possibly simulated) clock,
//! and how to print (through `out`).

use anyhow::Result;
use improve::clock::Timestamp;
use improve::config::Config;
use improve::error::Error;
use improve::git::Git;
use std::path::PathBuf;

pub struct App {
    pub repo: PathBuf,
    pub now: Timestamp,
    pub json: bool,
    pub quiet: bool,
    /// -v, -vv: also shown on stdout where a command has more to say (status notes).
    pub verbose: u8,
}

impl App {
    /// The repository; a path that is not one is bad usage (exit 2), while git's
    /// refusals (another owner) stay failures.
    pub fn git(&self) -> Result<Git> {
        Git::open(&self.repo).map_err(|e| {
            let not_found = e
                .chain()
                .filter_map(|c| c.downcast_ref::<git2::Error>())
                .any(|g| g.code() == git2::ErrorCode::NotFound);
            if not_found {
                Error::Usage(format!(
                    "{} is not a git repository (nor inside one); give the system's repository with --repo PATH or run improve inside it",
                    std::path::absolute(&self.repo)
                        .unwrap_or_else(|_| self.repo.clone())
                        .display()
                ))
                .into()
            } else {
                e
            }
        })
    }

    /// The config as committed on the deploy branch (see `Config::for_repo`).
    pub fn config(&self, git: &Git) -> Result<Config> {
        Config::for_repo(git)
    }

    /// Prints a line for humans unless --quiet or --json.
    pub fn say(&self, s: impl AsRef<str>) {
        if !self.quiet && !self.json {
            outln!("{}", s.as_ref());
        }
    }
}
