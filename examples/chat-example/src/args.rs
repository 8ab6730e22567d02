//! The command line: one [`Args`] struct, every flag also read from a `CHAT_*` environment
//! variable (a flag given on the command line wins), turned into the library's [`Config`].
//!
//! A new flag is one more field here (with `env = "CHAT_..."` and its default shown in
//! `--help`) and one more line in [`Args::config`] or in `main`.

use std::net::SocketAddr;

use chat_example::{Config, PublicHost};
use clap::Parser;
use example_ops::LogFormat;

/// A chat over Server-Sent Events: broadcast and direct messages, resumable with
/// Last-Event-ID, with a web page on `/`.
///
/// Names are not identities in this open mode: whoever connects under a name gets that
/// name's direct messages, including those replayed from the history.
#[derive(Debug, Parser)]
#[command(version, after_help = example_ops::LOGGING_HELP)]
pub(crate) struct Args {
    /// Address to listen on, IP:PORT.
    #[arg(
        long,
        env = "CHAT_ADDR",
        value_name = "ADDR",
        default_value = "127.0.0.1:8888"
    )]
    pub(crate) addr: SocketAddr,

    /// Events kept per topic for resuming clients.
    #[arg(long, env = "CHAT_HISTORY", value_name = "N", default_value_t = Config::default().history)]
    pub(crate) history: usize,

    /// Largest accepted message, in bytes of UTF-8 (larger ones get 413).
    #[arg(
        long,
        env = "CHAT_MAX_MESSAGE",
        value_name = "BYTES",
        default_value_t = Config::default().max_message_bytes
    )]
    pub(crate) max_message: usize,

    /// Share the chat with other servers through Redis, e.g. redis://127.0.0.1:6379
    /// [default: this process only].
    #[arg(long, env = "CHAT_REDIS", value_name = "URL")]
    pub(crate) redis: Option<String>,

    /// Another name clients reach this server by (behind a proxy, or bound to 0.0.0.0):
    /// requests whose Host header is neither the bound address (plus localhost for a
    /// loopback bind) nor one of these get 421. NAME allows any port, NAME:PORT only that
    /// one. Repeat the flag, or separate names with commas.
    #[arg(
        long = "public-host",
        env = "CHAT_PUBLIC_HOST",
        value_name = "NAME[:PORT]",
        value_delimiter = ','
    )]
    pub(crate) public_hosts: Vec<PublicHost>,

    /// Log line format (see Logging below).
    #[arg(
        long,
        env = "CHAT_LOG_FORMAT",
        value_name = "FORMAT",
        value_enum,
        default_value_t
    )]
    pub(crate) log_format: LogFormat,
}

impl Args {
    /// The library's configuration for these arguments.
    pub(crate) fn config(&self) -> Config {
        let mut config = Config::default();
        config.history = self.history;
        config.max_message_bytes = self.max_message;
        config.redis = self.redis.clone();
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
        let args = Args::try_parse_from(["chat-example"]).unwrap();
        let config = args.config();
        let defaults = Config::default();
        assert_eq!(config.history, defaults.history);
        assert_eq!(config.max_message_bytes, defaults.max_message_bytes);
        assert_eq!(config.redis, None);
        assert!(args.public_hosts.is_empty());
    }

    #[test]
    fn flags_reach_the_config() {
        let args = Args::try_parse_from([
            "chat-example",
            "--addr=127.0.0.1:9000",
            "--history",
            "5",
            "--max-message",
            "10",
            "--redis",
            "redis://127.0.0.1:6379",
            "--public-host",
            "a.example,b.example:8443",
            "--public-host=c.example",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(args.addr, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(args.public_hosts.len(), 3);
        assert_eq!(args.log_format, LogFormat::Json);
        let config = args.config();
        assert_eq!(config.history, 5);
        assert_eq!(config.max_message_bytes, 10);
        assert_eq!(config.redis.as_deref(), Some("redis://127.0.0.1:6379"));
    }
}
