//! `improve report --html OUT`: one static page an SRE opens from a pull request or a
//! CI artifact. It leads with what needs a decision, then what is being watched, then
//! the guarded metrics over time with deploy and rollback markers, then the reference
//! tables. No script, no network; every text from the records is escaped.

pub mod attention;
mod chart;
mod tables;
#[cfg(test)]
mod tests;

use crate::clock::{parse_ts, Timestamp};
use crate::config::Config;
use crate::deploy::DeployStatus;
use crate::health::Recorded;
use crate::health::{Health, Level};
use chart::{Chart, Marker, Point};

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

/// How long before `now` a recorded time was: `3h 20m ago`, `2d 4h ago`.
fn ago(now: Timestamp, ts: &str) -> String {
    let Ok(t) = parse_ts(ts) else {
        return esc(ts);
    };
    let m = (now - t).num_minutes();
    if m < 0 {
        return "in the future".into();
    }
    match m {
        0 => "just now".into(),
        1..=59 => format!("{m}m ago"),
        60..=1439 => format!("{}h {}m ago", m / 60, m % 60),
        _ => format!("{}d {}h ago", m / 1440, m % 1440 / 60),
    }
}

/// A recorded time as `2026-01-06 04:00` (UTC, kept on one line; the exact value in
/// its tooltip), or the text itself, escaped, when it is not a timestamp.
fn when(ts: &str) -> String {
    match parse_ts(ts) {
        Ok(t) => format!(
            "<time class=\"when\" datetime=\"{0}\" title=\"{0}\">{1}</time>",
            esc(ts),
            t.format("%Y-%m-%d %H:%M")
        ),
        Err(_) => esc(ts),
    }
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#1f2328}\
main{max-width:1160px;margin:0 auto;padding:18px 20px 40px}\
header h1{font-size:1.5em;margin:0}header h1 small{font-weight:normal;color:#57606a;font-size:.7em}\
.generated{color:#57606a;margin:2px 0 14px}\
.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:10px;margin-bottom:18px}\
.tile{display:block;background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:8px 12px;color:inherit;text-decoration:none;border-top:4px solid #8c959f}\
.tile .v{font-size:1.6em;font-weight:600;line-height:1.3}.tile .k{color:#57606a;font-size:.85em}\
.tile.HEALTHY{border-top-color:#1a7f37}.tile.WARNING{border-top-color:#d4a72c}.tile.ERROR{border-top-color:#cf222e}\
section{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:4px 18px 14px;margin-bottom:16px}\
h2{font-size:1.15em;margin:12px 0 10px}h3{font-size:1em;margin:4px 0}h3.sub{margin-top:14px}\
.count{display:inline-block;min-width:1.6em;text-align:center;border-radius:10px;background:#eaeef2;font-size:.85em;padding:0 6px}\
#decisions{border-left:5px solid #d4a72c}#decisions .count{background:#d4a72c;color:#fff}\
.decision,.watch{border:1px solid #d8dee4;border-radius:6px;padding:10px 14px;margin:10px 0}\
.decision{background:#fffbea}.decision.critical{background:#fff0ef;border-color:#cf222e}\
.tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:.8em;font-weight:600;background:#eaeef2;vertical-align:1px}\
.tag.wait{background:#d4a72c;color:#fff}.tag.err{background:#cf222e;color:#fff}.tag.watching{background:#0969da;color:#fff}\
.meta{color:#57606a;margin:4px 0}.calm{color:#1a7f37}\
.commands{margin-top:8px}.cmd-label{font-size:.85em;color:#57606a}\
pre{background:#1f2328;color:#e6edf3;padding:8px 12px;border-radius:6px;overflow-x:auto;margin:4px 0;font-size:12.5px}\
pre .c{color:#8c959f}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}\
p code,li code,td code{background:#eaeef2;padding:0 4px;border-radius:3px}\
.alerts{list-style:none;padding:0;margin:4px 0}.alert{padding:3px 0;border-bottom:1px solid #eaeef2}\
.lvl{display:inline-block;width:5.5em;font-weight:600;font-size:.85em}\
.HEALTHY{color:#1a7f37}.WARNING{color:#9a6700}.ERROR{color:#cf222e;font-weight:600}\
.v-PASSED{color:#1a7f37}.v-FAILED{color:#cf222e}.v-INCONCLUSIVE,.v-MANUAL,.v-RUNNING{color:#9a6700}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:left;vertical-align:top}\
th{font-size:.85em;color:#57606a;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
#deployments td:first-child{white-space:nowrap}#deployments td:nth-child(2){width:28%}#deployments td:nth-child(7){width:34%}caption{text-align:left;color:#57606a;font-size:.85em;padding:4px 0}\
.verdicts{width:auto;min-width:420px}.verdict.pass{color:#1a7f37}.verdict.fail,.verdict.degraded{color:#cf222e;font-weight:600}\
.st.rolled_back,.st.rollback_failed,.st.failed{color:#cf222e;font-weight:600}.st.stable{color:#1a7f37}.st.monitoring,.st.deploying{color:#0969da;font-weight:600}\
tr:target{background:#fff8c5;outline:2px solid #d4a72c}\
details summary{cursor:pointer}.when{white-space:nowrap}\
.charts{display:grid;grid-template-columns:repeat(3,1fr);gap:12px}\
figure.chart{margin:0;border:1px solid #eaeef2;border-radius:6px;padding:6px 6px 0}\
figcaption{font-size:.9em;padding:0 4px}figcaption small{color:#57606a;display:block}\
.latest{font-weight:600;margin-left:6px}.latest.ok{color:#1a7f37}.latest.bad{color:#cf222e}\
figure.chart svg{display:block;width:100%;height:auto}svg text{font:10px system-ui,sans-serif;fill:#57606a}\
svg .plot{fill:#fff}svg .unhealthy{fill:#ffebe9;opacity:.55}\
svg .yaxis line{stroke:#eaeef2}svg .xaxis line{stroke:#8c959f}svg .xaxis .baseline{stroke:#8c959f}\
svg .xday{font-weight:600}\
svg .healthy{stroke:#1a7f37;stroke-width:1.2;stroke-dasharray:6 3}\
svg .healthy-label{fill:#1a7f37;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}\
svg .deploy line{stroke:#1a7f37;stroke-width:1.3;stroke-dasharray:3 2}svg .deploy text{fill:#1a7f37}\
svg .rollback line{stroke:#cf222e;stroke-width:1.6;stroke-dasharray:3 2}svg .rollback text{fill:#cf222e}\
svg .marker-label{font-weight:600;font-size:9.5px}\
svg .series{fill:none;stroke:#0969da;stroke-width:1.6}svg circle{fill:#0969da}\
.legend{color:#57606a;font-size:.85em;margin:8px 0 0}\
.legend i{display:inline-block;width:18px;height:0;border-top:2px dashed;vertical-align:middle;margin:0 4px 0 10px}\
footer{color:#57606a;font-size:.85em;text-align:center}\
@media (max-width:900px){.tiles{grid-template-columns:repeat(3,1fr)}.charts{grid-template-columns:1fr 1fr}}";

/// The strip of tiles under the title: each a number that links to its section.
fn tiles(r: &Recorded, h: &Health, now: Timestamp) -> String {
    let errors = h
        .indicators
        .iter()
        .filter(|i| i.level == Level::Error)
        .count();
    let warnings = h
        .indicators
        .iter()
        .filter(|i| i.level == Level::Warning)
        .count();
    let decisions = attention::decision_count(r, h);
    let live = r.deployments.iter().filter(|d| d.status.is_live()).count();
    let rolled = r
        .deployments
        .iter()
        .filter(|d| matches!(d.status, DeployStatus::RolledBack))
        .count();
    let last = r.cycles.last();
    let tile = |class: &str, href: &str, v: String, k: String| {
        format!("<a class=\"tile {class}\" href=\"#{href}\"><div class=\"v\">{v}</div><div class=\"k\">{k}</div></a>")
    };
    let mut s = String::from("<nav class=\"tiles\" id=\"summary\">");
    s.push_str(&tile(
        h.overall.as_str(),
        "health-section",
        format!("<span class=\"{0}\">{0}</span>", h.overall.as_str()),
        format!("health: {errors} error(s), {warnings} warning(s)"),
    ));
    s.push_str(&tile(
        if decisions > 0 { "WARNING" } else { "HEALTHY" },
        "decisions",
        decisions.to_string(),
        "need a decision".into(),
    ));
    s.push_str(&tile(
        "",
        "watched",
        live.to_string(),
        "deployment(s) under watch".into(),
    ));
    s.push_str(&tile(
        if rolled > 0 { "WARNING" } else { "" },
        "deployments-section",
        format!("{} <small>/ {rolled}</small>", r.deployments.len()),
        "deployments / rolled back".into(),
    ));
    s.push_str(&tile(
        "",
        "cycles-section",
        last.map(|c| esc(&c.cycle)).unwrap_or_else(|| "none".into()),
        last.map(|c| format!("last cycle, {}", ago(now, &c.started)))
            .unwrap_or_else(|| "no cycle yet".into()),
    ));
    let (class, v, k) = if r.audit_problems.is_empty() {
        (
            "HEALTHY",
            "intact".to_string(),
            format!("audit log, {} entries", r.audit_entries),
        )
    } else {
        (
            "ERROR",
            "FAILED".to_string(),
            esc(&r.audit_problems.join("; ")),
        )
    };
    s.push_str(&tile(class, "decisions", v, k));
    s.push_str("</nav>");
    s
}

/// The guarded metrics on one shared time axis, so that markers line up across charts.
fn charts(cfg: &Config, r: &Recorded) -> String {
    let times: Vec<Option<i64>> = r
        .metrics
        .cycles
        .iter()
        .map(|(_, t)| parse_ts(t).ok().map(|t| t.timestamp()))
        .collect();
    let known: Vec<i64> = times.iter().flatten().copied().collect();
    let mut s = String::from("<section id=\"metrics\"><h2>Guarded metrics</h2>");
    let (Some(&t0), Some(&t1)) = (known.iter().min(), known.iter().max()) else {
        s.push_str("<p>No metric history yet: the first cycle records it.</p></section>");
        return s;
    };
    let axis = chart::time_axis(t0, t1, chart::max_time_ticks());
    let summary = |id: &str| {
        r.proposal(id)
            .map(|p| format!(" ({id}: {})", p.change.summary))
            .unwrap_or_default()
    };
    let mut markers: Vec<Marker> = vec![];
    for d in &r.deployments {
        if let Ok(t) = parse_ts(&d.deployed_at) {
            markers.push(Marker {
                t: t.timestamp(),
                id: d.id.clone(),
                rollback: false,
                title: format!(
                    "deploy {} at {}{}, now {}",
                    d.id,
                    d.deployed_at,
                    summary(&d.proposal),
                    d.status.as_str()
                ),
            });
        }
        if d.status == DeployStatus::RolledBack {
            if let Some(t) = d.ended_at.as_deref().and_then(|t| parse_ts(t).ok()) {
                markers.push(Marker {
                    t: t.timestamp(),
                    id: d.id.clone(),
                    rollback: true,
                    title: format!(
                        "rollback of {} at {}: {}",
                        d.id,
                        t.format("%Y-%m-%dT%H:%M:%SZ"),
                        d.reason.as_deref().unwrap_or("")
                    ),
                });
            }
        }
    }
    markers.sort_by_key(|m| m.t);
    s.push_str("<div class=\"charts\">");
    for m in &cfg.metrics {
        let Some(series) = r.metrics.series.get(&m.name) else {
            continue;
        };
        let points: Vec<Point> = series
            .iter()
            .zip(&times)
            .zip(&r.metrics.cycles)
            .filter_map(|((v, t), (cycle, _))| {
                Some(Point {
                    t: (*t)?,
                    cycle: cycle.clone(),
                    v: (*v)?,
                })
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        s.push_str(&chart::render(
            &Chart {
                name: &m.name,
                points: &points,
                healthy: m.healthy,
                direction: m.direction,
                critical: m.critical,
            },
            &axis,
            &markers,
        ));
    }
    s.push_str("</div><p class=\"legend\">One point per cycle; times in UTC.<i style=\"color:#1a7f37\"></i>deploy<i style=\"color:#cf222e\"></i>rollback (a marker links to its deployment)<i style=\"color:#1a7f37;border-top-style:dashed\"></i>healthy level (config <code>metrics[].healthy</code>; the shaded side is unhealthy). Axes start at zero, or span the values and the healthy level, and never less than a tenth of the value.</p></section>");
    s
}

/// The whole page. `now` (the simulated clock in tests) is its "generated at" time.
pub fn render(cfg: &Config, r: &Recorded, h: &Health, repo: &str, now: Timestamp) -> String {
    let generated = now.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut s = String::with_capacity(64 * 1024);
    s.push_str(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>improve — {}</title><style>{STYLE}</style></head><body><main>",
        esc(repo)
    ));
    s.push_str(&format!(
        "<header><h1>improve <small>{}</small></h1><p class=\"generated\" id=\"generated\">Generated <time datetime=\"{}\">{generated}</time> from the <code>{}</code> branch · <span id=\"overall\">Health: <b class=\"{3}\">{3}</b></span></p></header>",
        esc(repo),
        crate::clock::fmt_ts(now),
        esc(&cfg.records_branch),
        h.overall.as_str(),
    ));
    s.push_str(&tiles(r, h, now));
    s.push_str(&attention::decisions(cfg, r, h, now));
    s.push_str(&attention::watched(cfg, r, now));
    s.push_str(&charts(cfg, r));
    s.push_str(&tables::deployments(r));
    s.push_str(&tables::health(h));
    s.push_str(&tables::cycles(r));
    s.push_str(&format!(
        "<footer>Generated by improve at {generated} from {} · {} cycles, {} proposals, {} deployments.</footer></main></body></html>\n",
        esc(&cfg.records_branch),
        r.summary.cycles,
        r.proposals.len(),
        r.deployments.len()
    ));
    s
}
