//! The OBSERVE driver: files are handed to one worker per core through an atomic
//! index; each worker folds its files into its own `Agg` (no lock per line) and the
//! per-worker aggregates are merged at the end, order-independently.

use super::agg::Agg;
use super::cursors::IdBuild;
use super::discover::{self, Found, SourceKind, Sources};
use super::identity::{file_key, path_hash};
use super::reader::{self, Buf, Flow, Line, ReadOutcome, Restart, Stat};
use super::sources::{self, CsvCols};
use super::traversal::{FxBuild, Traversal};
use super::window::{Limits, LineErr};
use super::{Breach, Cursor, Cursors, Evidence, Observation, Window};
use crate::clock::Timestamp;
use crate::config::Config;
use anyhow::Result;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Reads every discovered file from its cursor, in parallel, and merges the result;
/// returns the cursors advanced (taken by value: they are updated in place).
#[tracing::instrument(name = "observe", skip_all)]
pub fn run(
    root: &Path,
    cfg: &Config,
    cursors: Cursors,
    window: Window,
    now: Timestamp,
) -> Result<(Observation, Cursors)> {
    let sources = Sources::new(cfg)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    run_with(root, cfg, &sources, cursors, window, now, threads)
}

/// Where a line's timestamp puts it this cycle (see `window::When`): the window, late
/// back to `window_max` before its start (only the first cycle has no late lines: what
/// it finds is history), held up to `window_max` ahead of now.
pub(crate) fn limits(cfg: &Config, window: Window, now: Timestamp, first: bool) -> Limits {
    let tol = cfg.dur(&cfg.observation.future_tolerance);
    let max = cfg.dur(&cfg.observation.window_max);
    let start_ms = window.start.timestamp_millis();
    let future_ms = (now + tol).timestamp_millis();
    Limits {
        history_ms: if first {
            start_ms
        } else {
            start_ms.saturating_sub(max.num_milliseconds())
        },
        start_ms,
        future_ms,
        hold_ms: (now + max).timestamp_millis().max(future_ms),
    }
}

/// What one worker brings back.
#[derive(Default)]
struct Share {
    agg: Agg,
    /// Cursors advanced (files read).
    moved: Vec<(String, Cursor)>,
    /// Live cursors whose file was listed.
    known: usize,
    /// Keys of retired files re-checked and found unchanged (they stay retired).
    rechecked: Vec<u64>,
}

/// Lists the files (the walk passes over retired ones), then one worker per core takes
/// them through an atomic index and, for each, matches the globs, stats it, and reads
/// it from its cursor if it changed.
pub(crate) fn run_with(
    root: &Path,
    cfg: &Config,
    sources: &Sources,
    mut cursors: Cursors,
    window: Window,
    now: Timestamp,
    threads: usize,
) -> Result<(Observation, Cursors)> {
    use chrono::Timelike;
    let limits = limits(cfg, window, now, cursors.is_empty());
    let hour = now.hour();
    let live = cursors.live_hashes();
    let listing = discover::list(root, sources, &|ph, ino| cursors.classify(&live, ph, ino))?;
    let next = AtomicUsize::new(0);
    let files = &listing.files;
    let threads = threads.clamp(1, files.len().max(1));
    let before = cursors.len();
    // Looked up once per listed file: hashing a path beats a dozen string compares
    // of paths that share a long prefix.
    let old: HashMap<&str, &Cursor, FxBuild> =
        cursors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let old = &old;
    let results: Vec<Share> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut sh = Share::default();
                    let mut hits = Vec::new();
                    let mut buf: Option<Buf> = None;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(l) = files.get(i) else { break };
                        if i.is_multiple_of(64) {
                            // For a progress display (nothing when none listens).
                            tracing::trace!(target: "improve::progress", done = i as u64, total = files.len() as u64);
                        }
                        let retired = l.retired.is_some();
                        let old = l
                            .retired
                            .as_ref()
                            .or_else(|| old.get(l.rel.as_str()).copied());
                        sh.known += (!retired && old.is_some()) as usize;
                        if old.is_some_and(|c| c.unchanged(&l.rel, l.ino(), hour)) {
                            // Whether there is data at all: one glob match settles it.
                            sh.agg.sources_found = sh.agg.sources_found
                                || retired
                                || sources.kind_of(&l.rel, &mut hits).is_some();
                            continue; // a finished exploration, same file: nothing to do
                        }
                        // Not a source now (or gone since listed): a cursor it had
                        // stays, in case the config claims it again.
                        let Some(f) = discover::found(l, sources, &mut hits) else {
                            if retired {
                                sh.rechecked.push(file_key(path_hash(&l.rel), l.ino()));
                            }
                            continue;
                        };
                        sh.agg.sources_found = true;
                        if old.is_some_and(|c| current(c, &f, retired)) {
                            if retired {
                                sh.rechecked.push(file_key(path_hash(&f.rel), f.inode));
                            }
                            continue; // nothing new: not even opened
                        }
                        let buf = buf.get_or_insert_with(Buf::default);
                        match read_file(root, cfg, &limits, &f, old, buf, &mut sh.agg) {
                            Ok(r) => sh.moved.push((f.rel, r.cursor)),
                            // One unreadable file never aborts the cycle; a retired
                            // one stays retired until it can be read.
                            Err(e) => {
                                sh.agg.skip_file(&f.rel, format!("cannot read: {e}"));
                                if retired {
                                    sh.rechecked.push(file_key(path_hash(&f.rel), f.inode));
                                }
                            }
                        }
                    }
                    sh
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("observe worker panicked"))
            .collect()
    });
    let mut total = Agg::default();
    let mut known = 0;
    let mut rechecked: HashSet<u64, IdBuild> = HashSet::default();
    for sh in results {
        total.merge(sh.agg);
        cursors.extend(sh.moved);
        known += sh.known;
        rechecked.extend(sh.rechecked);
    }
    if known < before {
        // Some cursors belong to files the walk did not list: dropped when the file is
        // gone (its directory was listed), so the state does not grow with every
        // rotated log; kept when its directory was not read this time.
        let listed: HashSet<&str> = files.iter().map(|l| l.rel.as_str()).collect();
        cursors.retain_live(|rel, _| listed.contains(rel.as_str()) || !listing.is_gone(rel));
    }
    for s in &listing.skipped {
        total.skip_file(&s.file, s.reason.clone());
    }
    let max = cfg.dur(&cfg.observation.window_max);
    let dormant_before = (now - max).timestamp_nanos_opt().unwrap_or(i64::MIN);
    cursors.finish_run(&listing.dirs, &rechecked, dormant_before);
    window_breaches(&mut total, cfg);
    tracing::debug!(
        files_listed = files.len(),
        files_read = total.files_read,
        bytes_read = total.bytes_read,
        "observe: read"
    );
    Ok((total.finish(), cursors))
}

/// Nothing to read in the file: the cursor is current, or it is a retired record of an
/// earlier version (no mtime) and the file still has the size it was sealed at.
fn current(c: &Cursor, f: &Found, retired: bool) -> bool {
    c.is_current(f.inode, f.size, f.mtime)
        || (retired && c.mtime == 0 && c.inode == f.inode && c.offset == f.size)
}

/// Window-level rates (timeout_rate, tool_error_rate, ...) against the configured
/// thresholds, once per window; health lines were judged line by line.
fn window_breaches(agg: &mut Agg, cfg: &Config) {
    for t in &cfg.thresholds {
        let Some(m) = agg.means.get(&t.metric).copied() else {
            continue;
        };
        let Some(v) = m.mean() else { continue };
        let crossed = [
            (t.max, v > t.max.unwrap_or(f64::INFINITY)),
            (t.min, v < t.min.unwrap_or(f64::NEG_INFINITY)),
        ];
        for (limit, hit) in crossed {
            if let (Some(limit), true) = (limit, hit) {
                agg.count(&format!("breach:{}", t.metric), 1);
                agg.breach(Breach {
                    metric: t.metric.clone(),
                    value: v,
                    threshold: limit,
                    evidence: Evidence {
                        file: String::new(),
                        line: 0,
                        ts: None,
                        value: Some(v),
                        detail: format!("window mean over {} units", m.n),
                    },
                });
            }
        }
    }
}

/// The per-file decoder, chosen by source kind.
enum Decoder<'a> {
    Traversal(Box<Traversal<'a>>),
    Agent,
    HealthJson,
    HealthCsv(Option<CsvCols>),
    Graph,
    Generic(usize),
}

impl<'a> Decoder<'a> {
    fn new(kind: SourceKind, rel: &'a str, limits: Limits) -> Self {
        match kind {
            SourceKind::Traversal => Decoder::Traversal(Box::new(Traversal::new(rel, limits))),
            SourceKind::AgentTraces => Decoder::Agent,
            SourceKind::Health if rel.ends_with(".csv") => Decoder::HealthCsv(None),
            SourceKind::Health => Decoder::HealthJson,
            SourceKind::GraphEvents => Decoder::Graph,
            SourceKind::Generic(i) => Decoder::Generic(i),
        }
    }

    /// Every line ends up exactly once in: lines_used, lines_ignored, outside_window
    /// or skipped; or it is held, and then not counted at all (read again later).
    fn line(
        &mut self,
        cfg: &Config,
        limits: &Limits,
        rel: &str,
        agg: &mut Agg,
        n: u64,
        l: Line,
    ) -> Flow {
        agg.lines_read += 1;
        let b = match l {
            Line::TooLong => {
                agg.skip(
                    rel,
                    n,
                    format!("line longer than {} bytes", reader::MAX_LINE),
                );
                return Flow::Go;
            }
            Line::Text(b) => b,
        };
        if b.iter().all(|c| c.is_ascii_whitespace()) {
            agg.count("lines_ignored", 1);
            return Flow::Go;
        }
        if !is_ascii(b) && std::str::from_utf8(b).is_err() {
            agg.skip(rel, n, "invalid UTF-8".into());
            return Flow::Go;
        }
        let r = match self {
            Decoder::Traversal(t) => match t.line(agg, n, b) {
                Flow::Go => Ok(()),
                Flow::Hold => Err(LineErr::Hold),
            },
            Decoder::Agent => sources::agent_line(agg, limits, rel, n, b),
            Decoder::HealthJson => sources::health_json_line(agg, cfg, limits, rel, n, b),
            Decoder::HealthCsv(cols) => sources::health_csv_line(agg, cfg, limits, cols, rel, n, b),
            Decoder::Graph => sources::graph_line(agg, limits, b),
            Decoder::Generic(i) => match cfg.sources.jsonl.get(*i) {
                Some(src) => sources::generic_line(agg, src, limits, rel, n, b),
                None => Err("no such generic source".into()),
            },
        };
        match r {
            Ok(()) => {}
            Err(LineErr::Hold) => {
                agg.lines_read -= 1;
                return Flow::Hold;
            }
            Err(LineErr::Skip(reason)) => agg.skip(rel, n, reason),
        }
        Flow::Go
    }

    fn finish(&mut self, agg: &mut Agg) {
        if let Decoder::Traversal(t) = self {
            t.finish(agg);
        }
    }
}

/// Whether every byte is ASCII (then the line is valid UTF-8): 64 bytes per step,
/// which the compiler turns into a few vector ORs; the general check runs only on
/// lines that hold other bytes.
#[inline]
fn is_ascii(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(64);
    for c in &mut chunks {
        if c.iter().fold(0u8, |a, x| a | x) >= 0x80 {
            return false;
        }
    }
    chunks.remainder().iter().fold(0u8, |a, x| a | x) < 0x80
}

fn read_file(
    root: &Path,
    cfg: &Config,
    limits: &Limits,
    f: &Found,
    old: Option<&Cursor>,
    buf: &mut Buf,
    agg: &mut Agg,
) -> std::io::Result<ReadOutcome> {
    let path = root.join(&f.rel);
    let mut dec = Decoder::new(f.kind, &f.rel, *limits);
    let (start, _) = reader::start_of(old, f.inode, f.size);
    if let (Decoder::HealthCsv(cols), true) = (&mut dec, start > 0) {
        *cols = csv_header_of(&path);
    }
    let st = Stat {
        inode: f.inode,
        size: f.size,
        mtime: f.mtime,
    };
    let mut r = reader::read_lines(&path, old, st, buf, |n, l| {
        dec.line(cfg, limits, &f.rel, agg, n, l)
    })?;
    // Sealed by its last line; a file that gave no new line (touched, or re-checked
    // with a cursor of an earlier version) keeps what it was.
    let ended = match old {
        Some(o) if r.bytes == 0 && r.restart.is_none() => o.sealed,
        _ => matches!(&dec, Decoder::Traversal(t) if t.ended()),
    };
    r.cursor.sealed = ended && !r.held && r.cursor.offset == r.cursor.size;
    dec.finish(agg);
    agg.files_read += 1;
    agg.bytes_read += r.bytes;
    if let Some(why) = r.restart {
        let why = match why {
            Restart::Inode => "inode",
            Restart::Truncated => "truncated",
            Restart::Fingerprint => "fingerprint",
        };
        agg.count(&format!("files_reread:{why}"), 1);
    }
    if r.held {
        agg.count("files_held", 1);
    }
    Ok(r)
}

/// A CSV read from the middle still needs its header's column positions.
fn csv_header_of(path: &Path) -> Option<CsvCols> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).ok()?;
    let mut line = Vec::new();
    std::io::BufReader::new(f)
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .ok()?;
    sources::csv_header(line.strip_suffix(b"\n").unwrap_or(&line))
}

use std::io::Read as _;

/// Decodes `data` as lines of every source kind, counting into a fresh Agg per kind;
/// returns them (the hostile-input test checks nothing was lost). Never panics.
pub(crate) fn decode_all_kinds(data: &[u8], cfg: &Config) -> Vec<Agg> {
    let limits = Limits::ALL;
    let mut kinds = vec![
        (SourceKind::Traversal, "fuzz/traversal.jsonl"),
        (SourceKind::AgentTraces, "fuzz/agents.jsonl"),
        (SourceKind::Health, "fuzz/health.jsonl"),
        (SourceKind::Health, "fuzz/health.csv"),
        (SourceKind::GraphEvents, "fuzz/graph.jsonl"),
    ];
    for i in 0..cfg.sources.jsonl.len() {
        kinds.push((SourceKind::Generic(i), "fuzz/generic.jsonl"));
    }
    kinds
        .into_iter()
        .map(|(kind, rel)| {
            let mut agg = Agg::default();
            let mut dec = Decoder::new(kind, rel, limits);
            for (i, line) in data.split(|b| *b == b'\n').enumerate() {
                let l = if line.len() > reader::MAX_LINE {
                    Line::TooLong
                } else {
                    Line::Text(line)
                };
                dec.line(cfg, &limits, rel, &mut agg, i as u64 + 1, l);
            }
            dec.finish(&mut agg);
            agg
        })
        .collect()
}

/// For fuzzing: decodes arbitrary bytes as each source kind; never panics.
pub fn fuzz_decode(data: &[u8]) {
    thread_local! {
        static CFG: Config = fuzz_config();
    }
    CFG.with(|cfg| {
        let _ = decode_all_kinds(data, cfg);
    });
}

/// The built-in config plus one generic source, so fuzzing reaches that decoder too.
pub(crate) fn fuzz_config() -> Config {
    let mut cfg = Config::builtin();
    cfg.sources.jsonl.push(crate::config::GenericSource {
        name: "api".into(),
        glob: "logs/api/*.jsonl".into(),
        timestamp: "/ts".into(),
        metrics: vec![crate::config::GenericMetric {
            name: "latency_ms".into(),
            pointer: "/latency_ms".into(),
            direction: crate::config::Direction::Lower,
        }],
        anomaly: Some("/error_kind".into()),
        variant: Some("/variant".into()),
    });
    cfg
}
