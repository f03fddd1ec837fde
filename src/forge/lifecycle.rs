//! The pull-request lifecycle over any forge, idempotent across cycles: a pull request
//! is found again by its head branch before one is opened, the body changes only inside
//! the tool's section, a comment is posted once per event key, labels converge to the
//! wanted set without touching labels a human added.

use super::body::{comment_marker, has_comment_marker, splice_section};
use super::config::{ForgeConfig, ForgeKind};
use super::http::{AuthScheme, Http, HttpOptions, Secret};
use super::proxy::proxy_for;
use super::{gitea, github, gitlab, Backend, ForgeError, Pr, PrState, Result};

/// A pull request the tool wants to exist.
#[derive(Debug, Clone)]
pub struct PrSpec<'a> {
    /// The proposal branch, e.g. `improve/proposal/P-0007`.
    pub head: &'a str,
    /// The deploy branch.
    pub base: &'a str,
    pub title: &'a str,
    /// The tool's section of the body (see [`super::splice_section`]).
    pub body: &'a str,
    /// See [`proposal_labels`]; the config's labels are added.
    pub labels: &'a [String],
    /// Open as a draft (validation still running).
    pub draft: bool,
}

/// The outcome of [`Forge::ensure_pr`].
#[derive(Debug, Clone)]
pub struct Ensured {
    pub pr: Pr,
    /// False when it already existed (open, closed or merged): never a duplicate.
    pub created: bool,
    /// What did not work after opening (a reviewer the forge refused, labels that wait
    /// for the next cycle): worth a line in the cycle's output, not a failure.
    pub notes: Vec<String>,
}

/// Where a pull request stands, read back from the forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrStatus {
    pub state: PrState,
    pub merge_sha: Option<String>,
    pub head_sha: Option<String>,
    pub draft: bool,
}

/// The labels of a proposal's pull request: `improve`, `type:…`, `layer:…`, `risk:…`
/// and, once decided, `tier:…`.
pub fn proposal_labels(
    kind: &str,
    layer: Option<&str>,
    risk: &str,
    tier: Option<&str>,
) -> Vec<String> {
    let mut v = vec!["improve".to_string(), format!("type:{kind}")];
    if let Some(l) = layer {
        v.push(format!("layer:{l}"));
    }
    v.push(format!("risk:{risk}"));
    if let Some(t) = tier {
        v.push(format!("tier:{t}"));
    }
    v
}

/// Labels the tool manages: it adds and removes these and leaves any other alone.
fn tool_owned(label: &str, extra: &[String]) -> bool {
    label == "improve"
        || ["type:", "layer:", "risk:", "tier:"]
            .iter()
            .any(|p| label.starts_with(p))
        || extra.iter().any(|e| e.eq_ignore_ascii_case(label))
}

/// `(to add, to remove)` so that `current` ends up holding `desired`, removing only
/// labels the tool owns (forges compare label names without case).
pub fn label_plan(
    current: &[String],
    desired: &[String],
    extra_owned: &[String],
) -> (Vec<String>, Vec<String>) {
    let has = |set: &[String], l: &str| set.iter().any(|x| x.eq_ignore_ascii_case(l));
    let mut add: Vec<String> = vec![];
    for d in desired {
        if !has(current, d) && !has(&add, d) {
            add.push(d.clone());
        }
    }
    let remove = current
        .iter()
        .filter(|c| tool_owned(c, extra_owned) && !has(desired, c))
        .cloned()
        .collect();
    (add, remove)
}

/// `current` after [`label_plan`] was applied for `desired`.
fn merged_labels(current: &[String], desired: &[String], extra: &[String]) -> Vec<String> {
    let (add, remove) = label_plan(current, desired, extra);
    current
        .iter()
        .filter(|c| !remove.contains(c))
        .cloned()
        .chain(add)
        .collect()
}

/// A connected forge client for one repository.
pub struct Forge {
    kind: ForgeKind,
    backend: Box<dyn Backend>,
    labels: Vec<String>,
    reviewers: Vec<String>,
}

impl std::fmt::Debug for Forge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forge")
            .field("kind", &self.kind)
            .field("labels", &self.labels)
            .field("reviewers", &self.reviewers)
            .finish_non_exhaustive()
    }
}

impl Forge {
    /// A client from the config and the process environment: the token from the
    /// variable `token_env` names, proxies from the usual variables.
    pub fn from_env(cfg: &ForgeConfig) -> Result<Forge> {
        cfg.check()
            .map_err(|p| ForgeError::Config(format!("forge.{}: {}", p.field, p.message)))?;
        let env = |k: &str| std::env::var(k).ok();
        let token = env(&cfg.token_env)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                ForgeError::Config(format!(
                    "the environment variable {} (forge.token_env) is not set",
                    cfg.token_env
                ))
            })?;
        let api = cfg.api_base().unwrap_or_default();
        let timeout = cfg.timeout();
        let opts = HttpOptions {
            connect_timeout: timeout.min(std::time::Duration::from_secs(10)),
            timeout,
            proxy: proxy_for(&api, &env),
            ..HttpOptions::default()
        };
        Forge::connect(cfg, Secret::new(token.trim()), opts)
    }

    /// A client with an explicit token and network options. The config is taken as
    /// checked ([`ForgeConfig::check`] runs when the config file is loaded and in
    /// [`Forge::from_env`]).
    pub fn connect(cfg: &ForgeConfig, token: Secret, opts: HttpOptions) -> Result<Forge> {
        let api = cfg
            .api_base()
            .ok_or_else(|| ForgeError::Config("forge.api is required".into()))?;
        // GitHub: docs.github.com "Getting started with the REST API" (bearer token,
        // the vnd.github+json media type, a pinned API version). GitLab: "REST API
        // authentication" (an access token as a bearer token). Gitea and Forgejo:
        // "API Usage" (`Authorization: token …`).
        let (prefix, headers) = match cfg.kind {
            ForgeKind::Github => (
                "Bearer ",
                vec![
                    ("Accept", "application/vnd.github+json"),
                    ("X-GitHub-Api-Version", "2022-11-28"),
                ],
            ),
            ForgeKind::Gitlab => ("Bearer ", vec![("Accept", "application/json")]),
            ForgeKind::Gitea => ("token ", vec![("Accept", "application/json")]),
        };
        let auth = AuthScheme {
            header: "Authorization",
            prefix,
        };
        let http = Http::new(&api, auth, token, headers, &opts)?;
        let (owner, name) = cfg.owner_and_name().unwrap_or_default();
        let backend: Box<dyn Backend> = match cfg.kind {
            ForgeKind::Github => {
                Box::new(github::GitHub::new(http, owner, name, graphql_url(&api)))
            }
            ForgeKind::Gitlab => Box::new(gitlab::GitLab::new(http, &cfg.repo)),
            ForgeKind::Gitea => Box::new(gitea::Gitea::new(http, owner, name)),
        };
        Ok(Forge {
            kind: cfg.kind,
            backend,
            labels: cfg.labels.clone(),
            reviewers: cfg.reviewers.clone(),
        })
    }

    pub fn kind(&self) -> ForgeKind {
        self.kind
    }

    /// The pull request of `head`, open or closed, if there is one.
    pub fn find(&self, head: &str, base: &str) -> Result<Option<Pr>> {
        self.backend.find_by_head(head, base)
    }

    pub fn get(&self, number: u64) -> Result<Pr> {
        self.backend.get(number)
    }

    /// The pull request of `spec.head`: the existing one (open, closed or merged — a
    /// branch gets one pull request, ever), or a new one with the body in the tool's
    /// section, the labels, the config's reviewers and draft when asked. An open one
    /// found again gets its labels brought up to date; nothing else is touched.
    pub fn ensure_pr(&self, spec: &PrSpec<'_>) -> Result<Ensured> {
        let labels = self.all_labels(spec.labels);
        if let Some(pr) = self.backend.find_by_head(spec.head, spec.base)? {
            return Ok(self.found(pr, &labels));
        }
        let body = splice_section("", spec.body);
        let new = PrSpec {
            body: &body,
            labels: &labels,
            ..spec.clone()
        };
        let pr = match self.backend.create(&new) {
            Ok(pr) => pr,
            // Opened meanwhile (a concurrent run, a human): the forge refuses a second
            // one for the same branch (GitHub 422, GitLab and Gitea 409).
            Err(e) if matches!(e.status(), Some(409 | 422)) => {
                match self.backend.find_by_head(spec.head, spec.base)? {
                    Some(pr) => return Ok(self.found(pr, &labels)),
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let mut pr = pr;
        let mut notes = vec![];
        // The pull request exists now: what fails from here is noted, and the next
        // cycle's `ensure_pr` finds it and brings the labels up to date.
        match self.apply_labels(&pr, &labels) {
            Ok(_) => pr.labels = merged_labels(&pr.labels, &labels, &self.labels),
            Err(e) => notes.push(format!("labels not set yet: {e}")),
        }
        if !self.reviewers.is_empty() {
            if let Err(e) = self.backend.request_reviewers(pr.number, &self.reviewers) {
                notes.push(format!("review not requested: {e}"));
            }
        }
        Ok(Ensured {
            pr,
            created: true,
            notes,
        })
    }

    fn found(&self, pr: Pr, labels: &[String]) -> Ensured {
        let mut notes = vec![];
        if pr.state == PrState::Open {
            if let Err(e) = self.apply_labels(&pr, labels) {
                notes.push(format!("labels not updated: {e}"));
            }
        }
        Ensured {
            pr,
            created: false,
            notes,
        }
    }

    /// Replaces the tool's section of the body with `section`, keeping everything a
    /// human wrote around it. False when it already said that (no request is sent).
    pub fn update_body(&self, number: u64, section: &str) -> Result<bool> {
        let pr = self.backend.get(number)?;
        let new = splice_section(&pr.body, section);
        // The forge may hand back a body edited in a browser with CRLF line ends.
        if new.replace("\r\n", "\n") == pr.body.replace("\r\n", "\n") {
            return Ok(false);
        }
        self.backend.edit_body(number, &new)?;
        Ok(true)
    }

    /// Posts `text` once for `key` (e.g. `P-0007:deployed:D-3`): a comment already
    /// carrying the key's hidden marker means it was posted, maybe by a cycle that died
    /// before recording it. False when it was already there.
    pub fn comment(&self, number: u64, key: &str, text: &str) -> Result<bool> {
        if self
            .backend
            .comments(number)?
            .iter()
            .any(|c| has_comment_marker(c, key))
        {
            return Ok(false);
        }
        self.backend
            .comment(number, &format!("{}\n{text}", comment_marker(key)))?;
        Ok(true)
    }

    /// Makes the tool's labels `labels` (plus the config's), leaving a human's labels.
    /// False when nothing had to change.
    pub fn set_labels(&self, number: u64, labels: &[String]) -> Result<bool> {
        let pr = self.backend.get(number)?;
        self.apply_labels(&pr, &self.all_labels(labels))
    }

    fn apply_labels(&self, pr: &Pr, desired: &[String]) -> Result<bool> {
        let (add, remove) = label_plan(&pr.labels, desired, &self.labels);
        if !add.is_empty() {
            self.backend.add_labels(pr.number, &add)?;
        }
        if !remove.is_empty() {
            self.backend.remove_labels(pr.number, &remove)?;
        }
        Ok(!add.is_empty() || !remove.is_empty())
    }

    fn all_labels(&self, labels: &[String]) -> Vec<String> {
        let mut v: Vec<String> = labels.to_vec();
        for l in &self.labels {
            if !v.iter().any(|x| x.eq_ignore_ascii_case(l)) {
                v.push(l.clone());
            }
        }
        v
    }

    /// Comments (once for `key`) and closes an open pull request: rejected, superseded
    /// or failed. A pull request already closed or merged is left as it is. True when
    /// it was closed now.
    pub fn close_with_comment(&self, number: u64, key: &str, text: &str) -> Result<bool> {
        let pr = self.backend.get(number)?;
        if pr.state != PrState::Open {
            return Ok(false);
        }
        // Comment first: if closing fails, the next cycle finds the comment and only
        // closes.
        self.comment(number, key, text)?;
        self.backend.close(number)?;
        Ok(true)
    }

    /// Takes an open draft out of draft. False when it was not a draft.
    pub fn mark_ready(&self, number: u64) -> Result<bool> {
        let pr = self.backend.get(number)?;
        if !pr.draft || pr.state != PrState::Open {
            return Ok(false);
        }
        self.backend.mark_ready(&pr)?;
        Ok(true)
    }

    /// Open, closed or merged, with the merge commit when the forge gives it.
    pub fn state(&self, number: u64) -> Result<PrStatus> {
        let pr = self.backend.get(number)?;
        Ok(PrStatus {
            state: pr.state,
            merge_sha: pr.merge_sha,
            head_sha: pr.head_sha,
            draft: pr.draft,
        })
    }
}

/// GitHub's GraphQL endpoint beside a REST base: `https://api.github.com/graphql`, and
/// `https://HOST/api/graphql` for Enterprise Server's `https://HOST/api/v3`.
fn graphql_url(api: &str) -> String {
    match api.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{api}/graphql"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn labels_converge_and_leave_human_labels() {
        let current = s(&[
            "improve",
            "tier:notify",
            "risk:low",
            "needs-discussion",
            "Type:Constant_Tune",
        ]);
        let desired = s(&["improve", "type:constant_tune", "risk:low", "tier:approve"]);
        let (add, remove) = label_plan(&current, &desired, &[]);
        assert_eq!(add, s(&["tier:approve"]));
        assert_eq!(remove, s(&["tier:notify"]));
        let (add, remove) = label_plan(&desired, &desired, &[]);
        assert!(add.is_empty() && remove.is_empty());
        // A configured label the tool put there is the tool's to remove.
        let (_, remove) = label_plan(&s(&["bot", "other"]), &s(&[]), &s(&["bot"]));
        assert_eq!(remove, s(&["bot"]));
    }

    #[test]
    fn proposal_labels_name_type_layer_risk_tier() {
        assert_eq!(
            proposal_labels("constant_tune", Some("physics"), "low", Some("approve")),
            s(&[
                "improve",
                "type:constant_tune",
                "layer:physics",
                "risk:low",
                "tier:approve"
            ])
        );
        assert_eq!(
            proposal_labels("skill_improve", None, "medium", None),
            s(&["improve", "type:skill_improve", "risk:medium"])
        );
    }

    #[test]
    fn graphql_beside_rest() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.example/api/v3"),
            "https://ghe.example/api/graphql"
        );
    }
}
