//! [`ClientBuilder`] and the configuration it makes, shared by every subscription of a
//! [`Client`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Client, Reconnect};
use crate::backoff::BackoffConfig;
use crate::error::{Disconnect, Error};
use crate::parser::DEFAULT_MAX_EVENT_SIZE;

type ConnectCallback = Arc<dyn Fn(&reqwest::Response) + Send + Sync>;
type DisconnectCallback = Arc<dyn Fn(&Disconnect) + Send + Sync>;

/// What every subscription of one [`Client`] shares.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) backoff: BackoffConfig,
    pub(crate) max_retries: Option<u32>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_event_size: usize,
    pub(crate) retry_server_errors: bool,
    /// `None`: chosen by the request's method.
    pub(crate) reconnect: Option<Reconnect>,
    /// The `reqwest::Client` was built here (not given), so its TLS support is known.
    pub(crate) own_http_client: bool,
    pub(crate) on_connect: Option<ConnectCallback>,
    pub(crate) on_disconnect: Option<DisconnectCallback>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("backoff", &self.backoff)
            .field("max_retries", &self.max_retries)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_event_size", &self.max_event_size)
            .field("retry_server_errors", &self.retry_server_errors)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]; made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use reqwest_sse_client::{Client, Reconnect};
///
/// # fn main() -> Result<(), reqwest_sse_client::Error> {
/// let client = Client::builder()
///     .retry(Duration::from_secs(1))
///     .max_backoff(Duration::from_secs(10))
///     .idle_timeout(Some(Duration::from_secs(45)))
///     .max_retries(Some(20))
///     .reconnect(Reconnect::OnFailure)
///     .on_connect(|response| println!("connected: {}", response.status()))
///     .on_disconnect(|disconnect| println!("disconnected: {}", disconnect.reason()))
///     .build()?;
/// # drop(client);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct ClientBuilder {
    http: Option<reqwest::Client>,
    #[cfg(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls"))]
    root_certificates: Vec<reqwest::Certificate>,
    config: Config,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("http", &self.http)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            http: None,
            #[cfg(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls"))]
            root_certificates: Vec::new(),
            config: Config {
                backoff: BackoffConfig::default(),
                max_retries: None,
                idle_timeout: Some(Duration::from_secs(300)),
                max_event_size: DEFAULT_MAX_EVENT_SIZE,
                retry_server_errors: false,
                reconnect: None,
                own_http_client: true,
                on_connect: None,
                on_disconnect: None,
            },
        }
    }
}

impl ClientBuilder {
    /// Uses an existing `reqwest::Client` (its pool, TLS, proxy and timeouts settings).
    ///
    /// Do not give it a total request `timeout`: it would cut every long-lived stream. The
    /// [idle timeout](Self::idle_timeout) is the one that suits streams. Root certificates
    /// added with [`add_root_certificate`](Self::add_root_certificate) are then not used:
    /// add them to this client.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Also trusts this root certificate for `https://` (e.g. a private certificate
    /// authority's, or a test server's), besides the system's roots.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pem = std::fs::read("ca.pem")?;
    /// let client = reqwest_sse_client::Client::builder()
    ///     .add_root_certificate(reqwest::Certificate::from_pem(&pem)?)
    ///     .build()?;
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls"))]
    #[cfg_attr(
        docsrs,
        doc(cfg(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls")))
    )]
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.root_certificates.push(certificate);
        self
    }

    /// The reconnection time used until the server sends a `retry` field (default 3 s).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.config.backoff.retry = retry;
        self
    }

    /// The smallest base of the exponential backoff (default 100 ms), so that a `retry` of 0
    /// cannot make a failing server a hot loop.
    pub fn min_backoff(mut self, min_backoff: Duration) -> Self {
        self.config.backoff.min_backoff = min_backoff;
        self
    }

    /// The cap of the exponential backoff for repeated failures (default 30 s). A larger
    /// `retry` sent by the server still wins.
    ///
    /// The backoff only grows over attempts that delivered no event: after a connection that
    /// delivered one, the next attempt waits the reconnection time (with a small jitter), as
    /// browsers do.
    pub fn max_backoff(mut self, max_backoff: Duration) -> Self {
        self.config.backoff.max_backoff = max_backoff;
        self
    }

    /// A connection that stayed up this long resets the backoff and the count of
    /// [`max_retries`](Self::max_retries) (default 60 s).
    pub fn reset_backoff_after(mut self, healthy: Duration) -> Self {
        self.config.backoff.reset_after = healthy;
        self
    }

    /// The maximum number of reconnection attempts since the last connection that stayed up
    /// for [`reset_backoff_after`](Self::reset_backoff_after) (default `None`: never give up).
    /// `Some(0)` never reconnects.
    ///
    /// When the limit is reached after a clean end of stream the subscription simply ends;
    /// after a failure it ends with [`Error::GaveUp`].
    pub fn max_retries(mut self, max_retries: Option<u32>) -> Self {
        self.config.max_retries = max_retries;
        self
    }

    /// The [reconnect policy](Reconnect) of every subscription (each can override it with
    /// [`Subscription::reconnect`](crate::Subscription::reconnect)). By default it follows
    /// the request's method: [`Reconnect::Always`] for `GET`, [`Reconnect::OnFailure`] for
    /// the others.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.config.reconnect = Some(reconnect);
        self
    }

    /// Drops and reconnects a connection that received no bytes (not even a keep-alive
    /// comment) for this long; also bounds the wait for the response headers and the reading
    /// of a refused response's body. Default 5 minutes; `None` waits forever (a refused
    /// response's body is then read for at most 30 s).
    pub fn idle_timeout(mut self, idle_timeout: Option<Duration>) -> Self {
        self.config.idle_timeout = idle_timeout;
        self
    }

    /// The maximum size of one event (default 16 MiB); a larger one ends the subscription
    /// with [`Error::EventTooLarge`].
    pub fn max_event_size(mut self, max_event_size: usize) -> Self {
        self.config.max_event_size = max_event_size;
        self
    }

    /// Opt in to retrying responses with a 5xx or 429 status (honouring `Retry-After`, in
    /// seconds or as an HTTP date) instead of ending the subscription. Off by default, as in
    /// browsers.
    pub fn retry_server_errors(mut self, retry: bool) -> Self {
        self.config.retry_server_errors = retry;
        self
    }

    /// Called each time a connection is established (a 200 `text/event-stream` response),
    /// before its body is read.
    pub fn on_connect<F>(mut self, on_connect: F) -> Self
    where
        F: Fn(&reqwest::Response) + Send + Sync + 'static,
    {
        self.config.on_connect = Some(Arc::new(on_connect));
        self
    }

    /// Called once each time a connection that was reported to
    /// [`on_connect`](Self::on_connect) ends, with the reason and the delay before the next
    /// attempt (also when the subscription is dropped or cancelled: reason
    /// [`DisconnectReason::Cancelled`](crate::DisconnectReason::Cancelled)).
    pub fn on_disconnect<F>(mut self, on_disconnect: F) -> Self
    where
        F: Fn(&Disconnect) + Send + Sync + 'static,
    {
        self.config.on_disconnect = Some(Arc::new(on_disconnect));
        self
    }

    /// Builds the client.
    ///
    /// With the `rustls-ring` feature, ring is installed as rustls' process-wide default
    /// crypto provider, unless the program installed one before.
    ///
    /// # Errors
    /// [`Error::HttpClient`] when no client was given and reqwest cannot build one (e.g. the
    /// system's root certificates cannot be loaded).
    pub fn build(mut self) -> Result<Client, Error> {
        let http = match self.http.take() {
            Some(http) => {
                self.config.own_http_client = false;
                http
            }
            None => self.http_builder().build().map_err(Error::HttpClient)?,
        };
        Ok(Client {
            http,
            config: Arc::new(self.config),
        })
    }

    fn http_builder(&mut self) -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder();
        #[cfg(feature = "rustls-ring")]
        install_crypto_provider();
        #[cfg(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls"))]
        let builder = builder.tls_certs_merge(std::mem::take(&mut self.root_certificates));
        builder
    }
}

/// With `rustls-ring` reqwest is built without a crypto provider of its own: it takes
/// rustls' process-wide default, which must be set before any `reqwest::Client` is built.
#[cfg(feature = "rustls-ring")]
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another thread is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
