//! The system's logs: how many files and bytes the configured sources match, measured
//! by a cycle at most once a day (a `stat` per file) and kept with the size samples, so
//! `health` says when they pass the configured size without walking them itself. The
//! tool never deletes the system's logs; bounding them is the operator's call (README,
//! "What grows and how to bound it").

use crate::clock::{fmt_ts, parse_ts, Timestamp};
use anyhow::Result;
use globset::{GlobBuilder, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to measure: the files below `root` that `globs` match (the config's sources).
#[derive(Debug, Clone)]
pub struct LogPolicy {
    pub root: PathBuf,
    pub globs: Vec<String>,
    /// Past this many bytes `health` warns (0: never).
    pub warn_bytes: u64,
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logs {
    pub ts: String,
    pub files: u64,
    pub bytes: u64,
    /// The size past which `health` warns, as configured when measured.
    pub warn_bytes: u64,
}

impl Logs {
    pub fn over(&self) -> bool {
        self.warn_bytes > 0 && self.bytes > self.warn_bytes
    }

    /// Whether a measurement taken at `ts` under `warn_bytes` is due again at `now`:
    /// a day later, or at once when the configured size changed.
    pub fn due(kept: Option<&Logs>, now: Timestamp, warn_bytes: u64) -> bool {
        match kept {
            None => true,
            Some(l) => {
                l.warn_bytes != warn_bytes
                    || parse_ts(&l.ts).map_or(true, |t| now - t >= chrono::Duration::days(1))
            }
        }
    }
}

/// The directories to walk: each glob's leading literal directories (the root itself
/// for a glob that starts with a wildcard), without those inside another.
fn roots(globs: &[String]) -> Vec<String> {
    let mut v: Vec<String> = globs
        .iter()
        .map(|g| {
            let parts: Vec<&str> = g.split('/').collect();
            parts[..parts.len().saturating_sub(1)]
                .iter()
                .take_while(|c| !c.is_empty() && !c.contains(['*', '?', '[', ']', '{', '}', '\\']))
                .copied()
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    v.sort();
    v.dedup();
    let all = v.clone();
    v.retain(|r| {
        !all.iter()
            .any(|o| o != r && (o.is_empty() || r.starts_with(&format!("{o}/"))))
    });
    v
}

/// Counts the files the globs match and their bytes. Symbolic links are not followed
/// and `.git` is never entered; an unreadable directory is passed over.
pub fn measure(p: &LogPolicy, now: Timestamp) -> Result<Logs> {
    let mut b = GlobSetBuilder::new();
    for g in &p.globs {
        b.add(GlobBuilder::new(g).literal_separator(true).build()?);
    }
    let set = b.build()?;
    let (mut files, mut bytes) = (0, 0);
    for r in roots(&p.globs) {
        let mut stack = vec![p.root.join(&r)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let Ok(t) = e.file_type() else { continue };
                let path = e.path();
                if t.is_dir() {
                    if e.file_name() != ".git" {
                        stack.push(path);
                    }
                } else if t.is_file() {
                    let rel = path.strip_prefix(&p.root).unwrap_or(Path::new(""));
                    if set.is_match(rel) {
                        files += 1;
                        bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                    }
                }
            }
        }
    }
    Ok(Logs {
        ts: fmt_ts(now),
        files,
        bytes,
        warn_bytes: p.warn_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_the_sources_match_and_nothing_else() {
        assert_eq!(
            roots(&[
                "logs/traversal/*.jsonl".into(),
                "logs/**/*.jsonl".into(),
                "engine/data/logs/x.jsonl".into()
            ]),
            ["engine/data/logs", "logs"]
        );
        assert_eq!(roots(&["**/*.jsonl".into(), "logs/*.jsonl".into()]), [""]);
        let d = tempfile::tempdir().unwrap();
        let w = |rel: &str, n: usize| {
            let p = d.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, vec![b'x'; n]).unwrap();
        };
        w("logs/traversal/a.jsonl", 100);
        w("logs/traversal/deep/b.jsonl", 50);
        w("logs/traversal/notes.txt", 1000);
        w("src/c.jsonl", 1000);
        w(".git/objects/x.jsonl", 1000);
        std::os::unix::fs::symlink("/etc", d.path().join("logs/traversal/out")).unwrap();
        let now = parse_ts("2026-01-05T00:00:00Z").unwrap();
        let p = LogPolicy {
            root: d.path().to_path_buf(),
            globs: vec!["logs/traversal/**/*.jsonl".into()],
            warn_bytes: 120,
        };
        let l = measure(&p, now).unwrap();
        assert_eq!((l.files, l.bytes), (2, 150));
        assert!(l.over());
        let everywhere = LogPolicy {
            globs: vec!["**/*.jsonl".into()],
            warn_bytes: 0,
            ..p
        };
        let l = measure(&everywhere, now).unwrap();
        assert_eq!((l.files, l.bytes), (3, 1150), ".git is never counted");
        assert!(!l.over(), "0 never warns");
        assert!(!Logs::due(Some(&l), now + chrono::Duration::hours(23), 0));
        assert!(Logs::due(Some(&l), now + chrono::Duration::hours(24), 0));
        assert!(
            Logs::due(Some(&l), now, 1),
            "a new limit is measured at once"
        );
        assert!(Logs::due(None, now, 0));
    }
}
