//! GitHub (and GitHub Enterprise Server) through its REST API, version 2022-11-28.
//! Shapes follow docs.github.com/en/rest: "REST API endpoints for pull requests"
//! (`/repos/{owner}/{repo}/pulls`), "… for issue comments" and "… for labels" (a pull
//! request is an issue there), "… for review requests"; leaving draft is GraphQL only
//! (`markPullRequestReadyForReview`, docs.github.com/en/graphql/reference/mutations).

use super::http::{encode, Http, Method};
use super::wire::{self, Comment, Ref, User};
use super::{pick, Backend, ForgeError, Pr, PrSpec, PrState, Result};
use serde::Deserialize;
use serde_json::json;

pub(crate) struct GitHub {
    http: Http,
    owner: String,
    name: String,
    graphql: String,
}

/// `pull-request-simple` / `pull-request` in the documented schema (fields we use).
#[derive(Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    title: String,
    body: Option<String>,
    /// `open` or `closed`; merged ones are `closed` with `merged_at` set.
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    merged_at: Option<String>,
    #[serde(default)]
    merged: Option<bool>,
    /// Before a merge this is the test merge commit: read only once merged.
    merge_commit_sha: Option<String>,
    head: Ref,
    base: Ref,
    #[serde(default)]
    labels: Option<Vec<Label>>,
    user: Option<User>,
    node_id: Option<String>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

impl From<Pull> for Pr {
    fn from(p: Pull) -> Pr {
        let merged = p.merged.unwrap_or(false) || p.merged_at.is_some();
        let state = match (p.state.as_str(), merged) {
            (_, true) => PrState::Merged,
            ("open", _) => PrState::Open,
            _ => PrState::Closed,
        };
        Pr {
            number: p.number,
            url: p.html_url,
            title: p.title,
            body: p.body.unwrap_or_default(),
            state,
            draft: p.draft.unwrap_or(false),
            head: p.head.name,
            head_sha: p.head.sha,
            base: p.base.name,
            labels: p
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.name)
                .collect(),
            author: p.user.map(|u| u.login),
            merge_sha: if merged { p.merge_commit_sha } else { None },
            node_id: p.node_id,
        }
    }
}

/// Pages of comments read to find an earlier one (100 a page).
const COMMENT_PAGES: u32 = 5;

impl GitHub {
    pub fn new(http: Http, owner: &str, name: &str, graphql: String) -> GitHub {
        GitHub {
            http,
            owner: owner.to_string(),
            name: name.to_string(),
            graphql,
        }
    }

    fn repo(&self) -> String {
        format!("/repos/{}/{}", encode(&self.owner), encode(&self.name))
    }

    fn create_once(&self, new: &PrSpec<'_>, draft: bool) -> Result<Pr> {
        let mut body = json!({
            "title": new.title,
            "head": new.head,
            "base": new.base,
            "body": new.body,
        });
        if draft {
            body["draft"] = json!(true);
        }
        let p: Pull = self
            .http
            .send(Method::Post, &format!("{}/pulls", self.repo()), &body)?;
        Ok(p.into())
    }
}

impl Backend for GitHub {
    fn find_by_head(&self, head: &str, _base: &str) -> Result<Option<Pr>> {
        // `head` filters by `user:ref-name`; `state=all` finds closed and merged too.
        let path = format!(
            "{}/pulls?head={}&state=all&per_page=100",
            self.repo(),
            encode(&format!("{}:{head}", self.owner))
        );
        let pulls: Vec<Pull> = self.http.get(&path)?;
        Ok(pick(
            pulls.into_iter().map(Pr::from).filter(|p| p.head == head),
        ))
    }

    fn get(&self, number: u64) -> Result<Pr> {
        let p: Pull = self.http.get(&format!("{}/pulls/{number}", self.repo()))?;
        Ok(p.into())
    }

    fn create(&self, new: &PrSpec<'_>) -> Result<Pr> {
        match self.create_once(new, new.draft) {
            // Drafts are not available on every plan and repository; open it ready
            // rather than not at all.
            Err(ForgeError::Rejected {
                status: 422,
                message,
                ..
            }) if new.draft && message.to_ascii_lowercase().contains("draft") => {
                self.create_once(new, false)
            }
            other => other,
        }
    }

    fn edit_body(&self, number: u64, body: &str) -> Result<()> {
        wire::edit_pull(&self.http, &self.repo(), number, json!({ "body": body }))
    }

    fn close(&self, number: u64) -> Result<()> {
        wire::edit_pull(
            &self.http,
            &self.repo(),
            number,
            json!({ "state": "closed" }),
        )
    }

    fn comments(&self, number: u64) -> Result<Vec<String>> {
        let path = |page| {
            format!(
                "{}/issues/{number}/comments?per_page=100&page={page}",
                self.repo()
            )
        };
        let all: Vec<Comment> = self.http.get_pages(path, 100, COMMENT_PAGES)?;
        Ok(all.into_iter().filter_map(|c| c.body).collect())
    }

    fn comment(&self, number: u64, body: &str) -> Result<()> {
        wire::post_comment(&self.http, &self.repo(), number, body)
    }

    fn add_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        // Labels that do not exist yet are created by GitHub.
        self.http.call(
            Method::Post,
            &format!("{}/issues/{number}/labels", self.repo()),
            Some(&json!({ "labels": labels })),
        )
    }

    fn remove_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        for l in labels {
            match self.http.call(
                Method::Delete,
                &format!("{}/issues/{number}/labels/{}", self.repo(), encode(l)),
                None,
            ) {
                // Already gone: what was wanted.
                Err(e) if e.status() == Some(404) => {}
                other => other?,
            }
        }
        Ok(())
    }

    fn mark_ready(&self, pr: &Pr) -> Result<()> {
        let id = pr.node_id.as_deref().ok_or_else(|| ForgeError::Protocol {
            what: format!("pull request #{}", pr.number),
            reason: "the forge gave no node_id, needed to leave draft".into(),
        })?;
        let query = "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }";
        let answer: serde_json::Value = self.http.send_to_url(
            Method::Post,
            &self.graphql,
            &json!({ "query": query, "variables": { "id": id } }),
        )?;
        // GraphQL answers 200 with an `errors` array when it refuses.
        if let Some(errors) = answer.get("errors").and_then(|e| e.as_array()) {
            let message = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(|m| m.as_str()))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ForgeError::Rejected {
                what: "POST graphql markPullRequestReadyForReview".into(),
                status: 200,
                message: self.http.token().redact(&message),
            });
        }
        Ok(())
    }

    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<()> {
        wire::request_reviewers(&self.http, &self.repo(), number, reviewers)
    }
}
