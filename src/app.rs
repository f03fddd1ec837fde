//! What every command needs: the target repository, the (possibly simulated) clock,
//! and how to print.

use crate::clock::Timestamp;
use crate::config::{Config, CONFIG_PATH};
use crate::git::Git;
use anyhow::Result;
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

    /// The config as committed on the deploy branch (reviewed like code); before it is
    /// committed, the working tree's file; before `improve init`, the built-in one.
    pub fn config(&self, git: &Git) -> Result<Config> {
        let mut cfg = self.load_config(git)?;
        cfg.repo_root = Some(git.root());
        Ok(cfg)
    }

    fn load_config(&self, git: &Git) -> Result<Config> {
        // The deploy branch is named in the config itself; look on HEAD's branch,
        // then on main.
        let mut branches = vec![];
        if let Some(b) = git.head_branch() {
            branches.push(b);
        }
        branches.push("main".to_string());
        for b in branches {
            if let Some(tip) = git.ref_oid(&b)? {
                if let Some(bytes) = git.read_file(tip, CONFIG_PATH)? {
                    let text = String::from_utf8_lossy(&bytes);
                    let label = PathBuf::from(format!("{CONFIG_PATH} (on {b})"));
                    return Config::parse(&text, &label);
                }
            }
        }
        let wt = git.root().join(CONFIG_PATH);
        if wt.exists() {
            return Config::load(&wt);
        }
        Ok(Config::builtin())
    }

    /// Prints a line for humans unless --quiet or --json.
    pub fn say(&self, s: impl AsRef<str>) {
        if !self.quiet && !self.json {
            println!("{}", s.as_ref());
        }
    }
}
