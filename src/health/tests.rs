//! H1–H10 and M1–M5 over records built in memory: a healthy baseline, then one
//! mutation per case that trips the indicator at (and just past) its documented
//! thresholds. The fixture is shared with the invariant tests in `invariants_tests.rs`.

use super::*;
use crate::audit::AuditEntry;
use crate::clock::parse_ts;
use crate::cycle::CycleRecord;
use crate::deploy::{DeployStatus, Deployment};
use crate::diagnose::patterns::History as MetricHistory;
use crate::diagnose::{Pattern, PatternKind};
use crate::store::library::{KnownPattern, Library, Outcome};
use crate::store::proposals::Proposal;
use crate::validate::Validation;
use crate::vocab::{Approver, Tier};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The simulated "now" of every case.
pub(crate) const NOW: &str = "2026-02-01T12:00:00Z";

pub(crate) fn now() -> Timestamp {
    parse_ts(NOW).unwrap()
}

/// `now` minus `h` hours, as a record timestamp.
pub(crate) fn ago(h: f64) -> String {
    crate::clock::fmt_ts(now() - chrono::Duration::milliseconds((h * 3_600_000.0) as i64))
}

pub(crate) fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture matches the record type")
}

fn evidence() -> Value {
    json!([{"file": "logs/traversal/t1.jsonl", "line": 7, "detail": "sibling_divergence 0.30"}])
}

pub(crate) fn pattern(kind: &str, subject: &str, actionable: bool) -> Pattern {
    from(json!({
        "kind": kind, "subject": subject, "occurrences": 12, "severity": 2.0, "impact": 0.3,
        "score": 7.2, "actionable": actionable, "why": "planted", "evidence": evidence(),
        "stats": {}, "layer": "physics", "rule": "r1", "confidence": 0.8, "explanation": "e",
        "metric": "sibling_divergence", "features": [1.0, 0.5], "known": null
    }))
}

pub(crate) fn cycle(id: &str, started: &str, window_s: i64, spent_ms: u64) -> CycleRecord {
    let start = parse_ts(started).unwrap();
    from(json!({
        "cycle": id, "started": started, "outcome": "proposed",
        "triggers": [{"kind": "periodic", "reason": "timer", "urgency": "low", "ts": started}],
        "window": [crate::clock::fmt_ts(start - chrono::Duration::seconds(window_s)), started],
        "files_read": 1, "lines_read": 10, "bytes_read": 100, "skipped_total": 0, "skipped": [],
        "metrics": {}, "patterns": [pattern("metric_drift", "sibling_divergence", true)],
        "proposals": [], "not_proposed": [], "phase_ms": {"observe": spent_ms},
        "notes": [], "audit_ok": true
    }))
}

pub(crate) fn proposal(id: &str, status: &str, approved_by: Option<Approver>) -> Proposal {
    from(json!({
        "id": id, "type": "constant_tune", "title": "tune", "status": status,
        "created": ago(30.0), "cycle": "C-000001",
        "pattern": {"signature": "metric_drift:sibling_divergence", "kind": "metric_drift",
            "subject": "sibling_divergence", "occurrences": 12, "layer": "physics", "rule": "r1",
            "confidence": 0.8, "why": "w", "explanation": "e", "evidence": evidence()},
        "target": {"file": "runtime/physics/constants.py", "name": "SIBLING_DIVERGENCE_WEIGHT"},
        "change": {"summary": "SIBLING_DIVERGENCE_WEIGHT 0.10 -> 0.20",
            "file": "runtime/physics/constants.py", "document_only": false},
        "rationale": "too low", "risk": "low", "complexity": 1.0,
        "target_metric": {"name": "sibling_divergence", "direction": "higher"},
        "validation_plan": {"mode": "unit_test", "description": "d"},
        "rollback_plan": "git revert", "score": 1.0, "proven_fix": false,
        "branch": format!("improve/proposal/{id}"), "base_commit": "", "branch_commit": "",
        "tier": "auto", "approved_by": approved_by
    }))
}

pub(crate) fn deployment(id: &str, proposal: &str, status: DeployStatus) -> Deployment {
    from(json!({
        "id": id, "proposal": proposal, "status": status, "tier": "auto",
        "approved_by": {"kind": "tool", "tier": "auto"}, "branch": "main",
        "backup_tag": format!("improve/backup/{id}"), "backup_commit": "",
        "deploy_tag": format!("improve/deploy/{id}"), "deploy_commit": "",
        "deployed_at": ago(30.0), "baseline": {},
        "ended_at": (status != DeployStatus::Monitoring).then(|| ago(2.0))
    }))
}

pub(crate) fn validation(proposal: &str, status: &str) -> Validation {
    from(json!({
        "proposal": proposal, "mode": "unit_test", "status": status, "started": ago(29.0),
        "commit": "", "recommendation": "deploy"
    }))
}

pub(crate) fn known(sig: &str, fix: Option<Outcome>, recurrences: u64) -> KnownPattern {
    from(json!({
        "signature": sig, "kind": "metric_drift", "subject": sig, "features": [1.0],
        "first_seen": ago(100.0), "last_seen": ago(1.0), "cycles_seen": 3,
        "recurrences": recurrences, "diagnoses": [],
        "fixes": fix.map(|o| vec![json!({"proposal": "P-0001", "kind": "constant_tune",
            "file": "f", "name": "n", "layer": "physics", "outcome": o, "updated": ago(2.0)})])
            .unwrap_or_default()
    }))
}

pub(crate) fn audit_entry(seq: u64, phase: &str, subject: &str) -> AuditEntry {
    from(json!({
        "seq": seq, "ts": ago(30.0), "cycle": "C-000001", "phase": phase, "action": "deployed",
        "subject": subject, "detail": {}, "prev": "", "hash": ""
    }))
}

/// A metric history with the given per-cycle values (one row per index).
pub(crate) fn metrics(series: &[(&str, Vec<f64>)]) -> MetricHistory {
    let mut h = MetricHistory::default();
    let n = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    for i in 0..n {
        let row: BTreeMap<String, f64> = series
            .iter()
            .filter_map(|(m, v)| v.get(i).map(|x| (m.to_string(), *x)))
            .collect();
        h.push_cycle(&format!("C-{i:06}"), &ago(100.0 - i as f64), &row);
    }
    h
}

fn rising() -> Vec<f64> {
    vec![0.50, 0.52, 0.55, 0.56, 0.60, 0.61]
}
fn falling() -> Vec<f64> {
    rising().iter().map(|v| 1.0 - v).collect()
}
fn flat() -> Vec<f64> {
    vec![0.5, 0.6, 0.5, 0.6, 0.5, 0.6]
}

/// Everything healthy: one cycle an hour ago over a 24h window, a low-risk tune
/// validated, auto-deployed with its audit entry and stable, its pattern in the
/// library with a stable fix, all three value metrics improving.
pub(crate) fn baseline() -> Recorded {
    let mut validations = BTreeMap::new();
    validations.insert("P-0001".to_string(), validation("P-0001", "PASSED"));
    Recorded {
        summary: Default::default(),
        cycles: vec![cycle("C-000001", &ago(1.0), 86_400, 2_000)],
        cycle_ids: vec![],
        learning: vec!["C-000001".into()],
        proposals: vec![proposal(
            "P-0001",
            "stable",
            Some(Approver::Tool { tier: Tier::Auto }),
        )],
        validations,
        deployments: vec![deployment("D-0001", "P-0001", DeployStatus::Stable)],
        library: Library {
            patterns: vec![known(
                "metric_drift:sibling_divergence",
                Some(Outcome::Stable),
                0,
            )],
        },
        metrics: metrics(&[
            ("satisfaction", rising()),
            ("agent_success_rate", rising()),
            ("error_rate", falling()),
        ]),
        audit: vec![audit_entry(1, "deploy", "D-0001")],
        audit_entries: 1,
        audit_problems: vec![],
        queued_triggers: 0,
        storage: None,
    }
}

/// `r` as `Recorded::load` gives it when its cycles are every cycle on record: the
/// fixtures build cycle records, the indicators read what the cycles summarised.
pub(crate) fn summarised(r: &Recorded) -> Recorded {
    let mut r = r.clone();
    r.summary = crate::cycle::summary::Summary::fold(&r.cycles);
    r.cycle_ids = r.cycles.iter().map(|c| c.cycle.clone()).collect();
    r
}

/// `super::compute` over the summarised fixture.
fn compute(r: &Recorded, inv: &[InvariantResult], now: Timestamp) -> Health {
    super::compute(&summarised(r), inv, now)
}

pub(crate) fn holds(id: &'static str, critical: bool) -> InvariantResult {
    InvariantResult {
        id,
        name: "n",
        critical,
        ok: true,
        evidence: vec![],
        checked: 1,
    }
}

pub(crate) fn all_hold() -> Vec<InvariantResult> {
    ["V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10"]
        .iter()
        .enumerate()
        .map(|(i, id)| holds(id, i < 4))
        .collect()
}

/// Cases run so far: (indicator cases, invariant cases).
static TALLY: std::sync::Mutex<(usize, usize)> = std::sync::Mutex::new((0, 0));

/// Counts cases and rewrites the summary under the lock, so whichever test finishes
/// last leaves the full count whatever order the tests ran in.
pub(crate) fn tally(indicator: usize, invariant: usize) {
    let mut t = TALLY.lock().unwrap_or_else(|e| e.into_inner());
    t.0 += indicator;
    t.1 += invariant;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summary");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("health.txt"),
        format!(
            "health+invariants: {} indicator cases, {} invariant cases, each tripped\n",
            t.0, t.1
        ),
    )
    .unwrap();
}

fn of<'a>(h: &'a Health, id: &str) -> &'a Indicator {
    h.indicators
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no indicator {id}"))
}

/// Asserts indicator `id` of `r` is at `want`, and counts one case.
#[track_caller]
fn expect(r: &Recorded, inv: &[InvariantResult], id: &str, want: Level) -> Health {
    let h = compute(r, inv, now());
    let i = of(&h, id);
    assert_eq!(i.level, want, "{id}: {} (value {:?})", i.detail, i.value);
    assert!(h.overall >= want, "overall is the worst level");
    tally(1, 0);
    h
}

#[track_caller]
fn level(r: &Recorded, id: &str, want: Level) -> Health {
    expect(r, &all_hold(), id, want)
}

/// `n` auto-tier deployments of which the first `bad` have `status`.
fn deploys(n: usize, bad: usize, status: DeployStatus) -> Vec<Deployment> {
    (0..n)
        .map(|i| {
            let s = if i < bad {
                status
            } else {
                DeployStatus::Stable
            };
            deployment(&format!("D-{i:04}"), "P-0001", s)
        })
        .collect()
}

#[test]
fn baseline_is_healthy_everywhere() {
    let h = compute(&baseline(), &all_hold(), now());
    for i in &h.indicators {
        assert_eq!(i.level, Level::Healthy, "{} {}: {}", i.id, i.name, i.detail);
    }
    assert_eq!(h.overall, Level::Healthy);
    let ids: Vec<_> = h.indicators.iter().map(|i| i.id).collect();
    assert_eq!(
        ids,
        [
            "H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8", "H9", "H10", "M1", "M2", "M3", "M4",
            "M5"
        ]
    );
}

#[test]
fn h1_velocity_warns_when_work_waits_and_nothing_became_stable_in_30_days() {
    level(&baseline(), "H1", Level::Healthy);
    let mut r = baseline();
    r.deployments[0].ended_at = Some(ago(31.0 * 24.0));
    r.proposals
        .push(proposal("P-0002", "awaiting_approval", None));
    level(&r, "H1", Level::Warning);
    // Stable 29 days ago still counts.
    r.deployments[0].ended_at = Some(ago(29.0 * 24.0));
    level(&r, "H1", Level::Healthy);
    // Nothing stable and nothing open: nothing needed fixing.
    let mut r = baseline();
    r.deployments.clear();
    r.proposals.clear();
    level(&r, "H1", Level::Healthy);
}

#[test]
fn h2_deployment_success_thresholds_95_and_90() {
    let mut r = baseline();
    r.deployments = deploys(20, 1, DeployStatus::Failed); // 95%
    level(&r, "H2", Level::Healthy);
    r.deployments = deploys(21, 2, DeployStatus::Failed); // 90.5%
    level(&r, "H2", Level::Warning);
    r.deployments = deploys(20, 2, DeployStatus::Failed); // 90%
    level(&r, "H2", Level::Warning);
    r.deployments = deploys(10, 2, DeployStatus::Failed); // 80%
    let h = level(&r, "H2", Level::Error);
    assert_eq!(of(&h, "H2").value, Some(0.8));
    assert_eq!(h.overall, Level::Error);
    // A human's own merge is not the tool's deployment.
    r.deployments = deploys(10, 2, DeployStatus::Failed);
    for d in &mut r.deployments[..2] {
        d.tier = None;
    }
    level(&r, "H2", Level::Healthy);
}

#[test]
fn h3_rollback_rate_thresholds_5_and_10() {
    let mut r = baseline();
    r.deployments = deploys(21, 1, DeployStatus::RolledBack); // 4.8%
    level(&r, "H3", Level::Healthy);
    r.deployments = deploys(20, 1, DeployStatus::RolledBack); // 5%
    level(&r, "H3", Level::Warning);
    r.deployments = deploys(20, 2, DeployStatus::RollbackFailed); // 10%
    level(&r, "H3", Level::Warning);
    r.deployments = deploys(20, 3, DeployStatus::RolledBack); // 15%
    level(&r, "H3", Level::Error);
    // A deployment still in flight is not a finished one.
    r.deployments = deploys(21, 1, DeployStatus::RolledBack);
    r.deployments[1].status = DeployStatus::Deploying;
    level(&r, "H3", Level::Warning); // 1 of 20
                                     // One rollback among three deployments is worth a look, not an alarm.
    r.deployments = deploys(3, 1, DeployStatus::RolledBack);
    level(&r, "H3", Level::Warning);
    r.deployments = deploys(10, 2, DeployStatus::RolledBack);
    level(&r, "H3", Level::Error);
}

fn with_patterns(proactive: usize, breaches: usize, ignored_breaches: usize) -> Recorded {
    let mut r = baseline();
    let c = &mut r.cycles[0];
    c.patterns.clear();
    for i in 0..proactive {
        c.patterns
            .push(pattern("recurring_anomaly", &format!("A{i}"), true));
    }
    for i in 0..breaches {
        c.patterns
            .push(pattern("threshold_breach", &format!("m{i}"), true));
    }
    for i in 0..ignored_breaches {
        c.patterns
            .push(pattern("threshold_breach", &format!("x{i}"), false));
    }
    r
}

#[test]
fn h4_detection_lead_time_needs_80_percent_proactive() {
    level(&with_patterns(4, 1, 5), "H4", Level::Healthy); // 80%, noise ignored
    level(&with_patterns(3, 1, 0), "H4", Level::Warning); // 75%
    level(&with_patterns(5, 5, 0), "H4", Level::Error); // 50% of 10
    level(&with_patterns(1, 1, 0), "H4", Level::Warning); // 50% of 2: small sample
                                                          // The same problem in many cycles is one problem.
    let mut r = with_patterns(8, 2, 0);
    let again = r.cycles[0].clone();
    r.cycles.push(again.clone());
    r.cycles.push(again);
    r.cycles[1]
        .patterns
        .retain(|p| p.kind == PatternKind::ThresholdBreach);
    r.cycles[2]
        .patterns
        .retain(|p| p.kind == PatternKind::ThresholdBreach);
    level(&r, "H4", Level::Healthy); // still 8 of 10
    let r = with_patterns(4, 1, 0);
    assert_eq!(
        r.cycles[0].patterns[4].kind,
        PatternKind::ThresholdBreach,
        "the fixture plants breaches"
    );
}

fn with_fixed(n: usize, recurred: usize) -> Recorded {
    let mut r = baseline();
    r.library.patterns = (0..n)
        .map(|i| {
            known(
                &format!("s{i}"),
                Some(Outcome::Stable),
                (i < recurred) as u64,
            )
        })
        .collect();
    // Patterns whose fix never became stable do not count, recurring or not.
    r.library
        .patterns
        .push(known("rolled", Some(Outcome::RolledBack), 4));
    r.library.patterns.push(known("unfixed", None, 9));
    r
}

#[test]
fn h5_fix_recurrence_thresholds_10_and_20() {
    level(&with_fixed(11, 1), "H5", Level::Healthy); // 9.1%
    level(&with_fixed(10, 1), "H5", Level::Warning); // 10%
    level(&with_fixed(10, 2), "H5", Level::Warning); // 20%
    level(&with_fixed(10, 3), "H5", Level::Error); // 30%
}

#[test]
fn h5_counts_a_fix_judged_ineffective_as_a_pattern_that_went_on() {
    // 11 stable fixes, none back: healthy; one more whose fix had no effect: 1 of 12.
    let mut r = with_fixed(11, 0);
    level(&r, "H5", Level::Healthy);
    r.library
        .patterns
        .push(known("noop", Some(Outcome::Ineffective), 0));
    let h = level(&r, "H5", Level::Healthy);
    let h5 = h.indicators.iter().find(|i| i.id == "H5").unwrap();
    assert!((h5.value.unwrap() - 1.0 / 12.0).abs() < 1e-12);
    assert!(
        h5.detail.contains("1 after a fix judged ineffective"),
        "{}",
        h5.detail
    );
    r.library
        .patterns
        .push(known("noop2", Some(Outcome::Ineffective), 0));
    level(&r, "H5", Level::Warning); // 2 of 13
}

#[test]
fn h6_resource_overhead_thresholds_3_and_5() {
    let mut r = baseline();
    let at = |ms| vec![cycle("C-000001", &ago(1.0), 1000, ms)];
    r.cycles = at(29_000); // 2.9%
    level(&r, "H6", Level::Healthy);
    r.cycles = at(30_000); // 3%
    level(&r, "H6", Level::Warning);
    r.cycles = at(50_000); // 5%
    level(&r, "H6", Level::Warning);
    r.cycles = at(51_000); // 5.1%
    level(&r, "H6", Level::Error);
}

fn decisions(approved: usize, rejected: usize) -> Recorded {
    let mut r = baseline();
    for i in 0..approved {
        r.proposals.push(proposal(
            &format!("P-1{i:03}"),
            "deployed",
            Some(Approver::human("Ada Lovelace")),
        ));
    }
    for i in 0..rejected {
        r.proposals
            .push(proposal(&format!("P-2{i:03}"), "rejected", None));
    }
    r
}

#[test]
fn h7_human_approval_rate_thresholds_80_and_60() {
    level(&decisions(4, 1), "H7", Level::Healthy); // 80%
    level(&decisions(3, 1), "H7", Level::Warning); // 75%
    level(&decisions(3, 2), "H7", Level::Warning); // 60%
    level(&decisions(1, 1), "H7", Level::Error); // 50%
                                                 // The baseline's auto-tier approval is not a human decision.
    let h = compute(&decisions(1, 1), &all_hold(), now());
    assert!(
        of(&h, "H7").detail.contains("1 of 2"),
        "{}",
        of(&h, "H7").detail
    );
}

#[test]
fn h8_library_must_grow_while_problems_are_found() {
    let mut r = baseline();
    r.library.patterns.clear();
    level(&r, "H8", Level::Warning);
    // Nothing found, nothing to learn.
    r.cycles[0].patterns.clear();
    level(&r, "H8", Level::Healthy);
}

fn trends(s: Vec<f64>, c: Vec<f64>, e: Vec<f64>) -> Recorded {
    let mut r = baseline();
    r.metrics = metrics(&[
        ("satisfaction", s),
        ("agent_success_rate", c),
        ("error_rate", e),
    ]);
    r
}

#[test]
fn h9_needs_two_of_satisfaction_completion_error_improving() {
    level(&trends(rising(), rising(), flat()), "H9", Level::Healthy);
    level(&trends(flat(), rising(), falling()), "H9", Level::Healthy);
    level(
        &trends(rising(), falling(), falling()),
        "H9",
        Level::Healthy,
    );
    // One improving is not two.
    level(&trends(rising(), flat(), flat()), "H9", Level::Warning);
    level(&trends(flat(), flat(), flat()), "H9", Level::Warning);
    level(&trends(rising(), falling(), rising()), "H9", Level::Error);
    // Too little history is no data, not a problem.
    level(
        &trends(vec![0.5, 0.4], vec![0.5], vec![]),
        "H9",
        Level::Healthy,
    );
}

fn violated(mut v: Vec<InvariantResult>, ids: &[&str]) -> Vec<InvariantResult> {
    for i in &mut v {
        if ids.contains(&i.id) {
            i.ok = false;
            i.evidence.push(format!("{} broken", i.id));
        }
    }
    v
}

#[test]
fn h10_invariant_violations_one_two_three_and_critical() {
    let r = baseline();
    expect(&r, &all_hold(), "H10", Level::Healthy);
    expect(&r, &violated(all_hold(), &["V5"]), "H10", Level::Warning);
    let h = expect(
        &r,
        &violated(all_hold(), &["V5", "V8"]),
        "H10",
        Level::Warning,
    );
    assert!(of(&h, "H10").detail.contains("V8"));
    expect(
        &r,
        &violated(all_hold(), &["V5", "V8", "V9"]),
        "H10",
        Level::Error,
    );
    let h = expect(&r, &violated(all_hold(), &["V3"]), "H10", Level::Error);
    assert_eq!(h.overall, Level::Error);
}

#[test]
fn m1_last_cycle_must_be_under_24_hours_old() {
    let mut r = baseline();
    r.cycles = vec![cycle("C-000001", &ago(23.99), 86_400, 1000)];
    level(&r, "M1", Level::Healthy);
    r.cycles = vec![cycle("C-000001", &ago(24.0), 86_400, 1000)];
    level(&r, "M1", Level::Error);
    r.cycles.clear();
    level(&r, "M1", Level::Warning);
    // The newest cycle counts, whatever order the records came in.
    r.cycles = vec![
        cycle("C-000002", &ago(2.0), 86_400, 1000),
        cycle("C-000001", &ago(72.0), 86_400, 1000),
    ];
    level(&r, "M1", Level::Healthy);
}

#[test]
fn m2_trigger_queue_thresholds_10_and_50() {
    let mut r = baseline();
    for (q, want) in [
        (9, Level::Healthy),
        (10, Level::Warning),
        (50, Level::Warning),
        (51, Level::Error),
    ] {
        r.queued_triggers = q;
        level(&r, "M2", want);
    }
}

#[test]
fn m3_cycle_duration_p95_under_an_hour() {
    let mut r = baseline();
    let many = |slow: usize, slow_ms: u64| {
        (0..20)
            .map(|i| {
                let ms = if i < slow { slow_ms } else { 1000 };
                cycle(&format!("C-{i:06}"), &ago(1.0 + i as f64), 86_400 * 30, ms)
            })
            .collect::<Vec<_>>()
    };
    r.cycles = many(1, 7_200_000); // one slow cycle in 20 is the top 5%
    level(&r, "M3", Level::Healthy);
    r.cycles = many(2, 7_200_000);
    level(&r, "M3", Level::Error);
    r.cycles = many(20, 3_599_000);
    level(&r, "M3", Level::Healthy);
    r.cycles = many(20, 3_600_000);
    level(&r, "M3", Level::Error);
}

#[test]
fn m3_p95_is_the_nearest_rank_for_every_count() {
    for n in 1..=200usize {
        let mut r = baseline();
        r.cycles = (0..n)
            .map(|i| {
                cycle(
                    &format!("C-{i:06}"),
                    &ago(1.0),
                    86_400,
                    (i as u64 + 1) * 1000,
                )
            })
            .collect();
        let h = compute(&r, &all_hold(), now());
        let rank = (95 * n).div_ceil(100); // smallest k with k/n >= 0.95
        assert_eq!(of(&h, "M3").value, Some(rank as f64), "n={n}");
    }
}

#[test]
fn m4_no_data_in_the_newest_cycle_is_a_warning_until_data_comes_back() {
    let mut r = baseline();
    level(&r, "M4", Level::Healthy);
    let blind = |id: &str, h: f64| {
        let mut c = cycle(id, &ago(h), 3600, 10);
        c.outcome = crate::cycle::record::NO_DATA.into();
        c.files_read = 0;
        c.lines_read = 0;
        c.notes = vec!["no data: no log directory exists (logs missing under /srv/x)".into()];
        c
    };
    r.cycles.push(blind("C-000002", 2.0));
    r.cycles.push(blind("C-000003", 1.0));
    let h = level(&r, "M4", Level::Warning);
    assert_eq!(h.overall, Level::Warning);
    let m4 = of(&h, "M4");
    assert_eq!(m4.value, Some(2.0));
    assert!(m4.detail.contains("since C-000002") && m4.detail.contains("logs missing"));
    // Data again in the newest cycle: healthy, whatever came before.
    r.cycles.push(cycle("C-000004", &ago(0.5), 3600, 10));
    level(&r, "M4", Level::Healthy);
    r.cycles.clear();
    level(&r, "M4", Level::Healthy);
}

#[test]
fn m4_counts_a_run_of_blind_cycles_longer_than_the_records_it_loads() {
    // Recorded::load holds the newest 20 cycle records; the run is the summary's.
    let blind = |i: usize| {
        let mut c = cycle(&format!("C-{i:06}"), &ago(40.0 - i as f64), 3600, 10);
        c.outcome = crate::cycle::record::NO_DATA.into();
        c
    };
    let mut every = vec![cycle("C-000001", &ago(40.0), 3600, 10)];
    every.extend((2..=31).map(blind));
    let mut r = baseline();
    r.summary = crate::cycle::summary::Summary::fold(&every);
    r.cycles = every[every.len() - 20..].to_vec();
    let h = super::compute(&r, &all_hold(), now());
    let m4 = of(&h, "M4");
    assert_eq!((m4.level, m4.value), (Level::Warning, Some(30.0)));
    assert!(m4.detail.contains("since C-000002"), "{}", m4.detail);
}

#[test]
fn overall_is_the_worst_level() {
    let mut r = baseline();
    r.queued_triggers = 10;
    assert_eq!(compute(&r, &all_hold(), now()).overall, Level::Warning);
    r.cycles[0].started = ago(48.0);
    assert_eq!(compute(&r, &all_hold(), now()).overall, Level::Error);
}

#[test]
fn m5_warns_when_the_logs_pass_the_configured_size() {
    let d = tempfile::tempdir().unwrap();
    let git_dir = git2::Repository::init(d.path())
        .unwrap()
        .path()
        .to_path_buf();
    let keep = |bytes: u64, warn: u64| {
        let kept = json!({"samples": [["2026-01-11T12:00:00Z", 1_000]],
            "logs": {"ts": ago(3.0), "files": 42, "bytes": bytes, "warn_bytes": warn}});
        std::fs::create_dir_all(git_dir.join("improve")).unwrap();
        std::fs::write(git_dir.join("improve/housekeeping.json"), kept.to_string()).unwrap();
        let mut r = baseline();
        r.storage = Some(crate::housekeeping::Storage::read(&git_dir).unwrap());
        r
    };
    let h = level(&keep(100 << 20, 200 << 20), "M5", Level::Healthy);
    let detail = &of(&h, "M5").detail;
    assert!(detail.contains("logs 100.0 MB in 42 files"), "{detail}");
    assert!(detail.contains("MB/day over 21 days"), "{detail}");
    let h = level(&keep(201 << 20, 200 << 20), "M5", Level::Warning);
    assert!(
        of(&h, "M5").detail.contains("past 200 MB"),
        "{}",
        of(&h, "M5").detail
    );
    // 0 never warns; no storage at all is no data.
    level(&keep(201 << 20, 0), "M5", Level::Healthy);
    level(&baseline(), "M5", Level::Healthy);
}
