//! The command line: one [`Args`] struct, every flag also read from a `STOCK_*` environment
//! variable (a flag given on the command line wins), turned into the library's [`Config`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{CommandFactory as _, Parser};
use example_ops::LogFormat;
use stock_price_example::Config;

/// Live stock prices over Server-Sent Events: a random walk of two tickers published once a
/// tick on `GET /price`, with a live chart on `/`.
#[derive(Debug, Parser)]
#[command(version, after_help = example_ops::LOGGING_HELP)]
pub(crate) struct Args {
    /// Address to listen on, IP:PORT.
    #[arg(
        long,
        env = "STOCK_ADDR",
        value_name = "ADDR",
        default_value = "127.0.0.1:8888"
    )]
    pub(crate) addr: SocketAddr,

    /// Milliseconds between ticks.
    #[arg(
        long,
        env = "STOCK_INTERVAL_MS",
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value = "1000"
    )]
    pub(crate) interval_ms: u64,

    /// Ticks kept for resuming clients.
    #[arg(
        long,
        env = "STOCK_HISTORY",
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value = "300"
    )]
    pub(crate) history: u64,

    /// Share the ticks with other servers through Redis, e.g. redis://127.0.0.1:6379
    /// [default: this process only].
    #[arg(long, env = "STOCK_REDIS", value_name = "URL")]
    pub(crate) redis: Option<String>,

    /// Publish no ticks, only serve those another server publishes through Redis (needs
    /// --redis). The variable takes true/false, 1/0, yes/no or on/off.
    #[arg(long, env = "STOCK_NO_TICKER", value_parser = BoolishValueParser::new())]
    pub(crate) no_ticker: bool,

    /// Log line format (see Logging below).
    #[arg(
        long,
        env = "STOCK_LOG_FORMAT",
        value_name = "FORMAT",
        value_enum,
        default_value_t
    )]
    pub(crate) log_format: LogFormat,
}

impl Args {
    /// The arguments of this process; exits with clap's message and code 2 when they are
    /// wrong, like `Args::parse`.
    pub(crate) fn from_env() -> Args {
        let args = Args::parse();
        if args.no_ticker && args.redis.is_none() {
            // Without a shared hub, a server without the ticker would serve nothing.
            Args::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "--no-ticker needs --redis URL: without a shared hub there is nothing to serve",
                )
                .exit();
        }
        args
    }

    /// The library's configuration for these arguments.
    pub(crate) fn config(&self) -> Config {
        let mut config = Config::default();
        config.interval = Duration::from_millis(self.interval_ms);
        // Saturates on a 32-bit target: more history than memory holds anyway.
        config.history = usize::try_from(self.history).unwrap_or(usize::MAX);
        config.redis = self.redis.clone();
        config.ticker = !self.no_ticker;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // clap checks the command's definition itself on every parse in debug builds (these
    // tests, and the binary tests' `--help`).

    #[test]
    fn defaults_match_the_library() {
        let config = Args::try_parse_from(["stock-price-example"])
            .unwrap()
            .config();
        let defaults = Config::default();
        assert_eq!(config.interval, defaults.interval);
        assert_eq!(config.history, defaults.history);
        assert_eq!(config.redis, None);
        assert!(config.ticker);
    }

    #[test]
    fn flags_reach_the_config() {
        let config = Args::try_parse_from([
            "stock-price-example",
            "--interval-ms=250",
            "--history",
            "7",
            "--redis",
            "redis://127.0.0.1:6379",
            "--no-ticker",
        ])
        .unwrap()
        .config();
        assert_eq!(config.interval, Duration::from_millis(250));
        assert_eq!(config.history, 7);
        assert_eq!(config.redis.as_deref(), Some("redis://127.0.0.1:6379"));
        assert!(!config.ticker);
    }
}
