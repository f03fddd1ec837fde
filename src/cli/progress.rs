//! Progress on stderr for long work, drawn only when stderr is a terminal: the
//! library's phase spans (`cycle › observe`, `validate P-0003 › shadow_replay`) as a
//! spinner with the elapsed time, and a bar where a phase reports `done`/`total`
//! (an event with target `improve::progress`). The library only emits spans and
//! events; nothing here is installed when stderr is not a terminal.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The target of the library's progress events (fields `done` and `total`).
pub const TARGET: &str = "improve::progress";

static MULTI: OnceLock<MultiProgress> = OnceLock::new();

/// Runs `f` (a write to stdout or stderr) with the progress display cleared, so lines
/// and the display never overlap; just `f` when no progress is shown.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    match MULTI.get() {
        Some(m) => m.suspend(f),
        None => f(),
    }
}

/// The layer that draws progress, or None when stderr is not a terminal.
pub fn layer() -> Option<Progress> {
    let target = ProgressDrawTarget::stderr();
    if target.is_hidden() {
        return None;
    }
    let multi = MULTI.get_or_init(|| MultiProgress::with_draw_target(target));
    Some(Progress {
        multi: multi.clone(),
        inner: Mutex::new(Inner::default()),
    })
}

pub struct Progress {
    multi: MultiProgress,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    bar: Option<ProgressBar>,
    /// The entered spans, outermost first, with their labels.
    stack: Vec<(Id, String)>,
    /// The span whose progress the bar shows as a fraction.
    counted: Option<Id>,
}

/// A span's label: its name and the values of its text fields (`validate P-0003`).
struct Label(String);

struct LabelVisitor<'a>(&'a mut String);

impl Visit for LabelVisitor<'_> {
    fn record_str(&mut self, _field: &Field, value: &str) {
        let _ = write!(self.0, " {}", improve::sanitize::terminal(value));
    }
    fn record_debug(&mut self, _field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {value:?}");
    }
    // Flags and counts say nothing a reader of a progress line needs.
    fn record_bool(&mut self, _field: &Field, _value: bool) {}
    fn record_u64(&mut self, _field: &Field, _value: u64) {}
    fn record_i64(&mut self, _field: &Field, _value: i64) {}
    fn record_f64(&mut self, _field: &Field, _value: f64) {}
}

/// `done` and `total` of a progress event.
#[derive(Default)]
struct Count {
    done: Option<u64>,
    total: Option<u64>,
}

impl Visit for Count {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "done" => self.done = Some(value),
            "total" => self.total = Some(value),
            _ => {}
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, value.max(0) as u64);
    }
    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
        .expect("a valid template")
        .progress_chars("=> ")
}

impl Inner {
    /// Shows the entered spans, or clears the display when none is left.
    fn show(&mut self, multi: &MultiProgress) {
        if self.stack.is_empty() {
            if let Some(b) = self.bar.take() {
                b.finish_and_clear();
                let _ = multi.clear();
            }
            self.counted = None;
            return;
        }
        let msg = self
            .stack
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join(" › ");
        match &self.bar {
            Some(bar) => bar.set_message(msg),
            None => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(spinner_style());
                bar.set_message(msg);
                bar.enable_steady_tick(Duration::from_millis(120));
                self.bar = Some(bar);
            }
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for Progress
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut label = attrs.metadata().name().to_string();
        attrs.record(&mut LabelVisitor(&mut label));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Label(label));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(Label(l)) = span.extensions_mut().get_mut::<Label>() {
                values.record(&mut LabelVisitor(l));
            }
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let label = ctx
            .span(id)
            .and_then(|s| s.extensions().get::<Label>().map(|l| l.0.clone()));
        if let (Some(label), Some(entry)) = (label, inner.stack.iter_mut().find(|(i, _)| i == id)) {
            entry.1 = label;
            inner.show(&self.multi);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let label = ctx
            .span(id)
            .and_then(|s| s.extensions().get::<Label>().map(|l| l.0.clone()))
            .unwrap_or_default();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.stack.push((id.clone(), label));
        inner.show(&self.multi);
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = inner.stack.iter().rposition(|(i, _)| i == id) {
            inner.stack.remove(pos);
        }
        if inner.counted.as_ref() == Some(id) {
            inner.counted = None;
            if let Some(b) = &inner.bar {
                b.set_style(spinner_style());
            }
        }
        inner.show(&self.multi);
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut count = Count::default();
        event.record(&mut count);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Workers report from their own threads, outside any span: the count
        // belongs to the innermost span entered.
        let Some(innermost) = inner.stack.last().map(|(i, _)| i.clone()) else {
            return;
        };
        let Some(bar) = inner.bar.clone() else {
            return;
        };
        if inner.counted.as_ref() != Some(&innermost) {
            inner.counted = Some(innermost);
            bar.set_style(bar_style());
        }
        if let Some(total) = count.total {
            bar.set_length(total);
        }
        // Workers report out of order: the bar only moves forward.
        if let Some(done) = count.done.filter(|d| *d > bar.position()) {
            bar.set_position(done);
        }
    }
}
