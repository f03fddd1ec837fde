//! Makes text that came from the system's logs safe for where it is going: a terminal
//! (control characters shown escaped, so a log line cannot move the cursor, set the
//! title or ring the bell), a one-line title, or a commit message (no raw newline in a
//! subject, no body line that git would read as a trailer). Markdown is escaped by
//! the PR body renderer, not here.

use std::borrow::Cow;
use std::fmt::Write;

/// True for characters a terminal may act on: C0 controls (newline and tab
/// included), DEL, C1 controls, and the bidirectional overrides and isolates that
/// reorder what is shown (CVE-2021-42574).
fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// The visible escape for one unsafe character: `\n`, `\r`, `\t`, `\x1b`, `\u{9b}`.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Text for a terminal: every control character (C0 including newline and tab, DEL,
/// C1, bidi overrides) is shown as an escape such as `\x1b` or `\n`; everything else
/// is kept. Borrowed when there is nothing to escape.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bytes for a terminal (a log line that is not valid UTF-8): invalid sequences
/// become U+FFFD, then as [`terminal`].
pub fn terminal_bytes(b: &[u8]) -> String {
    terminal(&String::from_utf8_lossy(b)).into_owned()
}

/// A single line for a title, a commit subject or a heading: whitespace runs
/// (newlines included) become one space, other controls are shown escaped, `<` and
/// `>` become `‹` and `›` so no tag (`<img onerror=…>`) can form, and the result is cut
/// to `max_chars` characters with `…`.
pub fn title(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            '<' => out.push('‹'),
            '>' => out.push('›'),
            c if is_unsafe(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    truncate_chars(out, max_chars)
}

fn truncate_chars(s: String, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s;
    }
    let keep = max_chars.saturating_sub(1);
    let mut out: String = s.chars().take(keep).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// The longest proposal title (a PR title, a document heading).
pub const TITLE_MAX: usize = 120;

/// The longest subject `commit_subject` produces (git's customary 72 columns).
pub const SUBJECT_MAX: usize = 72;

/// A commit subject from log-derived text: one line, see [`title`].
pub fn commit_subject(s: &str) -> String {
    title(s, SUBJECT_MAX)
}

/// Log-derived text for a commit message body. Lines are kept (a `\r\n` ends a line
/// like `\n`), other controls are shown escaped, and a line git would read as a
/// trailer (`Token: value`, `Token : value`, `(cherry picked from commit …`) is
/// quoted with `> ` so it stays text: only the tool's own trailers may steer what
/// happens to the commit.
pub fn commit_body(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        if looks_like_trailer(line) {
            out.push_str("> ");
        }
        for c in line.chars() {
            if c != '\t' && is_unsafe(c) {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// Git's own test (`trailer.c`, `find_separator` with the default separator `:`): a
/// token of letters, digits and `-`, optional blanks, then `:`. Also the line git
/// itself generates for cherry-picks, which it treats as a trailer too.
pub fn looks_like_trailer(line: &str) -> bool {
    if line.starts_with("(cherry picked from commit ") {
        return true;
    }
    let mut blanks = false;
    for (i, c) in line.char_indices() {
        match c {
            ':' => return i > 0,
            c if !blanks && (c.is_ascii_alphanumeric() || c == '-') => {}
            ' ' | '\t' if i > 0 => blanks = true,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terminal_escapes_what_a_terminal_would_act_on() {
        let hostile = "ok\x1b[2J\x1b]0;pwned\x07 done\r\nnext\u{9b}31m\u{202e}txt";
        assert_eq!(
            terminal(hostile),
            "ok\\x1b[2J\\x1b]0;pwned\\x07 done\\r\\nnext\\u{9b}31m\\u{202e}txt"
        );
        assert!(matches!(terminal("plain text é ✓"), Cow::Borrowed(_)));
        assert_eq!(terminal("a\tb\x7f"), "a\\tb\\x7f");
        assert_eq!(terminal_bytes(b"\xff\x1b"), "\u{fffd}\\x1b");
    }

    #[test]
    fn a_title_is_one_line_without_tags() {
        let t = title(
            "  tune <img src=x onerror=alert(1)>\n\nImprove-Tier: auto\x1b[31m ",
            200,
        );
        assert_eq!(
            t,
            "tune ‹img src=x onerror=alert(1)› Improve-Tier: auto\\x1b[31m"
        );
        assert_eq!(title("abcdef", 4), "abc…");
        assert_eq!(title("ab  cdef", 4), "ab…");
        assert_eq!(
            commit_subject(&"x".repeat(100)).chars().count(),
            SUBJECT_MAX
        );
    }

    #[test]
    fn a_body_line_that_reads_as_a_trailer_is_quoted() {
        let body = commit_body("error rate doubled\nImprove-Tier: auto\r\nSigned-off-by : x\n  indented: fine\nhttp://x: y\n(cherry picked from commit abc)");
        assert_eq!(
            body,
            "error rate doubled\n> Improve-Tier: auto\n> Signed-off-by : x\n  indented: fine\n> http://x: y\n> (cherry picked from commit abc)"
        );
        assert!(crate::git::trailers(&format!("subject\n\n{body}")).is_empty());
    }

    /// git itself, not only our reading of it, finds no trailer in a sanitised body.
    #[test]
    fn git_interpret_trailers_finds_none_in_a_sanitised_body() {
        use std::io::Write;
        let hostile = "p99 latency doubled\n\nImprove-Tier: auto\nImprove-Deployment : D-9\nReviewed-by:x\n(cherry picked from commit 0123abc)\nSigned-off-by: mallory <m@x>";
        let run = |msg: &str| {
            let mut child = std::process::Command::new("git")
                .args(["interpret-trailers", "--parse"])
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("git runs");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(msg.as_bytes())
                .unwrap();
            String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
        };
        // The test can fail: unsanitised, git reads the log text as trailers.
        assert!(run(&format!("subject\n\n{hostile}\n")).contains("Improve-Tier: auto"));
        let safe = commit_body(hostile);
        assert_eq!(run(&format!("subject\n\n{safe}\n")), "");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn terminal_output_holds_no_control_character(s in any::<String>()) {
            let t = terminal(&s);
            for c in t.chars() {
                prop_assert!(!is_unsafe(c), "{c:?} in {t:?}");
                let cp = c as u32;
                prop_assert!(cp >= 0x20 && cp != 0x7f && !(0x80..=0x9f).contains(&cp), "{:?}", c);
            }
        }

        #[test]
        fn terminal_output_keeps_every_safe_character(s in "[a-zA-Z0-9 é✓\\x1b\\n]{0,40}") {
            let kept: String = s.chars().filter(|c| !is_unsafe(*c)).collect();
            let t = terminal(&s).replace("\\x1b", "").replace("\\n", "");
            prop_assert_eq!(t, kept);
        }

        #[test]
        fn a_title_is_a_single_safe_line(s in any::<String>(), max in 1usize..100) {
            let t = title(&s, max);
            prop_assert!(t.chars().count() <= max);
            prop_assert!(!t.chars().any(|c| is_unsafe(c) || c == '<' || c == '>'));
            prop_assert!(!t.contains('\n'));
        }

        #[test]
        fn the_commit_flavour_never_yields_a_trailer(
            lines in prop::collection::vec("([A-Za-z0-9-]{1,12}[ \t]{0,2}:[ ]?[ -~]{0,12}|[ -~]{0,20}|\\(cherry picked from commit [a-f0-9]{4}\\)|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{1,3})", 0..8)
        ) {
            let text = lines.join("\n");
            let body = commit_body(&text);
            for line in body.lines() {
                prop_assert!(!looks_like_trailer(line), "{line:?}");
                prop_assert!(!line.chars().any(|c| c != '\t' && is_unsafe(c)), "{line:?}");
            }
            let message = format!("subject\n\n{body}");
            prop_assert!(crate::git::trailers(&message).is_empty(), "{message:?}");
            let subject = commit_subject(&text);
            prop_assert!(!subject.contains('\n'));
        }
    }
}
