//! The optional `forge:` section of `improvement-data/config.yaml`: which forge, where
//! its API is, which repository, and the NAME of the environment variable holding the
//! token — the token itself is never in the config, a record or a message.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    Github,
    Gitlab,
    /// Gitea and Forgejo share one API.
    #[serde(alias = "forgejo")]
    Gitea,
}

impl ForgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::Github => "github",
            ForgeKind::Gitlab => "gitlab",
            ForgeKind::Gitea => "gitea",
        }
    }

    /// The public instance's API, where there is one.
    pub fn default_api(self) -> Option<&'static str> {
        match self {
            ForgeKind::Github => Some("https://api.github.com"),
            ForgeKind::Gitlab => Some("https://gitlab.com/api/v4"),
            ForgeKind::Gitea => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgeConfig {
    pub kind: ForgeKind,
    /// API base URL: `https://ghe.example.com/api/v3`, `https://gitlab.example.com/api/v4`,
    /// `https://gitea.example.com/api/v1`. Defaults to github.com / gitlab.com.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// `owner/name`; on GitLab the project's path (`group/sub/project`) or numeric id.
    pub repo: String,
    /// The name of the environment variable that holds the token.
    pub token_env: String,
    /// Labels put on every pull request, besides the tool's `improve`, `type:…`,
    /// `layer:…`, `risk:…` and `tier:…`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Review requested from these users (GitHub `org/team` requests a team).
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// The longest one request may take.
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

fn default_timeout() -> String {
    "30s".into()
}

/// A problem with one field of the section: `field` is relative to `forge.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field,
        message: message.into(),
    }
}

/// Prefixes of real tokens: a `token_env` that starts with one holds the token itself.
const TOKEN_PREFIXES: &[&str] = &["ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "gloas-"];

impl ForgeConfig {
    /// The API base URL without a trailing slash.
    pub fn api_base(&self) -> Option<String> {
        self.api
            .as_deref()
            .or(self.kind.default_api())
            .map(|a| a.trim_end_matches('/').to_string())
    }

    /// The `owner` and `name` of a GitHub or Gitea repository.
    pub fn owner_and_name(&self) -> Option<(&str, &str)> {
        let (o, n) = self.repo.split_once('/')?;
        (!o.is_empty() && !n.is_empty() && !n.contains('/')).then_some((o, n))
    }

    /// Checks what serde cannot. Messages never echo `token_env`'s value when it looks
    /// like a token.
    pub fn check(&self) -> Result<(), FieldProblem> {
        let token_like = TOKEN_PREFIXES.iter().any(|p| self.token_env.starts_with(p))
            || (self.token_env.len() >= 30
                && self.token_env.chars().any(|c| c.is_ascii_lowercase())
                && self.token_env.chars().any(|c| c.is_ascii_digit()));
        if token_like {
            return Err(problem(
                "token_env",
                "this looks like a token: put the token in an environment variable and \
                 name that variable here (e.g. token_env: GITHUB_TOKEN); revoke the \
                 token if this file was committed",
            ));
        }
        let valid_name = self
            .token_env
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && self
                .token_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(problem(
                "token_env",
                // The value is not echoed: it may be a token of a shape not known above.
                "not an environment variable name (letters, digits and _, not starting \
                 with a digit); it names the variable that holds the token",
            ));
        }
        let Some(api) = self.api_base() else {
            return Err(problem(
                "api",
                format!(
                    "a {} forge needs its API URL, e.g. https://gitea.example.com/api/v1",
                    self.kind.as_str()
                ),
            ));
        };
        match super::proxy::scheme_and_host(&api) {
            Some((scheme, _)) if scheme == "https" => {}
            // Plain http would send the token in clear; only the loopback may.
            Some((scheme, host)) if scheme == "http" && super::proxy::is_loopback(&host) => {}
            Some((scheme, _)) if scheme == "http" => {
                return Err(problem(
                    "api",
                    format!("{api} is plain http: the token would travel unencrypted; use https"),
                ))
            }
            _ => return Err(problem("api", format!("{api:?} is not an http(s) URL"))),
        }
        if api.contains('@') {
            return Err(problem(
                "api",
                "credentials do not belong in the URL; use token_env",
            ));
        }
        match self.kind {
            ForgeKind::Github | ForgeKind::Gitea if self.owner_and_name().is_none() => {
                return Err(problem(
                    "repo",
                    format!("{:?}: expected owner/name", self.repo),
                ))
            }
            ForgeKind::Gitlab
                if self.repo.trim_matches('/').is_empty()
                    || self.repo.split('/').any(str::is_empty) =>
            {
                return Err(problem(
                    "repo",
                    format!(
                        "{:?}: expected group/project or a numeric project id",
                        self.repo
                    ),
                ))
            }
            _ => {}
        }
        for l in &self.labels {
            if l.trim().is_empty() || l.contains(',') || l.len() > 50 {
                return Err(problem(
                    "labels",
                    format!("{l:?}: a label is 1 to 50 characters without a comma"),
                ));
            }
        }
        for r in &self.reviewers {
            let bad = r.is_empty()
                || r.starts_with('@')
                || r.chars().any(|c| c.is_whitespace() || c == ',');
            if bad {
                return Err(problem(
                    "reviewers",
                    format!("{r:?}: a reviewer is a user name (or org/team on GitHub), without @"),
                ));
            }
        }
        match crate::clock::parse_duration(&self.timeout) {
            Ok(d) if d > chrono::Duration::zero() => {}
            Ok(_) => return Err(problem("timeout", "must be more than 0s")),
            Err(e) => return Err(problem("timeout", e.to_string())),
        }
        Ok(())
    }

    /// The request timeout (checked at load).
    pub fn timeout(&self) -> std::time::Duration {
        crate::clock::parse_duration(&self.timeout)
            .ok()
            .and_then(|d| d.to_std().ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(std::time::Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> ForgeConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_and_kinds() {
        let c = cfg("kind: github\nrepo: o/r\ntoken_env: GITHUB_TOKEN\n");
        assert_eq!(c.api_base().as_deref(), Some("https://api.github.com"));
        assert!(c.check().is_ok());
        let c = cfg("kind: forgejo\napi: https://code.example/api/v1/\nrepo: o/r\ntoken_env: T\n");
        assert_eq!(c.kind, ForgeKind::Gitea);
        assert_eq!(c.api_base().as_deref(), Some("https://code.example/api/v1"));
        let c = cfg("kind: gitlab\nrepo: group/sub/project\ntoken_env: GL\n");
        assert!(c.check().is_ok());
        assert_eq!(c.timeout(), std::time::Duration::from_secs(30));
    }

    #[test]
    fn problems_name_the_field() {
        let field = |y: &str| cfg(y).check().unwrap_err().field;
        assert_eq!(field("kind: gitea\nrepo: o/r\ntoken_env: T\n"), "api");
        assert_eq!(
            field("kind: github\napi: http://ghe.example/api/v3\nrepo: o/r\ntoken_env: T\n"),
            "api"
        );
        assert_eq!(
            field("kind: github\nrepo: justname\ntoken_env: T\n"),
            "repo"
        );
        assert_eq!(field("kind: gitlab\nrepo: a//b\ntoken_env: T\n"), "repo");
        assert_eq!(
            field("kind: github\nrepo: o/r\ntoken_env: 1BAD\n"),
            "token_env"
        );
        assert_eq!(
            field("kind: github\nrepo: o/r\ntoken_env: T\nlabels: ['a,b']\n"),
            "labels"
        );
        assert_eq!(
            field("kind: github\nrepo: o/r\ntoken_env: T\nreviewers: ['@alice']\n"),
            "reviewers"
        );
        assert_eq!(
            field("kind: github\nrepo: o/r\ntoken_env: T\ntimeout: 0s\n"),
            "timeout"
        );
        // Loopback may be plain http (tests, a local tunnel).
        assert!(
            cfg("kind: gitea\napi: http://127.0.0.1:3000/api/v1\nrepo: o/r\ntoken_env: T\n")
                .check()
                .is_ok()
        );
    }

    #[test]
    fn a_token_pasted_into_token_env_is_refused_without_echoing_it() {
        let token = "ghp_R3allyS3cretT0kenValue1234567890";
        let c = cfg(&format!("kind: github\nrepo: o/r\ntoken_env: {token}\n"));
        let p = c.check().unwrap_err();
        assert_eq!(p.field, "token_env");
        assert!(!p.message.contains(token), "{}", p.message);
        assert!(!p.message.contains("R3ally"), "{}", p.message);
    }
}

#[cfg(test)]
mod config_file_tests {
    use crate::config::Config;
    use std::path::Path;

    fn error(text: &str) -> String {
        Config::parse(text, Path::new("c.yaml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_bad_forge_section_names_file_line_and_field() {
        let e = error(
            "version: 1\nforge:\n  kind: github\n  repo: nonsense\n  token_env: GITHUB_TOKEN\n",
        );
        assert!(e.starts_with("c.yaml:4: forge.repo:"), "{e}");
        let e = error("forge:\n  kind: gitea\n  repo: o/r\n  token_env: T\n");
        assert!(e.starts_with("c.yaml:1: forge.api:"), "{e}");
        let e = error("forge:\n  kind: github\n  repo: o/r\n  token_env: T\n  tokn: x\n");
        assert!(e.starts_with("c.yaml:5:") && e.contains("tokn"), "{e}");
        let e = error("forge:\n  kind: bitbucket\n  repo: o/r\n  token_env: T\n");
        assert!(e.starts_with("c.yaml:2:") && e.contains("bitbucket"), "{e}");
    }

    #[test]
    fn a_forge_section_is_optional_and_read() {
        assert!(Config::builtin().forge.is_none());
        let c = Config::parse(
            "forge:\n  kind: gitlab\n  api: https://git.example/api/v4\n  repo: grp/proj\n  token_env: GL_TOKEN\n  labels: [bot]\n  reviewers: [alice]\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        let f = c.forge.unwrap();
        assert_eq!(f.kind, super::ForgeKind::Gitlab);
        assert_eq!(f.reviewers, vec!["alice".to_string()]);
    }
}
