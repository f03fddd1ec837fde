use super::*;
use crate::propose::edit::{tune, Format};
use std::path::Path;
use std::process::Command;

const LINK_SCORING: &str = include_str!("fixtures/link_scoring.py");
const PATH: &str = "runtime/physics/link_scoring.py";
const PRODUCT: &str =
    "    score = semantic * polarity * permanence_factor * self_novelty * sibling_divergence\n";

fn added(edit: FormulaEdit) -> ExponentAdded {
    match edit {
        FormulaEdit::Added(a) => a,
        other => panic!("expected an added constant, got {other:?}"),
    }
}

fn line_of(src: &str, needle: &str) -> usize {
    let hits: Vec<usize> = src
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{needle:?} should be on exactly one line");
    hits[0]
}

#[test]
fn raises_the_divergence_factor_of_the_link_score() {
    let a = added(link_score_exponent(PATH, LINK_SCORING, "sibling_divergence", 1.5).unwrap());
    // Expected, built by hand: the constant after the imports, the factor in the one
    // product that is the score; the docstring, the comment and the display-only
    // product `sibling_divergence * 100.0` stay as they were.
    let imports = "from typing import Dict, List, Tuple\n";
    let expected = LINK_SCORING
        .replacen(
            imports,
            &format!(
                "{imports}\n# Exponent on sibling_divergence in the score product (1.0 = the plain product).\nSIBLING_DIVERGENCE_EXPONENT = 1.5\n"
            ),
            1,
        )
        .replacen(
            &format!("    # score = semantic * sibling_divergence  (an old formula, commented out)\n{PRODUCT}"),
            "    # score = semantic * sibling_divergence  (an old formula, commented out)\n    score = semantic * polarity * permanence_factor * self_novelty * max(sibling_divergence, 0.0) ** SIBLING_DIVERGENCE_EXPONENT\n",
            1,
        );
    assert_ne!(expected, LINK_SCORING);
    assert_eq!(a.text, expected);
    assert_eq!(a.constant, "SIBLING_DIVERGENCE_EXPONENT");
    assert_eq!(a.before, "sibling_divergence");
    assert_eq!(
        a.after,
        "max(sibling_divergence, 0.0) ** SIBLING_DIVERGENCE_EXPONENT"
    );
    assert_eq!(a.constant_line, 14);
    assert_eq!(
        a.product_line,
        line_of(&a.text, "** SIBLING_DIVERGENCE_EXPONENT")
    );
    // Two hunks: the constant and the product; nothing else.
    assert_eq!(a.diff.matches("\n@@ ").count(), 2, "{}", a.diff);
    let plus: Vec<&str> = a
        .diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(plus.len(), 4, "{}", a.diff);
    let minus = a
        .diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .count();
    assert_eq!(minus, 1, "{}", a.diff);
}

#[test]
fn the_new_constant_is_tuned_by_the_constant_editor_next_time() {
    let a = added(link_score_exponent(PATH, LINK_SCORING, "sibling_divergence", 1.5).unwrap());
    let again = link_score_exponent(PATH, &a.text, "sibling_divergence", 2.0).unwrap();
    assert_eq!(
        again,
        FormulaEdit::Exists {
            constant: "SIBLING_DIVERGENCE_EXPONENT".into(),
            line: 14,
            value: Value::Float(1.5),
        }
    );
    let (tuned, old) = tune(Format::Python, &a.text, "SIBLING_DIVERGENCE_EXPONENT", 1.8).unwrap();
    assert_eq!(old, Value::Float(1.5));
    assert_eq!(
        tuned,
        a.text.replacen(
            "SIBLING_DIVERGENCE_EXPONENT = 1.5",
            "SIBLING_DIVERGENCE_EXPONENT = 1.8",
            1
        )
    );
}

/// Runs git with nothing from the machine's configuration.
fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-05T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-05T00:00:00Z")
        .output()
        .expect("git runs")
}

#[test]
fn the_diff_is_accepted_by_git_apply() {
    let a = added(link_score_exponent(PATH, LINK_SCORING, "sibling_divergence", 1.5).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("runtime/physics")).unwrap();
    std::fs::write(root.join(PATH), LINK_SCORING).unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "."],
        &["commit", "-qm", "base"],
    ] {
        let out = git(root, args);
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }
    std::fs::write(root.join("change.patch"), &a.diff).unwrap();
    let check = git(root, &["apply", "--check", "change.patch"]);
    assert!(
        check.status.success(),
        "git apply --check: {}\n{}",
        String::from_utf8_lossy(&check.stderr),
        a.diff
    );
    let applied = git(root, &["apply", "change.patch"]);
    assert!(applied.status.success(), "{applied:?}");
    assert_eq!(std::fs::read_to_string(root.join(PATH)).unwrap(), a.text);
}

#[test]
fn the_edited_module_scores_with_the_exponent() {
    let a = added(link_score_exponent(PATH, LINK_SCORING, "sibling_divergence", 2.0).unwrap());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("before.py"), LINK_SCORING).unwrap();
    std::fs::write(dir.path().join("after.py"), &a.text).unwrap();
    // A link at 45 degrees from its one sibling: divergence 1 - cos(45°) = 0.29289...
    let script = "import before, after\n\
        link = {'embedding': [1.0, 0.0], 'polarity': 0.8, 'weight': 1.0}\n\
        args = (link, [1.0, 0.0], [], [[1.0, 1.0]])\n\
        (b, c), (s, _) = before.score_link(*args), after.score_link(*args)\n\
        print(repr(b), repr(s), repr(c['sibling_divergence']))\n";
    let out = Command::new("python3")
        .current_dir(dir.path())
        .args(["-c", script])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{out:?}");
    let nums: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (before, after, div) = (nums[0], nums[1], nums[2]);
    let expected_div = 1.0 - 1.0 / 2f64.sqrt();
    assert!((div - expected_div).abs() < 1e-12);
    // semantic 1.0 x polarity 0.8 x permanence_factor 0.5 x self_novelty 1.0
    assert!((before - 0.4 * expected_div).abs() < 1e-12, "{before}");
    assert!(
        (after - 0.4 * expected_div * expected_div).abs() < 1e-12,
        "{after}"
    );
}

#[test]
fn products_over_lines_attributes_and_keys() {
    let src = "\"\"\"Scores.\"\"\"\nimport math\n\nWEIGHT = 2\n\n\ndef score(c, comp):\n    total = (\n        c.semantic\n        * c.polarity  # direction\n        * c.permanence_factor * c.self_novelty\n        * c.sibling_divergence\n    )\n    other = comp['semantic'] * comp['self_novelty'] * comp[\"permanence_factor\"]\n    return total + other\n";
    let a = added(link_score_exponent("s.py", src, "sibling_divergence", 1.25).unwrap());
    assert_eq!(a.before, "c.sibling_divergence");
    // Lines of the edited file: 3 lines were inserted above.
    assert_eq!(a.product_line, 15);
    assert!(a.text.contains(
        "        * max(c.sibling_divergence, 0.0) ** SIBLING_DIVERGENCE_EXPONENT\n    )\n"
    ));
    assert!(a.text.starts_with(
        "\"\"\"Scores.\"\"\"\nimport math\n\nWEIGHT = 2\n\n# Exponent on sibling_divergence in the score product (1.0 = the plain product).\nSIBLING_DIVERGENCE_EXPONENT = 1.25\n\n\ndef score"
    ), "{}", a.text);
    // Two products hold permanence_factor: the score is the one with all the others.
    let b = added(link_score_exponent("s.py", src, "permanence_factor", 3.0).unwrap());
    assert_eq!(b.before, "c.permanence_factor");
    assert_eq!(b.product_line, 14);
    assert!(b.text.contains(
        "        * max(c.permanence_factor, 0.0) ** PERMANENCE_FACTOR_EXPONENT * c.self_novelty\n"
    ));
    assert!(b.text.contains("* comp[\"permanence_factor\"]\n"));
}

#[test]
fn several_candidate_products_are_refused_unless_others_pick_one() {
    let src = "def score(c, comp):\n    a = c.semantic * c.permanence_factor\n    b = comp['semantic'] * comp[\"permanence_factor\"] * comp['polarity']\n    return a + b\n";
    let none = FactorExponent {
        factor: "permanence_factor",
        exponent: 3.0,
        others: &[],
    };
    let err = add_factor_exponent("s.py", src, &none)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`permanence_factor` is a factor of 2 products (s.py:2, s.py:3)"),
        "{err}"
    );
    let picked = FactorExponent {
        others: &["semantic", "polarity"],
        ..none
    };
    let a = added(add_factor_exponent("s.py", src, &picked).unwrap());
    assert_eq!(a.before, "comp[\"permanence_factor\"]");
    assert_eq!(a.product_line, 7);
    assert!(a.text.starts_with(
        "# Exponent on permanence_factor in the score product (1.0 = the plain product).\nPERMANENCE_FACTOR_EXPONENT = 3.0\n\n\ndef score"
    ), "{}", a.text);
    // Without any product of the full set, two partial ones are still ambiguous.
    let mind = link_score_exponent("s.py", src, "permanence_factor", 3.0);
    assert!(mind.unwrap_err().to_string().contains("2 products"));
}

#[test]
fn refusals_say_why() {
    let err = |src: &str, factor: &str, e: f64| {
        link_score_exponent(PATH, src, factor, e)
            .unwrap_err()
            .to_string()
    };
    assert!(err(LINK_SCORING, "semantic", 1.5).contains("can be negative"));
    assert!(err(LINK_SCORING, "polarity", 1.5).contains("can be negative"));
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 10.5] {
        assert!(
            err(LINK_SCORING, "sibling_divergence", bad).contains("outside (0, 10]"),
            "{bad}"
        );
    }
    assert!(err(LINK_SCORING, "sibling divergence", 1.5).contains("not a factor name"));
    let e = err(LINK_SCORING, "novelty", 1.5);
    assert!(
        e.contains("runtime/physics/link_scoring.py: no product has `novelty`"),
        "{e}"
    );
    // Only in comments, strings and docstrings, or as a divisor: no product.
    let src = "\"\"\"score = a * sibling_divergence\"\"\"\n# b * sibling_divergence\nx = 'c * sibling_divergence'\ny = a / sibling_divergence\n";
    assert!(err(src, "sibling_divergence", 1.5).contains("no product has"));
    let src = "def s(a, sibling_divergence):\n    return a * sibling_divergence ** 2\n";
    let e = err(src, "sibling_divergence", 1.5);
    assert!(
        e.contains(":2: `sibling_divergence` is already raised to `2`"),
        "{e}"
    );
    let src = "from .constants import SIBLING_DIVERGENCE_EXPONENT\n\ndef s(a, d):\n    return a * d ** SIBLING_DIVERGENCE_EXPONENT\n";
    let e = err(src, "sibling_divergence", 1.5);
    assert!(
        e.contains(":1: `SIBLING_DIVERGENCE_EXPONENT` is used here but not assigned"),
        "{e}"
    );
    let twice = format!("def a():\n{PRODUCT}\n\ndef b():\n{PRODUCT}");
    let e = err(&twice, "sibling_divergence", 1.5);
    assert!(
        e.contains("2 products") && e.contains(":2, ") && e.contains(":6"),
        "{e}"
    );
    let dup = "X_EXPONENT = 1\nX_EXPONENT = 2\ndef s(a, x):\n    return a * x\n";
    let e = err(dup, "x", 1.5);
    assert!(e.contains("ambiguous"), "{e}");
}
