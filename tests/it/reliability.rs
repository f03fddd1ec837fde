//! Reliability (issue 6): a cycle killed at every named crash point leaves the
//! repository and the records consistent, and the next cycle finishes the work.
//! Overlapping cycles, confinement and tamper cases are counted and summarised.

use crate::support::*;
use std::process::Command as Proc;

/// Counts for the suite's summary (target/test-summary/NAME.txt).
pub fn summary(name: &str, line: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summary");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.txt")), format!("{line}\n")).unwrap();
}

/// A cycle whose deploy git or the host refused: it finishes its other work, prints
/// its report, names the refusal on stderr and exits 1. Returns (report, stderr).
pub fn refused_cycle(env: &Env, now: &str) -> (serde_json::Value, String) {
    let out = env.improve(now).args(["cycle", "--json"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{err}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("refused"), "{err}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a report");
    assert!(!r["refused"].as_array().unwrap().is_empty(), "{r:#}");
    (r, err)
}

fn crashed_cycle(env: &Env, now: &str, point: &str) -> bool {
    let out = env
        .improve(now)
        .env("IMPROVE_CRASH_AT", point)
        .args(["cycle", "--json"])
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    out.status.signal() == Some(9)
}

/// Everything that must hold after any interruption and one more cycle.
fn consistent(env: &Env, now: &str) {
    env.improve(now)
        .args(["audit", "verify"])
        .assert()
        .success();
    env.improve(now).args(["check"]).assert().success();
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=no"]),
        "",
        "working tree clean"
    );
    // git grep exits 1 when nothing matches: no conflict markers anywhere on main.
    let (found, tree, _) = env.git_status(&["grep", "-c", "<<<<<<<", "main"]);
    assert!(!found, "conflict markers: {tree}");
    // Every open proposal on record has its branch; no branch without a record.
    let recorded = env.git(&["ls-tree", "--name-only", "improve/records", "proposals/"]);
    for b in env.branches("improve/proposal/") {
        let id = b.trim_start_matches("improve/proposal/");
        assert!(recorded.contains(id), "branch {b} without a record");
    }
    // No deployment left half-done, and each recorded deploy commit is on main.
    let deps = env.git(&["ls-tree", "--name-only", "improve/records", "deployments/"]);
    for d in deps.lines().filter(|l| !l.is_empty()) {
        let y: serde_yaml::Value = serde_yaml::from_str(&env.record(d)).unwrap();
        assert_ne!(y["status"], "deploying", "{d} left deploying");
        if let Some(c) = y["deploy_commit"].as_str().filter(|c| !c.is_empty()) {
            let (ok, _, _) = env.git_status(&["merge-base", "--is-ancestor", c, "main"]);
            assert!(ok, "{d}: deploy commit {c} not on main");
        }
    }
    // Every deploy commit on main is recorded.
    for line in env
        .git(&[
            "log",
            "--format=%H %(trailers:key=Improve-Deployment,valueonly,separator=)",
            "main",
        ])
        .lines()
    {
        let mut parts = line.split_whitespace();
        let (Some(_), Some(id)) = (parts.next(), parts.next()) else {
            continue;
        };
        assert!(
            deps.contains(id),
            "deploy commit for {id} on main but not recorded"
        );
    }
}

#[test]
fn killed_at_every_crash_point_nothing_is_lost() {
    let points = [
        "after-lock",
        "after-observe",
        "after-diagnose",
        "records-before-commit",
        "records-after-commit",
        "proposal-before-branch",
        "after-propose",
        "deploy-after-backup-tag",
        "deploy-after-move",
        "deploy-after-commit",
        "deploy-before-record",
        "before-learn",
    ];
    let mut killed = 0;
    for point in points {
        let env = Env::with_validation();
        faulty(&env, 12, h(1), "a");
        assert!(
            crashed_cycle(&env, &at(2), point),
            "the cycle did not reach {point}"
        );
        killed += 1;
        // The next cycle redoes or finishes the work.
        let r = env.cycle_json(&at(3));
        consistent(&env, &at(3));
        // The fix was proposed and deployed exactly once.
        let deploys = env.git(&["log", "--format=%s", "--grep=Improve-Deployment", "main"]);
        assert_eq!(deploys.lines().count(), 1, "{point}: {deploys}\n{r:#}");
        assert_eq!(env.branches("improve/proposal/").len(), 1, "{point}");
    }
    // Reverts interrupted half-way.
    for point in ["revert-after-commit", "revert-before-record"] {
        let env = Env::with_validation();
        faulty(&env, 12, h(1), "a");
        env.cycle_json(&at(2));
        degraded(&env, 12, h(3), "b");
        assert!(
            crashed_cycle(&env, &at(5), point),
            "the cycle did not reach {point}"
        );
        killed += 1;
        env.cycle_json(&at(6));
        consistent(&env, &at(6));
        let y: serde_yaml::Value =
            serde_yaml::from_str(&env.record("deployments/D-0001.yaml")).unwrap();
        assert_eq!(y["status"], "rolled_back", "{point}");
        let reverts = env.git(&["log", "--format=%s", "--grep=This reverts commit", "main"]);
        assert_eq!(reverts.lines().count(), 1, "{point}: exactly one revert");
    }
    // Killed after a verification failed, before the restore: the next cycle verifies
    // again and restores.
    let env = with_verify(VERIFY_FAILS);
    faulty(&env, 12, h(1), "a");
    assert!(crashed_cycle(&env, &at(2), "deploy-before-restore"));
    killed += 1;
    env.cycle_json(&at(3));
    consistent(&env, &at(3));
    assert_eq!(
        env.record_yaml("deployments/D-0001.yaml")["status"],
        "failed"
    );
    summary(
        "crash",
        &format!(
            "crash points: killed at {killed} of {} named points, 0 lost",
            improve::crash::POINTS.len()
        ),
    );
    assert_eq!(
        killed,
        improve::crash::POINTS.len(),
        "every named crash point is exercised"
    );
}

fn message(env: &Env, rev: &str) -> String {
    env.git(&["log", "-1", "--format=%B", rev])
}

const VERIFY_PASSES: &str = "verify_command: [python3, -c, \"import sys; sys.exit(0)\"]";
const VERIFY_FAILS: &str = "verify_command: [python3, -c, \"import sys; sys.exit(3)\"]";

/// A repository whose deploys run the given verification command.
fn with_verify(verify: &str) -> Env {
    let env = Env::with_validation();
    env.configure(&[("verify_command: []", verify)]);
    env
}

/// A deploy killed after its commit landed (before or after verification, before
/// the restore a failed verification calls for) is finished by the next cycle with
/// every step it skipped: it is verified before it is monitored, and restored when
/// verification fails, exactly as an uninterrupted deploy.
#[test]
fn an_interrupted_deploy_is_verified_before_it_is_monitored() {
    let cases = [
        (VERIFY_PASSES, "deploy-after-move"),
        (VERIFY_PASSES, "deploy-after-commit"),
        (VERIFY_PASSES, "deploy-before-record"),
        (VERIFY_FAILS, "deploy-after-move"),
        (VERIFY_FAILS, "deploy-after-commit"),
        (VERIFY_FAILS, "deploy-before-restore"),
        (VERIFY_FAILS, "revert-after-commit"),
    ];
    let mut restored = 0;
    for (verify, point) in cases {
        let passes = verify == VERIFY_PASSES;
        let env = with_verify(verify);
        faulty(&env, 12, h(1), "a");
        let backup = env.rev("main");
        assert!(crashed_cycle(&env, &at(2), point), "did not reach {point}");
        let r = env.cycle_json(&at(3));
        consistent(&env, &at(3));
        let d = env.record_yaml("deployments/D-0001.yaml");
        let what = format!(
            "{point}, verification {}",
            if passes { "passes" } else { "fails" }
        );
        let verified = d["checks"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|c| c.get("verify").is_some())
            .count();
        // Killed after the restore landed, the restore commit is the verdict of the
        // verification that ran: recorded, not run again.
        let restore_landed = point.starts_with("revert-");
        if restore_landed {
            assert!(
                message(&env, "main").contains("verification failed"),
                "{what}"
            );
        } else {
            assert!(verified >= 1, "{what}: never verified\n{d:?}\n{r:#}");
        }
        let deploys = env.git(&[
            "log",
            "--format=%H",
            "--grep=^Improve-Deployment: D-0001",
            "main",
        ]);
        let reverts = env.git(&["log", "--format=%H", "--grep=This reverts commit", "main"]);
        if passes {
            assert_eq!(d["status"], "monitoring", "{what}: {r:#}");
            assert_eq!(reverts, "", "{what}");
        } else {
            assert_eq!(d["status"], "failed", "{what}: {d:?}\n{r:#}");
            assert!(
                d["reason"].as_str().unwrap().contains("verification"),
                "{what}"
            );
            assert_eq!(reverts.lines().count(), 1, "{what}: exactly one restore");
            assert_eq!(
                env.git(&["diff", &backup, "main"]),
                "",
                "{what}: backup state"
            );
            assert_eq!(
                env.record_yaml("proposals/P-0001/proposal.yaml")["status"],
                "failed",
                "{what}"
            );
            restored += 1;
        }
        assert_eq!(
            deploys.lines().count(),
            2 - passes as usize,
            "{what}: {deploys}"
        );
    }
    summary(
        "interrupted",
        &format!(
            "interrupted deploys: {} tried, 0 lost (each verified before it was monitored; {restored} that failed verification restored once)",
            cases.len()
        ),
    );
}

#[test]
fn many_cycles_at_once_exactly_one_runs() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    let bin = assert_cmd::cargo::cargo_bin("improve");
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut c = Proc::new(&bin);
            c.current_dir(&env.repo)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .args(["--now", &at(2), "cycle", "-q"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            c.spawn().unwrap()
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|mut c| c.wait().unwrap().code().unwrap())
        .collect();
    let ran = codes.iter().filter(|c| **c == 0).count();
    let busy = codes.iter().filter(|c| **c == 75).count();
    assert_eq!(ran + busy, 4, "{codes:?}");
    assert!(ran >= 1, "{codes:?}");
    // Queued triggers are consumed by the next cycle; nothing is duplicated.
    env.cycle_json(&at(3));
    consistent(&env, &at(3));
    assert_eq!(env.branches("improve/proposal/").len(), 1);
    summary(
        "overlap",
        &format!(
            "overlap: 4 cycles started at once, {ran} ran, {busy} exited 75 and queued, 0 lost"
        ),
    );
}

#[test]
fn a_stale_lock_from_a_dead_cycle_is_taken_over() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    // A cycle killed while holding the lock.
    assert!(crashed_cycle(&env, &at(2), "after-lock"));
    assert!(env.repo.join(".git/improve/cycle.lock").exists());
    env.cycle_json(&at(3));
    consistent(&env, &at(3));
}

#[test]
fn confinement_refuses_paths_that_leave_allowed_paths() {
    let attempts = [
        "../outside.py",
        "/etc/passwd",
        "runtime/../../outside.py",
        "runtime/link/constants.py",
        ".git/config",
        "README.md",
    ];
    let mut refused = 0;
    for target in attempts {
        let env = Env::with_validation();
        // A symlink that leads out of the repository.
        std::os::unix::fs::symlink("/tmp", env.path("runtime/link")).unwrap();
        env.git(&["add", "-A"]);
        env.git(&["commit", "-qm", "a link"]);
        env.templates(&format!(
            "candidates:\n  divergence-physics:\n    - {{type: constant_tune, target: {{file: \"{target}\", name: SIBLING_DIVERGENCE_WEIGHT}}, direction: increase, step: 1.0, risk: low, complexity: 1, metric: sibling_divergence}}\n"
        ));
        faulty(&env, 12, h(1), "a");
        let r = env.cycle_json(&at(2));
        assert!(
            r["proposals"].as_array().unwrap().is_empty(),
            "{target}: {r:#}"
        );
        let why = r["not_proposed"].to_string();
        assert!(
            why.contains("outside allowed_paths")
                || why.contains("not a plain path")
                || why.contains("symbolic link")
                || why.contains("inside .git"),
            "{target}: {why}"
        );
        assert!(!std::path::Path::new("/tmp/constants.py").exists());
        refused += 1;
    }
    summary(
        "confinement",
        &format!(
            "escape attempts: {refused} of {} refused, 0 lost",
            attempts.len()
        ),
    );
}

#[test]
fn tampering_is_detected_and_blocks_deploys() {
    let mut detected = 0;
    let cases = ["edit", "delete", "reorder", "truncate", "rewrite-branch"];
    for case in cases {
        let env = Env::with_validation();
        env.templates("candidates:\n  divergence-physics:\n    - {type: protocol_update, target: {file: protocols/explore.yaml, name: \"steps[0].max_retries\"}, direction: increase, step: 0.5, risk: medium, complexity: 2, metric: efficiency}\n");
        faulty(&env, 12, h(1), "a");
        env.cycle_json(&at(2));
        env.improve(&at(3))
            .args(["approve", "P-1", "--by", "alice"])
            .assert()
            .success();
        let log = env.record("audit/2026-01/05.jsonl");
        let mut lines: Vec<String> = log.lines().map(str::to_string).collect();
        match case {
            "edit" => lines[2] = lines[2].replacen("\"read\"", "\"skimmed\"", 1),
            "delete" => {
                lines.remove(2);
            }
            "reorder" => lines.swap(2, 3),
            "truncate" => {
                lines.pop();
            }
            _ => {}
        }
        if case == "rewrite-branch" {
            // A non-fast-forward change: the branch moved back one commit.
            env.git(&[
                "update-ref",
                "refs/heads/improve/records",
                "improve/records~1",
            ]);
        } else {
            crate::cycle::rewrite_record(
                &env,
                "audit/2026-01/05.jsonl",
                &(lines.join("\n") + "\n"),
            );
        }
        env.improve(&at(4))
            .args(["audit", "verify"])
            .assert()
            .code(1);
        let main = env.rev("main");
        let r = env.cycle_json(&at(5));
        assert!(
            r["notes"]
                .to_string()
                .contains("audit log failed verification"),
            "{case}: {r:#}"
        );
        if case != "rewrite-branch" {
            assert!(
                lifecycle_lines(&r).contains("refused by invariant V2"),
                "{case}: {r:#}"
            );
        }
        assert_eq!(env.rev("main"), main, "{case}: nothing deployed");
        detected += 1;
    }
    summary(
        "tamper",
        &format!(
            "tamper cases: {detected} of {} detected and deploys refused, 0 lost",
            cases.len()
        ),
    );
}

#[test]
fn a_dirty_working_tree_is_never_touched() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    let edited = env.read("runtime/physics/constants.py") + "# a human is editing\n";
    env.write("runtime/physics/constants.py", &edited);
    let main = env.rev("main");
    let (r, err) = refused_cycle(&env, &at(2));
    assert!(lifecycle_lines(&r).contains("uncommitted changes"), "{r:#}");
    assert!(err.contains("uncommitted changes"), "{err}");
    assert_eq!(env.rev("main"), main);
    assert_eq!(env.read("runtime/physics/constants.py"), edited);
    // Once the human is done, the next cycle deploys.
    env.git(&["checkout", "--", "runtime/physics/constants.py"]);
    let r = env.cycle_json(&at(3));
    assert!(lifecycle_lines(&r).contains("D-0001: deployed"), "{r:#}");
}

#[test]
fn never_deploys_onto_a_diverged_branch_and_a_failed_push_is_retried() {
    let env = Env::with_validation();
    let remote = env.base.join("remote.git");
    let mut c = Proc::new("git");
    c.args(["clone", "-q", "--bare"])
        .arg(&env.repo)
        .arg(&remote);
    pinned_env(&mut c, "2026-01-05T00:00:00Z");
    assert!(c.status().unwrap().success());
    env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    env.git(&["fetch", "-q", "origin"]);
    env.git(&["branch", "-q", "--set-upstream-to=origin/main", "main"]);
    // Someone else pushed to main: the local branch is behind its upstream.
    let other = env.base.join("other");
    let mut c = Proc::new("git");
    c.args(["clone", "-q"]).arg(&remote).arg(&other);
    pinned_env(&mut c, "2026-01-05T00:00:00Z");
    assert!(c.status().unwrap().success());
    std::fs::write(other.join("NOTES.md"), "x\n").unwrap();
    for args in [
        vec!["add", "-A"],
        vec!["commit", "-qm", "elsewhere"],
        vec!["push", "-q", "origin", "main"],
    ] {
        let mut c = Proc::new("git");
        c.arg("-C").arg(&other).args(&args);
        pinned_env(&mut c, "2026-01-05T00:00:00Z");
        assert!(c.status().unwrap().success());
    }
    // And a human committed on the server's checkout: the branches have diverged.
    env.write("LOCAL.md", "local\n");
    env.git(&["add", "LOCAL.md"]);
    env.git(&["commit", "-qm", "a local change"]);
    faulty(&env, 12, h(1), "a");
    let main = env.rev("main");
    let out = env
        .improve(&at(2))
        .args(["cycle", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(lifecycle_lines(&r).contains("diverged"), "{r:#}");
    assert_eq!(env.rev("main"), main);
    // A push to a remote that is gone is an error (exit 1), retried next cycle.
    let out = env
        .improve(&at(4))
        .args(["cycle", "--json", "--push", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["errors"].to_string().contains("to nowhere"), "{r:#}");
}

#[test]
fn invalid_configs_name_file_line_and_field_and_unsafe_ones_are_refused() {
    let cases: [(&str, &str, &str); 5] = [
        ("  enabled: true", "  enabled: false", "audit.enabled"),
        (
            "  monitor_duration: 24h",
            "  monitor_duration: 0s",
            "deployment.monitor_duration",
        ),
        (
            "  auto_tier_max_risk: low",
            "  auto_tier_max_risk: medium",
            "approval.auto_tier_max_risk",
        ),
        (
            "  pattern_threshold: 3",
            "  pattern_threshold: three",
            "pattern_threshold",
        ),
        (
            "  max_new_proposals: 2",
            "  max_new_proposals: 2\n  max_new_proposal: 3",
            "max_new_proposal",
        ),
    ];
    let mut refused = 0;
    for (from, to, field) in cases {
        let env = Env::new();
        let text = env.read("improvement-data/config.yaml");
        let line = text
            .lines()
            .position(|l| l.starts_with(from.trim_end()) || l == from)
            .map(|i| i + 1)
            .unwrap_or(0);
        env.configure(&[(from, to)]);
        let out = env.improve(&at(2)).args(["cycle"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{field}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("improvement-data/config.yaml (on main):"),
            "{err}"
        );
        assert!(err.contains(field), "{field}: {err}");
        // The line named is the line of the offending field (or the one just after it).
        let named: usize = err
            .split("(on main):")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            named == line || named == line + 1,
            "{field}: line {named}, expected {line}: {err}"
        );
        refused += 1;
    }
    summary(
        "config",
        &format!(
            "invalid configs: {refused} of {} refused with file, line and field, 0 lost",
            cases.len()
        ),
    );
}

#[test]
fn text_from_logs_is_escaped_in_pull_requests_and_the_report() {
    let env = Env::with_validation();
    env.templates("candidates:\n  divergence-physics:\n    - {type: protocol_update, target: {file: protocols/explore.yaml, name: \"steps[0].max_retries\"}, direction: increase, step: 0.5, risk: medium, complexity: 2, metric: efficiency}\n");
    let hostile = "<img src=x onerror=alert(1)> [click](http://evil) `$(rm -rf /)`";
    let e = Expl {
        divergence: 0.3,
        found: 1,
        satisfaction: 0.4,
        anomalies: vec![("LOW_SIBLING_DIVERGENCE", "warn", 1)],
        ..Expl::healthy("aaa", h(1))
    };
    let text = e.jsonl().replace(
        "LOW_SIBLING_DIVERGENCE at step",
        &hostile.replace('"', "\\\""),
    );
    env.write("logs/traversal/traversal_aaa.jsonl", &text);
    faulty(&env, 11, h(1), "a");
    env.cycle_json(&at(2));
    let body = env.record("proposals/P-0001/PR_BODY.md");
    assert!(body.contains("img src=x"), "the evidence is shown: {body}");
    // Markup characters arrive escaped: entities, or a backslash before them.
    let unescaped = body
        .replace("\\]", "")
        .replace("\\[", "")
        .replace("\\`", "");
    assert!(!body.contains("<img"), "{body}");
    assert!(
        !unescaped.contains("](http") && !unescaped.contains("`$("),
        "{body}"
    );
    let out = env.base.join("report.html");
    env.improve(&at(2))
        .args(["report", "--html", out.to_str().unwrap()])
        .assert()
        .success();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("&lt;img src=x"), "escaped in the report");
    assert!(!html.contains("<img"), "no raw markup from logs");
    assert!(!html.contains("<script"), "no scripts at all");
}

/// A deploy that fails after its intent is recorded but before its commit lands
/// (here: its backup tag cannot be created, a ref in the way) is recorded as
/// nothing deployed, with the reason; never left `deploying`. The proposal stays
/// approved and deploys once the obstacle is gone.
#[test]
fn a_deploy_failing_before_its_commit_lands_is_recorded_as_nothing_deployed() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    let main = env.rev("main");
    env.git(&["tag", "improve/backup/D-0001/in-the-way", &main]);
    let (r, err) = refused_cycle(&env, &at(2));
    assert!(err.contains("nothing was deployed"), "{err}");
    assert!(!err.contains("class="), "a raw libgit2 message: {err}");
    let d = env.record_yaml("deployments/D-0001.yaml");
    assert_eq!(d["status"], "failed", "{d:?}");
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .contains("the proposal stays approved"),
        "{d:?}"
    );
    assert_eq!(d["deploy_commit"], "", "{d:?}");
    assert_eq!(env.rev("main"), main, "{r:#}");
    assert_eq!(
        env.record_yaml("proposals/P-0001/proposal.yaml")["status"],
        "approved"
    );
    consistent(&env, &at(2));
    env.git(&["tag", "-d", "improve/backup/D-0001/in-the-way"]);
    let r = env.cycle_json(&at(3));
    assert!(
        lifecycle_lines(&r).contains("D-0002: deployed P-0001"),
        "{r:#}"
    );
    consistent(&env, &at(3));
}
