//! Which files are signal sources: a walk of the target repository (skipping `.git`
//! and `target`, and every directory no glob can reach) matched against the config's
//! globs per source kind, first kind wins.
//!
//! The walk only lists names. Matching and the `stat` of each file happen in the
//! observe workers, in parallel: with thousands of log files and little new data those
//! calls are most of an incremental cycle.

use crate::config::Config;
use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::collections::HashSet;
use std::fs::DirEntry;
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

/// All source globs in one set (one match per path), in kind order so that the lowest
/// matching index is the first kind that claims the file.
pub(crate) struct Sources {
    set: GlobSet,
    kinds: Vec<SourceKind>,
    /// Literal leading directories of each glob; `None` when a glob can match at any
    /// depth from the root (then nothing is pruned).
    prefixes: Option<Vec<Vec<String>>>,
}

impl Sources {
    pub(crate) fn new(cfg: &Config) -> Result<Sources> {
        let s = &cfg.sources;
        let mut groups: Vec<(SourceKind, &[String])> = vec![
            (SourceKind::Traversal, &s.traversal),
            (SourceKind::AgentTraces, &s.agent_traces),
            (SourceKind::Health, &s.health),
            (SourceKind::GraphEvents, &s.graph_events),
        ];
        for (i, g) in s.jsonl.iter().enumerate() {
            groups.push((SourceKind::Generic(i), std::slice::from_ref(&g.glob)));
        }
        let mut b = GlobSetBuilder::new();
        let mut kinds = Vec::new();
        let mut prefixes = Some(Vec::new());
        for (kind, globs) in groups {
            for g in globs {
                b.add(
                    GlobBuilder::new(g)
                        .literal_separator(true)
                        .build()
                        .with_context(|| format!("source glob {g:?}"))?,
                );
                kinds.push(kind);
                let p = literal_dirs(g);
                match (&mut prefixes, p.is_empty()) {
                    (Some(v), false) => v.push(p),
                    _ => prefixes = None,
                }
            }
        }
        Ok(Sources {
            set: b.build()?,
            kinds,
            prefixes,
        })
    }

    /// The kind of the file at `rel`, if a glob matches it (`hits` is scratch space).
    pub(crate) fn kind_of(&self, rel: &str, hits: &mut Vec<usize>) -> Option<SourceKind> {
        self.set.matches_into(rel, hits);
        hits.iter().min().map(|&i| self.kinds[i])
    }

    /// Whether files below the directory `rel` can match some glob: its path and a
    /// glob's literal leading directories agree as far as both go.
    fn may_hold(&self, rel: &str) -> bool {
        let Some(prefixes) = &self.prefixes else {
            return true;
        };
        prefixes
            .iter()
            .any(|p| rel.split('/').zip(p).all(|(dir, lit)| dir == lit.as_str()))
    }
}

/// The leading path components of a glob that hold no glob syntax (and are not the
/// file name): `logs/**/traversal_*.jsonl` -> `["logs"]`.
fn literal_dirs(glob: &str) -> Vec<String> {
    let parts: Vec<&str> = glob.split('/').collect();
    parts[..parts.len().saturating_sub(1)]
        .iter()
        .take_while(|c| !c.is_empty() && !c.contains(['*', '?', '[', ']', '{', '}', '\\']))
        .map(|c| c.to_string())
        .collect()
}

/// A regular file the walk listed: not yet matched against the globs nor statted.
pub(crate) struct Listed {
    pub entry: DirEntry,
    pub rel: String,
}

/// What the walk saw.
#[derive(Default)]
pub(crate) struct Listing {
    pub files: Vec<Listed>,
    /// Directories whose complete list of names was read ("" is the root): a cursor
    /// of a file missing from one of them belongs to a file that is gone.
    pub dirs: HashSet<String>,
}

impl Listing {
    /// Whether the file `rel` was seen not to exist (its directory was listed).
    pub(crate) fn is_gone(&self, rel: &str) -> bool {
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        self.dirs.contains(dir)
    }
}

/// Lists the regular files below `root` in directories a glob can reach.
pub(crate) fn list(root: &Path, sources: &Sources) -> Result<Listing> {
    let mut out = Listing::default();
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
        let mut complete = true;
        for entry in entries {
            let Ok(entry) = entry else {
                complete = false;
                continue;
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(ft) = entry.file_type() else {
                complete = false;
                continue;
            };
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            if ft.is_dir() {
                if name != ".git" && name != "target" && sources.may_hold(&path) {
                    stack.push((entry.path(), path));
                }
            } else if ft.is_file() {
                out.files.push(Listed { entry, rel: path });
            }
        }
        if complete {
            out.dirs.insert(rel);
        }
    }
    Ok(out)
}

/// Matches and stats one listed file; `None` if no glob claims it or it is gone.
/// The stat is an `fstatat` relative to the already open directory.
pub(crate) fn found(l: &Listed, sources: &Sources, hits: &mut Vec<usize>) -> Option<Found> {
    let kind = sources.kind_of(&l.rel, hits)?;
    // A file removed since it was listed is simply not there this cycle.
    let meta = l.entry.metadata().ok()?;
    Some(Found {
        rel: l.rel.clone(),
        kind,
        inode: meta.ino(),
        size: meta.len(),
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
        let sources = Sources::new(&Config::builtin()).unwrap();
        let mut hits = Vec::new();
        let mut got: Vec<(String, SourceKind)> = list(d.path(), &sources)
            .unwrap()
            .files
            .iter()
            .filter_map(|l| Some((l.rel.clone(), sources.kind_of(&l.rel, &mut hits)?)))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
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
    fn the_walk_prunes_directories_no_glob_can_reach() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "logs/traversal/deep/traversal_1.jsonl",
            "src/traversal_2.jsonl",
            "node_modules/x/traversal_3.jsonl",
        ] {
            let f = d.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "").unwrap();
        }
        let cfg = Config::builtin();
        let sources = Sources::new(&cfg).unwrap();
        let listing = list(d.path(), &sources).unwrap();
        let rels: Vec<&str> = listing.files.iter().map(|l| l.rel.as_str()).collect();
        assert_eq!(rels, vec!["logs/traversal/deep/traversal_1.jsonl"]);
        assert!(!listing.dirs.contains("src") && !listing.dirs.contains("node_modules"));
        assert!(listing.is_gone("logs/traversal/deep/old.jsonl"));
        assert!(!listing.is_gone("src/old.jsonl"), "src was never listed");
        // A glob that can match at any depth turns pruning off.
        let mut cfg = Config::builtin();
        cfg.sources.traversal.push("**/traversal_*.jsonl".into());
        let all = list(d.path(), &Sources::new(&cfg).unwrap()).unwrap();
        assert_eq!(all.files.len(), 3);
    }

    #[test]
    fn literal_dirs_stop_at_glob_syntax() {
        assert_eq!(literal_dirs("logs/**/traversal_*.jsonl"), vec!["logs"]);
        assert_eq!(
            literal_dirs("engine/data/logs/traversal/**/*.jsonl"),
            vec!["engine", "data", "logs", "traversal"]
        );
        assert_eq!(literal_dirs("logs/a.jsonl"), vec!["logs"]);
        assert!(literal_dirs("**/x.jsonl").is_empty());
        assert!(literal_dirs("log[s]/x.jsonl").is_empty());
        assert!(literal_dirs("x.jsonl").is_empty());
    }
}
