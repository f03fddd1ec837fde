//! Renders pull-request bodies and proposal documents from `templates/`, in the forges'
//! markdown (GitHub, GitLab and Gitea all read CommonMark with GFM tables). Text that
//! came from logs is escaped: it is shown, never rendered as markup, a link, an image,
//! HTML, a mention or a reference.

use crate::observe::Evidence;
use crate::store::proposals::Proposal;

pub const PR_BODY: &str = include_str!("../../templates/pr_body.md");
pub const PROPOSAL_DOC: &str = include_str!("../../templates/proposal_doc.md");

/// Evidence rows shown before "… and N more".
const EVIDENCE_ROWS: usize = 10;

/// A validation result as a reviewer reads it, filled by the caller from whatever
/// record the validation phase keeps (this module does not depend on its type).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidationSummary {
    /// `unit_test`, `shadow`, `canary`, `ab`.
    pub mode: String,
    /// `PASSED`, `FAILED`, `INCONCLUSIVE`, `RUNNING`.
    pub verdict: String,
    /// One line: why that verdict.
    pub reason: String,
    pub metrics: Vec<MetricRow>,
}

/// One metric, baseline against candidate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricRow {
    pub name: String,
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    /// Relative effect, signed so that positive is better for the metric.
    pub effect: Option<f64>,
    /// Interval of the shift (candidate − baseline) at the judged confidence.
    pub interval: Option<(f64, f64)>,
    /// Samples (baseline, candidate), when the mode counts them.
    pub samples: Option<(usize, usize)>,
    /// `pass`, `fail`, `nodata`, `insufficient`.
    pub status: String,
}

/// The approval tier and why it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSummary {
    /// `auto`, `notify`, `approve`, `require`.
    pub tier: String,
    pub why: String,
}

/// Replaces `{{key}}` placeholders in one pass, so a value that contains `{{other}}`
/// stays as it is; unknown placeholders are left visible.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => match vars.iter().find(|(k, _)| *k == &after[..end]) {
                Some((_, v)) => {
                    out.push_str(v);
                    rest = &after[end + 2..];
                }
                None => {
                    out.push_str("{{");
                    rest = after;
                }
            },
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// U+2060 WORD JOINER: invisible, and it separates a sigil from the name after it, so
/// no forge reads `@team`, `#12`, `!3` or `http://` in log text as a mention, a
/// reference or a link.
const JOINER: char = '\u{2060}';

/// Escapes text from logs as one line of inline markdown, safe in a paragraph and in a
/// table cell: HTML characters become entities, markdown punctuation is
/// backslash-escaped, and mentions, references and bare URLs are broken up.
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for (pos, c) in s.char_indices() {
        let rest = &s[pos + c.len_utf8()..];
        let next = rest.chars().next();
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // Leading blanks are never shown, and four of them would start an
            // indented code block.
            ' ' | '\n' | '\r' | '\t' if out.is_empty() => {}
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '#' | '|' | '~' | '$' | '^' => {
                out.push('\\');
                out.push(c);
            }
            // A line that starts like a list item, a quote or a heading underline.
            '-' | '+' | '=' if out.trim().is_empty() => {
                out.push('\\');
                out.push(c);
            }
            // `1. ` at the start would be an ordered list.
            '.' if !out.is_empty() && out.chars().all(|c| c.is_ascii_digit()) => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
        // Sigils of mentions and references (`@user`, `#12`, GitLab's `!3`, `~label`,
        // `%milestone`, `&epic`, `$snippet`), the `://` of a URL and the `www.` of a
        // scheme-less one.
        let sigil = matches!(c, '@' | '#' | '!' | '~' | '%' | '&' | '$')
            && next.is_some_and(|n| n.is_alphanumeric() || n == '_' || n == '-');
        let url = c == ':' && rest.starts_with("//");
        let www = next == Some('.')
            && pos >= 2
            && s.get(pos - 2..pos + 1)
                .is_some_and(|w| w.eq_ignore_ascii_case("www"));
        if sigil || url || www {
            out.push(JOINER);
        }
    }
    out
}

/// `s` as a code span: the fence is one backtick longer than the longest run of
/// backticks inside, so nothing inside needs (or gets) a backslash.
pub fn code_span(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each side when both are there; a backtick at
    // either end would join the fence.
    let pad = s.starts_with('`')
        || s.ends_with('`')
        || (s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty());
    if pad {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// A code span for a table cell: a `|` would end the cell, and escaping it inside a
/// code span is renderer-specific, so such text is shown escaped instead.
fn code_cell(s: &str) -> String {
    if s.contains('|') {
        escape_md(s)
    } else {
        code_span(s)
    }
}

/// `1 occurrence`, `2 occurrences`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A number as a reviewer reads it: at most four decimals, no trailing zeros.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn opt_num(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "—".into())
}

/// The evidence as a table: where (file:line), when, the value, the detail.
pub fn evidence_table(evidence: &[Evidence], max: usize) -> String {
    if evidence.is_empty() {
        return "(aggregate evidence only: see the cycle record)\n".into();
    }
    let mut out = String::from("| Where | Time | Value | Detail |\n|---|---|---:|---|\n");
    for e in evidence.iter().take(max) {
        let loc = if e.line > 0 {
            format!("{}:{}", e.file, e.line)
        } else {
            e.file.clone()
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            code_cell(&loc),
            e.ts.as_deref().map(escape_md).unwrap_or_default(),
            e.value.map(num).unwrap_or_default(),
            escape_md(&e.detail),
        ));
    }
    if evidence.len() > max {
        let more = (evidence.len() - max) as u64;
        out.push_str(&format!(
            "\n… and {} more in the proposal record.\n",
            plural(more, "entry", "entries")
        ));
    }
    out
}

fn common_vars(p: &Proposal) -> Vec<(&'static str, String)> {
    vec![
        ("id", p.id.clone()),
        ("title", escape_md(&p.title)),
        ("type", p.kind.as_str().to_string()),
        ("risk", p.risk.as_str().to_string()),
        (
            "layer",
            p.pattern
                .layer
                .map(|l| l.as_str())
                .unwrap_or("unknown")
                .to_string(),
        ),
        ("confidence", format!("{:.2}", p.pattern.confidence)),
        ("signature", escape_md(&p.pattern.signature)),
        (
            "occurrences",
            plural(p.pattern.occurrences, "occurrence", "occurrences"),
        ),
        ("why", escape_md(&p.pattern.why)),
        ("explanation", p.pattern.explanation.clone()),
        (
            "evidence",
            evidence_table(&p.pattern.evidence, EVIDENCE_ROWS),
        ),
        ("rationale", escape_md(&p.rationale)),
        ("rollback", p.rollback_plan.clone()),
        ("cycle", p.cycle.clone()),
        ("file", code_span(&p.target.file)),
        ("name", code_span(&p.target.name)),
        ("metric", code_span(&p.target_metric.name)),
        (
            "direction",
            match p.target_metric.direction {
                crate::config::Direction::Higher => "higher is better".to_string(),
                crate::config::Direction::Lower => "lower is better".to_string(),
            },
        ),
    ]
}

/// The change in one paragraph: the summary, and the value before and after.
fn change_text(p: &Proposal) -> String {
    let mut s = escape_md(&p.change.summary);
    match (&p.change.old_value, &p.change.new_value) {
        (Some(old), Some(new)) => s.push_str(&format!(
            "\n\n{} in {}: {} → {}",
            code_span(&p.target.name),
            code_span(&p.change.file),
            code_span(old),
            code_span(new)
        )),
        _ => s.push_str(&format!("\n\nFile: {}", code_span(&p.change.file))),
    }
    s
}

fn validation_text(v: Option<&ValidationSummary>) -> String {
    let Some(v) = v else {
        return "Not run yet; this section is updated when it finishes.".into();
    };
    let mut s = format!(
        "**{}** in {} mode",
        escape_md(&v.verdict),
        code_span(&v.mode)
    );
    if !v.reason.is_empty() {
        s.push_str(&format!(": {}", escape_md(&v.reason)));
    }
    s.push('\n');
    if !v.metrics.is_empty() {
        s.push('\n');
        s.push_str(&metric_table(&v.metrics));
    }
    s
}

/// Baseline against candidate, one row per metric: for the body's validation result,
/// and for the comments on a deploy, a monitor judgment or a rollback.
pub fn metric_table(rows: &[MetricRow]) -> String {
    let mut s = String::from(
        "| Metric | Baseline | Candidate | Effect | Interval (candidate − baseline) | Samples | Result |\n\
         |---|---:|---:|---:|---|---:|---|\n",
    );
    for m in rows {
        let effect = m
            .effect
            .filter(|e| e.is_finite())
            .map(|e| {
                let word = if e > 0.0 {
                    " better"
                } else if e < 0.0 {
                    " worse"
                } else {
                    ""
                };
                format!("{:+.1}%{word}", e * 100.0)
            })
            .unwrap_or_else(|| "—".into());
        let interval = m
            .interval
            .map(|(lo, hi)| format!("{} to {}", num(lo), num(hi)))
            .unwrap_or_else(|| "—".into());
        let samples = m
            .samples
            .map(|(b, c)| format!("{b} / {c}"))
            .unwrap_or_else(|| "—".into());
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            code_cell(&m.name),
            opt_num(m.baseline),
            opt_num(m.candidate),
            effect,
            interval,
            samples,
            escape_md(&m.status),
        ));
    }
    s
}

/// What the tier means, and what merging the pull request does.
fn tier_text(p: &Proposal, tier: Option<&TierSummary>) -> String {
    let (name, why) = match tier {
        Some(t) => (Some(t.tier.as_str()), Some(t.why.as_str())),
        None => (p.tier.map(|t| t.as_str()), None),
    };
    let metric = code_span(&p.target_metric.name);
    let watch = format!(
        "After any deploy the monitor watches {metric} and the guarded metrics and reverts \
         the change if they degrade."
    );
    let (head, meaning) = match name {
        Some("auto") => (
            "AUTO",
            "`improve` deploys this itself; merging deploys it now instead.",
        ),
        Some("notify") => (
            "NOTIFY",
            "`improve` deploys this in its next cycle and tells you; merging deploys it now.",
        ),
        Some("approve") => (
            "APPROVE",
            "waits for a human: merging approves and deploys it.",
        ),
        Some("require") => (
            "REQUIRE",
            "a human must review this: merging approves and deploys it.",
        ),
        Some(_) | None => (
            "not decided yet",
            "the tier is decided when validation finishes; merging now approves and deploys it.",
        ),
    };
    let why = why
        .filter(|w| !w.is_empty())
        .map(|w| format!(" ({})", escape_md(w)))
        .unwrap_or_default();
    format!("**{head}**{why}: {meaning} {watch}")
}

/// The pull request body without a validation result (the plan only): kept for the
/// callers that have none.
pub fn pr_body(p: &Proposal) -> String {
    pr_body_with(p, None, None)
}

/// The pull request body: what was found, the change, the validation plan and result,
/// the tier and what a merge does, the rollback plan. `tier` overrides the proposal's
/// recorded tier (and says why).
pub fn pr_body_with(
    p: &Proposal,
    validation: Option<&ValidationSummary>,
    tier: Option<&TierSummary>,
) -> String {
    let mut vars = common_vars(p);
    vars.push(("summary", change_text(p)));
    vars.push((
        "risk_text",
        format!(
            "{} risk, complexity {}. {}",
            p.risk.as_str(),
            num(p.complexity),
            if p.change.document_only {
                "This is a document for a human to complete: nothing runs until a human changes code on this branch."
            } else {
                "The change is the diff of this branch and nothing else; only allowed paths are touched."
            }
        ),
    ));
    vars.push((
        "validation",
        format!(
            "{}: {}",
            code_span(p.validation_plan.mode.as_str()),
            escape_md(&p.validation_plan.description)
        ),
    ));
    vars.push(("validation_result", validation_text(validation)));
    vars.push(("tier", tier_text(p, tier)));
    fill(PR_BODY, &vars)
}

/// The proposal document; `extra` fills the places only the drafter knows (`about`:
/// the function and line, `change`: what to change), ahead of the common ones.
pub fn proposal_doc(p: &Proposal, what: &str, extra: &[(&'static str, String)]) -> String {
    let mut vars = extra.to_vec();
    vars.extend(common_vars(p));
    vars.push(("what", what.to_string()));
    fill(PROPOSAL_DOC, &vars)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
