//! The forge client against the fake forge on 127.0.0.1, for GitHub, GitLab and Gitea:
//! the whole pull-request lifecycle, the requests it sends (method, path, auth header,
//! JSON body), rate limits, 5xx, timeouts, a proxy, and a token that never shows.

use crate::fake_forge::{FakeForge, Fault, Kind, Request};
use improve::forge::{
    proposal_labels, Forge, ForgeConfig, ForgeError, ForgeKind, HttpOptions, PrSpec, PrState,
    Secret, SECTION_BEGIN, SECTION_END,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "tok_Zq81x0PlainTextSecretValue";
const HEAD: &str = "improve/proposal/P-0007";

type Sleeps = Arc<Mutex<Vec<Duration>>>;

fn forge_kind(kind: Kind) -> ForgeKind {
    match kind {
        Kind::Github => ForgeKind::Github,
        Kind::Gitlab => ForgeKind::Gitlab,
        Kind::Gitea => ForgeKind::Gitea,
    }
}

fn config(fake: &FakeForge, kind: Kind) -> ForgeConfig {
    ForgeConfig {
        kind: forge_kind(kind),
        api: Some(fake.api()),
        repo: fake.repo(),
        token_env: "IMPROVE_TEST_FORGE_TOKEN".into(),
        labels: vec!["bot".into()],
        reviewers: vec!["alice".into()],
        timeout: "2s".into(),
    }
}

/// A client whose rate-limit waits are recorded instead of slept.
fn client_with(cfg: &ForgeConfig, token: &str, timeout: Duration) -> (Forge, Sleeps) {
    let sleeps: Sleeps = Arc::default();
    let rec = sleeps.clone();
    let opts = HttpOptions {
        connect_timeout: timeout,
        timeout,
        max_wait: Duration::from_secs(5),
        proxy: None,
        sleep: Arc::new(move |d| rec.lock().unwrap().push(d)),
    };
    let forge = Forge::connect(cfg, Secret::new(token), opts).expect("client");
    (forge, sleeps)
}

fn client(fake: &FakeForge, kind: Kind) -> (Forge, Sleeps) {
    client_with(&config(fake, kind), TOKEN, Duration::from_secs(2))
}

fn labels(tier: &str) -> Vec<String> {
    proposal_labels("constant_tune", Some("physics"), "low", Some(tier))
}

fn spec<'a>(labels: &'a [String], body: &'a str, draft: bool) -> PrSpec<'a> {
    PrSpec {
        head: HEAD,
        base: "main",
        title: "P-0007: tune SIBLING_DIVERGENCE_WEIGHT",
        body,
        labels,
        draft,
    }
}

/// The token appears in no error text, no Debug output.
fn no_token(e: &ForgeError) {
    assert!(!e.to_string().contains(TOKEN), "{e}");
    assert!(!format!("{e:?}").contains(TOKEN), "{e:?}");
}

fn auth_ok(kind: Kind, r: &Request) {
    match kind {
        Kind::Github | Kind::Gitlab => {
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {TOKEN}").as_str()),
                "{}",
                r.line()
            )
        }
        Kind::Gitea => {
            assert_eq!(
                r.header("authorization"),
                Some(format!("token {TOKEN}").as_str()),
                "{}",
                r.line()
            )
        }
    }
    assert!(
        r.header("user-agent")
            .is_some_and(|u| u.starts_with("improve/")),
        "{:?}",
        r.headers
    );
}

/// open → find again → human edits → update body → labels → ready → comment → close.
fn lifecycle(kind: Kind) {
    let fake = FakeForge::start(kind, TOKEN);
    let (forge, _) = client(&fake, kind);
    let notify = labels("notify");

    let first = forge
        .ensure_pr(&spec(&notify, "Body v1 with **evidence**.", true))
        .unwrap();
    assert!(first.created && first.notes.is_empty(), "{:?}", first.notes);
    let n = first.pr.number;
    let made = fake.pr(n);
    assert!(made.body.contains(SECTION_BEGIN) && made.body.contains("Body v1 with **evidence**."));
    assert_eq!(made.head, HEAD);
    assert_eq!(made.base, "main");
    for l in [
        "improve",
        "type:constant_tune",
        "layer:physics",
        "risk:low",
        "tier:notify",
        "bot",
    ] {
        assert!(
            made.labels.iter().any(|x| x == l),
            "{l} missing: {:?}",
            made.labels
        );
    }
    assert!(first.pr.draft, "opened as a draft");
    assert_eq!(first.pr.state, PrState::Open);
    assert!(first.pr.url.contains(&n.to_string()), "{}", first.pr.url);
    assert_eq!(
        made.reviewers.len(),
        1,
        "review requested: {:?}",
        made.reviewers
    );

    // Found again by its head branch, never duplicated.
    let again = forge.ensure_pr(&spec(&notify, "ignored", true)).unwrap();
    assert!(!again.created);
    assert_eq!(again.pr.number, n);
    assert_eq!(fake.prs().len(), 1);

    // A human writes around the tool's section; the tool rewrites only its section.
    let human = format!(
        "Human note above.\n\n{}\n\nHuman note below.",
        fake.pr(n).body
    );
    fake.set_body(n, &human);
    assert!(forge.update_body(n, "Body v2: validation PASSED.").unwrap());
    let body = fake.pr(n).body;
    assert!(body.starts_with("Human note above.\n\n"), "{body}");
    assert!(body.ends_with("\n\nHuman note below."), "{body}");
    assert!(
        body.contains("Body v2: validation PASSED.") && !body.contains("Body v1"),
        "{body}"
    );
    assert_eq!(body.matches(SECTION_END).count(), 1, "{body}");
    // Unchanged: nothing is sent but the read.
    fake.clear_requests();
    assert!(!forge.update_body(n, "Body v2: validation PASSED.").unwrap());
    assert!(
        fake.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        fake.requests()
            .iter()
            .map(Request::line)
            .collect::<Vec<_>>()
    );

    // The tier changes; a human's label stays.
    fake.add_label(n, "needs-discussion");
    assert!(forge.set_labels(n, &labels("approve")).unwrap());
    let now = fake.pr(n).labels;
    assert!(now.contains(&"tier:approve".to_string()), "{now:?}");
    assert!(!now.contains(&"tier:notify".to_string()), "{now:?}");
    assert!(now.contains(&"needs-discussion".to_string()), "{now:?}");
    assert!(
        !forge.set_labels(n, &labels("approve")).unwrap(),
        "converged"
    );

    // Validation finished: out of draft.
    assert!(forge.mark_ready(n).unwrap());
    assert!(!forge.state(n).unwrap().draft);
    assert!(!forge.mark_ready(n).unwrap());

    // One comment per event, however often a cycle is redone.
    assert!(forge
        .comment(n, "P-0007:deployed:D-1", "Deployed as D-1.")
        .unwrap());
    assert!(!forge
        .comment(n, "P-0007:deployed:D-1", "Deployed as D-1.")
        .unwrap());
    assert_eq!(fake.pr(n).comments.len(), 1);

    // Rejected: comment and close; a closed one is left alone.
    assert!(forge
        .close_with_comment(n, "P-0007:rejected", "Rejected by alice: too risky.")
        .unwrap());
    assert_eq!(fake.pr(n).state, "closed");
    assert_eq!(fake.pr(n).comments.len(), 2);
    assert!(fake.pr(n).comments[1].contains("Rejected by alice"));
    assert!(!forge
        .close_with_comment(n, "P-0007:rejected", "again")
        .unwrap());
    assert_eq!(forge.state(n).unwrap().state, PrState::Closed);

    // A closed pull request is still the branch's one pull request.
    let after = forge.ensure_pr(&spec(&notify, "x", false)).unwrap();
    assert!(!after.created);
    assert_eq!(after.pr.number, n);
    assert_eq!(fake.prs().len(), 1);

    // Merged on the forge: seen with its merge commit.
    let other = forge
        .ensure_pr(&PrSpec {
            head: "improve/proposal/P-0008",
            ..spec(&notify, "b", false)
        })
        .unwrap();
    let sha = "3f786850e387550fdab836ed7e6dc881de23001b";
    fake.merge(other.pr.number, sha);
    let st = forge.state(other.pr.number).unwrap();
    assert_eq!(st.state, PrState::Merged);
    assert_eq!(st.merge_sha.as_deref(), Some(sha));

    for r in fake.requests() {
        auth_ok(kind, &r);
    }
}

#[test]
fn lifecycle_on_github() {
    lifecycle(Kind::Github);
}

#[test]
fn lifecycle_on_gitlab() {
    lifecycle(Kind::Gitlab);
}

#[test]
fn lifecycle_on_gitea() {
    lifecycle(Kind::Gitea);
}

fn lines(fake: &FakeForge) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect()
}

#[test]
fn github_requests_follow_the_documented_shapes() {
    let fake = FakeForge::start(Kind::Github, TOKEN);
    let (forge, _) = client(&fake, Kind::Github);
    let l = labels("notify");
    forge.ensure_pr(&spec(&l, "the body", true)).unwrap();
    let reqs = fake.requests();
    assert_eq!(
        lines(&fake),
        vec![
            "GET /api/v3/repos/acme/mind/pulls?head=acme%3Aimprove%2Fproposal%2FP-0007&state=all&per_page=100",
            "POST /api/v3/repos/acme/mind/pulls",
            "POST /api/v3/repos/acme/mind/issues/1/labels",
            "POST /api/v3/repos/acme/mind/pulls/1/requested_reviewers",
        ]
    );
    for r in &reqs {
        auth_ok(Kind::Github, r);
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
    }
    let create = reqs[1].json();
    assert_eq!(create["head"], HEAD);
    assert_eq!(create["base"], "main");
    assert_eq!(create["draft"], true);
    assert_eq!(create["title"], "P-0007: tune SIBLING_DIVERGENCE_WEIGHT");
    assert!(create["body"].as_str().unwrap().contains("the body"));
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
    assert_eq!(
        reqs[2].json()["labels"],
        serde_json::json!([
            "improve",
            "type:constant_tune",
            "layer:physics",
            "risk:low",
            "tier:notify",
            "bot"
        ])
    );
    assert_eq!(
        reqs[3].json(),
        serde_json::json!({"reviewers": ["alice"], "team_reviewers": []})
    );

    // Leaving draft is GraphQL beside the REST base (Enterprise Server layout).
    fake.clear_requests();
    forge.mark_ready(1).unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.last().unwrap().line(), "POST /api/graphql");
    let q = reqs.last().unwrap().json();
    assert!(q["query"]
        .as_str()
        .unwrap()
        .contains("markPullRequestReadyForReview"));
    assert_eq!(q["variables"]["id"], "PR_node1");

    fake.clear_requests();
    forge
        .close_with_comment(1, "P-0007:superseded", "Superseded by P-0009.")
        .unwrap();
    let reqs = fake.requests();
    let patch = reqs.iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.path(), "/api/v3/repos/acme/mind/pulls/1");
    assert_eq!(patch.json(), serde_json::json!({"state": "closed"}));
    let comment = reqs.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(comment.path(), "/api/v3/repos/acme/mind/issues/1/comments");
    assert!(comment.json()["body"]
        .as_str()
        .unwrap()
        .starts_with("<!-- improve:event P-0007:superseded -->\n"));
}

#[test]
fn gitlab_requests_follow_the_documented_shapes() {
    let fake = FakeForge::start(Kind::Gitlab, TOKEN);
    let (forge, _) = client(&fake, Kind::Gitlab);
    let l = labels("notify");
    forge.ensure_pr(&spec(&l, "the body", true)).unwrap();
    let reqs = fake.requests();
    // The project path is one URL-encoded segment.
    assert_eq!(
        reqs[0].target,
        "/api/v4/projects/acme%2Fmind/merge_requests?source_branch=improve%2Fproposal%2FP-0007&state=all&per_page=100"
    );
    assert_eq!(
        reqs[1].line(),
        "POST /api/v4/projects/acme%2Fmind/merge_requests"
    );
    let create = reqs[1].json();
    assert_eq!(create["source_branch"], HEAD);
    assert_eq!(create["target_branch"], "main");
    assert_eq!(
        create["title"],
        "Draft: P-0007: tune SIBLING_DIVERGENCE_WEIGHT"
    );
    assert_eq!(
        create["labels"],
        "improve,type:constant_tune,layer:physics,risk:low,tier:notify,bot"
    );
    assert!(create["description"].as_str().unwrap().contains("the body"));
    // Reviewers are ids: the name is looked up first.
    let names: Vec<String> = reqs
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert!(
        names.contains(&"GET /api/v4/users?username=alice".to_string()),
        "{names:?}"
    );
    let put = reqs.iter().rev().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.json(), serde_json::json!({"reviewer_ids": [7]}));
    assert_eq!(fake.pr(1).reviewers, vec!["7".to_string()]);

    fake.clear_requests();
    forge
        .close_with_comment(1, "P-0007:failed", "Validation FAILED.")
        .unwrap();
    let reqs = fake.requests();
    assert!(reqs
        .iter()
        .any(|r| r.line() == "POST /api/v4/projects/acme%2Fmind/merge_requests/1/notes"));
    let put = reqs.iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.json(), serde_json::json!({"state_event": "close"}));
}

#[test]
fn gitea_resolves_label_names_to_ids_and_creates_missing_ones() {
    let fake = FakeForge::start(Kind::Gitea, TOKEN);
    let (forge, _) = client(&fake, Kind::Gitea);
    let l = labels("notify");
    forge.ensure_pr(&spec(&l, "the body", true)).unwrap();
    let reqs = fake.requests();
    assert_eq!(
        reqs[0].line(),
        "GET /api/v1/repos/acme/mind/pulls/main/improve/proposal/P-0007"
    );
    let created: Vec<&Request> = reqs
        .iter()
        .filter(|r| r.line() == "POST /api/v1/repos/acme/mind/labels")
        .collect();
    assert_eq!(created.len(), 6, "one per missing label");
    assert!(created.iter().all(|r| r.json()["color"]
        .as_str()
        .is_some_and(|c| c.starts_with('#'))));
    let create = reqs
        .iter()
        .find(|r| r.line() == "POST /api/v1/repos/acme/mind/pulls")
        .unwrap()
        .json();
    assert_eq!(
        create["title"],
        "WIP: P-0007: tune SIBLING_DIVERGENCE_WEIGHT"
    );
    assert_eq!(create["labels"].as_array().unwrap().len(), 6);
    assert!(
        create["labels"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.is_u64()),
        "ids, not names"
    );

    // A second proposal reuses the labels that exist now.
    fake.clear_requests();
    forge
        .ensure_pr(&PrSpec {
            head: "improve/proposal/P-0008",
            ..spec(&l, "b", false)
        })
        .unwrap();
    assert!(!fake
        .requests()
        .iter()
        .any(|r| r.line() == "POST /api/v1/repos/acme/mind/labels"));
}

#[test]
fn gitea_before_the_base_head_route_finds_by_scanning() {
    let fake = FakeForge::start(Kind::Gitea, TOKEN);
    fake.without_base_head_route();
    let n = fake.insert_pr(HEAD, "main", "an earlier run", "", "closed");
    let (forge, _) = client(&fake, Kind::Gitea);
    let l = labels("notify");
    let found = forge.ensure_pr(&spec(&l, "b", false)).unwrap();
    assert!(!found.created);
    assert_eq!(found.pr.number, n);
    assert_eq!(fake.prs().len(), 1);
    assert!(
        lines(&fake).iter().any(|l| l.contains("/pulls?state=all")),
        "{:?}",
        lines(&fake)
    );
}

#[test]
fn a_pull_request_a_human_opened_is_found_and_its_body_kept() {
    let fake = FakeForge::start(Kind::Github, TOKEN);
    let n = fake.insert_pr(HEAD, "main", "Human's title", "Written by a human.", "open");
    let (forge, _) = client(&fake, Kind::Github);
    let l = labels("approve");
    let found = forge.ensure_pr(&spec(&l, "ours", false)).unwrap();
    assert!(!found.created);
    assert_eq!(found.pr.author.as_deref(), Some("a-human"));
    assert_eq!(
        fake.pr(n).title,
        "Human's title",
        "the title is not rewritten"
    );
    assert!(forge.update_body(n, "ours").unwrap());
    let body = fake.pr(n).body;
    assert!(body.starts_with("Written by a human.\n\n"), "{body}");
    assert!(body.contains("ours"));
}

#[test]
fn github_without_drafts_opens_ready() {
    let fake = FakeForge::start(Kind::Github, TOKEN);
    fake.without_drafts();
    let (forge, _) = client(&fake, Kind::Github);
    let l = labels("notify");
    let e = forge.ensure_pr(&spec(&l, "b", true)).unwrap();
    assert!(e.created && !e.pr.draft);
    let creates: Vec<Request> = fake
        .requests()
        .into_iter()
        .filter(|r| r.line() == "POST /api/v3/repos/acme/mind/pulls")
        .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[1].json().get("draft"), None);
}

#[test]
fn a_short_rate_limit_is_waited_once() {
    for kind in [Kind::Github, Kind::Gitlab, Kind::Gitea] {
        let fake = FakeForge::start(kind, TOKEN);
        let (forge, sleeps) = client(&fake, kind);
        fake.fault(Fault::RateLimited { retry_after: 2 });
        assert_eq!(forge.find(HEAD, "main").unwrap(), None);
        assert_eq!(
            *sleeps.lock().unwrap(),
            vec![Duration::from_secs(2)],
            "{kind:?}"
        );
        let reqs = fake.requests();
        assert_eq!(
            reqs.len(),
            if kind == Kind::Gitea { 3 } else { 2 },
            "{:?}",
            lines(&fake)
        );
        assert_eq!(
            reqs[0].target, reqs[1].target,
            "the same request, once more"
        );
    }
}

#[test]
fn a_second_rate_limit_after_the_wait_is_retry_later() {
    let fake = FakeForge::start(Kind::Github, TOKEN);
    let (forge, sleeps) = client(&fake, Kind::Github);
    fake.fault(Fault::RateLimited { retry_after: 1 });
    fake.fault(Fault::RateLimited { retry_after: 1 });
    let e = forge.find(HEAD, "main").unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(fake.requests().len(), 2, "never more than one retry");
    assert_eq!(sleeps.lock().unwrap().len(), 1);
    no_token(&e);
}

#[test]
fn a_long_retry_after_is_retry_later_after_one_request() {
    let fake = FakeForge::start(Kind::Gitlab, TOKEN);
    let (forge, sleeps) = client(&fake, Kind::Gitlab);
    fake.fault(Fault::RateLimited { retry_after: 3600 });
    let before = chrono::Utc::now();
    let l = labels("notify");
    let e = forge.ensure_pr(&spec(&l, "b", false)).unwrap_err();
    match &e {
        ForgeError::RetryLater { at: Some(at), .. } => {
            let secs = (*at - before).num_seconds();
            assert!((3590..=3700).contains(&secs), "{secs}");
        }
        other => panic!("expected RetryLater with a time, got {other:?}"),
    }
    assert!(e.to_string().contains("retry later (at 20"), "{e}");
    assert_eq!(fake.requests().len(), 1);
    assert!(sleeps.lock().unwrap().is_empty());
    assert!(fake.prs().is_empty(), "nothing was opened");
    no_token(&e);
}

#[test]
fn githubs_primary_rate_limit_is_read_from_its_reset_header() {
    let fake = FakeForge::start(Kind::Github, TOKEN);
    let (forge, sleeps) = client(&fake, Kind::Github);
    fake.fault(Fault::PrimaryLimit { reset_in: 1200 });
    let e = forge.state(1).unwrap_err();
    let at = e.retry_at().expect("a time to come back");
    let secs = (at - chrono::Utc::now()).num_seconds();
    assert!((1100..=1300).contains(&secs), "{secs}");
    assert_eq!(fake.requests().len(), 1);
    assert!(sleeps.lock().unwrap().is_empty());
    no_token(&e);
}

#[test]
fn a_server_error_is_transient_and_not_retried_in_place() {
    let fake = FakeForge::start(Kind::Gitea, TOKEN);
    let (forge, _) = client(&fake, Kind::Gitea);
    fake.fault(Fault::Status(502));
    let e = forge.comment(1, "k", "t").unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains("HTTP 502"), "{e}");
    assert_eq!(fake.requests().len(), 1);
    no_token(&e);
}

#[test]
fn a_forge_that_hangs_times_out_as_transient() {
    let fake = FakeForge::start(Kind::Github, TOKEN);
    let cfg = config(&fake, Kind::Github);
    let (forge, _) = client_with(&cfg, TOKEN, Duration::from_millis(300));
    fake.fault(Fault::Hang(Duration::from_secs(3)));
    let e = forge.find(HEAD, "main").unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        e.to_string().to_lowercase().contains("timeout") || e.to_string().contains("timed out"),
        "{e}"
    );
    assert_eq!(fake.requests().len(), 1);
    no_token(&e);
}

#[test]
fn a_refused_token_is_an_error_that_does_not_show_it() {
    for kind in [Kind::Github, Kind::Gitlab, Kind::Gitea] {
        let fake = FakeForge::start(kind, "the-right-token");
        let (forge, _) = client(&fake, kind);
        let e = forge.find(HEAD, "main").unwrap_err();
        assert!(
            matches!(e, ForgeError::Rejected { status: 401, .. }),
            "{e:?}"
        );
        assert!(!e.is_transient());
        no_token(&e);
        assert!(!format!("{forge:?}").contains(TOKEN));
        // The request did carry it, in the documented header.
        auth_ok(kind, &fake.requests()[0]);
    }
}

#[test]
fn a_missing_token_variable_is_named() {
    let fake = FakeForge::start(Kind::Github, TOKEN);
    let mut cfg = config(&fake, Kind::Github);
    cfg.token_env = "IMPROVE_TEST_FORGE_TOKEN_THAT_IS_NOT_SET".into();
    let e = Forge::from_env(&cfg).unwrap_err();
    assert!(matches!(e, ForgeError::Config(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("IMPROVE_TEST_FORGE_TOKEN_THAT_IS_NOT_SET"),
        "{e}"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn requests_go_through_the_configured_proxy() {
    // The forge's host does not resolve: only the proxy (the fake, answering CONNECT)
    // can reach it.
    let fake = FakeForge::start(Kind::Github, TOKEN);
    let mut cfg = config(&fake, Kind::Github);
    cfg.api = Some("http://forge.invalid/api/v3".into());
    let opts = HttpOptions {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        proxy: Some(format!("http://{}", fake.addr())),
        ..HttpOptions::default()
    };
    let forge = Forge::connect(&cfg, Secret::new(TOKEN), opts).unwrap();
    assert_eq!(forge.find(HEAD, "main").unwrap(), None);
    let reqs = fake.requests();
    assert_eq!(reqs[0].method, "CONNECT");
    assert_eq!(reqs[0].target, "forge.invalid:80");
    assert_eq!(reqs[1].path(), "/api/v3/repos/acme/mind/pulls");
}
