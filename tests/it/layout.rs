//! The layout of `src/` is the loop, and imports only run downwards: each top-level
//! library module has a layer, and a module may use only modules of lower layers.
//! Files inside one folder must not import each other in a circle, and the library
//! never prints (the command line, in the binary, decides what is shown). This test
//! reads the sources, so a new import that runs back up fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. The README's "Layout" section shows the same order.
const LAYERS: &[&[&str]] = &[
    &[
        "clock", "error", "fsutil", "stats", "crash", "vocab", "sanitize",
    ],
    &["lock", "command", "housekeeping"],
    &["git", "forge"],
    &["config"],
    &["audit"],
    &["observe"],
    &["records"],
    &["context"],
    &["init"],
    &["diagnose"],
    &["store"],
    &["triggers"],
    &["propose"],
    &["validate"],
    &["notify"],
    &["approve"],
    &["deploy"],
    &["learn"],
    &["cycle"],
    &["health"],
    &["report"],
    &["demo"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Library source files (the binary's `main.rs` and `cli/` excluded) with their
/// module path (`src/deploy/monitor.rs` -> ["deploy", "monitor"]).
fn library_files() -> Vec<(Vec<String>, PathBuf)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = vec![];
    walk(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(src()).unwrap();
            let mut parts: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if parts[0] == "main" || parts[0] == "cli" || parts[0] == "lib" {
                return None;
            }
            if parts.last().is_some_and(|l| l == "mod") {
                parts.pop();
            }
            Some((parts, p))
        })
        .collect()
}

/// Test code: whole test files, and everything after a file's `#[cfg(test)]`.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name == "tests.rs" || name.ends_with("_tests.rs") || name == "properties.rs"
}

fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    // Comments say things like `crate::x` in prose; only code counts.
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The first path segment after each `prefix::` (both `prefix::a::b` and
/// `prefix::{a, b::c}` forms).
fn segments_after(code: &str, prefix: &str) -> Vec<String> {
    let needle = format!("{prefix}::");
    let mut out = vec![];
    let mut rest = code;
    while let Some(i) = rest.find(&needle) {
        let before = rest[..i].chars().last();
        rest = &rest[i + needle.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let id = ident_at(item.trim());
                if !id.is_empty() {
                    out.push(id);
                }
            }
        } else {
            let id = ident_at(rest);
            if !id.is_empty() {
                out.push(id);
            }
        }
    }
    out
}

#[test]
fn imports_only_run_downwards() {
    let mut wrong = vec![];
    let mut unplaced = BTreeSet::new();
    for (path, file) in library_files() {
        if is_test_file(&file) {
            continue;
        }
        let top = &path[0];
        let Some(mine) = rank(top) else {
            unplaced.insert(top.clone());
            continue;
        };
        let code = code_of(&file);
        let mut used: Vec<String> = segments_after(&code, "crate");
        // In a top-level file `super` is the crate root.
        if path.len() == 1 {
            used.extend(segments_after(&code, "super"));
        }
        for m in used {
            if m == *top || m == "self" {
                continue;
            }
            match rank(&m) {
                Some(r) if r < mine => {}
                Some(_) => wrong.push(format!(
                    "{} uses {m}, which is not below {top}",
                    file.strip_prefix(src()).unwrap().display()
                )),
                None => {
                    unplaced.insert(m);
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules with no layer in tests/it/layout.rs (place them, and in the README): {unplaced:?}"
    );
    assert!(
        wrong.is_empty(),
        "imports that run upwards:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn files_of_one_module_import_each_other_without_circles() {
    // folder -> file -> files of the same folder it uses.
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let files = library_files();
    let siblings: BTreeMap<Vec<String>, BTreeSet<String>> =
        files.iter().fold(BTreeMap::new(), |mut m, (path, _)| {
            if path.len() >= 2 {
                let (name, folder) = path.split_last().unwrap();
                m.entry(folder.to_vec()).or_default().insert(name.clone());
            }
            m
        });
    for (path, file) in &files {
        if path.len() < 2 || is_test_file(file) {
            continue;
        }
        let (name, folder) = path.split_last().unwrap();
        let sibs = &siblings[folder];
        let code = code_of(file);
        let mut used = segments_after(&code, "super");
        used.extend(segments_after(
            &code,
            &format!("crate::{}", folder.join("::")),
        ));
        let edges: BTreeSet<String> = used
            .into_iter()
            .filter(|u| u != name && sibs.contains(u))
            .collect();
        graphs
            .entry(folder.to_vec())
            .or_default()
            .insert(name.clone(), edges);
    }
    for (folder, g) in &graphs {
        // Depth-first search for a back edge.
        fn visit(
            n: &str,
            g: &BTreeMap<String, BTreeSet<String>>,
            stack: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = stack.iter().position(|s| s == n) {
                let mut cycle = stack[i..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            if done.contains(n) {
                return None;
            }
            stack.push(n.to_string());
            for m in g.get(n).into_iter().flatten() {
                if let Some(c) = visit(m, g, stack, done) {
                    return Some(c);
                }
            }
            stack.pop();
            done.insert(n.to_string());
            None
        }
        let mut done = BTreeSet::new();
        for n in g.keys() {
            if let Some(c) = visit(n, g, &mut vec![], &mut done) {
                panic!("a circle in src/{}: {}", folder.join("/"), c.join(" -> "));
            }
        }
    }
}

#[test]
fn the_library_never_prints() {
    let mut found = vec![];
    for (_, file) in library_files() {
        if is_test_file(&file) {
            continue;
        }
        for (i, line) in code_of(&file).lines().enumerate() {
            for m in [
                "println!",
                "print!(",
                "eprintln!",
                "eprint!(",
                "dbg!(",
                "io::stdout",
            ] {
                if line.contains(m) {
                    found.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(src()).unwrap().display(),
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the library prints:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_and_nested_imports() {
    let code = "use crate::{a, b::c};\nuse crate::d::e;\nlet x = crate::f::g();\nmy_crate::h;";
    assert_eq!(segments_after(code, "crate"), ["a", "b", "d", "f"]);
}
