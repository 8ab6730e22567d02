//! Logging through `tracing` when the `tracing` feature is on (the default), nothing when it
//! is off: `log!(debug, %error, "message")` takes what `tracing::debug!` takes.

/// Logs at a level (`debug`, `info`, `warn`, `error`) when the `tracing` feature is on.
macro_rules! log {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "tracing")]
        ::tracing::$level!($($arg)+);
    }};
}

pub(crate) use log;
