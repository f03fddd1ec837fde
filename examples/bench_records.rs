//! Times the record-keeping half of a cycle on a long history (issue 5: "a whole cycle
//! on a history of 10,000 records"): builds a throwaway repository whose records branch
//! holds N audit entries across months, N cycle records (sharded, with the summary the
//! cycles keep) and a pattern library of N known patterns, then times `audit verify`,
//! health (load + check + compute) as the reading commands do it (from the summary) and
//! from every record (issue 15), and a library similarity search. Exits 1 if any of
//! them takes more than LIMIT seconds.
//!
//! usage: bench_records [N] [--limit SECONDS]   (defaults: 10000, 1.0)

use anyhow::{bail, Context, Result};
use improve::cycle::CycleRecord;
use improve::diagnose::{Pattern, PatternKind};
use improve::records::Records;
use improve::store::library::{self, KnownPattern, Library};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

/// Records per commit: a history is written by many cycles, not one giant commit, and
/// each month of audit entries lands in its own file.
const PER_COMMIT: usize = 1000;
const KINDS: [PatternKind; 4] = [
    PatternKind::RecurringAnomaly,
    PatternKind::MetricDrift,
    PatternKind::Correlation,
    PatternKind::ThresholdBreach,
];

fn features(i: usize) -> Vec<f64> {
    (0..8)
        .map(|k| ((i * 31 + k * 17) % 97) as f64 / 97.0)
        .collect()
}

fn cycle_record(i: usize, ts: &str) -> CycleRecord {
    let mut metrics = BTreeMap::new();
    metrics.insert("efficiency".to_string(), 0.1 + (i % 7) as f64 / 100.0);
    metrics.insert("satisfaction".to_string(), 0.6 + (i % 5) as f64 / 100.0);
    let mut phase_ms = BTreeMap::new();
    phase_ms.insert("observe".to_string(), 120 + (i % 13) as u64);
    CycleRecord {
        cycle: format!("C-{:06}", i + 1),
        started: ts.to_string(),
        outcome: "nothing to do".into(),
        triggers: vec![],
        window: (ts.to_string(), ts.to_string()),
        files_read: 12,
        lines_read: 3400,
        bytes_read: 1 << 20,
        skipped_total: 0,
        skipped: vec![],
        metrics,
        patterns: vec![],
        proposals: vec![],
        not_proposed: vec![],
        phase_ms,
        notes: vec![],
        audit_ok: true,
        deferred: vec![],
    }
}

fn known(i: usize, ts: &str) -> KnownPattern {
    KnownPattern {
        signature: format!("recurring_anomaly:ANOMALY_{i:05}"),
        kind: KINDS[i % KINDS.len()],
        subject: format!("ANOMALY_{i:05}"),
        features: features(i),
        first_seen: ts.to_string(),
        last_seen: ts.to_string(),
        cycles_seen: 1 + (i % 9) as u64,
        recurrences: 0,
        diagnoses: vec![],
        fixes: vec![],
    }
}

fn git(dir: &std::path::Path, args: &[&str]) -> Result<()> {
    let ok = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .context("running git")?
        .success();
    if !ok {
        bail!("git {args:?} failed");
    }
    Ok(())
}

/// Builds the history: n/PER_COMMIT commits, one simulated month apart.
fn build(dir: &std::path::Path, n: usize) -> Result<()> {
    git(dir, &["init", "-q"])?;
    git(dir, &["config", "user.name", "bench"])?;
    git(dir, &["config", "user.email", "bench@example.invalid"])?;
    let repo = improve::git::Git::open(dir)?;
    let cfg = improve::config::Config::builtin();
    let mut records = Records::open(&repo, &cfg.records_branch)?;
    let start = improve::clock::parse_ts("2025-01-15T12:00:00Z")?;
    let mut lib = Library::default();
    let mut summary = improve::cycle::summary::Summary::default();
    let commits = n.div_ceil(PER_COMMIT);
    for c in 0..commits {
        let now = start + chrono::Duration::days(31 * c as i64);
        let ts = improve::clock::fmt_ts(now);
        let mut tx = records.tx();
        if c == 0 {
            tx.put_json("state.json", &improve::records::State::default())?;
        }
        for i in c * PER_COMMIT..((c + 1) * PER_COMMIT).min(n) {
            let rec = cycle_record(i, &ts);
            tx.put_json(&improve::cycle::record::path(&rec.cycle), &rec)?;
            tx.put_json(
                &improve::learn::path(&rec.cycle),
                &json!({"cycle": rec.cycle}),
            )?;
            summary.add(&rec);
            tx.audit(
                "observe",
                "read",
                &rec.cycle,
                json!({"files": 12, "lines": 3400, "skipped": 0, "ratio": 0.25 + i as f64 / 1e5}),
            );
            lib.patterns.push(known(i, &ts));
        }
        if c + 1 == commits {
            tx.put_json(library::PATH, &lib)?;
        }
        tx.put_json_rows(improve::cycle::summary::PATH, &summary)?;
        tx.commit(&mut records, "bench", now, "bench history")?;
    }
    Ok(())
}

fn timed<T>(what: &str, limit: f64, failed: &mut Vec<String>, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    let s = t.elapsed().as_secs_f64();
    println!("{what}: {s:.3} s");
    if s > limit {
        failed.push(format!("{what} took {s:.3} s (limit {limit} s)"));
    }
    out
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut n, mut limit) = (10_000usize, 1.0f64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => {
                limit = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .context("--limit")?
            }
            _ => n = a.parse().context("usage: bench_records [N] [--limit S]")?,
        }
    }
    let tmp = tempfile::tempdir()?;
    let t = Instant::now();
    build(tmp.path(), n)?;
    eprintln!(
        "built a history of {n} audit entries, {n} cycle records and {n} known patterns in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let repo = improve::git::Git::open(tmp.path())?;
    let cfg = improve::config::Config::builtin();
    let records = Records::open(&repo, &cfg.records_branch)?;
    let mut failed = vec![];

    let v = timed("audit verify", limit, &mut failed, || {
        improve::audit::verify(&repo, records.tip)
    })?;
    if !v.ok() || v.entries != n as u64 {
        bail!(
            "audit verify: {} entries, problems {:?}",
            v.entries,
            v.problems
        );
    }

    let now = improve::clock::parse_ts("2026-01-01T00:00:00Z")?;
    let judge = |r: improve::health::Recorded| {
        let inv = improve::health::check(&repo, &cfg, &r);
        let h = improve::health::compute(&r, &inv, now);
        (r, h)
    };
    let (r, h) = timed(
        "health (load summary + check + compute)",
        limit,
        &mut failed,
        || -> Result<_> { Ok(judge(improve::health::Recorded::load(&repo, &records)?)) },
    )?;
    if r.summary.cycles != n as u64
        || r.cycle_ids.len() != n
        || r.audit_entries != n as u64
        || r.library.patterns.len() != n
    {
        bail!(
            "history loaded {} cycles ({} ids), {} audit entries, {} patterns; expected {n} each",
            r.summary.cycles,
            r.cycle_ids.len(),
            r.audit_entries,
            r.library.patterns.len()
        );
    }
    println!("  health overall: {}", h.overall.as_str());
    let (_, full) = timed(
        "health (load every record + check + compute)",
        limit,
        &mut failed,
        || -> Result<_> {
            Ok(judge(improve::health::Recorded::load_full(
                &repo, &records,
            )?))
        },
    )?;
    let json = |h: &improve::health::Health| serde_json::to_string(h).unwrap_or_default();
    if json(&full) != json(&h) {
        bail!("health from every record differs from health from the summary");
    }

    // A pattern whose signature is unknown: the search compares it with every known
    // pattern of its kind.
    let probe = Pattern {
        kind: PatternKind::RecurringAnomaly,
        subject: "NEVER_SEEN".into(),
        occurrences: 3,
        severity: 2.0,
        impact: 0.1,
        score: 0.6,
        actionable: true,
        why: String::new(),
        evidence: vec![],
        stats: json!({}),
        layer: None,
        rule: None,
        confidence: 0.5,
        explanation: String::new(),
        metric: None,
        features: features(4242),
        known: None,
    };
    let lib = &r.library;
    let found = timed(
        &format!("library search ({} patterns)", lib.patterns.len()),
        limit,
        &mut failed,
        || lib.find_similar(&probe, 0.9).map(|k| k.signature.clone()),
    );
    println!("  most similar: {}", found.as_deref().unwrap_or("none"));
    let t = Instant::now();
    let reps = 100;
    for _ in 0..reps {
        std::hint::black_box(lib.find_similar(std::hint::black_box(&probe), 0.9));
    }
    println!(
        "  library search, mean of {reps}: {:.2} ms",
        (t.elapsed() / reps).as_secs_f64() * 1000.0
    );

    if failed.is_empty() {
        println!("RECORDS CHECK: OK, each under {limit} s at {n} records");
        Ok(())
    } else {
        for f in &failed {
            println!("RECORDS CHECK: FAILED: {f}");
        }
        std::process::exit(1);
    }
}
