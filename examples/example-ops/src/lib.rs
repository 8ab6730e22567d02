//! What the example servers (`chat-example`, `stock-price-example`, `quickstart-server`) share
//! for the people who run them, so each binary only declares its own flags:
//!
//! - [`LogFormat`] and [`init_logging`]: `--log-format pretty|json`, filtered by `RUST_LOG`
//!   ([`LOGGING_HELP`] is the text their `--help` shows about it);
//! - [`ShutdownSignal`]: Ctrl-C (SIGINT) and SIGTERM both start a graceful shutdown;
//! - [`start`], [`bind`] and [`Fatal`]: the steps every server takes before serving, and how a
//!   failed one ends the process; [`error_chain`]: an error and its causes on one line;
//! - `testing` (feature `testing`): run a built server binary from a test and talk to it.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::net::TcpListener;

use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (colored when standard error is a terminal).
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The `--help` text about logging, shared by every example server (`after_help`).
pub const LOGGING_HELP: &str = "\
Logging:
  Logs go to standard error, one line per event: with --log-format json one JSON object per
  line ({\"timestamp\",\"level\",\"target\",\"message\", and the event's own fields}).
  RUST_LOG filters them, in tracing-subscriber's EnvFilter syntax (default: info), e.g.
  RUST_LOG=debug, RUST_LOG=warn,sse_axum=debug or RUST_LOG=info,hyper=off.
  An invalid RUST_LOG stops the server at startup.";

/// The filter used when `RUST_LOG` is unset or empty.
const DEFAULT_FILTER: &str = "info";

/// `RUST_LOG` could not be used; the message says why.
#[derive(Debug)]
pub struct LoggingError(String);

impl fmt::Display for LoggingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoggingError {}

/// Installs the global log subscriber: `format` on standard error, filtered by `RUST_LOG`
/// (default `info`).
///
/// Standard error, not standard output: logs are diagnostics, and a service manager or
/// container runtime collects both anyway.
///
/// # Errors
///
/// When `RUST_LOG` is not valid Unicode or not a valid filter (a typo there would otherwise
/// silently log nothing, or everything), or a subscriber is already installed.
pub fn init_logging(format: LogFormat) -> Result<(), LoggingError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if spec.trim().is_empty() => EnvFilter::new(DEFAULT_FILTER),
        Ok(spec) => EnvFilter::try_new(&spec)
            .map_err(|e| LoggingError(format!("invalid RUST_LOG {spec:?}: {e}")))?,
        Err(std::env::VarError::NotPresent) => EnvFilter::new(DEFAULT_FILTER),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(LoggingError("RUST_LOG is not valid Unicode".to_owned()));
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        // Flattened: the message and the event's fields at the top level of each object, which
        // is what log collectors index without a mapping.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .try_init(),
    };
    installed.map_err(|e| LoggingError(format!("cannot install the logger: {e}")))
}

/// Ctrl-C (SIGINT) or SIGTERM: the signals that ask a server to stop.
///
/// Service managers and container runtimes stop a process with SIGTERM, a terminal with
/// Ctrl-C; both start the same graceful shutdown. The handlers are installed by
/// [`ShutdownSignal::listen`], before the server says it is listening: a signal that
/// arrives from then on is never taken by the default action (which would end the process at
/// once, cutting open streams).
#[derive(Debug)]
pub struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Installs the handlers for Ctrl-C and SIGTERM (call inside the Tokio runtime).
    ///
    /// # Errors
    ///
    /// When the operating system refuses a signal handler.
    pub fn listen() -> std::io::Result<ShutdownSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignal {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(ShutdownSignal {})
        }
    }

    /// Waits for the first of the two signals and logs which one came.
    pub async fn received(self) {
        #[cfg(unix)]
        let name = {
            let ShutdownSignal {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => "Ctrl-C (SIGINT)",
                _ = terminate.recv() => "SIGTERM",
            }
        };
        #[cfg(not(unix))]
        let name = match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(error) => {
                tracing::warn!(%error, "cannot listen for Ctrl-C; stop the process another way");
                std::future::pending::<&str>().await
            }
        };
        tracing::info!(signal = name, "shutting down: ending open streams");
    }
}

/// A failure before serving: what to print on standard error, and the exit code.
#[derive(Debug)]
pub struct Fatal {
    message: String,
    code: u8,
}

impl Fatal {
    /// A failure of the environment (a port in use, Redis unreachable): exit code 1.
    pub fn new(message: impl Into<String>) -> Fatal {
        Fatal {
            message: message.into(),
            code: 1,
        }
    }

    /// [`Fatal::new`] with `context`, then `error` and its causes ([`error_chain`]).
    pub fn caused(context: &str, error: &dyn std::error::Error) -> Fatal {
        Fatal::new(format!("{context}: {}", error_chain(error)))
    }

    /// A configuration error, like a bad flag: exit code 2, as clap uses.
    pub fn usage(message: impl Into<String>) -> Fatal {
        Fatal {
            message: message.into(),
            code: 2,
        }
    }

    /// Prints `error: MESSAGE` on standard error and gives the exit code.
    pub fn exit(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        ExitCode::from(self.code)
    }
}

/// The exit code of a server's run: success, or the failure printed ([`Fatal::exit`]).
pub fn exit_code(run: Result<(), Fatal>) -> ExitCode {
    run.map_or_else(Fatal::exit, |()| ExitCode::SUCCESS)
}

/// The first steps of every example server: logging as `format` says ([`init_logging`]),
/// then the shutdown signal handlers ([`ShutdownSignal::listen`]), before anything is logged
/// as listening.
///
/// # Errors
///
/// [`Fatal::usage`] for a bad `RUST_LOG`, [`Fatal::new`] when a signal handler is refused.
pub fn start(format: LogFormat) -> Result<ShutdownSignal, Fatal> {
    init_logging(format).map_err(|e| Fatal::usage(e.to_string()))?;
    ShutdownSignal::listen()
        .map_err(|e| Fatal::new(format!("cannot listen for shutdown signals: {e}")))
}

/// Binds `addr` and gives the listener with its real address (the port the system picked
/// for port 0).
///
/// # Errors
///
/// [`Fatal::new`] when the address cannot be bound (in use, not ours, no permission).
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), Fatal> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Fatal::new(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().unwrap_or(addr);
    Ok((listener, local))
}

/// `error` and each of its causes, joined with `: `, for a one-line startup error.
///
/// ```
/// let error = std::io::Error::other("connection refused");
/// assert_eq!(example_ops::error_chain(&error), "connection refused");
/// ```
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
