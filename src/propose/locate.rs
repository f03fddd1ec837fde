//! Where a document proposal points: the definition of a function, method or class in a
//! Python file (`calculate_link_score`, `SubEntity.is_fatigued`), its line and
//! signature, and the places in a set of files that call it. A document that cannot
//! name the code it is about is not written.

use super::edit::line_at;
use super::edit::python::tokens::Kind;
use super::edit::python::{statements, Head, Stmt};
use anyhow::{bail, Result};

/// A definition found in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub file: String,
    pub line: usize,
    /// The header as written, up to its colon (`def is_fatigued(self, window: int = 5, ...)`).
    pub header: String,
}

/// A call of the defined name.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub file: String,
    pub line: usize,
    /// The function (or class) the call is in, `module level` outside any.
    pub within: String,
}

fn text<'a>(src: &'a str, s: &Stmt) -> &'a str {
    match (s.toks.first(), s.toks.last()) {
        (Some(a), Some(z)) => &src[a.span.start..z.span.end],
        _ => "",
    }
}

fn qualified(stmts: &[Stmt], mut at: Option<usize>) -> String {
    let mut names = vec![];
    while let Some(i) = at {
        if let Head::Class(n) | Head::Def(n) = &stmts[i].head {
            names.push(n.clone());
        }
        at = stmts[i].scope;
    }
    names.reverse();
    names.join(".")
}

/// The definition of `name` (`f`, `Class`, `Class.method`, `Outer.Inner.f`) in `src`,
/// the text of `file`; an error names the file and every candidate line.
pub fn definition(src: &str, name: &str, file: &str) -> Result<Definition> {
    let stmts = statements(src).map_err(|e| anyhow::anyhow!("{file}: {e:#}"))?;
    let parts: Vec<&str> = name.split('.').map(str::trim).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_'))
    {
        bail!("`{name}` is not a Python name (`function`, `Class` or `Class.method`)");
    }
    let mut scope: Option<usize> = None;
    for (depth, part) in parts.iter().enumerate() {
        let last = depth + 1 == parts.len();
        let hits: Vec<usize> = (0..stmts.len())
            .filter(|&i| stmts[i].scope == scope)
            .filter(|&i| match &stmts[i].head {
                Head::Class(n) => n == part,
                Head::Def(n) => last && n == part,
                _ => false,
            })
            .collect();
        let line = |i: usize| line_at(src, stmts[i].toks[0].span.start);
        match hits.as_slice() {
            [one] => scope = Some(*one),
            [] => {
                let elsewhere: Vec<String> = (0..stmts.len())
                    .filter(
                        |&i| matches!(&stmts[i].head, Head::Class(n) | Head::Def(n) if n == part),
                    )
                    .map(|i| format!("{file}:{} ({})", line(i), qualified(&stmts, Some(i))))
                    .take(5)
                    .collect();
                bail!(
                    "{file}: no `{}` is defined{} ({} lines){}",
                    parts[..=depth].join("."),
                    if depth == 0 { " at module level" } else { "" },
                    src.lines().count(),
                    if elsewhere.is_empty() {
                        String::new()
                    } else {
                        format!("; `{part}` is defined at {}", elsewhere.join(", "))
                    }
                )
            }
            many => bail!(
                "{file}: `{}` is defined {} times ({}): ambiguous",
                parts[..=depth].join("."),
                many.len(),
                many.iter()
                    .map(|&i| format!("{file}:{}", line(i)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    let at = scope.expect("at least one part");
    let s = &stmts[at];
    let header = text(src, s).trim_end_matches(':').trim().to_string();
    Ok(Definition {
        file: file.to_string(),
        line: line_at(src, s.toks[0].span.start),
        header: header.split_whitespace().collect::<Vec<_>>().join(" "),
    })
}

/// Calls of the last part of `name` (`is_fatigued(`, `x.is_fatigued(`) in `src`, the
/// text of `file`, other than its definition.
pub fn calls(src: &str, name: &str, file: &str) -> Vec<Call> {
    let Ok(stmts) = statements(src) else {
        return vec![];
    };
    let last = name.rsplit('.').next().unwrap_or(name).trim();
    let mut out = vec![];
    for s in &stmts {
        let toks = &s.toks;
        for (i, t) in toks.iter().enumerate() {
            let is_name = t.kind == Kind::Name && &src[t.span.clone()] == last;
            let called = toks
                .get(i + 1)
                .is_some_and(|n| n.kind == Kind::Op && &src[n.span.clone()] == "(");
            let defined = i > 0 && &src[toks[i - 1].span.clone()] == "def";
            if is_name && called && !defined {
                let scope_name = qualified(&stmts, s.scope);
                out.push(Call {
                    file: file.to_string(),
                    line: line_at(src, t.span.start),
                    within: if scope_name.is_empty() {
                        "module level".into()
                    } else {
                        scope_name
                    },
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#""""Walkers."""
from dataclasses import dataclass


@dataclass
class SubEntity:
    id: str

    def is_fatigued(self, window: int = 5,
                    threshold: float = 0.05) -> bool:
        return False

    def to_dict(self):
        # is_fatigued( in a comment is not a call
        return {"is_fatigued": self.is_fatigued()}


def is_fatigued():
    return "a module-level namesake"


async def run(se):
    if se.is_fatigued(window=3):
        return None
"#;

    #[test]
    fn methods_functions_and_classes_are_found_with_their_line() {
        let d = definition(SRC, "SubEntity.is_fatigued", "sub.py").unwrap();
        assert_eq!(d.line, 9);
        assert_eq!(
            d.header,
            "def is_fatigued(self, window: int = 5, threshold: float = 0.05) -> bool"
        );
        assert_eq!(definition(SRC, "is_fatigued", "sub.py").unwrap().line, 18);
        assert_eq!(definition(SRC, "run", "sub.py").unwrap().line, 22);
        assert_eq!(definition(SRC, "SubEntity", "sub.py").unwrap().line, 6);
    }

    #[test]
    fn a_missing_or_ambiguous_name_is_an_error_naming_file_and_lines() {
        let e = definition(SRC, "SubEntity.fatigue", "sub.py").unwrap_err();
        assert!(
            e.to_string().starts_with("sub.py: no `SubEntity.fatigue`"),
            "{e}"
        );
        let e = definition(SRC, "Walker.is_fatigued", "sub.py").unwrap_err();
        assert!(
            e.to_string()
                .contains("no `Walker` is defined at module level"),
            "{e}"
        );
        let twice = format!("{SRC}\ndef run():\n    pass\n");
        let e = definition(&twice, "run", "sub.py").unwrap_err();
        assert!(e.to_string().contains("sub.py:22, sub.py:26"), "{e}");
        assert!(definition(SRC, "a b", "sub.py").is_err());
    }

    #[test]
    fn calls_name_their_line_and_function() {
        let c = calls(SRC, "SubEntity.is_fatigued", "sub.py");
        let got: Vec<(usize, &str)> = c.iter().map(|c| (c.line, c.within.as_str())).collect();
        assert_eq!(got, [(15, "SubEntity.to_dict"), (23, "run")]);
    }
}
