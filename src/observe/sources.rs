//! The smaller sources (formats/other-sources.md): agent traces, health samples and
//! doctor checks (JSONL or CSV), graph events, and generic JSONL described by JSON
//! pointers. They are a fraction of the volume, so plain serde decoding is fine here.

use super::agg::{hash_parts, Agg};
use super::window::{Limits, LineErr, When, TOO_FAR_AHEAD};
use super::{Breach, Evidence};
use crate::config::{Config, Direction, GenericSource};
use serde::Deserialize;
use std::borrow::Cow;

/// Decodes the timestamp and counts the line as used (late or not), outside the
/// window or skipped; a line stamped after the window is held (`LineErr::Hold`).
/// Returns the epoch ms when the line is used.
fn judge(agg: &mut Agg, limits: &Limits, ts: Option<&str>) -> Result<Option<i64>, LineErr> {
    let ts = ts.ok_or("missing timestamp")?;
    match limits.judge(ts) {
        When::In(ms) => {
            agg.count("lines_used", 1);
            agg.seen_ts(ms, ts);
            Ok(Some(ms))
        }
        When::Late(ms) => {
            agg.count("lines_used", 1);
            agg.count("late_lines", 1);
            agg.seen_ts(ms, ts);
            Ok(Some(ms))
        }
        When::Before => {
            agg.count("outside_window", 1);
            Ok(None)
        }
        When::Hold => Err(LineErr::Hold),
        When::Future => Err(TOO_FAR_AHEAD.into()),
        When::Invalid => Err(format!("invalid timestamp {ts:?}").into()),
    }
}

fn json_err(e: serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    match e.classify() {
        serde_json::error::Category::Data => format!("wrong type: {msg}"),
        _ => format!("invalid JSON: {msg}"),
    }
}

#[derive(Deserialize)]
struct AgentLine<'a> {
    #[serde(borrow)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    skill: Option<Cow<'a, str>>,
    #[serde(borrow)]
    protocol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tool: Option<Cow<'a, str>>,
    ok: Option<bool>,
    #[serde(borrow)]
    outcome: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    variant: Option<Cow<'a, str>>,
}

/// One agent-trace line (skill loaded, protocol invoked, tool call, outcome, doc read).
pub fn agent_line(
    agg: &mut Agg,
    limits: &Limits,
    file: &str,
    n: u64,
    b: &[u8],
) -> Result<(), LineErr> {
    let l: AgentLine = serde_json::from_slice(b).map_err(json_err)?;
    if l.event.is_none() && l.action.is_none() {
        agg.count("lines_ignored", 1);
        return Ok(());
    }
    if judge(agg, limits, l.ts.as_deref())?.is_none() {
        return Ok(());
    }
    if let Some(s) = &l.session {
        if !agg.sessions.contains(s.as_ref()) {
            agg.sessions.insert(s.to_string());
        }
    }
    let variant = l.variant.as_deref().unwrap_or("control");
    let key = |m: &str| hash_parts(&[file.as_bytes(), m.as_bytes()], n);
    match l.event.as_deref() {
        Some("skill_loaded") => {
            agg.count("skills_loaded", 1);
            agg.count(&format!("skill:{}", l.skill.as_deref().unwrap_or("?")), 1);
        }
        Some("protocol_invoked") => {
            agg.count("protocols_invoked", 1);
            agg.count(
                &format!("protocol:{}", l.protocol.as_deref().unwrap_or("?")),
                1,
            );
        }
        Some("tool_call") => {
            agg.count("tool_calls", 1);
            agg.count(&format!("tool:{}", l.tool.as_deref().unwrap_or("?")), 1);
            let err = (l.ok == Some(false)) as u8 as f64;
            agg.mean("tool_error_rate", err);
            agg.sample(variant, "tool_error_rate", key("tool_error_rate"), err);
        }
        Some("outcome") => {
            agg.count("outcomes", 1);
            let o = l.outcome.as_deref().unwrap_or("unknown");
            agg.count(&format!("outcome:{o}"), 1);
            let ok = (o == "success") as u8 as f64;
            agg.mean("agent_success_rate", ok);
            agg.sample(variant, "agent_success_rate", key("agent_success_rate"), ok);
        }
        Some(other) => agg.count(&format!("agent_event:{other}"), 1),
        None => agg.count("context_loaded", 1),
    }
    Ok(())
}

#[derive(Deserialize)]
struct GraphLine<'a> {
    #[serde(borrow)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    node_type: Option<Cow<'a, str>>,
    amount: Option<f64>,
    before: Option<f64>,
    after: Option<f64>,
}

/// One graph event (node/link created, energy/weight changed).
pub fn graph_line(agg: &mut Agg, limits: &Limits, b: &[u8]) -> Result<(), LineErr> {
    let l: GraphLine = serde_json::from_slice(b).map_err(json_err)?;
    let Some(event) = l.event.as_deref() else {
        agg.count("lines_ignored", 1);
        return Ok(());
    };
    if judge(agg, limits, l.ts.as_deref())?.is_none() {
        return Ok(());
    }
    match event {
        "node_created" => {
            agg.count("nodes_created", 1);
            if let Some(t) = &l.node_type {
                agg.count(&format!("node_created:{t}"), 1);
            }
        }
        "link_created" => agg.count("links_created", 1),
        "energy_changed" => {
            let amount = l.amount.or(match (l.before, l.after) {
                (Some(a), Some(z)) => Some(z - a),
                _ => None,
            });
            if let Some(a) = amount {
                agg.mean("energy_amount", a);
            }
        }
        _ => {}
    }
    agg.count(&format!("graph:{event}"), 1);
    Ok(())
}

#[derive(Deserialize)]
struct HealthLine<'a> {
    #[serde(borrow)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    metric: Option<Cow<'a, str>>,
    #[serde(borrow)]
    check: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    value: Option<f64>,
    threshold: Option<f64>,
}

/// A health sample: window mean, configured thresholds and a check's own threshold.
pub struct HealthSample<'a> {
    pub ts: &'a str,
    pub metric: &'a str,
    pub value: Option<f64>,
    pub status: Option<&'a str>,
    pub own_threshold: Option<f64>,
}

/// Names produced by the traversal/agent/graph reducers; a health metric of the same
/// name is stored as `health.NAME` so neither hides the other.
fn health_name(metric: &str) -> Cow<'_, str> {
    if super::METRICS.iter().any(|(m, _)| *m == metric) {
        Cow::Owned(format!("health.{metric}"))
    } else {
        Cow::Borrowed(metric)
    }
}

pub fn health_sample(agg: &mut Agg, cfg: &Config, file: &str, n: u64, s: HealthSample<'_>) {
    let ev = |value: f64, detail: String| Evidence {
        file: file.to_string(),
        line: n,
        ts: Some(s.ts.to_string()),
        value: Some(value),
        detail,
    };
    if let Some(v) = s.value {
        let name = health_name(s.metric);
        agg.mean(&name, v);
        agg.sample("control", &name, hash_parts(&[file.as_bytes()], n), v);
        for t in cfg.thresholds.iter().filter(|t| t.metric == s.metric) {
            let past = [
                (t.max, v > t.max.unwrap_or(f64::INFINITY)),
                (t.min, v < t.min.unwrap_or(f64::NEG_INFINITY)),
            ];
            for (limit, crossed) in past {
                if let (Some(limit), true) = (limit, crossed) {
                    agg.count(&format!("breach:{}", s.metric), 1);
                    agg.breach(Breach {
                        metric: s.metric.to_string(),
                        value: v,
                        threshold: limit,
                        evidence: ev(
                            v,
                            format!("{} = {v} past the configured threshold {limit}", s.metric),
                        ),
                    });
                }
            }
        }
    }
    if let Some(status) = s.status {
        agg.count(&format!("check:{}:{status}", s.metric), 1);
        // Whether the value is past the check's own threshold: direction from the
        // guarded metric config when known, else a threshold is a maximum.
        let lower_is_bad = cfg.metric(s.metric).map(|m| m.direction) == Some(Direction::Higher);
        let beyond = match (s.value, s.own_threshold) {
            (Some(v), Some(t)) => {
                if lower_is_bad {
                    v < t
                } else {
                    v > t
                }
            }
            _ => false,
        };
        if status == "error" || beyond {
            let value = s.value.unwrap_or(f64::NAN);
            agg.count(&format!("breach:{}", s.metric), 1);
            agg.breach(Breach {
                metric: s.metric.to_string(),
                value: if value.is_finite() { value } else { 0.0 },
                threshold: s.own_threshold.unwrap_or(0.0),
                evidence: ev(value, format!("doctor check {} status {status}", s.metric)),
            });
        }
    }
}

/// One JSONL health line: `{ts, metric, value}` or a doctor check.
pub fn health_json_line(
    agg: &mut Agg,
    cfg: &Config,
    limits: &Limits,
    file: &str,
    n: u64,
    b: &[u8],
) -> Result<(), LineErr> {
    let l: HealthLine = serde_json::from_slice(b).map_err(json_err)?;
    let Some(metric) = l.metric.as_deref().or(l.check.as_deref()) else {
        agg.count("lines_ignored", 1);
        return Ok(());
    };
    if l.value.is_none() && l.status.is_none() {
        return Err("health line without value or status".into());
    }
    let ts = l.ts.as_deref().or(l.timestamp.as_deref());
    if judge(agg, limits, ts)?.is_none() {
        return Ok(());
    }
    health_sample(
        agg,
        cfg,
        file,
        n,
        HealthSample {
            ts: ts.unwrap_or_default(),
            metric,
            value: l.value,
            status: l.status.as_deref(),
            own_threshold: l.threshold,
        },
    );
    Ok(())
}

/// Column positions of a health CSV, from its header line.
#[derive(Debug, Clone, Copy)]
pub struct CsvCols {
    ts: usize,
    metric: usize,
    value: usize,
}

fn csv_record(b: &[u8]) -> Option<csv::StringRecord> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(b);
    let mut rec = csv::StringRecord::new();
    match r.read_record(&mut rec) {
        Ok(true) => Some(rec),
        _ => None,
    }
}

/// The columns named by a header line, if it is one.
pub fn csv_header(b: &[u8]) -> Option<CsvCols> {
    let rec = csv_record(b)?;
    let pos = |n: &str| rec.iter().position(|c| c.trim() == n);
    Some(CsvCols {
        ts: pos("timestamp").or_else(|| pos("ts"))?,
        metric: pos("metric")?,
        value: pos("value")?,
    })
}

/// One CSV health row (`cols` from the header; None until a header was seen).
pub fn health_csv_line(
    agg: &mut Agg,
    cfg: &Config,
    limits: &Limits,
    cols: &mut Option<CsvCols>,
    file: &str,
    n: u64,
    b: &[u8],
) -> Result<(), LineErr> {
    if let Some(h) = csv_header(b) {
        *cols = Some(h);
        agg.count("lines_ignored", 1);
        return Ok(());
    }
    let c = cols.ok_or("CSV row before a header")?;
    let rec = csv_record(b).ok_or("invalid CSV")?;
    let get = |i: usize| rec.get(i).map(str::trim).ok_or("missing CSV column");
    let (ts, metric, value) = (get(c.ts)?, get(c.metric)?, get(c.value)?);
    let v: f64 = value
        .parse()
        .map_err(|_| format!("value {value:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("value {value:?} is not finite").into());
    }
    if judge(agg, limits, Some(ts))?.is_none() {
        return Ok(());
    }
    health_sample(
        agg,
        cfg,
        file,
        n,
        HealthSample {
            ts,
            metric,
            value: Some(v),
            status: None,
            own_threshold: None,
        },
    );
    Ok(())
}

/// One generic JSONL line, read through the source's JSON pointers.
pub fn generic_line(
    agg: &mut Agg,
    src: &GenericSource,
    limits: &Limits,
    file: &str,
    n: u64,
    b: &[u8],
) -> Result<(), LineErr> {
    let v: serde_json::Value = serde_json::from_slice(b).map_err(json_err)?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let ts = match v.pointer(&src.timestamp) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(format!("wrong type at {}", src.timestamp).into()),
    };
    // Types are checked before the line counts as used, so a bad line is all skipped.
    let mut values = Vec::with_capacity(src.metrics.len());
    for m in &src.metrics {
        match v.pointer(&m.pointer) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Number(x)) => match x.as_f64() {
                Some(f) if f.is_finite() => values.push((m.name.as_str(), f)),
                _ => return Err(format!("number out of range at {}", m.pointer).into()),
            },
            Some(_) => {
                return Err(format!("wrong type at {} (expected a number)", m.pointer).into())
            }
        }
    }
    let text_at = |p: &Option<String>| -> Result<Option<&str>, String> {
        match p.as_deref().map(|p| (p, v.pointer(p))) {
            None | Some((_, None)) | Some((_, Some(serde_json::Value::Null))) => Ok(None),
            Some((_, Some(serde_json::Value::String(s)))) => Ok(Some(s.as_str())),
            Some((p, Some(_))) => Err(format!("wrong type at {p} (expected a string)")),
        }
    };
    let anomaly = text_at(&src.anomaly)?;
    let variant = text_at(&src.variant)?.unwrap_or("control");
    if judge(agg, limits, ts)?.is_none() {
        return Ok(());
    }
    agg.count(&format!("source:{}", src.name), 1);
    for (name, f) in values {
        let name = if super::METRICS.iter().any(|(m, _)| *m == name) {
            format!("{}.{name}", src.name)
        } else {
            name.to_string()
        };
        agg.mean(&name, f);
        agg.sample(
            variant,
            &name,
            hash_parts(&[file.as_bytes(), name.as_bytes()], n),
            f,
        );
    }
    if let Some(kind) = anomaly {
        let ev = Evidence {
            file: file.to_string(),
            line: n,
            ts: ts.map(str::to_string),
            value: None,
            detail: format!("source {}", src.name),
        };
        agg.anomaly(kind, "", ev, &[format!("source:{}", src.name)]);
    }
    Ok(())
}
