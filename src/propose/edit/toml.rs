//! Locates a scalar in a TOML file by path (`table.key`, `a.b.key`, `arr[1].key`,
//! `t.inline.k`): `[table]` and `[[array]]` headers, dotted and quoted keys, inline
//! tables and arrays. A span-keeping scanner: nothing is reformatted.

use super::render::number_value;
use super::{line_at, parse_path, show_path, Literal, Seg, Value};
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::ops::Range;

const MAX_DEPTH: usize = 128;

enum Node {
    Scalar(Range<usize>, Value),
    Array(Vec<Node>),
    Table(Vec<(Vec<String>, Node)>),
}

pub fn find(src: &str, name: &str) -> Result<Literal> {
    let path = parse_path(name)?;
    let mut p = Scanner {
        s: src.as_bytes(),
        src,
        i: 0,
    };
    let mut table: Vec<Seg> = Vec::new();
    let mut array_counts: HashMap<Vec<Seg>, usize> = HashMap::new();
    let mut tables: Vec<(Vec<Seg>, usize)> = vec![(Vec::new(), 1)];
    let mut hits: Vec<Literal> = Vec::new();
    loop {
        p.ws_newlines_comments();
        let Some(c) = p.peek() else { break };
        let line = line_at(src, p.i);
        if c == b'[' {
            let array = p.s.get(p.i + 1) == Some(&b'[');
            p.i += if array { 2 } else { 1 };
            let keys = p.key_path()?;
            let close: &[u8] = if array { b"]]" } else { b"]" };
            p.ws();
            if !p.s[p.i..].starts_with(close) {
                return p.err("expected `]` closing the table header");
            }
            p.i += close.len();
            p.end_of_line()?;
            table = resolve(&keys, &array_counts);
            if array {
                let n = array_counts.entry(table.clone()).or_insert(0);
                *n += 1;
                table.push(Seg::Index(*n - 1));
            }
            tables.push((table.clone(), line));
            continue;
        }
        let keys = p.key_path()?;
        p.ws();
        if p.peek() != Some(b'=') {
            return p.err("expected `=` after the key");
        }
        p.i += 1;
        p.ws();
        let node = p.value(0)?;
        p.end_of_line()?;
        let mut full = table.clone();
        full.extend(keys.iter().cloned().map(Seg::Key));
        if path.len() >= full.len() && path[..full.len()] == full[..] {
            if let Some(lit) = navigate(src, &node, &path[full.len()..], &path)? {
                hits.push(lit);
            }
        }
    }
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => {
            let (best, at) = tables
                .iter()
                .filter(|(t, _)| path.len() > t.len() && path[..t.len()] == t[..])
                .max_by_key(|(t, _)| t.len())
                .cloned()
                .unwrap_or((Vec::new(), 1));
            let shown = if best.is_empty() {
                format!("the top level ({} lines)", src.lines().count())
            } else {
                format!(
                    "table [{}] (header at line {at})",
                    show_path(&best).trim_matches('`')
                )
            };
            bail!("`{name}` not found: no {} in {shown}", path[best.len()])
        }
        _ => bail!(
            "`{name}` is defined {} times (lines {}): ambiguous",
            hits.len(),
            hits.iter()
                .map(|h| h.line.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A header's keys with the current element index after every array-of-tables name.
fn resolve(keys: &[String], counts: &HashMap<Vec<Seg>, usize>) -> Vec<Seg> {
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        out.push(Seg::Key(k.clone()));
        if i + 1 < keys.len() {
            if let Some(n) = counts.get(&out) {
                out.push(Seg::Index(n - 1));
            }
        }
    }
    out
}

/// Follows the rest of the path inside a value; `None` if this value does not hold it.
fn navigate(src: &str, node: &Node, rest: &[Seg], full: &[Seg]) -> Result<Option<Literal>> {
    let Some((seg, tail)) = rest.split_first() else {
        return match node {
            Node::Scalar(span, v) => Ok(Some(Literal::at(src, span.clone(), v.clone()))),
            _ => bail!(
                "`{}` is a table or array, not a scalar",
                show_path(full).trim_matches('`')
            ),
        };
    };
    match (node, seg) {
        (Node::Array(items), Seg::Index(i)) => match items.get(*i) {
            Some(item) => navigate(src, item, tail, full),
            None => Ok(None),
        },
        (Node::Table(entries), Seg::Key(_)) => {
            let mut found = None;
            for (keys, v) in entries {
                let n = keys.len();
                let matches = rest.len() >= n
                    && keys
                        .iter()
                        .zip(rest)
                        .all(|(k, s)| *s == Seg::Key(k.clone()));
                if matches {
                    if let Some(lit) = navigate(src, v, &rest[n..], full)? {
                        if found.is_some() {
                            bail!(
                                "`{}` is defined twice in one inline table: ambiguous",
                                show_path(full).trim_matches('`')
                            );
                        }
                        found = Some(lit);
                    }
                }
            }
            Ok(found)
        }
        _ => Ok(None),
    }
}

struct Scanner<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn err<T>(&self, what: &str) -> Result<T> {
        bail!("invalid TOML at line {}: {what}", line_at(self.src, self.i))
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some(b'#') {
            self.i = memchr::memchr(b'\n', &self.s[self.i..]).map_or(self.s.len(), |p| self.i + p);
        }
    }

    fn ws_newlines_comments(&mut self) {
        loop {
            self.ws();
            self.skip_comment();
            match self.peek() {
                Some(b'\n') => self.i += 1,
                Some(b'\r') if self.s.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                _ => return,
            }
        }
    }

    fn end_of_line(&mut self) -> Result<()> {
        self.ws();
        self.skip_comment();
        match self.peek() {
            None | Some(b'\n') => Ok(()),
            Some(b'\r') if self.s.get(self.i + 1) == Some(&b'\n') => Ok(()),
            _ => self.err("unexpected text after the value"),
        }
    }

    /// `a.b."c d".'e'`
    fn key_path(&mut self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        loop {
            self.ws();
            let key = match self.peek() {
                Some(b'"' | b'\'') => {
                    let span = self.string()?;
                    string_value(&self.src[span])
                }
                _ => {
                    let start = self.i;
                    while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                    {
                        self.i += 1;
                    }
                    if start == self.i {
                        return self.err("expected a key");
                    }
                    self.src[start..self.i].to_string()
                }
            };
            keys.push(key);
            self.ws();
            if self.peek() == Some(b'.') {
                self.i += 1;
            } else {
                return Ok(keys);
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return self.err("nested deeper than 128 levels");
        }
        match self.peek() {
            Some(b'"' | b'\'') => {
                let span = self.string()?;
                let v = string_value(&self.src[span.clone()]);
                Ok(Node::Scalar(span, Value::Str(v)))
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws_newlines_comments();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(Node::Array(items));
                    }
                    items.push(self.value(depth + 1)?);
                    self.ws_newlines_comments();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {}
                        _ => return self.err("expected `,` or `]` in an array"),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.ws_newlines_comments();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Node::Table(entries));
                    }
                    let keys = self.key_path()?;
                    self.ws();
                    if self.peek() != Some(b'=') {
                        return self.err("expected `=` in an inline table");
                    }
                    self.i += 1;
                    self.ws();
                    entries.push((keys, self.value(depth + 1)?));
                    self.ws_newlines_comments();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {}
                        _ => return self.err("expected `,` or `}` in an inline table"),
                    }
                }
            }
            _ => {
                let start = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || b"+-._:".contains(&c))
                {
                    self.i += 1;
                }
                // A date-time may separate date and time with a space.
                let is_date =
                    self.i - start == 10 && self.s[start + 4] == b'-' && self.s[start + 7] == b'-';
                if is_date
                    && self.peek() == Some(b' ')
                    && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit)
                {
                    self.i += 1;
                    while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || b"+-.:".contains(&c))
                    {
                        self.i += 1;
                    }
                }
                let text = &self.src[start..self.i];
                let value = match text {
                    "" => return self.err("expected a value"),
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "inf" | "+inf" => Value::Float(f64::INFINITY),
                    "-inf" => Value::Float(f64::NEG_INFINITY),
                    "nan" | "+nan" | "-nan" => Value::Float(f64::NAN),
                    _ => match number_value(text) {
                        Some(v) => v,
                        None if text.starts_with(|c: char| c.is_ascii_digit())
                            && text.contains([':', '-']) =>
                        {
                            Value::Str(text.to_string())
                        }
                        None => return self.err(&format!("`{text}` is not a TOML value")),
                    },
                };
                Ok(Node::Scalar(start..self.i, value))
            }
        }
    }

    /// Span of a basic, literal or multi-line string at the cursor, quotes included.
    fn string(&mut self) -> Result<Range<usize>> {
        let start = self.i;
        let q = self.s[start];
        let triple = self.s[start..].starts_with(if q == b'"' { b"\"\"\"" } else { b"'''" });
        self.i += if triple { 3 } else { 1 };
        while let Some(c) = self.peek() {
            if c == b'\\' && q == b'"' {
                self.i += 2;
                continue;
            }
            if c == b'\n' && !triple {
                break;
            }
            if c == q {
                if !triple {
                    self.i += 1;
                    return Ok(start..self.i);
                }
                if self.s[self.i..].starts_with(&[q, q, q]) {
                    // Up to two extra quotes may end a multi-line string's content.
                    let mut end = self.i + 3;
                    while end < self.s.len() && self.s[end] == q && end < self.i + 5 {
                        end += 1;
                    }
                    self.i = end;
                    return Ok(start..end);
                }
            }
            self.i += 1;
        }
        self.i = start;
        self.err("unterminated string")
    }
}

/// Content of a one-line string (escapes decoded for basic strings).
fn string_value(lit: &str) -> String {
    if lit.len() >= 6 && (lit.starts_with("\"\"\"") || lit.starts_with("'''")) {
        return lit[3..lit.len() - 3].to_string();
    }
    let inner = &lit[1..lit.len().saturating_sub(1).max(1)];
    if lit.starts_with('\'') {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(c) => out.push(c),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propose::edit::{tune, Format};

    const PHYSICS: &str = r#"# Physics settings
title = "mind physics"  # key = 1 in a comment
intention_weight = 0.25

[scoring]
semantic = 0.6
"novelty.bonus" = 0.1
polarity = { supports = 0.2, contradicts = -0.15 }
thresholds = [
  0.2,  # low
  0.5,
  0.8,
]
notes = """
semantic = 0.9
"""

[scoring.decay]
fast = 0.9
slow.rate = 0.99

[[steps]]
name = "seek"
timeout = 30

[[steps]]
name = "merge"
timeout = 60
[steps.limits]
depth = 8

[meta]
created = 1979-05-27 07:32:00
max_steps = 10_000
"#;

    fn val(name: &str) -> Value {
        find(PHYSICS, name)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"))
            .value
    }

    #[test]
    fn finds_tables_and_keys() {
        assert_eq!(val("intention_weight"), Value::Float(0.25));
        assert_eq!(val("scoring.semantic"), Value::Float(0.6));
        assert_eq!(val("scoring.\"novelty.bonus\""), Value::Float(0.1));
        assert_eq!(val("scoring.polarity.contradicts"), Value::Float(-0.15));
        assert_eq!(val("scoring.thresholds[1]"), Value::Float(0.5));
        assert_eq!(val("scoring.decay.fast"), Value::Float(0.9));
        assert_eq!(val("scoring.decay.slow.rate"), Value::Float(0.99));
        assert_eq!(val("steps[0].timeout"), Value::Int(30));
        assert_eq!(val("steps[1].timeout"), Value::Int(60));
        assert_eq!(val("steps[1].limits.depth"), Value::Int(8));
        assert_eq!(val("meta.max_steps"), Value::Int(10_000));
        assert_eq!(find(PHYSICS, "steps[1].timeout").unwrap().line, 28);
    }

    #[test]
    fn tunes_keep_every_other_byte() {
        for (name, new, expect) in [
            ("scoring.semantic", 0.65, "0.65"),
            ("scoring.polarity.supports", 0.25, "0.25"),
            ("scoring.thresholds[0]", 0.3, "0.3"),
            ("steps[1].timeout", 90.0, "90"),
            ("meta.max_steps", 12_500.0, "12_500"),
        ] {
            let lit = find(PHYSICS, name).unwrap();
            let (out, _) = tune(Format::Toml, PHYSICS, name, new).unwrap();
            let expected = format!(
                "{}{expect}{}",
                &PHYSICS[..lit.span.start],
                &PHYSICS[lit.span.end..]
            );
            assert_eq!(out, expected, "{name}");
        }
    }

    #[test]
    fn errors_say_where() {
        let e = find(PHYSICS, "scoring.missing").unwrap_err().to_string();
        assert!(
            e.contains("no `missing` in table [scoring] (header at line 5)"),
            "{e}"
        );
        let e = find(PHYSICS, "nothing.here").unwrap_err().to_string();
        assert!(
            e.contains("no `nothing` in the top level (34 lines)"),
            "{e}"
        );
        let e = find(PHYSICS, "scoring.polarity").unwrap_err().to_string();
        assert!(e.contains("not a scalar"), "{e}");
        assert!(find("a = 1\na = 2\n", "a")
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
        assert!(find("a = \"x\n", "a").is_err());
        assert!(find("a = [[[[", "a").is_err());
        assert!(find(&format!("a = {}", "[".repeat(10_000)), "a").is_err());
    }
}
