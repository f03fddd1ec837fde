//! The rendering is checked with a real CommonMark + GFM-tables parser: escaped log
//! text must come back as the same plain text (no link, image, HTML, emphasis, code,
//! mention or URL), code spans as the same code, table cells must stay in their cell.

use super::*;
use proptest::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_MATH
}

/// Text a reader sees: line ends become spaces, control characters go away.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !c.is_control())
        .collect()
}

/// Renders `md` and returns its text, failing on anything that is not plain text.
fn plain_text(md: &str) -> Result<String, String> {
    let mut text = String::new();
    for ev in Parser::new_ext(md, options()) {
        match ev {
            Event::Text(t) => text.push_str(&t),
            Event::Start(Tag::Paragraph) | Event::End(_) => {}
            other => return Err(format!("{other:?} in {md:?}")),
        }
    }
    Ok(text)
}

/// Mentions, references and URLs a forge would link in text.
fn linkable(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for w in chars.windows(2) {
        if matches!(w[0], '@' | '#' | '!' | '~' | '%' | '&' | '$')
            && (w[1].is_alphanumeric() || w[1] == '_' || w[1] == '-')
        {
            return Some(format!("{}{}", w[0], w[1]));
        }
    }
    let lower = text.to_lowercase();
    ["://", "www."]
        .into_iter()
        .find(|p| lower.contains(p))
        .map(str::to_string)
}

fn escapes_to_plain(s: &str) -> Result<(), String> {
    let md = escape_md(s);
    let text = plain_text(&md)?;
    if let Some(l) = linkable(&text) {
        return Err(format!("{l:?} stays linkable in {md:?}"));
    }
    let seen = text.replace(JOINER, "");
    // Leading/trailing spaces of a paragraph are not shown.
    if seen.trim() != shown(s).trim() {
        return Err(format!("{s:?} shows as {seen:?} (markdown {md:?})"));
    }
    Ok(())
}

const HOSTILE: &[&str] = &[
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<!-- hidden --> after",
    "[x](javascript:alert(1))",
    "![i](http://evil.example/i.png)",
    "[ref]: http://evil.example",
    "@team please look, cc @alice-b and a@b.example",
    "fixes #12 and GitLab !3 ~label %milestone &4 $5",
    "visit http://evil.example or WWW.evil.example now",
    "`rm -rf /` and ``double`` and ` spaced `",
    "a | b || c",
    "line one\nline two\r\n- not a list\n# not a heading",
    "**bold** __bold__ *em* _em_ ~~strike~~ $x^2$",
    "- starts like a list",
    "+ starts like a list",
    "1. starts like an ordered list",
    "\t\t\t\tindented like code",
    "        eight spaces",
    "> starts like a quote",
    "# starts like a heading",
    "=== setext",
    "\\`escaped already\\`",
    "&amp; &#64;team &lt;b&gt;",
    "tab\there and bell\u{7}",
    ":smile: <https://autolink.example>",
];

#[test]
fn hostile_log_text_is_shown_not_rendered() {
    for s in HOSTILE {
        escapes_to_plain(s).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_table_cell_stays_one_cell() {
    for s in HOSTILE {
        let md = format!(
            "| a | b | c |\n|---|---|---|\n| x | {} | z |\n",
            escape_md(s)
        );
        let mut cells = 0;
        let mut middle = String::new();
        for ev in Parser::new_ext(&md, options()) {
            match ev {
                Event::Start(Tag::TableCell) => cells += 1,
                Event::Text(t) if cells == 5 => middle.push_str(&t),
                Event::Html(h) | Event::InlineHtml(h) => panic!("HTML {h:?} from {s:?}"),
                Event::Start(t @ (Tag::Link { .. } | Tag::Image { .. })) => {
                    panic!("{t:?} from {s:?}")
                }
                _ => {}
            }
        }
        assert_eq!(cells, 6, "{s:?} split the row: {md}");
        assert_eq!(middle.replace(JOINER, "").trim(), shown(s).trim(), "{md}");
    }
}

fn code_of(md: &str) -> Vec<String> {
    Parser::new_ext(md, options())
        .filter_map(|ev| match ev {
            Event::Code(c) => Some(c.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn code_spans_need_no_backslash() {
    for s in [
        "SIBLING_DIVERGENCE_WEIGHT",
        "a`b",
        "``x``",
        "`",
        " padded ",
        "steps[0].max_retries",
        "LINK_FACTORS['supports']",
    ] {
        let span = code_span(s);
        assert_eq!(code_of(&span), vec![s.to_string()], "{span}");
        if !s.contains('\\') {
            assert!(!span.contains('\\'), "{span}");
        }
    }
}

#[test]
fn plurals_are_right() {
    assert_eq!(plural(1, "occurrence", "occurrences"), "1 occurrence");
    assert_eq!(plural(2, "occurrence", "occurrences"), "2 occurrences");
    assert_eq!(plural(0, "occurrence", "occurrences"), "0 occurrences");
}

#[test]
fn fill_is_one_pass() {
    let out = fill(
        "{{a}} {{b}} {{missing}} {{",
        &[("a", "{{b}}".into()), ("b", "B".into())],
    );
    assert_eq!(out, "{{b}} B {{missing}} {{");
}

fn proposal(hostile: &str, occurrences: u64) -> Proposal {
    serde_json::from_value(serde_json::json!({
        "id": "P-0007", "type": "constant_tune",
        "title": format!("P-0007: tune SIBLING_DIVERGENCE_WEIGHT ({hostile})"),
        "status": "awaiting_approval", "created": "2026-01-05T00:00:00Z", "cycle": "C-000003",
        "pattern": {"signature": format!("recurring_anomaly:{hostile}"),
            "kind": "recurring_anomaly", "subject": hostile, "occurrences": occurrences,
            "layer": "physics", "rule": "r1", "confidence": 0.8,
            "why": format!("{hostile} recurs"), "explanation": "Divergence is weighted too low.",
            "evidence": [
                {"file": "logs/traversal/traversal_a.jsonl", "line": 12,
                 "ts": "2026-01-04T10:00:00Z", "value": 0.25, "detail": hostile},
                {"file": "logs/a|b.jsonl", "line": 3, "detail": "pipe in the file name"}
            ]},
        "target": {"file": "runtime/physics/constants.py", "name": "SIBLING_DIVERGENCE_WEIGHT"},
        "change": {"summary": "SIBLING_DIVERGENCE_WEIGHT 0.10 -> 0.20",
            "file": "runtime/physics/constants.py", "old_value": "0.10", "new_value": "0.20",
            "document_only": false},
        "rationale": format!("Because {hostile}."), "risk": "low", "complexity": 1.0,
        "target_metric": {"name": "sibling_divergence", "direction": "higher"},
        "validation_plan": {"mode": "shadow", "description": "replay on baseline and candidate"},
        "rollback_plan": "`git revert` of the deploy commit.", "score": 1.0,
        "proven_fix": false, "branch": "improve/proposal/P-0007", "base_commit": "",
        "branch_commit": "", "tier": "approve"
    }))
    .unwrap()
}

fn result() -> ValidationSummary {
    ValidationSummary {
        mode: "shadow".into(),
        verdict: "PASSED".into(),
        reason: "1 of 1 judged metrics passed".into(),
        metrics: vec![MetricRow {
            name: "sibling_divergence".into(),
            baseline: Some(0.61),
            candidate: Some(0.74),
            effect: Some(0.2131),
            interval: Some((0.08, 0.17)),
            samples: Some((40, 40)),
            status: "pass".into(),
        }],
    }
}

#[test]
fn the_body_tells_a_reviewer_what_they_need() {
    let p = proposal("LOW_SIBLING_DIVERGENCE", 1);
    let tier = TierSummary {
        tier: "approve".into(),
        why: "needs a human's review".into(),
    };
    let body = pr_body_with(&p, Some(&result()), Some(&tier));
    for needle in [
        "### Summary",
        "### What was found",
        "### Rationale",
        "### Risk",
        "### Validation plan",
        "### Validation result",
        "### Tier: what a merge does",
        "### Rollback plan",
        "1 occurrence.",
        "| Where | Time | Value | Detail |",
        "| `logs/traversal/traversal_a.jsonl:12` | 2026-01-04T10:00:00Z | 0.25 |",
        "**PASSED** in `shadow` mode",
        "| `sibling_divergence` | 0.61 | 0.74 | +21.3% better | 0.08 to 0.17 | 40 / 40 | pass |",
        "**APPROVE** (needs a human's review): waits for a human: merging approves and deploys it.",
        "`SIBLING_DIVERGENCE_WEIGHT` in `runtime/physics/constants.py`: `0.10` → `0.20`",
    ] {
        assert!(body.contains(needle), "{needle:?} missing in\n{body}");
    }
    assert!(!body.contains("1 occurrences"), "{body}");
    // No code span carries a backslash (the forge would show it).
    for code in code_of(&body) {
        assert!(!code.contains('\\'), "{code:?} in\n{body}");
    }
    let plan_only = pr_body(&proposal("X", 3));
    assert!(plan_only.contains("3 occurrences"), "{plan_only}");
    assert!(plan_only.contains("Not run yet"), "{plan_only}");
    // The recorded tier is used when none is given.
    assert!(
        plan_only.contains("**APPROVE**: waits for a human"),
        "{plan_only}"
    );
}

#[test]
fn hostile_text_in_every_field_renders_as_text() {
    for hostile in HOSTILE {
        let body = pr_body_with(&proposal(hostile, 2), Some(&result()), None);
        for ev in Parser::new_ext(&body, options()) {
            match ev {
                Event::Html(h) | Event::InlineHtml(h) => panic!("HTML {h:?} from {hostile:?}"),
                Event::Start(t @ (Tag::Link { .. } | Tag::Image { .. })) => {
                    panic!("{t:?} from {hostile:?}")
                }
                Event::Text(t) => {
                    assert!(linkable(&t).is_none(), "{t:?} from {hostile:?}")
                }
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_escapes_to_itself(s in "[ -~\n\t@#!<>`|*_\\[\\]\u{e9}\u{2192}]{0,40}") {
        prop_assert!(escapes_to_plain(&s).is_ok(), "{}", escapes_to_plain(&s).unwrap_err());
    }

    #[test]
    fn any_text_is_one_code_span(s in "[ -~`]{1,30}") {
        // All-space content is shown as is by CommonMark, and so is ours.
        let span = code_span(&s);
        prop_assert_eq!(code_of(&span), vec![s.clone()], "{}", span);
    }
}
