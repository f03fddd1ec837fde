//! The whole page from hand-made records whose every text field is hostile: nothing a
//! log or a record carries reaches the page as markup.

use super::*;
use crate::config::{Direction, MetricCfg};
use crate::diagnose::patterns::History;
use crate::health::Indicator;
use serde_json::json;

const EVIL: &str = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";

fn records(evil: &str) -> Recorded {
    let proposal = json!({
        "id": "P-0007", "type": "skill_improve", "title": evil,
        "status": "awaiting_approval", "created": "2026-01-06T00:00:00Z", "cycle": "C-000003",
        "pattern": {
            "signature": evil, "kind": "threshold_breach", "subject": evil, "occurrences": 2,
            "layer": "skill", "rule": evil, "confidence": 0.5, "why": evil, "explanation": evil,
            "evidence": [{"file": evil, "line": 7, "ts": evil, "detail": evil}]
        },
        "target": {"file": evil, "name": evil},
        "change": {"summary": evil, "file": evil, "document_only": false},
        "rationale": evil, "risk": "medium", "complexity": 1.0,
        "target_metric": {"name": evil, "direction": "lower"},
        "validation_plan": {"mode": "canary", "description": evil},
        "rollback_plan": evil, "score": 1.0, "proven_fix": false,
        "branch": evil, "base_commit": "a", "branch_commit": "b",
        "conflicts": [evil], "tier": "approve", "awaiting_since": "2026-01-06T00:00:00Z",
        "escalated_at": evil
    });
    let deployment = |id: &str, status: &str| {
        json!({
            "id": id, "proposal": "P-0007", "status": status, "tier": "approve",
            "approved_by": {"kind": "human", "name": evil}, "branch": "main", "backup_tag": evil, "backup_commit": evil,
            "deploy_tag": evil, "deploy_commit": evil, "deployed_at": "2026-01-06T06:00:00Z",
            "baseline": {}, "reason": evil, "ended_at": "2026-01-06T08:00:00Z",
            "checks": [{"ts": evil, "cycle": evil, "degraded": [evil], "severe": false, "metrics": [
                {"name": evil, "status": "fail", "relative_effect": -0.2, "p": 0.01, "reason": evil}
            ]}]
        })
    };
    let validation = json!({
        "proposal": "P-0007", "mode": "canary", "status": "PASSED", "started": evil,
        "commit": "b", "recommendation": evil
    });
    let t = |h: u32| format!("2026-01-06T{h:02}:00:00Z");
    Recorded {
        summary: Default::default(),
        cycles: vec![],
        cycle_ids: vec![],
        learning: vec![],
        proposals: vec![serde_json::from_value(proposal).unwrap()],
        validations: [(
            "P-0007".to_string(),
            serde_json::from_value(validation).unwrap(),
        )]
        .into(),
        deployments: vec![
            serde_json::from_value(deployment("D-0001", "rollback_failed")).unwrap(),
            serde_json::from_value(deployment("D-0002", "monitoring")).unwrap(),
        ],
        library: Default::default(),
        metrics: History {
            cycles: (0..4).map(|h| (format!("C-{h}{evil}"), t(h * 3))).collect(),
            series: [(
                evil.to_string(),
                vec![Some(0.1), Some(0.2), None, Some(0.15)],
            )]
            .into(),
        },
        audit: vec![],
        audit_entries: 0,
        audit_problems: vec![evil.to_string()],
        queued_triggers: 0,
        storage: None,
    }
}

fn health(evil: &'static str) -> Health {
    Health {
        overall: Level::Error,
        indicators: vec![Indicator {
            id: "H3",
            name: evil,
            level: Level::Error,
            value: None,
            detail: evil.to_string(),
            thresholds: evil,
        }],
    }
}

fn page() -> String {
    let mut cfg = Config::builtin();
    cfg.metrics.push(MetricCfg {
        name: EVIL.to_string(),
        direction: Direction::Lower,
        critical: true,
        allowed_effect: 0.1,
        required: false,
        healthy: Some(0.12),
        error: None,
    });
    let now = parse_ts("2026-01-07T00:00:00Z").unwrap();
    render(&cfg, &records(EVIL), &health(EVIL), EVIL, now)
}

#[test]
fn hostile_record_text_is_escaped_everywhere() {
    let html = page();
    for raw in ["<script", "<img", "onerror=alert(2)>"] {
        assert!(!html.contains(raw), "{raw:?} reached the page");
    }
    let escaped = esc(EVIL);
    // Every place shows it, escaped: title, proposal card, evidence, commands, alerts,
    // the watched verdicts, the chart, its markers' tooltips, the deployments table.
    assert!(
        html.matches(&escaped).count() >= 20,
        "{}",
        html.matches(&escaped).count()
    );
}

#[test]
fn the_page_leads_with_decisions_and_says_when_it_was_generated() {
    let html = page();
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(at("id=\"decisions\"") < at("id=\"watched\""));
    assert!(at("id=\"watched\"") < at("id=\"metrics\""));
    assert!(at("id=\"metrics\"") < at("id=\"deployments\""));
    assert!(html.contains("<time datetime=\"2026-01-07T00:00:00Z\">2026-01-07 00:00 UTC</time>"));
    // The waiting proposal with its commands; the failed rollback; the alerts.
    assert!(html.contains("improve approve P-0007 --by NAME"));
    assert!(html.contains("improve reject P-0007 --by NAME --reason"));
    assert!(html.contains("rollback failed</span> <a href=\"#D-0001\">"));
    assert!(html.contains("does not verify"));
    // 1 proposal + 1 failed rollback + 1 audit error + 1 ERROR indicator.
    assert!(html.contains("Needs a decision <span class=\"count\">4</span>"));
    // The live deployment's verdict reads as a change with a direction.
    assert!(html.contains("-20.0% worse"));
    // The chart has its markers, linked to the rows that exist.
    assert!(html.contains("<a class=\"deploy\" href=\"#D-0002\">"));
    assert!(html.contains("<tr id=\"D-0002\">"));
    assert!(!html.contains("<script"), "no script at all");
}

#[test]
fn ages_read_in_the_largest_units() {
    let now = parse_ts("2026-01-07T00:00:00Z").unwrap();
    assert_eq!(ago(now, "2026-01-07T00:00:00Z"), "just now");
    assert_eq!(ago(now, "2026-01-06T23:15:00Z"), "45m ago");
    assert_eq!(ago(now, "2026-01-06T20:30:00Z"), "3h 30m ago");
    assert_eq!(ago(now, "2026-01-04T22:00:00Z"), "2d 2h ago");
    assert_eq!(ago(now, "2026-01-08T00:00:00Z"), "in the future");
    assert_eq!(ago(now, "<b>"), "&lt;b&gt;");
}
