//! Locates a scalar in a YAML file by dotted path (`steps.explore.timeout`,
//! `a.list[2].b`) by reading the block structure line by line, so comments, quoting
//! and layout stay exactly as written. One-line flow collections (`{a: 1}`, `[1, 2]`)
//! are followed too; anchors, tags and block scalars are refused rather than guessed.

use super::render::number_value;
use super::{line_at, parse_path, show_path, Literal, Seg, Value};
use anyhow::{bail, Result};
use std::ops::Range;

/// One line with content: where its content starts, its column, where it ends.
#[derive(Debug, Clone, Copy)]
struct VLine {
    content: usize,
    indent: usize,
    end: usize,
}

/// Where a path step led: into a nested block, or to a value on the line itself.
enum Next {
    Block(Vec<VLine>),
    Inline {
        at: usize,
        end: usize,
        indent: usize,
        following: Vec<VLine>,
    },
}

pub fn find(src: &str, name: &str) -> Result<Literal> {
    let path = parse_path(name)?;
    let mut cur = Next::Block(content_lines(src));
    for (n, seg) in path.iter().enumerate() {
        let here = show_path(&path[..n]);
        cur = match cur {
            Next::Block(region) if region.is_empty() => {
                bail!("{here} is empty or null, so {seg} cannot be found in it")
            }
            Next::Block(region) => match seg {
                Seg::Key(k) => lookup_key(src, &region, k, &here)?,
                Seg::Index(i) => lookup_index(src, &region, *i, &here)?,
            },
            Next::Inline { at, end, .. } => {
                let text = until_comment(&src[at..end]);
                if text.starts_with(['{', '[']) {
                    return flow_find(src, at..at + text.len(), &path[n..], &path);
                }
                bail!(
                    "{here} (line {}) is a scalar, so {seg} cannot be found in it",
                    line_at(src, at)
                );
            }
        };
    }
    match cur {
        Next::Block(region) => bail!(
            "{} (line {}) has no scalar value on its line",
            show_path(&path),
            region.first().map_or(0, |l| line_at(src, l.content))
        ),
        Next::Inline {
            at,
            end,
            indent,
            following,
        } => {
            let text = until_comment(&src[at..end]);
            let continues = following.first().is_some_and(|l| l.indent > indent);
            if continues && !text.starts_with(['"', '\'', '{', '[', '|', '>']) {
                bail!(
                    "{} (line {}) continues on the next line: multi-line values are not edited",
                    show_path(&path),
                    line_at(src, at)
                );
            }
            scalar(src, at, end, &path)
        }
    }
}

/// All lines with content (not blank, not comment-only, not document markers).
fn content_lines(src: &str) -> Vec<VLine> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in src.split_inclusive('\n') {
        let end = start + raw.trim_end_matches(['\n', '\r']).len();
        let line = &src[start..end];
        let body = line.trim_start_matches(' ');
        let content = end - body.len();
        let t = body.trim();
        let marker = content == start
            && (t == "---" || t == "..." || t.starts_with("--- ") || t.starts_with('%'));
        if !t.is_empty() && !t.starts_with('#') && !marker {
            out.push(VLine {
                content,
                indent: content - start,
                end,
            });
        }
        start += raw.len();
    }
    out
}

/// The lines after `at` that belong to the value of a node at column `indent` (a
/// `- ` list may sit at the key's own indent when it starts right after the key).
fn children(
    src: &str,
    region: &[VLine],
    at: usize,
    indent: usize,
    allow_same_dash: bool,
) -> Vec<VLine> {
    let rest = &region[at + 1..];
    let dash = |l: &VLine| is_dash(&src[l.content..l.end]);
    let same_dash = allow_same_dash && rest.first().is_some_and(|l| l.indent == indent && dash(l));
    rest.iter()
        .take_while(|l| l.indent > indent || (same_dash && l.indent == indent && dash(l)))
        .copied()
        .collect()
}

fn is_dash(text: &str) -> bool {
    text == "-" || text.starts_with("- ") || text.starts_with("-\t")
}

/// Finds `key` among the mapping entries of `region`; returns (line index in region,
/// byte offset of the value, the value's nested lines).
fn lookup_key(src: &str, region: &[VLine], key: &str, here: &str) -> Result<Next> {
    let indent = region[0].indent;
    let mut hits = Vec::new();
    for (i, l) in region.iter().enumerate() {
        if l.indent != indent {
            continue;
        }
        let text = &src[l.content..l.end];
        if is_dash(text) && i > 0 {
            continue; // a `- ` list at the key's indent belongs to the key above
        }
        if is_dash(text) {
            bail!(
                "{here} (line {}) is a list, so key `{key}` cannot be found in it (use [index])",
                line_at(src, l.content)
            );
        }
        if let Some((k, after)) = parse_key(text) {
            if k == key {
                hits.push((i, l.content + after));
            }
        }
    }
    let first_line = line_at(src, region[0].content);
    let last_line = line_at(src, region[region.len() - 1].content);
    match hits.as_slice() {
        [] => bail!(
            "key `{key}` not found in {here} (mapping at lines {first_line}-{last_line}, indent {indent})"
        ),
        [(i, after)] => {
            let l = region[*i];
            let at = skip_spaces(src, *after, l.end);
            let following = children(src, region, *i, indent, true);
            if until_comment(&src[at..l.end]).is_empty() {
                Ok(Next::Block(following))
            } else {
                Ok(Next::Inline { at, end: l.end, indent, following })
            }
        }
        many => bail!(
            "key `{key}` appears {} times in {here} (lines {}): ambiguous",
            many.len(),
            many.iter()
                .map(|(i, _)| line_at(src, region[*i].content).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Finds item `index` of the block sequence `region`.
fn lookup_index(src: &str, region: &[VLine], index: usize, here: &str) -> Result<Next> {
    let indent = region[0].indent;
    let mut items = Vec::new();
    for (i, l) in region.iter().enumerate() {
        if l.indent != indent {
            continue;
        }
        if !is_dash(&src[l.content..l.end]) {
            bail!(
                "{here} (line {}) is not a list, so [{index}] cannot be found in it",
                line_at(src, l.content)
            );
        }
        items.push(i);
    }
    let Some(&i) = items.get(index) else {
        bail!(
            "index [{index}] out of range in {here} (list of {} at line {})",
            items.len(),
            line_at(src, region[0].content)
        );
    };
    let l = region[i];
    let at = skip_spaces(src, l.content + 1, l.end);
    let nested = children(src, region, i, indent, false);
    let text = until_comment(&src[at..l.end]);
    if text.is_empty() {
        return Ok(Next::Block(nested));
    }
    if text.starts_with(['{', '[', '"', '\'']) || parse_key(text).is_none() {
        return Ok(Next::Inline {
            at,
            end: l.end,
            indent,
            following: nested,
        });
    }
    // `- key: value` starts a mapping whose first line begins after the dash.
    let line_start = l.content - l.indent;
    let mut mapping = vec![VLine {
        content: at,
        indent: at - line_start,
        end: l.end,
    }];
    mapping.extend(nested);
    Ok(Next::Block(mapping))
}

fn skip_spaces(src: &str, mut i: usize, end: usize) -> usize {
    let b = src.as_bytes();
    while i < end && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// `key: rest` → (key, offset just after the colon). Quoted keys are decoded.
fn parse_key(text: &str) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let (key, after_key) = match b.first()? {
        b'"' | b'\'' => {
            let (end, value) = quoted_end(text, 0)?;
            (value, end)
        }
        b'?' | b'-' if b.len() == 1 || b[1] == b' ' => return None,
        _ => {
            let mut i = 0;
            loop {
                if i >= b.len() {
                    return None;
                }
                if b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t') {
                    break;
                }
                if b[i] == b'#' && i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t') {
                    return None;
                }
                i += 1;
            }
            (text[..i].trim_end().to_string(), i)
        }
    };
    let rest = &text[after_key..];
    let colon = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if rest.as_bytes().get(colon) != Some(&b':') {
        return None;
    }
    let after = after_key + colon + 1;
    if after < b.len() && b[after] != b' ' && b[after] != b'\t' {
        return None;
    }
    Some((key, after))
}

/// End (exclusive) and decoded value of the quoted scalar starting at `start`.
fn quoted_end(text: &str, start: usize) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let q = b[start];
    let mut i = start + 1;
    let mut out = String::new();
    while i < b.len() {
        let c = b[i];
        if q == b'\'' && c == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            return Some((i + 1, out));
        }
        if q == b'"' && c == b'"' {
            return Some((i + 1, out));
        }
        if q == b'"' && c == b'\\' {
            let e = *b.get(i + 1)?;
            match e {
                b'n' => out.push('\n'),
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'0' => out.push('\0'),
                b'u' | b'x' => {
                    let n = if e == b'u' { 4 } else { 2 };
                    let hex = text.get(i + 2..i + 2 + n)?;
                    out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                    i += n;
                }
                b'"' | b'\\' | b'/' | b' ' => out.push(e as char),
                _ => {
                    // Unknown escape: keep it whole (it may be a multi-byte character).
                    let ch = text[i + 1..].chars().next()?;
                    out.push('\\');
                    out.push(ch);
                    i += 1 + ch.len_utf8();
                    continue;
                }
            }
            i += 2;
            continue;
        }
        let ch = text[i..].chars().next()?;
        out.push(ch);
        i += ch.len_utf8();
    }
    None
}

/// The value text on a line, before a ` #` comment, trimmed.
fn until_comment(text: &str) -> &str {
    let b = text.as_bytes();
    let mut i = 0;
    let mut quote = None;
    while i < b.len() {
        match (quote, b[i]) {
            (None, b'"' | b'\'')
                if i == 0 || matches!(b[i - 1], b' ' | b'[' | b'{' | b',' | b':') =>
            {
                quote = Some(b[i])
            }
            (Some(q), c) if c == q => {
                if q == b'"' && i > 0 && b[i - 1] == b'\\' {
                } else {
                    quote = None;
                }
            }
            (None, b'#') if i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t' => {
                return text[..i].trim_end()
            }
            _ => {}
        }
        i += 1;
    }
    text.trim_end()
}

/// The scalar at `at` (on a line ending at `end`).
fn scalar(src: &str, at: usize, end: usize, path: &[Seg]) -> Result<Literal> {
    let text = until_comment(&src[at..end]);
    let line = line_at(src, at);
    let shown = show_path(path);
    match text.as_bytes().first() {
        Some(b'"' | b'\'') => {
            let (qend, value) = quoted_end(text, 0).ok_or_else(|| {
                anyhow::anyhow!("{shown} (line {line}): quoted value does not close on its line")
            })?;
            if !text[qend..].trim().is_empty() {
                bail!("{shown} (line {line}): unexpected text after the quoted value");
            }
            Ok(Literal::at(src, at..at + qend, Value::Str(value)))
        }
        Some(b'|' | b'>') => bail!("{shown} (line {line}) is a block scalar: not edited"),
        Some(b'&' | b'*' | b'!') => {
            bail!("{shown} (line {line}) uses an anchor, alias or tag (`{text}`): not edited")
        }
        _ => {
            let value = plain_value(text)
                .ok_or_else(|| anyhow::anyhow!("{shown} (line {line}) is null"))?;
            Ok(Literal::at(src, at..at + text.len(), value))
        }
    }
}

fn plain_value(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => None,
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => Some(number_value(text).unwrap_or_else(|| Value::Str(text.to_string()))),
    }
}

/// Follows `path` inside a one-line flow collection spanning `range`.
fn flow_find(src: &str, range: Range<usize>, path: &[Seg], full: &[Seg]) -> Result<Literal> {
    let mut p = Flow {
        src,
        i: range.start,
        end: range.end,
    };
    let node = p.node(0)?;
    let mut node = &node;
    for seg in path {
        node = match (node, seg) {
            (FNode::Map(m), Seg::Key(k)) => {
                let hits: Vec<_> = m.iter().filter(|(mk, _)| mk == k).collect();
                match hits.as_slice() {
                    [(_, v)] => v,
                    [] => bail!(
                        "key `{k}` not found in the flow mapping at line {}",
                        line_at(src, range.start)
                    ),
                    _ => bail!(
                        "key `{k}` appears twice in the flow mapping at line {}: ambiguous",
                        line_at(src, range.start)
                    ),
                }
            }
            (FNode::Seq(items), Seg::Index(i)) => items.get(*i).ok_or_else(|| {
                anyhow::anyhow!(
                    "index [{i}] out of range (flow list of {} at line {})",
                    items.len(),
                    line_at(src, range.start)
                )
            })?,
            _ => bail!(
                "{} does not match the structure at line {}",
                show_path(full),
                line_at(src, range.start)
            ),
        };
    }
    match node {
        FNode::Scalar(span) => {
            let text = &src[span.clone()];
            let value = if text.starts_with(['"', '\'']) {
                Value::Str(quoted_end(text, 0).map(|(_, v)| v).unwrap_or_default())
            } else {
                plain_value(text).ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} (line {}) is null",
                        show_path(full),
                        line_at(src, span.start)
                    )
                })?
            };
            Ok(Literal::at(src, span.clone(), value))
        }
        _ => bail!(
            "{} (line {}) is a collection, not a scalar",
            show_path(full),
            line_at(src, range.start)
        ),
    }
}

enum FNode {
    Scalar(Range<usize>),
    Seq(Vec<FNode>),
    Map(Vec<(String, FNode)>),
}

struct Flow<'a> {
    src: &'a str,
    i: usize,
    end: usize,
}

impl Flow<'_> {
    fn peek(&self) -> Option<u8> {
        (self.i < self.end).then(|| self.src.as_bytes()[self.i])
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn err<T>(&self, what: &str) -> Result<T> {
        bail!(
            "unsupported flow collection at line {}: {what}",
            line_at(self.src, self.i)
        )
    }
    fn node(&mut self, depth: usize) -> Result<FNode> {
        if depth > 64 {
            return self.err("nested too deeply");
        }
        self.ws();
        match self.peek() {
            Some(open @ (b'[' | b'{')) => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.i += 1;
                let mut seq = Vec::new();
                let mut map = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some(close) {
                        self.i += 1;
                        return Ok(if open == b'[' {
                            FNode::Seq(seq)
                        } else {
                            FNode::Map(map)
                        });
                    }
                    if open == b'{' {
                        let kspan = self.scalar_span(true)?;
                        let ktext = &self.src[kspan.clone()];
                        let key = if ktext.starts_with(['"', '\'']) {
                            quoted_end(ktext, 0).map(|(_, v)| v).unwrap_or_default()
                        } else {
                            ktext.to_string()
                        };
                        self.ws();
                        if self.peek() != Some(b':') {
                            return self.err("expected `:`");
                        }
                        self.i += 1;
                        let v = self.node(depth + 1)?;
                        map.push((key, v));
                    } else {
                        seq.push(self.node(depth + 1)?);
                    }
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(c) if c == close => {}
                        _ => return self.err("expected `,` or a closing bracket"),
                    }
                }
            }
            _ => Ok(FNode::Scalar(self.scalar_span(false)?)),
        }
    }
    fn scalar_span(&mut self, key: bool) -> Result<Range<usize>> {
        self.ws();
        let start = self.i;
        if let Some(b'"' | b'\'') = self.peek() {
            let Some((len, _)) = quoted_end(&self.src[start..self.end], 0) else {
                return self.err("unclosed quote");
            };
            self.i += len;
            return Ok(start..self.i);
        }
        while let Some(c) = self.peek() {
            if matches!(c, b',' | b']' | b'}' | b'[' | b'{') || (key && c == b':') {
                break;
            }
            if c == b':' && matches!(self.src.as_bytes().get(self.i + 1), Some(b' ')) {
                break;
            }
            self.i += 1;
        }
        let text = self.src[start..self.i].trim_end();
        if text.is_empty() {
            return self.err("empty value");
        }
        Ok(start..start + text.len())
    }
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
