//! What git's config says about remotes: a branch's upstream (which remote, which
//! branch there) and whether a name is a configured remote. Network operations
//! themselves go through the system git ([`Git::run_git`]).

use super::Git;
use anyhow::Result;
use git2::Oid;

/// A branch's upstream as configured (`branch.<name>.remote` and `.merge`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    pub remote: String,
    /// The branch on the remote, e.g. `refs/heads/main`.
    pub merge: String,
}

impl Git {
    fn config_value(&self, key: &str) -> Option<String> {
        self.repo
            .config()
            .ok()?
            .get_string(key)
            .ok()
            .filter(|v| !v.is_empty())
    }

    /// The configured upstream of local branch `branch`, if any (a remote of `.`, the
    /// repository itself, is none).
    pub fn upstream_config(&self, branch: &str) -> Option<UpstreamConfig> {
        let remote = self.config_value(&format!("branch.{branch}.remote"))?;
        let merge = self.config_value(&format!("branch.{branch}.merge"))?;
        (remote != ".").then_some(UpstreamConfig { remote, merge })
    }

    /// True when `name` is a configured remote (not a URL or path given directly).
    pub fn is_remote(&self, name: &str) -> bool {
        self.repo.find_remote(name).is_ok()
    }

    /// The branches of `remote` under `prefix` as last fetched: (branch name there,
    /// tip), from the remote-tracking refs `refs/remotes/REMOTE/PREFIX*`.
    pub fn remote_branches(&self, remote: &str, prefix: &str) -> Result<Vec<(String, Oid)>> {
        let stem = format!("refs/remotes/{remote}/");
        let mut out = vec![];
        for r in self.repo.references_glob(&format!("{stem}{prefix}*"))? {
            let r = r?;
            if let (Some(name), Some(oid)) = (r.name(), r.target()) {
                out.push((name.trim_start_matches(&stem).to_string(), oid));
            }
        }
        Ok(out)
    }
}
