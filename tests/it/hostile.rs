//! The host's hostile cases in numbers (issue 12): runaway children, foreign locks,
//! worktrees and humans mid-operation, hostile log text. Each case is tried against
//! the real thing and counted for the suite's closing summary.

use crate::reliability::summary;
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
            "runaway children: {} tried, 0 survived their command, none kept the caller waiting",
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
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=no"]),
        "",
        "{what}: tree dirty"
    );
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
    summary(
        "locks",
        &format!(
            "foreign locks: {} tried, 0 lost (refused naming the lock, nothing written)",
            locks.len()
        ),
    );
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
    summary(
        "worktrees",
        &format!(
            "worktrees and humans mid-operation: {} tried, 0 branches moved under them",
            cases.len()
        ),
    );
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
            "hostile log text: {} tried, 0 reached a terminal, title or commit trailer raw",
            hostile.len()
        ),
    );
}
