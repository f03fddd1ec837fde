//! GitLab (gitlab.com and self-managed) through its REST API v4. Shapes follow
//! docs.gitlab.com/api: "Merge requests API" (`/projects/:id/merge_requests`, list by
//! `source_branch`, `state_event=close`, `add_labels`/`remove_labels` as comma-separated
//! names, `reviewer_ids`), "Notes API" (merge request notes), "Users API"
//! (`/users?username=`); drafts are a `Draft:` title prefix ("Draft merge requests").

use super::http::{encode, Http, Method};
use super::wire::Comment;
use super::{pick, strip_draft_prefix, Backend, ForgeError, Pr, PrSpec, PrState, Result};
use serde::Deserialize;
use serde_json::json;

pub(crate) struct GitLab {
    http: Http,
    /// The project's id or its URL-encoded path (`group%2Fproject`).
    project: String,
}

#[derive(Deserialize)]
struct Mr {
    iid: u64,
    web_url: String,
    title: String,
    description: Option<String>,
    /// `opened`, `closed`, `locked` or `merged`.
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    work_in_progress: Option<bool>,
    source_branch: String,
    target_branch: String,
    sha: Option<String>,
    merge_commit_sha: Option<String>,
    squash_commit_sha: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    author: Option<User>,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id: u64,
    username: String,
}

/// Title prefixes GitLab reads as draft (and the older work-in-progress ones).
const DRAFT_PREFIXES: &[&str] = &["Draft:", "[Draft]", "(Draft)", "WIP:", "[WIP]"];

impl From<Mr> for Pr {
    fn from(m: Mr) -> Pr {
        let state = match m.state.as_str() {
            "merged" => PrState::Merged,
            // `locked` is an open merge request while a merge is in progress.
            "opened" | "locked" => PrState::Open,
            _ => PrState::Closed,
        };
        let draft = m.draft.or(m.work_in_progress).unwrap_or(false)
            || strip_draft_prefix(&m.title, DRAFT_PREFIXES).is_some();
        Pr {
            number: m.iid,
            url: m.web_url,
            title: m.title,
            body: m.description.unwrap_or_default(),
            state,
            draft,
            head: m.source_branch,
            head_sha: m.sha,
            base: m.target_branch,
            labels: m.labels.unwrap_or_default(),
            author: m.author.map(|a| a.username),
            // A squash merge records its squash commit; the merge commit (when the
            // project makes one) is what landed on the target branch.
            merge_sha: if state == PrState::Merged {
                m.merge_commit_sha.or(m.squash_commit_sha)
            } else {
                None
            },
            node_id: None,
        }
    }
}

const NOTE_PAGES: u32 = 5;

impl GitLab {
    pub fn new(http: Http, repo: &str) -> GitLab {
        GitLab {
            http,
            project: encode(repo.trim_matches('/')),
        }
    }

    fn mrs(&self) -> String {
        format!("/projects/{}/merge_requests", self.project)
    }

    fn put(&self, iid: u64, body: serde_json::Value) -> Result<()> {
        self.http
            .call(Method::Put, &format!("{}/{iid}", self.mrs()), Some(&body))
    }
}

impl Backend for GitLab {
    fn find_by_head(&self, head: &str, _base: &str) -> Result<Option<Pr>> {
        let path = format!(
            "{}?source_branch={}&state=all&per_page=100",
            self.mrs(),
            encode(head)
        );
        let mrs: Vec<Mr> = self.http.get(&path)?;
        Ok(pick(
            mrs.into_iter().map(Pr::from).filter(|p| p.head == head),
        ))
    }

    fn get(&self, number: u64) -> Result<Pr> {
        let m: Mr = self.http.get(&format!("{}/{number}", self.mrs()))?;
        Ok(m.into())
    }

    fn create(&self, new: &PrSpec<'_>) -> Result<Pr> {
        let title = if new.draft {
            format!("Draft: {}", new.title)
        } else {
            new.title.to_string()
        };
        let body = json!({
            "source_branch": new.head,
            "target_branch": new.base,
            "title": title,
            "description": new.body,
            // Labels that do not exist yet are created by GitLab.
            "labels": new.labels.join(","),
        });
        let m: Mr = self.http.send(Method::Post, &self.mrs(), &body)?;
        Ok(m.into())
    }

    fn edit_body(&self, number: u64, body: &str) -> Result<()> {
        self.put(number, json!({ "description": body }))
    }

    fn close(&self, number: u64) -> Result<()> {
        self.put(number, json!({ "state_event": "close" }))
    }

    fn comments(&self, number: u64) -> Result<Vec<String>> {
        let path = |page| {
            format!(
                "{}/{number}/notes?per_page=100&page={page}&sort=desc",
                self.mrs()
            )
        };
        let all: Vec<Comment> = self.http.get_pages(path, 100, NOTE_PAGES)?;
        Ok(all.into_iter().filter_map(|c| c.body).collect())
    }

    fn comment(&self, number: u64, body: &str) -> Result<()> {
        self.http.call(
            Method::Post,
            &format!("{}/{number}/notes", self.mrs()),
            Some(&json!({ "body": body })),
        )
    }

    fn add_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        self.put(number, json!({ "add_labels": labels.join(",") }))
    }

    fn remove_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        self.put(number, json!({ "remove_labels": labels.join(",") }))
    }

    fn mark_ready(&self, pr: &Pr) -> Result<()> {
        let title = strip_draft_prefix(&pr.title, DRAFT_PREFIXES).unwrap_or(&pr.title);
        self.put(pr.number, json!({ "title": title }))
    }

    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<()> {
        // Reviewers are user ids here: look each name up.
        let mut ids = vec![];
        for name in reviewers {
            let users: Vec<User> = self
                .http
                .get(&format!("/users?username={}", encode(name)))?;
            match users
                .into_iter()
                .find(|u| u.username.eq_ignore_ascii_case(name))
            {
                Some(u) => ids.push(u.id),
                None => {
                    return Err(ForgeError::Rejected {
                        what: "GET /users".into(),
                        status: 404,
                        message: format!("no user named {name}"),
                    })
                }
            }
        }
        self.put(number, json!({ "reviewer_ids": ids }))
    }
}
