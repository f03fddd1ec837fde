//! The one writer every command prints through: stdout that never panics (a reader
//! that closed the pipe ends the output quietly, exit 141), JSON with its `schema`
//! version, colour only on a terminal without `NO_COLOR`, and stderr lines that
//! wait for the progress display.

use improve::error::exit;
use serde::Serialize;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

/// The version of the JSON every command prints with `--json` (the `schema` field):
/// raised when a field changes meaning or goes away; new fields keep it.
pub const SCHEMA: u32 = 1;

/// Prints one line on stdout (see [`line`]), like `println!`.
macro_rules! outln {
    () => {
        $crate::cli::out::line("")
    };
    ($($arg:tt)*) => {
        $crate::cli::out::line(format!($($arg)*))
    };
}

struct State {
    /// The reader went away: later output is dropped and the exit code is 141.
    closed: bool,
    /// Another write error (a full disk): reported once at the end.
    failed: Option<io::Error>,
    color: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    closed: false,
    failed: None,
    color: false,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// When to colour stdout (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set (and not empty) or `TERM=dumb`.
    Auto,
    /// Also through a pipe or into a file.
    Always,
    /// Not even on a terminal.
    Never,
}

/// Whether output to a stream is coloured: `always` and `never` as said; `auto` only
/// on a terminal, without a non-empty `NO_COLOR` (no-color.org) and not `TERM=dumb`.
pub fn color_enabled(
    when: ColorWhen,
    terminal: bool,
    no_color: Option<&str>,
    term: Option<&str>,
) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb"),
    }
}

/// Decides colour for stdout and stderr from the flag, the streams and the
/// environment. Returns whether stderr is coloured (for the log lines).
pub fn init(when: ColorWhen) -> bool {
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    let decide =
        |terminal: bool| color_enabled(when, terminal, no_color.as_deref(), term.as_deref());
    state().color = decide(io::stdout().is_terminal());
    decide(io::stderr().is_terminal())
}

/// Whether stdout is coloured.
pub fn colored() -> bool {
    state().color
}

/// Writes text on stdout as it is. After the reader closed the pipe, nothing more
/// is written (and nothing panics); the command goes on to its end.
pub fn text(s: &str) {
    bytes(s.as_bytes());
}

/// Writes bytes on stdout (see [`text`]).
pub fn bytes(b: &[u8]) {
    let mut st = state();
    if st.closed || st.failed.is_some() {
        return;
    }
    let written = super::progress::suspend(|| {
        let mut o = io::stdout().lock();
        o.write_all(b).and_then(|()| o.flush())
    });
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => st.closed = true,
        Err(e) => st.failed = Some(e),
    }
}

/// Writes one line on stdout.
pub fn line(s: impl AsRef<str>) {
    let s = s.as_ref();
    let mut buf = String::with_capacity(s.len() + 1);
    buf.push_str(s);
    buf.push('\n');
    text(&buf);
}

/// The value as a JSON object with the `schema` version: an object gets the field,
/// anything else is wrapped as `{"schema": N, key: value}`.
pub fn with_schema<T: Serialize>(key: &str, v: &T) -> anyhow::Result<serde_json::Value> {
    let v = serde_json::to_value(v)?;
    Ok(match v {
        serde_json::Value::Object(mut m) => {
            m.insert("schema".into(), SCHEMA.into());
            serde_json::Value::Object(m)
        }
        other => serde_json::json!({"schema": SCHEMA, key: other}),
    })
}

/// Prints a JSON object (see [`with_schema`]) on stdout, pretty.
pub fn json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    line(serde_json::to_string_pretty(&with_schema("result", v)?)?);
    Ok(())
}

/// Writes one line on stderr; a closed stderr is ignored (never a panic).
pub fn err_line(s: impl AsRef<str>) {
    let mut buf = String::from(s.as_ref());
    buf.push('\n');
    let _ = super::progress::suspend(|| io::stderr().lock().write_all(buf.as_bytes()));
}

/// What the output adds to the exit code at the end: 141 when the reader closed
/// stdout early, 1 when it could not be written for another reason (said on stderr).
pub fn finish() -> Option<i32> {
    let mut st = state();
    if !st.closed && st.failed.is_none() {
        if let Err(e) = io::stdout().lock().flush() {
            if e.kind() == io::ErrorKind::BrokenPipe {
                st.closed = true;
            } else {
                st.failed = Some(e);
            }
        }
    }
    if st.closed {
        return Some(exit::PIPE);
    }
    let e = st.failed.take()?;
    drop(st);
    err_line(format!("improve: error: writing the output: {e}"));
    Some(exit::FAILURE)
}

/// Styles for the few words worth colouring.
#[derive(Debug, Clone, Copy)]
pub enum Paint {
    Bold,
    Red,
    Green,
    Yellow,
}

/// `s` in the style when stdout is coloured, else as it is. Pad before painting:
/// the escapes have no width but count as characters.
pub fn paint(style: Paint, s: &str) -> String {
    if !colored() {
        return s.to_string();
    }
    let code = match style {
        Paint::Bold => "1",
        Paint::Red => "1;31",
        Paint::Green => "32",
        Paint::Yellow => "33",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// A section heading, bold on a terminal.
pub fn heading(s: impl AsRef<str>) {
    line(paint(Paint::Bold, s.as_ref()));
}

/// Text that came from the system's logs or records, safe for a terminal: control
/// characters (escapes, BEL, raw newlines) are shown escaped.
pub fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    improve::sanitize::terminal(s)
}

/// Multi-line text from outside (a patch, a command's output) safe for a terminal:
/// lines and tabs are kept, every other control character is shown escaped.
pub fn safe_lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| {
            l.split('\t')
                .map(|part| improve::sanitize::terminal(part).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect()
}

/// `1 open proposal`, `2 open proposals`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use ColorWhen::*;
        assert!(color_enabled(Auto, true, None, Some("xterm")));
        assert!(!color_enabled(Auto, false, None, Some("xterm")));
        assert!(!color_enabled(Auto, true, Some("1"), Some("xterm")));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(color_enabled(Auto, true, Some(""), None));
        assert!(!color_enabled(Auto, true, None, Some("dumb")));
        assert!(color_enabled(Always, false, Some("1"), None));
        assert!(!color_enabled(Never, true, None, None));
    }

    #[test]
    fn json_objects_carry_the_schema_and_lists_are_wrapped() {
        let v = with_schema("proposals", &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["a"], 1);
        let v = with_schema("proposals", &vec![1, 2]).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["proposals"], serde_json::json!([1, 2]));
    }

    #[test]
    fn plurals_and_escapes() {
        assert_eq!(
            count(1, "open proposal", "open proposals"),
            "1 open proposal"
        );
        assert_eq!(
            count(0, "open proposal", "open proposals"),
            "0 open proposals"
        );
        assert_eq!(
            safe_lines("a\tb\x1b[2J\nc\x07"),
            vec!["a\tb\\x1b[2J".to_string(), "c\\x07".to_string()]
        );
    }
}
