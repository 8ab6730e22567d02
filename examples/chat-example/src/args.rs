//! The command line: one [`Args`] struct, every flag also read from a `CHAT_*` environment
//! variable (a flag given on the command line wins), turned into the library's [`Config`].
//!
//! A new flag is one more field here (with `env = "CHAT_..."` and its default shown in
//! `--help`) and one more line in [`Args::config`] or in `main`.

use std::net::SocketAddr;
use std::time::Duration;

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

    /// Spread the ends of a graceful shutdown over this many seconds: each stream ends at
    /// its own moment, with a retry of its own, so clients do not all come back at once
    /// [default: all end at once].
    #[arg(long, env = "CHAT_DRAIN", value_name = "SECS")]
    pub(crate) drain: Option<f64>,

    /// End each stream after about this many seconds (90-100%, at random); the client
    /// resumes from the history with its Last-Event-ID [default: no limit].
    #[arg(long, env = "CHAT_MAX_LIFETIME", value_name = "SECS")]
    pub(crate) max_lifetime: Option<f64>,

    /// At most this many open streams; beyond, a client is told to retry later (200, a
    /// jittered retry, a clean end: browsers come back) [default: no limit].
    #[arg(long, env = "CHAT_MAX_STREAMS", value_name = "N")]
    pub(crate) max_streams: Option<usize>,

    /// At most this many open streams per client IP address [default: no limit].
    #[arg(long, env = "CHAT_MAX_STREAMS_PER_IP", value_name = "N")]
    pub(crate) max_streams_per_ip: Option<usize>,

    /// Disconnect a client that took no bytes for this many seconds while events waited
    /// (0: never).
    #[arg(
        long,
        env = "CHAT_STALL_TIMEOUT",
        value_name = "SECS",
        default_value_t = 30.0
    )]
    pub(crate) stall_timeout: f64,

    /// Compress streams with zstd, brotli or gzip, as the client accepts, every event
    /// flushed.
    #[arg(long, env = "CHAT_COMPRESS")]
    pub(crate) compress: bool,

    /// Also speak HTTP/2 without TLS (h2c, by prior knowledge) on the same port.
    #[arg(long, env = "CHAT_HTTP2")]
    pub(crate) http2: bool,

    /// Serve HTTPS with this certificate chain (PEM, leaf first); HTTP/2 or HTTP/1.1 by
    /// ALPN. Needs --tls-key.
    #[arg(long, env = "CHAT_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<std::path::PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "CHAT_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<std::path::PathBuf>,

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
        config.streams.drain = self.drain.map(seconds);
        config.streams.max_lifetime = self.max_lifetime.map(seconds);
        config.streams.max_streams = self.max_streams;
        config.streams.max_streams_per_ip = self.max_streams_per_ip;
        config.streams.stall_timeout = Some(seconds(self.stall_timeout)).filter(|d| !d.is_zero());
        config.streams.compress = self.compress;
        config
    }

    /// The stall timeout of the server's sockets (the hub's is in [`Args::config`]).
    pub(crate) fn socket_stall_timeout(&self) -> Option<Duration> {
        self.config().streams.stall_timeout
    }
}

/// Seconds from the command line; a negative, NaN or huge value counts as zero or the most
/// there is rather than failing later.
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
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
