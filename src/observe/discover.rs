//! Which files are signal sources: a walk of the target repository (skipping `.git`
//! and `target`, and every directory no glob can reach) matched against the config's
//! globs per source kind, first kind wins.
//!
//! The walk only lists names: a file it already knows as retired (see `cursors`) is
//! passed over from its name and inode alone, with nothing kept for it, so memory does
//! not grow with the files listed. Matching and the `stat` of each remaining file
//! happen in the observe workers, in parallel. A big directory on ext4 is listed by
//! two threads, one per half of its hash order (`dirents::SPLIT`).
//!
//! Nothing a glob could claim is ignored silently: a symbolic link is followed when its
//! target is inside the repository (and read once: not when the walk reaches the
//! target by its own path), and a link that leads outside, a dangling one and a name
//! that is not UTF-8 are each reported as a skipped file with the reason.

use super::dirents::{self, Dir, Kind, Stat, Stream};
use super::identity::{self, escape_name, fnv_continue, path_hash_start};
use super::{Cursor, Skipped};
use crate::config::Config;
use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    pub mtime: i64,
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
        self.kind_of_path(Path::new(rel), hits)
    }

    /// `kind_of` for a path that need not be UTF-8.
    fn kind_of_path(&self, rel: &Path, hits: &mut Vec<usize>) -> Option<SourceKind> {
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

/// What the walk does with a listed file, decided from its path hash and inode.
#[derive(Debug)]
pub(crate) enum Visit {
    /// A retired file not due for its re-check: nothing to do, nothing kept.
    Skip,
    /// Hand it to the workers, with its retired record's cursor if it has one.
    Read(Option<Cursor>),
}

/// How to reach a listed file.
pub(crate) enum Entry {
    /// A regular file in a listed directory (`fstatat` through the open directory).
    Dir {
        dir: Arc<Dir>,
        name: CString,
        ino: u64,
    },
    /// A symbolic link to a file inside the repository, and its target's metadata.
    Link(Stat),
}

/// A file the walk listed: not yet matched against the globs nor statted.
pub(crate) struct Listed {
    pub entry: Entry,
    pub rel: String,
    /// The cursor from a retired file's record (its daily re-check).
    pub retired: Option<Cursor>,
}

impl Listed {
    pub(crate) fn ino(&self) -> u64 {
        match &self.entry {
            Entry::Dir { ino, .. } => *ino,
            Entry::Link(m) => m.ino,
        }
    }

    fn metadata(&self) -> std::io::Result<Stat> {
        match &self.entry {
            Entry::Dir { dir, name, .. } => dir.stat(name),
            Entry::Link(m) => Ok(*m),
        }
    }
}

/// What the walk saw.
#[derive(Default)]
pub(crate) struct Listing {
    /// Files to look at (known retired files not due for a re-check are not here).
    pub files: Vec<Listed>,
    /// Directories whose complete list of names was read ("" is the root): a cursor
    /// of a file missing from one of them belongs to a file that is gone.
    pub dirs: HashSet<String>,
    /// Files a glob could claim that are not read, with the reason (line 0).
    pub skipped: Vec<Skipped>,
}

impl Listing {
    /// Whether the file `rel` was seen not to exist (its directory was listed).
    pub(crate) fn is_gone(&self, rel: &str) -> bool {
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        self.dirs.contains(dir)
    }
}

/// Lists every regular file below `root` in directories a glob can reach.
pub(crate) fn list_all(root: &Path, sources: &Sources) -> Result<Listing> {
    list(root, sources, &|_, _| Visit::Read(None))
}

/// The question the walk asks about each listed file: `visit(path hash, inode)`.
pub(crate) type VisitFn<'a> = &'a (dyn Fn(u64, u64) -> Visit + Sync);

/// A directory at least this big on ext4 is listed by two threads (`dirents::SPLIT`):
/// about 3,000 names, a few milliseconds of kernel time.
const SPLIT_MIN_BYTES: u64 = 256 << 10;

/// Lists the files below `root` in directories a glob can reach, asking `visit(path
/// hash, inode)` about each (`identity::path_hash` of its relative path).
pub(crate) fn list(root: &Path, sources: &Sources, visit: VisitFn) -> Result<Listing> {
    let mut w = Walk {
        root: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
        sources,
        out: Listing::default(),
        stack: vec![(root.to_path_buf(), String::new())],
        followed: HashSet::new(),
        hits: Vec::new(),
    };
    while let Some((dir, rel)) = w.stack.pop() {
        let (mut entries, open) = match Stream::open(&dir) {
            Ok((s, d)) => (s, Arc::new(d)),
            // An unreadable directory is not a reason to abort the cycle.
            Err(e) if !rel.is_empty() => {
                tracing::warn!("observe: cannot read {}: {e}", dir.display());
                w.skip(&rel, format!("directory cannot be read: {e}"));
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        let here = InDir {
            path: &dir,
            rel: &rel,
            dir_hash: if rel.is_empty() {
                path_hash_start()
            } else {
                fnv_continue(fnv_continue(path_hash_start(), rel.as_bytes()), b"/")
            },
            open: &open,
            visit,
        };
        let halves = dirents::splits(&open, SPLIT_MIN_BYTES);
        let (seen, complete) = std::thread::scope(|s| {
            let upper = halves.then(|| s.spawn(|| here.upper_half()));
            here.lower_half(&mut entries, upper)
        });
        drop(entries);
        for item in seen {
            match item {
                Seen::File(l) => w.out.files.push(l),
                Seen::Other { name, kind } => w.other(&here, &name, kind),
            }
        }
        if complete {
            w.out.dirs.insert(rel);
        }
    }
    Ok(w.out)
}

/// What a directory entry is to the walk.
enum Seen {
    /// A file to hand to the workers.
    File(Listed),
    /// A directory, a symbolic link or a name that is not UTF-8, for the walk (rare).
    Other { name: Vec<u8>, kind: Kind },
}

/// The directory being listed, as both halves of its listing see it.
struct InDir<'a> {
    path: &'a Path,
    rel: &'a str,
    /// The path hash of `rel/`, continued by each name.
    dir_hash: u64,
    open: &'a Arc<Dir>,
    visit: VisitFn<'a>,
}

/// One half of a directory's listing: what it saw, and whether it read to its end.
type Half = (Vec<Seen>, bool);

impl InDir<'_> {
    fn join(&self, name: &str) -> String {
        if self.rel.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.rel)
        }
    }

    /// One entry: `None` for a retired file and for what is neither file, directory
    /// nor link; `Err` when its kind cannot be told.
    fn see(&self, e: &dirents::Raw) -> Result<Option<Seen>, ()> {
        let kind = match e.kind {
            Some(k) => k,
            None => self.open.stat(e.name).map_err(|_| ())?.kind,
        };
        let bytes = e.bytes();
        Ok(match (kind, std::str::from_utf8(bytes)) {
            (Kind::File, Ok(name)) => match (self.visit)(fnv_continue(self.dir_hash, bytes), e.ino)
            {
                Visit::Read(retired) => Some(Seen::File(Listed {
                    rel: self.join(name),
                    entry: Entry::Dir {
                        dir: self.open.clone(),
                        name: e.name.to_owned(),
                        ino: e.ino,
                    },
                    retired,
                })),
                Visit::Skip => None,
            },
            (Kind::Other, _) => None,
            _ => Some(Seen::Other {
                name: bytes.to_vec(),
                kind,
            }),
        })
    }

    /// `see` one entry into `seen`; false when its kind cannot be told.
    fn take(&self, e: &dirents::Raw, seen: &mut Vec<Seen>) -> bool {
        match self.see(e) {
            Ok(item) => {
                seen.extend(item);
                true
            }
            Err(()) => false,
        }
    }

    /// The entries before `SPLIT` (all of them when there is no `upper` half), then
    /// the upper half's. When the upper half's listing is not what a seek in hash
    /// order gives, this one lists on past `SPLIT` alone.
    fn lower_half(
        &self,
        entries: &mut Stream,
        mut upper: Option<std::thread::ScopedJoinHandle<'_, Option<Half>>>,
    ) -> Half {
        let mut seen = Vec::new();
        let mut complete = true;
        let mut pos = 0i64;
        let mut rest = None;
        while let Some(e) = entries.next() {
            let Ok(e) = e else {
                complete = false;
                break;
            };
            if pos >= dirents::SPLIT {
                if let Some(h) = upper.take() {
                    rest = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                    if rest.is_some() {
                        break;
                    }
                }
            }
            pos = e.next;
            complete &= self.take(&e, &mut seen);
        }
        // Reaching the end before SPLIT is seeing everything: an upper half that is
        // not empty then is not trusted.
        if let Some(h) = upper {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        }
        if let Some((more, whole)) = rest {
            seen.extend(more);
            complete &= whole;
        }
        (seen, complete)
    }

    /// The entries from a seek to `SPLIT` on, on a stream of its own; `None` when
    /// their positions do not all lie past it in ascending order.
    fn upper_half(&self) -> Option<Half> {
        let (mut entries, _) = Stream::open(self.path).ok()?;
        entries.seek(dirents::SPLIT);
        let mut seen = Vec::new();
        let mut complete = true;
        let mut pos = dirents::SPLIT;
        while let Some(e) = entries.next() {
            let Ok(e) = e else {
                complete = false;
                break;
            };
            if e.next < pos {
                return None;
            }
            pos = e.next;
            complete &= self.take(&e, &mut seen);
        }
        Some((seen, complete))
    }
}

struct Walk<'a> {
    /// The repository root, canonical: a link's target is inside when below it.
    root: PathBuf,
    sources: &'a Sources,
    out: Listing,
    stack: Vec<(PathBuf, String)>,
    /// Canonical directories entered through links (a loop is entered once).
    followed: HashSet<PathBuf>,
    hits: Vec<usize>,
}

impl Walk<'_> {
    fn skip(&mut self, rel: &str, reason: String) {
        self.out.skipped.push(Skipped {
            file: rel.to_string(),
            line: 0,
            reason,
        });
    }

    /// A name that is not UTF-8 cannot key a cursor (paths are JSON strings): counted
    /// as skipped when a glob would claim it, or the directory could hold sources.
    fn not_utf8(&mut self, rel: &str, shown: &str, name: &OsStr, kind: Kind) {
        let claimed = if kind == Kind::Dir {
            self.sources.may_hold(shown)
        } else {
            let raw = Path::new(rel).join(name);
            let mut hits = std::mem::take(&mut self.hits);
            let k = self.sources.kind_of_path(&raw, &mut hits).is_some();
            self.hits = hits;
            k
        };
        if claimed {
            let what = if kind == Kind::Dir {
                "directory"
            } else {
                "file"
            };
            self.skip(shown, format!("{what} name is not valid UTF-8: not read"));
        }
    }

    /// A symbolic link at `rel`: followed when its target is inside the repository and
    /// the walk does not reach the target by its own path anyway.
    /// A directory, a symbolic link or a name that is not UTF-8 in the directory `d`.
    fn other(&mut self, d: &InDir, name: &[u8], kind: Kind) {
        let Ok(name) = std::str::from_utf8(name) else {
            let shown = d.join(&escape_name(name));
            return self.not_utf8(d.rel, &shown, OsStr::from_bytes(name), kind);
        };
        let path = d.join(name);
        match kind {
            Kind::Dir => {
                if name != ".git" && name != "target" && self.sources.may_hold(&path) {
                    self.stack.push((d.path.join(name), path));
                }
            }
            Kind::Link => self.link(&d.path.join(name), &path, d.visit),
            // A file whose name is UTF-8 is never `Other`.
            Kind::File | Kind::Other => {}
        }
    }

    fn link(&mut self, path: &Path, rel: &str, visit: VisitFn) {
        let mut hits = std::mem::take(&mut self.hits);
        let as_file = self.sources.kind_of(rel, &mut hits).is_some();
        self.hits = hits;
        let as_dir = self.sources.may_hold(rel);
        let target = std::fs::canonicalize(path).and_then(|t| Ok((std::fs::metadata(&t)?, t)));
        let (meta, target) = match target {
            Ok(t) => t,
            Err(e) => {
                if as_file {
                    self.skip(rel, format!("symbolic link that leads nowhere: {e}"));
                }
                return;
            }
        };
        let claimed = if meta.is_dir() { as_dir } else { as_file };
        if !claimed {
            return;
        }
        let inside = target
            .strip_prefix(&self.root)
            .ok()
            .map(|t| t.to_str().map(str::to_string));
        let what = if meta.is_dir() { "directory" } else { "file" };
        let trel = match inside {
            None => {
                let reason = format!(
                    "symbolic link to a {what} outside the repository ({}): not followed",
                    target.display()
                );
                return self.skip(rel, reason);
            }
            Some(None) => {
                return self.skip(
                    rel,
                    format!("symbolic link to a {what} whose path is not UTF-8"),
                )
            }
            Some(Some(t)) => t,
        };
        if meta.is_dir() {
            if !self.walked_directly(&trel, true) && self.followed.insert(target.clone()) {
                self.stack.push((target, rel.to_string()));
            }
        } else if meta.is_file() {
            if !self.walked_directly(&trel, false) {
                let st = Stat::from(&meta);
                if let Visit::Read(retired) = visit(identity::path_hash(rel), st.ino) {
                    self.out.files.push(Listed {
                        entry: Entry::Link(st),
                        rel: rel.to_string(),
                        retired,
                    });
                }
            }
        } else {
            self.skip(rel, "symbolic link to something that is not a file".into());
        }
    }

    /// Whether the walk reaches `trel` (canonical, relative) by its own path: every
    /// directory on the way is entered, and a file is claimed by a glob.
    fn walked_directly(&mut self, trel: &str, is_dir: bool) -> bool {
        if trel.is_empty() {
            return is_dir;
        }
        let parts: Vec<&str> = trel.split('/').collect();
        let dirs = if is_dir { parts.len() } else { parts.len() - 1 };
        let mut prefix = String::new();
        for name in &parts[..dirs] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(name);
            if *name == ".git" || *name == "target" || !self.sources.may_hold(&prefix) {
                return false;
            }
        }
        let mut hits = std::mem::take(&mut self.hits);
        let claimed = is_dir || self.sources.kind_of(trel, &mut hits).is_some();
        self.hits = hits;
        claimed
    }
}

/// Matches and stats one listed file; `None` if no glob claims it or it is gone.
/// The stat is an `fstatat` relative to the already open directory.
pub(crate) fn found(l: &Listed, sources: &Sources, hits: &mut Vec<usize>) -> Option<Found> {
    let kind = sources.kind_of(&l.rel, hits)?;
    // A file removed since it was listed is simply not there this cycle.
    let meta = l.metadata().ok()?;
    Some(Found {
        rel: l.rel.clone(),
        kind,
        inode: meta.ino,
        size: meta.size,
        mtime: meta.mtime_ns,
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
        let mut got: Vec<(String, SourceKind)> = list_all(d.path(), &sources)
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
        let listing = list_all(d.path(), &sources).unwrap();
        let rels: Vec<&str> = listing.files.iter().map(|l| l.rel.as_str()).collect();
        assert_eq!(rels, vec!["logs/traversal/deep/traversal_1.jsonl"]);
        assert!(!listing.dirs.contains("src") && !listing.dirs.contains("node_modules"));
        assert!(listing.is_gone("logs/traversal/deep/old.jsonl"));
        assert!(!listing.is_gone("src/old.jsonl"), "src was never listed");
        // A glob that can match at any depth turns pruning off.
        let mut cfg = Config::builtin();
        cfg.sources.traversal.push("**/traversal_*.jsonl".into());
        let all = list_all(d.path(), &Sources::new(&cfg).unwrap()).unwrap();
        assert_eq!(all.files.len(), 3);
    }

    #[test]
    fn a_big_directory_listed_in_two_halves_is_listed_whole_and_once() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("logs/traversal");
        std::fs::create_dir_all(&dir).unwrap();
        let n = 6_000;
        for i in 0..n {
            let name = format!("traversal_exp_20260101T{i:06}000_{:08x}.jsonl", i * 7919);
            std::fs::write(dir.join(name), "").unwrap();
        }
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/traversal_deep.jsonl"), "").unwrap();
        let sources = Sources::new(&Config::builtin()).unwrap();
        let listing = list_all(d.path(), &sources).unwrap();
        let mut rels: Vec<&str> = listing.files.iter().map(|l| l.rel.as_str()).collect();
        rels.sort_unstable();
        let before = rels.len();
        rels.dedup();
        assert_eq!(before, rels.len(), "a file listed twice");
        let mut want: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "sub")
            .map(|n| format!("logs/traversal/{n}"))
            .chain(["logs/traversal/sub/traversal_deep.jsonl".to_string()])
            .collect();
        want.sort_unstable();
        assert_eq!(rels, want);
        assert!(
            listing.dirs.contains("logs/traversal") && listing.dirs.contains("logs/traversal/sub")
        );

        // Where the directory is on ext4 (as on the machines this runs on), both
        // halves hold files; elsewhere the directory is listed in one piece.
        let (_, open) = Stream::open(&dir).unwrap();
        let open = Arc::new(open);
        if dirents::splits(&open, SPLIT_MIN_BYTES) {
            let all = |_: u64, _: u64| Visit::Read(None);
            let here = InDir {
                path: &dir,
                rel: "logs/traversal",
                dir_hash: 0,
                open: &open,
                visit: &all,
            };
            let (upper, whole) = here.upper_half().expect("positions past SPLIT");
            assert!(whole);
            let share = upper.len() as f64 / (n + 1) as f64;
            assert!((0.3..0.7).contains(&share), "upper half holds {share:.2}");
            // An upper half that is not trusted: the lower half lists on alone.
            let (mut entries, _) = Stream::open(&dir).unwrap();
            let (alone, whole) =
                std::thread::scope(|s| here.lower_half(&mut entries, Some(s.spawn(|| None))));
            assert!(whole);
            assert_eq!(alone.len(), n + 1, "every file and the subdirectory, once");
        } else {
            eprintln!("not ext4 here: the two-half listing was not exercised");
        }
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
