//! Pull requests and the merges a forge makes, end to end (issue 11): the binary runs
//! cycles against a bare repository as `origin` and the fake forge on 127.0.0.1; what
//! a human does on the forge is done with plain git in a clone of `origin`, the way
//! each forge does it (merge commit, squash with and without the trailer, rebase),
//! and marked on the fake. No test needs the internet, and the token shows nowhere.

use crate::fake_forge::{FakeForge, FakePr, Fault, Kind};
use crate::support::*;
use serde_json::Value;
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::{Command as Proc, Output};
use std::time::Duration;

const TOKEN: &str = "tok_Fl0wSecretNeverPrinted4711";
const TOKEN_ENV: &str = "IMPROVE_FLOW_FORGE_TOKEN";
const BRANCH: &str = "improve/proposal/P-0001";

/// A medium-risk protocol tune: the APPROVE tier, so it waits for a human.
const MEDIUM_PROTOCOL: &str = "candidates:\n  divergence-physics:\n    - {type: protocol_update, target: {file: protocols/explore.yaml, name: \"steps[0].max_retries\"}, direction: increase, step: 0.5, risk: medium, complexity: 2, metric: efficiency}\n";

struct Flow {
    env: Env,
    origin: PathBuf,
    /// A clone of `origin` where "the forge" (a human on it) merges and pushes.
    forge_ws: PathBuf,
    fake: Option<FakeForge>,
    /// Everything the binary printed, for the token check.
    printed: RefCell<String>,
}

fn git_in(dir: &std::path::Path, args: &[&str], author: &str) -> String {
    let mut c = Proc::new("git");
    c.arg("-C").arg(dir).args(args);
    pinned_env(&mut c, "2026-01-05T00:00:00Z");
    c.env("GIT_AUTHOR_NAME", author)
        .env("GIT_COMMITTER_NAME", "Forge");
    let o = c.output().expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

impl Flow {
    /// A mind-shaped system with validation, pushed to a bare `origin` (its upstream),
    /// with a forge of `kind` configured (none: no forge section).
    fn new(kind: Option<Kind>, approve_tier: bool) -> Flow {
        Flow::with_timeout(kind, approve_tier, "2s")
    }

    fn with_timeout(kind: Option<Kind>, approve_tier: bool, timeout: &str) -> Flow {
        let env = Env::with_validation();
        if approve_tier {
            env.templates(MEDIUM_PROTOCOL);
        }
        let origin = env.base.join("origin.git");
        let mut c = Proc::new("git");
        c.args(["init", "-q", "--bare", "-b", "main"]).arg(&origin);
        pinned_env(&mut c, "2026-01-05T00:00:00Z");
        assert!(c.status().unwrap().success());
        env.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
        let fake = kind.map(|k| {
            let fake = FakeForge::start(k, TOKEN);
            fake.heads_from(&origin);
            let kind = match k {
                Kind::Github => "github",
                Kind::Gitlab => "gitlab",
                Kind::Gitea => "gitea",
            };
            env.append(
                "improvement-data/config.yaml",
                &format!(
                    "\nforge:\n  kind: {kind}\n  api: {}\n  repo: {}\n  token_env: {TOKEN_ENV}\n  timeout: {timeout}\n",
                    fake.api(),
                    fake.repo()
                ),
            );
            env.git(&["commit", "-qam", "improve: the forge"]);
            fake
        });
        env.git(&["push", "-q", "-u", "origin", "main"]);
        let forge_ws = env.base.join("forge-ws");
        let mut c = Proc::new("git");
        c.args(["clone", "-q"]).arg(&origin).arg(&forge_ws);
        pinned_env(&mut c, "2026-01-05T00:00:00Z");
        assert!(c.status().unwrap().success());
        Flow {
            env,
            origin,
            forge_ws,
            fake,
            printed: RefCell::new(String::new()),
        }
    }

    /// A flow whose first cycle (at 2h, over faulty logs from 1h) proposed P-0001;
    /// that cycle's report.
    fn proposed(kind: Option<Kind>, approve_tier: bool) -> (Flow, Value) {
        let f = Flow::new(kind, approve_tier);
        faulty(&f.env, 12, h(1), "a");
        let r = f.cycle(2);
        (f, r)
    }

    fn fake(&self) -> &FakeForge {
        self.fake.as_ref().expect("a forge is configured")
    }

    /// `improve cycle --json --push origin` at `hours`, with the token in the
    /// environment; its output, kept for the token check.
    fn run(&self, hours: i64) -> Output {
        let out = self
            .env
            .improve(&at(hours))
            .env(TOKEN_ENV, TOKEN)
            .args(["cycle", "--json", "--push", "origin"])
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let mut p = self.printed.borrow_mut();
        p.push_str(&String::from_utf8_lossy(&out.stdout));
        p.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    /// A cycle that must succeed; its report.
    fn cycle(&self, hours: i64) -> Value {
        report_of(&self.run(hours))
    }

    /// git on "the forge": in the clone of origin, as `author`.
    fn on_forge(&self, args: &[&str]) -> String {
        git_in(&self.forge_ws, args, "alice")
    }

    /// The forge's clone brought up to date, on main.
    fn forge_main(&self) {
        self.on_forge(&["fetch", "-q", "origin"]);
        self.on_forge(&["checkout", "-q", "-B", "main", "origin/main"]);
    }

    /// Someone else's commit on main on the forge (main moved since the proposal).
    fn forge_commit_on_main(&self, file: &str) {
        self.forge_main();
        std::fs::write(self.forge_ws.join(file), "notes\n").unwrap();
        self.on_forge(&["add", "-A"]);
        self.on_forge(&["commit", "-qm", &format!("docs: {file}")]);
        self.on_forge(&["push", "-q", "origin", "main"]);
    }

    fn origin_rev(&self, name: &str) -> String {
        let mut c = Proc::new("git");
        c.arg("--git-dir")
            .arg(&self.origin)
            .args(["rev-parse", name]);
        pinned_env(&mut c, "2026-01-05T00:00:00Z");
        String::from_utf8_lossy(&c.output().unwrap().stdout)
            .trim()
            .to_string()
    }

    fn pr(&self) -> FakePr {
        let prs = self.fake().prs();
        assert_eq!(prs.len(), 1, "one pull request per proposal: {prs:#?}");
        prs[0].clone()
    }

    /// Neither anything printed, nor any record, commit or ref here or on origin,
    /// nor the fake's pull requests hold the token.
    fn assert_no_token(&self) {
        assert!(
            !self.printed.borrow().contains(TOKEN),
            "the token was printed"
        );
        let everything = self.env.git(&["log", "--all", "-p", "--format=%H %B"]);
        assert!(!everything.contains(TOKEN), "the token is in a commit");
        let origin = git_in(&self.origin, &["log", "--all", "-p"], "x");
        assert!(!origin.contains(TOKEN), "the token was pushed");
        for path in self
            .env
            .git(&["ls-tree", "-r", "--name-only", "improve/records"])
            .lines()
        {
            assert!(
                !self.env.record(path).contains(TOKEN),
                "the token is in {path}"
            );
        }
        if let Some(f) = &self.fake {
            assert!(!format!("{:?}", f.prs()).contains(TOKEN));
            // It travelled only where it belongs: the authorization header.
            for r in f.requests() {
                assert!(!r.target.contains(TOKEN) && !r.body.contains(TOKEN));
            }
        }
    }
}

fn comments_with(pr: &FakePr, key: &str) -> Vec<String> {
    pr.comments
        .iter()
        .filter(|c| c.contains(&format!("improve:event {key} ")))
        .cloned()
        .collect()
}

#[test]
fn open_update_merge_on_the_forge_then_adopted_and_monitored() {
    let f = Flow::new(Some(Kind::Github), true);
    let hook = f.env.base.join("hook.jsonl");
    f.env.configure(&[(
        "notify_command: []",
        &format!("notify_command: [tee, -a, {}]", hook.display()),
    )]);
    f.env.git(&["push", "-q", "origin", "main"]);
    faulty(&f.env, 12, h(1), "a");
    let r = f.cycle(2);
    let lc = lifecycle_lines(&r);
    assert!(lc.contains("pull request #1 opened"), "{r:#}");
    assert!(lc.contains("waiting for a human (approve tier"), "{r:#}");
    // Opened as a draft once the branch was on origin, then brought up to date.
    let reqs = f.fake().requests();
    let create = reqs
        .iter()
        .find(|q| q.line() == "POST /api/v3/repos/acme/mind/pulls")
        .expect("a pull request was opened");
    assert_eq!(create.json()["draft"], true);
    assert_eq!(create.json()["head"], BRANCH);
    assert_eq!(create.json()["base"], "main");
    let pr = f.pr();
    assert!(!pr.draft, "ready for review once validated");
    // `show` names the pull request.
    let shown = f
        .env
        .improve(&at(2))
        .args(["show", "P-1"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("pull request: http://127.0.0.1:") && shown.contains("(github, open)"),
        "{shown}"
    );
    assert!(pr.title.starts_with("P-0001: "), "{}", pr.title);
    for l in [
        "improve",
        "type:protocol_update",
        "risk:medium",
        "tier:approve",
    ] {
        assert!(
            pr.labels.iter().any(|x| x == l),
            "{l} missing: {:?}",
            pr.labels
        );
    }
    assert!(pr.body.contains("<!-- improve:begin"), "{}", pr.body);
    assert!(
        !pr.body.contains("Not run yet"),
        "validation result shown: {}",
        pr.body
    );
    assert!(pr.body.contains("**APPROVE**"), "{}", pr.body);
    assert_eq!(pr.head_sha, f.origin_rev(BRANCH));
    // The record knows where it is; the notification links to it.
    let rec: Value = serde_json::from_str(&f.env.record("proposals/P-0001/pr.json")).unwrap();
    assert_eq!(rec["number"], 1);
    let url = rec["url"].as_str().unwrap().to_string();
    assert!(url.ends_with("/acme/mind/pull/1"), "{url}");
    // The notify hook got the link, the branch and the title on stdin.
    let note = std::fs::read_to_string(&hook)
        .unwrap()
        .lines()
        .find(|l| l.contains("approval_needed"))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .expect("approval_needed notified");
    assert_eq!(note["pr_url"], url.as_str());
    assert_eq!(note["branch"], BRANCH);
    assert_eq!(note["proposal"], "P-0001");
    assert!(note["title"].as_str().unwrap().starts_with("P-0001: "));
    assert!(f.env.record("notifications.jsonl").contains(&url));
    assert!(f.env.audit_log().contains("pr opened"));

    // A cycle with nothing new reads the state and writes nothing to the forge.
    f.fake().clear_requests();
    f.cycle(3);
    let writes: Vec<String> = f
        .fake()
        .requests()
        .iter()
        .filter(|q| q.method != "GET")
        .map(|q| q.line())
        .collect();
    assert!(writes.is_empty(), "{writes:?}");

    // Merged on the forge with a merge commit; the next cycle fetches and adopts it.
    f.forge_main();
    f.on_forge(&[
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge pull request #1 from acme/improve/proposal/P-0001",
        &format!("origin/{BRANCH}"),
    ]);
    f.on_forge(&["push", "-q", "origin", "main"]);
    let merge = f.origin_rev("main");
    f.fake().merge(1, &merge);
    let r = f.cycle(4);
    let lc = lifecycle_lines(&r);
    assert!(lc.contains("main fast-forwarded to origin/main"), "{r:#}");
    assert!(lc.contains("merged by alice"), "{r:#}");
    assert_eq!(f.env.rev("main"), merge);
    let d = f.env.deployment("D-0001");
    assert_eq!(d["tier"], "human");
    assert_eq!(d["deploy_commit"].as_str().unwrap(), merge);
    assert_eq!(d["status"], "monitoring");
    assert_eq!(f.env.status_of("P-0001"), "deployed");
    assert!(f
        .env
        .read("protocols/explore.yaml")
        .contains("max_retries: 3"));
    let pr = f.pr();
    let deployed = comments_with(&pr, "P-0001:deployed:D-0001");
    assert_eq!(deployed.len(), 1, "{:#?}", pr.comments);
    assert!(
        deployed[0].contains("**Merged** by alice"),
        "{}",
        deployed[0]
    );
    assert_eq!(f.origin_rev("improve/deploy/D-0001"), merge, "tags pushed");

    // Monitored like any deploy: the next window is judged.
    good(&f.env, 12, h(5), "b");
    f.cycle(7);
    let d = f.env.deployment("D-0001");
    assert_eq!(d["status"], "monitoring");
    assert!(!d["checks"].as_sequence().unwrap().is_empty());
    assert_eq!(f.fake().prs().len(), 1, "never a duplicate");
    assert_eq!(
        f.origin_rev("improve/records"),
        f.env.rev("improve/records")
    );
    f.assert_no_token();
}

#[test]
fn open_reject_then_closed_with_a_comment() {
    let (f, r) = Flow::proposed(Some(Kind::Gitlab), true);
    assert!(
        lifecycle_lines(&r).contains("pull request !1 opened"),
        "{r:#}"
    );
    assert_eq!(f.pr().state, "open");
    f.env
        .improve(&at(3))
        .args(["reject", "P-1", "--by", "bob", "--reason", "not this way"])
        .assert()
        .success();
    let r = f.cycle(4);
    assert!(
        lifecycle_lines(&r).contains("pull request !1 closed"),
        "{r:#}"
    );
    let pr = f.pr();
    assert_eq!(pr.state, "closed");
    let said = comments_with(&pr, "P-0001:rejected");
    assert_eq!(said.len(), 1, "{:#?}", pr.comments);
    assert!(
        said[0].contains("**Rejected**") && said[0].contains("not this way"),
        "{}",
        said[0]
    );
    // Once: the next cycle neither comments nor reopens.
    f.cycle(5);
    assert_eq!(f.pr().comments.len(), pr.comments.len());
    let rec: Value = serde_json::from_str(&f.env.record("proposals/P-0001/pr.json")).unwrap();
    assert_eq!(rec["state"], "closed");
    f.assert_no_token();
}

#[test]
fn deploy_degrade_revert_each_commented_with_its_numbers_and_pushed() {
    let (f, r) = Flow::proposed(Some(Kind::Gitea), false);
    let lc = lifecycle_lines(&r);
    assert!(lc.contains("D-0001: deployed P-0001"), "{r:#}");
    // The deploy commit and its tags are on origin: the forge's main is the system's.
    let deploy = f.env.rev("main");
    assert_eq!(f.origin_rev("main"), deploy);
    assert_eq!(f.origin_rev("improve/deploy/D-0001"), deploy);
    assert_eq!(f.origin_rev("improve/backup/D-0001"), f.env.rev("main~1"));
    assert_eq!(
        f.env.git(&["rev-list", "--count", "origin/main..main"]),
        "0",
        "nothing left unpushed"
    );
    // The tool deployed it as its own commit: the pull request is closed with the news.
    let pr = f.pr();
    assert_eq!(pr.state, "closed");
    let said = comments_with(&pr, "P-0001:deployed:D-0001");
    assert_eq!(said.len(), 1, "{:#?}", pr.comments);
    assert!(
        said[0].contains("**Deployed** by improve as D-0001 in the auto tier"),
        "{}",
        said[0]
    );
    assert!(
        said[0].contains("| Metric |"),
        "the baseline numbers: {}",
        said[0]
    );
    assert!(
        pr.body.contains("**AUTO**") && pr.body.contains("PASSED"),
        "{}",
        pr.body
    );

    degraded(&f.env, 12, h(3), "b");
    let r = f.cycle(5);
    assert!(lifecycle_lines(&r).contains("rolled back"), "{r:#}");
    let revert = f.env.rev("main");
    assert_ne!(revert, deploy);
    assert_eq!(f.origin_rev("main"), revert, "the revert is pushed");
    assert_eq!(f.origin_rev("improve/rollback/D-0001"), revert);
    let pr = f.pr();
    let degraded = comments_with(&pr, "P-0001:judged:D-0001:degraded");
    assert_eq!(degraded.len(), 1, "{:#?}", pr.comments);
    assert!(degraded[0].contains("**Degraded**") && degraded[0].contains("| Metric |"));
    let rolled = comments_with(&pr, "P-0001:rolled_back:D-0001");
    assert_eq!(rolled.len(), 1, "{:#?}", pr.comments);
    assert!(rolled[0].contains("**Rolled back**") && rolled[0].contains(&revert[..12]));
    f.assert_no_token();
}

/// How a human merges the proposal's pull request on the forge.
#[derive(Clone, Copy)]
enum Merge {
    /// The squash keeps the commit's message, trailer included (GitHub's default for
    /// a one-commit pull request), and the merger touched the change on the way (a
    /// comment added while resolving): only the trailer says what it is.
    SquashWithTrailer,
    /// The squash message is the title alone.
    SquashWithoutTrailer,
    /// Each commit rewritten onto main (two: the human added one).
    Rebase,
}

/// Merges P-0001 on the forge after main moved there; returns the new main.
fn merge_on_the_forge(f: &Flow, how: Merge) -> String {
    f.forge_commit_on_main("NOTES.md");
    let head = format!("origin/{BRANCH}");
    match how {
        Merge::SquashWithTrailer | Merge::SquashWithoutTrailer => {
            f.on_forge(&["merge", "--squash", "-q", &head]);
            if let Merge::SquashWithTrailer = how {
                let path = f.forge_ws.join("protocols/explore.yaml");
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, format!("# retries raised on review\n{text}")).unwrap();
                f.on_forge(&["add", "-A"]);
            }
            let msg = match how {
                Merge::SquashWithTrailer => {
                    let m = f.on_forge(&["log", "-1", "--format=%B", &head]);
                    let (subject, rest) = m.split_once('\n').unwrap();
                    assert!(rest.contains("Improve-Proposal: P-0001"), "{m}");
                    format!("{subject} (#1)\n{rest}\n")
                }
                _ => "Tune the explore protocol (#1)\n".to_string(),
            };
            std::fs::write(f.env.base.join("msg"), msg).unwrap();
            f.on_forge(&[
                "commit",
                "-q",
                "-F",
                f.env.base.join("msg").to_str().unwrap(),
            ]);
        }
        Merge::Rebase => {
            let base = f.on_forge(&["merge-base", "origin/main", &head]);
            f.on_forge(&["cherry-pick", &format!("{base}..{head}")]);
        }
    }
    f.on_forge(&["push", "-q", "origin", "main"]);
    let main = f.origin_rev("main");
    f.fake().merge(1, &main);
    main
}

fn merged_and_recognised(how: Merge, said: &str) -> Flow {
    let (f, _) = Flow::proposed(Some(Kind::Github), true);
    assert_eq!(f.env.status_of("P-0001"), "awaiting_approval");
    let main = merge_on_the_forge(&f, how);
    let r = f.cycle(4);
    let lc = lifecycle_lines(&r);
    assert!(lc.contains(&format!("{said} by alice")), "{r:#}");
    assert_eq!(f.env.rev("main"), main);
    assert_eq!(f.env.status_of("P-0001"), "deployed");
    let d = f.env.deployment("D-0001");
    assert_eq!(d["deploy_commit"].as_str().unwrap(), main);
    assert_eq!(d["status"], "monitoring");
    assert_eq!(f.env.rev("improve/deploy/D-0001"), main);
    // The branch was never merged as such: it is not in main's history.
    let (in_history, _, _) = f
        .env
        .git_status(&["merge-base", "--is-ancestor", BRANCH, "main"]);
    assert!(!in_history);
    assert_eq!(comments_with(&f.pr(), "P-0001:deployed:D-0001").len(), 1);
    f
}

#[test]
fn a_squash_merge_keeping_the_trailer_is_recognised() {
    let f = merged_and_recognised(
        Merge::SquashWithTrailer,
        "squash-merged (found by its Improve-Proposal trailer)",
    );
    f.assert_no_token();
}

#[test]
fn a_squash_merge_without_the_trailer_is_recognised_by_its_patch_id() {
    let f = merged_and_recognised(Merge::SquashWithoutTrailer, "squash-merged");
    // The backup is main on the forge before the squash: someone else's commit.
    let d = f.env.deployment("D-0001");
    assert_eq!(d["backup_commit"].as_str().unwrap(), f.env.rev("main~1"));
    f.assert_no_token();
}

#[test]
fn a_rebase_merge_of_a_branch_a_human_added_to_is_recognised_and_rolled_back_whole() {
    let (f, _) = Flow::proposed(Some(Kind::Github), true);
    // A reviewer adds a commit to the pull request's branch on the forge.
    f.on_forge(&["fetch", "-q", "origin"]);
    f.on_forge(&[
        "checkout",
        "-q",
        "-B",
        "review",
        &format!("origin/{BRANCH}"),
    ]);
    let notes = f.forge_ws.join("protocols/README.md");
    std::fs::write(&notes, "max_retries was raised by P-0001\n").unwrap();
    f.on_forge(&["add", "-A"]);
    f.on_forge(&["commit", "-qm", "document the retry change"]);
    f.on_forge(&["push", "-q", "origin", &format!("HEAD:{BRANCH}")]);
    let r = f.cycle(3);
    assert!(
        lifecycle_lines(&r).contains("new commits on origin"),
        "{r:#}"
    );
    assert_eq!(f.env.rev(BRANCH), f.origin_rev(BRANCH));
    let main_before = f.origin_rev("main");
    let main = merge_on_the_forge(&f, Merge::Rebase);
    let r = f.cycle(4);
    assert!(
        lifecycle_lines(&r).contains("rebase-merged by alice"),
        "{r:#}"
    );
    let d = f.env.deployment("D-0001");
    assert_eq!(d["deploy_commit"].as_str().unwrap(), main);
    // The backup is before both rebased commits (after the other commit on main).
    assert_eq!(d["backup_commit"].as_str().unwrap(), f.env.rev("main~2"));
    assert_ne!(d["backup_commit"].as_str().unwrap(), main_before);
    // A rollback undoes both rebased commits in one revert.
    f.env
        .improve(&at(5))
        .args(["rollback", "D-1", "--reason", "testing"])
        .assert()
        .success();
    assert!(f
        .env
        .read("protocols/explore.yaml")
        .contains("max_retries: 2"));
    assert!(!f.env.path("protocols/README.md").exists());
    assert!(f.env.path("NOTES.md").exists(), "the other commit stays");
    f.assert_no_token();
}

#[test]
fn a_revert_squash_merged_on_the_forge_is_recognised() {
    let (f, _) = Flow::proposed(None, false);
    let deploy = f.origin_rev("main");
    assert_eq!(deploy, f.env.rev("improve/deploy/D-0001"));
    // A revert pull request, squash-merged: no "This reverts commit" in the message.
    f.forge_main();
    f.on_forge(&["revert", "--no-commit", &deploy]);
    f.on_forge(&["commit", "-qm", "Undo the divergence tune (#2)"]);
    f.on_forge(&["push", "-q", "origin", "main"]);
    let revert = f.origin_rev("main");
    let r = f.cycle(3);
    assert!(
        lifecycle_lines(&r).contains("a human (alice) reverted it"),
        "{r:#}"
    );
    assert_eq!(f.env.deployment("D-0001")["status"], "rolled_back");
    assert_eq!(f.env.rev("improve/rollback/D-0001"), revert);
    f.assert_no_token();
}

#[test]
fn a_pull_request_a_human_pushed_to_is_left_alone_and_revalidated() {
    let (f, _) = Flow::proposed(Some(Kind::Github), true);
    let before = f.pr();
    // On the forge: a commit on the branch, and words of their own in the body.
    f.on_forge(&["fetch", "-q", "origin"]);
    f.on_forge(&[
        "checkout",
        "-q",
        "-B",
        "review",
        &format!("origin/{BRANCH}"),
    ]);
    let yaml = std::fs::read_to_string(f.forge_ws.join("protocols/explore.yaml")).unwrap();
    std::fs::write(
        f.forge_ws.join("protocols/explore.yaml"),
        yaml.replace("max_retries: 3", "max_retries: 4"),
    )
    .unwrap();
    f.on_forge(&["commit", "-qam", "four retries instead"]);
    f.on_forge(&["push", "-q", "origin", &format!("HEAD:{BRANCH}")]);
    let theirs = f.origin_rev(BRANCH);
    let human_text = "Reviewer: I prefer four retries.";
    f.fake()
        .set_body(1, &format!("{human_text}\n\n{}", before.body));
    f.fake().clear_requests();
    let r = f.cycle(3);
    let lc = lifecycle_lines(&r);
    assert!(lc.contains("new commits on origin"), "{r:#}");
    // Never rewritten: the branch on origin is the human's commit, here too.
    assert_eq!(f.origin_rev(BRANCH), theirs);
    assert_eq!(f.env.rev(BRANCH), theirs);
    let p = f.env.record_yaml("proposals/P-0001/proposal.yaml");
    assert_eq!(p["branch_commit"].as_str().unwrap(), theirs);
    assert!(
        f.env
            .record("proposals/P-0001/proposal.yaml")
            .contains("re-validating"),
        "revalidated"
    );
    let v: Value = serde_json::from_str(&f.env.record("proposals/P-0001/validation.json")).unwrap();
    assert_eq!(v["commit"].as_str().unwrap(), theirs);
    // No push to the branch, and the body keeps the human's words.
    let pr = f.pr();
    assert!(pr.body.starts_with(human_text), "{}", pr.body);
    assert_eq!(pr.head_sha, theirs);
    assert_eq!(f.fake().prs().len(), 1);
    f.assert_no_token();
}

#[test]
fn a_pull_request_closed_on_the_forge_closes_the_proposal() {
    let (f, _) = Flow::proposed(Some(Kind::Github), true);
    f.fake().close(1);
    let r = f.cycle(3);
    assert!(
        lifecycle_lines(&r).contains("was closed on the forge; the proposal is closed"),
        "{r:#}"
    );
    assert_eq!(f.env.status_of("P-0001"), "closed");
    assert!(
        f.fake().pr(1).comments.is_empty(),
        "nothing said to a closed one"
    );
    f.assert_no_token();
}

#[test]
fn a_forge_that_fails_or_hangs_is_noted_and_retried_next_cycle() {
    let f = Flow::with_timeout(Some(Kind::Github), true, "1s");
    faulty(&f.env, 12, h(1), "a");
    let notes = |r: &Value| r["notes"].to_string();
    // A 5xx: the cycle finishes, says so, and asks nothing more of the forge.
    f.fake().fault(Fault::Status(503));
    let r = f.cycle(2);
    assert!(
        notes(&r).contains("HTTP 503") && notes(&r).contains("retry later"),
        "{r:#}"
    );
    assert_eq!(f.fake().requests().len(), 1, "no retry storm");
    assert!(f.fake().prs().is_empty());
    assert_eq!(
        f.env.status_of("P-0001"),
        "awaiting_approval",
        "the cycle went on"
    );
    // Rate limited for an hour.
    f.fake().fault(Fault::RateLimited { retry_after: 3600 });
    let r = f.cycle(3);
    assert!(notes(&r).contains("retry later (at 20"), "{r:#}");
    assert!(f.fake().prs().is_empty());
    // A forge that does not answer: the request times out.
    f.fake().fault(Fault::Hang(Duration::from_secs(4)));
    let started = std::time::Instant::now();
    let r = f.cycle(4);
    assert!(notes(&r).contains("retry later"), "{r:#}");
    assert!(started.elapsed() < Duration::from_secs(60));
    let record: Value =
        serde_json::from_str(&f.env.cycle_record(r["cycle"].as_str().unwrap()).unwrap()).unwrap();
    assert!(
        record["notes"].to_string().contains("retry later"),
        "{record:#}"
    );
    // The next cycle catches up: one pull request, current.
    let r = f.cycle(5);
    assert!(
        lifecycle_lines(&r).contains("pull request #1 opened"),
        "{r:#}"
    );
    let pr = f.pr();
    assert!(
        pr.labels.iter().any(|l| l == "tier:approve"),
        "{:?}",
        pr.labels
    );
    assert!(!pr.draft);
    f.assert_no_token();
}

#[test]
fn a_missing_token_is_a_note_and_the_cycle_goes_on_without_the_forge() {
    let f = Flow::new(Some(Kind::Gitea), true);
    faulty(&f.env, 12, h(1), "a");
    let out = f
        .env
        .improve(&at(2))
        .args(["cycle", "--json", "--push", "origin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes = r["notes"].to_string();
    assert!(
        notes.contains(TOKEN_ENV) && notes.contains("not set"),
        "{r:#}"
    );
    assert!(f.fake().requests().is_empty());
    assert_eq!(f.env.status_of("P-0001"), "awaiting_approval");
    // With the token, the next cycle opens it.
    let r = f.cycle(3);
    assert!(
        lifecycle_lines(&r).contains("pull request #1 opened"),
        "{r:#}"
    );
    f.assert_no_token();
}

#[test]
fn an_upstream_ahead_is_fast_forwarded_before_the_deploy_and_the_deploy_pushed() {
    let f = Flow::new(None, false);
    f.forge_commit_on_main("NOTES.md");
    let theirs = f.origin_rev("main");
    faulty(&f.env, 12, h(1), "a");
    let r = f.cycle(2);
    let lc = lifecycle_lines(&r);
    assert!(lc.contains("main fast-forwarded to origin/main"), "{r:#}");
    assert!(lc.contains("D-0001: deployed P-0001"), "{r:#}");
    assert_eq!(
        f.env.rev("main~1"),
        theirs,
        "deployed on top of the upstream"
    );
    assert_eq!(f.origin_rev("main"), f.env.rev("main"), "and pushed");
    assert!(f.env.path("NOTES.md").exists());
    let status = f.env.git(&["status", "-sb"]);
    assert!(
        !status.contains("ahead") && !status.contains("behind"),
        "{status}"
    );
    f.assert_no_token();
}

#[test]
fn a_diverged_upstream_refuses_the_deploy_and_exits_1_naming_both_commits() {
    let f = Flow::new(None, false);
    f.forge_commit_on_main("NOTES.md");
    let theirs = f.origin_rev("main");
    // A commit on the server's checkout that origin does not have.
    f.env.write("LOCAL.md", "local\n");
    f.env.git(&["add", "LOCAL.md"]);
    f.env.git(&["commit", "-qm", "a local change"]);
    let ours = f.env.rev("main");
    faulty(&f.env, 12, h(1), "a");
    let out = f.run(2);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&ours[..12]) && stderr.contains(&theirs[..12]),
        "{stderr}"
    );
    assert!(stderr.contains("diverged"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(lifecycle_lines(&r).contains("deploy refused"), "{r:#}");
    assert_eq!(f.env.rev("main"), ours, "nothing deployed");
    assert_eq!(f.origin_rev("main"), theirs, "nothing forced");
    assert!(f.env.audit_log().contains("\"refused\""));
    f.assert_no_token();
}

#[test]
fn a_push_the_remote_refuses_is_an_error_not_a_note() {
    let f = Flow::new(None, false);
    let hook = f.origin.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'protected branch' >&2\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    faulty(&f.env, 12, h(1), "a");
    let out = f.run(2);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused") && stderr.contains("origin"),
        "{stderr}"
    );
    // Everything else is on record; the next cycle retries the push.
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(lifecycle_lines(&r).contains("D-0001: deployed"), "{r:#}");
    std::fs::remove_file(&hook).unwrap();
    f.cycle(3);
    assert_eq!(f.origin_rev("main"), f.env.rev("main"));
    assert_eq!(
        f.origin_rev("improve/records"),
        f.env.rev("improve/records")
    );
    f.assert_no_token();
}
