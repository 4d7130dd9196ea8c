//! Start-up: [`init_platform`] installs logging (stderr and/or the app's [`LogSink`], which
//! forwards to logcat or os_log) and a panic hook that logs panics through it. Idempotent.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How severe a log record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// What the app did.
    Info,
    /// Details for developers.
    Debug,
    /// Everything.
    Trace,
}

impl From<&tracing::Level> for LogLevel {
    fn from(l: &tracing::Level) -> Self {
        match *l {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warn,
            tracing::Level::INFO => Self::Info,
            tracing::Level::DEBUG => Self::Debug,
            tracing::Level::TRACE => Self::Trace,
        }
    }
}

/// One log line for the platform's log.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// The Rust module that logged it (a logcat tag / os_log category).
    pub target: String,
    /// The message and its fields (`key=value`).
    pub message: String,
}

/// Receives Dashkeep's log records: the app forwards them to logcat (`android.util.Log`) or
/// os_log (`Logger`). Called on Rust threads; must return quickly and never log back into Rust.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One record.
    fn log(&self, record: LogRecord);
}

/// How to start the platform.
#[derive(uniffi::Record)]
pub struct PlatformConfig {
    /// A tracing filter (`info`, `dashkeep_core=debug,info`, ...).
    #[uniffi(default = "info")]
    pub log_filter: String,
    /// Whether to log to stderr too (useful on the JVM and in the simulator).
    #[uniffi(default = true)]
    pub log_to_stderr: bool,
    /// The app's log sink, if any.
    #[uniffi(default)]
    pub log_sink: Option<Arc<dyn LogSink>>,
}

static INIT: OnceLock<()> = OnceLock::new();

/// Installs logging and the panic hook. Call once at app start; later calls do nothing and
/// return `false`. Methods work without it (they only log nowhere).
#[uniffi::export]
pub fn init_platform(config: PlatformConfig) -> bool {
    let mut first = false;
    INIT.get_or_init(|| {
        first = true;
        install_logging(config);
        install_panic_hook();
    });
    first
}

fn install_logging(config: PlatformConfig) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = config
        .log_to_stderr
        .then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false));
    let sink = config.log_sink.map(|sink| SinkLayer { sink });
    // A host that installed its own subscriber keeps it.
    let _ = tracing_subscriber::registry().with(filter).with(stderr).with(sink).try_init();
}

/// Logs every panic (message and location) through tracing, so it reaches the app's sink, then
/// runs the previous hook. UniFFI turns the panic itself into an exception in the app.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or("(no message)");
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        tracing::error!(target: "panic", location = location.as_deref().unwrap_or("?"), "panic: {message}");
        previous(info);
    }));
}

/// A tracing layer handing each event to the app's [`LogSink`].
struct SinkLayer {
    sink: Arc<dyn LogSink>,
}

impl<S: tracing::Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = MessageVisitor(String::new());
        event.record(&mut visitor);
        let meta = event.metadata();
        let record = LogRecord {
            level: meta.level().into(),
            target: meta.target().to_string(),
            message: visitor.0,
        };
        let sink = Arc::clone(&self.sink);
        // A sink that throws must not take the logging thread down.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.log(record)));
    }
}

/// Formats an event: the message first, then `key=value` for each other field.
struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let sep = if self.0.is_empty() { "" } else { " " };
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{sep}{rest}");
        } else {
            let _ = write!(self.0, "{sep}{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            let sep = if self.0.is_empty() { "" } else { " " };
            let _ = write!(self.0, "{sep}{}={value}", field.name());
        }
    }
}

/// Test-only: panics with `message` in a synchronous export. Proves a Rust panic reaches the app
/// as an exception (`InternalException` in Kotlin), not a crash. Never call it in an app.
#[doc(hidden)]
#[uniffi::export]
pub fn debug_panic_for_tests(message: String) {
    panic!("{message}");
}

/// Test-only: panics with `message` inside an async export running on the bindings' runtime.
#[doc(hidden)]
#[uniffi::export]
pub async fn debug_panic_async_for_tests(message: String) {
    crate::runtime::run(async move { panic!("{message}") }).await;
}
