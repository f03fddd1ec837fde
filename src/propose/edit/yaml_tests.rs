use super::*;
use crate::propose::edit::{replace, tune, Format};

const PROTOCOL: &str = r#"# Exploration protocol (v3)
---
name: explore_narratives
description: "Find narratives: timeout: 5 is a decoy"
timeout: 120   # seconds for the whole protocol
steps:
  explore:
    timeout: 30 # per step
    intention_type: EXPLORE
    weights: {semantic: 0.6, novelty: 0.25, "polarity": -0.1}
    thresholds: [0.2, 0.5, 0.8]
  resonate:
    timeout: '45'
    enabled: true
    notes: |
      timeout: 999
      this is prose
  merge:
    # timeout: 7
    timeout: "60"
    label: 'it''s done'
stages:
- name: seek
  max_depth: 8
- name: branch
  max_depth: 4
  ratio: 1.5e-1
-   name: reflect
    params:
      - 0.1
      - 0.9
empty:
tagged: !!float 1.0
multi: first part
  second part
"#;

fn check_tune(name: &str, new: f64, expect: &str) {
    let lit = find(PROTOCOL, name).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let (out, _) = tune(Format::Yaml, PROTOCOL, name, new).unwrap();
    assert_eq!(&out[..lit.span.start], &PROTOCOL[..lit.span.start]);
    assert_eq!(
        &out[lit.span.start..lit.span.start + expect.len()],
        expect,
        "{name}"
    );
    assert_eq!(
        &out[lit.span.start + expect.len()..],
        &PROTOCOL[lit.span.end..]
    );
    let parsed: serde_yaml::Value = serde_yaml::from_str(&out).expect("still valid YAML");
    let _ = parsed;
}

fn val(name: &str) -> Value {
    find(PROTOCOL, name)
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
        .value
}

#[test]
fn nested_keys_respect_indentation() {
    assert_eq!(val("timeout"), Value::Int(120));
    assert_eq!(val("steps.explore.timeout"), Value::Int(30));
    assert_eq!(val("steps.resonate.timeout"), Value::Str("45".into()));
    assert_eq!(val("steps.merge.timeout"), Value::Str("60".into()));
    assert_eq!(val("steps.resonate.enabled"), Value::Bool(true));
    assert_eq!(
        val("steps.explore.intention_type"),
        Value::Str("EXPLORE".into())
    );
    assert_eq!(val("steps.merge.label"), Value::Str("it's done".into()));
    assert_eq!(
        val("description"),
        Value::Str("Find narratives: timeout: 5 is a decoy".into())
    );
    assert_eq!(find(PROTOCOL, "steps.explore.timeout").unwrap().line, 8);
    assert_eq!(find(PROTOCOL, "steps.merge.timeout").unwrap().line, 20);
}

#[test]
fn lists_and_flow_collections() {
    assert_eq!(val("stages[0].max_depth"), Value::Int(8));
    assert_eq!(val("stages[1].name"), Value::Str("branch".into()));
    assert_eq!(val("stages[1].ratio"), Value::Float(0.15));
    assert_eq!(val("stages[2].name"), Value::Str("reflect".into()));
    assert_eq!(val("stages[2].params[1]"), Value::Float(0.9));
    assert_eq!(val("steps.explore.weights.novelty"), Value::Float(0.25));
    assert_eq!(val("steps.explore.weights.polarity"), Value::Float(-0.1));
    assert_eq!(val("steps.explore.thresholds[2]"), Value::Float(0.8));
}

#[test]
fn tunes_change_one_literal() {
    check_tune("steps.explore.timeout", 45.0, "45");
    check_tune("timeout", 90.0, "90");
    check_tune("steps.resonate.timeout", 50.0, "'50'");
    check_tune("steps.merge.timeout", 75.0, "\"75\"");
    check_tune("stages[1].max_depth", 5.0, "5");
    check_tune("stages[2].params[0]", 0.15, "0.15");
    check_tune("steps.explore.weights.semantic", 0.65, "0.65");
    check_tune("steps.explore.thresholds[1]", 0.45, "0.45");
    check_tune("stages[1].ratio", 0.2, "2.0e-1");
    let lit = find(PROTOCOL, "steps.explore.intention_type").unwrap();
    let out = replace(PROTOCOL, &lit, &Value::Str("VERIFY".into())).unwrap();
    assert!(out.contains("    intention_type: VERIFY\n"));
}

#[test]
fn errors_say_what_and_where() {
    let e = find(PROTOCOL, "steps.explore.missing")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("key `missing` not found in `steps.explore` (mapping at lines 8-11"),
        "{e}"
    );
    let e = find(PROTOCOL, "stages[7].name").unwrap_err().to_string();
    assert!(
        e.contains("out of range") && e.contains("list of 3 at line 23"),
        "{e}"
    );
    let e = find(PROTOCOL, "steps[0]").unwrap_err().to_string();
    assert!(e.contains("not a list"), "{e}");
    let e = find(PROTOCOL, "stages.name").unwrap_err().to_string();
    assert!(e.contains("is a list"), "{e}");
    let e = find(PROTOCOL, "timeout.x").unwrap_err().to_string();
    assert!(e.contains("is a scalar") && e.contains("line 5"), "{e}");
    let e = find(PROTOCOL, "steps.resonate.notes")
        .unwrap_err()
        .to_string();
    assert!(e.contains("block scalar"), "{e}");
    let e = find(PROTOCOL, "empty").unwrap_err().to_string();
    assert!(e.contains("no scalar value"), "{e}");
    let e = find(PROTOCOL, "tagged").unwrap_err().to_string();
    assert!(e.contains("tag"), "{e}");
    let e = find(PROTOCOL, "multi").unwrap_err().to_string();
    assert!(e.contains("multi-line"), "{e}");
    let e = find(PROTOCOL, "steps").unwrap_err().to_string();
    assert!(e.contains("no scalar value"), "{e}");
    let e = find("a: 1\na: 2\n", "a").unwrap_err().to_string();
    assert!(e.contains("lines 1, 2") && e.contains("ambiguous"), "{e}");
    assert!(find("a: ~\n", "a")
        .unwrap_err()
        .to_string()
        .contains("null"));
}

#[test]
fn same_indent_list_under_key() {
    let src = "steps:\n- name: a\n  timeout: 3\n- name: b\n  timeout: 4\nafter: 1\n";
    assert_eq!(find(src, "steps[1].timeout").unwrap().value, Value::Int(4));
    assert_eq!(find(src, "after").unwrap().value, Value::Int(1));
}

#[test]
fn escaped_multibyte_character_is_not_a_panic() {
    // Found by the yaml_editor fuzz target.
    let src = "a: \"x\\\u{e9}y\"\n";
    assert_eq!(
        find(src, "a").unwrap().value,
        Value::Str("x\\\u{e9}y".into())
    );
    let _ = find("a: {b: \"\\\u{fffd}\u{fffd} \"}\n", "a.b");
}
