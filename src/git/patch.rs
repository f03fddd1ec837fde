//! Patch ids: the same change under another commit (a squash or a rebase on the forge,
//! a cherry-pick, a revert made there) is recognised by the hash of its diff, as `git
//! patch-id --stable` computes it: line numbers and whitespace do not count.

use super::Git;
use anyhow::Result;
use git2::Oid;

impl Git {
    /// The stable patch id of the change from `from` to `to` (any two commits), or
    /// None when their trees are the same.
    pub fn patch_id(&self, from: Oid, to: Oid) -> Result<Option<Oid>> {
        let a = self.tree_of(from)?;
        let b = self.tree_of(to)?;
        if a.id() == b.id() {
            return Ok(None);
        }
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&a), Some(&b), None)
            .map_err(|e| self.explain(e, format!("diffing {from}..{to}")))?;
        let id = diff
            .patchid(None)
            .map_err(|e| self.explain(e, format!("the patch id of {from}..{to}")))?;
        Ok(Some(id))
    }

    /// The patch id of `commit` against its only parent; None for a root, a merge or
    /// an empty commit (none of them is one change that could be matched).
    pub fn commit_patch_id(&self, commit: Oid) -> Result<Option<Oid>> {
        match self.parents(commit)?.as_slice() {
            [parent] => self.patch_id(*parent, commit),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// The id libgit2 computes is the one `git patch-id --stable` prints, so a squash
    /// made on any forge is matched whatever computed it.
    #[test]
    fn patch_ids_match_git_patch_id_stable_and_ignore_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        let lines: String = (0..40).map(|i| format!("line {i}\n")).collect();
        std::fs::write(d.join("a.py"), &lines).unwrap();
        std::fs::write(d.join("b.txt"), "b\n").unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-qm", "base"]);
        std::fs::write(d.join("a.py"), lines.replace("line 30\n", "line thirty\n")).unwrap();
        std::fs::write(d.join("c.txt"), "new\n").unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-qm", "change"]);
        let show = git(d, &["show", "HEAD"]);
        let mut c = Command::new("git")
            .args(["patch-id", "--stable"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin.take().unwrap().write_all(show.as_bytes()).unwrap();
        let out = String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap();
        let expected = out.split_whitespace().next().unwrap().to_string();

        let g = Git::open(d).unwrap();
        let head = g.resolve("HEAD").unwrap();
        let id = g.commit_patch_id(head).unwrap().unwrap();
        assert_eq!(id.to_string(), expected);

        // The same change on another base (lines added above it) has the same id.
        git(d, &["checkout", "-q", "-b", "other", "HEAD~1"]);
        std::fs::write(d.join("a.py"), format!("header\n{lines}")).unwrap();
        git(d, &["commit", "-qam", "header"]);
        git(d, &["cherry-pick", "main"]);
        let picked = g.resolve("HEAD").unwrap();
        assert_ne!(picked, head);
        assert_eq!(g.commit_patch_id(picked).unwrap(), Some(id));
        // The revert is another patch; its inverse is the change's.
        git(d, &["revert", "--no-edit", "HEAD"]);
        let revert = g.resolve("HEAD").unwrap();
        assert_ne!(g.commit_patch_id(revert).unwrap(), Some(id));
        assert_eq!(
            g.commit_patch_id(revert).unwrap(),
            g.patch_id(picked, g.resolve("HEAD~2").unwrap()).unwrap()
        );
        assert_eq!(g.patch_id(head, head).unwrap(), None);
    }
}
