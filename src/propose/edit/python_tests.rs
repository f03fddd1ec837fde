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
        err.contains("no assignment to `NO_SUCH` at module level (68 lines)"),
        "{err}"
    );
    let err = find(CONSTANTS, "label").unwrap_err().to_string();
    assert!(
        err.contains("`label` is assigned at line 68 in class `Scorer`"),
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

const EXPLORATION: &str = include_str!("fixtures/exploration.py");
const SUBENTITY: &str = include_str!("fixtures/subentity.py");
const EXPLORATION_PY: &str = "runtime/physics/exploration.py";

/// The 1-based line of the one line of `src` that is `needle` (trimmed), or else that
/// contains it.
fn line_of(src: &str, needle: &str) -> usize {
    let exact = src.lines().any(|l| l.trim() == needle.trim());
    let hits: Vec<usize> = src
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            if exact {
                l.trim() == needle.trim()
            } else {
                l.contains(needle)
            }
        })
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{needle:?} should be on exactly one line");
    hits[0]
}

/// Finds `name` in `src`, checks the literal's text and line, tunes it to `new` and
/// checks that exactly the literal's bytes changed; returns the edited text.
fn tune_exactly(
    src: &str,
    name: &str,
    text: &str,
    line_with: &str,
    new: f64,
    new_text: &str,
) -> String {
    let lit = find_in(src, name, EXPLORATION_PY).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    assert_eq!(lit.text, text, "{name}");
    assert_eq!(&src[lit.span.clone()], text, "{name}");
    assert_eq!(lit.line, line_of(src, line_with), "{name}");
    let (out, old) = tune(Format::Python, src, name, new).unwrap();
    assert_eq!(old, lit.value);
    let mut expected = src.to_string();
    expected.replace_range(lit.span.clone(), new_text);
    assert_eq!(out, expected, "{name}: only the literal may change");
    let again = find(&out, name).unwrap();
    assert_eq!(
        (again.span.start, again.text.as_str()),
        (lit.span.start, new_text)
    );
    out
}

#[test]
fn dataclass_field_defaults() {
    tune_exactly(
        EXPLORATION,
        "ExplorationConfig.timeout_s",
        "30.0",
        "timeout_s: float = 30.0  # seconds",
        45.0,
        "45.0",
    );
    tune_exactly(
        EXPLORATION,
        "ExplorationConfig.max_depth",
        "10",
        "max_depth: int = 10",
        12.0,
        "12",
    );
    tune_exactly(
        EXPLORATION,
        "ExplorationConfig.satisfaction_threshold",
        "0.8",
        "satisfaction_threshold: float = 0.8",
        0.75,
        "0.75",
    );
    // The namesake in another class is its own target.
    tune_exactly(
        EXPLORATION,
        "ExplorationResult.timeout_s",
        "0.0",
        "timeout_s: float = 0.0",
        1.0,
        "1.0",
    );
    // `field(default=...)` is a default too; `field(default_factory=...)` is code.
    tune_exactly(
        EXPLORATION,
        "ExplorationConfig.retry_delay_s",
        "0.5",
        "retry_delay_s",
        0.75,
        "0.75",
    );
    let err = find(EXPLORATION, "ExplorationConfig.tags").unwrap_err();
    assert!(err.to_string().contains("expression"), "{err}");
    let label = find(EXPLORATION, "ExplorationConfig.label").unwrap();
    assert_eq!(label.value, Value::Str("timeout_s: float = 5.0".into()));
}

#[test]
fn class_attributes_and_nested_classes() {
    tune_exactly(
        EXPLORATION,
        "ExplorationRunner.DEFAULT_RETRIES",
        "3",
        "DEFAULT_RETRIES = 3",
        4.0,
        "4",
    );
    tune_exactly(
        EXPLORATION,
        "ExplorationConfig.Limits.HARD_CAP",
        "120",
        "HARD_CAP = 120",
        150.0,
        "150",
    );
    tune_exactly(
        EXPLORATION,
        "ExplorationConfig.Limits.SOFT_CAP",
        "45.0",
        "SOFT_CAP: float = 45.0",
        50.0,
        "50.0",
    );
    // A body on the class line, statements split at `;`.
    tune_exactly(EXPLORATION, "Tiny.SIZE", "7", "class Tiny", 8.0, "8");
    tune_exactly(EXPLORATION, "Tiny.WIDTH", "2.5", "class Tiny", 3.0, "3.0");
    // The constants fixture: an attribute shadowing a module constant's name.
    assert_eq!(value("Scorer.MAX_DEPTH"), Value::Int(99));
    assert_eq!(value("MAX_DEPTH"), Value::Int(12));
    assert_eq!(
        value("SubEntityState.SEEKING"),
        Value::Str("seeking".into())
    );
}

#[test]
fn keyword_defaults_of_methods_and_functions() {
    tune_exactly(
        SUBENTITY,
        "SubEntity.is_fatigued(threshold)",
        "0.05",
        "window: int = 5, threshold: float = 0.05) -> bool",
        0.04,
        "0.04",
    );
    tune_exactly(
        SUBENTITY,
        "SubEntity.is_fatigued(window)",
        "5",
        "window: int = 5, threshold: float = 0.05) -> bool",
        7.0,
        "7",
    );
    // The module-level namesake is a different target.
    tune_exactly(
        SUBENTITY,
        "is_fatigued(window)",
        "3",
        "def is_fatigued(history",
        4.0,
        "4",
    );
    // A multi-line async signature with *args and **kwargs: the line is the literal's.
    tune_exactly(
        EXPLORATION,
        "ExplorationRunner.explore(timeout)",
        "30.0",
        "timeout: float = 30.0,  # per call",
        60.0,
        "60.0",
    );
    tune_exactly(
        EXPLORATION,
        "ExplorationRunner.explore(max_depth)",
        "10",
        "max_depth: int = 10,",
        12.0,
        "12",
    );
    // Positional-only marker, keyword-only after `*`, a lambda default after it.
    tune_exactly(
        EXPLORATION,
        "run(timeout)",
        "12.5",
        "def run(",
        20.0,
        "20.0",
    );
    tune_exactly(EXPLORATION, "run(depth)", "4", "def run(", 5.0, "5");
    assert_eq!(
        find(EXPLORATION, "run(debug)").unwrap().value,
        Value::Bool(false)
    );
    tune_exactly(
        EXPLORATION,
        "ExplorationConfig.scaled(factor)",
        "2.0",
        "def scaled",
        1.5,
        "1.5",
    );
    // Module constants and dict entries keep working in the same file.
    tune_exactly(
        SUBENTITY,
        "INTENTION_WEIGHT",
        "0.25",
        "INTENTION_WEIGHT = 0.25",
        0.3,
        "0.30",
    );
    tune_exactly(
        SUBENTITY,
        "STATE_MULTIPLIER[SubEntityState.RESONATING]",
        "2.0",
        "SubEntityState.RESONATING: 2.0",
        1.5,
        "1.5",
    );
}

#[test]
fn conditional_definitions() {
    // Defined once, inside a try block: the one definition there is.
    assert_eq!(
        find(EXPLORATION, "RETRY_LIMIT").unwrap().value,
        Value::Int(3)
    );
    // Defined on both branches of an if: which one counts depends on the run.
    let err = find_in(EXPLORATION, "FALLBACK_TIMEOUT", EXPLORATION_PY)
        .unwrap_err()
        .to_string();
    let (a, b) = (
        line_of(EXPLORATION, "FALLBACK_TIMEOUT = 10.0"),
        line_of(EXPLORATION, "FALLBACK_TIMEOUT = 20.0"),
    );
    assert!(
        err.contains(&format!("{EXPLORATION_PY}:{a}, {EXPLORATION_PY}:{b}"))
            && err.contains("ambiguous")
            && err.contains("under if/try/for"),
        "{err}"
    );
    let src = "if X:\n    class C:\n        A = 1\nelse:\n    class C:\n        A = 2\n";
    let err = find(src, "C.A").unwrap_err().to_string();
    assert!(
        err.contains("class `C` is defined 2 times at module level (lines 2, 5)"),
        "{err}"
    );
    let inline = "if X: B = 1; B2 = 2.5\n";
    assert_eq!(find(inline, "B2").unwrap().value, Value::Float(2.5));
}

#[test]
fn missing_and_ambiguous_targets_name_file_and_lines() {
    let at = |needle: &str| format!("{EXPLORATION_PY}:{}", line_of(EXPLORATION, needle));
    let err = |name: &str| {
        find_in(EXPLORATION, name, EXPLORATION_PY)
            .unwrap_err()
            .to_string()
    };
    let e = err("ExplorationConfig.timeout");
    assert!(
        e.contains("no assignment to `timeout` in class `ExplorationConfig` in runtime/physics/exploration.py"),
        "{e}"
    );
    let e = err("Config.timeout_s");
    assert!(e.contains("no class `Config` at module level"), "{e}");
    let e = err("ExplorationResult.exploration_id");
    assert!(
        e.contains("declared without a value at") && e.contains(&at("exploration_id: str")),
        "{e}"
    );
    let e = err("ExplorationConfig.scaled");
    assert!(
        e.contains(&format!("`scaled` is a function at {}", at("def scaled"))),
        "{e}"
    );
    let e = err("ExplorationRunner.explore(timeout_s)");
    assert!(
        e.contains(&format!(
            "`ExplorationRunner.explore` ({})",
            at("async def explore")
        )) && e.contains("its parameters: self, actor_id, query, args, timeout, max_depth, kwargs"),
        "{e}"
    );
    let e = err("ExplorationRunner.explore(query)");
    assert!(
        e.contains("parameter `query`") && e.contains("no default"),
        "{e}"
    );
    let e = err("explore(timeout)");
    assert!(
        e.contains("no function `explore` at module level")
            && e.contains(&format!(
                "a function at {} in class `ExplorationRunner`",
                at("async def explore")
            )),
        "{e}"
    );
    let twice = "class C:\n    X = 1\n\nclass C:\n    X = 2\n";
    let e = find_in(twice, "C.X", "m.py").unwrap_err().to_string();
    assert!(
        e.contains("class `C` is defined 2 times at module level (m.py:1, m.py:4): ambiguous"),
        "{e}"
    );
    let twice = "def f(a=1):\n    pass\n\ndef f(a=2):\n    pass\n";
    let e = find_in(twice, "f(a)", "m.py").unwrap_err().to_string();
    assert!(e.contains("(m.py:1, m.py:4): ambiguous"), "{e}");
    for bad in ["A.", ".A", "A..B", "f(", "f()", "f(a b)", "1A.b", "A(b)[c]"] {
        assert!(find(EXPLORATION, bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn comments_strings_and_other_scopes_never_match() {
    // The docstring, a comment and a string hold `timeout_s: float = ...` too; the
    // local `timeout_s` in `scaled` and the keyword in `ExplorationConfig(timeout_s=15.0)`
    // are code in other scopes. Only the class-body line is the target.
    let lit = find(EXPLORATION, "ExplorationConfig.timeout_s").unwrap();
    assert_eq!(lit.line, line_of(EXPLORATION, "timeout_s: float = 30.0"));
    let err = find(EXPLORATION, "timeout_s").unwrap_err().to_string();
    assert!(
        err.contains("no assignment to `timeout_s` at module level"),
        "{err}"
    );
    let lit = find(SUBENTITY, "SubEntity.is_fatigued(threshold)").unwrap();
    assert_eq!(lit.text, "0.05");
}

#[test]
fn find_in_and_tune_in_name_the_file() {
    use crate::propose::edit::{find_in as find_named, tune_in};
    let (out, old) = tune_in(
        Format::Python,
        EXPLORATION_PY,
        EXPLORATION,
        "ExplorationConfig.timeout_s",
        40.0,
    )
    .unwrap();
    assert_eq!(old, Value::Float(30.0));
    assert!(out.contains("    timeout_s: float = 40.0  # seconds"));
    let err = tune_in(Format::Python, "x.py", "X = 'unterminated\n", "X", 1.0).unwrap_err();
    assert!(
        err.to_string().starts_with("x.py: unterminated string"),
        "{err}"
    );
    let err = find_named(Format::Yaml, "p/explore.yaml", "a: 1\n", "b").unwrap_err();
    assert!(err.to_string().starts_with("p/explore.yaml: "), "{err}");
    assert_eq!(
        find_named(Format::Yaml, "p/explore.yaml", "a: 1\n", "a")
            .unwrap()
            .text,
        "1"
    );
}
