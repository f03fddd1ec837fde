//! Locates the literals a Python system keeps its tunables in: module constants
//! (`NAME = 0.25`, `NAME: float = 0.25`), dict entries (`STATE_MULTIPLIER[State.SEEKING]`),
//! class-body fields and attributes (`ExplorationConfig.timeout_s`, `Outer.Inner.X`) and
//! keyword defaults (`SubEntity.is_fatigued(threshold)`, `explore(timeout)`). A tokenizer
//! and a tree of blocks keep comments, strings, docstrings and other scopes from matching.

#[path = "python_tokens.rs"]
pub(crate) mod tokens;

use super::render::number_value;
use super::{Literal, Value};
use anyhow::{bail, Context, Result};
use tokens::{tokenize, Kind, Tok};

/// What a statement opens, if it opens a block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Head {
    Simple,
    Class(String),
    Def(String),
    /// if/elif/else/for/while/try/except/finally/with/match/case: transparent for
    /// names, but what is defined inside is defined only conditionally.
    Block,
}

/// One statement: a logical line split at `;` and after a block header's colon.
pub(crate) struct Stmt {
    pub toks: Vec<Tok>,
    pub head: Head,
    /// The class or function whose namespace the statement is in (None: the module).
    pub scope: Option<usize>,
    /// Inside an if/for/try/... block within that namespace.
    pub conditional: bool,
}

/// The requested name: `A.B.attr[key]...` or `A.func(param)`.
struct Target {
    classes: Vec<String>,
    last: String,
    what: What,
}

enum What {
    Value(Vec<Key>),
    Param(String),
}

/// A key inside `[...]` of the requested name.
#[derive(Debug, PartialEq)]
enum Key {
    Str(String),
    Expr(String),
}

/// Finds the literal `name` in `src`; errors say "line N".
pub fn find(src: &str, name: &str) -> Result<Literal> {
    find_in(src, name, "")
}

/// Finds the literal `name` in `src`, the text of `file`; errors name every candidate
/// as `file:line` (or "line N" when `file` is empty).
pub fn find_in(src: &str, name: &str, file: &str) -> Result<Literal> {
    let target = parse_name(name)?;
    let stmts = statements(src).map_err(|e| match file {
        "" => e,
        _ => anyhow::anyhow!("{file}: {e:#}"),
    })?;
    let r = Resolver {
        src,
        file,
        stmts: &stmts,
    };
    let mut scope = None;
    for class in &target.classes {
        scope = Some(r.class(scope, class)?);
    }
    match &target.what {
        What::Value(keys) => {
            let (at, value_at) = r.assignment(scope, &target.last)?;
            let mut value = &stmts[at].toks[value_at..];
            let mut path = name[..name.find('[').unwrap_or(name.len())]
                .trim()
                .to_string();
            for key in keys {
                value = r.dict_entry(value, key, &path)?;
                path.push_str(&format!("[{}]", show_key(key)));
            }
            let value = field_default(src, value).unwrap_or(value);
            r.literal(value, &path)
        }
        What::Param(param) => {
            let def = r.function(scope, &target.last)?;
            r.param_default(def, param, name.trim())
        }
    }
}

/// Names files and lines in errors.
struct Resolver<'a> {
    src: &'a str,
    file: &'a str,
    stmts: &'a [Stmt],
}

impl Resolver<'_> {
    fn text(&self, t: &Tok) -> &str {
        &self.src[t.span.clone()]
    }

    fn line(&self, stmt: usize) -> usize {
        self.stmts[stmt]
            .toks
            .first()
            .map_or(0, |t| super::line_at(self.src, t.span.start))
    }

    /// `file:12` or `line 12`.
    fn at(&self, line: usize) -> String {
        if self.file.is_empty() {
            format!("line {line}")
        } else {
            format!("{}:{line}", self.file)
        }
    }

    /// `file:3, file:9` or `lines 3, 9`.
    fn at_all(&self, stmts: &[usize]) -> String {
        let lines: Vec<usize> = stmts.iter().map(|&s| self.line(s)).collect();
        if self.file.is_empty() {
            let s = if lines.len() == 1 { "" } else { "s" };
            format!("line{s} {}", join(&lines))
        } else {
            let all: Vec<String> = lines.iter().map(|&l| self.at(l)).collect();
            all.join(", ")
        }
    }

    /// ` in file (N lines)` or ` (N lines)`.
    fn in_file(&self) -> String {
        let total = self.src.lines().count();
        if self.file.is_empty() {
            format!(" ({total} lines)")
        } else {
            format!(" in {} ({total} lines)", self.file)
        }
    }

    /// `A.B.f` for a namespace.
    fn qualified(&self, scope: Option<usize>) -> String {
        let mut names = Vec::new();
        let mut at = scope;
        while let Some(s) = at {
            match &self.stmts[s].head {
                Head::Class(n) | Head::Def(n) => names.push(n.as_str()),
                _ => {}
            }
            at = self.stmts[s].scope;
        }
        names.reverse();
        names.join(".")
    }

    fn where_(&self, scope: Option<usize>) -> String {
        match scope.map(|s| &self.stmts[s].head) {
            None => "at module level".into(),
            Some(Head::Def(_)) => format!("in function `{}`", self.qualified(scope)),
            Some(_) => format!("in class `{}`", self.qualified(scope)),
        }
    }

    fn in_scope(&self, scope: Option<usize>, pred: impl Fn(&Stmt) -> bool) -> Vec<usize> {
        (0..self.stmts.len())
            .filter(|&i| self.stmts[i].scope == scope && pred(&self.stmts[i]))
            .collect()
    }

    /// The one statement in `scope` that `pred` accepts, or an error naming every
    /// candidate (or, when there is none, what else is called `name`).
    fn definition(
        &self,
        scope: Option<usize>,
        name: &str,
        what: &str,
        pred: impl Fn(&Stmt) -> bool,
    ) -> Result<usize> {
        let hits = self.in_scope(scope, pred);
        match hits.as_slice() {
            [one] => Ok(*one),
            [] => bail!(
                "no {what} {}{}{}",
                self.where_(scope),
                self.in_file(),
                self.hints(scope, name)
            ),
            many => {
                let conditional = many.iter().any(|&s| self.stmts[s].conditional);
                bail!(
                    "{what} is defined {} times {} ({}){}: ambiguous",
                    many.len(),
                    self.where_(scope),
                    self.at_all(many),
                    if conditional {
                        ", some under if/try/for blocks"
                    } else {
                        ""
                    }
                )
            }
        }
    }

    /// What else is called `name`: other kinds in `scope`, the same name elsewhere.
    fn hints(&self, scope: Option<usize>, name: &str) -> String {
        let mut notes = Vec::new();
        for (i, s) in self.stmts.iter().enumerate() {
            let kind = match &s.head {
                Head::Class(n) if n == name => "a class",
                Head::Def(n) if n == name => "a function",
                Head::Simple if self.assigns(s, name).is_some() => "assigned",
                Head::Simple if self.declares(s, name) => "declared without a value",
                _ => continue,
            };
            let place = if s.scope == scope {
                String::new()
            } else {
                format!(" {}", self.where_(s.scope))
            };
            notes.push(format!("{kind} at {}{place}", self.at(self.line(i))));
            if notes.len() == 5 {
                break;
            }
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!("; `{name}` is {}", notes.join(", "))
        }
    }

    fn class(&self, scope: Option<usize>, name: &str) -> Result<usize> {
        let what = format!("class `{name}`");
        self.definition(scope, name, &what, |s| s.head == Head::Class(name.into()))
    }

    fn function(&self, scope: Option<usize>, name: &str) -> Result<usize> {
        let what = format!("function `{name}`");
        self.definition(scope, name, &what, |s| s.head == Head::Def(name.into()))
    }

    /// Index of the first value token if `s` is `NAME = ...` or `NAME: ann = ...`.
    fn assigns(&self, s: &Stmt, name: &str) -> Option<usize> {
        let first = s.toks.first()?;
        if first.kind != Kind::Name || self.text(first) != name {
            return None;
        }
        assignment_value(self.src, &s.toks)
    }

    /// `NAME: ann` without a value (a dataclass field without a default).
    fn declares(&self, s: &Stmt, name: &str) -> bool {
        matches!(s.toks.as_slice(), [n, c, ..] if n.kind == Kind::Name && self.text(n) == name
            && c.kind == Kind::Op && self.text(c) == ":")
            && assignment_value(self.src, &s.toks).is_none()
    }

    fn assignment(&self, scope: Option<usize>, name: &str) -> Result<(usize, usize)> {
        let what = format!("assignment to `{name}`");
        let at = self.definition(scope, name, &what, |s| {
            s.head == Head::Simple && self.assigns(s, name).is_some()
        })?;
        let value_at = self.assigns(&self.stmts[at], name).unwrap_or(0);
        Ok((at, value_at))
    }

    /// The default of `param` in the signature of the `def` statement `def`.
    fn param_default(&self, def: usize, param: &str, path: &str) -> Result<Literal> {
        let toks = &self.stmts[def].toks;
        let line = self.at(self.line(def));
        let op = |t: &Tok, s: &str| t.kind == Kind::Op && self.text(t) == s;
        let open = toks
            .iter()
            .position(|t| op(t, "("))
            .with_context(|| format!("`{path}`: the signature at {line} has no `(`"))?;
        let mut depth = 0i32;
        let mut close = None;
        for (i, t) in toks.iter().enumerate().skip(open) {
            if t.kind != Kind::Op {
                continue;
            }
            match self.text(t) {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close =
            close.with_context(|| format!("`{path}`: the signature at {line} is not closed"))?;
        let mut names = Vec::new();
        let mut hits = Vec::new();
        for piece in split_top(self.src, &toks[open + 1..close], ",") {
            let piece = match piece {
                [s, rest @ ..] if op(s, "*") || op(s, "**") => rest,
                p => p,
            };
            let Some(first) = piece.first().filter(|t| t.kind == Kind::Name) else {
                continue; // a bare `*` or `/`
            };
            let name = self.text(first);
            names.push(name);
            if name == param {
                let before_eq = split_top(self.src, piece, "=")[0].len();
                hits.push(piece.get(before_eq + 1..));
            }
        }
        let func = self.qualified(Some(def));
        match hits.as_slice() {
            [Some(default)] => self.literal(default, path),
            [None] => bail!("parameter `{param}` of `{func}` ({line}) has no default value"),
            [] => bail!(
                "`{func}` ({line}) has no parameter `{param}` (its parameters: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
            _ => bail!("parameter `{param}` appears twice in `{func}` ({line}): ambiguous"),
        }
    }

    /// The value tokens of `key` inside the dict literal `toks` (`{ ... }`).
    fn dict_entry<'t>(&self, toks: &'t [Tok], key: &Key, path: &str) -> Result<&'t [Tok]> {
        let src = self.src;
        let line = toks
            .first()
            .map_or(0, |t| super::line_at(src, t.span.start));
        let is_dict = toks.len() >= 2
            && toks[0].kind == Kind::Op
            && self.text(&toks[0]) == "{"
            && toks.last().map(|t| self.text(t)) == Some("}");
        if !is_dict {
            let shown: Vec<&str> = toks.iter().map(|t| self.text(t)).collect();
            bail!(
                "`{path}` ({}) is not a dict literal: `{}`",
                self.at(line),
                shown.join(" ")
            );
        }
        let mut hits = Vec::new();
        let mut keys_seen = 0;
        for entry in split_top(src, &toks[1..toks.len() - 1], ",") {
            let parts = split_top(src, entry, ":");
            if parts.len() < 2 {
                continue;
            }
            keys_seen += 1;
            if key_matches(src, parts[0], key) {
                let colon = parts[0].len();
                hits.push(&entry[colon + 1..]);
            }
        }
        let end_line = toks.last().map_or(0, |t| super::line_at(src, t.span.start));
        let lines = if self.file.is_empty() {
            format!("lines {line}-{end_line}")
        } else {
            format!("{}:{line}-{end_line}", self.file)
        };
        match hits.as_slice() {
            [] => bail!(
                "key {} not found in dict `{path}` ({lines}, {keys_seen} keys)",
                show_key(key)
            ),
            [one] => Ok(one),
            _ => bail!(
                "key {} appears {} times in dict `{path}` ({}): ambiguous",
                show_key(key),
                hits.len(),
                self.at(line)
            ),
        }
    }

    /// A single literal: number (optionally signed), plain string, True/False.
    fn literal(&self, toks: &[Tok], path: &str) -> Result<Literal> {
        let src = self.src;
        let text = |t: &Tok| &src[t.span.clone()];
        let line = toks
            .first()
            .map_or(0, |t| super::line_at(src, t.span.start));
        let not_literal = || {
            let shown: Vec<&str> = toks.iter().map(text).collect();
            anyhow::anyhow!(
                "`{path}` ({}) is not a literal but an expression: `{}`; refusing to edit it",
                self.at(line),
                shown.join(" ")
            )
        };
        let (span, value) = match toks {
            [t] if t.kind == Kind::Number => (t.span.clone(), number_value(text(t))),
            [s, t]
                if s.kind == Kind::Op && matches!(text(s), "-" | "+") && t.kind == Kind::Number =>
            {
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
}

/// Splits Python source into statements with their namespaces.
pub(crate) fn statements(src: &str) -> Result<Vec<Stmt>> {
    let mut out: Vec<Stmt> = Vec::new();
    // Open block headers: (indent, statement).
    let mut open: Vec<(usize, usize)> = Vec::new();
    for line in tokenize(src)? {
        while open
            .last()
            .is_some_and(|&(indent, _)| indent >= line.indent)
        {
            open.pop();
        }
        let mut indent = line.indent;
        let mut rest: &[Tok] = &line.toks;
        while !rest.is_empty() {
            let parent = open.last().map(|&(_, s)| s);
            let (scope, conditional) = match parent {
                None => (None, false),
                Some(p) if out[p].head == Head::Block => (out[p].scope, true),
                Some(p) => (Some(p), false),
            };
            let (head, len) = match header(src, rest) {
                Some((head, colon)) => (head, colon + 1),
                None => {
                    let semi = split_top(src, rest, ";")[0].len();
                    (Head::Simple, semi)
                }
            };
            let is_block = head != Head::Simple;
            if len > 0 {
                out.push(Stmt {
                    toks: rest[..len].to_vec(),
                    head,
                    scope,
                    conditional,
                });
            }
            if is_block {
                // A body on the header's own line (`if x: A = 1`) lies inside the block.
                open.push((indent, out.len() - 1));
                indent += 1;
                rest = &rest[len..];
            } else {
                rest = rest.get(len + 1..).unwrap_or(&[]);
            }
        }
    }
    Ok(out)
}

/// A block header at the start of `toks`: what it opens and the index of its colon.
fn header(src: &str, toks: &[Tok]) -> Option<(Head, usize)> {
    let text = |i: usize| {
        toks.get(i)
            .filter(|t| t.kind == Kind::Name)
            .map(|t| &src[t.span.clone()])
    };
    let head = match text(0)? {
        "class" => Head::Class(text(1)?.to_string()),
        "def" => Head::Def(text(1)?.to_string()),
        "async" if text(1) == Some("def") => Head::Def(text(2)?.to_string()),
        "async" if matches!(text(1), Some("for" | "with")) => Head::Block,
        "if" | "elif" | "else" | "for" | "while" | "try" | "except" | "finally" | "with" => {
            Head::Block
        }
        // Soft keywords: `match = 3` and `case: int = 1` are assignments.
        "match" | "case" => Head::Block,
        _ => return None,
    };
    let colon = split_top(src, toks, ":")[0].len();
    if colon >= toks.len() {
        return None;
    }
    if matches!(text(0), Some("match" | "case")) && colon < 2 {
        return None;
    }
    Some((head, colon))
}

/// Splits `toks` at `sep` operators outside brackets (and, for `:`, outside lambdas).
pub(crate) fn split_top<'t>(src: &str, toks: &'t [Tok], sep: &str) -> Vec<&'t [Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut lambdas = 0;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        let s = &src[t.span.clone()];
        if t.kind == Kind::Name && s == "lambda" && depth == 0 {
            lambdas += 1;
            continue;
        }
        if t.kind != Kind::Op {
            continue;
        }
        match s {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth -= 1,
            ":" if depth == 0 && lambdas > 0 => lambdas -= 1,
            _ if depth == 0 && s == sep => {
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts
}

/// `x = field(default=0.5)` (or `dataclasses.field(...)`): the default's tokens.
fn field_default<'t>(src: &str, toks: &'t [Tok]) -> Option<&'t [Tok]> {
    let text = |t: &Tok| &src[t.span.clone()];
    let open = toks
        .iter()
        .position(|t| t.kind == Kind::Op && text(t) == "(")?;
    let callee = &toks[..open];
    let is_field = callee.last().map(text) == Some("field")
        && callee
            .iter()
            .all(|t| t.kind == Kind::Name || text(t) == ".");
    // The call must be the whole value: its `(` closes at the last token.
    let closes_at_end = toks.last().map(text) == Some(")")
        && toks[open..toks.len() - 1]
            .iter()
            .scan(0i32, |depth, t| {
                match text(t) {
                    "(" | "[" | "{" if t.kind == Kind::Op => *depth += 1,
                    ")" | "]" | "}" if t.kind == Kind::Op => *depth -= 1,
                    _ => {}
                }
                Some(*depth)
            })
            .all(|d| d > 0);
    if !is_field || !closes_at_end {
        return None;
    }
    let args = split_top(src, &toks[open + 1..toks.len() - 1], ",");
    args.into_iter()
        .find_map(|arg| match split_top(src, arg, "=").as_slice() {
            [[k], v] if text(k) == "default" => Some(*v),
            _ => None,
        })
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

fn is_ident(s: &str) -> bool {
    s.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// `NAME`, `NAME['key']`, `NAME[Enum.MEMBER]` (chained), `A.B.attr`, `A.func(param)`.
fn parse_name(name: &str) -> Result<Target> {
    let name = name.trim();
    let stop = name.find(['[', '(']).unwrap_or(name.len());
    let mut parts: Vec<String> = name[..stop]
        .split('.')
        .map(|p| p.trim().to_string())
        .collect();
    if !parts.iter().all(|p| is_ident(p)) {
        bail!(
            "`{name}` is not a Python target (expected NAME, NAME[key], Class.attr or [Class.]function(param))"
        );
    }
    let last = parts.pop().unwrap_or_default();
    let rest = &name[stop..];
    let what = if let Some(inner) = rest.strip_prefix('(') {
        let param = inner
            .strip_suffix(')')
            .with_context(|| format!("expected `)` at the end of `{name}`"))?
            .trim();
        if !is_ident(param) {
            bail!("`{param}` in `{name}` is not a parameter name");
        }
        What::Param(param.to_string())
    } else {
        What::Value(parse_keys(name, rest)?)
    };
    Ok(Target {
        classes: parts,
        last,
        what,
    })
}

/// `['key']["key"][Enum.MEMBER][1]` after a name.
fn parse_keys(name: &str, mut rest: &str) -> Result<Vec<Key>> {
    let mut keys = Vec::new();
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
    Ok(keys)
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
    let parts = split_top(src, &toks[2..], "=");
    (parts.len() >= 2).then(|| 2 + parts[0].len() + 1)
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

#[cfg(test)]
#[path = "python_tests.rs"]
mod tests;
