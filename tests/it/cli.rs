//! The operator's command line (issue 13): output that never panics, the JSON
//! contract, one table of exit codes, -v with phase timings, progress and colour only
//! on a terminal, status that leads with what needs a human, verdict tables in `show`,
//! help and man page, and hostile log text kept off the terminal.

use crate::support::*;
use improve::error::exit;
use serde_json::Value;
use std::path::Path;
use std::process::{Command as Proc, Stdio};

/// The improve binary as a plain process (for closing its stdout, or running it under
/// a terminal), with the pinned environment of `Env::improve`.
fn proc_at(dir: &Path, now: &str) -> Proc {
    let mut c = Proc::new(assert_cmd::cargo::cargo_bin("improve"));
    c.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_COMMITTER_NAME", "improve-bot")
        .env("GIT_COMMITTER_EMAIL", "bot@example.com")
        .env_remove("IMPROVE_NOW")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .arg("--now")
        .arg(now);
    c
}

/// Runs improve with its stdout a pipe whose reader is gone before it starts (as
/// after `| head -1` has read its line); returns the exit code and stderr.
fn closed_stdout(dir: &Path, now: &str, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = proc_at(dir, now)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `improve ARGS` under a pseudo-terminal (util-linux `script`), with `shell`
/// redirections after it; returns what the terminal showed.
fn on_terminal(dir: &Path, now: &str, env: &[(&str, &str)], args: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("improve");
    let line = format!("{} --now {now} {args}", bin.display());
    let mut c = Proc::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script(1) from util-linux runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A proposal deployed in the AUTO tier (D-0001) and watched through one monitor check.
fn deployed() -> Env {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    env.cycle_json(&at(2));
    good(&env, 12, h(3), "b");
    env.cycle_json(&at(8));
    env
}

/// A proposal waiting for a human (P-0001): nothing could validate it automatically.
fn waiting() -> Env {
    let env = Env::new();
    faulty(&env, 12, h(1), "a");
    let r = env.cycle_json(&at(2));
    assert_eq!(r["proposals"][0]["id"], "P-0001", "{r:#}");
    env
}

/// A page path whose directory is a file: writing it fails.
const NOT_A_DIR: &str = "runtime/physics/constants.py/r.html";

/// What `improve ARGS` printed on stdout at `now`.
fn stdout_of(env: &Env, now: &str, args: &[&str]) -> String {
    let out = env.improve(now).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON value ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_closed_pipe_ends_every_command_quietly_with_141() {
    let env = deployed();
    let report = env.base.join("r.html");
    let report = report.to_str().unwrap();
    let commands: [&[&str]; 10] = [
        &["health", "--json"],
        &["check"],
        &["proposals", "--all"],
        &["status"],
        &["show", "P-1"],
        &["show", "D-1"],
        &["report", "--html", report, "--json"],
        &["cycle", "--dry-run"],
        &["man"],
        &["--help"],
    ];
    for args in commands {
        let (code, err) = closed_stdout(&env.repo, &at(9), args);
        assert_eq!(code, Some(exit::PIPE), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?} said something on stderr");
    }
    // The cycle finishes its work although nobody reads what it says.
    faulty(&env, 12, h(9), "c");
    let (code, err) = closed_stdout(&env.repo, &at(10), &["cycle"]);
    assert_eq!(code, Some(exit::PIPE), "{err}");
    assert!(env.cycle_record("C-000003").is_some());
    // An error with --json goes to stdout too: still no panic.
    let (code, err) = closed_stdout(&env.repo, &at(10), &["--json", "show", "P-99"]);
    assert_eq!(code, Some(exit::PIPE), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn every_command_prints_one_json_object_with_its_schema() {
    let env = deployed();
    let html = env.base.join("r.html");
    let html = html.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["init"],
        vec!["cycle", "--dry-run"],
        vec!["trigger", "--reason", "look"],
        vec!["status"],
        vec!["proposals", "--all"],
        vec!["show", "P-1"],
        vec!["show", "D-1"],
        vec!["health"],
        vec!["check"],
        vec!["report", "--html", html],
        vec!["audit", "verify"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["rollback", "D-1", "--by", "alice"],
    ];
    for args in commands {
        let out = env
            .improve(&at(9))
            .arg("--json")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let v = json_of(&out);
        assert!(v.is_object(), "{args:?}: {v}");
        assert_eq!(v["schema"], 1, "{args:?}: {v}");
        assert!(v.get("error").is_none(), "{args:?}: {v}");
    }
    // `report --json` says what it wrote and what the page leads with.
    let out = env
        .improve(&at(9))
        .args(["report", "--html", html, "--json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["path"], html);
    assert!(v["bytes"].as_u64().unwrap() > 1000, "{v}");
    assert!(v["needs_decision"].is_number(), "{v}");
    assert_eq!(v["deployments"], 1, "{v}");
    // Lists are wrapped in an object; `show P-N` carries its validation.
    let out = env
        .improve(&at(9))
        .args(["--json", "proposals", "--all"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["proposals"][0]["id"], "P-0001");
    let out = env
        .improve(&at(9))
        .args(["--json", "show", "P-1"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["validation"]["status"], "PASSED");
    // `health --format json` is the same object as `--json`.
    let out = env
        .improve(&at(9))
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["schema"], 1);
}

#[test]
fn errors_are_json_objects_with_their_exit_code() {
    let env = waiting();
    let cases: [(&[&str], &str, i32); 5] = [
        (&["show", "P-99"], "usage", exit::USAGE),
        (&["show", "--bogus"], "usage", exit::USAGE),
        (&["health", "--format", "markdown"], "usage", exit::USAGE),
        (&["approve", "P-42", "--by", "alice"], "usage", exit::USAGE),
        (&["report", "--html", NOT_A_DIR], "failure", exit::FAILURE),
    ];
    for (args, kind, code) in cases {
        let out = env
            .improve(&at(3))
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let v = json_of(&out);
        assert_eq!(v["schema"], 1, "{args:?}: {v}");
        assert_eq!(v["error"]["kind"], kind, "{args:?}: {v}");
        assert_eq!(v["error"]["exit_code"], code, "{args:?}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().len() > 5, "{v}");
        // People still read it on stderr.
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    // A config error names file, line and field in the object.
    let cfg = env.read("improvement-data/config.yaml");
    env.write(
        "improvement-data/config.yaml",
        &cfg.replace("max_new_proposals: 2", "max_new_proposals: two"),
    );
    env.git(&["commit", "-qam", "a bad config"]);
    let out = env
        .improve(&at(3))
        .args(["--json", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE));
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "config", "{v}");
    assert_eq!(v["error"]["line"], 13, "{v}");
    assert!(
        v["error"]["field"]
            .as_str()
            .unwrap()
            .contains("max_new_proposals"),
        "{v}"
    );
}

#[test]
fn each_exit_code_of_the_table() {
    let env = deployed();
    let code =
        |args: &[&str], now: &str| env.improve(now).args(args).output().unwrap().status.code();
    // 0: done.
    assert_eq!(code(&["status"], &at(3)), Some(exit::OK));
    // 1: a failure (the page cannot be written).
    assert_eq!(
        code(&["report", "--html", NOT_A_DIR], &at(3)),
        Some(exit::FAILURE)
    );
    // 2: bad usage — an unknown id, an unknown flag, a state that forbids it, a bad
    // clock, and a path that is not a repository.
    for args in [
        &["show", "P-99"][..],
        &["show", "D-9"],
        &["show", "X-1"],
        &["approve", "P-99", "--by", "alice"],
        &["reject", "P-99", "--by", "alice", "--reason", "no"],
        &["rollback", "D-9"],
        &["show", "--bogus"],
    ] {
        assert_eq!(code(args, &at(3)), Some(exit::USAGE), "{args:?}");
    }
    assert_eq!(code(&["status"], "yesterday"), Some(exit::USAGE));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = improve_at(&at(3))
        .current_dir(elsewhere.path())
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a git repository"),
        "{out:?}"
    );
    // 2 also for approving a proposal that is no longer waiting (here: deployed).
    let out = env
        .improve(&at(9))
        .args(["approve", "P-1", "--by", "alice"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("P-0001 is deployed"),
        "{out:?}"
    );
    // 3: health ERROR (no cycle for three days).
    assert_eq!(code(&["health"], &at(8 + 73)), Some(exit::HEALTH_ERROR));
    // 75: another cycle holds the lock.
    let git = improve::git::Git::open(&env.repo).unwrap();
    let lock = improve::lock::CycleLock::try_acquire(&git.local_dir().unwrap()).unwrap();
    assert!(matches!(lock, improve::lock::Acquire::Held(_)));
    let out = env
        .improve(&at(4))
        .args(["--json", "cycle"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::BUSY));
    assert_eq!(json_of(&out)["error"]["kind"], "busy");
    drop(lock);
    // 141 is a_closed_pipe_ends_every_command_quietly_with_141. Every code is in the
    // README's table, and the README lists no other.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let listed: Vec<i32> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| exit code |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('|').nth(1).unwrap().trim().parse().unwrap())
        .collect();
    let table: Vec<i32> = exit::TABLE.iter().map(|(c, _)| *c).collect();
    assert_eq!(listed, table);
}

#[test]
fn verbose_shows_the_phases_with_timings_on_stderr() {
    let env = Env::with_validation();
    faulty(&env, 12, h(1), "a");
    // Quiet by default: nothing on stderr, and no progress without a terminal.
    let out = env
        .improve(&at(2))
        .args(["cycle", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    // -v: each phase of the cycle with its duration.
    let out = env.improve(&at(2)).args(["-v", "cycle"]).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for phase in [
        "trigger", "observe", "monitor", "diagnose", "propose", "record", "advance", "validate",
        "approve", "deploy", "learn",
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!(":{phase}")) && l.contains("done in"))
            .unwrap_or_else(|| panic!("no timing for {phase}:\n{err}"));
        assert!(has_duration(line), "{line}");
    }
    assert!(
        err.lines()
            .any(|l| l.starts_with(" INFO cycle{") && l.contains("id=C-000001}: done in")),
        "{err}"
    );
    // Not a terminal: no escapes, no carriage returns (no progress drawing).
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    // -vv: each proposal's steps and the commands' spans too.
    good(&env, 12, h(3), "b");
    faulty(&env, 12, h(3), "c");
    let out = env.improve(&at(8)).args(["-vv", "cycle"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DEBUG "), "{err}");
    // RUST_LOG overrides -v.
    let out = env
        .improve(&at(9))
        .env("RUST_LOG", "error")
        .args(["-v", "cycle", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// A span duration as `tracing`'s Debug prints it: `12.3ms`, `4.0µs`, `1.2s`.
fn has_duration(line: &str) -> bool {
    let Some(rest) = line.split("done in ").nth(1) else {
        return false;
    };
    let num: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let unit = &rest[num.len()..];
    !num.is_empty() && ["ns", "µs", "ms", "s"].iter().any(|u| unit.starts_with(u))
}

#[test]
fn progress_and_colour_only_on_a_terminal() {
    let env = deployed();
    let dir = &env.repo;
    // On a terminal, a cycle shows its phases as progress on stderr, then clears it.
    let shown = on_terminal(dir, &at(9), &[], "cycle --dry-run >/dev/null");
    assert!(shown.contains("cycle"), "{shown:?}");
    assert!(shown.contains("observe"), "{shown:?}");
    assert!(shown.contains("\x1b[2K"), "no line cleared: {shown:?}");
    // Without a terminal, nothing (see verbose_shows_...: stderr empty).
    let out = env
        .improve(&at(9))
        .args(["cycle", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    // Colour on a terminal; none with NO_COLOR, --color never, or through a pipe.
    let coloured = on_terminal(dir, &at(9), &[], "check 2>/dev/null");
    assert!(coloured.contains("\x1b[32mok"), "{coloured:?}");
    let plain = on_terminal(dir, &at(9), &[("NO_COLOR", "1")], "check 2>/dev/null");
    assert!(plain.contains("ok") && !plain.contains('\x1b'), "{plain:?}");
    let never = on_terminal(dir, &at(9), &[], "--color never status 2>/dev/null");
    assert!(!never.contains('\x1b'), "{never:?}");
    for args in [&["check"][..], &["status"], &["show", "D-1"]] {
        let out = env.improve(&at(9)).args(args).output().unwrap();
        assert!(!out.stdout.contains(&0x1b), "{args:?}");
    }
    let out = env
        .improve(&at(9))
        .args(["--color", "always", "check"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[32mok"));
}

#[test]
fn status_leads_with_what_needs_a_human() {
    let env = waiting();
    let out = env.improve(&at(3)).arg("status").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pos = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s:?} missing in\n{text}"))
    };
    assert!(pos("Needs you") < pos("Last cycle"), "{text}");
    assert!(
        pos("P-0001 waits for a decision") < pos("Last cycle"),
        "{text}"
    );
    assert!(text.contains("improve approve P-0001 --by NAME"), "{text}");
    assert!(
        text.contains("improve reject P-0001 --by NAME --reason TEXT"),
        "{text}"
    );
    assert!(
        text.contains("git merge --no-ff improve/proposal/P-0001"),
        "{text}"
    );
    // Approved, it is on its way: counted with the right plural.
    env.improve(&at(3))
        .args(["approve", "P-1", "--by", "alice"])
        .assert()
        .success();
    let text = stdout_of(&env, &at(3), &["status"]);
    assert!(text.contains("On their way: 1 open proposal\n"), "{text}");
    assert!(text.contains("Nothing needs you") || !text.contains("waits for a decision"));
    // Deployed and watched: the watch comes before the findings.
    let env = deployed();
    let text = stdout_of(&env, &at(9), &["status"]);
    let watched = text.find("Being watched: 1 deployment\n").expect(&text);
    assert!(watched < text.find("Last cycle").unwrap(), "{text}");
    assert!(text.contains("improve rollback D-0001"), "{text}");
    assert!(text.contains("metrics pass"), "{text}");
}

#[test]
fn status_counts_notes_and_lists_them_with_v() {
    let env = Env::new();
    // Twelve cycles of slowly changing metrics: drifts and correlations that are
    // worth a note but are no problem.
    for k in 0..12i64 {
        write_explorations(&env, 6, |i| Expl {
            divergence: 0.5 + k as f64 * 0.02,
            satisfaction: 0.5 + k as f64 * 0.02,
            ..Expl::healthy(
                &format!("n{k}x{i}"),
                h(k * 2) + chrono::Duration::minutes(i as i64),
            )
        });
        env.cycle_json(&at(k * 2 + 1));
    }
    let last: Value = serde_json::from_str(&env.cycle_record("C-000012").unwrap()).unwrap();
    let notes = last["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["actionable"] == false)
        .count();
    assert!(notes > 0, "{last:#}");
    let text = stdout_of(&env, &at(24), &["status"]);
    let plural = if notes == 1 { "note" } else { "notes" };
    assert!(
        text.contains(&format!("  {notes} {plural} (")) && text.contains("-v lists them"),
        "{text}"
    );
    assert!(!text.contains("noted:"), "{text}");
    let text = stdout_of(&env, &at(24), &["status", "-v"]);
    assert_eq!(text.matches("    noted: ").count(), notes, "{text}");
}

#[test]
fn show_deployment_has_a_verdict_table_per_metric() {
    let env = deployed();
    let out = env.improve(&at(9)).args(["show", "D-1"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let header = text
        .lines()
        .find(|l| l.contains("baseline") && l.contains("after") && l.contains("verdict"))
        .unwrap_or_else(|| panic!("no verdict table:\n{text}"));
    for col in ["metric", "change", "shift interval", "p (worse)"] {
        assert!(header.contains(col), "{header}");
    }
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("sibling_divergence "))
        .unwrap_or_else(|| panic!("no sibling_divergence row:\n{text}"));
    assert!(row.trim_end().ends_with("pass"), "{row}");
    assert!(row.contains('%') && row.contains('['), "{row}");
    // No raw JSON check lines, and a size a human reads.
    assert!(!text.contains("{\"ts\""), "{text}");
    assert!(text.len() < 6000, "{} bytes:\n{text}", text.len());
}

#[test]
fn show_proposal_has_the_whole_validation_and_its_true_mode() {
    let env = deployed();
    let text = stdout_of(&env, &at(9), &["show", "P-1"]);
    assert!(text.contains("mode: unit_test — PASSED"), "{text}");
    assert!(text.contains("target_improved: true"), "{text}");
    assert!(text.contains("ran `python3 tests/check.py`"), "{text}");
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("sibling_divergence "))
        .unwrap_or_else(|| panic!("no replay row:\n{text}"));
    assert!(row.contains("better"), "{row}");

    // A fallback behaviour fix is planned as a canary, but a document cannot be
    // canaried: the record says MANUAL, and so does show.
    let env = Env::new();
    write_explorations(&env, 12, |i| Expl {
        anomalies: vec![("WEIRD_THING", "error", 1)],
        ..Expl::healthy(&format!("w{i}"), h(1) + chrono::Duration::minutes(i as i64))
    });
    env.cycle_json(&at(2));
    let v: Value = serde_json::from_str(&env.record("proposals/P-0001/validation.json")).unwrap();
    assert_eq!(v["mode"], "manual", "{v:#}");
    let text = stdout_of(&env, &at(3), &["show", "P-1"]);
    assert!(text.contains("validation plan: canary"), "{text}");
    assert!(text.contains("validated as manual instead"), "{text}");
    assert!(text.contains("mode: manual — MANUAL"), "{text}");
    assert!(text.contains("target_improved: false"), "{text}");
}

#[test]
fn show_experiment_has_the_judgment_per_metric() {
    let (env, v) = crate::lifecycle::experiment("canary", "better");
    assert_eq!(v["status"], "PASSED", "{v:#}");
    let text = stdout_of(&env, &at(8), &["show", "P-1"]);
    assert!(text.contains("mode: canary — PASSED"), "{text}");
    assert!(text.contains("judgment: PASSED"), "{text}");
    let header = text
        .lines()
        .position(|l| l.contains("candidate") && l.contains("shift interval"))
        .unwrap_or_else(|| panic!("no judgment table:\n{text}"));
    let row = text
        .lines()
        .skip(header)
        .find(|l| l.trim_start().starts_with("sibling_divergence"))
        .unwrap_or_else(|| panic!("no row:\n{text}"));
    assert!(row.contains("pass"), "{row}");
    assert!(row.contains("/30 "), "{row}");
}

#[test]
fn hostile_log_text_reaches_no_terminal_raw() {
    let env = Env::new();
    let hostile = "EVIL\x1b]0;owned\x07\x1b[2J\nforged line";
    write_explorations(&env, 12, |i| Expl {
        anomalies: vec![(hostile, "error", 1)],
        ..Expl::healthy(&format!("x{i}"), h(1) + chrono::Duration::minutes(i as i64))
    });
    // A malformed line in a file whose name carries an escape, too.
    env.write(
        "logs/traversal/traversal_\x1b[31mred.jsonl",
        "{not json\x07\n",
    );
    let cycle = env.improve(&at(2)).arg("cycle").output().unwrap();
    assert!(cycle.status.success(), "{cycle:?}");
    let mut shown = String::from_utf8_lossy(&cycle.stdout).into_owned();
    for args in [
        &["status", "-v"][..],
        &["show", "P-1"],
        &["proposals", "--all"],
    ] {
        let out = env.improve(&at(3)).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        shown.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    assert!(
        shown.contains("EVIL"),
        "the hostile pattern was not shown:\n{shown}"
    );
    for raw in ['\x1b', '\x07'] {
        assert!(
            !shown.contains(raw),
            "raw {raw:?} reached the terminal:\n{shown:?}"
        );
    }
    assert!(shown.contains("\\x1b]0;owned\\x07"), "{shown}");
    assert!(
        !shown.contains("\nforged line"),
        "a raw newline from a log:\n{shown}"
    );
}

#[test]
fn help_has_text_for_every_flag_and_the_man_page_names_only_itself() {
    let env = Env::bare_target();
    let out = env.improve(T0).args(["man"]).output().unwrap();
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(man.contains(".SH \"EXIT STATUS\""), "{man}");
    for (code, _) in exit::TABLE {
        assert!(
            man.contains(&format!("\\fB{code}\\fR")),
            "exit {code} missing"
        );
    }
    // One page: improve(1) names no improve-init(1) and the like.
    assert!(
        !man.contains("improve-"),
        "links to pages that do not exist:\n{man}"
    );
    assert!(man.contains(".SS \"improve cycle\"") && man.contains(".SS \"improve audit verify\""));
    assert!(
        !man.contains("\\fB\\-\\-now"),
        "--now is for tests and replays"
    );
    if Proc::new("groff").arg("--version").output().is_ok() {
        let mut g = Proc::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        g.stdin.take().unwrap().write_all(man.as_bytes()).unwrap();
        let o = g.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "groff warns");
    }
    // Help: every flag of every command has its text; --now is hidden.
    for sub in [
        "init",
        "cycle",
        "trigger",
        "status",
        "proposals",
        "show",
        "approve",
        "reject",
        "rollback",
        "health",
        "check",
        "report",
        "completions",
        "man",
        "demo",
        "audit verify",
        "demo simulate",
    ] {
        let out = env
            .improve(T0)
            .args(sub.split(' '))
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{sub}");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!help.contains("--now"), "{sub}: {help}");
        let mut lines = help
            .lines()
            .skip_while(|l| !l.starts_with("Arguments:") && !l.starts_with("Options:"))
            .peekable();
        while let Some(l) = lines.next() {
            let t = l.trim_start();
            let flag = t.starts_with("--") || t.get(2..3) == Some(",");
            if l.starts_with("  ") && !l.starts_with("          ") && (flag || t.starts_with('<')) {
                let described = t.contains("  ")
                    || lines
                        .peek()
                        .is_some_and(|n| n.starts_with("          ") && !n.trim().is_empty());
                assert!(described, "{sub}: no help for {t}\n{help}");
            }
        }
    }
}

#[test]
fn commands_print_through_the_one_writer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![dir.join("main.rs")];
    for e in std::fs::read_dir(dir.join("cli")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name == "out.rs" {
            continue; // the writer itself
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for bare in ["println!", "print!(", "eprintln!", "eprint!(", "stdout()"] {
            assert!(
                !text.contains(bare),
                "{name} uses {bare}: print through cli::out"
            );
        }
    }
}

#[test]
fn a_dry_run_warns_when_the_working_copy_config_is_not_the_committed_one() {
    let env = waiting();
    let out = env
        .improve(&at(3))
        .args(["cycle", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    // An edit that is not committed takes no effect, and here it does not even load.
    let cfg = env.read("improvement-data/config.yaml");
    env.write(
        "improvement-data/config.yaml",
        &cfg.replace("max_new_proposals: 2", "max_new_proposals: two"),
    );
    let out = env
        .improve(&at(3))
        .args(["cycle", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success(), "the committed config still runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("improvement-data/config.yaml in the working copy differs from the one committed on main"),
        "{err}"
    );
    assert!(
        err.contains("does NOT load") && err.contains(":13:"),
        "{err}"
    );
    let out = env
        .improve(&at(3))
        .args(["--json", "cycle", "--dry-run"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert!(
        v["warnings"][0].as_str().unwrap().contains("differs"),
        "{v}"
    );
    // A valid edit is still said, as not yet in effect.
    env.write(
        "improvement-data/config.yaml",
        &cfg.replace("max_new_proposals: 2", "max_new_proposals: 1"),
    );
    let out = env
        .improve(&at(3))
        .args(["cycle", "--dry-run"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("differs") && err.contains("it loads"), "{err}");
}

#[test]
fn quiet_health_says_nothing_while_healthy() {
    let env = deployed();
    assert!(stdout_of(&env, &at(9), &["health"]).starts_with("improve health: HEALTHY"));
    let out = env.improve(&at(9)).args(["health", "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(exit::OK));
    assert!(out.stdout.is_empty(), "{out:?}");
    // Not healthy (no cycle for three days): the table, and exit 3.
    let out = env
        .improve(&at(8 + 73))
        .args(["health", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::HEALTH_ERROR));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("improve health: ERROR"));
}
