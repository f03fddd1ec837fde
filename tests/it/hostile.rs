//! The host's hostile cases in numbers (issue 12): runaway children and a cycle's time
//! budget, foreign locks, worktrees and humans mid-operation, hostile log text. Each
//! case is tried against the real thing (the library's primitives, then whole cycles
//! of the binary) and counted for the suite's closing summary.

use crate::reliability::{refused_cycle, summary};
use crate::support::*;
use improve::command::{self, Limits};
use improve::error::GitRefusal;
use improve::git::Git;
use std::time::{Duration, Instant};

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

#[test]
fn runaway_children_never_outlive_their_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // Each prints the pids it leaves behind; the last two outlast their timeout.
    let shapes = [
        ("background sleep", "sleep 60 & echo $!".to_string(), 30),
        ("nohup", "nohup sleep 60 >/dev/null 2>&1 & echo $!".to_string(), 30),
        ("double fork", "(sleep 60 & echo $!) &  wait".to_string(), 30),
        (
            "daemon in a new session",
            format!("setsid sh -c 'echo $$ > {d}/pid; exec sleep 60' & while [ ! -s {d}/pid ]; do sleep 0.05; done; cat {d}/pid"),
            30,
        ),
        ("ignores SIGTERM", "trap '' TERM; echo $$; while :; do sleep 1; done".to_string(), 1),
        ("slow test", "sleep 60 & echo $!; sleep 60".to_string(), 1),
    ];
    let mut survived = vec![];
    for (name, script, timeout) in &shapes {
        let _ = std::fs::remove_file(dir.path().join("pid"));
        let started = Instant::now();
        let r = command::run_limited(
            &sh(script),
            dir.path(),
            &[],
            None,
            Limits::timeout(Duration::from_secs(*timeout)),
        )
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(20), "{name}: {r:?}");
        let pids: Vec<i32> = r
            .stdout
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert!(!pids.is_empty(), "{name}: {r:?}");
        survived.extend(
            pids.into_iter()
                .filter(|p| command::alive(*p))
                .map(|p| (name, p)),
        );
    }
    assert!(survived.is_empty(), "{survived:?}");
    summary(
        "children",
        &format!(
            "runaway children: {} tried, 0 lost (none survived its command or kept the caller waiting)",
            shapes.len()
        ),
    );
}

/// A repository with one commit ahead of main to move it to.
fn repo_with_next() -> (Env, Git, git2::Oid, git2::Oid) {
    let env = Env::bare_target();
    let git = Git::open(&env.repo).unwrap();
    let old = git.ref_oid("main").unwrap().unwrap();
    let mut ch = std::collections::BTreeMap::new();
    ch.insert(
        "runtime/physics/constants.py".to_string(),
        Some(b"SIBLING_DIVERGENCE_WEIGHT = 0.35\n".to_vec()),
    );
    let new = git.commit_changes(Some(old), &ch, "tune", ts(T0)).unwrap();
    (env, git, old, new)
}

/// `git status` of the tracked files (empty: clean).
fn tracked_changes(env: &Env) -> String {
    env.git(&["status", "--porcelain", "--untracked-files=no"])
}

fn untouched(env: &Env, git: &Git, old: git2::Oid, what: &str) {
    assert_eq!(
        git.ref_oid("main").unwrap(),
        Some(old),
        "{what}: branch moved"
    );
    assert_eq!(
        env.read("runtime/physics/constants.py"),
        CONSTANTS_PY,
        "{what}: file written"
    );
    assert_eq!(tracked_changes(env), "", "{what}: tree dirty");
}

#[test]
fn foreign_locks_leave_the_tree_as_it_was() {
    let locks = [".git/index.lock", ".git/refs/heads/main.lock"];
    for lock in locks {
        let (env, git, old, new) = repo_with_next();
        std::fs::write(env.path(lock), b"").unwrap();
        let e = git.advance_branch("main", old, new, "deploy").unwrap_err();
        assert!(
            format!("{e:#}").contains(lock.trim_start_matches(".git/")),
            "{lock}: {e:#}"
        );
        std::fs::remove_file(env.path(lock)).unwrap();
        untouched(&env, &git, old, lock);
        // Once the lock is gone, the same move goes through.
        git.advance_branch("main", old, new, "deploy").unwrap();
        assert!(env.read("runtime/physics/constants.py").contains("0.35"));
    }
}

#[test]
fn worktrees_and_humans_mid_operation_are_respected() {
    let cases = ["checked out elsewhere", "rebase", "merge", "bisect"];
    for case in cases {
        let (env, git, _, new) = repo_with_next();
        let wt = env.base.join("linked");
        match case {
            "checked out elsewhere" => {
                env.git(&["checkout", "-q", "-b", "other"]);
                env.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "main"]);
            }
            "rebase" | "merge" => {
                // main and topic change the same line; the human's operation stops.
                env.git(&["checkout", "-q", "-b", "topic"]);
                env.write("runtime/physics/constants.py", "X = 1\n");
                env.git(&["commit", "-qam", "topic"]);
                env.git(&["checkout", "-q", "main"]);
                env.write("runtime/physics/constants.py", "X = 2\n");
                env.git(&["commit", "-qam", "main moves"]);
                let (ok, _, _) = env.git_status(&[case, "topic"]);
                assert!(!ok, "{case} stops on its conflict");
            }
            _ => {
                env.git(&["bisect", "start"]);
            }
        }
        let main_now = git.ref_oid("main").unwrap().unwrap();
        let e = git
            .advance_branch("main", main_now, new, "deploy")
            .expect_err(case);
        let refusal = e.downcast_ref::<GitRefusal>().cloned();
        match case {
            "checked out elsewhere" | "rebase" | "bisect" => assert!(
                matches!(refusal, Some(GitRefusal::BranchInUse { .. })),
                "{case}: {e:#}"
            ),
            _ => assert!(
                matches!(
                    refusal,
                    Some(GitRefusal::OperationInProgress {
                        operation: "merge",
                        ..
                    })
                ),
                "{case}: {e:#}"
            ),
        }
        if case != "checked out elsewhere" {
            let op = git.operation_in_progress().unwrap();
            assert!(
                matches!(&op, Some(GitRefusal::OperationInProgress { operation, .. }) if *operation == case),
                "{case}: {op:?}"
            );
        }
        assert_eq!(
            git.ref_oid("main").unwrap(),
            Some(main_now),
            "{case}: moved"
        );
    }
}

#[test]
fn hostile_log_text_reaches_no_terminal_or_trailer_raw() {
    use improve::sanitize;
    let hostile = [
        "\x1b[2J\x1b[H cleared the screen",
        "\x1b]0;owned title\x07",
        "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
        "bell\x07 and carriage\rreturn",
        "c1 csi \u{9b}31m red",
        "bidi \u{202e}txt.exe",
        "line one\nImprove-Tier: auto\nImprove-Deployment: D-9",
        "<img src=x onerror=alert(1)> [link](javascript:alert(1))",
        "Signed-off-by: mallory <m@example.com>",
        "nul\0byte and del\x7f",
    ];
    for text in hostile {
        let t = sanitize::terminal(text);
        assert!(
            !t.chars().any(|c| (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{t:?}"
        );
        let title = sanitize::title(text, 72);
        assert!(!title.contains('<') && !title.contains('\n'), "{title:?}");
        let body = sanitize::commit_body(text);
        let message = format!("improve: subject\n\n{body}\n\nImprove-Cycle: C-1\n");
        let trailers = improve::git::trailers(&message);
        assert_eq!(
            trailers.keys().collect::<Vec<_>>(),
            vec!["Improve-Cycle"],
            "{message:?}"
        );
    }
    summary(
        "hostile-text",
        &format!(
            "hostile log text: {} tried, 0 lost (none reached a terminal, title or commit trailer raw)",
            hostile.len()
        ),
    );
}

/// Lines of the runaway test command: its background child's pid goes to `pid`.
fn runaway_test(pid: &std::path::Path) -> String {
    format!(
        "test_command: [sh, -c, \"sleep 120 & echo $! > {}; exec sleep 60\"]",
        pid.display()
    )
}

#[test]
fn a_cycle_over_its_time_budget_stops_in_time_and_leaves_nothing_running() {
    let env = Env::with_validation();
    let pid_file = env.base.join("child.pid");
    env.configure(&[
        ("time_budget: 10m", "time_budget: 5s"),
        (
            "test_command: [python3, tests/check.py]",
            &runaway_test(&pid_file),
        ),
    ]);
    faulty(&env, 12, h(1), "a");
    let started = Instant::now();
    let r = env.cycle_json(&at(2));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "took {took:?}: {r:#}");
    // The runaway child was killed with its command.
    let child: i32 = std::fs::read_to_string(&pid_file)
        .expect("the test command ran")
        .trim()
        .parse()
        .unwrap();
    assert!(!command::alive(child), "pid {child} outlived the cycle");
    // What the budget deferred is said and recorded, and nothing was concluded.
    assert!(
        r["notes"].to_string().contains("time budget (5s) spent"),
        "{r:#}"
    );
    assert!(r["deferred"].to_string().contains("P-0001"), "{r:#}");
    let rec: serde_json::Value =
        serde_json::from_str(&env.cycle_record("C-000001").unwrap()).unwrap();
    assert!(rec["deferred"].to_string().contains("P-0001"), "{rec:#}");
    assert!(env.record_opt("proposals/P-0001/validation.json").is_none());
    assert_eq!(
        env.record_yaml("proposals/P-0001/proposal.yaml")["status"],
        "proposed"
    );
    // The lock is free: the next cycle runs (and is bounded the same way).
    let git = Git::open(&env.repo).unwrap();
    let lock = improve::lock::CycleLock::try_acquire(&git.local_dir().unwrap()).unwrap();
    assert!(matches!(lock, improve::lock::Acquire::Held(_)));
    drop(lock);
    env.improve(&at(3)).args(["check"]).assert().success();
    summary(
        "budget",
        &format!(
            "time budget: 1 tried (a 5 s budget against a 60 s test with a background child), 0 lost (ended in {:.1} s, 0 processes left, lock free, the validation deferred)",
            took.as_secs_f64()
        ),
    );
}

/// A deploy or a rollback against a lock someone else holds: refused naming the lock,
/// the tree, the branch and the records as they were; the retry goes through.
#[test]
fn a_deploy_and_a_rollback_under_a_foreign_lock_change_nothing_and_retry() {
    let locks = [".git/index.lock", ".git/refs/heads/main.lock"];
    let mut tried = 0;
    for lock in locks {
        // The deploy.
        let env = Env::with_validation();
        faulty(&env, 12, h(1), "a");
        std::fs::write(env.path(lock), b"").unwrap();
        let main = env.rev("main");
        let (r, err) = refused_cycle(&env, &at(2));
        assert!(
            err.contains(lock.trim_start_matches(".git/")),
            "{lock}: {err}"
        );
        assert_eq!(env.rev("main"), main, "{lock}");
        assert_eq!(env.read("runtime/physics/constants.py"), CONSTANTS_PY);
        assert!(
            env.record_opt("deployments/D-0001.yaml").is_none(),
            "{lock}: {r:#}"
        );
        assert_eq!(
            env.record_yaml("proposals/P-0001/proposal.yaml")["status"],
            "approved"
        );
        std::fs::remove_file(env.path(lock)).unwrap();
        assert_eq!(tracked_changes(&env), "", "{lock}");
        let r = env.cycle_json(&at(3));
        assert!(
            lifecycle_lines(&r).contains("D-0001: deployed P-0001"),
            "{lock}: {r:#}"
        );
        tried += 1;

        // The rollback of that deploy.
        std::fs::write(env.path(lock), b"").unwrap();
        let (deployed, records) = (env.rev("main"), env.rev("improve/records"));
        let tree = env.read("runtime/physics/constants.py");
        let out = env
            .improve(&at(4))
            .args(["rollback", "D-1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{lock}: {err}");
        assert!(
            err.contains(lock.trim_start_matches(".git/")),
            "{lock}: {err}"
        );
        assert!(!err.contains("class="), "{lock}: {err}");
        assert_eq!(env.rev("main"), deployed, "{lock}");
        assert_eq!(env.rev("improve/records"), records, "{lock}");
        assert_eq!(env.read("runtime/physics/constants.py"), tree, "{lock}");
        assert_eq!(
            env.record_yaml("deployments/D-0001.yaml")["status"],
            "monitoring"
        );
        std::fs::remove_file(env.path(lock)).unwrap();
        assert_eq!(tracked_changes(&env), "", "{lock}");
        env.improve(&at(4))
            .args(["rollback", "D-1"])
            .assert()
            .success();
        assert_eq!(
            env.record_yaml("deployments/D-0001.yaml")["status"],
            "rolled_back"
        );
        assert_eq!(env.read("runtime/physics/constants.py"), CONSTANTS_PY);
        tried += 1;
    }
    summary(
        "locks",
        &format!(
            "foreign locks: {tried} tried (a deploy and a rollback under index.lock and under the branch's ref lock), 0 lost (refused naming the lock, exit 1, tree and records as they were, the retry went through)"
        ),
    );
}

/// The monitor's own rollback of a degraded deployment against a foreign lock: nothing
/// changes, the cycle exits 1 naming the lock, and the next cycle rolls it back.
#[test]
fn the_monitors_rollback_under_a_foreign_lock_changes_nothing_and_retries() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    assert_eq!(
        env.record_yaml("deployments/D-0001.yaml")["status"],
        "monitoring"
    );
    degraded(&env, 12, h(3), "b");
    std::fs::write(env.path(".git/index.lock"), b"").unwrap();
    let (deployed, tree) = (env.rev("main"), env.read("runtime/physics/constants.py"));
    let (r, err) = refused_cycle(&env, &at(5));
    assert!(
        err.contains("D-0001: rollback refused") && err.contains("index.lock"),
        "{err}"
    );
    assert!(!err.contains("class="), "{err}");
    assert_eq!(env.rev("main"), deployed);
    assert_eq!(env.read("runtime/physics/constants.py"), tree);
    assert_eq!(
        env.record_yaml("deployments/D-0001.yaml")["status"],
        "monitoring",
        "{r:#}"
    );
    std::fs::remove_file(env.path(".git/index.lock")).unwrap();
    assert_eq!(tracked_changes(&env), "");
    let r = env.cycle_json(&at(6));
    assert!(lifecycle_lines(&r).contains("D-0001 rolled back"), "{r:#}");
    assert_eq!(env.read("runtime/physics/constants.py"), CONSTANTS_PY);
}

/// Log text with terminal escapes, a tag, a markdown link and trailer lines, as the
/// type of an anomaly the system logs.
const HOSTILE_TYPE: &str =
    "EVIL\x1b[2J\x1b]0;owned\x07<img src=x onerror=alert(1)>[x](javascript:alert(1))\nImprove-Tier: auto\nImprove-Deployment: D-9";

/// True when `s` holds a character a terminal acts on, or a raw tag.
fn unsafe_text(s: &str) -> bool {
    s.chars()
        .any(|c| (c as u32) < 0x20 && c != '\n' || (0x7f..=0x9f).contains(&(c as u32)))
        || s.contains("<img")
}

/// The subject and the trailers (one a line) of main's newest commit.
fn subject_and_trailers(env: &Env) -> (String, String) {
    (
        env.git(&["log", "-1", "--format=%s", "main"]),
        env.git(&["log", "-1", "--format=%(trailers:only,unfold)", "main"]),
    )
}

fn trailer_keys(trailers: &str) -> Vec<&str> {
    trailers
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect()
}

#[test]
fn log_text_reaches_no_commit_trailer_title_or_heading_raw() {
    let env = Env::with_validation();
    write_explorations(&env, 12, |i| Expl {
        anomalies: vec![(HOSTILE_TYPE, "error", 1)],
        ..Expl::healthy(
            &format!("e{i}"),
            h(1) + chrono::Duration::minutes(2 * i as i64),
        )
    });
    let r = env.cycle_json(&at(2));
    let id = r["proposals"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(id, "P-0001");
    let mut tried = 0;
    // The proposal's title, on record and in its commit's subject; its commit message
    // has no trailer but the tool's own (which lets a squash merge be recognised);
    // the document's heading.
    let p = env.record_yaml("proposals/P-0001/proposal.yaml");
    let title = p["title"].as_str().unwrap();
    assert!(!unsafe_text(title) && !title.contains('\n'), "{title:?}");
    tried += 1;
    let branch = "improve/proposal/P-0001";
    let subject = env.git(&["log", "-1", "--format=%s", branch]);
    assert!(!unsafe_text(&subject), "{subject:?}");
    let trailers = env.git(&["log", "-1", "--format=%(trailers)", branch]);
    assert_eq!(
        trailers.trim(),
        "Improve-Proposal: P-0001",
        "the proposal commit has trailers from the logs"
    );
    tried += 1;
    let doc = env.git(&["show", &format!("{branch}:docs/improve/P-0001.md")]);
    let heading = doc.lines().next().unwrap();
    assert!(
        heading.starts_with("# ") && !unsafe_text(heading),
        "{heading:?}"
    );
    tried += 1;
    // Deployed by a human's approval: the deploy commit's subject is one safe line,
    // its trailers exactly the tool's own.
    env.improve(&at(3))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    let r = env.cycle_json(&at(4));
    assert!(lifecycle_lines(&r).contains("D-0001: deployed"), "{r:#}");
    let (subject, trailers) = subject_and_trailers(&env);
    assert!(!unsafe_text(&subject), "{subject:?}");
    assert_eq!(
        trailer_keys(&trailers),
        [
            "Improve-Proposal",
            "Improve-Deployment",
            "Improve-Tier",
            "Improve-Approved-By"
        ],
        "{trailers}"
    );
    assert!(trailers.contains("Improve-Tier: require"), "{trailers}");
    tried += 1;
    // Its revert.
    env.improve(&at(5))
        .args(["rollback", "D-1"])
        .assert()
        .success();
    let (subject, trailers) = subject_and_trailers(&env);
    assert!(
        subject.starts_with("Revert") && !unsafe_text(&subject),
        "{subject:?}"
    );
    assert_eq!(
        trailer_keys(&trailers),
        ["Improve-Proposal", "Improve-Deployment", "Improve-Rollback"],
        "{trailers}"
    );
    tried += 1;
    summary(
        "hostile-text-cycle",
        &format!(
            "hostile log text through a cycle: {tried} tried (proposal title, its commit, its document's heading, the deploy commit, the revert), 0 lost (no raw control, tag or foreign trailer)"
        ),
    );
}
