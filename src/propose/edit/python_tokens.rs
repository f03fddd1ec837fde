//! The Python tokenizer behind the literal editor and the formula editor: logical lines
//! of tokens (names, numbers, strings, operators) with comments dropped, so that text in
//! comments, strings and docstrings can never be mistaken for code.

use anyhow::{bail, Result};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Name,
    Number,
    Str,
    Op,
}

#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub kind: Kind,
    pub span: Range<usize>,
}

/// One logical line: tokens up to a newline outside brackets.
pub(crate) struct Line {
    /// Bytes of indentation before the first token.
    pub indent: usize,
    pub toks: Vec<Tok>,
}

const OPS3: [&str; 5] = ["**=", "//=", ">>=", "<<=", "..."];
const OPS2: [&str; 19] = [
    "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":=", "->", "**",
    "//", "<<", ">>",
];

/// Splits Python source into logical lines of tokens, dropping comments.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Line>> {
    let b = src.as_bytes();
    let mut lines = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut indent = 0;
    let mut line_start = 0;
    let mut depth = 0usize;
    let mut i = 0;
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
                push(&mut cur, &mut indent, line_start, Kind::Str, i..end);
                i = end;
            }
            c if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let end = number_end(b, i);
                push(&mut cur, &mut indent, line_start, Kind::Number, i..end);
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
                    push(&mut cur, &mut indent, line_start, Kind::Str, i..send);
                    i = send;
                } else {
                    push(&mut cur, &mut indent, line_start, Kind::Name, i..end);
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
                push(&mut cur, &mut indent, line_start, Kind::Op, i..i + len);
                i += len;
            }
        }
    }
    if !cur.is_empty() {
        lines.push(Line { indent, toks: cur });
    }
    Ok(lines)
}

/// Adds a token to the logical line; the first token sets the line's indentation.
fn push(cur: &mut Vec<Tok>, indent: &mut usize, line_start: usize, kind: Kind, span: Range<usize>) {
    if cur.is_empty() {
        *indent = span.start - line_start;
    }
    cur.push(Tok { kind, span });
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
