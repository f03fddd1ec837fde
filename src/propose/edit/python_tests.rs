use super::*;
use crate::propose::edit::{replace, tune, Format};

const CONSTANTS: &str = include_str!("fixtures/constants.py");

fn value(name: &str) -> Value {
    find(CONSTANTS, name)
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
        .value
}

/// Tunes `name` and checks that only the literal's bytes changed.
fn tuned(name: &str, new: f64) -> (String, Literal) {
    let lit = find(CONSTANTS, name).unwrap();
    let (out, old) = tune(Format::Python, CONSTANTS, name, new).unwrap();
    assert_eq!(old, lit.value);
    assert_eq!(&out[..lit.span.start], &CONSTANTS[..lit.span.start]);
    let tail = CONSTANTS.len() - lit.span.end;
    assert_eq!(&out[out.len() - tail..], &CONSTANTS[lit.span.end..]);
    (out, lit)
}

#[test]
fn module_scalars() {
    assert_eq!(value("INTENTION_WEIGHT"), Value::Float(0.25));
    assert_eq!(value("QUERY_WEIGHT"), Value::Float(0.75));
    assert_eq!(value("MAX_DEPTH"), Value::Int(12));
    assert_eq!(value("MIN_ENERGY"), Value::Float(-0.05));
    assert_eq!(value("ENERGY_DECAY"), Value::Float(0.001));
    assert_eq!(value("MAX_STEPS"), Value::Int(10_000));
    assert_eq!(value("USE_NOVELTY"), Value::Bool(true));
    assert_eq!(value("SCORER_NAME"), Value::Str("v2-balanced".into()));
    let lit = find(CONSTANTS, "INTENTION_WEIGHT").unwrap();
    assert_eq!(lit.text, "0.25");
    assert_eq!(&CONSTANTS[lit.span.clone()], "0.25");
    assert_eq!(lit.line, 26);
}

#[test]
fn dict_entries() {
    assert_eq!(
        value("STATE_MULTIPLIER[SubEntityState.SEEKING]"),
        Value::Float(0.5)
    );
    assert_eq!(
        value("STATE_MULTIPLIER[SubEntityState.REFLECTING]"),
        Value::Float(0.6)
    );
    assert_eq!(
        value("STATE_MULTIPLIER[ SubEntityState.MERGING ]"),
        Value::Float(0.3)
    );
    assert_eq!(value("LINK_FACTORS['supports']"), Value::Float(0.20));
    assert_eq!(value("LINK_FACTORS[\"supports\"]"), Value::Float(0.20));
    assert_eq!(value("LINK_FACTORS['contradicts']"), Value::Float(-0.15));
    assert_eq!(value("LINK_FACTORS['exemplifies']"), Value::Float(0.12));
    assert_eq!(value("NESTED['decay']['slow']"), Value::Float(0.99));
    let lit = find(CONSTANTS, "LINK_FACTORS['supports']").unwrap();
    assert_eq!(lit.line, 48);
}

#[test]
fn tunes_change_one_literal() {
    let (out, _) = tuned("INTENTION_WEIGHT", 0.3);
    assert!(out.contains("INTENTION_WEIGHT = 0.30  # weight of intention"));
    assert!(out.contains("    INTENTION_WEIGHT = 0.7  # local shadow"));
    assert!(out.contains("INTENTION_WEIGHT = 0.9   # an old value"));
    let (out, _) = tuned("STATE_MULTIPLIER[SubEntityState.SEEKING]", 0.55);
    assert!(out.contains("SubEntityState.SEEKING: 0.55,  # explore broadly"));
    let (out, _) = tuned("LINK_FACTORS['supports']", 0.22);
    assert!(out.contains("'supports': 0.22,\n"));
    assert!(out.contains("the 'supports': 0.99 weight"));
    assert!(out.contains("factors = {'supports': 0.4}"));
    let (out, _) = tuned("MAX_DEPTH", 14.0);
    assert!(out.contains("MAX_DEPTH = 14\n"));
    assert!(out.contains("    MAX_DEPTH = 99"));
    let (out, _) = tuned("MIN_ENERGY", -0.04);
    assert!(out.contains("MIN_ENERGY = -0.04\n"));
    let (out, _) = tuned("ENERGY_DECAY", 0.0012);
    assert!(out.contains("ENERGY_DECAY: float = 1.2e-3  # per tick"));
    let (out, _) = tuned("MAX_STEPS", 12000.0);
    assert!(out.contains("MAX_STEPS = 12_000\n"));
    // The edited file still finds the same constants.
    let again = find(&out, "LINK_FACTORS['supports']").unwrap();
    assert_eq!(again.value, Value::Float(0.2));
}

#[test]
fn ints_stay_ints() {
    let err = tune(Format::Python, CONSTANTS, "MAX_DEPTH", 12.5).unwrap_err();
    assert!(format!("{err:#}").contains("not integral"), "{err:#}");
}

#[test]
fn string_and_bool_replace() {
    let lit = find(CONSTANTS, "SCORER_NAME").unwrap();
    let out = replace(CONSTANTS, &lit, &Value::Str("v3".into())).unwrap();
    assert!(out.contains("SCORER_NAME = 'v3'\n"));
    let lit = find(CONSTANTS, "USE_NOVELTY").unwrap();
    let out = replace(CONSTANTS, &lit, &Value::Bool(false)).unwrap();
    assert!(out.contains("USE_NOVELTY = False\n"));
    let err = tune(Format::Python, CONSTANTS, "USE_NOVELTY", 1.0).unwrap_err();
    assert!(err.to_string().contains("not a number"), "{err}");
}

#[test]
fn errors_name_what_and_where() {
    let err = find(CONSTANTS, "NO_SUCH").unwrap_err().to_string();
    assert!(
        err.contains("no module-level assignment to `NO_SUCH`"),
        "{err}"
    );
    assert!(err.contains("in 68 lines"), "{err}");
    let err = find(CONSTANTS, "label").unwrap_err().to_string();
    assert!(
        err.contains("indented assignments ignored at lines 68"),
        "{err}"
    );
    let err = find(CONSTANTS, "BLEND").unwrap_err().to_string();
    assert!(
        err.contains("line 34") && err.contains("expression"),
        "{err}"
    );
    let err = find(CONSTANTS, "LINK_FACTORS['missing']")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key 'missing' not found") && err.contains("lines 47-53"),
        "{err}"
    );
    let err = find(CONSTANTS, "MAX_DEPTH['x']").unwrap_err().to_string();
    assert!(err.contains("not a dict literal"), "{err}");
    let twice = "A = 1\nB = 2\nA = 3\n";
    let err = find(twice, "A").unwrap_err().to_string();
    assert!(
        err.contains("lines 1, 3") && err.contains("ambiguous"),
        "{err}"
    );
    let dup = "D = {'a': 1, 'a': 2}\n";
    assert!(find(dup, "D['a']")
        .unwrap_err()
        .to_string()
        .contains("ambiguous"));
    assert!(find("X = 'unterminated\n", "X").is_err());
    assert!(find(CONSTANTS, "a b").is_err());
    assert!(find(CONSTANTS, "X[").is_err());
}

#[test]
fn multi_line_and_continuations() {
    let src = "W = \\\n    0.5\nT = (\n  1.5\n)\nM = {\n  'k':\n     2,\n}\n";
    assert_eq!(find(src, "W").unwrap().value, Value::Float(0.5));
    assert!(
        find(src, "T").is_err(),
        "a parenthesised value is an expression"
    );
    assert_eq!(find(src, "M['k']").unwrap().value, Value::Int(2));
    assert_eq!(find(src, "M['k']").unwrap().line, 8);
}
