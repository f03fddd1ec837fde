//! Dated logs on the records branch, one file a day in a directory a month
//! (`audit/2026-01/05.jsonl`, `metrics/2026-01/05.csv`): a records commit rewrites one
//! day's file and two small trees, never a file that grows all month. Files of earlier
//! versions (`audit/2026-01.jsonl`, one a month) stay where they are and keep their
//! place: the byte order of the paths is the order of the log, because `.` sorts before
//! `/` (a month's file comes before that month's days).

use crate::clock::Timestamp;
use crate::git::Git;
use anyhow::Result;
use git2::Oid;

/// The file of a dated log for the day of `now`: `{dir}/YYYY-MM/DD{ext}`.
pub fn day_file(dir: &str, now: Timestamp, ext: &str) -> String {
    format!("{dir}/{}{ext}", now.format("%Y-%m/%d"))
}

/// An entry directly under a dated log's directory: a file (a month's, written by an
/// earlier version) or a month's directory of daily files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub path: String,
    pub dir: bool,
}

impl Unit {
    /// The key that orders units as their files are ordered.
    fn key(&self) -> String {
        if self.dir {
            format!("{}/", self.path)
        } else {
            self.path.clone()
        }
    }
}

/// The units of `dir` at `tip`, in the log's order. A name with a dot is a file; one
/// without is a month's directory.
pub fn units(git: &Git, tip: Oid, dir: &str) -> Result<Vec<Unit>> {
    let mut v: Vec<Unit> = git
        .list_dir(tip, dir)?
        .into_iter()
        .map(|n| Unit {
            dir: !n.contains('.'),
            path: format!("{dir}/{n}"),
        })
        .collect();
    v.sort_by_key(Unit::key);
    Ok(v)
}

/// The files of one unit, in order.
pub fn files_of(git: &Git, tip: Oid, unit: &Unit) -> Result<Vec<String>> {
    if !unit.dir {
        return Ok(vec![unit.path.clone()]);
    }
    let mut v: Vec<String> = git
        .list_dir(tip, &unit.path)?
        .into_iter()
        .map(|n| format!("{}/{n}", unit.path))
        .collect();
    v.sort();
    Ok(v)
}

/// Every file of the dated log `dir` at `tip`, in order.
pub fn files(git: &Git, tip: Oid, dir: &str) -> Result<Vec<String>> {
    let mut out = vec![];
    for u in units(git, tip, dir)? {
        out.extend(files_of(git, tip, &u)?);
    }
    Ok(out)
}

/// The newest files of the dated log `dir` at `tip`, newest first, listing only the
/// months it reaches: `keep(path)` says whether to go on to the file before.
pub fn newest_first(
    git: &Git,
    tip: Oid,
    dir: &str,
    mut keep: impl FnMut(&str) -> Result<bool>,
) -> Result<()> {
    for u in units(git, tip, dir)?.iter().rev() {
        for f in files_of(git, tip, u)?.iter().rev() {
            if !keep(f)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The newest file of the dated log `dir` at `tip`.
pub fn last_file(git: &Git, tip: Oid, dir: &str) -> Result<Option<String>> {
    let mut last = None;
    newest_first(git, tip, dir, |f| {
        last = Some(f.to_string());
        Ok(false)
    })?;
    Ok(last)
}

/// The month directory a daily file is in (`audit/2026-01` for
/// `audit/2026-01/05.jsonl`); None for a file directly under `dir`.
pub fn month_of<'a>(dir: &str, file: &'a str) -> Option<&'a str> {
    let (parent, _) = file.rsplit_once('/')?;
    (parent != dir).then_some(parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_ts;

    #[test]
    fn a_months_file_sorts_before_that_months_days() {
        let d = day_file("audit", parse_ts("2026-01-05T13:00:00Z").unwrap(), ".jsonl");
        assert_eq!(d, "audit/2026-01/05.jsonl");
        assert!("audit/2026-01.jsonl" < d.as_str());
        assert!(d.as_str() < "audit/2026-02.jsonl");
        let mut units = [
            Unit {
                path: "audit/2026-01".into(),
                dir: true,
            },
            Unit {
                path: "audit/2026-01.jsonl".into(),
                dir: false,
            },
            Unit {
                path: "audit/2025-12.jsonl".into(),
                dir: false,
            },
        ];
        units.sort_by_key(Unit::key);
        let order: Vec<_> = units.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            order,
            [
                "audit/2025-12.jsonl",
                "audit/2026-01.jsonl",
                "audit/2026-01"
            ]
        );
        assert_eq!(month_of("audit", &d), Some("audit/2026-01"));
        assert_eq!(month_of("audit", "audit/2026-01.jsonl"), None);
    }
}
