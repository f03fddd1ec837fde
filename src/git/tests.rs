use super::*;
use crate::error::GitRefusal;

/// A real repository driven with the git command line, pinned like the suite's.
struct Repo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn git_in(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Human")
        .env("GIT_AUTHOR_EMAIL", "h@example.com")
        .env("GIT_COMMITTER_NAME", "Human")
        .env("GIT_COMMITTER_EMAIL", "h@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-05T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-05T00:00:00Z")
        .env("GIT_EDITOR", "true")
        .output()
        .expect("git runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text.trim().to_string())
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("system");
        std::fs::create_dir_all(&root).unwrap();
        let r = Repo { _dir: dir, root };
        r.git(&["init", "-q", "-b", "main"]);
        r.write("a.txt", "one\n");
        r.write("dir/b.txt", "bee\n");
        r.git(&["add", "-A"]);
        r.git(&["commit", "-qm", "first"]);
        r
    }

    fn git(&self, args: &[&str]) -> String {
        let (ok, out) = git_in(&self.root, args);
        assert!(ok, "git {args:?}: {out}");
        out
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel)).ok()
    }

    fn open(&self) -> Git {
        Git::open(&self.root).unwrap()
    }

    /// A commit on top of main (not on any branch) changing a.txt, adding c.txt and
    /// deleting dir/b.txt.
    fn next_commit(&self, git: &Git) -> (Oid, Oid) {
        let old = git.ref_oid("main").unwrap().unwrap();
        let mut ch = BTreeMap::new();
        ch.insert("a.txt".to_string(), Some(b"two\n".to_vec()));
        ch.insert("c.txt".to_string(), Some(b"sea\n".to_vec()));
        ch.insert("dir/b.txt".to_string(), None);
        let when = crate::clock::parse_ts("2026-01-05T01:00:00Z").unwrap();
        (
            old,
            git.commit_changes(Some(old), &ch, "change", when).unwrap(),
        )
    }

    /// Like `next_commit`, returning the commit or the error.
    fn next_commit_result(&self, git: &Git) -> Result<Oid> {
        let old = git.ref_oid("main").unwrap().unwrap();
        let mut ch = BTreeMap::new();
        ch.insert("e.txt".to_string(), Some(b"e\n".to_vec()));
        let when = crate::clock::parse_ts("2026-01-05T02:00:00Z").unwrap();
        git.commit_changes(Some(old), &ch, "another", when)
    }

    fn status(&self) -> String {
        self.git(&["status", "--porcelain", "--untracked-files=no"])
    }
}

fn refusal(e: &anyhow::Error) -> GitRefusal {
    e.downcast_ref::<GitRefusal>()
        .unwrap_or_else(|| panic!("not a typed refusal: {e:#}"))
        .clone()
}

#[test]
fn every_worktree_shares_one_local_dir_and_so_one_cycle_lock() {
    let r = Repo::new();
    let wt = r.root.parent().unwrap().join("linked");
    r.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    let main = r.open();
    let linked = Git::open(&wt).unwrap();
    assert_eq!(main.local_dir().unwrap(), linked.local_dir().unwrap());
    let held = crate::lock::CycleLock::try_acquire(&linked.local_dir().unwrap()).unwrap();
    assert!(matches!(held, crate::lock::Acquire::Held(_)));
    let second = crate::lock::CycleLock::try_acquire(&main.local_dir().unwrap()).unwrap();
    assert!(matches!(second, crate::lock::Acquire::Busy(_)));
}

#[test]
fn a_branch_checked_out_in_another_worktree_is_in_use() {
    let r = Repo::new();
    let wt = r.root.parent().unwrap().join("linked");
    r.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    let main = r.open();
    assert_eq!(main.worktree_conflict("main").unwrap(), None, "ours");
    match main.worktree_conflict("side").unwrap() {
        Some(GitRefusal::BranchInUse { worktree, how, .. }) => {
            assert_eq!(worktree.canonicalize().unwrap(), wt.canonicalize().unwrap());
            assert_eq!(how, "checked out");
        }
        other => panic!("{other:?}"),
    }
    let linked = Git::open(&wt).unwrap();
    assert!(linked.worktree_conflict("main").unwrap().is_some());
    assert_eq!(linked.worktree_conflict("side").unwrap(), None);
    // git itself refuses to move it; so does advance_branch, and writes nothing.
    let (old, new) = r.next_commit(&main);
    let side = main.ref_oid("side").unwrap().unwrap();
    assert_eq!(side, old);
    let e = main.advance_branch("side", old, new, "test").unwrap_err();
    assert!(
        matches!(refusal(&e), GitRefusal::BranchInUse { .. }),
        "{e:#}"
    );
    assert_eq!(main.ref_oid("side").unwrap(), Some(old));
    let (_, st) = git_in(&wt, &["status", "--porcelain"]);
    assert_eq!(st, "");
}

#[test]
fn operations_in_progress_are_found_in_every_worktree() {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.write("a.txt", "topic\n");
    r.git(&["commit", "-qam", "topic"]);
    r.git(&["checkout", "-q", "main"]);
    r.write("a.txt", "main\n");
    r.git(&["commit", "-qam", "main"]);
    let git = r.open();
    assert_eq!(git.operation_in_progress().unwrap(), None);
    // A human's rebase of topic onto main stops on a conflict.
    r.git(&["checkout", "-q", "topic"]);
    let (ok, _) = git_in(&r.root, &["rebase", "main"]);
    assert!(!ok, "the rebase stops on the conflict");
    let git = r.open();
    match git.operation_in_progress().unwrap() {
        Some(GitRefusal::OperationInProgress { operation, .. }) => assert_eq!(operation, "rebase"),
        other => panic!("{other:?}"),
    }
    match git.worktree_conflict("topic").unwrap() {
        Some(GitRefusal::BranchInUse { how, .. }) => assert_eq!(how, "being rebased"),
        other => panic!("{other:?}"),
    }
    // Moving the branch under the rebase would break `git rebase --continue`.
    let tip = git.ref_oid("topic").unwrap().unwrap();
    let main_tip = git.ref_oid("main").unwrap().unwrap();
    let e = git
        .advance_branch("topic", tip, main_tip, "test")
        .unwrap_err();
    assert!(
        matches!(refusal(&e), GitRefusal::BranchInUse { .. }),
        "{e:#}"
    );
    assert_eq!(git.ref_oid("topic").unwrap(), Some(tip));
    r.git(&["rebase", "--abort"]);

    // A merge, a cherry-pick and a revert stopped on conflicts; a bisect.
    for (op, args) in [
        ("merge", vec!["merge", "topic"]),
        ("cherry-pick", vec!["cherry-pick", "topic"]),
    ] {
        r.git(&["checkout", "-q", "main"]);
        let (ok, _) = git_in(&r.root, &args);
        assert!(!ok);
        match r.open().operation_in_progress().unwrap() {
            Some(GitRefusal::OperationInProgress { operation, .. }) => assert_eq!(operation, op),
            other => panic!("{op}: {other:?}"),
        }
        r.git(&[op, "--abort"]);
    }
    let wt = r.root.parent().unwrap().join("linked");
    r.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "topic"]);
    git_in(&wt, &["bisect", "start"]);
    match r.open().operation_in_progress().unwrap() {
        Some(GitRefusal::OperationInProgress {
            operation,
            worktree,
            ..
        }) => {
            assert_eq!(operation, "bisect");
            assert_eq!(worktree.canonicalize().unwrap(), wt.canonicalize().unwrap());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn advance_branch_moves_ref_files_and_index_together() {
    let r = Repo::new();
    let git = r.open();
    let (old, new) = r.next_commit(&git);
    git.advance_branch("main", old, new, "test").unwrap();
    assert_eq!(git.ref_oid("main").unwrap(), Some(new));
    assert_eq!(r.read("a.txt").as_deref(), Some("two\n"));
    assert_eq!(r.read("c.txt").as_deref(), Some("sea\n"));
    assert_eq!(r.read("dir/b.txt"), None);
    assert_eq!(r.status(), "");
    assert!(!r.root.join(".git/index.lock").exists());
}

#[test]
fn a_foreign_index_lock_is_named_and_nothing_is_written() {
    let r = Repo::new();
    let git = r.open();
    let (old, new) = r.next_commit(&git);
    let lock = r.root.join(".git/index.lock");
    std::fs::write(&lock, b"").unwrap();
    let e = git.advance_branch("main", old, new, "test").unwrap_err();
    match refusal(&e) {
        GitRefusal::IndexLocked { path } => assert_eq!(path, lock),
        other => panic!("{other:?}"),
    }
    assert!(format!("{e:#}").contains("index.lock"));
    assert_eq!(git.ref_oid("main").unwrap(), Some(old));
    assert_eq!(r.read("a.txt").as_deref(), Some("one\n"));
    assert_eq!(r.read("c.txt"), None);
    assert!(lock.exists(), "someone else's lock is theirs to remove");
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(r.status(), "");
}

#[test]
fn a_failed_ref_update_leaves_the_tree_as_it_found_it() {
    let r = Repo::new();
    let git = r.open();
    let (old, new) = r.next_commit(&git);
    // The branch moved meanwhile: the expected old value no longer holds.
    r.write("d.txt", "moved\n");
    r.git(&["add", "d.txt"]);
    r.git(&["commit", "-qm", "a human's commit"]);
    let moved = git.ref_oid("main").unwrap().unwrap();
    assert!(git.advance_branch("main", old, new, "test").is_err());
    assert_eq!(git.ref_oid("main").unwrap(), Some(moved));
    assert_eq!(r.read("a.txt").as_deref(), Some("one\n"));
    assert_eq!(r.read("dir/b.txt").as_deref(), Some("bee\n"));
    assert_eq!(r.read("c.txt"), None);
    assert_eq!(r.status(), "");
    assert!(!r.root.join(".git/index.lock").exists());
}

#[test]
fn a_dirty_tree_is_a_typed_refusal() {
    let r = Repo::new();
    let git = r.open();
    let (old, new) = r.next_commit(&git);
    r.write("a.txt", "a human's edit\n");
    let e = git.advance_branch("main", old, new, "test").unwrap_err();
    assert!(matches!(refusal(&e), GitRefusal::Dirty { .. }), "{e:#}");
    assert_eq!(r.read("a.txt").as_deref(), Some("a human's edit\n"));
    assert_eq!(git.ref_oid("main").unwrap(), Some(old));
}

#[test]
fn behind_its_upstream_is_not_diverged() {
    let r = Repo::new();
    let origin = r.root.parent().unwrap().join("origin.git");
    let (ok, out) = git_in(
        r.root.parent().unwrap(),
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            origin.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    r.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    r.git(&["push", "-q", "-u", "origin", "main"]);
    let git = r.open();
    assert_eq!(git.upstream_relation("main").unwrap(), Upstream::UpToDate);
    assert_eq!(git.upstream_relation("nobranch").unwrap(), Upstream::None);
    // Someone pushed; we fetched but did not merge.
    let other = r.root.parent().unwrap().join("other");
    let (ok, out) = git_in(
        r.root.parent().unwrap(),
        &[
            "clone",
            "-q",
            origin.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    std::fs::write(other.join("o.txt"), "o\n").unwrap();
    for args in [
        &["add", "-A"][..],
        &["commit", "-qm", "other"],
        &["push", "-q", "origin", "main"],
    ] {
        let (ok, out) = git_in(&other, args);
        assert!(ok, "{args:?}: {out}");
    }
    r.git(&["fetch", "-q", "origin"]);
    assert_eq!(git.upstream_relation("main").unwrap(), Upstream::Behind(1));
    let e = git.require_upstream_ok("main").unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("behind") && msg.contains("fast-forward"),
        "{msg}"
    );
    assert!(!msg.contains("diverged"), "{msg}");
    r.write("l.txt", "l\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "local"]);
    assert_eq!(
        git.upstream_relation("main").unwrap(),
        Upstream::Diverged {
            ahead: 1,
            behind: 1
        }
    );
    assert!(format!("{:#}", git.require_upstream_ok("main").unwrap_err()).contains("diverged"));
    r.git(&["merge", "-q", "origin/main", "-m", "merge"]);
    assert_eq!(git.upstream_relation("main").unwrap(), Upstream::Ahead(2));
    git.require_upstream_ok("main").unwrap();
}

#[test]
fn a_shallow_clone_says_so() {
    let r = Repo::new();
    r.write("a.txt", "second\n");
    r.git(&["commit", "-qam", "second"]);
    let shallow = r.root.parent().unwrap().join("shallow");
    let url = format!("file://{}", r.root.display());
    let (ok, out) = git_in(
        r.root.parent().unwrap(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &url,
            shallow.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    let git = Git::open(&shallow).unwrap();
    let e = git.ensure_full_history("a deploy's backup").unwrap_err();
    assert!(format!("{e:#}").contains("git -C"), "{e:#}");
    assert!(matches!(refusal(&e), GitRefusal::Shallow { .. }));
    let tip = git.ref_oid("main").unwrap().unwrap();
    let e = git.parents(tip).unwrap_err();
    assert!(format!("{e:#}").contains("--unshallow"), "{e:#}");
    r.open().ensure_full_history("x").unwrap();
}

#[test]
fn a_repository_owned_by_another_user_gets_an_actionable_message() {
    let e = not_owner_or(
        git2::Error::new(
            git2::ErrorCode::Owner,
            git2::ErrorClass::Config,
            "repository path '/srv/mind/' is not owned by current user",
        ),
        Path::new("/srv/mind"),
    );
    let msg = format!("{e:#}");
    assert!(
        msg.contains("git config --global --add safe.directory /srv/mind"),
        "{msg}"
    );
    // End to end where the test may change owners.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: the chown half of this test needs root");
        return;
    }
    let r = Repo::new();
    let c = std::ffi::CString::new(r.root.join(".git").to_str().unwrap()).unwrap();
    // SAFETY: chown on a path we created.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 4242, 4242) }, 0);
    let c = std::ffi::CString::new(r.root.to_str().unwrap()).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 4242, 4242) }, 0);
    let e = Git::open(&r.root).err().expect("refused");
    let msg = format!("{e:#}");
    assert!(
        msg.contains("owned by another user") && msg.contains("safe.directory"),
        "{msg}"
    );
    assert!(matches!(refusal(&e), GitRefusal::NotOwner { .. }));
}

#[test]
fn a_git_error_without_a_reason_is_not_printed_as_no_error() {
    let silent = git2::Error::new(
        git2::ErrorCode::GenericError,
        git2::ErrorClass::None,
        "no error",
    );
    let msg = format!(
        "{:#}",
        explain(silent, "writing the records commit", Some(12 * 1024))
    );
    assert!(!msg.contains("no error"), "{msg}");
    assert!(
        msg.contains("writing the records commit") && msg.contains("12 KiB free"),
        "{msg}"
    );
    let silent = git2::Error::new(
        git2::ErrorCode::GenericError,
        git2::ErrorClass::None,
        "no error",
    );
    let msg = format!("{:#}", explain(silent, "writing a tree", Some(50 << 30)));
    assert!(msg.contains("without giving a reason"), "{msg}");
    let full = git2::Error::new(
        git2::ErrorCode::GenericError,
        git2::ErrorClass::Os,
        "failed to write out file: No space left on device",
    );
    let msg = format!(
        "{:#}",
        explain(full, "updating refs/heads/improve/records", Some(0))
    );
    assert!(
        msg.contains("No space left on device") && msg.contains("free some space"),
        "{msg}"
    );
    assert!(!msg.contains("moved meanwhile"), "{msg}");
}

#[test]
fn commit_hooks_are_never_silently_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let r = Repo::new();
    let git = r.open();
    let (old, new) = r.next_commit(&git);
    // git's samples do not count.
    assert!(git.active_commit_hooks().is_empty());
    let hook = r.root.join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = git.advance_branch("main", old, new, "test").unwrap_err();
    match refusal(&e) {
        GitRefusal::HooksNotRun { hooks } => assert_eq!(hooks, vec!["pre-commit"]),
        other => panic!("{other:?}"),
    }
    assert!(format!("{e:#}").contains("git config improve.hooks skip"));
    assert_eq!(git.ref_oid("main").unwrap(), Some(old));
    r.git(&["config", "improve.hooks", "skip"]);
    git.advance_branch("main", old, new, "test").unwrap();
    assert_eq!(git.ref_oid("main").unwrap(), Some(new));
}

/// A stand-in for gpg that records what git's protocol gives it and signs nothing.
const FAKE_GPG: &str = "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\ncat > \"$(dirname \"$0\")/payload\"\necho '[GNUPG:] SIG_CREATED D 22 8 00 1 X' >&2\nprintf -- '-----BEGIN PGP SIGNATURE-----\\n\\nfake\\n-----END PGP SIGNATURE-----\\n'\n";

#[test]
fn commit_gpgsign_is_honoured_with_the_configured_program_and_key() {
    use std::os::unix::fs::PermissionsExt;
    let r = Repo::new();
    let bin = r.root.parent().unwrap().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gpg = bin.join("gpg");
    std::fs::write(&gpg, FAKE_GPG).unwrap();
    std::fs::set_permissions(&gpg, std::fs::Permissions::from_mode(0o755)).unwrap();
    r.git(&["config", "commit.gpgsign", "true"]);
    r.git(&["config", "gpg.program", gpg.to_str().unwrap()]);
    r.git(&["config", "user.signingkey", "ABCD1234"]);
    let git = r.open();
    let (_, new) = r.next_commit(&git);
    let raw = r.git(&["cat-file", "commit", &new.to_string()]);
    assert!(
        raw.contains("gpgsig -----BEGIN PGP SIGNATURE-----"),
        "{raw}"
    );
    assert!(raw.contains(" fake"), "{raw}");
    assert_eq!(
        std::fs::read_to_string(bin.join("args")).unwrap().trim(),
        "--status-fd=2 -bsau ABCD1234"
    );
    let payload = std::fs::read_to_string(bin.join("payload")).unwrap();
    assert!(
        payload.starts_with("tree ") && payload.ends_with("change"),
        "{payload:?}"
    );
    // A signer that fails is a typed refusal naming the way out.
    std::fs::write(&gpg, "#!/bin/sh\necho 'no secret key' >&2\nexit 2\n").unwrap();
    let e = r.next_commit_result(&git).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        matches!(refusal(&e), GitRefusal::CannotSign { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("no secret key") && msg.contains("improve.gpgsign false"),
        "{msg}"
    );
    r.git(&["config", "improve.gpgsign", "false"]);
    let unsigned = r.next_commit_result(&git).unwrap();
    assert!(!r
        .git(&["cat-file", "commit", &unsigned.to_string()])
        .contains("gpgsig"));
}

#[test]
fn ssh_signing_gives_a_signature_git_verifies() {
    let r = Repo::new();
    let key = r.root.parent().unwrap().join("id_ed25519");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "improve-test", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = r.root.parent().unwrap().join("allowed_signers");
    std::fs::write(&allowed, format!("h@example.com {public}")).unwrap();
    r.git(&["config", "commit.gpgsign", "true"]);
    r.git(&["config", "gpg.format", "ssh"]);
    r.git(&["config", "user.signingkey", key.to_str().unwrap()]);
    r.git(&["config", "user.email", "h@example.com"]);
    r.git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        allowed.to_str().unwrap(),
    ]);
    let git = r.open();
    let (_, new) = r.next_commit(&git);
    let (ok, out) = git_in(&r.root, &["verify-commit", &new.to_string()]);
    assert!(ok, "git verify-commit: {out}");
    assert!(out.contains("Good \"git\" signature"), "{out}");
}

/// The id libgit2 computes is the one `git patch-id --stable` prints, so a squash made
/// on any forge is matched whatever computed it; line numbers do not count.
#[test]
fn patch_ids_match_git_patch_id_stable_and_ignore_line_numbers() {
    let r = Repo::new();
    let lines: String = (0..40).map(|i| format!("line {i}\n")).collect();
    r.write("a.py", &lines);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "base"]);
    r.write("a.py", &lines.replace("line 30\n", "line thirty\n"));
    r.write("c.txt", "new\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-qm", "change"]);
    let show = r.git(&["show", "HEAD"]) + "\n";
    let mut c = std::process::Command::new("git")
        .args(["patch-id", "--stable"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(show.as_bytes()).unwrap();
    let out = String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap();
    let expected = out.split_whitespace().next().unwrap().to_string();

    let g = r.open();
    let head = g.resolve("HEAD").unwrap();
    let id = g.commit_patch_id(head).unwrap().unwrap();
    assert_eq!(id.to_string(), expected);
    // The same change on another base (lines added above it) has the same id.
    r.git(&["checkout", "-q", "-b", "other", "HEAD~1"]);
    r.write("a.py", &format!("header\n{lines}"));
    r.git(&["commit", "-qam", "header"]);
    r.git(&["cherry-pick", "main"]);
    let picked = g.resolve("HEAD").unwrap();
    assert_ne!(picked, head);
    assert_eq!(g.commit_patch_id(picked).unwrap(), Some(id));
    // A revert is the inverse patch, not the same one.
    r.git(&["revert", "--no-edit", "HEAD"]);
    let revert = g.resolve("HEAD").unwrap();
    let inverse = g.patch_id(picked, g.resolve("HEAD~2").unwrap()).unwrap();
    assert_ne!(g.commit_patch_id(revert).unwrap(), Some(id));
    assert_eq!(g.commit_patch_id(revert).unwrap(), inverse);
    assert_eq!(g.patch_id(head, head).unwrap(), None);
}

#[test]
fn changes_over_a_packed_tree_keep_modes_drop_empty_directories_and_pass_fsck() {
    let r = Repo::new();
    r.write("bin/run.sh", "#!/bin/sh\n");
    r.write("deep/x/y.txt", "why\n");
    r.git(&["add", "-A"]);
    r.git(&["update-index", "--chmod=+x", "bin/run.sh"]);
    r.git(&["commit", "-qm", "more"]);
    // Everything packed: the blobs and trees below are written loose next to a pack
    // that already holds some of them (the unchanged content of a.txt).
    r.git(&["repack", "-adq"]);
    let git = r.open();
    let old = git.ref_oid("main").unwrap().unwrap();
    let mut ch = BTreeMap::new();
    ch.insert(
        "bin/run.sh".to_string(),
        Some(b"#!/bin/sh\nexit 0\n".to_vec()),
    );
    ch.insert("deep/x/y.txt".to_string(), None);
    ch.insert("a.txt".to_string(), Some(b"one\n".to_vec()));
    ch.insert("new/z.txt".to_string(), Some(b"zed\n".to_vec()));
    let when = crate::clock::parse_ts("2026-01-05T03:00:00Z").unwrap();
    let c = git
        .commit_changes(Some(old), &ch, "over a pack", when)
        .unwrap();
    let c = c.to_string();
    let tree = r.git(&["ls-tree", "-r", "-t", &c]);
    let rows: Vec<(&str, &str)> = tree
        .lines()
        .map(|l| {
            let (meta, name) = l.split_once('\t').unwrap();
            (meta.split(' ').next().unwrap(), name)
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("100644", "a.txt"),
            ("040000", "bin"),
            ("100755", "bin/run.sh"),
            ("040000", "dir"),
            ("100644", "dir/b.txt"),
            ("040000", "new"),
            ("100644", "new/z.txt"),
        ],
        "the executable bit kept, deep/ and deep/x/ gone with their only file"
    );
    assert_eq!(
        r.git(&["show", &format!("{c}:bin/run.sh")]),
        "#!/bin/sh\nexit 0"
    );
    r.git(&["fsck", "--full", "--strict", "--no-dangling"]);
}
