//! Renders pull-request bodies and proposal documents from `templates/`. Text that came
//! from logs is escaped: it is shown, never executed or rendered as markup.

use crate::observe::Evidence;
use crate::store::proposals::Proposal;

pub const PR_BODY: &str = include_str!("../../templates/pr_body.md");
pub const PROPOSAL_DOC: &str = include_str!("../../templates/proposal_doc.md");

/// Replaces `{{key}}` placeholders; unknown placeholders are left visible.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

/// Escapes text from logs for markdown: no HTML, links, images or code spans.
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' | '[' | ']' | '!' | '*' | '_' | '#' | '|' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

pub fn evidence_list(evidence: &[Evidence], max: usize) -> String {
    if evidence.is_empty() {
        return "- (aggregate evidence only: see the cycle record)".into();
    }
    let mut out = String::new();
    for e in evidence.iter().take(max) {
        // Paths are the tool's own (discovered files), shown as code; a backtick in a
        // file name cannot close the span.
        let file = e.file.replace('`', "'");
        let loc = if e.line > 0 {
            format!("`{file}:{}`", e.line)
        } else {
            format!("`{file}`")
        };
        out.push_str(&format!("- {loc}"));
        if let Some(ts) = &e.ts {
            out.push_str(&format!(" at {}", escape_md(ts)));
        }
        if let Some(v) = e.value {
            out.push_str(&format!(" value {v:.4}"));
        }
        if !e.detail.is_empty() {
            out.push_str(&format!(" — {}", escape_md(&e.detail)));
        }
        out.push('\n');
    }
    if evidence.len() > max {
        out.push_str(&format!(
            "- … and {} more in the proposal record\n",
            evidence.len() - max
        ));
    }
    out
}

fn common_vars(p: &Proposal) -> Vec<(&'static str, String)> {
    vec![
        ("id", p.id.clone()),
        ("title", p.title.clone()),
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
        ("occurrences", p.pattern.occurrences.to_string()),
        ("why", escape_md(&p.pattern.why)),
        ("explanation", p.pattern.explanation.clone()),
        ("evidence", evidence_list(&p.pattern.evidence, 10)),
        ("rationale", p.rationale.clone()),
        ("rollback", p.rollback_plan.clone()),
        ("cycle", p.cycle.clone()),
        ("file", p.target.file.clone()),
        ("name", p.target.name.clone()),
        ("metric", p.target_metric.name.clone()),
        (
            "direction",
            match p.target_metric.direction {
                crate::config::Direction::Higher => "higher is better".to_string(),
                crate::config::Direction::Lower => "lower is better".to_string(),
            },
        ),
    ]
}

pub fn pr_body(p: &Proposal) -> String {
    let mut vars = common_vars(p);
    vars.push(("summary", p.change.summary.clone()));
    vars.push((
        "risk_text",
        format!(
            "{} risk, complexity {}. {}",
            p.risk.as_str(),
            p.complexity,
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
            "`{}`: {}",
            p.validation_plan.mode, p.validation_plan.description
        ),
    ));
    fill(PR_BODY, &vars)
}

pub fn proposal_doc(p: &Proposal, what: &str) -> String {
    let mut vars = common_vars(p);
    vars.push(("what", what.to_string()));
    fill(PROPOSAL_DOC, &vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_cannot_inject_markup() {
        let s = escape_md("<script>alert(1)</script> [x](http://e) ![i](y) `rm -rf`");
        assert!(!s.contains('<'), "{s}");
        // Every bracket and backtick is escaped, so no link, image or code span forms.
        let unescaped = s.replace("\\]", "").replace("\\[", "").replace("\\`", "");
        assert!(
            !unescaped.contains(']') && !unescaped.contains('[') && !unescaped.contains('`'),
            "{s}"
        );
    }
}
