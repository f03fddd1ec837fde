//! What a production host does to a cron job (issue 12): clocks that step back, a
//! records branch deleted under a remembering anchor, linked worktrees, symlinks.
//! Each case drives the binary against a real temporary repository.

use crate::support::*;

fn anchor_path(env: &Env) -> std::path::PathBuf {
    env.path(".git/improve/anchor.json")
}

fn audit_lines(env: &Env) -> usize {
    let files = env.git(&["ls-tree", "-r", "--name-only", "improve/records", "audit/"]);
    files.lines().map(|f| env.record(f).lines().count()).sum()
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
    crate::reliability::summary(
        "clock",
        "clock steps back: 2 tried, 0 called tampering, 0 deploys blocked (a warning each)",
    );
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
