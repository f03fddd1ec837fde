//! The second half of the cycle (issue 3), multi-cycle on the simulated clock:
//! validate, approve, deploy, monitor, roll back, learn.

use crate::support::*;
use serde_json::Value;

fn audit_ok(env: &Env, now: &str) {
    env.improve(now)
        .args(["audit", "verify"])
        .assert()
        .success();
}

fn status_of(env: &Env, id: &str) -> String {
    env.status_of(id)
}

fn deployment(env: &Env, id: &str) -> serde_yaml::Value {
    env.deployment(id)
}

fn message(env: &Env, rev: &str) -> String {
    env.git(&["log", "-1", "--format=%B", rev])
}

#[test]
fn path1_low_risk_tune_with_measured_improvement_is_auto_deployed_monitored_and_stable() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    let r = env.cycle_json(&at(2));
    assert_eq!(r["proposals"][0]["id"], "P-0001", "{r:#}");
    let lc = lifecycle_lines(&r);
    assert!(
        lc.contains("auto tier"),
        "{lc}\n{}",
        env.record("proposals/P-0001/validation.json")
    );
    assert!(lc.contains("D-0001: deployed P-0001"), "{lc}");
    // Validation kept its numbers.
    let v: Value = serde_json::from_str(&env.record("proposals/P-0001/validation.json")).unwrap();
    assert_eq!(v["status"], "PASSED");
    assert_eq!(v["target_improved"], true);
    assert!(v["improvement"]["sibling_divergence"].as_f64().unwrap() > 0.0);
    // Deployed as an ordinary commit with trailers, between a backup and a deploy tag.
    let d = deployment(&env, "D-0001");
    assert_eq!(d["status"], "monitoring");
    assert_eq!(d["tier"], "auto");
    let deploy = env.rev("improve/deploy/D-0001");
    assert_eq!(env.rev("main"), deploy);
    assert_eq!(env.rev("improve/backup/D-0001"), env.rev("main~1"));
    let msg = message(&env, "main");
    for t in [
        "Improve-Proposal: P-0001",
        "Improve-Deployment: D-0001",
        "Improve-Tier: auto",
        "Improve-Approved-By: improve (auto tier)",
    ] {
        assert!(msg.contains(t), "{t} missing in\n{msg}");
    }
    // The checked-out working tree followed, and is clean.
    assert!(env
        .read("runtime/physics/constants.py")
        .contains("SIBLING_DIVERGENCE_WEIGHT = 0.20"));
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    // Monitored while metrics are good, stable after 24h.
    good(&env, 12, h(3), "b");
    let r = env.cycle_json(&at(8));
    assert!(!lifecycle_lines(&r).contains("rolled back"), "{r:#}");
    assert_eq!(deployment(&env, "D-0001")["status"], "monitoring");
    good(&env, 12, h(20), "c");
    let r = env.cycle_json(&at(27));
    assert!(lifecycle_lines(&r).contains("D-0001 is stable"), "{r:#}");
    assert_eq!(deployment(&env, "D-0001")["status"], "stable");
    assert_eq!(status_of(&env, "P-0001"), "stable");
    let lib = env.record("patterns/library.json");
    assert!(lib.contains("\"outcome\": \"stable\""), "{lib}");
    audit_ok(&env, &at(27));
}

const MEDIUM_PROTOCOL: &str = "candidates:\n  divergence-physics:\n    - {type: protocol_update, target: {file: protocols/explore.yaml, name: \"steps[0].max_retries\"}, direction: increase, step: 0.5, risk: medium, complexity: 2, metric: efficiency}\n";

#[test]
fn path2_approve_tier_waits_then_human_approves_and_it_deploys() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    let r = env.cycle_json(&at(2));
    assert_eq!(r["proposals"][0]["type"], "protocol_update", "{r:#}");
    assert!(
        lifecycle_lines(&r).contains("waiting for a human (approve tier"),
        "{r:#}"
    );
    assert_eq!(status_of(&env, "P-0001"), "awaiting_approval");
    assert!(env
        .record("notifications.jsonl")
        .contains("approval_needed"));
    let main = env.rev("main");
    // Nothing deploys while it waits, however many cycles run.
    env.cycle_json(&at(3));
    assert_eq!(env.rev("main"), main);
    env.improve(&at(4))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    let r = env.cycle_json(&at(5));
    assert!(lifecycle_lines(&r).contains("deployed P-0001"), "{r:#}");
    assert!(message(&env, "main").contains("Improve-Approved-By: alice"));
    assert!(env
        .read("protocols/explore.yaml")
        .contains("max_retries: 3"));
    audit_ok(&env, &at(5));
}

#[test]
fn path2_merging_the_branch_is_approval_and_deployment() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    env.git(&[
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge P-0001",
        "improve/proposal/P-0001",
    ]);
    let r = env.cycle_json(&at(3));
    assert!(
        lifecycle_lines(&r).contains("merged by Test Human"),
        "{r:#}"
    );
    assert_eq!(status_of(&env, "P-0001"), "deployed");
    let d = deployment(&env, "D-0001");
    assert_eq!(d["tier"], "human");
    assert_eq!(d["deploy_commit"].as_str().unwrap(), env.rev("main"));
    assert_eq!(env.rev("improve/deploy/D-0001"), env.rev("main"));
    audit_ok(&env, &at(3));
}

#[test]
fn path2_rejected_proposal_is_not_proposed_again() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    env.improve(&at(3))
        .args(["reject", "P-1", "--by", "bob", "--reason", "not this way"])
        .assert()
        .success();
    assert_eq!(status_of(&env, "P-0001"), "rejected");
    faulty(&env, 12, h(4), "b");
    let r = env.cycle_json(&at(5));
    assert!(r["proposals"].as_array().unwrap().is_empty(), "{r:#}");
    assert!(r["not_proposed"].to_string().contains("rejected"), "{r:#}");
}

#[test]
fn path3_degrading_deploy_is_reverted_and_the_fix_not_proposed_again() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    assert_eq!(deployment(&env, "D-0001")["status"], "monitoring");
    let deploy = env.rev("main");
    degraded(&env, 12, h(3), "b");
    let r = env.cycle_json(&at(5));
    let lc = lifecycle_lines(&r);
    assert!(lc.contains("rolled back"), "{r:#}");
    let d = deployment(&env, "D-0001");
    assert_eq!(d["status"], "rolled_back");
    // A real git revert of the deploy commit, tagged.
    let revert = env.rev("main");
    assert_eq!(env.rev("improve/rollback/D-0001"), revert);
    assert!(message(&env, "main").contains(&format!("This reverts commit {deploy}")));
    assert_eq!(env.rev("main~1"), deploy);
    assert!(env
        .read("runtime/physics/constants.py")
        .contains("SIBLING_DIVERGENCE_WEIGHT = 0.10"));
    assert_eq!(status_of(&env, "P-0001"), "rolled_back");
    assert!(env.record("notifications.jsonl").contains("rolled_back"));
    // The fault is back; the failed fix is not proposed again.
    faulty(&env, 12, h(6), "c");
    let r = env.cycle_json(&at(7));
    let props = r["proposals"].as_array().unwrap();
    assert!(
        props
            .iter()
            .all(|p| p["target"]["name"] != "SIBLING_DIVERGENCE_WEIGHT"),
        "{r:#}"
    );
    audit_ok(&env, &at(7));
}

#[test]
fn path4_a_humans_git_revert_is_recognised() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    let deploy = env.rev("main");
    env.git(&["revert", "--no-edit", &deploy]);
    let r = env.cycle_json(&at(3));
    assert!(
        lifecycle_lines(&r).contains("a human (Test Human) reverted it"),
        "{r:#}"
    );
    assert_eq!(deployment(&env, "D-0001")["status"], "rolled_back");
    assert_eq!(env.rev("improve/rollback/D-0001"), env.rev("main"));
}

#[test]
fn path4_a_conflicting_revert_is_never_forced() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    // A human edits the deployed line afterwards: reverting the deploy now conflicts.
    let text = env.read("runtime/physics/constants.py").replace(
        "SIBLING_DIVERGENCE_WEIGHT = 0.20",
        "SIBLING_DIVERGENCE_WEIGHT = 0.25",
    );
    env.write("runtime/physics/constants.py", &text);
    env.git(&["commit", "-qam", "hand tuning"]);
    let main = env.rev("main");
    env.improve(&at(3))
        .args(["rollback", "D-1"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("ROLLBACK FAILED"));
    assert_eq!(env.rev("main"), main, "nothing was committed");
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "",
        "no conflict markers, clean tree"
    );
    assert!(!env.read("runtime/physics/constants.py").contains("<<<<<<<"));
    assert_eq!(deployment(&env, "D-0001")["status"], "rollback_failed");
    assert!(env
        .record("notifications.jsonl")
        .contains("rollback_failed"));
}

#[test]
fn path4_rollback_on_request() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    env.improve(&at(3))
        .args(["rollback", "D-1", "--reason", "testing"])
        .assert()
        .success();
    assert_eq!(deployment(&env, "D-0001")["status"], "rolled_back");
    assert!(env
        .read("runtime/physics/constants.py")
        .contains("SIBLING_DIVERGENCE_WEIGHT = 0.10"));
}

fn experiment_templates(mode: &str) -> String {
    format!(
        "candidates:\n  divergence-physics:\n    - {{type: constant_tune, target: {{file: runtime/physics/constants.py, name: SIBLING_DIVERGENCE_WEIGHT}}, direction: increase, step: 1.0, risk: medium, complexity: 1, metric: sibling_divergence, validation: {mode}}}\n"
    )
}

/// Runs an experiment on planted variant data; returns the validation record.
pub(crate) fn experiment(mode: &str, variant_quality: &str) -> (Env, Value) {
    let env = Env::with_validation();
    env.templates(&experiment_templates(mode));
    faulty(&env, 12, h(1), "a");
    let r = env.cycle_json(&at(2));
    assert!(
        lifecycle_lines(&r).contains(&format!("{mode} started")),
        "{r:#}"
    );
    let exps = env.read("improvement-data/experiments.yaml");
    assert!(
        exps.contains("P-0001") && exps.contains("SIBLING_DIVERGENCE_WEIGHT"),
        "{exps}"
    );
    // Planted data: control keeps the fault, the variant is better, worse or scarce.
    let n_variant = if variant_quality == "scarce" { 3 } else { 30 };
    write_explorations(&env, 30, |i| Expl {
        variant: Some("control".into()),
        divergence: 0.3 + (i % 5) as f64 * 0.01,
        found: 1,
        satisfaction: 0.4,
        ..Expl::healthy(&format!("c{i}"), h(3) + chrono::Duration::minutes(i as i64))
    });
    write_explorations(&env, n_variant, |i| {
        let (div, found, sat) = match variant_quality {
            "better" => (0.8 + (i % 5) as f64 * 0.01, 3, 0.8),
            "worse" => (0.1 + (i % 5) as f64 * 0.01, 0, 0.1),
            _ => (0.5, 2, 0.5),
        };
        Expl {
            variant: Some("P-0001".into()),
            divergence: div,
            found,
            satisfaction: sat,
            ..Expl::healthy(&format!("v{i}"), h(3) + chrono::Duration::minutes(i as i64))
        }
    });
    let hours = if mode == "canary" { 7 } else { 27 };
    env.cycle_json(&at(hours));
    if variant_quality == "scarce" {
        // INCONCLUSIVE extends once; still scarce at the end: a human decides.
        env.cycle_json(&at(hours * 2 + 2));
    }
    let v: Value = serde_json::from_str(&env.record("proposals/P-0001/validation.json")).unwrap();
    (env, v)
}

#[test]
fn path5_canary_and_ab_reach_passed_failed_and_inconclusive() {
    for mode in ["canary", "ab_test"] {
        let (env, v) = experiment(mode, "better");
        assert_eq!(v["status"], "PASSED", "{mode}: {v:#}");
        let j = &v["judgment"];
        assert!(
            j["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["p"].is_number()),
            "{v:#}"
        );
        assert!(
            !env.read("improvement-data/experiments.yaml")
                .contains("P-0001"),
            "experiment ended"
        );

        let (env, v) = experiment(mode, "worse");
        assert_eq!(v["status"], "FAILED", "{mode}: {v:#}");
        assert_eq!(status_of(&env, "P-0001"), "failed");

        let (env, v) = experiment(mode, "scarce");
        assert_eq!(v["status"], "INCONCLUSIVE", "{mode}: {v:#}");
        assert_eq!(v["extended"], true);
        assert_eq!(status_of(&env, "P-0001"), "awaiting_approval");
    }
}

#[test]
fn path6_deploy_without_validation_is_refused_v1() {
    let env = Env::new(); // no test or replay command: validation is manual
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    // Forge an approval without validation by editing the records as a human could.
    let text = env.record("proposals/P-0001/proposal.yaml").replace(
        "status: awaiting_approval",
        "status: approved\napproved_by:\n  kind: tool\n  tier: auto",
    );
    crate::cycle::rewrite_record(&env, "proposals/P-0001/proposal.yaml", &text);
    let v = env
        .record("proposals/P-0001/validation.json")
        .replace("\"MANUAL\"", "\"RUNNING\"");
    crate::cycle::rewrite_record(&env, "proposals/P-0001/validation.json", &v);
    let main = env.rev("main");
    let r = env.cycle_json(&at(3));
    assert!(
        lifecycle_lines(&r).contains("refused by invariant V1"),
        "{r:#}"
    );
    assert_eq!(env.rev("main"), main);
}

#[test]
fn path6_deploy_without_audit_is_refused_v2() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    env.improve(&at(3))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    let log = env.record("audit/2026-01/05.jsonl");
    let mut lines: Vec<&str> = log.lines().collect();
    lines.remove(1);
    crate::cycle::rewrite_record(&env, "audit/2026-01/05.jsonl", &(lines.join("\n") + "\n"));
    let main = env.rev("main");
    let r = env.cycle_json(&at(4));
    assert!(
        lifecycle_lines(&r).contains("refused by invariant V2"),
        "{r:#}"
    );
    assert_eq!(env.rev("main"), main);
}

#[test]
fn path6_deploy_without_a_possible_backup_is_refused_v3() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    env.improve(&at(3))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    env.git(&["tag", "improve/backup/D-0001", "main~1"]);
    let main = env.rev("main");
    let r = env.cycle_json(&at(4));
    assert!(
        lifecycle_lines(&r).contains("refused by invariant V3"),
        "{r:#}"
    );
    assert_eq!(env.rev("main"), main);
}

#[test]
fn path6_auto_tier_formula_change_is_refused_v4() {
    let env = Env::with_validation();
    env.templates("candidates:\n  divergence-physics:\n    - {type: formula_change, target: {file: runtime/physics/subentity.py, name: SubEntity.score_link}, risk: low, complexity: 3, metric: sibling_divergence, change: weigh divergence more}\n");
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    assert_eq!(status_of(&env, "P-0001"), "awaiting_approval");
    let text = env.record("proposals/P-0001/proposal.yaml").replace(
        "status: awaiting_approval",
        "status: approved\napproved_by:\n  kind: tool\n  tier: auto",
    );
    crate::cycle::rewrite_record(&env, "proposals/P-0001/proposal.yaml", &text);
    let v = env
        .record("proposals/P-0001/validation.json")
        .replace("\"MANUAL\"", "\"PASSED\"");
    crate::cycle::rewrite_record(&env, "proposals/P-0001/validation.json", &v);
    let main = env.rev("main");
    let r = env.cycle_json(&at(3));
    assert!(
        lifecycle_lines(&r).contains("refused by invariant V4"),
        "{r:#}"
    );
    assert_eq!(env.rev("main"), main);
}

#[test]
fn path7_a_pattern_that_recurs_after_a_fix_is_diagnosed_one_layer_deeper() {
    let env = Env::with_validation();
    let crit = |env: &Env, start, tag: &str| {
        write_explorations(env, 12, |i| Expl {
            anomalies: vec![("HIGH_CRITICALITY_NO_FINDINGS", "warn", 1)],
            found: 1,
            ..Expl::healthy(
                &format!("k{tag}{i}"),
                start + chrono::Duration::minutes(i as i64),
            )
        })
    };
    crit(&env, h(1), "a");
    let r = env.cycle_json(&at(2));
    let p = r["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["subject"] == "HIGH_CRITICALITY_NO_FINDINGS")
        .cloned()
        .unwrap();
    assert_eq!(p["layer"], "protocol", "{r:#}");
    env.improve(&at(3))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    env.cycle_json(&at(4));
    good(&env, 12, h(5), "g");
    env.cycle_json(&at(30));
    assert_eq!(status_of(&env, "P-0001"), "stable");
    // It comes back after the fix: one layer deeper.
    crit(&env, h(31), "b");
    let r = env.cycle_json(&at(32));
    let p = r["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["subject"] == "HIGH_CRITICALITY_NO_FINDINGS")
        .cloned()
        .unwrap();
    assert_eq!(p["layer"], "data", "{r:#}");
    assert!(r["proposals"][0]["type"] == "graph_content", "{r:#}");
}

/// Logs with several distinct problems at once (one per anomaly type).
fn many_problems(env: &Env, start: chrono::DateTime<chrono::Utc>, tag: &str) {
    write_explorations(env, 12, |i| Expl {
        divergence: 0.3,
        found: 1,
        satisfaction: 0.2,
        anomalies: vec![
            ("LOW_SIBLING_DIVERGENCE", "warn", 1),
            ("DEEP_EXPLORATION", "warn", 1),
            ("SATISFACTION_PLATEAU", "warn", 1),
            ("HIGH_CRITICALITY_NO_FINDINGS", "warn", 1),
            ("WEIRD_THING", "error", 2),
        ],
        ..Expl::healthy(
            &format!("m{tag}{i}"),
            start + chrono::Duration::minutes(i as i64),
        )
    });
}

#[test]
fn meta_proposals_come_from_a_noisy_record_at_most_daily_require_a_human_and_never_from_a_meta_cycle(
) {
    let env = Env::new();
    env.configure(&[("max_new_proposals: 2", "max_new_proposals: 5")]);
    many_problems(&env, h(1), "a");
    let r = env.cycle_json(&at(2));
    let ids: Vec<String> = r["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5, "{r:#}");
    for id in &ids {
        env.improve(&at(3))
            .args(["reject", id, "--by", "bob", "--reason", "noise"])
            .assert()
            .success();
    }
    // A meta cycle looks at the loop but never proposes a config change (V10).
    let r = env
        .improve(&at(4))
        .args(["cycle", "--json", "--meta"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(!lifecycle_lines(&r).contains("meta-proposal"), "{r:#}");
    // An ordinary cycle does, in the REQUIRE tier.
    let r = env.cycle_json(&at(5));
    let lc = lifecycle_lines(&r);
    assert!(lc.contains("meta-proposal"), "{r:#}");
    let meta = env.record_yaml("proposals/P-0006/proposal.yaml");
    assert_eq!(meta["target"]["file"], "improvement-data/config.yaml");
    assert_eq!(meta["target"]["name"], "triggers.pattern_threshold");
    assert_eq!(meta["tier"], "require");
    let diff = env.git(&["diff", "main", "improve/proposal/P-0006"]);
    assert!(
        diff.contains("-  pattern_threshold: 3") && diff.contains("+  pattern_threshold: 4"),
        "{diff}"
    );
    env.cycle_json(&at(6));
    assert_eq!(status_of(&env, "P-0006"), "awaiting_approval");
    // Rejected, the record is still noisy, but not twice in one day.
    env.improve(&at(7))
        .args(["reject", "P-6", "--by", "bob", "--reason", "not now"])
        .assert()
        .success();
    let r = env.cycle_json(&at(8));
    assert!(!lifecycle_lines(&r).contains("meta-proposal"), "{r:#}");
    let r = env.cycle_json(&at(30));
    assert!(
        lifecycle_lines(&r).contains("meta-proposal"),
        "a day later: {r:#}"
    );
    env.improve(&at(30)).args(["check"]).assert().success();
}

#[test]
fn the_notify_command_gets_one_json_object_on_stdin() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    let out = env.base.join("notified.jsonl");
    env.write(
        "tools/notify.py",
        &format!(
            "import sys\nopen({:?}, 'a').write(sys.stdin.read())\n",
            out.display().to_string()
        ),
    );
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "notify hook"]);
    env.configure(&[(
        "notify_command: []",
        "notify_command: [python3, tools/notify.py]",
    )]);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    let got = std::fs::read_to_string(&out).expect("the hook ran");
    let first: serde_json::Value = serde_json::from_str(got.lines().next().unwrap()).unwrap();
    assert_eq!(first["kind"], "approval_needed");
    assert_eq!(first["subject"], "P-0001");
}

#[test]
fn a_waiting_proposal_is_escalated_after_the_timeout_and_never_auto_approved() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    let r = env.cycle_json(&at(24 * 3));
    assert!(!lifecycle_lines(&r).contains("escalated"), "{r:#}");
    let r = env.cycle_json(&at(24 * 8));
    assert!(lifecycle_lines(&r).contains("escalated"), "{r:#}");
    assert!(env
        .record("notifications.jsonl")
        .contains("\"kind\":\"escalated\""));
    assert_eq!(status_of(&env, "P-0001"), "awaiting_approval");
    let r = env.cycle_json(&at(24 * 9));
    assert!(
        !lifecycle_lines(&r).contains("escalated"),
        "once per timeout: {r:#}"
    );
    let r = env.cycle_json(&at(24 * 16));
    assert!(lifecycle_lines(&r).contains("escalated"), "{r:#}");
    assert_eq!(status_of(&env, "P-0001"), "awaiting_approval");
}

#[test]
fn a_humans_commit_on_a_proposal_branch_is_revalidated_and_never_rewritten() {
    let env = Env::with_validation();
    env.templates(MEDIUM_PROTOCOL);
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    env.git(&["checkout", "-q", "improve/proposal/P-0001"]);
    let text = env
        .read("protocols/explore.yaml")
        .replace("max_retries: 3", "max_retries: 4");
    env.write("protocols/explore.yaml", &text);
    env.git(&["commit", "-qam", "four retries instead"]);
    let human_tip = env.rev("HEAD");
    env.git(&["checkout", "-q", "main"]);
    let r = env.cycle_json(&at(3));
    let hist = env.record("proposals/P-0001/proposal.yaml");
    assert!(hist.contains("re-validating"), "{hist}\n{r:#}");
    let v: serde_json::Value =
        serde_json::from_str(&env.record("proposals/P-0001/validation.json")).unwrap();
    assert_eq!(v["commit"], human_tip.as_str());
    assert_eq!(
        env.rev("improve/proposal/P-0001"),
        human_tip,
        "the branch is the human's now"
    );
    env.improve(&at(4))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    env.cycle_json(&at(5));
    assert!(env
        .read("protocols/explore.yaml")
        .contains("max_retries: 4"));
}

#[test]
fn conflicting_proposals_are_both_kept_flagged_and_escalated() {
    let env = Env::with_validation();
    env.templates("candidates:\n  divergence-physics:\n    - {type: constant_tune, target: {file: runtime/physics/constants.py, name: SIBLING_DIVERGENCE_WEIGHT}, direction: increase, step: 1.0, risk: low, complexity: 1, metric: sibling_divergence}\n  deep-physics:\n    - {type: constant_tune, target: {file: runtime/physics/constants.py, name: SIBLING_DIVERGENCE_WEIGHT}, direction: decrease, step: 0.2, risk: low, complexity: 1, metric: efficiency}\n");
    write_explorations(&env, 12, |i| Expl {
        divergence: 0.3,
        found: 1,
        satisfaction: 0.4,
        anomalies: vec![
            ("LOW_SIBLING_DIVERGENCE", "warn", 1),
            ("DEEP_EXPLORATION", "warn", 1),
        ],
        ..Expl::healthy(&format!("x{i}"), h(1) + chrono::Duration::minutes(i as i64))
    });
    let main = env.rev("main");
    let r = env.cycle_json(&at(2));
    let props = r["proposals"].as_array().unwrap();
    assert_eq!(props.len(), 2, "{r:#}");
    assert_eq!(props[1]["conflicts"][0], props[0]["id"], "{r:#}");
    let second = props[1]["id"].as_str().unwrap();
    assert_eq!(status_of(&env, second), "awaiting_approval");
    assert!(env.record_yaml(&format!("proposals/{second}/proposal.yaml"))["tier"] == "require");
    // The first one was not in conflict when made, and deployed; the conflicting one waits.
    assert_ne!(env.rev("main"), main);
}

#[test]
fn a_failed_verification_restores_the_backup_state() {
    let env = Env::with_validation();
    env.configure(&[(
        "verify_command: []",
        "verify_command: [python3, -c, \"import sys; sys.exit(3)\"]",
    )]);
    faulty(&env, 12, h(1), "a");
    let before = env.rev("main");
    let r = env.cycle_json(&at(2));
    assert!(lifecycle_lines(&r).contains("failed"), "{r:#}");
    let d = deployment(&env, "D-0001");
    assert_eq!(d["status"], "failed");
    assert!(d["reason"].as_str().unwrap().contains("verification"));
    // The deploy commit and its revert: the tree is back to the backup, history intact.
    assert_eq!(env.rev("main~2"), before);
    assert_eq!(env.git(&["diff", &before, "main"]), "");
    assert_eq!(env.rev("improve/backup/D-0001"), before);
    assert_eq!(status_of(&env, "P-0001"), "failed");
    env.improve(&at(2)).args(["check"]).assert().success();
}

#[test]
fn the_library_tells_proven_from_failed_fixes_per_pattern_and_target() {
    use improve::store::library::{Fix, KnownPattern, Library, Outcome};
    let mut lib = Library::default();
    lib.patterns.push(KnownPattern {
        signature: "recurring_anomaly:X".into(),
        kind: improve::diagnose::PatternKind::RecurringAnomaly,
        subject: "X".into(),
        features: vec![1.0, 0.0],
        first_seen: String::new(),
        last_seen: String::new(),
        cycles_seen: 1,
        recurrences: 0,
        diagnoses: vec![],
        fixes: vec![Fix {
            proposal: "P-0001".into(),
            kind: "constant_tune".into(),
            file: "a.py".into(),
            name: "W".into(),
            layer: None,
            outcome: Outcome::Stable,
            updated: String::new(),
        }],
    });
    assert!(lib.proven_fix("recurring_anomaly:X", "a.py", "W"));
    assert!(!lib.failed_fix("recurring_anomaly:X", "a.py", "W"));
    assert!(!lib.proven_fix("recurring_anomaly:X", "a.py", "V"));
}
