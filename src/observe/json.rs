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
    let mut s = Scanner {
        b: line,
        i: 0,
        err: None,
    };
    let r = s.top(top, schema);
    match (r, s.err) {
        (Ok(()), _) => Ok(()),
        (Err(Fail), Some(e)) => Err(e),
        (Err(Fail), None) => Err(JErr::Syntax("invalid", s.i)),
    }
}

/// A failure whose details wait in `Scanner::err`: a zero-sized error keeps every
/// `Result` of the hot path in registers.
struct Fail;
type R<T> = Result<T, Fail>;

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    err: Option<JErr>,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set on the bytes of `w` equal to `c`; only the lowest flagged byte is
/// exact (the borrow can flag bytes above a match), which is all we use.
#[inline(always)]
fn bytes_eq(w: u64, c: u8) -> u64 {
    let x = w ^ (LO * c as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// Exact powers of ten as f64 (10^22 is the largest exactly representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a grammar-checked JSON number. Short decimals (mantissa below 2^53, at most
/// 22 decimal places, no exponent) take Clinger's fast path: one exactly rounded
/// multiplication or division of two exact values, so the result is bit-identical to
/// `str::parse`, which handles everything else.
#[inline]
fn parse_f64(t: &[u8]) -> Result<f64, std::num::ParseFloatError> {
    let (neg, digits) = match t {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, t),
    };
    let mut m: u64 = 0;
    let mut frac = 0usize;
    let mut seen_dot = false;
    let simple = digits.len() <= 19
        && digits.iter().all(|&c| match c {
            b'0'..=b'9' => {
                m = m * 10 + (c - b'0') as u64;
                frac += seen_dot as usize;
                true
            }
            b'.' => {
                seen_dot = true;
                true
            }
            _ => false,
        });
    if simple && m < (1u64 << 53) && frac < POW10.len() {
        let v = m as f64 / POW10[frac];
        return Ok(if neg { -v } else { v });
    }
    // The grammar was checked, so the text is an ASCII float literal.
    std::str::from_utf8(t).unwrap_or("x").parse::<f64>()
}

impl<'a> Scanner<'a> {
    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: JErr) -> Fail {
        if self.err.is_none() {
            self.err = Some(e);
        }
        Fail
    }

    #[cold]
    #[inline(never)]
    fn syntax(&mut self, what: &'static str) -> Fail {
        let at = self.i;
        self.fail(JErr::Syntax(what, at))
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        // Compact JSON has no whitespace: one test in the common case.
        if !matches!(self.b.get(self.i), Some(c) if *c <= b' ') {
            return;
        }
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn top<S: Schema>(&mut self, top: S::Ctx, s: &mut S) -> R<()> {
        self.ws();
        if self.peek() != Some(b'{') {
            return Err(self.syntax("expected an object"));
        }
        self.object(top, s, 1)?;
        self.ws();
        if self.i != self.b.len() {
            return Err(self.syntax("trailing characters"));
        }
        Ok(())
    }

    /// After a key: whitespace, ':' and whitespace.
    #[inline(always)]
    fn colon(&mut self) -> R<()> {
        self.ws();
        if self.peek() != Some(b':') {
            return Err(self.syntax("expected ':'"));
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    /// After a member or element: whitespace then ',' (true, more follow) or `close`
    /// (false, consumed).
    #[inline(always)]
    fn next_or_close(&mut self, close: u8) -> R<bool> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                self.ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(self.syntax(if close == b'}' {
                "expected ',' or '}'"
            } else {
                "expected ',' or ']'"
            })),
        }
    }

    /// Object at `self.i` ('{') whose keys the schema sees in context `ctx`.
    fn object<S: Schema>(&mut self, ctx: S::Ctx, s: &mut S, depth: u32) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(self.fail(JErr::Depth));
        }
        self.i += 1;
        s.begin(ctx);
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            s.end(ctx);
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a key"));
            }
            let key = self.key_colon()?;
            let slot = if key.escaped {
                Slot::Skip
            } else {
                s.key(ctx, key.raw(self.b))
            };
            // Unwanted strings and numbers (most values) are skipped inline: no call
            // and no second dispatch on the first byte.
            match (slot, self.peek()) {
                (Slot::Skip, Some(b'"')) => drop(self.string()?),
                (Slot::Skip, Some(b'-' | b'0'..=b'9')) => drop(self.number()?),
                (Slot::Skip, _) => self.skip(depth)?,
                _ => self.value(slot, s, depth)?,
            }
            if !self.next_or_close(b'}')? {
                break;
            }
        }
        s.end(ctx);
        Ok(())
    }

    /// Array of objects at `self.i` ('['), each descended into with `ctx`.
    fn array_of<S: Schema>(&mut self, ctx: S::Ctx, s: &mut S, depth: u32) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(self.fail(JErr::Depth));
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            match self.peek() {
                Some(b'{') => self.object(ctx, s, depth + 1)?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(self.fail(JErr::Type("array element"))),
            }
            if !self.next_or_close(b']')? {
                return Ok(());
            }
        }
    }

    /// A value the schema wants (anything but `Slot::Skip`).
    fn value<S: Schema>(&mut self, slot: Slot<S::Ctx, S::Field>, s: &mut S, depth: u32) -> R<()> {
        let c = match self.peek() {
            Some(c) => c,
            None => return Err(self.syntax("unexpected end")),
        };
        let field_name = |s: &S| match slot {
            Slot::Str(f) | Slot::Num(f) | Slot::Count(f) => s.name(f),
            Slot::Obj(_) => "object field",
            Slot::ArrOf(_) => "array field",
            Slot::Skip => "",
        };
        match (c, slot) {
            (b'n', _) => self.literal(b"null"),
            (b'{', Slot::Obj(ctx)) => self.object(ctx, s, depth + 1),
            (b'[', Slot::ArrOf(ctx)) => self.array_of(ctx, s, depth + 1),
            (b'{' | b'[', Slot::Count(f)) => {
                let n = self.skip_container(depth + 1)?;
                s.num(f, n as f64);
                Ok(())
            }
            (b'"', Slot::Str(f)) => {
                let sp = self.string()?;
                s.str(f, sp, sp.raw(self.b));
                Ok(())
            }
            (b'-' | b'0'..=b'9', Slot::Num(f)) => {
                let (a, b) = self.number()?;
                match parse_f64(&self.b[a..b]) {
                    Ok(v) if v.is_finite() => {
                        s.num(f, v);
                        Ok(())
                    }
                    _ => Err(self.fail(JErr::Range(field_name(s)))),
                }
            }
            // The wrong type, or not a value at all: the skipper tells which.
            _ => {
                self.skip(depth)?;
                Err(self.fail(JErr::Type(field_name(s))))
            }
        }
    }

    /// Skips any value at `self.i`, checking its full grammar; no schema involved.
    #[inline]
    fn skip(&mut self, depth: u32) -> R<()> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b'{' | b'[') => self.skip_container(depth + 1).map(drop),
            Some(b'n') => self.literal(b"null"),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(_) => Err(self.syntax("unexpected character")),
            None => Err(self.syntax("unexpected end")),
        }
    }

    /// Skips the object or array at `self.i`, grammar-checked; returns its entry count.
    fn skip_container(&mut self, depth: u32) -> R<u64> {
        if depth > MAX_DEPTH {
            return Err(self.fail(JErr::Depth));
        }
        let obj = self.b[self.i] == b'{';
        let close = if obj { b'}' } else { b']' };
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(0);
        }
        let mut n = 0u64;
        loop {
            if obj {
                if self.peek() != Some(b'"') {
                    return Err(self.syntax("expected a key"));
                }
                self.key_colon()?;
            }
            match self.peek() {
                Some(b'"') => drop(self.string()?),
                Some(b'-' | b'0'..=b'9') => drop(self.number()?),
                _ => self.skip(depth)?,
            }
            n += 1;
            if !self.next_or_close(close)? {
                return Ok(n);
            }
        }
    }

    #[inline(always)]
    fn literal(&mut self, lit: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(self.syntax("invalid literal"))
        }
    }

    /// A key at `self.i` ('"') and its ':'. In compact JSON the closing quote and the
    /// colon share one 16-byte block, so a ':' mask of that block checks the colon
    /// without a further load that would wait on the quote's position.
    #[inline(always)]
    fn key_colon(&mut self) -> R<Span> {
        #[cfg(target_arch = "x86_64")]
        if let Some(w) = self.b.get(self.i + 1..self.i + 17) {
            use std::arch::x86_64::*;
            // SAFETY: `w` holds 16 readable bytes; SSE2 is always present on x86_64.
            let (q, e, c) = unsafe {
                let v = _mm_loadu_si128(w.as_ptr() as *const __m128i);
                let m = |ch: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(ch as i8)));
                (m(b'"') as u32, m(b'\\') as u32, m(b':') as u32)
            };
            let k = q.trailing_zeros();
            if q != 0 && k < e.trailing_zeros() && (c >> (k + 1)) & 1 != 0 {
                let start = self.i + 1;
                let end = start + k as usize;
                self.i = end + 2;
                self.ws();
                return Ok(Span {
                    start: start as u32,
                    end: end as u32,
                    escaped: false,
                });
            }
        }
        let key = self.string()?;
        self.colon()?;
        Ok(key)
    }

    /// String at `self.i` ('"'); returns the span of its raw contents. Eight bytes
    /// per step (SWAR) while the line has them, then byte by byte.
    #[inline(always)]
    fn string(&mut self) -> R<Span> {
        let b = self.b;
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            // Find the next '"' or '\\' from j; in the common case the masks say
            // which it is without reading the byte again.
            #[cfg(target_arch = "x86_64")]
            if let Some(w) = b.get(j..j + 16) {
                // SSE2 (baseline on x86_64): an exact mask of '"' and '\\' bytes.
                use std::arch::x86_64::*;
                // SAFETY: `w` holds 16 readable bytes; SSE2 is always present on x86_64.
                let m = unsafe {
                    let v = _mm_loadu_si128(w.as_ptr() as *const __m128i);
                    let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                    let e = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                    (_mm_movemask_epi8(q) as u32, _mm_movemask_epi8(e) as u32)
                };
                let (q, e) = m;
                if q | e == 0 {
                    j += 16;
                    continue;
                }
                let k = (q | e).trailing_zeros() as usize;
                if q & (1 << k) != 0 {
                    let end = j + k;
                    self.i = end + 1;
                    return Ok(Span {
                        start: start as u32,
                        end: end as u32,
                        escaped,
                    });
                }
                j += k;
                escaped = true;
                j = self.escape(j)?;
                continue;
            }
            if let Some(w) = b.get(j..j + 8) {
                let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
                let (q, e) = (bytes_eq(w, b'"'), bytes_eq(w, b'\\'));
                if q | e == 0 {
                    j += 8;
                    continue;
                }
                if e == 0 || (q != 0 && q.trailing_zeros() < e.trailing_zeros()) {
                    let end = j + (q.trailing_zeros() / 8) as usize;
                    self.i = end + 1;
                    return Ok(Span {
                        start: start as u32,
                        end: end as u32,
                        escaped,
                    });
                }
                j += (e.trailing_zeros() / 8) as usize;
            } else {
                match memchr2(b'"', b'\\', &b[j.min(b.len())..]) {
                    Some(k) => j += k,
                    None => {
                        self.i = start - 1;
                        return Err(self.syntax("unterminated string"));
                    }
                }
                if b[j] == b'"' {
                    self.i = j + 1;
                    return Ok(Span {
                        start: start as u32,
                        end: j as u32,
                        escaped,
                    });
                }
            }
            escaped = true;
            j = self.escape(j)?;
        }
    }

    /// The escape at `j` ('\\'); returns the index after it.
    #[inline(never)]
    fn escape(&mut self, j: usize) -> R<usize> {
        match self.b.get(j + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(j + 2),
            Some(b'u') => match self.b.get(j + 2..j + 6) {
                Some(h) if h.iter().all(|c| c.is_ascii_hexdigit()) => Ok(j + 6),
                _ => {
                    self.i = j;
                    Err(self.syntax("invalid \\u escape"))
                }
            },
            _ => {
                self.i = j;
                Err(self.syntax("invalid escape"))
            }
        }
    }

    /// Number at `self.i`, grammar-checked; returns its byte range.
    #[inline(always)]
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
                i += 1;
                while matches!(b.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return Err(self.syntax("invalid number")),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let d = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == d {
                return Err(self.syntax("invalid number"));
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
                return Err(self.syntax("invalid number"));
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
    fn fast_float_path_is_bit_identical_to_std() {
        let mut r: u64 = 0x9e3779b97f4a7c15;
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "0.1",
            "1.5",
            "-2.25",
            "9007199254740991",
            "9007199254740993",
            "0.30000000000000004",
            "123456789012345678",
            "1234567890123456789",
            "1e5",
            "-1.5E-3",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..20000 {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            let int = r % 100_000;
            let places = (r >> 20) % 18;
            let frac = (r >> 8) % 10u64.pow(places as u32).max(1);
            cases.push(format!("{int}.{frac:0width$}", width = places as usize));
            cases.push(format!("-{}", r >> 12));
        }
        for c in cases {
            let want = c.parse::<f64>().unwrap();
            let got = parse_f64(c.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{c}");
        }
    }

    #[test]
    fn strings_of_every_length_and_escape_position_decode_like_serde() {
        // Covers the 16-byte, 8-byte and tail paths of `string`, with the escape or
        // closing quote landing on each byte of a block.
        for len in 0..40 {
            for esc in 0..=len {
                let mut body = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"[..len].to_string();
                if esc < len {
                    body.replace_range(esc..esc + 1, "\\\"");
                }
                let line = format!(r#"{{"s":"{body}","x":"{body}","a":1}}"#);
                let want: String = serde_json::from_str(&format!("\"{body}\"")).unwrap();
                let t = run(&line).unwrap();
                assert_eq!(t.s, vec![want], "{line}");
                assert_eq!(t.a, vec![1.0], "{line}");
            }
        }
        assert!(run(r#"{"s":"abcdefghijklmnopqrstuvwxyz\q"}"#).is_err());
        assert!(run(r#"{"s":"abcdefghijklmnopqrstuvwxyz"#).is_err());
    }

    #[test]
    fn keys_match_with_or_without_the_compact_colon_path() {
        for (line, want) in [
            (r#"{"a":1}"#, vec![1.0]),
            (r#"{"a" : 1}"#, vec![1.0]),
            (r#"{"x:y":2,"a":1}"#, vec![1.0]),
            (r#"{"\u0061":3,"a\"":4,"a":1}"#, vec![1.0]),
            (r#"{"a_key_longer_than_sixteen_bytes":5,"a":1}"#, vec![1.0]),
            (r#"{"a":1,"o":{"a":2},"l":[{"a":3}]}"#, vec![1.0, 2.0, 3.0]),
        ] {
            assert_eq!(run(line).unwrap().a, want, "{line}");
        }
        for bad in [
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a";1}"#,
            r#"{"a"1}"#,
            r#"{"a":"#,
            r#"{"x":{"k" 1}}"#,
            r#"{"x":{"k":}}"#,
            r#"{"x":{"k":01}}"#,
            r#"{"x":{1:2}}"#,
            r#"{"x":[{"k\x":1}]}"#,
        ] {
            assert!(run(bad).is_err(), "{bad} accepted");
        }
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
