//! Byte-preserving editors for the numbers and strings the tool tunes. Each format
//! module only *locates* a literal (its byte span); rendering the new value in the old
//! literal's style happens here, so "every other byte unchanged" holds by construction.

pub mod json;
pub mod markdown;
pub mod python;
pub mod toml;
pub mod yaml;

mod render;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod property_tests;

use anyhow::{bail, Context, Result};
use std::ops::Range;

/// The file formats whose literals can be tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Python,
    Yaml,
    Toml,
    Json,
}

impl Format {
    /// The format of a file, from its extension (`.py`, `.yaml`/`.yml`, `.toml`, `.json`).
    pub fn from_path(path: &str) -> Option<Format> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "py" => Some(Format::Python),
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// A literal's value, as the file states it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl Value {
    /// The value as a number, if it is one (a quoted number counts: it is tuned in quotes).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => match render::number_value(s) {
                Some(Value::Int(i)) => Some(i as f64),
                Some(Value::Float(f)) if f.is_finite() => Some(f),
                _ => None,
            },
            Value::Bool(_) => None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// One literal located in a source text: its byte span, its text (with quotes and
/// sign), its value and its 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub span: Range<usize>,
    pub text: String,
    pub value: Value,
    pub line: usize,
}

impl Literal {
    pub(crate) fn at(src: &str, span: Range<usize>, value: Value) -> Literal {
        Literal {
            line: line_at(src, span.start),
            text: src[span.clone()].to_string(),
            span,
            value,
        }
    }
}

/// Finds the literal named `name` in `src`.
pub fn find(format: Format, src: &str, name: &str) -> Result<Literal> {
    match format {
        Format::Python => python::find(src, name),
        Format::Yaml => yaml::find(src, name),
        Format::Toml => toml::find(src, name),
        Format::Json => json::find(src, name),
    }
}

/// `find`, with errors that name `file`; for Python every candidate of an ambiguous or
/// missing target is named as `file:line`.
pub fn find_in(format: Format, file: &str, src: &str, name: &str) -> Result<Literal> {
    match format {
        Format::Python => python::find_in(src, name, file),
        _ => find(format, src, name).map_err(|e| anyhow::anyhow!("{file}: {e:#}")),
    }
}

/// Replaces the literal's bytes with `new` rendered in the literal's style (int stays
/// int: error if new is not integral; float keeps at least its decimal places, adding
/// only as many as needed to show the new value to 4 significant digits; quoted stays
/// quoted). Every other byte unchanged.
pub fn replace(src: &str, lit: &Literal, new: &Value) -> Result<String> {
    let current = src.get(lit.span.clone()).with_context(|| {
        format!(
            "literal span {:?} (line {}) is outside the file",
            lit.span, lit.line
        )
    })?;
    if current != lit.text {
        bail!(
            "the file changed since the literal was found: line {} now has `{current}` where `{}` was",
            lit.line,
            lit.text
        );
    }
    let rendered = render::render(&lit.text, &lit.value, new)
        .with_context(|| format!("cannot write {new} over `{}` (line {})", lit.text, lit.line))?;
    let mut out = String::with_capacity(src.len() + rendered.len());
    out.push_str(&src[..lit.span.start]);
    out.push_str(&rendered);
    out.push_str(&src[lit.span.end..]);
    Ok(out)
}

/// find + replace for a number; returns (new_src, old_value).
pub fn tune(format: Format, src: &str, name: &str, new: f64) -> Result<(String, Value)> {
    tune_lit(find(format, src, name)?, src, name, new)
}

/// `tune`, with errors that name `file` (see `find_in`).
pub fn tune_in(
    format: Format,
    file: &str,
    src: &str,
    name: &str,
    new: f64,
) -> Result<(String, Value)> {
    tune_lit(find_in(format, file, src, name)?, src, name, new)
}

fn tune_lit(lit: Literal, src: &str, name: &str, new: f64) -> Result<(String, Value)> {
    if lit.value.as_f64().is_none() {
        bail!(
            "`{name}` (line {}) is {}, not a number: it cannot be tuned",
            lit.line,
            lit.text
        );
    }
    let out = replace(src, &lit, &Value::Float(new))?;
    Ok((out, lit.value))
}

/// 1-based line of a byte offset.
pub(crate) fn line_at(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    1 + memchr::memchr_iter(b'\n', &src.as_bytes()[..end]).count()
}

/// One step of a dotted path such as `steps.explore.timeout` or `a.list[2].b`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for Seg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seg::Key(k) => write!(f, "`{k}`"),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Parses `a.b[0]."c.d"` (quoted keys may hold dots and brackets).
pub(crate) fn parse_path(name: &str) -> Result<Vec<Seg>> {
    let mut segs = Vec::new();
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    let mut expect_key = true;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .with_context(|| format!("unclosed `[` in path `{name}`"))?;
                let digits: String = chars[i + 1..i + close].iter().collect();
                let idx = digits.trim().parse::<usize>().with_context(|| {
                    format!("`[{digits}]` in path `{name}` is not an array index")
                })?;
                segs.push(Seg::Index(idx));
                i += close + 1;
                expect_key = false;
            }
            '.' if !expect_key => {
                i += 1;
                expect_key = true;
                if i == chars.len() {
                    bail!("path `{name}` ends with `.`");
                }
            }
            q @ ('"' | '\'') if expect_key => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&c| c == q)
                    .with_context(|| format!("unclosed quote in path `{name}`"))?;
                segs.push(Seg::Key(chars[i + 1..i + 1 + close].iter().collect()));
                i += close + 2;
                expect_key = false;
            }
            _ if expect_key => {
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let key: String = chars[start..i].iter().collect();
                if key.trim().is_empty() {
                    bail!("empty key in path `{name}`");
                }
                segs.push(Seg::Key(key));
                expect_key = false;
            }
            c => bail!("unexpected `{c}` in path `{name}`"),
        }
    }
    if segs.is_empty() {
        bail!("empty path");
    }
    Ok(segs)
}

/// Shows a path prefix in errors, e.g. `steps.explore`.
pub(crate) fn show_path(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if s.is_empty() {
        "the top level".into()
    } else {
        format!("`{s}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(
            Format::from_path("runtime/physics/constants.py"),
            Some(Format::Python)
        );
        assert_eq!(Format::from_path("p/x.YML"), Some(Format::Yaml));
        assert_eq!(Format::from_path("a.yaml"), Some(Format::Yaml));
        assert_eq!(Format::from_path("Cargo.toml"), Some(Format::Toml));
        assert_eq!(Format::from_path("a.json"), Some(Format::Json));
        assert_eq!(Format::from_path("README.md"), None);
        assert_eq!(Format::from_path("Makefile"), None);
    }

    #[test]
    fn paths_parse() {
        assert_eq!(
            parse_path("a.list[2].b").unwrap(),
            vec![
                Seg::Key("a".into()),
                Seg::Key("list".into()),
                Seg::Index(2),
                Seg::Key("b".into())
            ]
        );
        assert_eq!(
            parse_path("t.\"x.y\"").unwrap(),
            vec![Seg::Key("t".into()), Seg::Key("x.y".into())]
        );
        for bad in ["", "a.", "a..b", "a[x]", "a[1", "a[-1]", "\"a"] {
            assert!(parse_path(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn replace_refuses_stale_literal() {
        let src = "X = 1\n";
        let lit = find(Format::Python, src, "X").unwrap();
        let err = replace("X = 2\n", &lit, &Value::Int(3)).unwrap_err();
        assert!(err.to_string().contains("changed"), "{err}");
    }
}
