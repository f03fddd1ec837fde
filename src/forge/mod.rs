//! Pull requests on the forge (GitHub, GitLab, Gitea/Forgejo) through their public REST
//! APIs: one pull request per proposal branch, found again by its head branch, its body
//! kept current in a section the tool owns, labelled, commented, closed, read back.

mod body;
pub mod config;
mod gitea;
mod github;
mod gitlab;
pub mod http;
mod lifecycle;
pub mod proxy;
pub mod record;
mod wire;

pub use body::{
    comment_marker, has_comment_marker, section_of, splice_section, SECTION_BEGIN, SECTION_END,
};
pub use config::{ForgeConfig, ForgeKind};
pub use http::{HttpOptions, Secret};
pub use lifecycle::{label_plan, proposal_labels, Ensured, Forge, PrSpec, PrStatus};
pub use record::PullRecord;

use chrono::{DateTime, Utc};

/// Where a pull request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrState {
    Open,
    Closed,
    Merged,
}

impl PrState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrState::Open => "open",
            PrState::Closed => "closed",
            PrState::Merged => "merged",
        }
    }
}

/// A pull request (a merge request on GitLab) as the forge reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pr {
    /// The number people use: `#12` on GitHub and Gitea, `!12` (the iid) on GitLab.
    pub number: u64,
    pub url: String,
    pub title: String,
    pub body: String,
    pub state: PrState,
    pub draft: bool,
    pub head: String,
    /// The head branch's commit as the forge sees it: differs from the proposal's
    /// branch commit when a human pushed to the branch.
    pub head_sha: Option<String>,
    pub base: String,
    pub labels: Vec<String>,
    pub author: Option<String>,
    /// The merge (or squash) commit, once merged, when the forge gives it.
    pub merge_sha: Option<String>,
    /// GitHub's GraphQL node id (leaving draft needs GraphQL there).
    pub node_id: Option<String>,
}

/// What a forge call can end in. Anything worth retrying is `RetryLater`: the cycle
/// reports it and the next cycle tries again.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// Rate limited, a 5xx, a timeout or an unreachable forge.
    #[error("{what}: {reason}; retry later{}", at.map(|t| format!(" (at {})", t.format("%Y-%m-%dT%H:%M:%SZ"))).unwrap_or_default())]
    RetryLater {
        what: String,
        reason: String,
        at: Option<DateTime<Utc>>,
    },
    /// The forge refused the request (4xx): bad token, no permission, invalid input.
    #[error("{what}: the forge refused (HTTP {status}): {message}")]
    Rejected {
        what: String,
        status: u16,
        message: String,
    },
    /// The answer was not what the forge's documentation describes, or the transport
    /// failed in a way another try will not fix (TLS, a bad URL).
    #[error("{what}: {reason}")]
    Protocol { what: String, reason: String },
    /// The forge section or its environment cannot be used.
    #[error("forge: {0}")]
    Config(String),
}

impl ForgeError {
    /// True when the next cycle should simply try again.
    pub fn is_transient(&self) -> bool {
        matches!(self, ForgeError::RetryLater { .. })
    }

    /// When the forge said to come back, if it said.
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        match self {
            ForgeError::RetryLater { at, .. } => *at,
            _ => None,
        }
    }

    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T, E = ForgeError> = std::result::Result<T, E>;

/// One forge's REST API, reduced to what the lifecycle needs. Each call is one or a
/// few requests; the lifecycle decides what to call and when.
pub(crate) trait Backend: Send + Sync {
    /// The pull request whose head is `head`, open or closed, if any.
    fn find_by_head(&self, head: &str, base: &str) -> Result<Option<Pr>>;
    fn get(&self, number: u64) -> Result<Pr>;
    /// Opens `new` (its body is the whole description; its labels are set where the
    /// forge takes them on creation).
    fn create(&self, new: &PrSpec<'_>) -> Result<Pr>;
    fn edit_body(&self, number: u64, body: &str) -> Result<()>;
    fn close(&self, number: u64) -> Result<()>;
    /// Bodies of the comments, as many as a few pages hold.
    fn comments(&self, number: u64) -> Result<Vec<String>>;
    fn comment(&self, number: u64, body: &str) -> Result<()>;
    fn add_labels(&self, number: u64, labels: &[String]) -> Result<()>;
    fn remove_labels(&self, number: u64, labels: &[String]) -> Result<()>;
    fn mark_ready(&self, pr: &Pr) -> Result<()>;
    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<()>;
}

/// Title prefixes that make a draft where the forge has no draft flag in its API:
/// GitLab ("Draft merge requests": `Draft:`, `[Draft]`, `(Draft)`) and Gitea
/// (`WORK_IN_PROGRESS_PREFIXES`, by default `WIP:` and `[WIP]`).
pub(crate) fn strip_draft_prefix<'a>(title: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| {
        title
            .get(..p.len())
            .filter(|head| head.eq_ignore_ascii_case(p))
            .map(|_| title[p.len()..].trim_start())
    })
}

/// Of several pull requests from one branch, the open one, else the newest.
pub(crate) fn pick(prs: impl Iterator<Item = Pr>) -> Option<Pr> {
    prs.max_by_key(|p| (p.state == PrState::Open, p.number))
}

/// `(users, teams)`: `org/team` names a team (by its slug), anything else a user.
pub(crate) fn split_reviewers(reviewers: &[String]) -> (Vec<&str>, Vec<&str>) {
    let mut users = vec![];
    let mut teams = vec![];
    for r in reviewers {
        match r.split_once('/') {
            Some((_, team)) => teams.push(team),
            None => users.push(r.as_str()),
        }
    }
    (users, teams)
}
