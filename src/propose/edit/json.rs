//! Locates a number, string or boolean in JSON text by path (`a.b[0].c`) without
//! reformatting anything: a small span-keeping parser, depth-limited so hostile input
//! cannot exhaust the stack.

use super::render::number_value;
use super::{line_at, parse_path, show_path, Literal, Seg, Value};
use anyhow::{bail, Result};
use std::ops::Range;

const MAX_DEPTH: usize = 256;

enum Node {
    Scalar(Range<usize>, Value),
    Null(Range<usize>),
    Array(Vec<Node>, usize),
    Object(Vec<(String, Node)>, usize),
}

pub fn find(src: &str, name: &str) -> Result<Literal> {
    let path = parse_path(name)?;
    let mut p = Parser {
        s: src.as_bytes(),
        src,
        i: 0,
    };
    p.ws();
    let root = p.value(0)?;
    p.ws();
    if p.i < src.len() {
        bail!(
            "trailing characters after the JSON value at line {}",
            line_at(src, p.i)
        );
    }
    let mut node = &root;
    for (n, seg) in path.iter().enumerate() {
        let here = show_path(&path[..n]);
        node = match (node, seg) {
            (Node::Object(members, at), Seg::Key(k)) => {
                let hits: Vec<&Node> = members
                    .iter()
                    .filter(|(mk, _)| mk == k)
                    .map(|(_, v)| v)
                    .collect();
                match hits.as_slice() {
                    [one] => one,
                    [] => bail!(
                        "key {seg} not found in {here} (object at line {})",
                        line_at(src, *at)
                    ),
                    _ => bail!(
                        "key {seg} appears {} times in {here} (line {}): ambiguous",
                        hits.len(),
                        line_at(src, *at)
                    ),
                }
            }
            (Node::Array(items, at), Seg::Index(i)) => items.get(*i).ok_or_else(|| {
                anyhow::anyhow!(
                    "index [{i}] out of range in {here} (array of {} at line {})",
                    items.len(),
                    line_at(src, *at)
                )
            })?,
            (other, _) => bail!(
                "{here} (line {}) is {}, so {seg} cannot be looked up in it",
                line_at(src, other.start()),
                other.kind()
            ),
        };
    }
    match node {
        Node::Scalar(span, v) => Ok(Literal::at(src, span.clone(), v.clone())),
        other => bail!(
            "{} (line {}) is {}, not a number, string or boolean",
            show_path(&path),
            line_at(src, other.start()),
            other.kind()
        ),
    }
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Node::Scalar(s, _) | Node::Null(s) => s.start,
            Node::Array(_, a) | Node::Object(_, a) => *a,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Node::Scalar(..) => "a scalar",
            Node::Null(_) => "null",
            Node::Array(..) => "an array",
            Node::Object(..) => "an object",
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T> {
        bail!("invalid JSON at line {}: {what}", line_at(self.src, self.i))
    }

    fn value(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return self.err("nested deeper than 256 levels");
        }
        let start = self.i;
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Node::Object(members, start));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return self.err("expected a string key");
                    }
                    let kspan = self.string()?;
                    let key = decode(&self.src[kspan.start + 1..kspan.end - 1]);
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return self.err("expected `:`");
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Node::Object(members, start));
                        }
                        _ => return self.err("expected `,` or `}`"),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Node::Array(items, start));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Node::Array(items, start));
                        }
                        _ => return self.err("expected `,` or `]`"),
                    }
                }
            }
            Some(b'"') => {
                let span = self.string()?;
                let v = decode(&self.src[span.start + 1..span.end - 1]);
                Ok(Node::Scalar(span, Value::Str(v)))
            }
            Some(b'-' | b'0'..=b'9') => {
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let text = &self.src[start..self.i];
                match number_value(text) {
                    Some(v) => Ok(Node::Scalar(start..self.i, v)),
                    // Integers beyond i64 are still valid JSON numbers: read them as floats.
                    None => match text.parse::<f64>() {
                        Ok(f) if f.is_finite() => Ok(Node::Scalar(start..self.i, Value::Float(f))),
                        _ => self.err(&format!("`{text}` is not a number")),
                    },
                }
            }
            _ => {
                for (word, v) in [("true", Some(true)), ("false", Some(false)), ("null", None)] {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        let span = start..self.i;
                        return Ok(match v {
                            Some(b) => Node::Scalar(span, Value::Bool(b)),
                            None => Node::Null(span),
                        });
                    }
                }
                self.err("expected a value")
            }
        }
    }

    /// Span of the string starting at the current `"`, quotes included.
    fn string(&mut self) -> Result<Range<usize>> {
        let start = self.i;
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Ok(start..self.i);
                }
                b'\n' => break,
                _ => self.i += 1,
            }
        }
        self.i = start;
        self.err("unterminated string")
    }
}

/// Decodes JSON string escapes (invalid ones are kept as written).
fn decode(inner: &str) -> String {
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
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&format!("\\u{hex}")),
                }
            }
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::propose::edit::{replace, tune, Format};

    const PARAMS: &str = r#"{
  "version": 3,
  "explore": {"timeout": 30, "weights": [0.25, 0.5, 1e-3], "label": "fast \"one\""},
  "steps": [
    {"name": "seek", "depth": 4, "enabled": true},
    {"name": "merge", "depth": 6, "threshold": -0.75, "extra": null}
  ],
  "note": "explore.timeout: 99"
}
"#;

    fn check_tune(name: &str, new: f64, expect: &str) {
        let lit = find(PARAMS, name).unwrap();
        let (out, _) = tune(Format::Json, PARAMS, name, new).unwrap();
        assert_eq!(&out[..lit.span.start], &PARAMS[..lit.span.start]);
        assert_eq!(&out[lit.span.start..lit.span.start + expect.len()], expect);
        assert_eq!(
            &out[lit.span.start + expect.len()..],
            &PARAMS[lit.span.end..]
        );
        serde_json::from_str::<serde_json::Value>(&out).expect("still valid JSON");
    }

    #[test]
    fn finds_by_path() {
        assert_eq!(find(PARAMS, "version").unwrap().value, Value::Int(3));
        assert_eq!(
            find(PARAMS, "explore.timeout").unwrap().value,
            Value::Int(30)
        );
        assert_eq!(
            find(PARAMS, "explore.weights[2]").unwrap().value,
            Value::Float(0.001)
        );
        assert_eq!(
            find(PARAMS, "steps[1].threshold").unwrap().value,
            Value::Float(-0.75)
        );
        assert_eq!(
            find(PARAMS, "steps[0].enabled").unwrap().value,
            Value::Bool(true)
        );
        assert_eq!(
            find(PARAMS, "explore.label").unwrap().value,
            Value::Str("fast \"one\"".into())
        );
        assert_eq!(find(PARAMS, "steps[1].depth").unwrap().line, 6);
    }

    #[test]
    fn tunes_in_place() {
        check_tune("explore.timeout", 45.0, "45");
        check_tune("explore.weights[1]", 0.55, "0.55");
        check_tune("explore.weights[2]", 0.002, "2.0e-3");
        check_tune("steps[1].threshold", -0.7, "-0.70");
        let lit = find(PARAMS, "explore.label").unwrap();
        let out = replace(PARAMS, &lit, &Value::Str("slow".into())).unwrap();
        assert!(out.contains(r#""label": "slow"}"#));
    }

    #[test]
    fn errors_say_where() {
        let e = find(PARAMS, "explore.missing").unwrap_err().to_string();
        assert!(
            e.contains("`missing` not found in `explore` (object at line 3)"),
            "{e}"
        );
        let e = find(PARAMS, "steps[5].depth").unwrap_err().to_string();
        assert!(e.contains("out of range") && e.contains("line 4"), "{e}");
        let e = find(PARAMS, "steps[1].extra").unwrap_err().to_string();
        assert!(e.contains("null"), "{e}");
        let e = find(PARAMS, "explore").unwrap_err().to_string();
        assert!(e.contains("an object"), "{e}");
        assert!(find("{\"a\": 1, \"a\": 2}", "a")
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
        assert!(find("{\"a\": 1", "a").is_err());
        assert!(find(&"[".repeat(100_000), "a").is_err());
        assert!(find("{\"a\": 1} x", "a").is_err());
    }
}
