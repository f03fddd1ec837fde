//! Renders a new value in the style of the literal it replaces: integers stay integers
//! (same radix, same digit grouping), floats keep their decimals or exponent form,
//! quoted strings stay quoted and booleans keep their spelling's case.

use super::Value;
use anyhow::{bail, Result};

/// Significant digits a tuned float is shown with when the old literal had fewer decimals.
const SIGNIFICANT: i32 = 4;

pub(super) fn render(old_text: &str, old: &Value, new: &Value) -> Result<String> {
    if let Some((prefix, quote, inner)) = split_quoted(old_text) {
        let content = match (old, new) {
            (_, Value::Str(s)) => return quote_like(prefix, quote, s),
            (Value::Str(s), Value::Int(_) | Value::Float(_)) => {
                let inner_val = number_value(s.trim())
                    .ok_or_else(|| anyhow::anyhow!("the quoted text is not a number"))?;
                render_number(s.trim(), &inner_val, new)?
            }
            _ => bail!("a quoted string can only take a string or number"),
        };
        let _ = inner;
        return quote_like(prefix, quote, &content);
    }
    match (old, new) {
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            render_number(old_text, old, new)
        }
        (Value::Bool(_), Value::Bool(b)) => Ok(render_bool(old_text, *b)),
        (Value::Str(_), Value::Str(s)) => {
            // An unquoted string (a YAML plain scalar) stays plain when it safely can.
            if is_plain_safe(s) {
                Ok(s.clone())
            } else {
                quote_like("", '"', s)
            }
        }
        (o, n) => bail!("type change from {} to {} is refused", kind(o), kind(n)),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Bool(_) => "boolean",
        Value::Str(_) => "string",
    }
}

/// (`prefix`, quote char, inner text) of a one-line quoted literal such as `r'x'`.
fn split_quoted(text: &str) -> Option<(&str, char, &str)> {
    let start = text.find(['"', '\''])?;
    let prefix = &text[..start];
    if !prefix.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let quote = text[start..].chars().next()?;
    let rest = &text[start + 1..];
    let inner = rest.strip_suffix(quote)?;
    Some((prefix, quote, inner))
}

fn quote_like(prefix: &str, quote: char, s: &str) -> Result<String> {
    if !prefix.is_empty() && !prefix.eq_ignore_ascii_case("u") {
        bail!("only plain string literals can be rewritten, not `{prefix}`-prefixed ones");
    }
    let simple = !s.contains(['\\', '"', '\'']) && !s.chars().any(char::is_control);
    if quote == '\'' && simple {
        return Ok(format!("{prefix}'{s}'"));
    }
    // Double quotes with backslash escapes read the same in Python, YAML, TOML and JSON.
    let mut out = format!("{prefix}\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

fn is_plain_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' '))
        && !s.starts_with(['-', ' ', '.'])
        && !s.ends_with(' ')
        && number_value(s).is_none()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
        )
}

fn render_bool(old_text: &str, b: bool) -> String {
    let word = if b { "true" } else { "false" };
    if old_text.chars().all(|c| c.is_ascii_uppercase()) {
        word.to_ascii_uppercase()
    } else if old_text.starts_with(|c: char| c.is_ascii_uppercase()) {
        let mut w = word.to_string();
        w[..1].make_ascii_uppercase();
        w
    } else {
        word.to_string()
    }
}

/// Value of a number's text (sign, underscores, radix prefixes, exponents).
pub(crate) fn number_value(text: &str) -> Option<Value> {
    let t = text.trim();
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, t[1..].trim_start()),
        b'+' => (false, t[1..].trim_start()),
        _ => (false, t),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    if !clean.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let lower = clean.to_ascii_lowercase();
    for (p, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(p) {
            let v = i64::from_str_radix(digits, radix).ok()?;
            return Some(Value::Int(if neg { -v } else { v }));
        }
    }
    if clean.bytes().all(|b| b.is_ascii_digit()) {
        let v: i64 = format!("{}{clean}", if neg { "-" } else { "" })
            .parse()
            .ok()?;
        return Some(Value::Int(v));
    }
    if !clean
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v: f64 = clean.parse().ok()?;
    Some(Value::Float(if neg { -v } else { v }))
}

fn render_number(old_text: &str, old: &Value, new: &Value) -> Result<String> {
    let x = match new {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => unreachable!("callers pass numbers"),
    };
    if !x.is_finite() {
        bail!("{x} is not a finite number");
    }
    let plus = old_text.trim_start().starts_with('+') && x >= 0.0;
    let sign = if x < 0.0 {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };
    let body = old_text
        .trim()
        .trim_start_matches(['-', '+'])
        .trim_start()
        .to_ascii_lowercase();
    match old {
        Value::Int(_) => {
            let n = match new {
                Value::Int(i) => *i,
                _ => {
                    if x.fract() != 0.0 || x.abs() >= 9.2e18 {
                        bail!("the literal is an integer and {x} is not integral");
                    }
                    x as i64
                }
            };
            let mag = n.unsigned_abs();
            let digits = if body.starts_with("0x") {
                format!("0x{mag:x}")
            } else if body.starts_with("0o") {
                format!("0o{mag:o}")
            } else if body.starts_with("0b") {
                format!("0b{mag:b}")
            } else if body.contains('_') {
                group_thousands(&mag.to_string())
            } else {
                mag.to_string()
            };
            let sign = if n < 0 { "-" } else { sign };
            Ok(format!("{sign}{digits}"))
        }
        Value::Float(_) => {
            let a = x.abs();
            if body.contains('e') {
                Ok(format!("{sign}{}", exponent_form(&body, a)))
            } else {
                let old_dec = body
                    .split_once('.')
                    .map(|(_, d)| d.chars().filter(char::is_ascii_digit).count())
                    .unwrap_or(0);
                let d = old_dec.max(needed_decimals(a)).max(1);
                Ok(format!("{sign}{a:.d$}"))
            }
        }
        _ => unreachable!("callers pass numbers"),
    }
}

/// Decimals that show `a` exactly, but no more than 4 significant digits need.
fn needed_decimals(a: f64) -> usize {
    if a == 0.0 {
        return 0;
    }
    let mag = a.log10().floor() as i32;
    let sig = (SIGNIFICANT - 1 - mag).max(0) as usize;
    (0..=sig)
        .find(|&d| format!("{a:.d$}").parse::<f64>().ok() == Some(a))
        .unwrap_or(sig)
}

fn exponent_form(old_body: &str, a: f64) -> String {
    let old_mant_dec = old_body
        .split('e')
        .next()
        .and_then(|m| m.split_once('.'))
        .map(|(_, d)| d.len())
        .unwrap_or(0);
    let s = format!("{a:.*e}", (SIGNIFICANT - 1) as usize);
    let (mant, exp) = s.split_once('e').expect("{:e} has an exponent");
    let (int, dec) = mant.split_once('.').unwrap_or((mant, ""));
    let mut dec = dec.trim_end_matches('0').to_string();
    while dec.len() < old_mant_dec.max(1) {
        dec.push('0');
    }
    format!("{int}.{dec}e{exp}")
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(old: &str, new: Value) -> String {
        let v = number_value(old)
            .or_else(|| split_quoted(old).map(|(_, _, s)| Value::Str(s.to_string())))
            .unwrap_or(Value::Bool(true));
        render(old, &v, &new).unwrap()
    }

    #[test]
    fn floats_keep_style() {
        assert_eq!(r("0.25", Value::Float(0.3)), "0.30");
        assert_eq!(r("0.25", Value::Float(0.275)), "0.275");
        assert_eq!(r("0.25", Value::Float(0.123456)), "0.1235");
        assert_eq!(r("0.5", Value::Float(2.0)), "2.0");
        assert_eq!(r("-0.5", Value::Float(0.45)), "0.45");
        assert_eq!(r("0.5", Value::Float(-0.45)), "-0.45");
        assert_eq!(r("+0.5", Value::Float(0.45)), "+0.45");
        assert_eq!(r("1.000", Value::Float(1.5)), "1.500");
        assert_eq!(r("1e-3", Value::Float(0.0015)), "1.5e-3");
        assert_eq!(r("2.50e2", Value::Float(300.0)), "3.00e2");
        assert_eq!(r("0.00012", Value::Float(0.000123456)), "0.0001235");
        assert_eq!(r("5.", Value::Float(6.0)), "6.0");
    }

    #[test]
    fn ints_stay_ints() {
        assert_eq!(r("30", Value::Float(45.0)), "45");
        assert_eq!(r("1_000", Value::Float(1500000.0)), "1_500_000");
        assert_eq!(r("0x10", Value::Int(255)), "0xff");
        assert_eq!(r("-3", Value::Int(4)), "4");
        let err = render("30", &Value::Int(30), &Value::Float(30.5)).unwrap_err();
        assert!(err.to_string().contains("not integral"), "{err}");
        assert!(render("30", &Value::Int(30), &Value::Float(f64::NAN)).is_err());
    }

    #[test]
    fn quoted_stays_quoted() {
        assert_eq!(r("\"30\"", Value::Float(45.0)), "\"45\"");
        assert_eq!(r("'0.5'", Value::Float(0.55)), "'0.55'");
        assert_eq!(r("'abc'", Value::Str("x y".into())), "'x y'");
        assert_eq!(r("'abc'", Value::Str("it's".into())), "\"it's\"");
        assert_eq!(r("\"a\"", Value::Str("q\"\n".into())), "\"q\\\"\\n\"");
        assert!(render("f'x'", &Value::Str("x".into()), &Value::Str("y".into())).is_err());
    }

    #[test]
    fn bools_keep_case() {
        assert_eq!(
            render("True", &Value::Bool(true), &Value::Bool(false)).unwrap(),
            "False"
        );
        assert_eq!(
            render("true", &Value::Bool(true), &Value::Bool(false)).unwrap(),
            "false"
        );
        assert_eq!(
            render("TRUE", &Value::Bool(true), &Value::Bool(false)).unwrap(),
            "FALSE"
        );
        assert!(render("true", &Value::Bool(true), &Value::Float(1.0)).is_err());
    }

    #[test]
    fn numbers_parse() {
        assert_eq!(number_value("1_000"), Some(Value::Int(1000)));
        assert_eq!(number_value("-0.25"), Some(Value::Float(-0.25)));
        assert_eq!(number_value("1e-3"), Some(Value::Float(0.001)));
        assert_eq!(number_value("0b101"), Some(Value::Int(5)));
        assert_eq!(number_value("99999999999999999999"), None);
        assert_eq!(number_value("abc"), None);
        assert_eq!(number_value("1__0"), None);
        assert_eq!(number_value("-"), None);
    }
}
