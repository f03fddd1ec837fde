//! Locates module-level constants in Python source: `NAME = 0.25`, `NAME: float = 0.25`
//! and entries of module-level dict literals (`LINK_FACTORS['supports']`,
//! `STATE_MULTIPLIER[SubEntityState.SEEKING]`). A small tokenizer keeps comments,
//! strings, docstrings and indented code from ever matching.

use super::render::number_value;
use super::{Literal, Value};
use anyhow::{bail, Context, Result};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Name,
    Number,
    Str,
    Op,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    span: Range<usize>,
}

/// One logical line: tokens up to a newline outside brackets.
struct Line {
    indent: usize,
    toks: Vec<Tok>,
}

/// A key inside `[...]` of the requested name.
#[derive(Debug, PartialEq)]
enum Key {
    Str(String),
    Expr(String),
}

pub fn find(src: &str, name: &str) -> Result<Literal> {
    let (base, keys) = parse_name(name)?;
    let lines = tokenize(src)?;
    let text = |t: &Tok| &src[t.span.clone()];
    let mut found = Vec::new();
    let mut indented = Vec::new();
    for line in &lines {
        let toks = &line.toks;
        if toks.first().map(text) != Some(base.as_str()) || toks[0].kind != Kind::Name {
            continue;
        }
        let Some(value_at) = assignment_value(src, toks) else {
            continue;
        };
        if line.indent > 0 {
            indented.push(super::line_at(src, toks[0].span.start));
        } else {
            found.push((toks, value_at));
        }
    }
    let total = src.lines().count();
    let (toks, value_at) = match found.as_slice() {
        [] => {
            let mut msg = format!("no module-level assignment to `{base}` in {total} lines");
            if !indented.is_empty() {
                msg.push_str(&format!(
                    " (indented assignments ignored at lines {})",
                    join(&indented)
                ));
            }
            bail!(msg);
        }
        [one] => *one,
        many => {
            let at: Vec<usize> = many
                .iter()
                .map(|(t, _)| super::line_at(src, t[0].span.start))
                .collect();
            bail!(
                "`{base}` is assigned at module level more than once (lines {}): ambiguous",
                join(&at)
            );
        }
    };
    let mut value = &toks[value_at..];
    let mut path = base.clone();
    for key in &keys {
        value = dict_entry(src, value, key, &path)?;
        path.push_str(&format!("[{}]", show_key(key)));
    }
    literal(src, value, &path)
}

fn join(lines: &[usize]) -> String {
    lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_key(k: &Key) -> String {
    match k {
        Key::Str(s) => format!("'{s}'"),
        Key::Expr(e) => e.clone(),
    }
}

/// `NAME`, `NAME['key']`, `NAME["key"]`, `NAME[Enum.MEMBER]`, `NAME[1]`, chained.
fn parse_name(name: &str) -> Result<(String, Vec<Key>)> {
    let name = name.trim();
    let base_end = name.find('[').unwrap_or(name.len());
    let base = name[..base_end].trim();
    if base.is_empty() || !base.chars().all(|c| c.is_alphanumeric() || c == '_') {
        bail!("`{name}` is not a Python constant name (expected NAME or NAME[key])");
    }
    let mut keys = Vec::new();
    let mut rest = &name[base_end..];
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix('[')
            .with_context(|| format!("expected `[` in `{name}` at `{rest}`"))?
            .trim_start();
        if let Some(q) = inner.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let close = inner[1..]
                .find(q)
                .with_context(|| format!("unclosed quote in `{name}`"))?;
            keys.push(Key::Str(inner[1..1 + close].to_string()));
            rest = inner[close + 2..]
                .trim_start()
                .strip_prefix(']')
                .with_context(|| format!("expected `]` in `{name}`"))?;
        } else {
            let close = inner
                .find(']')
                .with_context(|| format!("unclosed `[` in `{name}`"))?;
            let expr: String = inner[..close].split_whitespace().collect();
            if expr.is_empty() {
                bail!("empty key in `{name}`");
            }
            keys.push(Key::Expr(expr));
            rest = &inner[close + 1..];
        }
    }
    Ok((base.to_string(), keys))
}

/// Index of the first value token if `toks` is `NAME = ...` or `NAME: ann = ...`.
fn assignment_value(src: &str, toks: &[Tok]) -> Option<usize> {
    let op = |t: &Tok, s: &str| t.kind == Kind::Op && &src[t.span.clone()] == s;
    let second = toks.get(1)?;
    if op(second, "=") {
        return Some(2);
    }
    if !op(second, ":") {
        return None;
    }
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(2) {
        match &src[t.span.clone()] {
            "(" | "[" | "{" if t.kind == Kind::Op => depth += 1,
            ")" | "]" | "}" if t.kind == Kind::Op => depth -= 1,
            "=" if t.kind == Kind::Op && depth == 0 => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The value tokens of `key` inside the dict literal `toks` (`{ ... }`).
fn dict_entry<'t>(src: &str, toks: &'t [Tok], key: &Key, path: &str) -> Result<&'t [Tok]> {
    let text = |t: &Tok| &src[t.span.clone()];
    let line = toks.first().map(|t| super::line_at(src, t.span.start));
    let is_dict = toks.first().map(text) == Some("{")
        && toks.last().map(text) == Some("}")
        && toks[0].kind == Kind::Op;
    if !is_dict {
        let shown: Vec<&str> = toks.iter().map(text).collect();
        bail!(
            "`{path}` (line {}) is not a dict literal: `{}`",
            line.unwrap_or(0),
            shown.join(" ")
        );
    }
    let body = &toks[1..toks.len() - 1];
    let mut hits = Vec::new();
    let mut depth = 0i32;
    let mut entry_start = 0;
    let mut colon = None;
    let mut keys_seen = 0;
    for i in 0..=body.len() {
        let t = body.get(i);
        let s = t.map(text);
        let is_op = t.map(|t| t.kind == Kind::Op).unwrap_or(false);
        if t.is_none() || (depth == 0 && is_op && s == Some(",")) {
            if let Some(c) = colon {
                keys_seen += 1;
                if key_matches(src, &body[entry_start..c], key) {
                    hits.push(&body[c + 1..i]);
                }
            }
            entry_start = i + 1;
            colon = None;
            continue;
        }
        match s {
            Some("(" | "[" | "{") if is_op => depth += 1,
            Some(")" | "]" | "}") if is_op => depth -= 1,
            Some(":") if is_op && depth == 0 && colon.is_none() => colon = Some(i),
            _ => {}
        }
    }
    let end_line = toks.last().map(|t| super::line_at(src, t.span.start));
    match hits.as_slice() {
        [] => bail!(
            "key {} not found in dict `{path}` (lines {}-{}, {keys_seen} keys)",
            show_key(key),
            line.unwrap_or(0),
            end_line.unwrap_or(0)
        ),
        [one] => Ok(one),
        _ => bail!(
            "key {} appears {} times in dict `{path}` (line {}): ambiguous",
            show_key(key),
            hits.len(),
            line.unwrap_or(0)
        ),
    }
}

fn key_matches(src: &str, toks: &[Tok], key: &Key) -> bool {
    match key {
        Key::Str(want) => match toks {
            [t] if t.kind == Kind::Str => {
                string_value(&src[t.span.clone()]).as_deref() == Some(want)
            }
            _ => false,
        },
        Key::Expr(want) => {
            toks.iter().all(|t| t.kind != Kind::Str)
                && toks
                    .iter()
                    .map(|t| &src[t.span.clone()])
                    .collect::<String>()
                    == *want
        }
    }
}

/// A single literal: number (optionally signed), plain string, True/False.
fn literal(src: &str, toks: &[Tok], path: &str) -> Result<Literal> {
    let text = |t: &Tok| &src[t.span.clone()];
    let line = toks
        .first()
        .map(|t| super::line_at(src, t.span.start))
        .unwrap_or(0);
    let not_literal = || {
        let shown: Vec<&str> = toks.iter().map(text).collect();
        anyhow::anyhow!(
            "`{path}` (line {line}) is not a literal but an expression: `{}`; refusing to edit it",
            shown.join(" ")
        )
    };
    let (span, value) = match toks {
        [t] if t.kind == Kind::Number => (t.span.clone(), number_value(text(t))),
        [s, t] if s.kind == Kind::Op && matches!(text(s), "-" | "+") && t.kind == Kind::Number => {
            let span = s.span.start..t.span.end;
            (span.clone(), number_value(&src[span]))
        }
        [t] if t.kind == Kind::Str => (t.span.clone(), string_value(text(t)).map(Value::Str)),
        [t] if t.kind == Kind::Name && matches!(text(t), "True" | "False") => {
            (t.span.clone(), Some(Value::Bool(text(t) == "True")))
        }
        _ => return Err(not_literal()),
    };
    let value = value.ok_or_else(not_literal)?;
    Ok(Literal::at(src, span, value))
}

/// The content of a one-line, non-f, non-bytes string literal.
fn string_value(lit: &str) -> Option<String> {
    let q = lit.find(['\'', '"'])?;
    let prefix = lit[..q].to_ascii_lowercase();
    if prefix.contains('f') || prefix.contains('b') {
        return None;
    }
    let quote = &lit[q..q + 1];
    let inner = lit[q + 1..].strip_suffix(quote)?;
    if inner.starts_with(quote) {
        return None; // triple-quoted
    }
    if prefix.contains('r') {
        return Some(inner.to_string());
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
            Some(c @ ('\\' | '\'' | '"')) => out.push(c),
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push('\\'),
        }
    }
    Some(out)
}

const OPS3: [&str; 5] = ["**=", "//=", ">>=", "<<=", "..."];
const OPS2: [&str; 19] = [
    "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":=", "->", "**",
    "//", "<<", ">>",
];

/// Splits Python source into logical lines of tokens, dropping comments.
fn tokenize(src: &str) -> Result<Vec<Line>> {
    let b = src.as_bytes();
    let mut lines = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut indent = 0;
    let mut line_start = 0;
    let mut depth = 0usize;
    let mut i = 0;
    let push = |cur: &mut Vec<Tok>, indent: &mut usize, line_start: usize, tok: Tok| {
        if cur.is_empty() {
            *indent = tok.span.start - line_start;
        }
        cur.push(tok);
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                if depth == 0 && !cur.is_empty() {
                    lines.push(Line {
                        indent,
                        toks: std::mem::take(&mut cur),
                    });
                }
                i += 1;
                line_start = i;
            }
            b' ' | b'\t' | b'\r' | 0x0c => i += 1,
            b'#' => i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p),
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                i += 2;
                line_start = i;
            }
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => {
                i += 3;
                line_start = i;
            }
            b'\'' | b'"' => {
                let end = string_end(b, i, i)?;
                push(
                    &mut cur,
                    &mut indent,
                    line_start,
                    Tok {
                        kind: Kind::Str,
                        span: i..end,
                    },
                );
                i = end;
            }
            b'0'..=b'9' => {
                let end = number_end(b, i);
                push(
                    &mut cur,
                    &mut indent,
                    line_start,
                    Tok {
                        kind: Kind::Number,
                        span: i..end,
                    },
                );
                i = end;
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let end = number_end(b, i);
                push(
                    &mut cur,
                    &mut indent,
                    line_start,
                    Tok {
                        kind: Kind::Number,
                        span: i..end,
                    },
                );
                i = end;
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let mut end = i;
                while end < b.len()
                    && (b[end] == b'_' || b[end].is_ascii_alphanumeric() || b[end] >= 0x80)
                {
                    end += 1;
                }
                let word = &src[i..end];
                let is_prefix = word.len() <= 2
                    && word.bytes().all(|c| b"rRbBuUfF".contains(&c))
                    && matches!(b.get(end), Some(b'\'' | b'"'));
                if is_prefix {
                    let send = string_end(b, end, i)?;
                    push(
                        &mut cur,
                        &mut indent,
                        line_start,
                        Tok {
                            kind: Kind::Str,
                            span: i..send,
                        },
                    );
                    i = send;
                } else {
                    push(
                        &mut cur,
                        &mut indent,
                        line_start,
                        Tok {
                            kind: Kind::Name,
                            span: i..end,
                        },
                    );
                    i = end;
                }
            }
            _ => {
                let len = if OPS3.iter().any(|o| b[i..].starts_with(o.as_bytes())) {
                    3
                } else if OPS2.iter().any(|o| b[i..].starts_with(o.as_bytes())) {
                    2
                } else {
                    // Whole UTF-8 characters only, so spans stay on char boundaries.
                    src[i..].chars().next().map_or(1, char::len_utf8)
                };
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                push(
                    &mut cur,
                    &mut indent,
                    line_start,
                    Tok {
                        kind: Kind::Op,
                        span: i..i + len,
                    },
                );
                i += len;
            }
        }
    }
    if !cur.is_empty() {
        lines.push(Line { indent, toks: cur });
    }
    Ok(lines)
}

/// End of the string literal whose opening quote is at `q` (token starts at `start`).
fn string_end(b: &[u8], q: usize, start: usize) -> Result<usize> {
    let quote = b[q];
    let triple = b.get(q + 1) == Some(&quote) && b.get(q + 2) == Some(&quote);
    let mut i = if triple { q + 3 } else { q + 1 };
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == quote => {
                if !triple {
                    return Ok(i + 1);
                }
                if b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote) {
                    return Ok(i + 3);
                }
                i += 1;
            }
            b'\n' if !triple => break,
            _ => i += 1,
        }
    }
    let line = 1 + b[..start].iter().filter(|&&c| c == b'\n').count();
    bail!("unterminated string starting at line {line}")
}

fn number_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    let hex = b.get(start) == Some(&b'0') && matches!(b.get(start + 1), Some(b'x' | b'X'));
    while i < b.len() {
        let c = b[i];
        let sign_after_exp =
            matches!(c, b'+' | b'-') && !hex && i > start && matches!(b[i - 1], b'e' | b'E');
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || sign_after_exp {
            i += 1;
        } else {
            break;
        }
    }
    i
}

#[cfg(test)]
#[path = "python_tests.rs"]
mod tests;
