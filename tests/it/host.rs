//! What a production host does to a cron job (issue 12): clocks that step back, a
//! records branch deleted under a remembering anchor, linked worktrees, symlinks.
//! Each case drives the binary against a real temporary repository.

use crate::support::*;

fn anchor_path(env: &Env) -> std::path::PathBuf {
    env.path(".git/improve/anchor.json")
}

fn audit_lines(env: &Env) -> usize {
    let files = env.git(&["ls-tree", "--name-only", "improve/records", "audit/"]);
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
        serde_json::from_str(env.record("audit/2026-01.jsonl").lines().next().unwrap()).unwrap();
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
