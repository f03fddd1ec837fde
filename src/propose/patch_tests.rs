use super::*;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs")
}

/// The patch from `old` to `new` passes `git apply --check`, `git apply` produces
/// `new`, and the reversed patch brings `old` back, with git and with `apply`.
fn round_trip_with_git(path: &str, old: Option<&str>, new: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(git(root, &["init", "-q"]).status.success());
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    if let Some(old) = old {
        std::fs::write(&file, old).unwrap();
    }
    let patch = unified_diff(path, old, new);
    let scratch = tempfile::tempdir().unwrap();
    let patch_file = scratch.path().join("change.patch");
    std::fs::write(&patch_file, &patch).unwrap();
    let check = git(root, &["apply", "--check", patch_file.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "git apply --check refused:\n{}\n{patch}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(git(root, &["apply", patch_file.to_str().unwrap()])
        .status
        .success());
    assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), new);
    assert_eq!(apply(old.unwrap_or(""), &patch).unwrap(), new.unwrap_or(""));

    let back = reverse(&patch);
    std::fs::write(&patch_file, &back).unwrap();
    let check = git(root, &["apply", "--check", patch_file.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "git apply --check refused the reverse:\n{}\n{back}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(git(root, &["apply", patch_file.to_str().unwrap()])
        .status
        .success());
    assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), old);
    assert_eq!(apply(new.unwrap_or(""), &back).unwrap(), old.unwrap_or(""));
}

const CONSTANTS: &str = include_str!("edit/fixtures/constants.py");

#[test]
fn git_accepts_a_modification() {
    let new = CONSTANTS.replace("INTENTION_WEIGHT = 0.25", "INTENTION_WEIGHT = 0.30");
    round_trip_with_git("runtime/physics/constants.py", Some(CONSTANTS), Some(&new));
    let patch = unified_diff("runtime/physics/constants.py", Some(CONSTANTS), Some(&new));
    assert!(patch.starts_with(
        "diff --git a/runtime/physics/constants.py b/runtime/physics/constants.py\n\
         --- a/runtime/physics/constants.py\n+++ b/runtime/physics/constants.py\n@@ -23,7 +23,7 @@\n"
    ));
    assert!(
        patch.contains("\n-INTENTION_WEIGHT = 0.25  #")
            && patch.contains("\n+INTENTION_WEIGHT = 0.30  #")
    );
}

#[test]
fn git_accepts_new_and_deleted_files() {
    round_trip_with_git("skills/explore.md", None, Some("# Explore\n\nGuidance.\n"));
    round_trip_with_git("skills/explore.md", Some("# Explore\n"), None);
    round_trip_with_git("empty.txt", None, Some(""));
    let patch = unified_diff("a.md", None, Some("x\n"));
    assert!(
        patch.contains("new file mode 100644\n--- /dev/null\n+++ b/a.md\n@@ -0,0 +1,1 @@\n+x\n")
    );
}

#[test]
fn git_accepts_missing_trailing_newlines() {
    round_trip_with_git("p.yaml", Some("a: 1\nb: 2"), Some("a: 1\nb: 3"));
    round_trip_with_git("p.yaml", Some("a: 1\nb: 2"), Some("a: 1\nb: 2\n"));
    round_trip_with_git("p.yaml", Some("a: 1\n"), Some("a: 1\nb: 2"));
    round_trip_with_git("p.yaml", None, Some("only"));
    let patch = unified_diff("p", Some("a"), Some("b"));
    assert_eq!(
        patch,
        "diff --git a/p b/p\n--- a/p\n+++ b/p\n@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"
    );
}

#[test]
fn several_hunks() {
    let old: String = (0..60).map(|i| format!("line {i}\n")).collect();
    let new = old
        .replace("line 5\n", "line five\n")
        .replace("line 50\n", "");
    let patch = unified_diff("f", Some(&old), Some(&new));
    assert_eq!(patch.matches("\n@@ ").count(), 2, "{patch}");
    round_trip_with_git("f", Some(&old), Some(&new));
}

#[test]
fn nothing_changed_is_empty() {
    assert_eq!(unified_diff("f", Some("a\n"), Some("a\n")), "");
    assert_eq!(unified_diff("f", None, None), "");
    assert_eq!(apply("a\n", "").unwrap(), "a\n");
}

#[test]
fn apply_refuses_mismatches() {
    let patch = unified_diff("f", Some("a\nb\nc\n"), Some("a\nB\nc\n"));
    let err = apply("a\nx\nc\n", &patch).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("\"b\\n\""), "{err}");
    assert!(
        apply("a\nb\nc", &patch).is_err(),
        "a missing newline is a mismatch"
    );
    assert!(apply("", &patch).is_err());
    let created = unified_diff("f", None, Some("x\n"));
    assert!(apply("already\n", &created).is_err());
    assert!(
        apply("a\n", "@@ -1,1 +1,1 @@\n-a\n").is_err(),
        "truncated hunk"
    );
    assert!(apply("a\n", "garbage\n").is_err());
    let two = format!("{patch}{patch}");
    assert!(apply("a\nb\nc\n", &two).is_err(), "two file sections");
}

#[test]
fn leading_deletion_has_the_right_new_start() {
    // Found by the property test: similar reports this deletion with new_index 1.
    let a = "\\ No newline\n@@ -1 +1 @@\n\na\na\na\nb\nb\na\na";
    let b = "@@ -1 +1 @@\nc\n@@ -1 +1 @@\nc\nc\n\na";
    let patch = unified_diff("f", Some(a), Some(b));
    assert!(patch.contains("@@ -1,10 +1,7 @@"), "{patch}");
    round_trip_with_git("f", Some(a), Some(b));
}

#[test]
fn multibyte_line_start_is_an_error_not_a_panic() {
    // Found by the hostile-input test.
    assert!(apply("a\n", "@@ -1,1 +1,1 @@\n\u{FFFD}+ a:\n").is_err());
}
