//! Property tests: a tune changes exactly one literal (every byte outside its span is
//! unchanged) in generated files full of decoys, and patches round-trip byte for byte.
//! Writes the number of cases run to target/test-summary/property.txt.

use super::{find, tune, Format, Value};
use crate::propose::patch::{apply, reverse, unified_diff};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicU64, Ordering};

const CASES: u32 = 1024;
static TUNE_CASES: AtomicU64 = AtomicU64::new(0);
static PATCH_CASES: AtomicU64 = AtomicU64::new(0);

/// splitmix64: the generated file is a function of the proptest-chosen seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn number(&mut self) -> String {
        match self.below(6) {
            0 => format!("{}", self.below(500)),
            1 => format!("-{}.{:02}", self.below(9), self.below(100)),
            2 => format!("{}_{:03}", 1 + self.below(9), self.below(1000)),
            3 => format!("{}e-{}", 1 + self.below(9), 1 + self.below(4)),
            _ => format!("{}.{}", self.below(10), self.below(1000)),
        }
    }
}

const KEYS: [&str; 6] = ["timeout", "weight", "depth", "ratio", "decay", "bonus"];

/// A Python module with constants, dicts and decoys; returns (source, target name).
fn python(r: &mut Rng) -> (String, String) {
    let mut src = String::from("\"\"\"Constants.\n\nW0 = 9.9 in a docstring\n\"\"\"\n\n");
    let mut names = Vec::new();
    for i in 0..1 + r.below(6) {
        let name = format!("W{i}");
        src.push_str(&format!("# {name} = 1.5 (decoy comment)\n"));
        let ann = r.pick(&["", ": float", ": int"]);
        let comment = r.pick(&["", "  # tuned", " # W0 = 3"]);
        src.push_str(&format!("{name}{ann} = {}{comment}\n", r.number()));
        names.push(name);
    }
    src.push_str("LINK_FACTORS = {\n");
    for k in KEYS.iter().take(1 + r.below(KEYS.len())) {
        let q = r.pick(&["'", "\""]);
        src.push_str(&format!(
            "    {q}{k}{q}: {},{}\n",
            r.number(),
            r.pick(&["", "  # x"])
        ));
        names.push(format!("LINK_FACTORS['{k}']"));
    }
    src.push_str(
        "    'note': \"'timeout': 0.99\",\n}\nSTATE = {State.SEEKING: 0.5, State.MERGING: ",
    );
    src.push_str(&r.number());
    src.push_str("}\n\ndef f():\n    W0 = 7\n    return {'timeout': 1}\n");
    names.push("STATE[State.MERGING]".into());
    python_classes(r, &mut src, &mut names);
    let target = names[r.below(names.len())].clone();
    (src, target)
}

/// Dataclass fields, class attributes, a nested class, keyword defaults of a method and
/// of a function (one line or many), with namesakes in docstrings, comments, strings,
/// function bodies and another class.
fn python_classes(r: &mut Rng, src: &mut String, names: &mut Vec<String>) {
    let ann = |r: &mut Rng, t: &'static str| if r.below(2) == 0 { t } else { "" };
    let comment = |r: &mut Rng| r.pick(&["", "  # timeout: float = 1.0", " # x"]);
    let class = r.pick(&["Cfg", "ExplorationConfig"]);
    src.push_str(&format!("\n\n@dataclass\nclass {class}:\n"));
    src.push_str(
        "    \"\"\"Config.\n\n    timeout: float = 9.9 is a docstring decoy.\n    \"\"\"\n",
    );
    for k in KEYS.iter().take(1 + r.below(KEYS.len())) {
        src.push_str(&format!("    # {k} = 4.4\n"));
        let a = ann(r, ": float");
        let (n, c) = (r.number(), comment(r));
        src.push_str(&format!("    {k}{a} = {n}{c}\n"));
        names.push(format!("{class}.{k}"));
    }
    src.push_str(
        "    note: str = \"timeout: int = 3\"\n    items: list = field(default_factory=list)\n",
    );
    src.push_str(&format!(
        "\n    class Inner:\n        ratio = {}\n",
        r.number()
    ));
    names.push(format!("{class}.Inner.ratio"));
    let (w, k) = (r.number(), r.below(500));
    let sig = if r.below(2) == 0 {
        format!(
            "self, a, w{} = {w}, *args, k{} = {k}, **kw",
            ann(r, ": float"),
            ann(r, ": int")
        )
    } else {
        format!(
            "\n        self,\n        a,\n        w{} = {w},{}\n        *args,\n        k{} = {k},\n        **kw,\n    ",
            ann(r, ": float"),
            comment(r),
            ann(r, ": int")
        )
    };
    src.push_str(&format!(
        "\n    def method({sig}):\n        \"\"\"method(w=3.0) decoy\"\"\"\n        timeout = 5\n        return a\n"
    ));
    names.push(format!("{class}.method(w)"));
    names.push(format!("{class}.method(k)"));
    src.push_str(
        "\n\nclass Other:\n    timeout = 0.5\n\n    def method(self, w=0.25, k=2):\n        pass\n",
    );
    let (rate, limit) = (r.number(), r.number());
    src.push_str(&format!(
        "\n\nasync def func(\n    x,\n    rate{} = {rate},{}\n    *,\n    limit={limit},\n):\n    depth = 1\n    return func(x, rate=0.1)\n",
        ann(r, ": float"),
        comment(r)
    ));
    names.push("func(rate)".into());
    names.push("func(limit)".into());
}

fn yaml(r: &mut Rng) -> (String, String) {
    let mut src = String::from("# protocol\nname: \"timeout: 5\"\n");
    let mut names = Vec::new();
    for s in 0..1 + r.below(4) {
        src.push_str(&format!("step{s}:\n"));
        for k in KEYS.iter().take(1 + r.below(KEYS.len())) {
            let v = match r.below(4) {
                0 => format!("'{}'", r.number()),
                1 => format!("\"{}\"", r.number()),
                _ => r.number(),
            };
            src.push_str(&format!("  {k}: {v}{}\n", r.pick(&["", "  # timeout: 1"])));
            names.push(format!("step{s}.{k}"));
        }
        src.push_str(&format!(
            "  list:\n  - {}\n  - {{ratio: {}}}\n",
            r.number(),
            r.number()
        ));
        names.push(format!("step{s}.list[0]"));
        names.push(format!("step{s}.list[1].ratio"));
    }
    let target = names[r.below(names.len())].clone();
    (src, target)
}

fn toml(r: &mut Rng) -> (String, String) {
    let mut src = String::from("title = \"timeout = 3\"\n");
    let mut names = Vec::new();
    for s in 0..1 + r.below(4) {
        src.push_str(&format!("\n[step{s}]  # timeout = 2\n"));
        for k in KEYS.iter().take(1 + r.below(KEYS.len())) {
            src.push_str(&format!(
                "{k} = {}{}\n",
                r.number(),
                r.pick(&["", " # depth = 1"])
            ));
            names.push(format!("step{s}.{k}"));
        }
        src.push_str(&format!(
            "inline = {{ ratio = {}, x = [1, 2] }}\n",
            r.number()
        ));
        names.push(format!("step{s}.inline.ratio"));
    }
    let target = names[r.below(names.len())].clone();
    (src, target)
}

fn json(r: &mut Rng) -> (String, String) {
    let mut src = String::from("{\n  \"note\": \"timeout: 1\"");
    let mut names = Vec::new();
    for s in 0..1 + r.below(4) {
        src.push_str(&format!(",\n  \"step{s}\": {{"));
        for (j, k) in KEYS.iter().take(1 + r.below(KEYS.len())).enumerate() {
            let n = r.number().replace('_', "");
            src.push_str(&format!("{}\"{k}\": {n}", if j > 0 { ", " } else { "" }));
            names.push(format!("step{s}.{k}"));
        }
        src.push_str(&format!(
            ", \"arr\": [{}, 2]}}",
            r.number().replace('_', "")
        ));
        names.push(format!("step{s}.arr[0]"));
    }
    src.push_str("\n}\n");
    let target = names[r.below(names.len())].clone();
    (src, target)
}

fn check_tune(seed: u64, which: usize, new: f64) -> Result<(), TestCaseError> {
    let mut r = Rng(seed);
    let (format, (src, name)) = match which {
        0 => (Format::Python, python(&mut r)),
        1 => (Format::Yaml, yaml(&mut r)),
        2 => (Format::Toml, toml(&mut r)),
        _ => (Format::Json, json(&mut r)),
    };
    let lit = find(format, &src, &name)
        .map_err(|e| TestCaseError::fail(format!("{name}: {e:#}\n{src}")))?;
    let new = match lit.value {
        Value::Int(_) => new.round(),
        _ => new,
    };
    let is_int_text = matches!(lit.value, Value::Str(ref s) if !s.contains(['.', 'e']));
    let new = if is_int_text { new.round() } else { new };
    let (out, old) = tune(format, &src, &name, new)
        .map_err(|e| TestCaseError::fail(format!("{name}: {e:#}\n{src}")))?;
    prop_assert_eq!(&old, &lit.value);
    prop_assert_eq!(
        &out.as_bytes()[..lit.span.start],
        &src.as_bytes()[..lit.span.start]
    );
    let tail = src.len() - lit.span.end;
    prop_assert!(out.len() >= tail);
    prop_assert_eq!(
        &out.as_bytes()[out.len() - tail..],
        &src.as_bytes()[lit.span.end..]
    );
    let again =
        find(format, &out, &name).map_err(|e| TestCaseError::fail(format!("{e:#}\n{out}")))?;
    prop_assert_eq!(again.span.start, lit.span.start);
    let got = again.value.as_f64().unwrap();
    prop_assert!(
        (got - new).abs() <= new.abs() * 1e-3 + 1e-9,
        "{} became {}",
        new,
        got
    );
    TUNE_CASES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn text(lines: &[usize], trailing: bool) -> String {
    const LINES: [&str; 9] = [
        "a",
        "b",
        "c",
        "",
        "x y",
        "-- z",
        "+++ q",
        "@@ -1 +1 @@",
        "\\ No newline",
    ];
    let mut s = lines
        .iter()
        .map(|&i| LINES[i])
        .collect::<Vec<_>>()
        .join("\n");
    if trailing && !lines.is_empty() {
        s.push('\n');
    }
    s
}

fn check_patch(
    a: &[usize],
    at: bool,
    b: &[usize],
    bt: bool,
    sides: u8,
) -> Result<(), TestCaseError> {
    let (a, b) = (text(a, at), text(b, bt));
    let old = (sides != 1).then_some(a.as_str());
    let new = (sides != 2).then_some(b.as_str());
    let patch = unified_diff("dir/file.txt", old, new);
    let (a, b) = (old.unwrap_or(""), new.unwrap_or(""));
    let applied = apply(a, &patch).map_err(|e| TestCaseError::fail(format!("{e:#}\n{patch}")))?;
    prop_assert_eq!(&applied, b, "forward\n{}", patch);
    let back = reverse(&patch);
    let undone = apply(b, &back).map_err(|e| TestCaseError::fail(format!("{e:#}\n{back}")))?;
    prop_assert_eq!(&undone, a, "reverse\n{}", back);
    prop_assert_eq!(reverse(&back), patch);
    PATCH_CASES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

#[test]
fn properties_hold_and_are_counted() {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config.clone());
    let tunes = (any::<u64>(), 0..4usize, 0.0f64..500.0);
    runner
        .run(&tunes, |(seed, which, new)| check_tune(seed, which, new))
        .unwrap();
    let lines = || prop::collection::vec(0..9usize, 0..40);
    let patches = (lines(), any::<bool>(), lines(), any::<bool>(), 0..3u8);
    let mut runner = TestRunner::new(config);
    runner
        .run(&patches, |(a, at, b, bt, sides)| {
            check_patch(&a, at, &b, bt, sides)
        })
        .unwrap();
    let (t, p) = (
        TUNE_CASES.load(Ordering::Relaxed),
        PATCH_CASES.load(Ordering::Relaxed),
    );
    let lost = (2 * CASES as u64).saturating_sub(t + p);
    assert_eq!(lost, 0, "every generated case must reach its checks");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summary");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("property.txt"),
        format!(
            "property: {} cases (tune: {t}, patch: {p}), {lost} lost\n",
            t + p
        ),
    )
    .unwrap();
}
