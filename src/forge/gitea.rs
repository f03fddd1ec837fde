//! Gitea and Forgejo through their REST API v1. Shapes follow the API's swagger
//! (`/api/swagger` of an instance; `routers/api/v1/repo/pull.go` in Gitea):
//! `/repos/{owner}/{repo}/pulls` (and `/pulls/{base}/{head}` since Gitea 1.22), issue
//! comments, and labels, which are ids here: names are looked up in the repository's
//! labels and created when missing. Drafts are a `WIP:` title prefix
//! (`WORK_IN_PROGRESS_PREFIXES`).

use super::http::{encode, Http, Method};
use super::wire::{self, Comment, Ref, User};
use super::{pick, strip_draft_prefix, Backend, Pr, PrSpec, PrState, Result};
use serde::Deserialize;
use serde_json::json;

pub(crate) struct Gitea {
    http: Http,
    owner: String,
    name: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    title: String,
    body: Option<String>,
    /// `open` or `closed`; merged ones are `closed` with `merged: true`.
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    merged: Option<bool>,
    merge_commit_sha: Option<String>,
    head: Ref,
    base: Ref,
    #[serde(default)]
    labels: Option<Vec<Label>>,
    user: Option<User>,
}

#[derive(Deserialize, Clone)]
struct Label {
    id: u64,
    name: String,
}

const DRAFT_PREFIXES: &[&str] = &["WIP:", "[WIP]"];
/// Pages of 50 read when the base/head lookup is missing (before Gitea 1.22) or finds
/// nothing (another base): a bounded scan, newest first.
const SCAN_PAGES: u32 = 10;
const PAGE: usize = 50;

impl From<Pull> for Pr {
    fn from(p: Pull) -> Pr {
        let merged = p.merged.unwrap_or(false);
        let state = match (p.state.as_str(), merged) {
            (_, true) => PrState::Merged,
            ("open", _) => PrState::Open,
            _ => PrState::Closed,
        };
        let draft =
            p.draft.unwrap_or(false) || strip_draft_prefix(&p.title, DRAFT_PREFIXES).is_some();
        Pr {
            number: p.number,
            url: p.html_url,
            title: p.title,
            body: p.body.unwrap_or_default(),
            state,
            draft,
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
            node_id: None,
        }
    }
}

/// A colour per kind of label, so the forge's list reads at a glance.
fn colour(label: &str) -> &'static str {
    match label.split(':').next() {
        Some("type") => "#1d76db",
        Some("layer") => "#0e8a16",
        Some("risk") => "#d93f0b",
        Some("tier") => "#fbca04",
        _ => "#5319e7",
    }
}

impl Gitea {
    pub fn new(http: Http, owner: &str, name: &str) -> Gitea {
        Gitea {
            http,
            owner: owner.to_string(),
            name: name.to_string(),
        }
    }

    fn repo(&self) -> String {
        format!("/repos/{}/{}", encode(&self.owner), encode(&self.name))
    }

    fn repo_labels(&self) -> Result<Vec<Label>> {
        let path = |page| format!("{}/labels?page={page}&limit={PAGE}", self.repo());
        self.http.get_pages(path, PAGE, SCAN_PAGES)
    }

    /// Ids of `names`, creating the missing ones when `create`; unknown names are
    /// skipped otherwise.
    fn label_ids(&self, names: &[String], create: bool) -> Result<Vec<u64>> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        let known = self.repo_labels()?;
        let mut ids = vec![];
        for name in names {
            match known.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
                Some(l) => ids.push(l.id),
                None if create => {
                    let l: Label = self.http.send(
                        Method::Post,
                        &format!("{}/labels", self.repo()),
                        &json!({ "name": name, "color": colour(name) }),
                    )?;
                    ids.push(l.id);
                }
                None => {}
            }
        }
        Ok(ids)
    }
}

impl Backend for Gitea {
    fn find_by_head(&self, head: &str, base: &str) -> Result<Option<Pr>> {
        // `{head}` is the rest of the path, so a branch's slashes stay slashes.
        let head_path: Vec<String> = head.split('/').map(encode).collect();
        let path = format!(
            "{}/pulls/{}/{}",
            self.repo(),
            encode(base),
            head_path.join("/")
        );
        match self.http.get::<Pull>(&path) {
            Ok(p) => return Ok(Some(p.into())),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e),
        }
        let path = |page| {
            format!(
                "{}/pulls?state=all&sort=recentupdate&page={page}&limit={PAGE}",
                self.repo()
            )
        };
        let all: Vec<Pull> = self.http.get_pages(path, PAGE, SCAN_PAGES)?;
        Ok(pick(
            all.into_iter().map(Pr::from).filter(|p| p.head == head),
        ))
    }

    fn get(&self, number: u64) -> Result<Pr> {
        let p: Pull = self.http.get(&format!("{}/pulls/{number}", self.repo()))?;
        Ok(p.into())
    }

    fn create(&self, new: &PrSpec<'_>) -> Result<Pr> {
        let title = if new.draft {
            format!("WIP: {}", new.title)
        } else {
            new.title.to_string()
        };
        let labels = self.label_ids(new.labels, true)?;
        let p: Pull = self.http.send(
            Method::Post,
            &format!("{}/pulls", self.repo()),
            &json!({
                "head": new.head,
                "base": new.base,
                "title": title,
                "body": new.body,
                "labels": labels,
            }),
        )?;
        Ok(p.into())
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
        let batch: Vec<Comment> = self
            .http
            .get(&format!("{}/issues/{number}/comments", self.repo()))?;
        Ok(batch.into_iter().filter_map(|c| c.body).collect())
    }

    fn comment(&self, number: u64, body: &str) -> Result<()> {
        wire::post_comment(&self.http, &self.repo(), number, body)
    }

    fn add_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        let ids = self.label_ids(labels, true)?;
        self.http.call(
            Method::Post,
            &format!("{}/issues/{number}/labels", self.repo()),
            Some(&json!({ "labels": ids })),
        )
    }

    fn remove_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        for id in self.label_ids(labels, false)? {
            match self.http.call(
                Method::Delete,
                &format!("{}/issues/{number}/labels/{id}", self.repo()),
                None,
            ) {
                Err(e) if e.status() == Some(404) => {}
                other => other?,
            }
        }
        Ok(())
    }

    fn mark_ready(&self, pr: &Pr) -> Result<()> {
        let title = strip_draft_prefix(&pr.title, DRAFT_PREFIXES).unwrap_or(&pr.title);
        wire::edit_pull(
            &self.http,
            &self.repo(),
            pr.number,
            json!({ "title": title }),
        )
    }

    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<()> {
        wire::request_reviewers(&self.http, &self.repo(), number, reviewers)
    }
}
