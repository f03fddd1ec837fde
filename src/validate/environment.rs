//! Telling a verdict from an accident. A validation command that could not run — not
//! found, stopped by the cycle's budget, pytest's own exit codes 2–5, an import or
//! collection error, a service that is not there (mind's suite needs a FalkorDB server)
//! — says nothing about the change: INCONCLUSIVE, never FAILED, and the fix is not
//! blacklisted. A command that fails on the baseline as well says nothing either.

use crate::command::{Outcome, RunRecord};

/// What pytest's exit codes other than 0 and 1 mean (none is a test failing).
const PYTEST_EXITS: [(i32, &str); 4] = [
    (
        2,
        "pytest was interrupted (exit 2: errors while collecting the tests)",
    ),
    (3, "pytest hit an internal error (exit 3)"),
    (4, "pytest was called wrongly (exit 4: usage error)"),
    (5, "pytest collected no tests (exit 5)"),
];

/// Output lines that mean the test run could not get going, and what each says.
const SIGNS: [(&str, &str); 11] = [
    ("ERROR collecting", "test collection failed"),
    ("errors during collection", "test collection failed"),
    (
        "ModuleNotFoundError",
        "a module the tests import is missing",
    ),
    ("ImportError", "an import failed"),
    (
        "No module named",
        "a module the command needs is not installed",
    ),
    (
        "ConnectionRefusedError",
        "a service the tests need is not running",
    ),
    (
        "Connection refused",
        "a service the tests need is not running",
    ),
    (
        "Name or service not known",
        "a service the tests need cannot be found",
    ),
    (
        "Could not connect",
        "a service the tests need is not reachable",
    ),
    (
        "could not connect",
        "a service the tests need is not reachable",
    ),
    ("command not found", "a program the tests run is missing"),
];

/// Whether the command is pytest (by its argv or its banner).
pub fn is_pytest(r: &RunRecord) -> bool {
    r.argv.iter().any(|a| {
        let base = a.rsplit('/').next().unwrap_or(a);
        base == "pytest" || base == "py.test" || base.starts_with("pytest-")
    }) || r.output_tail.contains("test session starts")
}

/// Why `r` could not run, when the run says nothing about the change: None for a pass,
/// or for a failure that may be the change's (an ordinary test failure, its own
/// timeout). Quotes the output line that shows it.
pub fn could_not_run(r: &RunRecord) -> Option<String> {
    let cmd = r.argv.join(" ");
    match r.outcome() {
        Outcome::CouldNotRun => {
            return Some(format!(
                "`{cmd}` could not be started: {}",
                r.spawn_error.as_deref().unwrap_or("unknown reason")
            ))
        }
        Outcome::DeadlineReached => {
            return Some(format!(
                "`{cmd}` was stopped by the cycle's time budget before it finished"
            ))
        }
        Outcome::Passed | Outcome::TimedOut => return None,
        Outcome::Failed => {}
    }
    let what = cause(r)?;
    let exit = r.exit_code?;
    if is_pytest(r) && PYTEST_EXITS.iter().any(|(code, _)| *code == exit) {
        return Some(format!("`{cmd}`: {what}{}", quoted(r, None)));
    }
    let needle = SIGNS
        .iter()
        .find(|(n, w)| *w == what && r.output_tail.contains(n))
        .map(|(n, _)| *n);
    Some(format!(
        "`{cmd}` exited {exit}: {what}{}",
        quoted(r, needle)
    ))
}

/// What kept a failed run from saying anything about the change, in a few words (the
/// same words for the same cause, whatever the output's details): None for a failure
/// that may be the change's.
pub fn cause(r: &RunRecord) -> Option<&'static str> {
    if r.outcome() != Outcome::Failed {
        return None;
    }
    let exit = r.exit_code?;
    if is_pytest(r) {
        if let Some((_, what)) = PYTEST_EXITS.iter().find(|(code, _)| *code == exit) {
            return Some(what);
        }
    }
    SIGNS
        .iter()
        .find(|(needle, _)| r.output_tail.contains(needle))
        .map(|(_, what)| *what)
}

/// The output line with `needle` (or pytest's first error line, or the last line),
/// shortened.
fn quoted(r: &RunRecord, needle: Option<&str>) -> String {
    let lines = || r.output_tail.lines();
    let line = match needle {
        Some(n) => lines().find(|l| l.contains(n)),
        None => lines()
            .find(|l| l.starts_with("E ") && l.contains("Error"))
            .or_else(|| lines().find(|l| l.starts_with("ERROR")))
            .or_else(|| lines().rev().find(|l| !l.trim().is_empty())),
    };
    match line {
        Some(l) => {
            let l = l.trim();
            let short: String = l.chars().take(200).collect();
            format!(
                " (\"{short}{}\")",
                if l.chars().count() > 200 { "…" } else { "" }
            )
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::StopCause;

    fn run(argv: &[&str], exit: Option<i32>, out: &str) -> RunRecord {
        RunRecord {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            dir: "/tmp/x".into(),
            exit_code: exit,
            timed_out: false,
            millis: 5,
            output_tail: out.into(),
            stdout: String::new(),
            stopped_by: None,
            spawn_error: None,
            signal: None,
            leftovers_killed: 0,
        }
    }

    #[test]
    fn pytest_exit_codes_two_to_five_are_the_environment_one_is_a_verdict() {
        let argv = ["python3", "-m", "pytest", "-q"];
        for code in 2..=5 {
            let r = run(&argv, Some(code), "== 1 error in 0.2s ==");
            let why = could_not_run(&r).unwrap_or_else(|| panic!("exit {code}"));
            assert!(why.contains(&format!("exit {code}")), "{why}");
        }
        assert!(could_not_run(&run(
            &argv,
            Some(1),
            "FAILED tests/test_a.py::t - assert 1 == 2"
        ))
        .is_none());
        assert!(could_not_run(&run(&argv, Some(0), "1 passed")).is_none());
        // Exit 2 of another program is not pytest's.
        assert!(could_not_run(&run(&["python3", "check.py"], Some(2), "usage")).is_none());
        // ...unless its banner says it is pytest.
        let banner = "============ test session starts ============\nERROR tests/x.py";
        assert!(could_not_run(&run(&["make", "test"], Some(2), banner)).is_some());
    }

    #[test]
    fn import_collection_and_service_errors_are_quoted() {
        let r = run(
            &["python3", "-m", "pytest"],
            Some(1),
            "tests/test_graph.py:3: in <module>\nE   redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused.\n1 error",
        );
        let why = could_not_run(&r).unwrap();
        assert!(
            why.contains("a service the tests need is not running"),
            "{why}"
        );
        assert!(
            why.contains("Error 111 connecting to localhost:6379"),
            "{why}"
        );
        let r = run(
            &["python3", "t.py"],
            Some(1),
            "ModuleNotFoundError: No module named 'falkordb'",
        );
        assert!(could_not_run(&r)
            .unwrap()
            .contains("No module named 'falkordb'"));
    }

    #[test]
    fn not_started_and_out_of_budget_are_the_environment_a_slow_change_is_not() {
        let mut r = run(&["no-such-tool"], None, "");
        r.spawn_error = Some("cannot run \"no-such-tool\": program or directory not found".into());
        assert!(could_not_run(&r).unwrap().contains("could not be started"));
        let mut r = run(&["pytest"], None, "");
        r.timed_out = true;
        r.stopped_by = Some(StopCause::Deadline);
        assert!(could_not_run(&r).unwrap().contains("time budget"));
        r.stopped_by = Some(StopCause::Timeout);
        assert!(could_not_run(&r).is_none());
    }
}
