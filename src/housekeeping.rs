//! Keeps the repository's object store packed and says how big it is and how fast it
//! grows. Every cycle writes a score of objects through libgit2, which never packs:
//! left alone, a year of hourly cycles is hundreds of thousands of loose objects and
//! tens of gigabytes. Packing runs through the git binary as geometric repacking (its
//! cost follows the new objects, not the repository), once loose objects pass a
//! threshold, and never while another git process holds one of its locks.

use crate::clock::{fmt_ts, parse_ts, Timestamp};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// When to pack.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Pack once there are at least this many loose objects (git's own `gc.auto` is
    /// 6,700; a cycle writes about twenty, so this is every hundred cycles or so).
    pub max_loose_objects: u64,
    /// ... or once they take this many bytes.
    pub max_loose_bytes: u64,
    /// The git binary.
    pub git: PathBuf,
    /// Growth is measured over the size samples of this many days.
    pub growth_days: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_loose_objects: 2_000,
            max_loose_bytes: 64 << 20,
            git: PathBuf::from("git"),
            growth_days: 30,
        }
    }
}

/// The object store's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub loose_objects: u64,
    pub loose_bytes: u64,
    pub packs: u64,
    /// Packs with their indexes (and reverse indexes, bitmaps).
    pub pack_bytes: u64,
}

impl Size {
    pub fn bytes(&self) -> u64 {
        self.loose_bytes + self.pack_bytes
    }
}

/// How fast the object store grows, from the samples `run` keeps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Growth {
    /// Least-squares slope of the packed size over time.
    pub bytes_per_day: f64,
    /// The span the samples cover.
    pub days: f64,
    pub samples: usize,
}

/// What `run` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Under the thresholds: nothing to do.
    Nothing,
    /// Packed (geometric repack of loose objects and small packs).
    Packed { seconds: f64 },
    /// Over a threshold, but another git process holds a lock: next time.
    Deferred { lock: String },
    /// `git repack` failed (missing binary, disk full, ...): the store is as it was.
    Failed { message: String },
}

/// The outcome of one housekeeping pass, for the cycle record and `health`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub before: Size,
    pub after: Size,
    #[serde(flatten)]
    pub action: Action,
    pub growth: Option<Growth>,
}

impl Report {
    /// One line for the cycle's report, when anything happened.
    pub fn note(&self) -> Option<String> {
        match &self.action {
            Action::Nothing => None,
            Action::Packed { seconds } => Some(format!(
                "housekeeping: packed {} loose objects in {seconds:.1}s ({} -> {} bytes)",
                self.before.loose_objects,
                self.before.bytes(),
                self.after.bytes()
            )),
            Action::Deferred { lock } => Some(format!(
                "housekeeping: packing deferred, {lock} is held by another git process"
            )),
            Action::Failed { message } => Some(format!("housekeeping: packing failed: {message}")),
        }
    }
}

/// The size of the object store of the repository whose git directory is `git_dir`.
pub fn size(git_dir: &Path) -> Result<Size> {
    let objects = git_dir.join("objects");
    let mut s = Size::default();
    let dirs =
        std::fs::read_dir(&objects).with_context(|| format!("reading {}", objects.display()))?;
    for d in dirs.flatten() {
        let name = d.file_name();
        let name = name.to_string_lossy();
        let fan_out = name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if fan_out {
            for f in std::fs::read_dir(d.path())?.flatten() {
                if let Ok(m) = f.metadata() {
                    s.loose_objects += 1;
                    s.loose_bytes += m.len();
                }
            }
        } else if name == "pack" {
            for f in std::fs::read_dir(d.path())?.flatten() {
                let n = f.file_name();
                let n = n.to_string_lossy();
                if !n.starts_with("pack-") {
                    continue; // tmp_pack_* of a running git, .keep files
                }
                if n.ends_with(".pack") {
                    s.packs += 1;
                }
                if let Ok(m) = f.metadata() {
                    s.pack_bytes += m.len();
                }
            }
        }
    }
    Ok(s)
}

/// Locks another git process may be holding in `git_dir`: `*.lock` files at the top,
/// under `refs/`, `logs/`, `objects/info/`, `objects/pack/` and linked worktrees'
/// directories, and a `gc.pid` younger than git's own 12 hours.
pub fn foreign_locks(git_dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let is_lock = |p: &Path| p.extension().is_some_and(|e| e == "lock");
    let shallow = |dir: &Path, found: &mut Vec<PathBuf>| {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if is_lock(&p) && e.file_type().is_ok_and(|t| t.is_file()) {
                found.push(p);
            }
        }
    };
    shallow(git_dir, &mut found);
    for sub in ["objects/info", "objects/pack"] {
        shallow(&git_dir.join(sub), &mut found);
    }
    for wt in std::fs::read_dir(git_dir.join("worktrees"))
        .into_iter()
        .flatten()
        .flatten()
    {
        shallow(&wt.path(), &mut found);
    }
    for sub in ["refs", "logs"] {
        let mut stack = vec![git_dir.join(sub)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(_) if is_lock(&p) => found.push(p),
                    _ => {}
                }
            }
        }
    }
    let gc_pid = git_dir.join("gc.pid");
    let fresh = std::fs::metadata(&gc_pid)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(12 * 3600));
    if fresh {
        found.push(gc_pid);
    }
    found.sort();
    found
}

/// One housekeeping pass over the repository whose git directory is `git_dir`: packs
/// when the loose objects pass the policy's thresholds and no foreign lock is held,
/// records the size at `now` (in `git_dir/improve/housekeeping.json`) and reports the
/// growth. Failing to pack is reported, not an error: housekeeping never fails a cycle.
pub fn run(git_dir: &Path, policy: &Policy, now: Timestamp) -> Result<Report> {
    let before = size(git_dir)?;
    let due = before.loose_objects >= policy.max_loose_objects
        || before.loose_bytes >= policy.max_loose_bytes;
    let action = if !due {
        Action::Nothing
    } else if let Some(lock) = foreign_locks(git_dir).first() {
        Action::Deferred {
            lock: lock
                .strip_prefix(git_dir)
                .unwrap_or(lock)
                .display()
                .to_string(),
        }
    } else {
        pack(git_dir, policy)
    };
    let after = match action {
        Action::Packed { .. } | Action::Failed { .. } => size(git_dir)?,
        _ => before,
    };
    let growth = record(git_dir, now, after, policy.growth_days)?;
    Ok(Report {
        before,
        after,
        action,
        growth,
    })
}

/// What `health` shows, without packing or recording anything: the size now and the
/// growth over the samples the cycles' `run` kept.
pub fn status(git_dir: &Path, policy: &Policy, now: Timestamp) -> Result<(Size, Option<Growth>)> {
    let s = size(git_dir)?;
    let mut points = samples(git_dir, now, policy.growth_days);
    if points.last().is_none_or(|(t, _)| *t < now) {
        points.push((now, s.bytes()));
    }
    Ok((s, growth(&points)))
}

/// `git repack --geometric=2 -d`: loose objects and the smallest packs rolled into a
/// new pack so each pack holds at least twice the objects of the next smaller one;
/// `-d` deletes what the new pack makes redundant (and the packed loose objects).
fn pack(git_dir: &Path, policy: &Policy) -> Action {
    let t0 = std::time::Instant::now();
    let out = std::process::Command::new(&policy.git)
        .arg("--git-dir")
        .arg(git_dir)
        .args([
            "-c",
            "gc.autoDetach=false",
            "-c",
            "repack.writeBitmaps=false",
        ])
        .args(["repack", "-d", "-l", "-q", "--geometric=2"])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => Action::Packed {
            seconds: t0.elapsed().as_secs_f64(),
        },
        Ok(o) => Action::Failed {
            message: format!(
                "git repack exited {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
        },
        Err(e) => Action::Failed {
            message: format!("cannot run {}: {e}", policy.git.display()),
        },
    }
}

/// The size samples kept between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Samples {
    /// (time, bytes), oldest first, at most one an hour, none older than the span.
    samples: Vec<(String, u64)>,
}

const SAMPLES: &str = "improve/housekeeping.json";

/// The samples kept, from the last `days` before `now`, oldest first.
fn samples(git_dir: &Path, now: Timestamp, days: i64) -> Vec<(Timestamp, u64)> {
    let kept: Samples = std::fs::read(git_dir.join(SAMPLES))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let oldest = now - chrono::Duration::days(days);
    kept.samples
        .iter()
        .filter_map(|(t, b)| Some((parse_ts(t).ok()?, *b)))
        .filter(|(t, _)| *t >= oldest && *t <= now)
        .collect()
}

/// Adds a sample at `now` (at most one an hour) and returns the growth over the last
/// `days`.
fn record(git_dir: &Path, now: Timestamp, s: Size, days: i64) -> Result<Option<Growth>> {
    let mut points = samples(git_dir, now, days);
    let hour = chrono::Duration::hours(1);
    if points.last().is_none_or(|(t, _)| now - *t >= hour) {
        points.push((now, s.bytes()));
    }
    let kept = Samples {
        samples: points.iter().map(|(t, b)| (fmt_ts(*t), *b)).collect(),
    };
    crate::fsutil::write_atomic(&git_dir.join(SAMPLES), &serde_json::to_vec(&kept)?)?;
    Ok(growth(&points))
}

/// Least-squares bytes per day over the samples; `None` below two samples or an hour.
fn growth(points: &[(Timestamp, u64)]) -> Option<Growth> {
    let (first, last) = (points.first()?.0, points.last()?.0);
    let span = (last - first).num_seconds() as f64 / 86_400.0;
    if points.len() < 2 || span < 1.0 / 24.0 {
        return None;
    }
    let xs: Vec<f64> = points
        .iter()
        .map(|(t, _)| (*t - first).num_seconds() as f64 / 86_400.0)
        .collect();
    let ys: Vec<f64> = points.iter().map(|(_, b)| *b as f64).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    Some(Growth {
        bytes_per_day: sxy / sxx,
        days: span,
        samples: points.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Writes `n` loose blobs through libgit2 (as the tool does) and a commit on
    /// `branch` that reaches all of them.
    fn loose(repo: &git2::Repository, branch: &str, n: usize, salt: &str) {
        // Like the records' files: kilobytes each, much alike (git deltas them).
        let common: String = (0..200)
            .map(|k| format!("line {k} of the record\n"))
            .collect();
        let mut tb = repo.treebuilder(None).unwrap();
        for i in 0..n {
            let text = format!("{salt} object {i}\n{common}");
            let oid = repo.blob(text.as_bytes()).unwrap();
            tb.insert(format!("f{i:05}"), oid, 0o100644).unwrap();
        }
        let tree = repo.find_tree(tb.write().unwrap()).unwrap();
        let sig =
            git2::Signature::new("t", "t@example.com", &git2::Time::new(1_767_225_600, 0)).unwrap();
        repo.commit(
            Some(&format!("refs/heads/{branch}")),
            &sig,
            &sig,
            salt,
            &tree,
            &[],
        )
        .unwrap();
    }

    /// A fresh repository, its git directory, and a policy packing past `max_loose`.
    fn repo(max_loose: u64) -> (tempfile::TempDir, git2::Repository, PathBuf, Policy) {
        let d = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(d.path()).unwrap();
        let git_dir = repo.path().to_path_buf();
        let policy = Policy {
            max_loose_objects: max_loose,
            ..Policy::default()
        };
        (d, repo, git_dir, policy)
    }

    fn at(day: i64) -> Timestamp {
        parse_ts("2026-01-01T00:00:00Z").unwrap() + chrono::Duration::days(day)
    }

    #[test]
    fn loose_objects_are_packed_past_the_threshold_and_nothing_is_lost() {
        let (d, repo, git_dir, policy) = repo(1_000);
        loose(&repo, "a", 400, "first");
        let r = run(&git_dir, &policy, at(0)).unwrap();
        assert_eq!(r.action, Action::Nothing);
        assert_eq!(r.before.loose_objects, 402, "400 blobs, a tree, a commit");
        assert_eq!((r.after, r.growth), (r.before, None));

        loose(&repo, "b", 3_000, "second");
        let r = run(&git_dir, &policy, at(1)).unwrap();
        assert!(matches!(r.action, Action::Packed { .. }), "{r:?}");
        assert_eq!(r.before.loose_objects, 3_404);
        assert_eq!((r.after.loose_objects, r.after.packs), (0, 1));
        assert!(r.after.bytes() * 4 < r.before.bytes(), "{r:?}");
        // Every object is still there and the repository is sound.
        git(d.path(), &["fsck", "--full", "--no-dangling"]);
        let listed = git(d.path(), &["rev-list", "--objects", "--all"]);
        assert_eq!(listed.lines().count(), 3_404);
        let g = r.growth.expect("two samples a day apart");
        assert_eq!((g.samples, g.days), (2, 1.0));
        // What health shows: the same, without writing a sample.
        let kept = std::fs::read(git_dir.join(SAMPLES)).unwrap();
        let (now, g2) = status(&git_dir, &policy, at(1)).unwrap();
        assert_eq!((now, g2), (r.after, Some(g)));
        status(&git_dir, &policy, at(3)).unwrap();
        assert_eq!(std::fs::read(git_dir.join(SAMPLES)).unwrap(), kept);

        // The next roll-up merges the new objects with the small packs (geometric).
        loose(&repo, "c", 1_200, "third");
        let r = run(&git_dir, &policy, at(2)).unwrap();
        assert!(matches!(r.action, Action::Packed { .. }), "{r:?}");
        assert_eq!(r.after.loose_objects, 0);
        let listed = git(d.path(), &["rev-list", "--objects", "--all"]);
        assert_eq!(listed.lines().count(), 3_404 + 1_202);
    }

    #[test]
    fn never_packs_while_another_git_holds_a_lock() {
        let (_d, repo, git_dir, policy) = repo(100);
        loose(&repo, "a", 300, "x");
        std::fs::create_dir_all(git_dir.join("refs/heads/topic")).unwrap();
        std::fs::create_dir_all(git_dir.join("worktrees/wt")).unwrap();
        for lock in [
            "index.lock",
            "packed-refs.lock",
            "HEAD.lock",
            "refs/heads/topic/x.lock",
            "worktrees/wt/index.lock",
            "gc.pid",
        ] {
            std::fs::write(git_dir.join(lock), "").unwrap();
            let r = run(&git_dir, &policy, at(0)).unwrap();
            assert_eq!(r.action, Action::Deferred { lock: lock.into() }, "{lock}");
            assert_eq!(r.after.loose_objects, 302, "{lock}: nothing touched");
            std::fs::remove_file(git_dir.join(lock)).unwrap();
        }
        // A gc.pid left by a gc that died long ago is not a lock (as for git itself).
        std::fs::write(git_dir.join("gc.pid"), "").unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(13 * 3600);
        std::fs::File::options()
            .write(true)
            .open(git_dir.join("gc.pid"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let r = run(&git_dir, &policy, at(0)).unwrap();
        assert!(matches!(r.action, Action::Packed { .. }), "{r:?}");
    }

    #[test]
    fn a_missing_git_is_reported_and_the_store_is_left_as_it_was() {
        let (_d, repo, git_dir, policy) = repo(10);
        loose(&repo, "a", 50, "x");
        let policy = Policy {
            git: PathBuf::from("/nonexistent/git"),
            ..policy
        };
        let r = run(&git_dir, &policy, at(0)).unwrap();
        assert!(matches!(&r.action, Action::Failed { message } if message.contains("cannot run")));
        assert_eq!(r.after.loose_objects, 52);
    }

    #[test]
    fn growth_is_the_slope_of_the_size_over_the_kept_days() {
        let d = tempfile::tempdir().unwrap();
        let git_dir = d.path();
        let s = |bytes| Size {
            pack_bytes: bytes,
            ..Size::default()
        };
        // Samples an hour apart at most; growth of 1 MB a day, with packing sawtooth.
        let mut last = None;
        for half_hour in 0..2 * 24 * 40 {
            let now = at(0) + chrono::Duration::minutes(30 * half_hour);
            let saw = if half_hour % 100 < 50 { 200_000 } else { 0 };
            let bytes = (half_hour as u64 * 30 * 60 * 1_000_000) / 86_400 + saw;
            last = record(git_dir, now, s(bytes), 30).unwrap();
        }
        let g = last.unwrap();
        assert!((g.bytes_per_day - 1e6).abs() < 2e4, "{g:?}");
        // The last run is half an hour after the last kept sample: no new sample.
        assert_eq!(g.samples, 30 * 24, "one an hour over the last 30 days");
        assert!((g.days - 719.0 / 24.0).abs() < 1e-9, "{g:?}");
        assert_eq!(growth(&[(at(0), 1)]), None);
    }
}
