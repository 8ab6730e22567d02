//! The command line: one [`Args`] struct, every flag also read from a `CHAT_*` environment
//! variable (a flag given on the command line wins), turned into the library's [`Config`].
//!
//! A new flag is one more field here (with `env = "CHAT_..."` and its default shown in
//! `--help`) and one more line in [`Args::config`] or in `main`.

use std::net::SocketAddr;
use std::time::Duration;

use chat_example::{AuthOptions, Config, PublicHost};
use clap::Parser;
use example_ops::LogFormat;

/// A chat over Server-Sent Events: broadcast and direct messages, resumable with
/// Last-Event-ID, with a web page on `/`.
///
/// Names are not identities in this open mode: whoever connects under a name gets that
/// name's direct messages, including those replayed from the history. With --auth they are:
/// the page signs in with a name, and each user reads and sends as themselves only.
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

    /// Sign-in: POST /chat/login?username=NAME sets a ticket cookie (HttpOnly,
    /// SameSite=Strict); streams and messages then act as the ticket's user only, and POSTs
    /// from other sites get 403 [default: open, names are anyone's].
    #[arg(long, env = "CHAT_AUTH")]
    pub(crate) auth: bool,

    /// The secret that signs tickets with --auth, at least 32 bytes; servers sharing a hub
    /// need the same. Repeat it (or separate with commas) to rotate keys: the first signs,
    /// all are accepted. Prefer the environment variable: arguments show in `ps`
    /// [default: random per process].
    #[arg(
        long = "auth-key",
        env = "CHAT_AUTH_KEY",
        value_name = "SECRET",
        value_delimiter = ',',
        hide_env_values = true,
        requires = "auth",
        value_parser = parse_key
    )]
    pub(crate) auth_keys: Vec<sse_axum::auth::TicketKey>,

    /// How long a sign-in lasts with --auth; then the stream ends and the page signs in
    /// again, resuming where it was.
    #[arg(
        long,
        env = "CHAT_AUTH_TTL",
        value_name = "SECS",
        requires = "auth",
        default_value_t = AuthOptions::DEFAULT_TTL.as_secs_f64()
    )]
    pub(crate) auth_ttl: f64,

    /// Serve GET /metrics in the Prometheus text format (streams, hub, refusals, stalls).
    #[arg(long, env = "CHAT_METRICS")]
    pub(crate) metrics: bool,

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

    /// The sign-in settings: `None` without --auth.
    ///
    /// Separate from [`Args::config`] because making a random key can fail.
    pub(crate) fn auth(&self) -> Result<Option<AuthOptions>, String> {
        if !self.auth {
            return Ok(None);
        }
        let mut given = self.auth_keys.iter().cloned();
        let mut options = match given.next() {
            Some(first) => AuthOptions::new(given.fold(
                sse_axum::auth::TicketKeys::new(first),
                sse_axum::auth::TicketKeys::also_accept,
            )),
            None => AuthOptions::with_random_key()?,
        };
        options.ttl = seconds(self.auth_ttl);
        if options.ttl.is_zero() {
            return Err("--auth-ttl must be more than 0 seconds".to_owned());
        }
        options.secure_cookie = self.tls_cert.is_some();
        Ok(Some(options))
    }

    /// The stall timeout of the server's sockets (the hub's is in [`Args::config`]).
    pub(crate) fn socket_stall_timeout(&self) -> Option<Duration> {
        self.config().streams.stall_timeout
    }
}

/// A ticket key from the command line: its bytes as given.
fn parse_key(text: &str) -> Result<sse_axum::auth::TicketKey, String> {
    sse_axum::auth::TicketKey::new(text).map_err(|e| e.to_string())
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
        assert!(args.auth().unwrap().is_none());
    }

    #[test]
    fn auth_flags_make_the_sign_in_settings() {
        let key = "k".repeat(32);
        let old = "o".repeat(40);
        let args = Args::try_parse_from([
            "chat-example",
            "--auth",
            "--auth-key",
            &format!("{key},{old}"),
            "--auth-ttl=2.5",
        ])
        .unwrap();
        let auth = args.auth().unwrap().unwrap();
        assert_eq!(auth.ttl, Duration::from_millis(2500));
        assert_eq!(auth.tickets.keys().len(), 2);
        assert!(!auth.secure_cookie);
        let random = Args::try_parse_from(["chat-example", "--auth"]).unwrap();
        let random = random.auth().unwrap().unwrap();
        assert_eq!(random.ttl, AuthOptions::DEFAULT_TTL);
        assert_eq!(random.tickets.keys().len(), 1);
        let zero = Args::try_parse_from(["chat-example", "--auth", "--auth-ttl", "0"]).unwrap();
        assert!(zero.auth().is_err());
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
