//! The report's charts of the guarded metrics: inline SVG with a UTC time axis, an
//! honest y-axis (from zero, or spanning the healthy level, never magnifying noise),
//! the healthy level as a labelled line, and deploy/rollback markers that link to
//! their rows in the deployments table.

use super::esc;
use crate::config::Direction;
use chrono::{DateTime, Utc};

/// One value of a metric: when, which cycle measured it, the value.
pub struct Point {
    pub t: i64,
    pub cycle: String,
    pub v: f64,
}

/// A deploy or a rollback, drawn as a vertical line linking to `#id`.
pub struct Marker {
    pub t: i64,
    pub id: String,
    pub rollback: bool,
    /// The tooltip: what happened, to which proposal, when.
    pub title: String,
}

/// What one chart shows.
pub struct Chart<'a> {
    pub name: &'a str,
    pub points: &'a [Point],
    pub healthy: Option<f64>,
    pub direction: Direction,
    pub critical: bool,
}

/// A y-axis: its range and the values that get a grid line and a label.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    pub decimals: usize,
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let exp = 10f64.powf(raw.log10().floor());
    let f = raw / exp;
    let n = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * exp
}

/// The y-axis of a metric. It starts at zero when zero is near (the values would fill
/// at least a third of the height from zero); otherwise it spans the values and the
/// healthy level. Either way it spans at least a tenth of the values' magnitude, so
/// that 0.678–0.684 noise stays a ripple instead of filling the chart.
pub fn value_axis(values: &[f64], healthy: Option<f64>) -> ValueAxis {
    let (mut lo, mut hi) = values
        .iter()
        .copied()
        .chain(healthy)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo >= 0.0 && lo <= hi * 2.0 / 3.0 {
        lo = 0.0;
    } else if hi <= 0.0 && hi >= lo * 2.0 / 3.0 {
        hi = 0.0;
    }
    let magnitude = lo.abs().max(hi.abs());
    let min_span = if magnitude > 0.0 {
        magnitude / 10.0
    } else {
        1.0
    };
    if hi - lo < min_span {
        if lo == 0.0 {
            hi = min_span;
        } else if hi == 0.0 {
            lo = -min_span;
        } else {
            let mid = (lo + hi) / 2.0;
            lo = mid - min_span / 2.0;
            hi = mid + min_span / 2.0;
        }
    }
    let step = nice_step((hi - lo) / 4.0);
    // The epsilon keeps 0.30000000000000004 from adding a whole step.
    let lo = (lo / step + 1e-9).floor() * step;
    let hi = (hi / step - 1e-9).ceil() * step;
    let n = ((hi - lo) / step).round() as usize;
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    // 6 x 0.1 is 0.6000000000000001: round to the step's precision.
    let unit = 10f64.powi(decimals as i32 + 1);
    let round = |v: f64| (v * unit).round() / unit;
    let ticks: Vec<f64> = (0..=n).map(|i| round(lo + i as f64 * step)).collect();
    let (lo, hi) = (ticks[0], ticks[n]);
    ValueAxis {
        lo,
        hi,
        ticks,
        decimals,
    }
}

/// A time axis: its range (seconds since the epoch) and labelled ticks, in UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeAxis {
    pub t0: i64,
    pub t1: i64,
    /// When, the label (`12:00` or `Jan 6`), and the date under it where the day changes.
    pub ticks: Vec<(i64, String, Option<String>)>,
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const STEPS: [i64; 15] = [
    60,
    300,
    900,
    1800,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    28 * DAY,
    91 * DAY,
];

fn utc(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// Ticks on whole minutes, hours or days (UTC), at most `max_ticks` of them.
pub fn time_axis(t0: i64, t1: i64, max_ticks: usize) -> TimeAxis {
    let t1 = t1.max(t0 + 1);
    let span = t1 - t0;
    let max_ticks = max_ticks.max(2) as i64;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s < max_ticks)
        .unwrap_or_else(|| (span / max_ticks / DAY + 1) * DAY);
    let mut ticks = vec![];
    let mut t = t0.div_euclid(step) * step;
    if t < t0 {
        t += step;
    }
    let mut last_day = None;
    while t <= t1 {
        let at = utc(t);
        let day = at.format("%b %-d").to_string();
        if step < DAY {
            let new_day = last_day.as_ref() != Some(&day);
            ticks.push((
                t,
                at.format("%H:%M").to_string(),
                new_day.then(|| day.clone()),
            ));
        } else {
            ticks.push((t, day.clone(), None));
        }
        last_day = Some(day);
        t += step;
    }
    TimeAxis { t0, t1, ticks }
}

const W: f64 = 360.0;
const H: f64 = 210.0;
const LEFT: f64 = 42.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 34.0;

/// The most ticks a chart's time axis gets (labels need ~56px each).
pub fn max_time_ticks() -> usize {
    ((W - LEFT - RIGHT) / 56.0) as usize
}

fn fmt(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

/// The healthy side of `direction` as words: `≥ 0.20` when higher is better.
pub fn healthy_text(direction: Direction, healthy: f64) -> String {
    let op = match direction {
        Direction::Higher => "≥",
        Direction::Lower => "≤",
    };
    format!("{op} {}", trim_num(healthy))
}

/// A number as written in config: 0.2 -> `0.20`, 3 -> `3`, 0.05 -> `0.05`.
fn trim_num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s.split_once('.') {
        Some((_, frac)) if frac.len() == 1 => format!("{s}0"),
        _ => s.to_string(),
    }
}

/// Whether `v` is on the healthy side of the metric's level (true without a level).
pub fn is_healthy(direction: Direction, healthy: Option<f64>, v: f64) -> bool {
    match (healthy, direction) {
        (None, _) => true,
        (Some(h), Direction::Higher) => v >= h,
        (Some(h), Direction::Lower) => v <= h,
    }
}

/// One chart as a `<figure>`; `markers` outside the time axis are left out.
pub fn render(c: &Chart, time: &TimeAxis, markers: &[Marker]) -> String {
    let values: Vec<f64> = c.points.iter().map(|p| p.v).collect();
    let ya = value_axis(&values, c.healthy);
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let span = (time.t1 - time.t0).max(1) as f64;
    let x = |t: i64| x0 + 6.0 + (t - time.t0) as f64 / span * (x1 - x0 - 12.0);
    let y = |v: f64| y0 - (v - ya.lo) / (ya.hi - ya.lo) * (y0 - y1);
    let name = esc(c.name);
    let mut s = String::with_capacity(4096);

    // The caption: the latest value, coloured by the side of the healthy level it is on.
    let latest = c.points.last().map(|p| p.v);
    s.push_str(&format!(
        "<figure class=\"chart\" id=\"metric-{name}\"><figcaption><b>{name}</b>"
    ));
    if let Some(v) = latest {
        let side = if is_healthy(c.direction, c.healthy, v) {
            "ok"
        } else {
            "bad"
        };
        s.push_str(&format!(
            " <span class=\"latest {side}\" title=\"latest value\">{}</span>",
            fmt(v, ya.decimals + 1)
        ));
    }
    let better = match c.direction {
        Direction::Higher => "higher is better",
        Direction::Lower => "lower is better",
    };
    s.push_str(&format!(
        "<small>{}{better}{}</small></figcaption>",
        c.healthy
            .map(|h| format!("healthy {} · ", healthy_text(c.direction, h)))
            .unwrap_or_default(),
        if c.critical { " · critical" } else { "" }
    ));
    s.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{name} over time\" data-metric=\"{name}\" data-points=\"{}\">",
        c.points.len()
    ));
    s.push_str(&format!(
        "<rect class=\"plot\" x=\"{x0}\" y=\"{y1}\" width=\"{}\" height=\"{}\"/>",
        x1 - x0,
        y0 - y1
    ));
    // The unhealthy side of the healthy level, shaded.
    if let Some(hv) = c.healthy {
        let hy = y(hv).clamp(y1, y0);
        let (top, bottom) = match c.direction {
            Direction::Higher => (hy, y0),
            Direction::Lower => (y1, hy),
        };
        if bottom > top {
            s.push_str(&format!(
                "<rect class=\"unhealthy\" x=\"{x0}\" y=\"{top:.1}\" width=\"{}\" height=\"{:.1}\"><title>unhealthy side of {}</title></rect>",
                x1 - x0,
                bottom - top,
                healthy_text(c.direction, hv)
            ));
        }
    }
    // The y-axis: grid lines and labels.
    s.push_str("<g class=\"yaxis\">");
    for v in &ya.ticks {
        let yy = y(*v);
        s.push_str(&format!(
            "<line x1=\"{x0}\" y1=\"{yy:.1}\" x2=\"{x1}\" y2=\"{yy:.1}\"/><text class=\"ytick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 4.0,
            yy + 3.0,
            fmt(*v, ya.decimals)
        ));
    }
    s.push_str("</g>");
    // The time axis: ticks, labels, the date where the day changes.
    s.push_str(&format!(
        "<g class=\"xaxis\"><line class=\"baseline\" x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\"/>"
    ));
    for (t, label, day) in &time.ticks {
        let xx = x(*t);
        s.push_str(&format!(
            "<line x1=\"{xx:.1}\" y1=\"{y0}\" x2=\"{xx:.1}\" y2=\"{}\"/><text class=\"xtick\" x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            y0 + 4.0,
            y0 + 15.0,
            esc(label)
        ));
        if let Some(day) = day {
            s.push_str(&format!(
                "<text class=\"xday\" x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                y0 + 27.0,
                esc(day)
            ));
        }
    }
    s.push_str("</g>");
    // The healthy level, labelled where the series leaves room.
    if let Some(hv) = c.healthy {
        let hy = y(hv);
        // At the left above the line, else wherever the series leaves room for it:
        // left below, right above, right below.
        let free = |left: bool, above: bool| {
            let (top, bottom) = if above {
                (hy - 14.0, hy)
            } else {
                (hy, hy + 14.0)
            };
            let (from, to) = if left {
                (x0, x0 + 100.0)
            } else {
                (x1 - 100.0, x1)
            };
            top >= y1 - 2.0
                && bottom <= y0 + 2.0
                && !c.points.iter().any(|p| {
                    (from..=to).contains(&x(p.t)) && (top - 3.0..=bottom + 3.0).contains(&y(p.v))
                })
        };
        let (left, above) = [(true, true), (true, false), (false, true), (false, false)]
            .into_iter()
            .find(|(l, a)| free(*l, *a))
            .unwrap_or((true, hy - 12.0 >= y1));
        let (lx, anchor) = if left {
            (x0 + 4.0, "start")
        } else {
            (x1 - 4.0, "end")
        };
        let ly = if above { hy - 4.0 } else { hy + 12.0 };
        s.push_str(&format!(
            "<line class=\"healthy\" x1=\"{x0}\" y1=\"{hy:.1}\" x2=\"{x1}\" y2=\"{hy:.1}\"/><text class=\"healthy-label\" x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"{anchor}\">healthy {}</text>",
            healthy_text(c.direction, hv)
        ));
    }
    // Markers, their labels staggered over two rows above the plot so that a deploy
    // and its rollback hours later stay readable.
    let mut row_end = [f64::NEG_INFINITY; 2];
    for m in markers.iter().filter(|m| m.t >= time.t0 && m.t <= time.t1) {
        let xx = x(m.t);
        let label = if m.rollback {
            format!("↩{}", m.id)
        } else {
            m.id.clone()
        };
        let width = label.chars().count() as f64 * 5.6;
        let row = row_end
            .iter()
            .position(|e| xx - width / 2.0 > *e + 2.0)
            .unwrap_or(1);
        row_end[row] = xx + width / 2.0;
        let class = if m.rollback { "rollback" } else { "deploy" };
        s.push_str(&format!(
            "<a class=\"{class}\" href=\"#{id}\"><title>{title}</title><line x1=\"{xx:.1}\" y1=\"{}\" x2=\"{xx:.1}\" y2=\"{y0}\"/><text class=\"marker-label\" x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text></a>",
            y1 - 2.0 - 10.0 * (1 - row) as f64,
            y1 - 5.0 - 10.0 * (1 - row) as f64,
            id = esc(&m.id),
            title = esc(&m.title),
            label = esc(&label),
        ));
    }
    // The values: one point per cycle.
    let poly: Vec<String> = c
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.t), y(p.v)))
        .collect();
    s.push_str(&format!(
        "<polyline class=\"series\" points=\"{}\"/>",
        poly.join(" ")
    ));
    for p in c.points {
        s.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.2\"><title>{} {}: {}</title></circle>",
            x(p.t),
            y(p.v),
            esc(&p.cycle),
            utc(p.t).format("%Y-%m-%d %H:%M UTC"),
            fmt(p.v, 4)
        ));
    }
    s.push_str("</svg></figure>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_far_from_zero_stays_a_ripple() {
        // semantic_quality in the demo: 0.677–0.684 with a healthy level of 0.60.
        let a = value_axis(&[0.678, 0.684, 0.681], Some(0.60));
        assert!(a.lo <= 0.60 && a.hi >= 0.684, "{a:?}");
        assert!((0.684 - 0.678) / (a.hi - a.lo) < 0.1, "noise fills {a:?}");
        // Without a healthy level the span is at least a tenth of the value.
        let a = value_axis(&[0.678, 0.684], None);
        assert!(a.hi - a.lo >= 0.068 - 1e-9, "{a:?}");
        assert!(a.lo <= 0.678 && a.hi >= 0.684, "{a:?}");
    }

    #[test]
    fn rates_start_at_zero_and_include_the_healthy_level() {
        let a = value_axis(&[0.023, 0.035], Some(0.10));
        assert_eq!(a.lo, 0.0);
        assert!(a.hi >= 0.10, "{a:?}");
        let a = value_axis(&[0.512, 0.942], Some(0.80));
        assert_eq!((a.lo, a.hi), (0.0, 1.0));
        assert_eq!(a.ticks.first(), Some(&0.0));
        assert_eq!(a.decimals, 1);
    }

    #[test]
    fn flat_and_empty_series_get_a_sane_axis() {
        let a = value_axis(&[0.0, 0.0], None);
        assert_eq!((a.lo, a.hi), (0.0, 1.0));
        let a = value_axis(&[], None);
        assert!(a.hi > a.lo);
        let a = value_axis(&[5.0, 5.0], None);
        assert!(a.lo < 5.0 && a.hi > 5.0 && a.hi - a.lo >= 0.5, "{a:?}");
        assert_eq!(a.ticks, [4.6, 4.8, 5.0, 5.2, 5.4]);
        let a = value_axis(&[-3.0, -2.9], None);
        assert!(
            a.lo <= -3.0 && a.hi >= -2.9 && a.hi - a.lo >= 0.3 - 1e-9,
            "{a:?}"
        );
        // A NaN is no value: the axis is the one of 0.5 alone.
        assert_eq!(value_axis(&[f64::NAN, 0.5], None), value_axis(&[0.5], None));
    }

    #[test]
    fn ticks_are_nice_and_labelled_with_enough_decimals() {
        let a = value_axis(&[0.132, 0.273], Some(0.20));
        assert_eq!(a.lo, 0.0);
        assert!(a.ticks.len() >= 3 && a.ticks.len() <= 6, "{a:?}");
        let labels: Vec<String> = a.ticks.iter().map(|v| fmt(*v, a.decimals)).collect();
        let mut dedup = labels.clone();
        dedup.dedup();
        assert_eq!(labels, dedup, "distinct labels");
        assert_eq!(labels, ["0.0", "0.1", "0.2", "0.3"]);
    }

    #[test]
    fn the_time_axis_ticks_whole_hours_and_dates_where_the_day_changes() {
        let t0 = crate::clock::parse_ts("2026-01-05T02:00:00Z")
            .unwrap()
            .timestamp();
        let t1 = t0 + 46 * HOUR;
        let a = time_axis(t0, t1, 5);
        let labels: Vec<(&str, Option<&str>)> = a
            .ticks
            .iter()
            .map(|(_, l, d)| (l.as_str(), d.as_deref()))
            .collect();
        assert_eq!(
            labels,
            [
                ("12:00", Some("Jan 5")),
                ("00:00", Some("Jan 6")),
                ("12:00", None),
                ("00:00", Some("Jan 7"))
            ]
        );
        // Long spans tick whole days, labelled with the date alone, inside the axis.
        let a = time_axis(t0, t0 + 40 * DAY, 5);
        assert!((2..=5).contains(&a.ticks.len()), "{a:?}");
        for (t, label, day) in &a.ticks {
            assert!(*t >= t0 && *t <= t0 + 40 * DAY && t % DAY == 0, "{a:?}");
            assert!(
                label.starts_with("Jan ") || label.starts_with("Feb "),
                "{label}"
            );
            assert!(day.is_none());
        }
        // A single instant still has an axis.
        assert!(time_axis(t0, t0, 5).t1 > t0);
    }

    #[test]
    fn markers_link_to_their_rows_and_escape_their_text() {
        let pts = [
            Point {
                t: 0,
                cycle: "C-1".into(),
                v: 0.2,
            },
            Point {
                t: 3600,
                cycle: "C-2".into(),
                v: 0.3,
            },
        ];
        let c = Chart {
            name: "efficiency",
            points: &pts,
            healthy: Some(0.25),
            direction: Direction::Higher,
            critical: true,
        };
        let markers = [
            Marker {
                t: 1800,
                id: "D-0001".into(),
                rollback: false,
                title: "deploy <b>".into(),
            },
            Marker {
                t: 1900,
                id: "D-0001".into(),
                rollback: true,
                title: "rollback".into(),
            },
            Marker {
                t: 99_999,
                id: "D-0009".into(),
                rollback: false,
                title: "later".into(),
            },
        ];
        let s = render(&c, &time_axis(0, 3600, 5), &markers);
        assert!(s.contains("<a class=\"deploy\" href=\"#D-0001\">"), "{s}");
        assert!(s.contains("<a class=\"rollback\" href=\"#D-0001\">"), "{s}");
        assert!(!s.contains("D-0009"), "outside the axis: {s}");
        assert!(
            s.contains("deploy &lt;b&gt;") && !s.contains("<b>\""),
            "{s}"
        );
        assert!(s.contains("healthy ≥ 0.25"), "{s}");
        assert!(
            s.contains("class=\"latest ok\""),
            "0.3 is on the healthy side"
        );
        // Close markers go to different label rows.
        let ys: Vec<&str> = s
            .match_indices("class=\"marker-label\" x=\"")
            .map(|(i, _)| {
                let rest = &s[i..];
                let y = rest.find(" y=\"").unwrap() + 4;
                &rest[y..y + 4]
            })
            .collect();
        assert_eq!(ys.len(), 2);
        assert_ne!(ys[0], ys[1], "{s}");
    }

    #[test]
    fn numbers_read_as_written_in_config() {
        assert_eq!(trim_num(0.2), "0.20");
        assert_eq!(trim_num(0.05), "0.05");
        assert_eq!(trim_num(3.0), "3");
        assert_eq!(healthy_text(Direction::Lower, 0.1), "≤ 0.10");
    }
}
