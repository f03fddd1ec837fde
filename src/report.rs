//! `improve report --html OUT`: one static page a reviewer opens from a pull request
//! or a CI artifact — health at a glance, recent cycles, open proposals with their
//! evidence, deployments and rollbacks, and inline-SVG charts of the guarded metrics
//! with deploy and rollback markers. No scripts, no network; every text is escaped.

use crate::clock::parse_ts;
use crate::config::Config;
use crate::deploy::DeployStatus;
use crate::health::Health;
use crate::health::Recorded;

/// Escapes text for HTML (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}.HEALTHY{color:#137333}.WARNING{color:#b06000}.ERROR{color:#c5221f;font-weight:bold}.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff}.bHEALTHY{background:#137333}.bWARNING{background:#e37400}.bERROR{background:#c5221f}.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #eee;padding:6px}code{background:#f4f4f4;padding:1px 4px}small{color:#666}";

/// One chart: a metric over cycles with deploy (green) and rollback (red) markers.
fn chart(
    name: &str,
    points: &[(i64, f64)],
    deploys: &[(i64, String)],
    rollbacks: &[(i64, String)],
    t0: i64,
    t1: i64,
) -> String {
    let (w, h, pad) = (340.0, 160.0, 28.0);
    let span = ((t1 - t0) as f64).max(1.0);
    let (mut lo, mut hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, v)| {
            (a.min(*v), b.max(*v))
        });
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if (hi - lo).abs() < 1e-12 {
        lo -= 0.5;
        hi += 0.5;
    }
    let x = |t: i64| pad + (t - t0) as f64 / span * (w - 2.0 * pad);
    let y = |v: f64| h - pad - (v - lo) / (hi - lo) * (h - 2.0 * pad);
    let mut s = format!(
        "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" data-metric=\"{}\" data-points=\"{}\">",
        esc(name),
        esc(name),
        points.len()
    );
    s.push_str(&format!(
        "<text x=\"{pad}\" y=\"14\" font-size=\"12\">{}</text>",
        esc(name)
    ));
    s.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ccc\"/><text x=\"2\" y=\"{}\" font-size=\"9\">{lo:.3}</text><text x=\"2\" y=\"{}\" font-size=\"9\">{hi:.3}</text>",
        h - pad,
        w - pad,
        h - pad,
        h - pad,
        pad
    ));
    for (t, id) in deploys {
        s.push_str(&format!("<line class=\"deploy\" x1=\"{0:.1}\" y1=\"{pad}\" x2=\"{0:.1}\" y2=\"{1}\" stroke=\"#137333\" stroke-dasharray=\"3,2\"><title>deploy {2}</title></line>", x(*t), h - pad, esc(id)));
    }
    for (t, id) in rollbacks {
        s.push_str(&format!("<line class=\"rollback\" x1=\"{0:.1}\" y1=\"{pad}\" x2=\"{0:.1}\" y2=\"{1}\" stroke=\"#c5221f\" stroke-dasharray=\"3,2\"><title>rollback {2}</title></line>", x(*t), h - pad, esc(id)));
    }
    let poly: Vec<String> = points
        .iter()
        .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
        .collect();
    s.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#1a73e8\" stroke-width=\"1.5\" points=\"{}\"/>",
        poly.join(" ")
    ));
    for (t, v) in points {
        s.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#1a73e8\"><title>{v:.4}</title></circle>", x(*t), y(*v)));
    }
    s.push_str("</svg></div>");
    s
}

pub fn render(cfg: &Config, r: &Recorded, h: &Health, repo: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>improve report — {}</title><style>{STYLE}</style></head><body>", esc(repo)));
    s.push_str(&format!(
        "<h1>improve report <small>{}</small></h1>",
        esc(repo)
    ));
    s.push_str(&format!("<p id=\"overall\">Health: <span class=\"badge b{0}\">{0}</span> — {1} cycles, {2} proposals, {3} deployments, audit log {4}.</p>",
        h.overall.as_str(), r.cycles.len(), r.proposals.len(), r.deployments.len(),
        if r.audit_problems.is_empty() { format!("intact ({} entries)", r.audit.len()) } else { format!("<b class=\"ERROR\">FAILED</b>: {}", esc(&r.audit_problems.join("; "))) }));
    // Health.
    s.push_str("<h2>Health</h2><table id=\"health\"><tr><th></th><th>indicator</th><th>level</th><th>detail</th><th>thresholds</th></tr>");
    for i in &h.indicators {
        s.push_str(&format!("<tr><td>{}</td><td>{}</td><td class=\"{2}\">{2}</td><td>{3}</td><td><small>{4}</small></td></tr>", i.id, esc(i.name), i.level.as_str(), esc(&i.detail), esc(i.thresholds)));
    }
    s.push_str("</table>");
    // Charts.
    let times: Vec<i64> = r
        .metrics
        .cycles
        .iter()
        .filter_map(|(_, t)| parse_ts(t).ok())
        .map(|t| t.timestamp())
        .collect();
    let t0 = times.first().copied().unwrap_or(0);
    let t1 = times.last().copied().unwrap_or(1);
    let deploys: Vec<(i64, String)> = r
        .deployments
        .iter()
        .filter_map(|d| {
            parse_ts(&d.deployed_at)
                .ok()
                .map(|t| (t.timestamp(), d.id.clone()))
        })
        .collect();
    let rollbacks: Vec<(i64, String)> = r
        .deployments
        .iter()
        .filter(|d| matches!(d.status, DeployStatus::RolledBack))
        .filter_map(|d| {
            d.ended_at
                .as_deref()
                .and_then(|t| parse_ts(t).ok())
                .map(|t| (t.timestamp(), d.id.clone()))
        })
        .collect();
    s.push_str("<h2>Guarded metrics</h2><div class=\"charts\" id=\"charts\">");
    for m in &cfg.metrics {
        let Some(series) = r.metrics.series.get(&m.name) else {
            continue;
        };
        let points: Vec<(i64, f64)> = series
            .iter()
            .zip(&times)
            .filter_map(|(v, t)| v.map(|v| (*t, v)))
            .collect();
        if points.is_empty() {
            continue;
        }
        s.push_str(&chart(&m.name, &points, &deploys, &rollbacks, t0, t1));
    }
    s.push_str("</div><p><small>Green dashed: deploys. Red dashed: rollbacks. One point per cycle.</small></p>");
    // Proposals.
    s.push_str("<h2>Open proposals</h2>");
    let open: Vec<_> = r.proposals.iter().filter(|p| p.status.is_open()).collect();
    if open.is_empty() {
        s.push_str("<p>None.</p>");
    }
    for p in open {
        s.push_str(&format!(
            "<h3>{} — {}</h3><p><b>{}</b> · {} risk · {} · branch <code>{}</code></p><p>{}</p><ul>",
            esc(&p.id),
            esc(&p.change.summary),
            esc(p.status.as_str()),
            esc(p.risk.as_str()),
            esc(p.kind.as_str()),
            esc(&p.branch),
            esc(&p.pattern.why)
        ));
        for e in p.pattern.evidence.iter().take(5) {
            s.push_str(&format!(
                "<li><code>{}:{}</code> {} {}</li>",
                esc(&e.file),
                e.line,
                esc(e.ts.as_deref().unwrap_or("")),
                esc(&e.detail)
            ));
        }
        s.push_str("</ul>");
    }
    // Deployments.
    s.push_str("<h2>Deployments and rollbacks</h2><table id=\"deployments\"><tr><th>id</th><th>proposal</th><th>status</th><th>tier</th><th>approved by</th><th>deployed</th><th>reason</th></tr>");
    for d in r.deployments.iter().rev() {
        s.push_str(&format!("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.id), esc(&d.proposal), esc(d.status.as_str()), esc(d.tier_name()), esc(&d.approved_by.to_string()), esc(&d.deployed_at), esc(d.reason.as_deref().unwrap_or(""))));
    }
    s.push_str("</table>");
    // Cycles.
    s.push_str("<h2>Recent cycles</h2><table id=\"cycles\"><tr><th>cycle</th><th>started</th><th>outcome</th><th>lines</th><th>skipped</th><th>patterns</th></tr>");
    for c in r.cycles.iter().rev().take(20) {
        let pats: Vec<String> = c
            .patterns
            .iter()
            .filter(|p| p.actionable)
            .map(|p| p.signature())
            .collect();
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.cycle),
            esc(&c.started),
            esc(&c.outcome),
            c.lines_read,
            c.skipped_total,
            esc(&pats.join(", "))
        ));
    }
    s.push_str("</table><p><small>Generated by improve from the improve/records branch.</small></p></body></html>\n");
    s
}
