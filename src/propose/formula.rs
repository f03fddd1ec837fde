//! Formula changes a later cycle can tune. Mind's link score is a plain product
//! (`semantic * polarity * permanence_factor * self_novelty * sibling_divergence`) with no
//! weight to turn; this raises one factor to a new named module constant, so "weigh
//! divergence more" becomes one reviewable diff and, from then on, an ordinary constant.

use crate::propose::edit::python::tokens::{tokenize, Kind, Tok};
use crate::propose::edit::python::{self, statements, Head};
use crate::propose::edit::{line_at, Value};
use crate::propose::patch::unified_diff;
use anyhow::{bail, Context, Result};
use std::ops::Range;

/// The factors of mind's link score, in the order the product names them.
pub const LINK_SCORE_FACTORS: [&str; 5] = [
    "semantic",
    "polarity",
    "permanence_factor",
    "self_novelty",
    "sibling_divergence",
];

/// Factors that can be negative (a cosine, a direction): a fractional power of a
/// negative number is complex in Python, so they get no exponent.
pub const SIGNED_FACTORS: [&str; 2] = ["semantic", "polarity"];

/// Largest exponent this will write: beyond it one factor swamps the rest.
pub const MAX_EXPONENT: f64 = 10.0;

/// What to change: raise `factor` of the product to `exponent`.
#[derive(Debug, Clone)]
pub struct FactorExponent<'a> {
    /// The factor as the product names it: a variable, or the last name of an
    /// attribute (`c.sibling_divergence`) or a string key (`c['sibling_divergence']`).
    pub factor: &'a str,
    pub exponent: f64,
    /// Other factors of the product meant: when several products hold `factor`, the
    /// one that also holds all of these is the one to change.
    pub others: &'a [&'a str],
}

/// The result of asking for an exponent.
#[derive(Debug, Clone, PartialEq)]
pub enum FormulaEdit {
    /// The product now uses a new constant.
    Added(ExponentAdded),
    /// The constant is already assigned in this file: tune it with the constant editor.
    Exists {
        constant: String,
        line: usize,
        value: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExponentAdded {
    pub constant: String,
    /// The whole edited file.
    pub text: String,
    /// `unified_diff` of the file: what the proposal branch carries.
    pub diff: String,
    pub constant_line: usize,
    /// Line of the product in the edited file.
    pub product_line: usize,
    /// The factor's text before and after, e.g. `sibling_divergence` and
    /// `max(sibling_divergence, 0.0) ** SIBLING_DIVERGENCE_EXPONENT`.
    pub before: String,
    pub after: String,
}

/// The constant an exponent on `factor` is kept in: `SIBLING_DIVERGENCE_EXPONENT`.
pub fn exponent_constant(factor: &str) -> String {
    format!("{}_EXPONENT", factor.to_ascii_uppercase())
}

/// Raises `factor` of mind's link score in `src` (the text of `path`, normally
/// `runtime/physics/link_scoring.py`) to a new constant set to `exponent`.
pub fn link_score_exponent(
    path: &str,
    src: &str,
    factor: &str,
    exponent: f64,
) -> Result<FormulaEdit> {
    let others: Vec<&str> = LINK_SCORE_FACTORS
        .iter()
        .copied()
        .filter(|f| *f != factor)
        .collect();
    add_factor_exponent(
        path,
        src,
        &FactorExponent {
            factor,
            exponent,
            others: &others,
        },
    )
}

/// Rewrites the one product that has `change.factor` as a factor so that the factor is
/// `max(factor, 0.0) ** CONSTANT` (the clamp keeps a factor that rounding pushed just
/// below zero from making the score complex), and introduces `CONSTANT = exponent`
/// with a one-line comment after the imports and constants. Every other byte stays.
pub fn add_factor_exponent(path: &str, src: &str, change: &FactorExponent) -> Result<FormulaEdit> {
    let factor = change.factor;
    let constant = exponent_constant(factor);
    if factor.is_empty() || !factor.chars().all(|c| c.is_alphanumeric() || c == '_') {
        bail!("`{factor}` is not a factor name");
    }
    if SIGNED_FACTORS.contains(&factor) {
        bail!(
            "`{factor}` can be negative: a fractional power of it is complex in Python; \
             give the exponent to a factor in [0, 1] instead"
        );
    }
    let e = change.exponent;
    if !(e.is_finite() && e > 0.0 && e <= MAX_EXPONENT) {
        bail!("exponent {e} for `{factor}` is outside (0, {MAX_EXPONENT}]");
    }
    if let Some(found) = existing_constant(path, src, &constant)? {
        return Ok(found);
    }
    let at = |line: usize| format!("{path}:{line}");
    let hits = products_with(src, factor)?;
    let complete: Vec<&Hit> = hits
        .iter()
        .filter(|h| {
            change
                .others
                .iter()
                .all(|o| h.factors.iter().any(|f| f == o))
        })
        .collect();
    let chosen: Vec<&Hit> = if hits.len() > 1 && !complete.is_empty() {
        complete
    } else {
        hits.iter().collect()
    };
    let hit = match chosen.as_slice() {
        [one] => *one,
        [] => bail!(
            "{path}: no product has `{factor}` as a factor ({} lines): nothing to raise",
            src.lines().count()
        ),
        many => bail!(
            "{path}: `{factor}` is a factor of {} products ({}): refusing to guess which is the score",
            many.len(),
            many.iter()
                .map(|h| at(h.line))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if let Some(power) = &hit.power {
        bail!(
            "{}: `{factor}` is already raised to `{power}`: tune that instead",
            at(hit.line)
        );
    }
    let before = src[hit.span.clone()].to_string();
    let after = format!("max({before}, 0.0) ** {constant}");
    let (insert_at, block) = constant_block(src, factor, &constant, e)?;
    if insert_at > hit.span.start {
        bail!(
            "{}: the product comes before the module's imports end: refusing to put {constant} after it",
            at(hit.line)
        );
    }
    let mut text = String::with_capacity(src.len() + block.len() + after.len());
    text.push_str(&src[..insert_at]);
    text.push_str(&block);
    text.push_str(&src[insert_at..hit.span.start]);
    text.push_str(&after);
    text.push_str(&src[hit.span.end..]);
    // The result must read back: the constant resolves and the product now uses it.
    let lit = python::find_in(&text, &constant, path)
        .context("the edited file does not resolve the new constant")?;
    let again = products_with(&text, factor)?;
    let product_line = again
        .iter()
        .find(|h| h.power.as_deref() == Some(constant.as_str()))
        .map(|h| h.line)
        .context("the edited product does not use the new constant")?;
    Ok(FormulaEdit::Added(ExponentAdded {
        diff: unified_diff(path, Some(src), Some(&text)),
        constant,
        constant_line: lit.line,
        product_line,
        before,
        after,
        text,
    }))
}

/// The constant, when this file assigns it already (Exists), or an error when it is
/// used but defined elsewhere or ambiguously.
fn existing_constant(path: &str, src: &str, constant: &str) -> Result<Option<FormulaEdit>> {
    let stmts = statements(src).map_err(|e| anyhow::anyhow!("{path}: {e:#}"))?;
    let text = |t: &Tok| &src[t.span.clone()];
    let assigned = stmts.iter().any(|s| {
        s.scope.is_none() && s.head == Head::Simple && s.toks.first().map(text) == Some(constant)
    });
    if assigned {
        let lit = python::find_in(src, constant, path)?;
        return Ok(Some(FormulaEdit::Exists {
            constant: constant.to_string(),
            line: lit.line,
            value: lit.value,
        }));
    }
    let used = stmts
        .iter()
        .flat_map(|s| s.toks.iter())
        .find(|t| t.kind == Kind::Name && text(t) == constant);
    if let Some(t) = used {
        bail!(
            "{path}:{}: `{constant}` is used here but not assigned at module level: tune it where it is defined",
            line_at(src, t.span.start)
        );
    }
    Ok(None)
}

/// Where the constant goes (after the docstring, imports and module constants that
/// open the file) and the text inserted there.
fn constant_block(
    src: &str,
    factor: &str,
    constant: &str,
    exponent: f64,
) -> Result<(usize, String)> {
    let stmts = statements(src)?;
    let text = |t: &Tok| &src[t.span.clone()];
    let mut end = None;
    for (i, s) in stmts.iter().enumerate() {
        if s.scope.is_some() || s.conditional {
            break;
        }
        let first = s.toks.first().map(text).unwrap_or("");
        let docstring = i == 0 && s.toks.len() == 1 && s.toks[0].kind == Kind::Str;
        let import = s.head == Head::Simple && matches!(first, "import" | "from");
        let constant = s.head == Head::Simple
            && matches!(s.toks.get(1).map(text), Some("=" | ":"))
            && (first == "__all__"
                || first
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
        if !(docstring || import || constant) {
            break;
        }
        end = s.toks.last().map(|t| t.span.end);
    }
    let (at, lead) = match end {
        // After the end of the physical line the run ends on.
        Some(e) => match src[e..].find('\n') {
            Some(nl) => (e + nl + 1, "\n"),
            None => (src.len(), "\n\n"),
        },
        None => (0, ""),
    };
    let blank_after = src[at..]
        .split_inclusive('\n')
        .take_while(|l| l.trim().is_empty())
        .count();
    let trail = "\n".repeat(2usize.saturating_sub(blank_after));
    let value = render_exponent(exponent);
    Ok((
        at,
        format!(
            "{lead}# Exponent on {factor} in the score product (1.0 = the plain product).\n{constant} = {value}\n{trail}"
        ),
    ))
}

/// `1.5`, `2.0`: always a float literal, at most 6 decimals.
fn render_exponent(e: f64) -> String {
    let x = (e * 1e6).round() / 1e6;
    let s = format!("{x}");
    if s.contains(['.', 'e']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// One product holding the factor.
#[derive(Debug)]
struct Hit {
    line: usize,
    /// Bytes of the factor's reference (without any power).
    span: Range<usize>,
    /// The exponent expression's text, when the factor is already raised.
    power: Option<String>,
    /// Names of the plain factors of the product.
    factors: Vec<String>,
}

/// Every multiplicative chain (`a * b / c`, at any bracket depth) in which `factor`
/// is a multiplicand, not a divisor.
fn products_with(src: &str, factor: &str) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for line in tokenize(src)? {
        let toks = &line.toks;
        let close = matching_brackets(src, toks);
        // The whole line and the inside of every bracket pair are separate levels.
        let inner = close
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|c| i + 1..c));
        let levels = std::iter::once(0..toks.len()).chain(inner);
        for level in levels {
            for chain in chains(src, toks, &close, level) {
                let factors: Vec<String> = chain
                    .iter()
                    .filter(|o| !o.divisor)
                    .filter_map(|o| o.name.clone())
                    .collect();
                for o in chain.iter().filter(|o| !o.divisor) {
                    if o.name.as_deref() == Some(factor) {
                        hits.push(Hit {
                            line: line_at(src, o.reference.start),
                            span: o.reference.clone(),
                            power: o.power.clone(),
                            factors: factors.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(hits)
}

/// For each opening bracket, the index of its closing one.
fn matching_brackets(src: &str, toks: &[Tok]) -> Vec<Option<usize>> {
    let mut close = vec![None; toks.len()];
    let mut stack = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Op {
            continue;
        }
        match &src[t.span.clone()] {
            "(" | "[" | "{" => stack.push(i),
            ")" | "]" | "}" => {
                if let Some(o) = stack.pop() {
                    close[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    close
}

/// An operand of a multiplicative chain.
#[derive(Debug)]
struct Operand {
    /// After `/`, `//`, `%` or `@`.
    divisor: bool,
    /// The factor's name when the operand is a plain reference (`x`, `a.x`, `a['x']`),
    /// possibly raised to a power.
    name: Option<String>,
    /// Bytes of the reference, without the power.
    reference: Range<usize>,
    /// The text of the exponent after `**`.
    power: Option<String>,
}

/// Names that end an operand rather than being one (True, False and None are values).
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "break", "class", "continue", "def", "del", "elif", "else",
    "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// The chains of two or more operands joined by `*` (or `/`...) at one level: the
/// tokens in `range`, with bracket groups inside it taken whole.
fn chains(
    src: &str,
    toks: &[Tok],
    close: &[Option<usize>],
    range: Range<usize>,
) -> Vec<Vec<Operand>> {
    let text = |i: usize| &src[toks[i].span.clone()];
    let is_op = |i: usize, ops: &[&str]| toks[i].kind == Kind::Op && ops.contains(&text(i));
    let end = range.end;
    let mut out = Vec::new();
    let mut cur: Vec<Operand> = Vec::new();
    let mut divisor = false;
    let mut i = range.start;
    // After a primary: `.name` and call/subscript groups.
    let trailers = |mut i: usize| loop {
        if i + 1 < end && is_op(i, &["."]) && toks[i + 1].kind == Kind::Name {
            i += 2;
        } else if i < end && is_op(i, &["(", "["]) {
            match close[i] {
                Some(c) if c < end => i = c + 1,
                _ => return end,
            }
        } else {
            return i;
        }
    };
    // One unary-prefixed primary with trailers, or None when `i` starts no operand.
    let primary = |mut i: usize| -> Option<usize> {
        while i < end
            && (is_op(i, &["-", "+", "~"]) || (toks[i].kind == Kind::Name && text(i) == "await"))
        {
            i += 1;
        }
        if i >= end {
            return None;
        }
        let t = &toks[i];
        let next = match t.kind {
            Kind::Name if KEYWORDS.contains(&text(i)) => return None,
            Kind::Name | Kind::Number => i + 1,
            Kind::Str => {
                let mut j = i;
                while j < end && toks[j].kind == Kind::Str {
                    j += 1;
                }
                j
            }
            Kind::Op if is_op(i, &["(", "[", "{"]) => match close[i] {
                Some(c) if c < end => c + 1,
                _ => return None,
            },
            Kind::Op => return None,
        };
        Some(trailers(next))
    };
    while i < end {
        let start = i;
        let Some(mut after) = primary(i) else {
            // Not an operand: the chain (if any) ends here.
            if cur.len() >= 2 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            divisor = false;
            i += 1;
            continue;
        };
        let reference = toks[start].span.start..toks[after - 1].span.end;
        let reference_toks = after;
        let mut power = None;
        while after < end && is_op(after, &["**"]) {
            let Some(p) = primary(after + 1) else { break };
            let exp = toks[after + 1].span.start..toks[p - 1].span.end;
            power = Some(src[exp].to_string());
            after = p;
        }
        cur.push(Operand {
            divisor,
            name: reference_name(src, &toks[start..reference_toks]),
            reference,
            power,
        });
        i = after;
        if i < end && is_op(i, &["*"]) {
            divisor = false;
            i += 1;
        } else if i < end && is_op(i, &["/", "//", "%", "@"]) {
            divisor = true;
            i += 1;
        } else {
            if cur.len() >= 2 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            divisor = false;
        }
    }
    if cur.len() >= 2 {
        out.push(cur);
    }
    out
}

/// `x`, `a.b.x`, `a['x']` or `max(x, 0.0)`: the name `x`; anything else (a call, a
/// sign, a number) is not a plain reference.
fn reference_name(src: &str, toks: &[Tok]) -> Option<String> {
    let text = |t: &Tok| &src[t.span.clone()];
    match toks {
        [] => None,
        // The clamp this module writes: `max(x, 0.0)` is still the factor x.
        [max, open, inner @ .., comma, zero, close]
            if text(max) == "max"
                && text(open) == "("
                && text(comma) == ","
                && matches!(text(zero), "0" | "0.0")
                && text(close) == ")" =>
        {
            reference_name(src, inner)
        }
        [.., open, key, close]
            if text(open) == "[" && key.kind == Kind::Str && text(close) == "]" =>
        {
            plain_chain(src, &toks[..toks.len() - 3])?;
            let k = text(key);
            let q = k.chars().next()?;
            let inner = k.strip_prefix(q)?.strip_suffix(q)?;
            (!inner.contains(['\\', '\'', '"'])).then(|| inner.to_string())
        }
        _ => plain_chain(src, toks),
    }
}

/// `a.b.c`: the last name.
fn plain_chain(src: &str, toks: &[Tok]) -> Option<String> {
    let text = |t: &Tok| &src[t.span.clone()];
    let mut last = None;
    for (i, t) in toks.iter().enumerate() {
        let want_name = i % 2 == 0;
        if want_name && t.kind == Kind::Name && !KEYWORDS.contains(&text(t)) {
            last = Some(text(t).to_string());
        } else if want_name || text(t) != "." {
            return None;
        }
    }
    if toks.len() % 2 == 1 {
        last
    } else {
        None
    }
}

#[cfg(test)]
#[path = "formula_tests.rs"]
mod tests;
