//! Which files are signal sources: a walk of the target repository (skipping `.git`
//! and `target`) matched against the config's globs per source kind, first kind wins.

use crate::config::Config;
use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The decoder a file is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Traversal,
    AgentTraces,
    Health,
    GraphEvents,
    /// Index into `cfg.sources.jsonl`.
    Generic(usize),
}

/// A discovered file with the metadata the reader needs (no second stat).
#[derive(Debug, Clone)]
pub struct Found {
    pub rel: String,
    pub kind: SourceKind,
    pub inode: u64,
    pub size: u64,
}

fn globset(globs: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(
            GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .with_context(|| format!("source glob {g:?}"))?,
        );
    }
    Ok(b.build()?)
}

fn matchers(cfg: &Config) -> Result<Vec<(SourceKind, GlobSet)>> {
    let s = &cfg.sources;
    let mut m = vec![
        (SourceKind::Traversal, globset(&s.traversal)?),
        (SourceKind::AgentTraces, globset(&s.agent_traces)?),
        (SourceKind::Health, globset(&s.health)?),
        (SourceKind::GraphEvents, globset(&s.graph_events)?),
    ];
    for (i, g) in s.jsonl.iter().enumerate() {
        m.push((
            SourceKind::Generic(i),
            globset(std::slice::from_ref(&g.glob))?,
        ));
    }
    Ok(m)
}

/// Files below `root` matched by the config's globs, sorted by path.
pub fn discover(root: &Path, cfg: &Config) -> Result<Vec<(String, SourceKind)>> {
    Ok(discover_found(root, cfg)?
        .into_iter()
        .map(|f| (f.rel, f.kind))
        .collect())
}

pub(crate) fn discover_found(root: &Path, cfg: &Config) -> Result<Vec<Found>> {
    let m = matchers(cfg)?;
    let mut matched = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // An unreadable directory is not a reason to abort the cycle.
            Err(e) if !rel.is_empty() => {
                tracing::warn!("observe: cannot read {}: {e}", dir.display());
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(ft) = entry.file_type() else { continue };
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            if ft.is_dir() {
                if name != ".git" && name != "target" {
                    stack.push((entry.path(), path));
                }
            } else if ft.is_file() {
                if let Some((kind, _)) = m.iter().find(|(_, g)| g.is_match(&path)) {
                    matched.push((entry, path, *kind));
                }
            }
        }
    }
    let mut out = stat_all(matched);
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Files per stat batch below which one thread does them all (spawning costs more).
const STAT_BATCH: usize = 512;

/// Stats the matched files, one share per core: with thousands of log files and no
/// new data, these calls are most of an incremental cycle's wall time. Each is an
/// `fstatat` relative to the already open directory (no full path walk).
fn stat_all(matched: Vec<(std::fs::DirEntry, String, SourceKind)>) -> Vec<Found> {
    let stat = |part: Vec<(std::fs::DirEntry, String, SourceKind)>| -> Vec<Found> {
        part.into_iter()
            .filter_map(|(entry, rel, kind)| {
                // A file removed since it was listed is simply not there this cycle.
                let meta = entry.metadata().ok()?;
                Some(Found {
                    rel,
                    kind,
                    inode: meta.ino(),
                    size: meta.len(),
                })
            })
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(matched.len() / STAT_BATCH)
        .max(1);
    if threads == 1 {
        return stat(matched);
    }
    let per = matched.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    let mut rest = matched;
    while rest.len() > per {
        let tail = rest.split_off(per);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    std::thread::scope(|s| {
        let mut handles: Vec<_> = parts
            .split_off(1)
            .into_iter()
            .map(|p| s.spawn(move || stat(p)))
            .collect();
        let mut out = stat(parts.pop().unwrap_or_default());
        for h in handles.drain(..) {
            out.extend(h.join().expect("observe stat worker panicked"));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_relative_paths_first_kind_wins() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "logs/traversal/a/traversal_1.jsonl",
            "logs/x/traversal_2.jsonl",
            "logs/health/h.csv",
            "logs/agents/t.jsonl",
            "logs/other.jsonl",
            ".git/logs/traversal/x.jsonl",
            "target/logs/traversal/y.jsonl",
        ] {
            let f = d.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "").unwrap();
        }
        let got = discover(d.path(), &Config::builtin()).unwrap();
        assert_eq!(
            got,
            vec![
                ("logs/agents/t.jsonl".to_string(), SourceKind::AgentTraces),
                ("logs/health/h.csv".to_string(), SourceKind::Health),
                (
                    "logs/traversal/a/traversal_1.jsonl".to_string(),
                    SourceKind::Traversal
                ),
                (
                    "logs/x/traversal_2.jsonl".to_string(),
                    SourceKind::Traversal
                ),
            ]
        );
    }

    #[test]
    fn many_files_are_statted_in_parallel_without_loss() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("logs/traversal");
        std::fs::create_dir_all(&dir).unwrap();
        let n = 3 * STAT_BATCH + 17;
        for i in 0..n {
            std::fs::write(
                dir.join(format!("traversal_{i:05}.jsonl")),
                "x".repeat(i % 7),
            )
            .unwrap();
        }
        let got = discover_found(d.path(), &Config::builtin()).unwrap();
        assert_eq!(got.len(), n);
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.rel, format!("logs/traversal/traversal_{i:05}.jsonl"));
            assert_eq!(f.size, (i % 7) as u64);
        }
    }
}
