//! `improve health` and `improve check` through the binary after a real deploy, then
//! with something broken for real: the exit codes a timer's failure hook relies on
//! (3 on health ERROR, 1 on a violated invariant) and the evidence they print.

use crate::support::*;
use serde_json::Value;

/// A repository where the planted fault was fixed and auto-deployed as D-0001.
fn deployed() -> Env {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    let r = env.cycle_json(&at(2));
    assert!(
        lifecycle_lines(&r).contains("D-0001: deployed P-0001"),
        "{r:#}"
    );
    env
}

fn health_json(env: &Env, now: &str) -> (i32, Value) {
    let out = env
        .improve(now)
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "health --format json prints JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

fn indicator<'a>(h: &'a Value, id: &str) -> &'a Value {
    h["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {h:#}"))
}

fn check(env: &Env, now: &str) -> (i32, String) {
    let out = env.improve(now).arg("check").output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn after_a_real_deploy_health_is_not_error_and_every_invariant_holds() {
    let env = deployed();
    let (code, h) = health_json(&env, &at(3));
    assert_eq!(code, 0, "{h:#}");
    assert_ne!(h["overall"], "ERROR", "{h:#}");
    assert_eq!(h["indicators"].as_array().unwrap().len(), 15);
    assert_eq!(indicator(&h, "H10")["level"], "HEALTHY", "{h:#}");
    assert_eq!(indicator(&h, "H2")["value"], 1.0, "{h:#}");
    assert_eq!(indicator(&h, "M1")["level"], "HEALTHY", "{h:#}");

    let out = env
        .improve(&at(3))
        .args(["health", "--format", "markdown"])
        .assert()
        .success();
    let md = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        md.contains("| | indicator | level | detail | thresholds |"),
        "{md}"
    );
    for id in ["H1", "H5", "H10", "M3"] {
        assert!(md.contains(&format!("| {id} |")), "{id} missing in\n{md}");
    }

    let (code, out) = check(&env, &at(3));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("all invariants hold"), "{out}");
    assert_eq!(out.matches("ok   V").count(), 10, "{out}");
}

#[test]
fn a_deleted_backup_tag_violates_v3_and_turns_health_to_error() {
    let env = deployed();
    env.git(&["tag", "-d", "improve/backup/D-0001"]);

    let (code, out) = check(&env, &at(3));
    assert_eq!(code, 1, "{out}");
    let v3 = out
        .lines()
        .skip_while(|l| !l.contains("V3"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(v3.starts_with("FAIL V3"), "{out}");
    assert!(
        v3.contains("D-0001") && v3.contains("improve/backup/D-0001"),
        "{out}"
    );
    assert!(out.contains("1 invariant violated"), "{out}");

    let out = env
        .improve(&at(3))
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inv["ok"], false, "{inv:#}");
    assert_eq!(inv["violated"], 1, "{inv:#}");
    let bad: Vec<_> = inv["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["ok"] == false)
        .collect();
    assert_eq!(bad.len(), 1, "{inv:#}");
    assert_eq!(bad[0]["id"], "V3");
    assert_eq!(bad[0]["critical"], true);

    let (code, h) = health_json(&env, &at(3));
    assert_eq!(code, 3, "{h:#}");
    assert_eq!(h["overall"], "ERROR");
    let h10 = indicator(&h, "H10");
    assert_eq!(h10["level"], "ERROR", "{h:#}");
    assert!(h10["detail"].as_str().unwrap().contains("V3"), "{h10}");
}

#[test]
fn a_loop_that_stopped_three_days_ago_is_an_error() {
    let env = deployed();
    let (code, hl) = health_json(&env, &at(2 + 72));
    assert_eq!(code, 3, "{hl:#}");
    assert_eq!(hl["overall"], "ERROR");
    let m1 = indicator(&hl, "M1");
    assert_eq!(m1["level"], "ERROR", "{hl:#}");
    assert_eq!(m1["value"], 72.0, "{m1}");
    // The text format says the same, with the same exit code.
    let out = env.improve(&at(2 + 72)).arg("health").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("improve health: ERROR"), "{text}");
    // A fresh cycle brings it back.
    faulty(&env, 3, h(73), "b");
    env.cycle_json(&at(2 + 72));
    let (code, hl) = health_json(&env, &at(2 + 72));
    assert_eq!(indicator(&hl, "M1")["level"], "HEALTHY", "{hl:#}");
    assert_ne!(code, 3, "{hl:#}");
}

#[test]
fn completions_and_man_page_come_from_the_command_definitions() {
    let env = Env::bare_target();
    let out = env
        .improve(T0)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["cycle", "approve", "rollback", "health", "report"] {
        assert!(text.contains(sub), "bash completion lacks {sub}");
    }
    let out = env.improve(T0).args(["man"]).output().unwrap();
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        man.contains(".TH improve") && man.contains("cycle"),
        "{man}"
    );
}
