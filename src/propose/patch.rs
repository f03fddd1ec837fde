//! Unified diffs for proposals: written so `git apply --check` accepts them (git
//! headers, new/deleted files, "\ No newline at end of file"), applied back with exact
//! context matching, and reversed for the rollback plan.

use anyhow::{bail, Context, Result};
use similar::{capture_diff_slices, group_diff_ops, Algorithm, DiffOp, DiffTag};

const NO_NEWLINE: &str = "\\ No newline at end of file\n";
const CONTEXT: usize = 3;

/// A unified diff with `diff --git a/P b/P` headers that `git apply --check` accepts;
/// `None` means the file does not exist on that side. Empty when nothing changes.
pub fn unified_diff(path: &str, old: Option<&str>, new: Option<&str>) -> String {
    let mut out = format!("diff --git a/{path} b/{path}\n");
    match (old, new) {
        (None, None) => return String::new(),
        (Some(a), Some(b)) if a == b => return String::new(),
        (None, Some(_)) => out.push_str(&format!(
            "new file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        )),
        (Some(_), None) => out.push_str(&format!(
            "deleted file mode 100644\n--- a/{path}\n+++ /dev/null\n"
        )),
        (Some(_), Some(_)) => out.push_str(&format!("--- a/{path}\n+++ b/{path}\n")),
    }
    let (a, b) = (old.unwrap_or(""), new.unwrap_or(""));
    if a.is_empty() && b.is_empty() {
        // An empty file created or deleted: git wants the header without any hunk.
        return out
            .lines()
            .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
            .map(|l| format!("{l}\n"))
            .collect();
    }
    let old_lines: Vec<&str> = a.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = b.split_inclusive('\n').collect();
    let ops = renumber(capture_diff_slices(
        Algorithm::Myers,
        &old_lines,
        &new_lines,
    ));
    for group in group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let o = first.old_range().start..last.old_range().end;
        let n = first.new_range().start..last.new_range().end;
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(o.start, o.len()),
            range(n.start, n.len())
        ));
        for op in &group {
            let (tag, or, nr) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => or.for_each(|i| push_line(&mut out, ' ', old_lines[i])),
                DiffTag::Delete => or.for_each(|i| push_line(&mut out, '-', old_lines[i])),
                DiffTag::Insert => nr.for_each(|i| push_line(&mut out, '+', new_lines[i])),
                DiffTag::Replace => {
                    or.for_each(|i| push_line(&mut out, '-', old_lines[i]));
                    nr.for_each(|i| push_line(&mut out, '+', new_lines[i]));
                }
            }
        }
    }
    out
}

/// Recomputes every op's positions from the lengths alone: `similar` 2.7 can report a
/// leading deletion with `new_index: 1`, which would shift a hunk header by one.
fn renumber(ops: Vec<DiffOp>) -> Vec<DiffOp> {
    let (mut oi, mut ni) = (0, 0);
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let (tag, or, nr) = op.as_tag_tuple();
        let (old_len, new_len) = (or.len(), nr.len());
        out.push(match tag {
            DiffTag::Equal => DiffOp::Equal {
                old_index: oi,
                new_index: ni,
                len: old_len,
            },
            DiffTag::Delete => DiffOp::Delete {
                old_index: oi,
                old_len,
                new_index: ni,
            },
            DiffTag::Insert => DiffOp::Insert {
                old_index: oi,
                new_index: ni,
                new_len,
            },
            DiffTag::Replace => DiffOp::Replace {
                old_index: oi,
                old_len,
                new_index: ni,
                new_len,
            },
        });
        oi += old_len;
        ni += new_len;
    }
    out
}

/// `start,len` of a hunk side, 1-based; an empty side names the line before it.
fn range(start: usize, len: usize) -> String {
    if len == 0 {
        format!("{start},0")
    } else {
        format!("{},{len}", start + 1)
    }
}

fn push_line(out: &mut String, prefix: char, line: &str) {
    out.push(prefix);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push('\n');
        out.push_str(NO_NEWLINE);
    }
}

struct Hunk {
    old_start: usize,
    old_len: usize,
    /// (' ' | '-' | '+', the line's text with its newline unless the file ends there)
    lines: Vec<(u8, String)>,
}

/// Applies a unified diff produced by [`unified_diff`] (exact context match, error on
/// mismatch). A deleted file yields the empty string.
pub fn apply(old: &str, patch: &str) -> Result<String> {
    if patch.is_empty() {
        return Ok(old.to_string());
    }
    let (hunks, new_file, deleted) = parse(patch)?;
    if new_file && !old.is_empty() {
        bail!("the patch creates a file, but the file already has content");
    }
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::with_capacity(old.len());
    let mut cursor = 0;
    for h in &hunks {
        let start = if h.old_len == 0 {
            h.old_start
        } else {
            h.old_start.saturating_sub(1)
        };
        if start < cursor || start > old_lines.len() {
            bail!(
                "hunk at old line {} is out of order or past the end ({} lines)",
                h.old_start,
                old_lines.len()
            );
        }
        old_lines[cursor..start]
            .iter()
            .for_each(|l| out.push_str(l));
        cursor = start;
        for (kind, text) in &h.lines {
            if *kind == b'+' {
                out.push_str(text);
                continue;
            }
            let found = old_lines.get(cursor).with_context(|| {
                format!(
                    "line {}: the patch expects {text:?} but the file ends",
                    cursor + 1
                )
            })?;
            if found != text {
                bail!(
                    "line {}: the patch expects {text:?} but the file has {found:?}",
                    cursor + 1
                );
            }
            if *kind == b' ' {
                out.push_str(text);
            }
            cursor += 1;
        }
    }
    old_lines[cursor..].iter().for_each(|l| out.push_str(l));
    if deleted && !out.is_empty() {
        bail!("the patch deletes the file but does not remove all of its content");
    }
    Ok(out)
}

/// Hunks, and whether the patch creates or deletes the file.
fn parse(patch: &str) -> Result<(Vec<Hunk>, bool, bool)> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let (mut new_file, mut deleted, mut files) = (false, false, 0);
    let mut lines = patch.split_inclusive('\n').enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        if line.starts_with("diff --git ") {
            files += 1;
            if files > 1 {
                bail!("patch line {}: more than one file in the patch", n + 1);
            }
        } else if line.starts_with("new file mode") {
            new_file = true;
        } else if line.starts_with("deleted file mode") {
            deleted = true;
        } else if let Some(rest) = line.strip_prefix("@@ -") {
            let (old_start, old_len, new_len) = hunk_header(rest)
                .with_context(|| format!("patch line {}: bad hunk header {line:?}", n + 1))?;
            let (mut o, mut nn) = (old_len, new_len);
            let mut body: Vec<(u8, String)> = Vec::new();
            while o > 0 || nn > 0 {
                let Some((m, l)) = lines.next() else {
                    bail!("the patch ends inside the hunk at line {}", n + 1);
                };
                let kind = l.as_bytes().first().copied().unwrap_or(b' ');
                // `get` rather than indexing: a hostile patch may start a line with a
                // multi-byte character (it is then rejected below, not a panic).
                let text = if l == "\n" {
                    "\n"
                } else {
                    l.get(1..).unwrap_or("")
                };
                match kind {
                    b' ' | b'\n' if o > 0 && nn > 0 => (o, nn) = (o - 1, nn - 1),
                    b'-' if o > 0 => o -= 1,
                    b'+' if nn > 0 => nn -= 1,
                    b'\\' => {
                        strip_newline(&mut body, m)?;
                        continue;
                    }
                    _ => bail!("patch line {}: unexpected {l:?} in a hunk", m + 1),
                }
                let kind = if kind == b'\n' { b' ' } else { kind };
                body.push((kind, text.to_string()));
            }
            while let Some((m, l)) = lines.next_if(|(_, l)| l.starts_with('\\')) {
                let _ = l;
                strip_newline(&mut body, m)?;
            }
            hunks.push(Hunk {
                old_start,
                old_len,
                lines: body,
            });
        } else if !(line.starts_with("--- ")
            || line.starts_with("+++ ")
            || line.starts_with("index ")
            || line.starts_with("old mode")
            || line.starts_with("new mode"))
        {
            bail!("patch line {}: unexpected {line:?} outside a hunk", n + 1);
        }
    }
    Ok((hunks, new_file, deleted))
}

/// "\ No newline at end of file": the line before it has no newline in the file.
fn strip_newline(body: &mut [(u8, String)], at: usize) -> Result<()> {
    let last = body.last_mut().with_context(|| {
        format!(
            "patch line {}: a no-newline marker with no line before it",
            at + 1
        )
    })?;
    if last.1.pop() != Some('\n') {
        bail!("patch line {}: misplaced no-newline marker", at + 1);
    }
    Ok(())
}

/// `A,B +C,D @@...` → (A, B, D); a missing count means 1.
fn hunk_header(rest: &str) -> Option<(usize, usize, usize)> {
    let (old, rest) = rest.split_once(" +")?;
    let (new, _) = rest.split_once(" @@")?;
    let side = |s: &str| -> Option<(usize, usize)> {
        match s.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((s.parse().ok()?, 1)),
        }
    };
    let (os, ol) = side(old)?;
    let (_, nl) = side(new)?;
    Some((os, ol, nl))
}

/// The patch that undoes `patch` (old and new sides swapped).
pub fn reverse(patch: &str) -> String {
    let mut out = String::with_capacity(patch.len());
    let mut minus: Option<&str> = None;
    let (mut o, mut n) = (0usize, 0usize);
    for line in patch.split_inclusive('\n') {
        if o > 0 || n > 0 {
            let swapped = match line.as_bytes().first() {
                Some(b' ') => {
                    (o, n) = (o.saturating_sub(1), n.saturating_sub(1));
                    None
                }
                Some(b'-') => {
                    o -= o.min(1);
                    Some('+')
                }
                Some(b'+') => {
                    n -= n.min(1);
                    Some('-')
                }
                _ => None,
            };
            match swapped {
                Some(c) => {
                    out.push(c);
                    out.push_str(&line[1..]);
                }
                None => out.push_str(line),
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("@@ -") {
            let parsed = rest.split_once(" +").and_then(|(old, r)| {
                let (new, tail) = r.split_once(" @@")?;
                Some((old, new, tail))
            });
            if let (Some((old, new, tail)), Some((_, ol, nl))) = (parsed, hunk_header(rest)) {
                out.push_str(&format!("@@ -{new} +{old} @@{tail}"));
                (o, n) = (ol, nl);
                continue;
            }
        }
        if line.starts_with("--- ") {
            minus = Some(line);
            continue;
        }
        if let (Some(plus), Some(m)) = (line.strip_prefix("+++ "), minus.take()) {
            let m = &m[4..];
            out.push_str(&format!("--- {}", swap_side(plus)));
            out.push_str(&format!("+++ {}", swap_side(m)));
            continue;
        }
        if let Some(rest) = line.strip_prefix("new file mode") {
            out.push_str(&format!("deleted file mode{rest}"));
        } else if let Some(rest) = line.strip_prefix("deleted file mode") {
            out.push_str(&format!("new file mode{rest}"));
        } else {
            out.push_str(line);
        }
    }
    if let Some(m) = minus {
        out.push_str(m);
    }
    out
}

/// `b/x` ↔ `a/x`; `/dev/null` stays.
fn swap_side(name: &str) -> String {
    if let Some(p) = name.strip_prefix("a/") {
        format!("b/{p}")
    } else if let Some(p) = name.strip_prefix("b/") {
        format!("a/{p}")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
