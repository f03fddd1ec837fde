//! A validating single-pass JSON scanner that extracts only the fields a decoder asks
//! for. It is the observe phase's hot loop: a full serde decode builds what we throw
//! away; this walks each byte once, checks the grammar, and hands back borrowed spans.
//!
//! Validated: the whole JSON grammar (structure, commas, colons, literals, number
//! syntax, string escapes), nesting depth, and (by the caller) UTF-8 of the whole line.
//! Tolerated: raw control characters inside strings, and keys written with escapes
//! (they never match a wanted key, so they are ignored like unknown fields).

use memchr::memchr2;

/// Deepest nesting accepted; deeper lines are hostile or broken, not logs.
pub const MAX_DEPTH: u32 = 64;

/// Why a line is not valid for the decoder.
#[derive(Debug, Clone, PartialEq)]
pub enum JErr {
    Syntax(&'static str, usize),
    Depth,
    /// A wanted field has the wrong JSON type (e.g. a number written as a string).
    Type(&'static str),
    /// A wanted number is not finite as an f64 (e.g. 1e999).
    Range(&'static str),
}

impl std::fmt::Display for JErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JErr::Syntax(what, at) => write!(f, "invalid JSON: {what} at column {}", at + 1),
            JErr::Depth => write!(f, "invalid JSON: nesting deeper than {MAX_DEPTH}"),
            JErr::Type(field) => write!(f, "wrong type for {field}"),
            JErr::Range(field) => write!(f, "number out of range for {field}"),
        }
    }
}

/// A byte range of the line (a string's raw contents, without the quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    /// The raw contents hold a backslash escape.
    pub escaped: bool,
}

impl Span {
    pub fn raw<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        &line[self.start as usize..self.end as usize]
    }
    /// The decoded string (the line was UTF-8-validated and its escapes checked).
    pub fn text<'a>(&self, line: &'a [u8]) -> std::borrow::Cow<'a, str> {
        let raw = self.raw(line);
        if !self.escaped {
            return std::borrow::Cow::Borrowed(std::str::from_utf8(raw).unwrap_or(""));
        }
        let quoted = &line[self.start as usize - 1..self.end as usize + 1];
        std::borrow::Cow::Owned(serde_json::from_slice::<String>(quoted).unwrap_or_default())
    }
}

/// What the decoder wants done with the value of one key (or array element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<C, F> {
    Skip,
    /// An object to descend into with context C (null = absent).
    Obj(C),
    /// An array of objects, each descended into with context C (null = absent).
    ArrOf(C),
    /// A string field (null = absent).
    Str(F),
    /// A number field (null = absent).
    Num(F),
    /// An array or object whose entry count is the field (null = absent).
    Count(F),
}

/// The decoder side: maps keys to slots and receives the values.
pub trait Schema {
    type Ctx: Copy;
    type Field: Copy;
    fn key(&mut self, ctx: Self::Ctx, key: &[u8]) -> Slot<Self::Ctx, Self::Field>;
    fn name(&self, field: Self::Field) -> &'static str;
    fn str(&mut self, field: Self::Field, span: Span, raw: &[u8]);
    fn num(&mut self, field: Self::Field, value: f64);
    fn begin(&mut self, _ctx: Self::Ctx) {}
    fn end(&mut self, _ctx: Self::Ctx) {}
}

/// Scans one line that must hold a single JSON object, feeding `schema` from context `top`.
pub fn scan<S: Schema>(line: &[u8], top: S::Ctx, schema: &mut S) -> Result<(), JErr> {
    let mut s = Scanner { b: line, i: 0 };
    s.ws();
    if s.peek() != Some(b'{') {
        return Err(JErr::Syntax("expected an object", s.i));
    }
    s.object(Some(top), schema, 1)?;
    s.ws();
    if s.i != line.len() {
        return Err(JErr::Syntax("trailing characters", s.i));
    }
    Ok(())
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

type R<T> = Result<T, JErr>;

impl<'a> Scanner<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// Object at `self.i` ('{'); `ctx` None means validate only. Returns entry count.
    fn object<S: Schema>(&mut self, ctx: Option<S::Ctx>, s: &mut S, depth: u32) -> R<u64> {
        if depth > MAX_DEPTH {
            return Err(JErr::Depth);
        }
        self.i += 1;
        if let Some(c) = ctx {
            s.begin(c);
        }
        self.ws();
        let mut n = 0u64;
        if self.peek() == Some(b'}') {
            self.i += 1;
            if let Some(c) = ctx {
                s.end(c);
            }
            return Ok(0);
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(JErr::Syntax("expected a key", self.i));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(JErr::Syntax("expected ':'", self.i));
            }
            self.i += 1;
            self.ws();
            let slot = match ctx {
                Some(c) if !key.escaped => s.key(c, key.raw(self.b)),
                _ => Slot::Skip,
            };
            self.value(slot, s, depth)?;
            n += 1;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(JErr::Syntax("expected ',' or '}'", self.i)),
            }
        }
        if let Some(c) = ctx {
            s.end(c);
        }
        Ok(n)
    }

    /// Array at `self.i` ('['); elements go to `elem`. Returns element count.
    fn array<S: Schema>(
        &mut self,
        elem: Slot<S::Ctx, S::Field>,
        s: &mut S,
        depth: u32,
        field: &'static str,
    ) -> R<u64> {
        if depth > MAX_DEPTH {
            return Err(JErr::Depth);
        }
        self.i += 1;
        self.ws();
        let mut n = 0u64;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(0);
        }
        loop {
            if let Slot::Obj(c) = elem {
                match self.peek() {
                    Some(b'{') => {
                        self.object(Some(c), s, depth + 1)?;
                    }
                    Some(b'n') => self.literal(b"null")?,
                    _ => return Err(JErr::Type(field)),
                }
            } else {
                self.value(Slot::Skip, s, depth)?;
            }
            n += 1;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(n);
                }
                _ => return Err(JErr::Syntax("expected ',' or ']'", self.i)),
            }
        }
    }

    fn value<S: Schema>(&mut self, slot: Slot<S::Ctx, S::Field>, s: &mut S, depth: u32) -> R<()> {
        let c = match self.peek() {
            Some(c) => c,
            None => return Err(JErr::Syntax("unexpected end", self.i)),
        };
        let ty = |f: S::Field, s: &S| JErr::Type(s.name(f));
        match c {
            b'{' => match slot {
                Slot::Skip => self.object(None, s, depth + 1).map(drop),
                Slot::Obj(ctx) => self.object(Some(ctx), s, depth + 1).map(drop),
                Slot::Count(f) => {
                    let n = self.object(None, s, depth + 1)?;
                    s.num(f, n as f64);
                    Ok(())
                }
                Slot::Str(f) | Slot::Num(f) => Err(ty(f, s)),
                Slot::ArrOf(_) => Err(JErr::Type("array field")),
            },
            b'[' => match slot {
                Slot::Skip => self.array(Slot::Skip, s, depth + 1, "").map(drop),
                Slot::ArrOf(ctx) => self
                    .array(Slot::Obj(ctx), s, depth + 1, "array element")
                    .map(drop),
                Slot::Count(f) => {
                    let n = self.array(Slot::Skip, s, depth + 1, "")?;
                    s.num(f, n as f64);
                    Ok(())
                }
                Slot::Str(f) | Slot::Num(f) => Err(ty(f, s)),
                Slot::Obj(_) => Err(JErr::Type("object field")),
            },
            b'"' => {
                let sp = self.string()?;
                match slot {
                    Slot::Skip => Ok(()),
                    Slot::Str(f) => {
                        s.str(f, sp, sp.raw(self.b));
                        Ok(())
                    }
                    Slot::Num(f) | Slot::Count(f) => Err(ty(f, s)),
                    Slot::Obj(_) | Slot::ArrOf(_) => Err(JErr::Type("object field")),
                }
            }
            b'n' => self.literal(b"null"),
            b't' | b'f' => {
                if c == b't' {
                    self.literal(b"true")?;
                } else {
                    self.literal(b"false")?;
                }
                match slot {
                    Slot::Skip => Ok(()),
                    Slot::Str(f) | Slot::Num(f) | Slot::Count(f) => Err(ty(f, s)),
                    Slot::Obj(_) | Slot::ArrOf(_) => Err(JErr::Type("object field")),
                }
            }
            b'-' | b'0'..=b'9' => {
                let (a, b) = self.number()?;
                match slot {
                    Slot::Skip => Ok(()),
                    Slot::Num(f) => {
                        // The grammar was checked, so the text is an ASCII float literal.
                        let text = std::str::from_utf8(&self.b[a..b]).unwrap_or("x");
                        match text.parse::<f64>() {
                            Ok(v) if v.is_finite() => {
                                s.num(f, v);
                                Ok(())
                            }
                            _ => Err(JErr::Range(s.name(f))),
                        }
                    }
                    Slot::Str(f) | Slot::Count(f) => Err(ty(f, s)),
                    Slot::Obj(_) | Slot::ArrOf(_) => Err(JErr::Type("object field")),
                }
            }
            _ => Err(JErr::Syntax("unexpected character", self.i)),
        }
    }

    #[inline]
    fn literal(&mut self, lit: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(JErr::Syntax("invalid literal", self.i))
        }
    }

    /// String at `self.i` ('"'); returns the span of its raw contents.
    #[inline]
    fn string(&mut self) -> R<Span> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        // Most keys and values are short: a plain byte loop beats a SIMD search's setup.
        let short_end = (start + 24).min(self.b.len());
        while j < short_end {
            match self.b[j] {
                b'"' => {
                    self.i = j + 1;
                    return Ok(Span {
                        start: start as u32,
                        end: j as u32,
                        escaped,
                    });
                }
                b'\\' => break,
                _ => j += 1,
            }
        }
        loop {
            match memchr2(b'"', b'\\', &self.b[j..]) {
                None => return Err(JErr::Syntax("unterminated string", start - 1)),
                Some(k) => {
                    j += k;
                    if self.b[j] == b'"' {
                        self.i = j + 1;
                        return Ok(Span {
                            start: start as u32,
                            end: j as u32,
                            escaped,
                        });
                    }
                    escaped = true;
                    match self.b.get(j + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                        Some(b'u') => {
                            let hex = self.b.get(j + 2..j + 6);
                            match hex {
                                Some(h) if h.iter().all(|c| c.is_ascii_hexdigit()) => j += 6,
                                _ => return Err(JErr::Syntax("invalid \\u escape", j)),
                            }
                        }
                        _ => return Err(JErr::Syntax("invalid escape", j)),
                    }
                }
            }
        }
    }

    /// Number at `self.i`, grammar-checked; returns its byte range.
    #[inline]
    fn number(&mut self) -> R<(usize, usize)> {
        let b = self.b;
        let a = self.i;
        let mut i = a;
        if b[i] == b'-' {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(b.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return Err(JErr::Syntax("invalid number", a)),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let d = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == d {
                return Err(JErr::Syntax("invalid number", a));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let d = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == d {
                return Err(JErr::Syntax("invalid number", a));
            }
        }
        self.i = i;
        Ok((a, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny schema: top-level "a" (number), "s" (string), "o" -> object with "a".
    #[derive(Default)]
    struct T {
        a: Vec<f64>,
        s: Vec<String>,
        line: Vec<u8>,
    }
    impl Schema for T {
        type Ctx = u8;
        type Field = u8;
        fn key(&mut self, _ctx: u8, key: &[u8]) -> Slot<u8, u8> {
            match key {
                b"a" => Slot::Num(0),
                b"s" => Slot::Str(1),
                b"o" => Slot::Obj(1),
                b"l" => Slot::ArrOf(1),
                b"n" => Slot::Count(2),
                _ => Slot::Skip,
            }
        }
        fn name(&self, _f: u8) -> &'static str {
            "field"
        }
        fn str(&mut self, _f: u8, span: Span, _raw: &[u8]) {
            let line = self.line.clone();
            self.s.push(span.text(&line).into_owned());
        }
        fn num(&mut self, _f: u8, v: f64) {
            self.a.push(v);
        }
    }

    fn run(line: &str) -> Result<T, JErr> {
        let mut t = T {
            line: line.as_bytes().to_vec(),
            ..T::default()
        };
        scan(line.as_bytes(), 0, &mut t)?;
        Ok(t)
    }

    #[test]
    fn extracts_wanted_fields_and_validates_the_rest() {
        let t = run(r#"{"a":1.5,"x":{"y":[1,true,null,"q\"z"]},"o":{"a":-2e3},"s":"h\u00e9","l":[{"a":3},null],"n":[1,2,3]}"#).unwrap();
        assert_eq!(t.a, vec![1.5, -2000.0, 3.0, 3.0]);
        assert_eq!(t.s, vec!["hé".to_string()]);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a":NaN}"#,
            r#"{"x":Infinity}"#,
            r#"{"a":"1"}"#,
            r#"{"a":1e999}"#,
            r#"{"x":01}"#,
            r#"{"x":1.}"#,
            r#"{"x":"\q"}"#,
            r#"{"x":[1 2]}"#,
            r#"[1]"#,
            r#"{"a":1} x"#,
            r#"{"s":5}"#,
            r#"{"x":tru}"#,
        ] {
            assert!(run(bad).is_err(), "{bad} accepted");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(run(&deep).err(), Some(JErr::Depth));
    }
}
