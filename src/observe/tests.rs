//! Tests of the whole OBSERVE phase against real files in a temporary directory:
//! formats and layouts, the doctor's metrics by hand, malformed input, cursors
//! (partial lines, rotation, truncation, incremental), parallel = sequential, and a
//! seeded hostile-input run through every decoder.

use super::discover::Sources;
use super::run::{decode_all_kinds, fuzz_config, run_with};
use super::*;
use crate::config::Config;
use std::path::Path;

const NOW: &str = "2026-02-01T00:00:00Z";

fn window() -> (Window, Timestamp) {
    let now = crate::clock::parse_ts(NOW).unwrap();
    let start = crate::clock::parse_ts("2026-01-01T00:00:00Z").unwrap();
    (Window { start, end: now }, now)
}

pub(super) fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub(super) fn append(root: &Path, rel: &str, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(root.join(rel))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn observe_with(root: &Path, cfg: &Config, cursors: &Cursors) -> (Observation, Cursors) {
    let (w, now) = window();
    run(root, cfg, cursors.clone(), w, now).unwrap()
}

pub(super) fn observe(root: &Path, cursors: &Cursors) -> (Observation, Cursors) {
    observe_with(root, &Config::builtin(), cursors)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn step(ts: &str, exp: &str, sat: f64, findings: &str, cands: &str, mv: (&str, &str)) -> String {
    format!(
        r#"{{"header":{{"timestamp":"{ts}","exploration_id":"{exp}","step_number":1,"level":"STEP"}},"state":{{"before":"SEEKING","after":"SEEKING","position":{{"node_id":"{}","node_type":"moment"}},"satisfaction":{sat}}},"decision":{{"type":"traverse","candidates":[{cands}]}},"movement":{{"from":{{"node_id":"{}"}},"to":{{"node_id":"{}"}}}},"findings":{findings}}}"#,
        mv.0, mv.0, mv.1
    )
}

/// The hand-computed exploration: 3 steps, both candidate layouts, one backtrack.
pub(super) fn hand_exploration() -> String {
    let s1 = step(
        "2026-01-05T10:00:00.000Z",
        "e1",
        0.1,
        r#"{"found_count":0}"#,
        r#"{"sibling_divergence":0.8,"semantic":0.9,"verdict":"SELECTED"},{"sibling_divergence":0.0,"semantic":0.2,"verdict":"REJECTED"}"#,
        ("A", "B"),
    );
    let mut s2 = step(
        "2026-01-05T10:00:00.300Z",
        "e1",
        0.3,
        r#"{"found_count":1}"#,
        r#"{"components":{"sibling_divergence":0.6,"semantic":0.5},"verdict":"SELECTED"},{"components":{"sibling_divergence":0.4,"semantic":0.1},"verdict":"REJECTED"}"#,
        ("B", "A"),
    );
    s2.pop();
    s2.push_str(r#","anomalies":[{"type":"BACKTRACK","severity":"info","detail":"back to A"}],"variant":"P-0001"}"#);
    let s3 = step(
        "2026-01-05T10:00:00.600Z",
        "e1",
        0.4,
        r#"{"found_narratives":["x","y"]}"#,
        "",
        ("A", "C"),
    );
    let start = r#"{"event":"EXPLORATION_START","exploration_id":"e1","timestamp":"2026-01-05T09:59:59.900Z","exploration_context":{"intention_type":"EXPLORE"}}"#;
    let end = r#"{"event":"EXPLORATION_END","exploration_id":"e1","timestamp":"2026-01-05T10:00:01.000Z","found_narratives":{"x":0.9,"y":0.8},"termination":{"reason":"timeout","final_satisfaction":0.45,"steps_taken":3,"duration_ms":900}}"#;
    format!("{start}\n{s1}\n{s2}\n{s3}\n{end}\n")
}

#[test]
fn doctor_metrics_match_a_hand_computed_exploration() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "logs/traversal/traversal_e1.jsonl",
        &hand_exploration(),
    );
    let (o, _) = observe(d.path(), &Cursors::new());
    assert_eq!(o.skipped_total, 0, "{:?}", o.skipped);
    let m = &o.metrics;
    assert_eq!(m["exploration_count"], 1.0);
    assert!(close(m["efficiency"], 2.0 / 3.0), "{m:?}");
    assert!(close(m["satisfaction_velocity"], 0.1));
    assert!(close(m["sibling_divergence"], 0.6));
    assert!(close(m["semantic_quality"], 0.7));
    assert!(close(m["backtrack_rate"], 1.0 / 3.0));
    assert!(close(m["satisfaction"], 0.45));
    assert!(close(m["timeout_rate"], 1.0));
    assert!(close(m["error_rate"], 0.0));
    assert!(close(m["duration_ms"], 900.0));
    assert!(close(m["steps"], 3.0));
    assert!(close(m["anomaly_rate"], 1.0 / 3.0));
    assert_eq!(o.counts["termination:timeout"], 1);
    // The variant tag on a step line puts the exploration's samples under it.
    assert_eq!(o.samples["P-0001"]["efficiency"].len(), 1);
    assert!(!o.samples.contains_key("control"));
    let bt = &o.anomalies["BACKTRACK"];
    assert_eq!((bt.count, bt.explorations), (1, 1));
    assert_eq!(bt.by_severity["info"], 1);
    assert_eq!(bt.evidence[0].line, 3);
    assert_eq!(bt.evidence[0].detail, "back to A");
    assert_eq!(bt.context["state:SEEKING"], 1);
    assert_eq!(bt.context["node_type:moment"], 1);
    assert_eq!(bt.context["decision:traverse"], 1);
    assert_eq!(o.first_ts.as_deref(), Some("2026-01-05T09:59:59.900Z"));
    assert_eq!(o.last_ts.as_deref(), Some("2026-01-05T10:00:01.000Z"));
}

#[test]
fn candidate_layouts_flat_and_nested_agree() {
    let flat = r#"{"sibling_divergence":0.7,"semantic":0.6,"verdict":"SELECTED"},{"sibling_divergence":0.3,"verdict":"REJECTED"}"#;
    let nested = r#"{"components":{"sibling_divergence":0.7,"semantic":0.6},"verdict":"SELECTED"},{"components":{"sibling_divergence":0.3},"verdict":"REJECTED"}"#;
    let mut got = vec![];
    for cands in [flat, nested] {
        let d = tempfile::tempdir().unwrap();
        let s = step("2026-01-05T10:00:00Z", "e", 0.5, "{}", cands, ("A", "B"));
        write(
            d.path(),
            "logs/traversal/traversal_e.jsonl",
            &format!("{s}\n"),
        );
        let (o, _) = observe(d.path(), &Cursors::new());
        assert_eq!(o.skipped_total, 0, "{:?}", o.skipped);
        got.push((
            o.metrics["sibling_divergence"],
            o.metrics["semantic_quality"],
        ));
    }
    assert!(close(got[0].0, 0.5) && close(got[0].1, 0.6), "{got:?}");
    assert_eq!(got[0], got[1]);
}

#[test]
fn old_and_new_event_layouts() {
    let d = tempfile::tempdir().unwrap();
    let old = r#"{"event":"EXPLORATION_START","exploration_id":"o","timestamp":"2026-01-05T10:00:00Z","origin_moment":"m1","intention":"x"}
{"event":"BRANCH","exploration_id":"o","parent_id":"p","timestamp":"2026-01-05T10:00:01Z","children":[{"id":"a"},{"id":"b"}]}
{"event":"ENERGY_INJECTION","exploration_id":"o","timestamp":"2026-01-05T10:00:02Z","energy_injection":{"target_node":"n","amount":0.25,"reason":"traversal"}}
{"event":"EXPLORATION_END","exploration_id":"o","timestamp":"2026-01-05T10:00:03Z","found_narratives":{"n1":0.9},"duration_ms":500,"total_steps":4,"links_traversed":4,"satisfaction":0.7}
"#;
    let new = r#"{"event":"BRANCH","branching_event":{"exploration_id":"n","timestamp":"2026-01-05T11:00:01Z","children":[{"id":"a"},{"id":"b"},{"id":"c"}]}}
{"event":"MERGE","merge_event":{"exploration_id":"n","timestamp":"2026-01-05T11:00:02Z","satisfaction_contributed":0.2}}
{"event":"EXPLORATION_END","exploration_id":"n","timestamp":"2026-01-05T11:00:03Z","found_narratives":{},"termination":{"reason":"error","final_satisfaction":0.1,"steps_taken":2,"duration_ms":1500,"error_message":"boom"}}
"#;
    write(d.path(), "logs/traversal/traversal_o.jsonl", old);
    write(d.path(), "logs/traversal/traversal_n.jsonl", new);
    let (o, _) = observe(d.path(), &Cursors::new());
    assert_eq!(o.skipped_total, 0, "{:?}", o.skipped);
    assert_eq!(o.metrics["exploration_count"], 2.0);
    assert!(close(o.metrics["satisfaction"], 0.4));
    assert!(close(o.metrics["duration_ms"], 1000.0));
    assert!(close(o.metrics["efficiency"], (0.25 + 0.0) / 2.0));
    // Only the new layout states a reason: one exploration, an error.
    assert!(close(o.metrics["error_rate"], 1.0));
    assert_eq!(o.counts["termination:error"], 1);
    assert_eq!(o.counts["branch_children"], 5);
    assert_eq!(o.counts["event:MERGE"], 1);
    assert!(close(o.metrics["energy_injected"], 0.25));
    assert_eq!(o.counts["energy_injection:traversal"], 1);
}

#[test]
fn malformed_lines_are_skipped_and_counted_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let good = step("2026-01-05T10:00:00Z", "e", 0.5, "{}", "", ("A", "B"));
    let deep = format!(
        r#"{{"header":{{"timestamp":"2026-01-05T10:00:00Z"}},"x":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let huge = format!(
        r#"{{"header":{{"timestamp":"2026-01-05T10:00:00Z"}},"pad":"{}"}}"#,
        "x".repeat(reader::MAX_LINE + 10)
    );
    let mut text = String::new();
    for l in [
        good.as_str(),
        r#"{"header":{"timestamp":"2026-01-05T10:00:00Z"},"state":{"satisfaction":"high"}}"#,
        r#"{"header":{"timestamp":"2026-01-05T10:00:00Z"},"state":{"satisfaction":NaN}}"#,
        r#"{"header":{"timestamp":"2026-01-05T10:00:00Z"},"state":{"satisfaction":Infinity}}"#,
        r#"{"header":{"timestamp":"2026-01-05T10:00:00Z"},"findings":{"found_count":"3"}}"#,
        r#"{"header":{"timestamp":"2026-01-05T10:00:00Z""#,
        deep.as_str(),
        huge.as_str(),
        r#"{"header":{"timestamp":"2026-03-05T10:00:00Z","exploration_id":"e"}}"#,
        r#"{"header":{"timestamp":"2025-12-05T10:00:00Z","exploration_id":"e"}}"#,
        r#"{"header":{"timestamp":"not a time","exploration_id":"e"}}"#,
    ] {
        text.push_str(l);
        text.push('\n');
    }
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(
        b"{\"header\":{\"timestamp\":\"2026-01-05T10:00:00Z\",\"x\":\"\xff\xfe\"}}\n",
    );
    std::fs::create_dir_all(d.path().join("logs/traversal")).unwrap();
    std::fs::write(d.path().join("logs/traversal/t.jsonl"), bytes).unwrap();
    let (o, _) = observe(d.path(), &Cursors::new());
    let reasons: Vec<(u64, &str)> = o
        .skipped
        .iter()
        .map(|s| (s.line, s.reason.as_str()))
        .collect();
    assert_eq!(o.skipped_total, 10, "{reasons:?}");
    assert!(o.skipped.iter().all(|s| s.file == "logs/traversal/t.jsonl"));
    let lines: Vec<u64> = reasons.iter().map(|r| r.0).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 9, 11, 12]);
    assert!(reasons[0].1.contains("wrong type for state.satisfaction"));
    assert!(reasons[3].1.contains("wrong type for findings.found_count"));
    assert!(reasons[5].1.contains("nesting"));
    assert!(reasons[6].1.contains("longer than"));
    // A month ahead of now: past the hold limit (observation.window_max), skipped.
    assert_eq!(reasons[7].1, window::TOO_FAR_AHEAD);
    assert_eq!(reasons[9].1, "invalid UTF-8");
    assert_eq!(o.counts["outside_window"], 1);
    assert_eq!(o.counts["lines_used"], 1);
    assert_eq!(o.lines_read, 12);
}

#[test]
fn truncated_last_line_is_read_once_complete() {
    let d = tempfile::tempdir().unwrap();
    let rel = "logs/traversal/traversal_e1.jsonl";
    let full = hand_exploration();
    let cut = full.len() - 40;
    write(d.path(), rel, &full[..cut]);
    let (o1, c1) = observe(d.path(), &Cursors::new());
    assert_eq!(o1.skipped_total, 0, "the partial line is not an error");
    assert_eq!(o1.lines_read, 4);
    assert!(!o1.counts.contains_key("termination:timeout"));
    write(d.path(), rel, &full);
    let (o2, c2) = observe(d.path(), &c1);
    assert_eq!(o2.lines_read, 1);
    assert_eq!(o2.counts["termination:timeout"], 1);
    assert_eq!(c2[rel].line, 5);
    assert_eq!(c2[rel].offset, full.len() as u64);
}

#[test]
fn rotation_and_truncation_reread_from_the_start() {
    let d = tempfile::tempdir().unwrap();
    let rel = "logs/traversal/traversal_e1.jsonl";
    write(d.path(), rel, &hand_exploration());
    let (_, c1) = observe(d.path(), &Cursors::new());
    // Rotation: a new file (new inode) renamed over the old path, same size.
    let tmp = d.path().join("logs/traversal/next.tmp");
    std::fs::write(&tmp, hand_exploration()).unwrap();
    std::fs::rename(&tmp, d.path().join(rel)).unwrap();
    let (o2, c2) = observe(d.path(), &c1);
    assert_ne!(c1[rel].inode, c2[rel].inode);
    assert_eq!(o2.lines_read, 5);
    // Truncation: the same file, now shorter than the cursor.
    let short = hand_exploration()
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(d.path().join(rel))
        .unwrap();
    append(d.path(), rel, &short);
    // A finished exploration's file is sealed: not statted, so not seen truncated,
    // except in its daily re-check hour.
    assert!(c2[rel].sealed);
    let hour = recheck_hour(rel);
    let at = |h: u32, c: &Cursors| {
        let now = crate::clock::parse_ts(&format!("2026-02-01T{h:02}:30:00Z")).unwrap();
        let start = crate::clock::parse_ts("2026-01-01T00:00:00Z").unwrap();
        run(
            d.path(),
            &Config::builtin(),
            c.clone(),
            Window { start, end: now },
            now,
        )
        .unwrap()
    };
    let (skipped, c) = at((hour + 1) % 24, &c2);
    assert_eq!((skipped.lines_read, &c), (0, &c2));
    let (o3, c3) = at(hour, &c2);
    assert_eq!(c3[rel].inode, c2[rel].inode);
    assert_eq!(o3.lines_read, 2);
    assert_eq!(c3[rel].line, 2);
    assert!(!c3[rel].sealed, "the end is gone");
    // Unfinished, the file is statted every cycle: truncation is seen at once.
    std::fs::write(d.path().join(rel), "").unwrap();
    append(d.path(), rel, &short[..short.find('\n').unwrap() + 1]);
    let (o4, c4) = at((hour + 1) % 24, &c3);
    assert_eq!((o4.lines_read, c4[rel].line), (1, 1));
}

#[test]
fn a_file_is_sealed_only_when_it_ends_with_the_end_of_its_exploration() {
    let d = tempfile::tempdir().unwrap();
    let full = hand_exploration();
    let without_end = &full[..full.trim_end().rfind('\n').unwrap() + 1];
    write(d.path(), "logs/traversal/traversal_a.jsonl", &full);
    write(d.path(), "logs/traversal/traversal_b.jsonl", without_end);
    write(
        d.path(),
        "logs/traversal/traversal_c.jsonl",
        &format!("{full}{{\"x\":"),
    );
    write(d.path(), "logs/agents/a.jsonl", &full);
    let (_, c) = observe(d.path(), &Cursors::new());
    let sealed: Vec<&str> = c
        .iter()
        .filter(|(_, c)| c.sealed)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(sealed, vec!["logs/traversal/traversal_a.jsonl"]);
    // Appending the end seals the unfinished one.
    append(
        d.path(),
        "logs/traversal/traversal_b.jsonl",
        &full[without_end.len()..],
    );
    let (o, c) = observe(d.path(), &c);
    assert_eq!(o.lines_read, 1);
    assert!(c["logs/traversal/traversal_b.jsonl"].sealed);
}

#[test]
fn incremental_run_reads_only_new_bytes_and_forgets_only_gone_files() {
    let d = tempfile::tempdir().unwrap();
    let rel = "logs/traversal/traversal_e1.jsonl";
    let full = hand_exploration();
    let split = full.match_indices('\n').nth(2).unwrap().0 + 1;
    write(d.path(), rel, &full[..split]);
    write(d.path(), "logs/notes.txt", "not a source\n");
    let mut cursors = Cursors::new();
    for kept in ["logs/gone.jsonl", "logs/notes.txt", "elsewhere/x.jsonl"] {
        cursors.insert(kept.into(), Cursor::default());
    }
    let (o1, c1) = observe(d.path(), &cursors);
    assert_eq!(o1.bytes_read, split as u64);
    // A rotated-away log's cursor goes (its directory was listed without it); an
    // unmatched file's and an unwalked directory's stay.
    assert!(!c1.contains_key("logs/gone.jsonl"));
    assert!(c1.contains_key("logs/notes.txt") && c1.contains_key("elsewhere/x.jsonl"));
    append(d.path(), rel, &full[split..]);
    let (o2, c2) = observe(d.path(), &c1);
    assert_eq!(o2.bytes_read, (full.len() - split) as u64);
    assert_eq!(o2.lines_read, 2);
    assert_eq!(c2.len(), 3);
    let (o3, _) = observe(d.path(), &c2);
    assert!(o3.is_empty());
    assert_eq!(o3.files_read, 0, "an unchanged file is not even opened");
}

#[test]
fn parallel_result_equals_sequential() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..12 {
        let text = hand_exploration().replace("\"e1\"", &format!("\"e{i}\""));
        let text = text.replace("0.45", &format!("0.{}", 10 + i));
        write(
            d.path(),
            &format!("logs/traversal/traversal_e{i}.jsonl"),
            &text,
        );
    }
    write(
        d.path(),
        "logs/agents/a.jsonl",
        r#"{"ts":"2026-01-05T10:00:00Z","session":"s","event":"outcome","outcome":"success"}
"#,
    );
    let cfg = Config::builtin();
    let sources = Sources::new(&cfg).unwrap();
    let (w, now) = window();
    let run =
        |threads| run_with(d.path(), &cfg, &sources, Cursors::new(), w, now, threads).unwrap();
    let (seq, par) = (run(1), run(4));
    assert_eq!(
        serde_json::to_string(&seq.0).unwrap(),
        serde_json::to_string(&par.0).unwrap()
    );
    assert_eq!(seq.1, par.1);
    assert_eq!(seq.0.metrics["exploration_count"], 12.0);
}

#[test]
fn health_csv_and_jsonl_with_breaches() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "logs/health/h.csv",
        "timestamp,metric,value,host\n2026-01-05T10:00:00Z,error_rate,0.02,a\n2026-01-05T11:00:00Z,error_rate,0.08,a\n2026-01-05T12:00:00Z,queue_depth,4,a\n2026-01-05T12:00:00Z,queue_depth,high,a\n",
    );
    write(
        d.path(),
        "logs/health/doctor.jsonl",
        r#"{"ts":"2026-01-05T10:00:00Z","check":"efficiency","status":"warn","value":0.15,"threshold":0.2}
{"ts":"2026-01-05T10:00:00Z","check":"disk","status":"error","value":0.5,"threshold":0.9}
{"ts":"2026-01-05T10:00:00Z","check":"latency","status":"ok","value":10,"threshold":50}
{"ts":"2026-01-05T10:00:00Z","metric":"tool_error_rate","value":0.3}
{"ts":"2026-01-05T10:00:00Z","metric":"tool_error_rate","value":"0.3"}
"#,
    );
    let (o, c) = observe(d.path(), &Cursors::new());
    assert_eq!(o.skipped_total, 2, "{:?}", o.skipped);
    assert!(o
        .skipped
        .iter()
        .any(|s| s.file == "logs/health/h.csv" && s.line == 5));
    assert!(o
        .skipped
        .iter()
        .any(|s| s.file == "logs/health/doctor.jsonl" && s.line == 5));
    // Colliding names are kept apart; others keep their own name.
    assert!(close(o.metrics["health.error_rate"], 0.05));
    assert!(close(o.metrics["queue_depth"], 4.0));
    assert!(close(o.metrics["health.tool_error_rate"], 0.3));
    let b: std::collections::BTreeMap<&str, &Breach> =
        o.breaches.iter().map(|b| (b.metric.as_str(), b)).collect();
    assert!(close(b["error_rate"].value, 0.08));
    assert_eq!(b["error_rate"].threshold, 0.05);
    assert_eq!(
        (
            b["error_rate"].evidence.file.as_str(),
            b["error_rate"].evidence.line
        ),
        ("logs/health/h.csv", 3)
    );
    assert!(close(b["tool_error_rate"].value, 0.3));
    // efficiency is guarded "higher is better": 0.15 < 0.2 is past its own threshold.
    assert!(b.contains_key("efficiency"));
    assert!(b.contains_key("disk"));
    assert!(!b.contains_key("latency"));
    // Reading the CSV from its cursor still knows its columns.
    append(
        d.path(),
        "logs/health/h.csv",
        "2026-01-06T10:00:00Z,queue_depth,8,a\n",
    );
    let (o2, _) = observe(d.path(), &c);
    assert_eq!(o2.skipped_total, 0, "{:?}", o2.skipped);
    assert!(close(o2.metrics["queue_depth"], 8.0));
}

#[test]
fn agent_traces_and_graph_events() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "logs/agents/a.jsonl",
        r#"{"ts":"2026-01-05T10:00:00Z","session":"s-91","agent":"weaver","event":"skill_loaded","skill":"skills/SKILL_implement.md"}
{"ts":"2026-01-05T10:00:02Z","session":"s-91","agent":"weaver","event":"protocol_invoked","protocol":"protocols/implement.yaml","step":"write_code"}
{"ts":"2026-01-05T10:00:09Z","session":"s-91","agent":"weaver","event":"tool_call","tool":"graph_query","ok":false,"error":"timeout"}
{"ts":"2026-01-05T10:00:10Z","session":"s-92","agent":"weaver","event":"tool_call","tool":"graph_query","ok":true}
{"ts":"2026-01-05T10:03:40Z","session":"s-91","agent":"weaver","event":"outcome","outcome":"failure"}
{"ts":"2026-01-05T10:03:40Z","session":"s-92","agent":"weaver","event":"outcome","outcome":"success","variant":"P-0002"}
{"ts":"2026-01-05T10:04:00Z","action":"read","file":"docs/x.md","via":"cli","session":"s-93"}
"#,
    );
    write(
        d.path(),
        "logs/graph/g.jsonl",
        r#"{"ts":"2026-01-05T10:00:00Z","event":"node_created","node_id":"n1","node_type":"narrative"}
{"ts":"2026-01-05T10:00:00Z","event":"link_created","link_id":"l1"}
{"ts":"2026-01-05T10:00:00Z","event":"energy_changed","node_id":"n1","before":0.5,"after":0.75}
{"ts":"2026-01-05T10:00:00Z","event":"energy_changed","node_id":"n1","amount":0.5}
"#,
    );
    let (o, _) = observe(d.path(), &Cursors::new());
    assert_eq!(o.skipped_total, 0, "{:?}", o.skipped);
    assert!(close(o.metrics["agent_success_rate"], 0.5));
    assert!(close(o.metrics["tool_error_rate"], 0.5));
    assert_eq!(o.counts["skill:skills/SKILL_implement.md"], 1);
    assert_eq!(o.counts["protocol:protocols/implement.yaml"], 1);
    assert_eq!(o.counts["tool_calls"], 2);
    assert_eq!(o.counts["sessions"], 3);
    assert_eq!(o.counts["context_loaded"], 1);
    assert_eq!(o.samples["P-0002"]["agent_success_rate"], vec![1.0]);
    assert_eq!(o.metrics["nodes_created"], 1.0);
    assert_eq!(o.metrics["links_created"], 1.0);
    assert!(close(o.metrics["energy_injected"], 0.75));
}

#[test]
fn generic_source_through_pointers() {
    let d = tempfile::tempdir().unwrap();
    let cfg = fuzz_config();
    write(
        d.path(),
        "logs/api/x.jsonl",
        r#"{"ts":"2026-01-05T10:00:00Z","latency_ms":100}
{"ts":"2026-01-05T10:00:01Z","latency_ms":300,"error_kind":"TIMEOUT","variant":"P-3"}
{"ts":"2026-01-05T10:00:02Z","latency_ms":"300"}
{"ts":"2026-01-05T10:00:03Z"}
"#,
    );
    let (o, _) = observe_with(d.path(), &cfg, &Cursors::new());
    assert_eq!(o.skipped_total, 1, "{:?}", o.skipped);
    assert_eq!(o.skipped[0].line, 3);
    assert!(close(o.metrics["latency_ms"], 200.0));
    assert_eq!(o.samples["P-3"]["latency_ms"], vec![300.0]);
    assert_eq!(o.anomalies["TIMEOUT"].count, 1);
    assert_eq!(o.anomalies["TIMEOUT"].evidence[0].line, 2);
    assert_eq!(o.counts["source:api"], 3);
}

/// A small deterministic generator for the hostile-input test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn n(&mut self, k: usize) -> usize {
        (self.next() % k as u64) as usize
    }
}

fn mutate(r: &mut Rng, line: &str) -> Vec<u8> {
    let mut b = line.as_bytes().to_vec();
    match r.n(9) {
        0 => b.truncate(r.n(b.len().max(1))),
        1 => {
            for _ in 0..1 + r.n(4) {
                let i = r.n(b.len());
                b[i] ^= 1 << r.n(8);
            }
        }
        2 => {
            let depth = 10 + r.n(300);
            let at = b.len() - 1;
            let nest = format!(r#","deep":{}1{}"#, "[".repeat(depth), "]".repeat(depth));
            b.splice(at..at, nest.bytes());
        }
        3 => {
            let s = String::from_utf8_lossy(&b).replacen("0.5", "1e999", 1);
            b = s.into_bytes();
        }
        4 => {
            let s = String::from_utf8_lossy(&b).replacen("0.5", "NaN", 1);
            b = s.into_bytes();
        }
        5 => {
            let s = String::from_utf8_lossy(&b).replacen("0.5", "\"0.5\"", 1);
            b = s.into_bytes();
        }
        6 => {
            let i = r.n(b.len());
            b.insert(i, [0xff, 0xc3, b'"', b'{', b'}', b']', b'\\'][r.n(7)]);
        }
        7 => {
            let i = r.n(b.len());
            let j = i + r.n(b.len() - i);
            b.drain(i..j);
        }
        _ => {}
    }
    b.retain(|c| *c != b'\n');
    b
}

#[test]
fn hostile_lines_are_used_or_counted_never_lost() {
    let mut valid: Vec<String> = hand_exploration().lines().map(String::from).collect();
    valid.extend(
        [
            r#"{"ts":"2026-01-05T10:00:09Z","session":"s","event":"tool_call","tool":"q","ok":false,"duration_ms":0.5}"#,
            r#"{"ts":"2026-01-05T10:00:00Z","metric":"error_rate","value":0.5}"#,
            r#"{"ts":"2026-01-05T10:00:00Z","check":"disk","status":"error","value":0.5,"threshold":0.9}"#,
            "timestamp,metric,value",
            "2026-01-05T10:00:00Z,error_rate,0.5",
            r#"{"ts":"2026-01-05T10:00:00Z","event":"energy_changed","amount":0.5}"#,
            r#"{"ts":"2026-01-05T10:00:00Z","latency_ms":0.5,"error_kind":"X","variant":"v"}"#,
            r#"{"event":"ENERGY_INJECTION","exploration_id":"o","timestamp":"2026-01-05T10:00:02Z","energy_injection":{"amount":0.5,"reason":"traversal"}}"#,
        ]
        .map(String::from),
    );
    let mut r = Rng(0x5eed_1234_abcd_ef01);
    let mut data = Vec::new();
    let total = 12_000;
    for i in 0..total {
        let base = &valid[r.n(valid.len())];
        let line = if i % 10 == 0 {
            base.as_bytes().to_vec()
        } else {
            mutate(&mut r, base)
        };
        data.extend_from_slice(&line);
        data.push(b'\n');
    }
    data.pop(); // no trailing empty piece: exactly `total` lines
    fuzz_decode(&data);
    let cfg = fuzz_config();
    let mut lost = 0u64;
    for agg in decode_all_kinds(&data, &cfg) {
        let c = |k: &str| agg.counts.get(k).copied().unwrap_or(0);
        assert_eq!(agg.lines_read, total);
        let accounted =
            c("lines_used") + c("lines_ignored") + c("outside_window") + agg.skipped_total;
        lost += agg.lines_read - accounted.min(agg.lines_read);
        assert_eq!(accounted, agg.lines_read, "lines lost or double counted");
        assert!(agg.skipped_total > 0 && agg.skipped.len() <= agg::SKIPPED_CAP);
    }
    // Every decoder used some lines (the test would not notice a decoder that skips all).
    for agg in decode_all_kinds(&data, &cfg) {
        assert!(agg.counts.get("lines_used").copied().unwrap_or(0) > 0);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summary");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("decoders.txt"),
        format!("decoders: {total} hostile lines, {lost} lost\n"),
    )
    .unwrap();
}
