//! Commits written by improve get what a human's `git commit` gets, or a refusal that
//! says so; never a silent difference. Decision (issue 12, item 11):
//! - Signing is honoured: with `commit.gpgsign` set, every commit improve writes is
//!   signed as git would sign it (`gpg.format` openpgp, x509 or ssh; `gpg.program`,
//!   `gpg.<format>.program`, `user.signingkey`). A signer that fails is an error
//!   ([`GitRefusal::CannotSign`]); `git config improve.gpgsign false` opts out.
//! - Commit hooks (pre-commit, prepare-commit-msg, commit-msg, post-commit) are not
//!   run: improve builds commits in the object database, not from the index. So a
//!   branch is not moved in a repository with active commit hooks
//!   ([`GitRefusal::HooksNotRun`]) until `git config improve.hooks skip` accepts it.

use super::Git;
use crate::command;
use crate::error::GitRefusal;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Duration;

/// The hooks a human's `git commit` runs.
const COMMIT_HOOKS: [&str; 4] = [
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
];

/// A signer may wait for an agent; never for ever.
const SIGN_TIMEOUT: Duration = Duration::from_secs(60);

/// How commits are to be signed.
pub(super) enum Signer {
    /// openpgp or x509: `<program> --status-fd=2 -bsau <key>`, payload on stdin.
    Gpg { program: String, key: String },
    /// ssh: `<program> -Y sign -n git -f <key> <file>`, signature in `<file>.sig`.
    Ssh { program: String, key: String },
}

impl Git {
    fn config_string(&self, key: &str) -> Option<String> {
        self.repo.config().ok()?.get_string(key).ok()
    }

    fn config_bool(&self, key: &str) -> Option<bool> {
        self.repo.config().ok()?.get_bool(key).ok()
    }

    /// The signer `commit.gpgsign` asks for, if it does and `improve.gpgsign` does
    /// not opt out.
    pub(super) fn signer(&self) -> Result<Option<Signer>> {
        if !self.config_bool("commit.gpgsign").unwrap_or(false)
            || !self.config_bool("improve.gpgsign").unwrap_or(true)
        {
            return Ok(None);
        }
        let format = self
            .config_string("gpg.format")
            .unwrap_or_else(|| "openpgp".into());
        let program = |fallback: &str| {
            self.config_string(&format!("gpg.{format}.program"))
                .or_else(|| {
                    (format == "openpgp")
                        .then(|| self.config_string("gpg.program"))
                        .flatten()
                })
                .unwrap_or_else(|| fallback.to_string())
        };
        let key = self.config_string("user.signingkey");
        Ok(Some(match format.as_str() {
            "openpgp" | "x509" => Signer::Gpg {
                program: program(if format == "x509" { "gpgsm" } else { "gpg" }),
                key: key.unwrap_or_else(|| self.committer_ident()),
            },
            "ssh" => Signer::Ssh {
                program: program("ssh-keygen"),
                key: key.ok_or_else(|| GitRefusal::CannotSign {
                    reason: "gpg.format is ssh and user.signingkey is not set".into(),
                })?,
            },
            other => {
                return Err(GitRefusal::CannotSign {
                    reason: format!("gpg.format {other:?} is not one git knows"),
                }
                .into())
            }
        }))
    }

    /// "Name <email>" of the committer, the key git signs with when none is set.
    fn committer_ident(&self) -> String {
        let name = self
            .config_string("user.name")
            .unwrap_or_else(|| "improve".into());
        let email = self
            .config_string("user.email")
            .unwrap_or_else(|| "improve@localhost".into());
        format!("{name} <{email}>")
    }

    /// The detached signature of a commit's `payload`.
    pub(super) fn sign(&self, signer: &Signer, payload: &str) -> Result<String> {
        let dir = tempfile::tempdir().context("creating a directory for signing")?;
        let cannot = |reason: String| anyhow::Error::from(GitRefusal::CannotSign { reason });
        match signer {
            Signer::Gpg { program, key } => {
                let argv = [
                    program.clone(),
                    "--status-fd=2".into(),
                    "-bsau".into(),
                    key.clone(),
                ];
                let r = command::run(
                    &argv,
                    dir.path(),
                    &[],
                    Some(payload.as_bytes()),
                    SIGN_TIMEOUT,
                )
                .map_err(|e| cannot(format!("{program} could not be run ({e:#})")))?;
                if !r.ok() || !r.stdout.contains("-----BEGIN") {
                    return Err(cannot(format!(
                        "{program} failed to sign with key {key:?}: {}",
                        crate::sanitize::terminal(&r.output_tail)
                    )));
                }
                Ok(r.stdout)
            }
            Signer::Ssh { program, key } => {
                let file = dir.path().join("commit");
                std::fs::write(&file, payload)?;
                let literal = key.starts_with("key::") || key.starts_with("ssh-");
                let key_file = if literal {
                    let k = dir.path().join("key.pub");
                    std::fs::write(&k, key.trim_start_matches("key::"))?;
                    k
                } else {
                    expand_home(key)
                };
                let mut argv = vec![
                    program.clone(),
                    "-Y".into(),
                    "sign".into(),
                    "-n".into(),
                    "git".into(),
                    "-f".into(),
                ];
                argv.push(key_file.display().to_string());
                if literal {
                    argv.push("-U".into());
                }
                argv.push(file.display().to_string());
                let r = command::run(&argv, dir.path(), &[], None, SIGN_TIMEOUT)
                    .map_err(|e| cannot(format!("{program} could not be run ({e:#})")))?;
                let sig =
                    std::fs::read_to_string(dir.path().join("commit.sig")).unwrap_or_default();
                if !r.ok() || !sig.contains("-----BEGIN") {
                    return Err(cannot(format!(
                        "{program} failed to sign with {key:?}: {}",
                        crate::sanitize::terminal(&r.output_tail)
                    )));
                }
                Ok(sig)
            }
        }
    }

    /// The commit hooks a human's `git commit` would run here (`core.hooksPath` or
    /// the common `hooks/`; executable files only, so git's `.sample`s do not count).
    pub fn active_commit_hooks(&self) -> Vec<String> {
        let dir = match self.config_string("core.hooksPath") {
            Some(p) => {
                let p = expand_home(&p);
                if p.is_absolute() {
                    p
                } else {
                    self.root().join(p)
                }
            }
            None => self.common_dir().join("hooks"),
        };
        COMMIT_HOOKS
            .iter()
            .filter(|h| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::metadata(dir.join(h))
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .map(|h| h.to_string())
            .collect()
    }

    /// Refuses to move a branch where commit hooks would have run for a human,
    /// unless `improve.hooks` is `skip` (see the module doc).
    pub fn check_hooks_policy(&self) -> Result<()> {
        if self.repo.is_bare() || self.config_string("improve.hooks").as_deref() == Some("skip") {
            return Ok(());
        }
        let hooks = self.active_commit_hooks();
        if hooks.is_empty() {
            return Ok(());
        }
        Err(GitRefusal::HooksNotRun { hooks }.into())
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}
