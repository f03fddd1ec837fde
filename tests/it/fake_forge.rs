//! A fake forge for tests: a tiny HTTP/1.1 server on 127.0.0.1 (std::net, one thread
//! per connection) that answers the documented request and response shapes of GitHub
//! (REST v3 under `/api/v3`, GraphQL under `/api/graphql`, as Enterprise Server lays
//! them out), GitLab (`/api/v4`) and Gitea (`/api/v1`), keeps their state (pull
//! requests, comments, labels), records every request, and can be told to answer 429,
//! a 5xx, or to hang. It also answers `CONNECT`, so it can stand in for a proxy.
//!
//! Shapes follow docs.github.com/en/rest (pulls, issues/comments, issues/labels,
//! pulls/review-requests) and docs.github.com/en/graphql (markPullRequestReadyForReview),
//! docs.gitlab.com/api (merge_requests, notes, users), and Gitea's swagger
//! (`/api/swagger`: repoListPullRequests, repoGetPullRequestByBaseHead,
//! repoCreatePullRequest, repoEditPullRequest, issue comments and labels).

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Github,
    Gitlab,
    Gitea,
}

/// The owner and name every fake repository has.
pub const OWNER: &str = "acme";
pub const NAME: &str = "mind";

/// What the next request gets instead of an answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `Retry-After: secs`.
    RateLimited { retry_after: u64 },
    /// GitHub's primary limit: 403, `x-ratelimit-remaining: 0`, reset in `secs`.
    PrimaryLimit { reset_in: u64 },
    /// This status with a JSON message.
    Status(u16),
    /// Read the request, then say nothing for this long and close.
    Hang(Duration),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, raw (still percent-encoded).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// `GET /api/v3/repos/acme/mind/pulls`: method and path, for assertions.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakePr {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    /// `open`, `closed` or `merged`.
    pub state: String,
    pub draft: bool,
    pub head_sha: String,
    pub merge_sha: Option<String>,
    pub labels: Vec<String>,
    pub comments: Vec<String>,
    pub reviewers: Vec<String>,
    pub author: String,
}

#[derive(Default)]
struct State {
    prs: Vec<FakePr>,
    /// Gitea's repository labels: (id, name).
    labels: Vec<(u64, String)>,
    requests: Vec<Request>,
    faults: VecDeque<Fault>,
    /// Gitea before 1.22 has no `/pulls/{base}/{head}`.
    no_base_head_route: bool,
    /// GitHub repositories where drafts are unavailable.
    no_drafts: bool,
    /// A git repository standing for the forge's: open pull requests report the tip
    /// of their head branch there, as a forge does.
    git_dir: Option<std::path::PathBuf>,
}

pub struct FakeForge {
    kind: Kind,
    addr: std::net::SocketAddr,
    token: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeForge {
    pub fn start(kind: Kind, token: &str) -> FakeForge {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, tok) = (state.clone(), stop.clone(), token.to_string());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, sp, tok) = (st.clone(), sp.clone(), tok.clone());
                std::thread::spawn(move || serve(conn, kind, &tok, addr, &st, &sp));
            }
        });
        FakeForge {
            kind,
            addr,
            token: token.to_string(),
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The API base URL, as `forge.api` would hold it.
    pub fn api(&self) -> String {
        let prefix = match self.kind {
            Kind::Github => "/api/v3",
            Kind::Gitlab => "/api/v4",
            Kind::Gitea => "/api/v1",
        };
        format!("http://{}{prefix}", self.addr)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// `owner/name`, or the GitLab project path.
    pub fn repo(&self) -> String {
        format!("{OWNER}/{NAME}")
    }

    pub fn fault(&self, f: Fault) {
        self.state.lock().unwrap().faults.push_back(f);
    }

    pub fn without_base_head_route(&self) {
        self.state.lock().unwrap().no_base_head_route = true;
    }

    pub fn without_drafts(&self) {
        self.state.lock().unwrap().no_drafts = true;
    }

    /// Open pull requests report their head branch's tip in this repository (the
    /// bare `origin` of a test).
    pub fn heads_from(&self, git_dir: &std::path::Path) {
        self.state.lock().unwrap().git_dir = Some(git_dir.to_path_buf());
    }

    /// As if a human pressed "close" on the forge.
    pub fn close(&self, number: u64) {
        self.edit(number, |p| p.state = "closed".into());
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    pub fn prs(&self) -> Vec<FakePr> {
        self.state.lock().unwrap().prs.clone()
    }

    pub fn pr(&self, number: u64) -> FakePr {
        self.prs()
            .into_iter()
            .find(|p| p.number == number)
            .expect("no such pull request")
    }

    /// A pull request made outside the tool (a human, an earlier run).
    pub fn insert_pr(&self, head: &str, base: &str, title: &str, body: &str, state: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        let number = next_number(&s);
        s.prs.push(FakePr {
            number,
            head: head.into(),
            base: base.into(),
            title: title.into(),
            body: body.into(),
            state: state.into(),
            draft: false,
            head_sha: format!("{:040x}", number),
            merge_sha: (state == "merged").then(|| format!("{:040x}", 0xabc000 + number)),
            labels: vec![],
            comments: vec![],
            reviewers: vec![],
            author: "a-human".into(),
        });
        number
    }

    /// As if someone pressed merge on the forge.
    pub fn merge(&self, number: u64, sha: &str) {
        self.edit(number, |p| {
            p.state = "merged".into();
            p.merge_sha = Some(sha.into());
        });
    }

    /// As if a human edited the description in the browser.
    pub fn set_body(&self, number: u64, body: &str) {
        self.edit(number, |p| p.body = body.into());
    }

    /// As if a human added a label.
    pub fn add_label(&self, number: u64, label: &str) {
        self.edit(number, |p| p.labels.push(label.into()));
    }

    fn edit(&self, number: u64, f: impl FnOnce(&mut FakePr)) {
        let mut s = self.state.lock().unwrap();
        f(s.prs
            .iter_mut()
            .find(|p| p.number == number)
            .expect("no such PR"));
    }
}

impl Drop for FakeForge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The tip of `branch` in the repository at `dir`, if it is there.
fn branch_tip(dir: &std::path::Path, branch: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["rev-parse", "--verify", "-q"])
        .arg(format!("refs/heads/{branch}"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn has_branch(dir: &std::path::Path, branch: &str) -> bool {
    branch_tip(dir, branch).is_some()
}

/// Open pull requests' head commits, read from the repository standing for the forge's.
fn refresh_heads(s: &mut State) {
    let Some(dir) = s.git_dir.clone() else {
        return;
    };
    for p in s.prs.iter_mut().filter(|p| p.state == "open") {
        if let Some(tip) = branch_tip(&dir, &p.head) {
            p.head_sha = tip;
        }
    }
}

fn next_number(s: &State) -> u64 {
    s.prs.iter().map(|p| p.number).max().unwrap_or(0) + 1
}

/// Reads one request; `None` at the end of the connection.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = vec![];
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn write_response(w: &mut TcpStream, status: u16, headers: &[(String, String)], body: &Value) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        text.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = w.write_all(head.as_bytes());
    let _ = w.write_all(text.as_bytes());
    let _ = w.flush();
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn serve(
    conn: TcpStream,
    kind: Kind,
    token: &str,
    addr: std::net::SocketAddr,
    state: &Mutex<State>,
    stop: &AtomicBool,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    // A proxied connection sends CONNECT first, then requests through the tunnel.
    while let Some(req) = read_request(&mut reader) {
        let fault = {
            let mut s = state.lock().unwrap();
            s.requests.push(req.clone());
            if req.method == "CONNECT" {
                None
            } else {
                s.faults.pop_front()
            }
        };
        if req.method == "CONNECT" {
            let _ = writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            continue;
        }
        match fault {
            Some(Fault::Hang(d)) => {
                let until = Instant::now() + d;
                while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Some(Fault::RateLimited { retry_after }) => write_response(
                &mut writer,
                429,
                &[("Retry-After".into(), retry_after.to_string())],
                &json!({"message": "Too Many Requests"}),
            ),
            Some(Fault::PrimaryLimit { reset_in }) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                write_response(
                    &mut writer,
                    403,
                    &[
                        ("x-ratelimit-limit".into(), "5000".into()),
                        ("x-ratelimit-remaining".into(), "0".into()),
                        ("x-ratelimit-reset".into(), (now + reset_in).to_string()),
                    ],
                    &json!({"message": "API rate limit exceeded"}),
                )
            }
            Some(Fault::Status(code)) => write_response(
                &mut writer,
                code,
                &[],
                &json!({"message": format!("fault {code}")}),
            ),
            None => {
                let (status, body) = if !authorized(kind, token, &req) {
                    (401, json!({"message": "Bad credentials"}))
                } else {
                    let mut s = state.lock().unwrap();
                    refresh_heads(&mut s);
                    let base = format!("http://{addr}");
                    match kind {
                        Kind::Github => github(&mut s, &req, &base),
                        Kind::Gitlab => gitlab(&mut s, &req, &base),
                        Kind::Gitea => gitea(&mut s, &req, &base),
                    }
                };
                write_response(&mut writer, status, &[], &body);
            }
        }
        return;
    }
}

/// The header each forge's documentation names.
fn authorized(kind: Kind, token: &str, req: &Request) -> bool {
    let auth = req.header("authorization").unwrap_or("");
    match kind {
        Kind::Github => auth == format!("Bearer {token}"),
        Kind::Gitlab => {
            auth == format!("Bearer {token}") || req.header("private-token") == Some(token)
        }
        Kind::Gitea => auth == format!("token {token}"),
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query string as decoded pairs.
type Query = Vec<(String, String)>;

/// Path segments (decoded) after `prefix`, and the query.
fn route(req: &Request, prefix: &str) -> Option<(Vec<String>, Query)> {
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let rest = path.strip_prefix(prefix)?;
    let segs = rest
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let q = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Some((segs, q))
}

fn q<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn page<T: Clone>(items: &[T], query: &[(String, String)], per_key: &str) -> Vec<T> {
    let per: usize = q(query, per_key).and_then(|v| v.parse().ok()).unwrap_or(30);
    let page: usize = q(query, "page").and_then(|v| v.parse().ok()).unwrap_or(1);
    items
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .cloned()
        .collect()
}

fn not_found() -> (u16, Value) {
    (404, json!({"message": "Not Found"}))
}

fn find(s: &mut State, number: &str) -> Option<usize> {
    let n: u64 = number.parse().ok()?;
    s.prs.iter().position(|p| p.number == n)
}

fn create_pr(s: &mut State, head: &str, base: &str, title: &str, body: &str, draft: bool) -> usize {
    let number = next_number(s);
    s.prs.push(FakePr {
        number,
        head: head.into(),
        base: base.into(),
        title: title.into(),
        body: body.into(),
        state: "open".into(),
        draft,
        head_sha: format!("{:040x}", 0xbeef0000u64 + number),
        merge_sha: None,
        labels: vec![],
        comments: vec![],
        reviewers: vec![],
        author: "improve-bot".into(),
    });
    s.prs.len() - 1
}

/// The `state` query of GitHub and Gitea: `open`, `closed` (merged too) or `all`.
fn in_state(p: &FakePr, state: &str) -> bool {
    match state {
        "all" => true,
        "open" => p.state == "open",
        _ => p.state != "open",
    }
}

/// What every forge's edit takes: the description (under `body_key`), the title, and
/// closing an open one.
fn apply_edit(p: &mut FakePr, b: &Value, body_key: &str, close: bool) {
    if let Some(d) = b[body_key].as_str() {
        p.body = d.into();
    }
    if let Some(t) = b["title"].as_str() {
        p.title = t.into();
    }
    if close && p.state == "open" {
        p.state = "closed".into();
    }
}

/// Comments (GitLab: notes) with the fields each forge names its author by.
fn comments_json(p: &FakePr) -> Vec<Value> {
    p.comments
        .iter()
        .enumerate()
        .map(|(k, c)| {
            json!({"id": k + 1, "body": c, "system": false,
                   "user": {"login": "improve-bot"}, "author": {"username": "improve-bot"}})
        })
        .collect()
}

fn post_comment(p: &mut FakePr, req: &Request) -> Value {
    let body = req.json()["body"].as_str().unwrap_or("").to_string();
    p.comments.push(body.clone());
    json!({"id": p.comments.len(), "body": body, "system": false})
}

// ---------------------------------------------------------------- GitHub

fn gh_pull(p: &FakePr, base: &str, full: bool) -> Value {
    let merged = p.state == "merged";
    let mut v = json!({
        "id": 1000 + p.number,
        "node_id": format!("PR_node{}", p.number),
        "number": p.number,
        "html_url": format!("{base}/{OWNER}/{NAME}/pull/{}", p.number),
        "state": if p.state == "open" { "open" } else { "closed" },
        "title": p.title,
        "body": p.body,
        "draft": p.draft,
        "user": {"login": p.author},
        "labels": p.labels.iter().enumerate().map(|(i, l)| json!({"id": i + 1, "name": l})).collect::<Vec<_>>(),
        "merged_at": if merged { json!("2026-01-05T12:00:00Z") } else { Value::Null },
        // Before a merge GitHub reports the test merge commit here.
        "merge_commit_sha": p.merge_sha.clone().unwrap_or_else(|| format!("{:040x}", 0x7e57 + p.number)),
        "head": {"label": format!("{OWNER}:{}", p.head), "ref": p.head, "sha": p.head_sha},
        "base": {"label": format!("{OWNER}:{}", p.base), "ref": p.base, "sha": "0".repeat(40)},
    });
    if full {
        v["merged"] = json!(merged);
    }
    v
}

fn github(s: &mut State, req: &Request, base: &str) -> (u16, Value) {
    if req.path() == "/api/graphql" && req.method == "POST" {
        let body = req.json();
        let query = body["query"].as_str().unwrap_or("");
        let id = body["variables"]["id"].as_str().unwrap_or("");
        if !query.contains("markPullRequestReadyForReview") {
            return (
                200,
                json!({"errors": [{"message": "unsupported by the fake"}]}),
            );
        }
        return match s
            .prs
            .iter_mut()
            .find(|p| format!("PR_node{}", p.number) == id)
        {
            Some(p) => {
                p.draft = false;
                (
                    200,
                    json!({"data": {"markPullRequestReadyForReview": {"pullRequest": {"isDraft": false}}}}),
                )
            }
            None => (
                200,
                json!({"errors": [{"message": format!("Could not resolve to a node with the global id of '{id}'")}]}),
            ),
        };
    }
    let Some((segs, query)) = route(req, "/api/v3") else {
        return not_found();
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    match (m, segs.as_slice()) {
        ("GET", ["repos", OWNER, NAME, "pulls"]) => {
            let state = q(&query, "state").unwrap_or("open");
            let head = q(&query, "head");
            let list: Vec<Value> = s
                .prs
                .iter()
                .rev()
                .filter(|p| in_state(p, state))
                .filter(|p| head.is_none_or(|h| h == format!("{OWNER}:{}", p.head)))
                .map(|p| gh_pull(p, base, false))
                .collect();
            (200, json!(page(&list, &query, "per_page")))
        }
        ("POST", ["repos", OWNER, NAME, "pulls"]) => {
            let b = req.json();
            let (head, base_ref) = (
                b["head"].as_str().unwrap_or(""),
                b["base"].as_str().unwrap_or(""),
            );
            if s.prs.iter().any(|p| p.head == head && p.state == "open") {
                return (
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {OWNER}:{head}.")}]}),
                );
            }
            // "Validation Failed … head invalid": the branch must be on the forge first.
            if s.git_dir.as_deref().is_some_and(|d| !has_branch(d, head)) {
                return (
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}]}),
                );
            }
            let draft = b["draft"].as_bool().unwrap_or(false);
            if draft && s.no_drafts {
                return (
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "Draft pull requests are not supported in this repository."}]}),
                );
            }
            let i = create_pr(
                s,
                head,
                base_ref,
                b["title"].as_str().unwrap_or(""),
                b["body"].as_str().unwrap_or(""),
                draft,
            );
            (201, gh_pull(&s.prs[i], base, true))
        }
        ("GET", ["repos", OWNER, NAME, "pulls", n]) => match find(s, n) {
            Some(i) => (200, gh_pull(&s.prs[i], base, true)),
            None => not_found(),
        },
        ("PATCH", ["repos", OWNER, NAME, "pulls", n]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let b = req.json();
            apply_edit(&mut s.prs[i], &b, "body", b["state"] == "closed");
            (200, gh_pull(&s.prs[i], base, true))
        }
        ("POST", ["repos", OWNER, NAME, "pulls", n, "requested_reviewers"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let b = req.json();
            for r in b["reviewers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(b["team_reviewers"].as_array().into_iter().flatten())
            {
                s.prs[i].reviewers.push(r.as_str().unwrap_or("").into());
            }
            (201, gh_pull(&s.prs[i], base, true))
        }
        ("GET", ["repos", OWNER, NAME, "issues", n, "comments"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let list = comments_json(&s.prs[i]);
            (200, json!(page(&list, &query, "per_page")))
        }
        ("POST", ["repos", OWNER, NAME, "issues", n, "comments"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let posted = post_comment(&mut s.prs[i], req);
            (201, posted)
        }
        ("POST", ["repos", OWNER, NAME, "issues", n, "labels"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            for l in req.json()["labels"].as_array().into_iter().flatten() {
                let l = l.as_str().unwrap_or("").to_string();
                if !s.prs[i].labels.contains(&l) {
                    s.prs[i].labels.push(l);
                }
            }
            (
                200,
                json!(s.prs[i]
                    .labels
                    .iter()
                    .map(|l| json!({"name": l}))
                    .collect::<Vec<_>>()),
            )
        }
        ("DELETE", ["repos", OWNER, NAME, "issues", n, "labels", name]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let before = s.prs[i].labels.len();
            s.prs[i].labels.retain(|l| l != name);
            if s.prs[i].labels.len() == before {
                return (404, json!({"message": "Label does not exist"}));
            }
            (
                200,
                json!(s.prs[i]
                    .labels
                    .iter()
                    .map(|l| json!({"name": l}))
                    .collect::<Vec<_>>()),
            )
        }
        _ => not_found(),
    }
}

// ---------------------------------------------------------------- GitLab

const GL_DRAFT: &[&str] = &["Draft:", "[Draft]", "(Draft)"];

fn gl_mr(p: &FakePr, base: &str) -> Value {
    let draft = GL_DRAFT.iter().any(|d| p.title.starts_with(d));
    json!({
        "id": 5000 + p.number,
        "iid": p.number,
        "project_id": 42,
        "title": p.title,
        "description": p.body,
        "state": match p.state.as_str() { "open" => "opened", other => other },
        "draft": draft,
        "work_in_progress": draft,
        "source_branch": p.head,
        "target_branch": p.base,
        "sha": p.head_sha,
        "merge_commit_sha": p.merge_sha,
        "squash_commit_sha": Value::Null,
        "labels": p.labels,
        "author": {"id": 1, "username": p.author},
        "web_url": format!("{base}/{OWNER}/{NAME}/-/merge_requests/{}", p.number),
    })
}

fn gitlab(s: &mut State, req: &Request, base: &str) -> (u16, Value) {
    let Some((segs, query)) = route(req, "/api/v4") else {
        return not_found();
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let project = format!("{OWNER}/{NAME}");
    let m = req.method.as_str();
    // The project id is one segment: the path arrives URL-encoded (`acme%2Fmind`).
    if let ("GET", ["users"]) = (m, segs.as_slice()) {
        let users = [("alice", 7), ("bob", 8)];
        let name = q(&query, "username").unwrap_or("");
        let found: Vec<Value> = users
            .iter()
            .filter(|(u, _)| *u == name)
            .map(|(u, id)| json!({"id": id, "username": u}))
            .collect();
        return (200, json!(found));
    }
    let ["projects", p, rest @ ..] = segs.as_slice() else {
        return not_found();
    };
    if *p != project && *p != "42" {
        return (404, json!({"message": "404 Project Not Found"}));
    }
    match (m, rest) {
        ("GET", ["merge_requests"]) => {
            let state = q(&query, "state").unwrap_or("all");
            let src = q(&query, "source_branch");
            let list: Vec<Value> = s
                .prs
                .iter()
                .rev()
                .filter(|p| state == "all" || gl_mr(p, base)["state"] == state)
                .filter(|p| src.is_none_or(|b| b == p.head))
                .map(|p| gl_mr(p, base))
                .collect();
            (200, json!(page(&list, &query, "per_page")))
        }
        ("POST", ["merge_requests"]) => {
            let b = req.json();
            let head = b["source_branch"].as_str().unwrap_or("");
            if let Some(o) = s.prs.iter().find(|p| p.head == head && p.state == "open") {
                return (
                    409,
                    json!({"message": [format!("Another open merge request already exists for this source branch: !{}", o.number)]}),
                );
            }
            let title = b["title"].as_str().unwrap_or("");
            let i = create_pr(
                s,
                head,
                b["target_branch"].as_str().unwrap_or(""),
                title,
                b["description"].as_str().unwrap_or(""),
                false,
            );
            s.prs[i].labels = b["labels"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            (201, gl_mr(&s.prs[i], base))
        }
        ("GET", ["merge_requests", n]) => match find(s, n) {
            Some(i) => (200, gl_mr(&s.prs[i], base)),
            None => not_found(),
        },
        ("PUT", ["merge_requests", n]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let b = req.json();
            apply_edit(
                &mut s.prs[i],
                &b,
                "description",
                b["state_event"] == "close",
            );
            let p = &mut s.prs[i];
            for l in b["add_labels"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .filter(|l| !l.is_empty())
            {
                if !p.labels.iter().any(|x| x == l) {
                    p.labels.push(l.into());
                }
            }
            let remove: Vec<&str> = b["remove_labels"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .collect();
            p.labels.retain(|l| !remove.contains(&l.as_str()));
            for id in b["reviewer_ids"].as_array().into_iter().flatten() {
                p.reviewers.push(id.to_string());
            }
            (200, gl_mr(&s.prs[i], base))
        }
        ("GET", ["merge_requests", n, "notes"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let mut list = comments_json(&s.prs[i]);
            if q(&query, "sort") == Some("desc") {
                list.reverse();
            }
            (200, json!(page(&list, &query, "per_page")))
        }
        ("POST", ["merge_requests", n, "notes"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let posted = post_comment(&mut s.prs[i], req);
            (201, posted)
        }
        _ => not_found(),
    }
}

// ---------------------------------------------------------------- Gitea

fn gt_pull(s: &State, p: &FakePr, base: &str) -> Value {
    let merged = p.state == "merged";
    let labels: Vec<Value> = p
        .labels
        .iter()
        .filter_map(|name| s.labels.iter().find(|(_, n)| n == name))
        .map(|(id, n)| json!({"id": id, "name": n, "color": "ededed"}))
        .collect();
    json!({
        "id": 9000 + p.number,
        "number": p.number,
        "html_url": format!("{base}/{OWNER}/{NAME}/pulls/{}", p.number),
        "title": p.title,
        "body": p.body,
        "state": if p.state == "open" { "open" } else { "closed" },
        "draft": p.title.starts_with("WIP:") || p.title.starts_with("[WIP]"),
        "merged": merged,
        "merge_commit_sha": p.merge_sha,
        "labels": labels,
        "user": {"login": p.author},
        "head": {"label": p.head, "ref": p.head, "sha": p.head_sha},
        "base": {"label": p.base, "ref": p.base},
    })
}

fn gitea(s: &mut State, req: &Request, base: &str) -> (u16, Value) {
    let Some((segs, query)) = route(req, "/api/v1") else {
        return not_found();
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    let ["repos", OWNER, NAME, rest @ ..] = segs.as_slice() else {
        return not_found();
    };
    match (m, rest) {
        ("GET", ["pulls"]) => {
            let state = q(&query, "state").unwrap_or("open");
            let list: Vec<Value> = s
                .prs
                .iter()
                .rev()
                .filter(|p| in_state(p, state))
                .map(|p| gt_pull(s, p, base))
                .collect();
            (200, json!(page(&list, &query, "limit")))
        }
        ("POST", ["pulls"]) => {
            let b = req.json();
            let (head, base_ref) = (
                b["head"].as_str().unwrap_or(""),
                b["base"].as_str().unwrap_or(""),
            );
            if s.prs
                .iter()
                .any(|p| p.head == head && p.base == base_ref && p.state == "open")
            {
                return (
                    409,
                    json!({"message": "pull request already exists for these targets"}),
                );
            }
            let i = create_pr(
                s,
                head,
                base_ref,
                b["title"].as_str().unwrap_or(""),
                b["body"].as_str().unwrap_or(""),
                false,
            );
            let names: Vec<String> = b["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| id.as_u64())
                .filter_map(|id| {
                    s.labels
                        .iter()
                        .find(|(i, _)| *i == id)
                        .map(|(_, n)| n.clone())
                })
                .collect();
            s.prs[i].labels = names;
            (201, gt_pull(s, &s.prs[i], base))
        }
        ("GET", ["pulls", n]) => match find(s, n) {
            Some(i) => (200, gt_pull(s, &s.prs[i], base)),
            None => not_found(),
        },
        ("GET", ["pulls", base_ref, head @ ..]) => {
            if s.no_base_head_route {
                return not_found();
            }
            let head = head.join("/");
            match s.prs.iter().find(|p| p.base == *base_ref && p.head == head) {
                Some(p) => (200, gt_pull(s, p, base)),
                None => (404, json!({"message": "pull request does not exist"})),
            }
        }
        ("PATCH", ["pulls", n]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let b = req.json();
            apply_edit(&mut s.prs[i], &b, "body", b["state"] == "closed");
            (201, gt_pull(s, &s.prs[i], base))
        }
        ("POST", ["pulls", n, "requested_reviewers"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            for r in req.json()["reviewers"].as_array().into_iter().flatten() {
                s.prs[i].reviewers.push(r.as_str().unwrap_or("").into());
            }
            (201, json!([]))
        }
        ("GET", ["issues", n, "comments"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let list = comments_json(&s.prs[i]);
            (200, json!(list))
        }
        ("POST", ["issues", n, "comments"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let posted = post_comment(&mut s.prs[i], req);
            (201, posted)
        }
        ("GET", ["labels"]) => {
            let list: Vec<Value> = s
                .labels
                .iter()
                .map(|(id, n)| json!({"id": id, "name": n, "color": "ededed"}))
                .collect();
            (200, json!(page(&list, &query, "limit")))
        }
        ("POST", ["labels"]) => {
            let b = req.json();
            let name = b["name"].as_str().unwrap_or("").to_string();
            let color = b["color"].as_str().unwrap_or("");
            if name.is_empty() || color.is_empty() {
                return (422, json!({"message": "name and color are required"}));
            }
            let id = s.labels.iter().map(|(i, _)| *i).max().unwrap_or(100) + 1;
            s.labels.push((id, name.clone()));
            (201, json!({"id": id, "name": name, "color": color}))
        }
        ("POST", ["issues", n, "labels"]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            for id in req.json()["labels"].as_array().into_iter().flatten() {
                let Some(name) = id
                    .as_u64()
                    .and_then(|id| s.labels.iter().find(|(i, _)| *i == id))
                    .map(|(_, n)| n.clone())
                else {
                    return (
                        422,
                        json!({"message": format!("label {id} does not exist")}),
                    );
                };
                if !s.prs[i].labels.contains(&name) {
                    s.prs[i].labels.push(name);
                }
            }
            (200, json!([]))
        }
        ("DELETE", ["issues", n, "labels", id]) => {
            let Some(i) = find(s, n) else {
                return not_found();
            };
            let Some(name) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| s.labels.iter().find(|(i, _)| *i == id))
                .map(|(_, n)| n.clone())
            else {
                return not_found();
            };
            s.prs[i].labels.retain(|l| *l != name);
            (204, Value::Null)
        }
        _ => not_found(),
    }
}
