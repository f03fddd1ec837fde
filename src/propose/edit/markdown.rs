//! Adds or amends a guidance section in a skill markdown file (`skill_improve`).
//! Text that came from logs is attacker-controllable, so it is only ever rendered as
//! an escaped blockquote: no HTML, links, images, code or headings can be injected.

/// Longest quoted line kept (in characters); longer log lines are cut with `…`.
const MAX_QUOTED: usize = 500;

/// Adds (or amends, if a heading with that title exists) a `## {title}` section;
/// `quoted` lines come from logs and are rendered as an escaped blockquote. Amending
/// appends to the end of the existing section; the same text is never added twice.
pub fn upsert_section(src: &str, title: &str, body: &str, quoted: &[String]) -> String {
    let title_line: String = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown_title = escape(&title_line);
    let mut block = body.trim_matches('\n').trim_end().to_string();
    let quote = blockquote(quoted);
    if !quote.is_empty() {
        if !block.is_empty() {
            block.push_str("\n\n");
        }
        block.push_str(&quote);
    }
    let lines: Vec<&str> = src.split_inclusive('\n').collect();
    let headings = headings(&lines);
    let hit = headings.iter().position(|(_, _, text)| {
        text.eq_ignore_ascii_case(&title_line) || text.eq_ignore_ascii_case(&shown_title)
    });
    let Some(h) = hit else {
        let mut out = src.to_string();
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.ends_with("\n\n") {
                out.push('\n');
            }
        }
        out.push_str(&format!("## {shown_title}\n"));
        if !block.is_empty() {
            out.push_str(&format!("\n{block}\n"));
        }
        return out;
    };
    let (at, level, _) = headings[h];
    let end = headings[h + 1..]
        .iter()
        .find(|(_, l, _)| *l <= level)
        .map_or(lines.len(), |(i, _, _)| *i);
    let section: String = lines[at + 1..end].concat();
    if block.is_empty() || section.contains(&block) {
        return src.to_string();
    }
    let mut out: String = lines[..=at].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let kept = section.trim_end();
    if !kept.trim().is_empty() {
        out.push_str(kept);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&block);
    out.push('\n');
    if end < lines.len() {
        out.push('\n');
        out.push_str(&lines[end..].concat());
    }
    out
}

/// (line index, level, text) of every ATX heading outside fenced code blocks.
fn headings(lines: &[&str]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let t = line.trim_start_matches(' ');
        if indent <= 3 {
            let ticks = t.chars().take_while(|&c| c == '`').count();
            let tildes = t.chars().take_while(|&c| c == '~').count();
            let run = if ticks >= 3 {
                Some(('`', ticks))
            } else if tildes >= 3 {
                Some(('~', tildes))
            } else {
                None
            };
            match (fence, run) {
                (None, Some(r)) => {
                    fence = Some(r);
                    continue;
                }
                (Some((c, n)), Some((rc, rn)))
                    if c == rc && rn >= n && t.trim_start_matches(c).trim().is_empty() =>
                {
                    fence = None;
                    continue;
                }
                _ => {}
            }
        }
        if fence.is_some() || indent > 3 {
            continue;
        }
        let level = t.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&level) {
            continue;
        }
        let rest = &t[level..];
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            continue;
        }
        let text = rest.trim();
        let text = text.trim_end_matches('#');
        let text = if text.is_empty() || text.ends_with([' ', '\t']) {
            text.trim()
        } else {
            rest.trim()
        };
        out.push((i, level, text.to_string()));
    }
    out
}

/// Log lines as one blockquote, one `>` paragraph per entry.
fn blockquote(quoted: &[String]) -> String {
    let mut parts = Vec::new();
    for q in quoted {
        let lines: Vec<String> = q
            .split(['\n', '\r'])
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let l = l.trim();
                let cut: String = l.chars().take(MAX_QUOTED).collect();
                let cut = if cut.len() < l.len() {
                    format!("{cut}…")
                } else {
                    cut
                };
                format!("> {}", escape(&cut))
            })
            .collect();
        if !lines.is_empty() {
            parts.push(lines.join("\n"));
        }
    }
    parts.join("\n>\n")
}

/// Escapes text so markdown renders it literally: HTML-significant characters become
/// entities, every other markdown-significant punctuation is backslash-escaped, and
/// autolinks (`http://`, `www.`, `a@b`) are broken up.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut at_start = true;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '!'
            | '|' | '~' | ':' | '@' | '=' | '"' | '\'' | '$' | '^' => {
                out.push('\\');
                out.push(c);
            }
            // `1.` at a line start would open an ordered list; `www.` would autolink.
            '.' if (at_start && i > 0 && chars[..i].iter().all(char::is_ascii_digit))
                || (i >= 3
                    && chars[i - 3..i]
                        .iter()
                        .collect::<String>()
                        .eq_ignore_ascii_case("www")) =>
            {
                out.push_str("\\.");
            }
            c if c.is_control() && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        if !c.is_ascii_digit() {
            at_start = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKILL: &str = "# Skill: explore narratives\n\nIntro text.\n\n## When to branch\n\nBranch when divergence is high.\n\n```md\n## Avoiding backtracks\n```\n\n## Sources\n\n- the graph\n";

    #[test]
    fn adds_a_new_section_at_the_end() {
        let out = upsert_section(
            SKILL,
            "Avoiding backtracks",
            "Prefer unvisited nodes.",
            &["BACKTRACK at n42".into()],
        );
        assert!(out.starts_with(SKILL), "existing bytes kept");
        assert_eq!(
            &out[SKILL.len()..],
            "\n## Avoiding backtracks\n\nPrefer unvisited nodes.\n\n> BACKTRACK at n42\n"
        );
    }

    #[test]
    fn amends_an_existing_section_once() {
        let out = upsert_section(SKILL, "when to branch", "Also branch on plateaus.", &[]);
        assert!(out.contains(
            "Branch when divergence is high.\n\n```md\n## Avoiding backtracks\n```\n\nAlso branch on plateaus.\n\n## Sources\n"
        ), "{out}");
        assert!(out.ends_with("## Sources\n\n- the graph\n"));
        assert_eq!(
            upsert_section(&out, "When to branch", "Also branch on plateaus.", &[]),
            out
        );
        let last = upsert_section(SKILL, "Sources", "- logs", &["x".into()]);
        assert!(last.ends_with("- the graph\n\n- logs\n\n> x\n"), "{last}");
    }

    #[test]
    fn quoted_log_text_cannot_inject_markup() {
        let hostile = vec![
            "<script>alert(1)</script> & <img src=x onerror=y>".to_string(),
            "[click](http://evil.example) ![img](x.png) www.evil.example me@evil.example"
                .to_string(),
            "```\n# Heading\n- item\n1. first\n===\n---".to_string(),
            "`code` *em* _u_ \\ | table |".to_string(),
        ];
        let out = upsert_section("", "Findings", "", &hostile);
        let quote_lines: Vec<&str> = out.lines().skip(2).collect();
        for l in &quote_lines {
            assert!(l.starts_with('>'), "{l:?}");
            let body = &l[1..];
            assert!(!body.contains('<'), "{l}");
            assert!(!body.contains("]("), "{l}");
            assert!(!body.contains("```"), "{l}");
            assert!(!body.contains("http://"), "{l}");
            assert!(!body.contains("www."), "{l}");
            assert!(!body.trim_start().starts_with('#'), "{l}");
            assert!(!body.trim_start().starts_with("- "), "{l}");
            assert!(!body.trim_start().starts_with("1."), "{l}");
            // Every markdown-significant character is escaped or an entity.
            let unescaped = body
                .char_indices()
                .filter(|(i, c)| {
                    "`*_[]!#|".contains(*c) && (*i == 0 || body.as_bytes()[i - 1] != b'\\')
                })
                .count();
            assert_eq!(unescaped, 0, "{l}");
        }
        assert!(out.contains("&lt;script&gt;"));
        assert!(out.contains("> \\#"));
    }

    #[test]
    fn title_is_one_escaped_line() {
        let out = upsert_section("", "Bad\n# title <b>", "x", &[]);
        assert!(out.starts_with("## Bad \\# title &lt;b&gt;\n"), "{out}");
        let again = upsert_section(&out, "Bad\n# title <b>", "y", &[]);
        assert_eq!(again.matches("## ").count(), 1, "{again}");
    }
}
