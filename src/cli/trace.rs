//! What a command is doing, on stderr: the library's `tracing` events, and each phase
//! span with its duration when it closes (`-v`: the cycle's phases, `-vv`: each
//! proposal's steps and commands; `RUST_LOG` overrides both), plus the progress
//! display on a terminal. stdout stays for results.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter `-q`/`-v`/`-vv` ask for, unless `RUST_LOG` says otherwise.
fn filter(verbose: u8, quiet: bool) -> EnvFilter {
    let default = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// Installs the subscriber: events and phase timings on stderr (coloured when
/// `ansi`), and progress when stderr is a terminal and not `quiet`.
pub fn init(verbose: u8, quiet: bool, ansi: bool) {
    let events = tracing_subscriber::fmt::layer()
        .with_writer(|| Stderr)
        .with_target(false)
        .without_time()
        .with_ansi(ansi)
        .with_filter(filter(verbose, quiet));
    let timings = Timings { ansi }.with_filter(filter(verbose, quiet));
    let progress = (!quiet).then(super::progress::layer).flatten().map(|p| {
        p.with_filter(
            Targets::new()
                .with_target("improve", tracing::Level::DEBUG)
                .with_target(super::progress::TARGET, tracing::Level::TRACE),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(events)
        .with(timings)
        .with(progress)
        .try_init();
}

/// stderr for log lines: written whole, with the progress display cleared; a closed
/// stderr is ignored.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        super::progress::suspend(|| io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Prints each span's duration when it closes:
/// ` INFO cycle{id=C-000003}:observe: done in 12.3ms files_read=812`.
struct Timings {
    ansi: bool,
}

/// When the span started, and its fields as `key=value`.
struct Started {
    at: Instant,
    fields: Vec<String>,
}

struct Fields<'a>(&'a mut Vec<String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let v = format!("{}={}", field.name(), improve::sanitize::terminal(value));
        self.0.push(v);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut v = String::new();
        let _ = write!(v, "{}={value:?}", field.name());
        self.0.push(v);
    }
}

impl<S> Layer<S> for Timings
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = vec![];
        attrs.record(&mut Fields(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Started {
                at: Instant::now(),
                fields,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(s) = span.extensions_mut().get_mut::<Started>() {
                values.record(&mut Fields(&mut s.fields));
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        let Some(started) = ext.get::<Started>() else {
            return;
        };
        let scope: Vec<String> = span
            .scope()
            .from_root()
            .map(|s| {
                let fields = s
                    .extensions()
                    .get::<Started>()
                    .map(|st| st.fields.join(","))
                    .unwrap_or_default();
                if fields.is_empty() {
                    s.name().to_string()
                } else {
                    format!("{}{{{fields}}}", s.name())
                }
            })
            .collect();
        let level = span.metadata().level();
        let level = if self.ansi {
            format!("\x1b[2m{level:>5}\x1b[0m")
        } else {
            format!("{level:>5}")
        };
        let line = format!(
            "{level} {}: done in {:.1?}\n",
            scope.join(":"),
            started.at.elapsed()
        );
        let _ = Stderr.write(line.as_bytes());
    }
}
