//! Deterministic hostile-input test: seeded mutations of realistic files (truncation,
//! byte flips, huge numbers, deep nesting, invalid names) through every editor, the
//! formula editor, the patch functions and the config loader. Errors are fine; a panic
//! is a failure.
//! Writes the count to target/test-summary/editors.txt.

use super::markdown::upsert_section;
use super::{find, replace, tune, Format, Value};
use crate::config::Config;
use crate::propose::formula::link_score_exponent;
use crate::propose::patch::{apply, reverse, unified_diff};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

const INPUTS: usize = 10_000;
static FIRST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

const BASES: [&str; 9] = [
    include_str!("fixtures/constants.py"),
    include_str!("../fixtures/link_scoring.py"),
    include_str!("fixtures/exploration.py"),
    include_str!("fixtures/subentity.py"),
    "steps:\n  explore:\n    timeout: 30 # s\n    w: {a: 1, b: [0.5, 2]}\n- x\nlist:\n- name: a\n  v: '3'\n",
    "[scoring]\nsemantic = 0.6\npolarity = { supports = 0.2 }\n[[steps]]\ntimeout = 30\narr = [\n 1,\n 2,\n]\ns = \"\"\"\nx = 1\n\"\"\"\n",
    "{\"a\": {\"b\": [1, 2.5, true, \"x\"]}, \"c\": null, \"d\": -1e-3}\n",
    "# Skill\n\n## When\n\ntext\n\n```\n## fenced\n```\n",
    crate::config::DEFAULT_CONFIG,
];

const NAMES: [&str; 32] = [
    "ExplorationConfig.timeout_s",
    "ExplorationConfig.Limits.HARD_CAP",
    "SubEntity.is_fatigued(threshold)",
    "ExplorationRunner.explore(timeout)",
    "run(timeout)",
    "is_fatigued(window)",
    "A.B.C(x)",
    "f(",
    "a.(x)",
    "Tiny.SIZE[0]",
    "INTENTION_WEIGHT",
    "LINK_FACTORS['supports']",
    "STATE_MULTIPLIER[SubEntityState.SEEKING]",
    "NESTED['decay']['slow']",
    "steps.explore.timeout",
    "steps.explore.w.b[1]",
    "list[0].v",
    "scoring.polarity.supports",
    "steps[0].timeout",
    "arr[1]",
    "a.b[1]",
    "d",
    "",
    ".",
    "a..b",
    "[",
    "x[99999999999999999999]",
    "a[0",
    "\"",
    "é.ü[0]",
    "NAME[']",
    "A[B][C][D][E][F][G][H][I][J][K][L][M][N][O][P]",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(r: &mut Rng, base: &str) -> String {
    let mut b = base.as_bytes().to_vec();
    for _ in 0..1 + r.below(3) {
        let at = r.below(b.len() + 1);
        match r.below(8) {
            0 => b.truncate(at),
            1 => {
                for _ in 0..1 + r.below(8) {
                    let i = r.below(b.len());
                    if i < b.len() {
                        b[i] ^= 1 << r.below(8);
                    }
                }
            }
            2 => {
                let huge = [
                    "1e999999",
                    "99999999999999999999999",
                    "-0x",
                    "1_",
                    "nan",
                    ".inf",
                    "1e-400",
                ];
                drop(b.splice(at..at, huge[r.below(huge.len())].bytes()));
            }
            3 => {
                let open = ["[", "{", "- ", "(", "  ", "a:\n ", "#", "\"\"\""];
                let o = open[r.below(open.len())];
                let n = 1 + r.below(5000);
                drop(b.splice(at..at, o.repeat(n).into_bytes()));
            }
            4 => {
                let end = (at + r.below(200)).min(b.len());
                let chunk = b[at..end].to_vec();
                drop(b.splice(at..at, chunk));
            }
            5 => {
                let bytes = [
                    b'\n', b'\r', b'\\', b'\'', b'"', b'#', b':', b'=', b'\t', 0, 0xff, 0xc3,
                ];
                b.insert(at.min(b.len()), bytes[r.below(bytes.len())]);
            }
            6 => {
                let end = (at + r.below(100)).min(b.len());
                drop(b.drain(at..end));
            }
            _ => drop(b.splice(
                at..at,
                "\n@@ -1,2 +1 @@\n-x\n\\ No newline at end of file\n".bytes(),
            )),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Runs every entry point on one input; returns how many calls panicked.
fn exercise(r: &mut Rng, base: &str, input: &str) -> u64 {
    let mut panics = 0;
    let mut guard = |f: &mut dyn FnMut()| {
        if catch_unwind(AssertUnwindSafe(f)).is_err() {
            panics += 1;
        }
    };
    let name = NAMES[r.below(NAMES.len())];
    let new = [0.3, -1.0, 1e300, f64::NAN, f64::INFINITY, 12.0, 1e-12][r.below(7)];
    for format in [Format::Python, Format::Yaml, Format::Toml, Format::Json] {
        guard(&mut || {
            if let Ok(lit) = find(format, input, name) {
                let _ = replace(input, &lit, &Value::Str("x\"'\n".into()));
                let _ = replace(input, &lit, &Value::Bool(true));
            }
            let _ = tune(format, input, name, new);
        });
    }
    guard(&mut || {
        let factor = ["sibling_divergence", "self_novelty", "x", ""][r.below(4)];
        let _ = link_score_exponent("f.py", input, factor, new);
        let _ = link_score_exponent("f.py", input, factor, 1.5);
    });
    guard(&mut || {
        let quoted: Vec<String> = input.lines().take(5).map(String::from).collect();
        let _ = upsert_section(input, name, "body", &quoted);
    });
    guard(&mut || {
        let patch = unified_diff("f.txt", Some(base), Some(input));
        let _ = apply(base, &patch);
        let _ = apply(base, &reverse(&patch));
        let _ = apply(base, input);
        let _ = apply(input, &mutate(&mut Rng(r.next() | 1), &patch));
    });
    guard(&mut || {
        let _ = Config::parse(input, Path::new("hostile.yaml"));
    });
    panics
}

#[test]
fn hostile_inputs_never_panic() {
    // Panics are counted, not printed 10,000 times.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let mut first = FIRST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(info.to_string());
        }
    }));
    let mut r = Rng(0x5EED_1234_ABCD_0001);
    let mut panics = 0;
    let mut first_panic = None;
    for i in 0..INPUTS {
        let base = BASES[i % BASES.len()];
        let input = mutate(&mut r, base);
        let p = exercise(&mut r, base, &input);
        if p > 0 && first_panic.is_none() {
            first_panic = Some(input.chars().take(300).collect::<String>());
        }
        panics += p;
    }
    std::panic::set_hook(hook);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summary");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("editors.txt"),
        format!("editors+config: {INPUTS} hostile inputs, {panics} panics\n"),
    )
    .unwrap();
    let message = FIRST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
    assert_eq!(
        panics, 0,
        "first panic: {message:?}\ninput: {first_panic:?}"
    );
}
