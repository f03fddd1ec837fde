//! What a production host does to a cron job (issue 12): clocks that step back, a
//! records branch deleted under a remembering anchor, logs that are gone, linked
//! worktrees and humans mid-operation, a shallow clone, symlinks, a human deciding
//! while a cycle runs. Each case drives the binary against a real temporary
//! repository.

use crate::reliability::{refused_cycle, summary};
use crate::support::*;

fn anchor_path(env: &Env) -> std::path::PathBuf {
    env.path(".git/improve/anchor.json")
}

fn audit_lines(env: &Env) -> usize {
    env.audit_log().lines().count()
}

#[test]
fn a_clock_that_steps_back_is_warned_about_never_called_tampering() {
    let env = Env::new();
    faulty(&env, 6, h(1), "a");
    env.cycle_json(&at(3));
    // NTP steps the clock back one second, then an hour.
    env.cycle_json("2026-01-05T02:59:59Z");
    env.cycle_json("2026-01-05T01:59:59Z");
    env.improve(&at(3))
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicates::str::contains("warning"))
        .stdout(predicates::str::contains("earlier than entry"));
    let r = env.cycle_json(&at(4));
    assert!(
        !r["notes"].to_string().contains("failed verification"),
        "{r:#}"
    );
    env.improve(&at(4)).args(["check"]).assert().success();
}

#[test]
fn deleting_the_records_branch_fails_verification_and_init_keeps_the_chain() {
    let env = Env::new();
    faulty(&env, 6, h(1), "a");
    env.cycle_json(&at(2));
    let entries = audit_lines(&env);
    assert!(entries > 1);
    env.git(&["branch", "-D", "improve/records"]);
    env.improve(&at(3))
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(format!(
            "remembers {entries} entries"
        )))
        .stdout(predicates::str::contains("is gone"));
    let before = std::fs::read(anchor_path(&env)).unwrap();
    env.improve(&at(3))
        .args(["init"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--new-chain"));
    assert!(env.rev_opt("improve/records").is_none(), "no chain started");
    assert_eq!(std::fs::read(anchor_path(&env)).unwrap(), before);
    // Told explicitly, it starts a new chain whose first entry records the reset.
    env.improve(&at(3))
        .args(["init", "--new-chain"])
        .assert()
        .success();
    let first: serde_json::Value =
        serde_json::from_str(env.record("audit/2026-01/05.jsonl").lines().next().unwrap()).unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(
        first["detail"]["new_chain"]["previous_entries"], entries as u64,
        "{first:#}"
    );
    env.improve(&at(3))
        .args(["audit", "verify"])
        .assert()
        .success();
    let retired = std::fs::read_dir(env.path(".git/improve"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("anchor.retired")
        });
    assert!(retired, "the old anchor is kept for the humans");
}

#[test]
fn a_corrupt_anchor_is_an_error_and_is_not_overwritten() {
    let env = Env::new();
    faulty(&env, 6, h(1), "a");
    env.cycle_json(&at(2));
    std::fs::write(anchor_path(&env), b"{\"tip\": \"garbage").unwrap();
    env.improve(&at(3))
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("anchor.json"));
    let r = env.cycle_json(&at(3));
    assert!(
        r["notes"].to_string().contains("failed verification"),
        "{r:#}"
    );
    assert_eq!(
        std::fs::read(anchor_path(&env)).unwrap(),
        b"{\"tip\": \"garbage",
        "the corrupt anchor is left for a human to inspect"
    );
    env.improve(&at(4))
        .args(["audit", "verify"])
        .assert()
        .code(1);
}

#[test]
fn a_rewritten_records_branch_stays_reported_after_later_cycles() {
    let env = Env::new();
    faulty(&env, 6, h(1), "a");
    env.cycle_json(&at(2));
    env.cycle_json(&at(3));
    env.git(&[
        "update-ref",
        "refs/heads/improve/records",
        "improve/records~1",
    ]);
    env.cycle_json(&at(4));
    env.improve(&at(5))
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("rewritten"));
}

/// A small tmpfs, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// None where this process may not mount (not root, no CAP_SYS_ADMIN).
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Proc::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?
            .status
            .success();
        ok.then_some(Tmpfs { dir })
    }

    /// Fills the filesystem so that about `kib` KiB stay free.
    fn fill_leaving(&self, kib: u64) {
        let fill = self.dir.path().join("fill");
        let _ = std::fs::remove_file(&fill);
        let out = Proc::new("df")
            .args(["--output=avail", "-k"])
            .arg(self.dir.path())
            .output()
            .unwrap();
        let avail: u64 = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let bytes = avail.saturating_sub(kib) * 1024;
        let f = std::fs::File::create(&fill).unwrap();
        use std::io::Write;
        let mut w = std::io::BufWriter::new(f);
        let chunk = vec![0u8; 4096];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(4096) as usize;
            if w.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n as u64;
        }
        let _ = w.flush();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Proc::new("umount").arg(self.dir.path()).status();
    }
}

use std::process::Command as Proc;

#[test]
fn a_full_disk_is_named_never_no_error() {
    let Some(fs) = Tmpfs::mount("4m") else {
        eprintln!("cannot mount a tmpfs here (needs root): the full-disk case is not exercised");
        return;
    };
    let repo = fs.dir.path().join("system");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let mut c = Proc::new("git");
        c.arg("-C").arg(&repo).args(args);
        pinned_env(&mut c, T0);
        assert!(c.status().unwrap().success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(repo.join(".gitignore"), "logs/\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "initial"]);
    let improve = |now: &str| {
        let mut c = assert_cmd::Command::cargo_bin("improve").unwrap();
        c.current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("RUST_LOG")
            .args(["--now", now]);
        c
    };
    improve(T0).arg("init").assert().success();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "config"]);
    let mut tried = 0;
    for (i, kib) in [0u64, 8, 16, 32, 48, 56].into_iter().enumerate() {
        std::fs::create_dir_all(repo.join("logs")).unwrap();
        let _ = std::fs::write(repo.join("logs/x.jsonl"), format!("{{\"i\": {i}}}\n"));
        fs.fill_leaving(kib);
        let out = improve(&at(i as i64 + 1)).arg("cycle").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            continue;
        }
        tried += 1;
        assert!(!err.contains("no error"), "{kib} KiB free: {err}");
        assert!(!err.contains("moved meanwhile"), "{kib} KiB free: {err}");
        assert!(
            err.contains("free some space") || err.contains("KiB free"),
            "{kib} KiB free: {err}"
        );
    }
    assert!(tried > 0, "no cycle ran out of space");
    let _ = std::fs::remove_file(fs.dir.path().join("fill"));
}

#[test]
fn a_cycle_lock_taken_from_a_linked_worktree_holds_for_the_main_one() {
    let env = Env::new();
    faulty(&env, 6, h(1), "a");
    let wt = env.base.join("linked");
    env.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    let linked = improve::git::Git::open(&wt).unwrap();
    let held = improve::lock::CycleLock::try_acquire(&linked.local_dir().unwrap()).unwrap();
    assert!(matches!(held, improve::lock::Acquire::Held(_)));
    env.improve(&at(2))
        .args(["cycle"])
        .assert()
        .code(75)
        .stderr(predicates::str::contains("another cycle is running"));
    drop(held);
    env.cycle_json(&at(2));
}

#[test]
fn demo_simulate_never_writes_through_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let victim = outside.join("passwd");
    std::fs::write(&victim, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let mut refused = 0;
    let cases = ["log file", "log directory", "logs directory"];
    for (i, case) in cases.iter().enumerate() {
        let repo = tmp.path().join(format!("demo{i}"));
        improve::demo::create_target(&repo, ts(T0)).unwrap();
        let (link, target) = match *case {
            "log file" => (repo.join("logs/health/health.csv"), victim.clone()),
            "log directory" => (repo.join("logs/traversal"), outside.clone()),
            _ => (repo.join("logs"), outside.clone()),
        };
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let out = assert_cmd::Command::cargo_bin("improve")
            .unwrap()
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .args(["--now", &at(3), "--repo", repo.to_str().unwrap()])
            .args(["demo", "simulate", "--hours", "1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: wrote through the symlink");
        assert!(
            err.contains("symlink") && err.contains(&link.display().to_string()),
            "{case}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "root:x:0:0:root:/root:/bin/sh\n",
            "{case}"
        );
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            1,
            "{case}: {:?}",
            std::fs::read_dir(&outside).unwrap().collect::<Vec<_>>()
        );
        refused += 1;
    }
    crate::reliability::summary(
        "symlinks",
        &format!(
            "symlinked log paths: {refused} of {} refused, 0 written through",
            cases.len()
        ),
    );
}

/// The notes of a cycle's report, as one string.
fn notes(r: &serde_json::Value) -> String {
    r["notes"].to_string()
}

#[test]
fn a_clock_that_steps_back_never_stops_deploys_and_is_noted_once() {
    let steps = [1, 3600];
    for back in steps {
        let env = Env::with_validation();
        good(&env, 12, h(0), "a");
        env.cycle_json(&at(1));
        // NTP, a restored VM or a wrong --now: one cycle before the last entry.
        let stepped = (h(1) - chrono::Duration::seconds(back)).to_rfc3339();
        env.cycle_json(&stepped);
        faulty(&env, 12, h(1), "b");
        let r = env.cycle_json(&at(2));
        // The cycle verifies the entries written since its last verification: the
        // step is noted there, as a warning, and deploys go on.
        assert!(
            notes(&r).contains("audit warning (deploys go on)")
                && notes(&r).contains("the clock stepped back"),
            "{back}s: {r:#}"
        );
        assert!(
            lifecycle_lines(&r).contains("D-0001: deployed P-0001"),
            "{back}s: {r:#}"
        );
        // Verified once: later cycles do not repeat it.
        good(&env, 12, h(2), "c");
        let r = env.cycle_json(&at(3));
        assert!(!notes(&r).contains("audit warning"), "{back}s: {r:#}");
        let out = env.improve(&at(3)).args(["health"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{back}s: {text}");
        assert!(!text.contains("ERROR"), "{back}s: {text}");
        env.improve(&at(3)).args(["check"]).assert().success();
    }
    summary(
        "clock",
        &format!(
            "clock steps: {} tried (back 1 s, back 1 h), 0 lost (no tamper verdict, deploys go on, health not ERROR)",
            steps.len()
        ),
    );
}

/// `improve health --format json`: (exit code, the M4 indicator's level and detail).
fn m4(env: &Env, now: &str) -> (i32, String, String) {
    let out = env
        .improve(now)
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m4 = h["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "M4")
        .cloned()
        .unwrap_or_else(|| panic!("no M4 in {h:#}"));
    (
        out.status.code().unwrap(),
        m4["level"].as_str().unwrap().to_string(),
        m4["detail"].as_str().unwrap().to_string(),
    )
}

#[test]
fn no_data_is_its_own_outcome_and_a_health_warning() {
    let cases = ["log directory gone", "no glob matches", "never any logs"];
    for case in cases {
        let env = Env::new();
        if case != "never any logs" {
            good(&env, 6, h(0), "a");
            let r = env.cycle_json(&at(1));
            assert!(r["lines_read"].as_u64().unwrap() > 0, "{case}: {r:#}");
            assert_eq!(m4(&env, &at(1)).1, "HEALTHY", "{case}");
        }
        match case {
            "log directory gone" => std::fs::remove_dir_all(env.path("logs")).unwrap(),
            "no glob matches" => env.configure(&[(
                "    - \"logs/traversal/**/*.jsonl\"\n    - \"logs/**/traversal_*.jsonl\"\n",
                "    - \"logs/traversal/**/*.json-lines\"\n",
            )]),
            _ => {}
        }
        let r = env.cycle_json(&at(2));
        assert_eq!(r["outcome"], "no_data", "{case}: {r:#}");
        let why = notes(&r);
        let expected = if case == "no glob matches" {
            "no file matches any sources: glob"
        } else {
            "no log directory exists"
        };
        assert!(why.contains(expected), "{case}: {why}");
        let rec: serde_json::Value =
            serde_json::from_str(&env.cycle_record(r["cycle"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(rec["outcome"], "no_data", "{case}");
        let (code, level, detail) = m4(&env, &at(2));
        assert_eq!((code, level.as_str()), (0, "WARNING"), "{case}: {detail}");
        assert!(detail.contains(expected), "{case}: {detail}");
        // The text report says it too, not "read 0 lines" alone.
        let out = env.improve(&at(3)).args(["cycle"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("no_data") && text.contains(expected),
            "{case}: {text}"
        );
        // Data again: healthy again.
        good(&env, 6, h(3), "b");
        if case == "no glob matches" {
            for i in 0..6 {
                let f = format!("logs/traversal/traversal_gbx{i}.jsonl");
                std::fs::rename(env.path(&f), env.path(&f.replace(".jsonl", ".json-lines")))
                    .unwrap();
            }
        }
        let r = env.cycle_json(&at(4));
        assert_ne!(r["outcome"], "no_data", "{case}: {r:#}");
        assert_eq!(m4(&env, &at(4)).1, "HEALTHY", "{case}");
    }
    summary(
        "nodata",
        &format!(
            "no data: {} tried (log directory gone, no glob matches, never any logs), 0 lost (each cycle said no_data, health WARNING, not HEALTHY)",
            cases.len()
        ),
    );
}

#[test]
fn a_shallow_clone_is_refused_with_the_reason_and_a_failing_exit() {
    let env = Env::with_validation();
    let shallow = env.base.join("shallow");
    let mut c = std::process::Command::new("git");
    c.args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", env.repo.display()))
        .arg(&shallow);
    pinned_env(&mut c, T0);
    assert!(c.status().unwrap().success());
    let improve = |now: &str| {
        let mut c = improve_at(now);
        c.current_dir(&shallow);
        c
    };
    improve(&at(1)).arg("init").assert().success();
    write_explorations_in(&shallow, 12);
    let main = git_in(&shallow, &["rev-parse", "main"]);
    let out = improve(&at(2)).args(["cycle", "--json"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is a shallow clone") && err.contains("fetch --unshallow"),
        "{err}"
    );
    assert!(!err.contains("single ordinary commit"), "{err}");
    assert_eq!(git_in(&shallow, &["rev-parse", "main"]), main);
}

fn git_in(dir: &std::path::Path, args: &[&str]) -> String {
    let mut c = std::process::Command::new("git");
    c.arg("-C").arg(dir).args(args);
    pinned_env(&mut c, T0);
    let o = c.output().unwrap();
    assert!(o.status.success(), "git {args:?}");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The divergence fault's logs under `dir`/logs/traversal.
fn write_explorations_in(dir: &std::path::Path, n: usize) {
    for i in 0..n {
        let e = Expl {
            divergence: 0.3,
            found: 1,
            satisfaction: 0.4,
            anomalies: vec![("LOW_SIBLING_DIVERGENCE", "warn", 1)],
            ..Expl::healthy(
                &format!("s{i}"),
                h(1) + chrono::Duration::minutes(2 * i as i64),
            )
        };
        let p = dir.join(format!("logs/traversal/traversal_{}.jsonl", e.id));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, e.jsonl()).unwrap();
    }
}

#[test]
fn approve_and_reject_wait_for_no_cycle_and_record_nothing_while_one_runs() {
    let env = Env::with_validation();
    env.templates("candidates:\n  divergence-physics:\n    - {type: protocol_update, target: {file: protocols/explore.yaml, name: \"steps[0].max_retries\"}, direction: increase, step: 0.5, risk: medium, complexity: 2, metric: efficiency}\n");
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    let git = improve::git::Git::open(&env.repo).unwrap();
    for args in [
        vec!["approve", "P-1", "--by", "alice"],
        vec!["reject", "P-1", "--by", "bob", "--reason", "no"],
    ] {
        let held = improve::lock::CycleLock::try_acquire(&git.local_dir().unwrap()).unwrap();
        assert!(matches!(held, improve::lock::Acquire::Held(_)));
        let records = env.rev("improve/records");
        env.improve(&at(3))
            .args(&args)
            .assert()
            .code(75)
            .stderr(predicates::str::contains("a cycle is running"))
            .stderr(predicates::str::contains("was not recorded"));
        assert_eq!(env.rev("improve/records"), records, "{args:?}");
        drop(held);
    }
    env.improve(&at(3))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    let p = env.record_yaml("proposals/P-0001/proposal.yaml");
    assert_eq!(p["status"], "approved");
}

/// No raw libgit2 message (`...; class=Reference (4); code=Locked (-14)`).
fn no_raw_libgit2(what: &str, text: &str) {
    assert!(
        !text.contains("class=") && !text.contains("; code="),
        "{what}: {text}"
    );
}

/// A human's branch that edits the same line of the skill file as `main` will.
fn conflicting_topic(env: &Env) {
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.write("skills/SKILL_explore.md", "# Skill: explore (topic)\n");
    env.git(&["commit", "-qam", "topic"]);
    env.git(&["checkout", "-q", "main"]);
    env.write("skills/SKILL_explore.md", "# Skill: explore (main)\n");
    env.git(&["commit", "-qam", "main moves"]);
}

#[test]
fn worktrees_and_humans_mid_operation_are_respected_by_a_cycle() {
    use std::process::{Command as Proc, Stdio};
    let mut tried = 0;

    // A cycle in a linked worktree and one in the main worktree never run at once;
    // the linked one never moves main, which the main worktree has checked out.
    let env = Env::with_validation();
    env.configure(&[(
        "test_command: [python3, tests/check.py]",
        "test_command: [sh, -c, \"sleep 3; python3 tests/check.py\"]",
    )]);
    let wt = env.base.join("linked");
    env.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    write_explorations_in(&wt, 12);
    let main = env.rev("main");
    let mut linked = Proc::new(assert_cmd::cargo::cargo_bin("improve"));
    linked
        .current_dir(&wt)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("IMPROVE_CRASH_AT")
        .args(["--now", &at(2), "cycle"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let linked = linked.spawn().unwrap();
    let lock = env.path(".git/improve/cycle.lock");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            t0.elapsed().as_secs() < 20,
            "the linked cycle never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = env.improve(&at(2)).args(["cycle"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains("another cycle is running"), "{err}");
    no_raw_libgit2("main worktree", &err);
    tried += 1;
    let out = linked.wait_with_output().unwrap();
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{err}");
    assert!(
        err.contains("main is checked out in the worktree") && err.contains("git would refuse"),
        "{err}"
    );
    no_raw_libgit2("linked worktree", &format!("{stdout}{err}"));
    assert_eq!(env.rev("main"), main);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    tried += 1;

    // A human's rebase of main, and a human's merge into main, both stopped on a
    // conflict: refused with the operation named; deployed once it is over.
    for (op, start, abort) in [
        ("rebase", vec!["rebase", "topic"], vec!["rebase", "--abort"]),
        ("merge", vec!["merge", "topic"], vec!["merge", "--abort"]),
    ] {
        let env = Env::with_validation();
        conflicting_topic(&env);
        faulty(&env, 12, h(1), "a");
        let main = env.rev("main");
        let (ok, _, _) = env.git_status(&start);
        assert!(!ok, "{op} stops on its conflict");
        let (r, err) = refused_cycle(&env, &at(2));
        let reason = if op == "rebase" {
            "main is being rebased in the worktree"
        } else {
            "a merge is in progress in the worktree"
        };
        assert!(err.contains(reason), "{op}: {err}");
        no_raw_libgit2(op, &format!("{r}{err}"));
        assert_eq!(env.rev("main"), main, "{op}: moved under the human");
        assert!(env.record_opt("deployments/D-0001.yaml").is_none(), "{op}");
        env.git(&abort);
        let r = env.cycle_json(&at(3));
        assert!(
            lifecycle_lines(&r).contains("D-0001: deployed P-0001"),
            "{op}: {r:#}"
        );
        tried += 1;
    }
    summary(
        "worktrees",
        &format!(
            "worktrees and humans mid-operation: {tried} tried (cycles from a linked and the main worktree, the deploy branch checked out elsewhere, a rebase, a merge), 0 lost (never two cycles at once, 0 branches moved, each refused with its reason)"
        ),
    );
}
