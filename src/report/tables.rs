//! The report's reference tables, below the charts: deployments and rollbacks (the rows
//! the chart markers link to), the loop's health indicators, and the recent cycles.

use super::{esc, when};
use crate::health::Health;
use crate::health::Recorded;

/// Text longer than this shows its start, the whole in a `<details>`.
const SHORT: usize = 110;

/// `text`, escaped; when long, its start with the whole behind a disclosure.
fn long_text(text: &str) -> String {
    if text.chars().count() <= SHORT {
        return esc(text);
    }
    let cut: String = text.chars().take(SHORT).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!(
        "<details><summary>{}…</summary>{}</details>",
        esc(cut),
        esc(text)
    )
}

/// One row per deployment, newest first, each with `id="D-N"` (the charts link here).
pub fn deployments(r: &Recorded) -> String {
    let mut s = String::from(
        "<section id=\"deployments-section\"><h2>Deployments and rollbacks</h2><table id=\"deployments\"><thead><tr><th>id</th><th>proposal</th><th>status</th><th>approved</th><th>deployed</th><th>ended</th><th>reason</th></tr></thead><tbody>",
    );
    if r.deployments.is_empty() {
        s.push_str("<tr><td colspan=\"7\">None yet.</td></tr>");
    }
    for d in r.deployments.iter().rev() {
        let summary = r
            .proposal(&d.proposal)
            .map(|p| p.change.summary.as_str())
            .unwrap_or("");
        s.push_str(&format!(
            "<tr id=\"{id}\"><td><b title=\"{tag}\">{id}</b></td><td>{prop}<br><small>{summary}</small></td><td class=\"st {status}\">{status}</td><td>{tier}<br><small>{by}</small></td><td>{at}</td><td>{ended}</td><td>{reason}</td></tr>",
            id = esc(&d.id),
            tag = esc(&d.deploy_tag),
            prop = esc(&d.proposal),
            summary = esc(summary),
            status = esc(d.status.as_str()),
            tier = esc(d.tier_name()),
            by = esc(&d.approved_by.to_string()),
            at = when(&d.deployed_at),
            ended = d.ended_at.as_deref().map(when).unwrap_or_default(),
            reason = long_text(d.reason.as_deref().unwrap_or("")),
        ));
    }
    s.push_str("</tbody></table></section>");
    s
}

pub fn health(h: &Health) -> String {
    let mut s = String::from(
        "<section id=\"health-section\"><h2>Health of the loop</h2><table id=\"health\"><thead><tr><th></th><th>indicator</th><th>level</th><th>detail</th><th>thresholds</th></tr></thead><tbody>",
    );
    for i in &h.indicators {
        s.push_str(&format!(
            "<tr id=\"health-{id}\"><td>{id}</td><td>{0}</td><td class=\"{1}\">{1}</td><td>{2}</td><td><small>{3}</small></td></tr>",
            esc(i.name),
            i.level.as_str(),
            esc(&i.detail),
            esc(i.thresholds),
            id = esc(i.id),
        ));
    }
    s.push_str("</tbody></table></section>");
    s
}

pub fn cycles(r: &Recorded) -> String {
    let mut s = String::from(
        "<section id=\"cycles-section\"><h2>Recent cycles</h2><table id=\"cycles\"><thead><tr><th>cycle</th><th>started</th><th>outcome</th><th class=\"num\">lines</th><th class=\"num\">skipped</th><th>actionable patterns</th></tr></thead><tbody>",
    );
    for c in r.cycles.iter().rev().take(20) {
        let pats: Vec<String> = c
            .patterns
            .iter()
            .filter(|p| p.actionable)
            .map(|p| p.signature())
            .collect();
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&c.cycle),
            when(&c.started),
            esc(&c.outcome),
            c.lines_read,
            c.skipped_total,
            long_text(&pats.join(", "))
        ));
    }
    s.push_str("</tbody></table></section>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_cuts_at_a_word_and_escapes_both_parts() {
        assert_eq!(long_text("a <b>"), "a &lt;b&gt;");
        let long = format!("{} <script>x</script>", "word ".repeat(30));
        let s = long_text(&long);
        assert!(s.starts_with("<details><summary>word "), "{s}");
        assert!(
            s.contains("…</summary>") && s.contains("&lt;script&gt;"),
            "{s}"
        );
        assert!(!s.contains("<script>"), "{s}");
    }
}
