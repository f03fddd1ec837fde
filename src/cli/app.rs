//! What every command needs: the target repository, the (possibly simulated) clock,
//! and how to print.

use anyhow::Result;
use improve::clock::Timestamp;
use improve::config::Config;
use improve::git::Git;
use std::path::PathBuf;

pub struct App {
    pub repo: PathBuf,
    pub now: Timestamp,
    pub json: bool,
    pub quiet: bool,
}

impl App {
    pub fn git(&self) -> Result<Git> {
        Git::open(&self.repo)
    }

    /// The config as committed on the deploy branch (see `Config::for_repo`).
    pub fn config(&self, git: &Git) -> Result<Config> {
        Config::for_repo(git)
    }

    /// Prints a line for humans unless --quiet or --json.
    pub fn say(&self, s: impl AsRef<str>) {
        if !self.quiet && !self.json {
            println!("{}", s.as_ref());
        }
    }
}
