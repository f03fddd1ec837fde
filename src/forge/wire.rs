//! What GitHub and Gitea share (Gitea's API was modelled on GitHub's): JSON shapes (a
//! branch reference, a user, a comment — GitLab's notes have the same `body`) and the
//! requests that are the same on both.

use super::http::{Http, Method};
use super::{split_reviewers, Result};
use serde::Deserialize;
use serde_json::json;

/// `head` / `base` of a pull request.
#[derive(Deserialize)]
pub(crate) struct Ref {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct User {
    pub login: String,
}

/// An issue comment, or a GitLab note.
#[derive(Deserialize)]
pub(crate) struct Comment {
    pub body: Option<String>,
}

/// `PATCH {repo}/pulls/{n}`: `{"body": …}`, `{"title": …}` or `{"state": "closed"}`.
pub(crate) fn edit_pull(
    http: &Http,
    repo: &str,
    number: u64,
    edit: serde_json::Value,
) -> Result<()> {
    http.call(
        Method::Patch,
        &format!("{repo}/pulls/{number}"),
        Some(&edit),
    )
}

/// `POST {repo}/issues/{n}/comments`: a pull request is an issue on both.
pub(crate) fn post_comment(http: &Http, repo: &str, number: u64, body: &str) -> Result<()> {
    http.call(
        Method::Post,
        &format!("{repo}/issues/{number}/comments"),
        Some(&json!({ "body": body })),
    )
}

/// `POST {repo}/pulls/{n}/requested_reviewers`: users by name, teams by slug.
pub(crate) fn request_reviewers(
    http: &Http,
    repo: &str,
    number: u64,
    reviewers: &[String],
) -> Result<()> {
    let (users, teams) = split_reviewers(reviewers);
    http.call(
        Method::Post,
        &format!("{repo}/pulls/{number}/requested_reviewers"),
        Some(&json!({ "reviewers": users, "team_reviewers": teams })),
    )
}
