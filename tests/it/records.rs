//! Records are typed: a value this version does not know is an error naming the record
//! and its line (never a quiet default), and who approved is decided by how the
//! approval came about, never by the spelling of a name.

use crate::support::*;

/// Twelve explorations with the planted low-divergence fault: a low-risk constant
/// tune that, without a test command, waits for a human.
fn planted(env: &Env) {
    let t = ts("2026-01-05T01:00:00Z");
    write_explorations(env, 12, |i| Expl {
        divergence: 0.3,
        found: 1,
        satisfaction: 0.4,
        anomalies: vec![("LOW_SIBLING_DIVERGENCE", "warn", 1)],
        ..Expl::healthy(&format!("r{i}"), t + chrono::Duration::minutes(i as i64))
    });
}

/// Edits a file on the records branch with plain git, as a hand would.
fn edit_record(env: &Env, path: &str, from: &str, to: &str) {
    let wt = env.base.join("records-wt");
    let wt_s = wt.to_str().unwrap();
    env.git(&["worktree", "add", "-q", wt_s, "improve/records"]);
    let file = wt.join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(from), "{path} has no {from:?}:\n{text}");
    std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
    env.git(&["-C", wt_s, "commit", "-qam", "a hand edit"]);
    env.git(&["worktree", "remove", "--force", wt_s]);
}

#[test]
fn an_unknown_value_in_a_record_is_an_error_with_file_and_line() {
    let env = Env::new();
    planted(&env);
    env.cycle_json("2026-01-05T06:00:00Z");
    let yaml = env.record("proposals/P-0001/proposal.yaml");
    let line = yaml
        .lines()
        .position(|l| l.starts_with("tier: "))
        .expect("the proposal was tiered")
        + 1;
    edit_record(
        &env,
        "proposals/P-0001/proposal.yaml",
        "\ntier: approve",
        "\ntier: sometimes",
    );
    let out = env
        .improve("2026-01-05T07:00:00Z")
        .args(["show", "P-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("records: proposals/P-0001/proposal.yaml:{line}:")),
        "{err}"
    );
    assert!(err.contains("unknown variant `sometimes`"), "{err}");
}

#[test]
fn a_human_whose_name_starts_like_the_tool_is_still_a_human() {
    let env = Env::new();
    planted(&env);
    env.cycle_json("2026-01-05T06:00:00Z");
    assert!(env
        .record("proposals/P-0001/proposal.yaml")
        .contains("status: awaiting_approval"));
    env.improve("2026-01-05T07:00:00Z")
        .args(["approve", "P-1", "--by", "improvement-team"])
        .assert()
        .success();
    let yaml = env.record_yaml("proposals/P-0001/proposal.yaml");
    assert_eq!(yaml["approved_by"]["kind"].as_str(), Some("human"));
    assert_eq!(
        yaml["approved_by"]["name"].as_str(),
        Some("improvement-team")
    );
    let out = env
        .improve("2026-01-05T07:00:00Z")
        .args(["health", "--json"])
        .output()
        .unwrap();
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h7 = h["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "H7")
        .unwrap()
        .clone();
    assert_eq!(h7["value"].as_f64(), Some(1.0), "{h7}");
    assert!(
        h7["detail"]
            .as_str()
            .unwrap()
            .contains("1 of 1 human decisions"),
        "{h7}"
    );
}
