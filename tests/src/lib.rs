//! Shared helpers for the cross-crate tests: fixtures, servers on free ports, external binaries.
//!
//! - [`require_binary`]: find a program on `PATH`, or skip the test with a printed reason (fail
//!   instead when `SSE_TEST_REQUIRE_ALL=1`).
//! - [`TestServer`]: an axum [`Router`] served on `127.0.0.1:0` or on a given port, stopped like
//!   a crash (every open connection is closed at once) so it can be restarted on the same port.
//! - [`ChromeDriver`] and [`BrowserSession`]: headless Chromium driven over WebDriver by a small
//!   client of our own over reqwest and serde_json.
//! - [`RedisServer`]: a throw-away `redis-server` on a free port.
#![deny(missing_docs)]

// The README's code blocks compile as doc tests of this crate, so the quickstart cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

pub mod conformance;
pub mod proxy;

use std::error::Error as StdError;
use std::fmt;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child as StdChild, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

// ---------------------------------------------------------------------------------------------
// External binaries
// ---------------------------------------------------------------------------------------------

/// Set to `1` to turn every skip for a missing program into a test failure (CI sets it).
pub const REQUIRE_ALL_VAR: &str = "SSE_TEST_REQUIRE_ALL";

/// Looks `name` up on `PATH`.
///
/// When it is missing, prints `SKIP: <test>: <name> not found (install Debian package <pkg>)`
/// and returns `None`, so the caller returns early; when `SSE_TEST_REQUIRE_ALL=1` it panics with
/// that message instead, so the test fails. `<test>` is the current test's name (libtest names
/// the thread after the test).
///
/// ```no_run
/// let Some(redis) = sse_tests::require_binary("redis-server") else { return };
/// assert!(redis.is_absolute());
/// ```
pub fn require_binary(name: &str) -> Option<PathBuf> {
    if let Some(path) = find_binary(name) {
        return Some(path);
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    let message = format!(
        "SKIP: {test}: {name} not found (install Debian package {})",
        debian_package(name)
    );
    if std::env::var(REQUIRE_ALL_VAR).is_ok_and(|v| v == "1") {
        panic!("{message} and {REQUIRE_ALL_VAR}=1");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and a
    // skip must be seen.
    let _ = writeln!(std::io::stderr(), "{message}");
    None
}

/// Looks `name` up on `PATH` without printing anything: the first executable file found.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn debian_package(binary: &str) -> &str {
    match binary {
        "chromedriver" => "chromium-driver",
        "chromium" | "chromium-browser" => "chromium",
        other => other,
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A fresh, empty directory under the system temp dir, removed (with its content) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/sse-tests-<prefix>-<pid>-<nanos>-<n>`.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "sse-tests-{prefix}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// An axum [`Router`] served over HTTP/1.1 on 127.0.0.1 by a task of this runtime.
///
/// [`TestServer::stop`] (and drop) behaves like a crash: the accept loop and every open
/// connection are aborted at once, so clients see their streams end without a goodbye, and
/// [`TestServer::spawn_on`] can bind the same port again for a restart.
///
/// ```no_run
/// # async fn demo() {
/// use axum::{Router, routing::get};
/// let server = sse_tests::TestServer::spawn(Router::new().route("/", get(|| async { "hi" }))).await;
/// let port = server.addr().port();
/// server.stop().await;
/// let again = sse_tests::TestServer::spawn_on(port, Router::new()).await.unwrap();
/// assert_eq!(again.addr().port(), port);
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves `router` on `127.0.0.1:0`.
    pub async fn spawn(router: Router) -> TestServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve(listener, router)
    }

    /// Serves `router` on `127.0.0.1:<port>`, retrying the bind for up to 10 seconds while the
    /// port is still held (a restart right after [`TestServer::stop`]).
    pub async fn spawn_on(port: u16, router: Router) -> std::io::Result<TestServer> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                Ok(listener) => return Ok(Self::serve(listener, router)),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn serve(mut listener: TcpListener, router: Router) -> TestServer {
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            // Dropping this set (when the task is aborted) aborts every connection task.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    // axum's accept retries after an error (waiting when out of files)
                    // instead of spinning on it.
                    (stream, _peer) = axum::serve::Listener::accept(&mut listener) => {
                        let _ = stream.set_nodelay(true);
                        let service = hyper_util::service::TowerToHyperService::new(router.clone());
                        let connection = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                        connections.spawn(async move {
                            let _ = connection.await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        TestServer {
            addr,
            task: Some(task),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Closes the listener and every open connection at once, and waits until they are gone.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Event-stream clients over TCP
// ---------------------------------------------------------------------------------------------

/// How long [`SseConnection::next_event`] and [`RawSse::read_until`] wait before failing the
/// test: generous, for a loaded 2-core machine.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

type ItemStream = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<sse_client::Item, sse_client::EventStreamError<reqwest::Error>>,
            > + Send,
    >,
>;

/// A `GET` of an event stream over real TCP, its body parsed by sse-client's
/// [`EventStream`](sse_client::EventStream) (no reconnection).
///
/// ```no_run
/// # async fn demo() -> Result<(), reqwest::Error> {
/// let mut conn = sse_tests::SseConnection::open("http://127.0.0.1:8888/price", None).await?;
/// assert_eq!(conn.status, 200);
/// let event = conn.next_event().await.expect("an event");
/// # let _ = event; Ok(()) }
/// ```
pub struct SseConnection {
    /// The response status.
    pub status: reqwest::StatusCode,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The response body when the status is not 200 (read whole), else empty.
    pub error_body: String,
    events: ItemStream,
}

impl fmt::Debug for SseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseConnection")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl SseConnection {
    /// Sends `GET url` (with `Last-Event-ID` when given) and returns once the headers arrived.
    pub async fn open(url: &str, last_event_id: Option<&str>) -> Result<Self, reqwest::Error> {
        use futures_util::StreamExt as _;
        let mut request = reqwest::Client::new()
            .get(url)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        if status != reqwest::StatusCode::OK {
            let error_body = response.text().await?;
            return Ok(SseConnection {
                status,
                headers,
                error_body,
                events: Box::pin(futures_util::stream::empty()),
            });
        }
        let events = sse_client::EventStream::new(response.bytes_stream()).boxed();
        Ok(SseConnection {
            status,
            headers,
            error_body: String::new(),
            events,
        })
    }

    /// The next event (retry items skipped); `None` when the stream ended. Panics after
    /// [`EVENT_TIMEOUT`] or on a transport error.
    pub async fn next_event(&mut self) -> Option<sse_client::Event> {
        match self.next_event_within(EVENT_TIMEOUT).await {
            Ok(event) => event,
            Err(_) => panic!("no event within {EVENT_TIMEOUT:?}"),
        }
    }

    /// The next event within `timeout`: `Err(())` when none came in time, `Ok(None)` when the
    /// stream ended.
    #[allow(clippy::result_unit_err)]
    pub async fn next_event_within(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<sse_client::Event>, ()> {
        use futures_util::StreamExt as _;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Err(_) => return Err(()),
                Ok(None) => return Ok(None),
                Ok(Some(Ok(sse_client::Item::Event(event)))) => return Ok(Some(event)),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("event stream failed: {e} ({e:?})"),
            }
        }
    }
}

/// A `GET` of an event stream whose body is kept as text, to check the exact wire format
/// (after HTTP chunked decoding).
pub struct RawSse {
    /// The response status.
    pub status: reqwest::StatusCode,
    body: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Send>,
    >,
    text: String,
}

impl fmt::Debug for RawSse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSse")
            .field("status", &self.status)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl RawSse {
    /// Sends `GET url` (with `Last-Event-ID` when given) and returns once the headers arrived.
    pub async fn open(url: &str, last_event_id: Option<&str>) -> Result<Self, reqwest::Error> {
        use futures_util::StreamExt as _;
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await?;
        Ok(RawSse {
            status: response.status(),
            body: response.bytes_stream().boxed(),
            text: String::new(),
        })
    }

    /// Reads until `done(text so far)` holds and returns the text so far; panics after
    /// [`EVENT_TIMEOUT`], at the end of the body or on a transport error.
    pub async fn read_until(&mut self, done: impl Fn(&str) -> bool) -> &str {
        use futures_util::StreamExt as _;
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        while !done(&self.text) {
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => panic!("timed out; received so far: {:?}", self.text),
                Ok(None) => panic!("body ended; received: {:?}", self.text),
                Ok(Some(Err(e))) => panic!("body failed: {e}; received: {:?}", self.text),
                Ok(Some(Ok(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
        &self.text
    }
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium over WebDriver
// ---------------------------------------------------------------------------------------------

/// What went wrong talking to chromedriver.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebDriverError {
    /// The HTTP request to chromedriver failed.
    Http(reqwest::Error),
    /// chromedriver answered with a WebDriver error (`error` is the W3C error code).
    Command {
        /// The W3C error code, e.g. `no such element`.
        error: String,
        /// chromedriver's message.
        message: String,
    },
    /// The answer was not the JSON we expected.
    Protocol(String),
    /// Starting a process, a file or a directory failed.
    Io(std::io::Error),
    /// A wait ran out of time; the text says what we waited for and what we last saw.
    Timeout(String),
}

impl fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(_) => f.write_str("request to chromedriver failed"),
            Self::Command { error, message } => write!(f, "webdriver error {error}: {message}"),
            Self::Protocol(what) => write!(f, "unexpected webdriver answer: {what}"),
            Self::Io(_) => f.write_str("i/o error"),
            Self::Timeout(what) => write!(f, "timed out waiting for {what}"),
        }
    }
}

impl StdError for WebDriverError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for WebDriverError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}

impl From<std::io::Error> for WebDriverError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// A `chromedriver` process on a free port of 127.0.0.1, in its own process group.
///
/// Dropping it kills the whole group: chromedriver and every Chromium it started.
///
/// ```no_run
/// # async fn demo() -> Result<(), sse_tests::WebDriverError> {
/// let Some(driver) = sse_tests::ChromeDriver::start().await? else { return Ok(()) };
/// let page = driver.new_session().await?;
/// page.goto("http://127.0.0.1:8888/").await?;
/// let title = page.execute("return document.title", vec![]).await?;
/// # let _ = title; Ok(()) }
/// ```
#[derive(Debug)]
pub struct ChromeDriver {
    child: StdChild,
    port: u16,
    chromium: PathBuf,
    http: reqwest::Client,
}

/// The arguments every Chromium gets (plus a fresh `--user-data-dir`).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1000,760",
];

impl ChromeDriver {
    /// Starts chromedriver and waits until it is ready.
    ///
    /// Returns `Ok(None)` (after printing why) when `chromedriver` or `chromium` is not
    /// installed; see [`require_binary`].
    pub async fn start() -> Result<Option<ChromeDriver>, WebDriverError> {
        let Some(driver) = require_binary("chromedriver") else {
            return Ok(None);
        };
        let chromium = match find_binary("chromium").or_else(|| find_binary("chromium-browser")) {
            Some(path) => path,
            None => match require_binary("chromium") {
                Some(path) => path,
                None => return Ok(None),
            },
        };
        let port = free_port();
        let child = {
            use std::os::unix::process::CommandExt;
            StdCommand::new(driver)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .arg("--log-level=SEVERE")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()?
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()?;
        let this = ChromeDriver {
            child,
            port,
            chromium,
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = this
                .http
                .get(this.url("/status"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(response) = ready {
                let body: Value = serde_json::from_slice(&response.bytes().await?)
                    .map_err(|e| WebDriverError::Protocol(e.to_string()))?;
                if body["value"]["ready"] == Value::Bool(true) {
                    return Ok(Some(this));
                }
            }
            if Instant::now() > deadline {
                return Err(WebDriverError::Timeout(format!(
                    "chromedriver to listen on port {port}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Opens a new headless Chromium with its own fresh profile (a separate browser: separate
    /// cookies, cache and connection pool).
    pub async fn new_session(&self) -> Result<BrowserSession, WebDriverError> {
        let profile = TempDir::new("chromium")?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": self.chromium.to_string_lossy(),
                        "args": args,
                    }
                }
            }
        });
        let value = send(
            &self.http,
            reqwest::Method::POST,
            self.url("/session"),
            Some(capabilities),
        )
        .await?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| WebDriverError::Protocol(format!("no sessionId in {value}")))?
            .to_owned();
        Ok(BrowserSession {
            http: self.http.clone(),
            base: self.url(&format!("/session/{id}")),
            _profile: profile,
        })
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // chromedriver and the browsers it started share its process group.
        let _ = StdCommand::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> Result<Value, WebDriverError> {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await?;
    let bytes = response.bytes().await?;
    let mut answer: Value = serde_json::from_slice(&bytes).map_err(|e| {
        WebDriverError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&bytes)))
    })?;
    let value = answer["value"].take();
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(WebDriverError::Command {
            error: error.to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(value)
}

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser (a WebDriver session); closed when dropped together with its [`ChromeDriver`],
/// or explicitly with [`BrowserSession::close`].
#[derive(Debug)]
pub struct BrowserSession {
    http: reqwest::Client,
    base: String,
    _profile: TempDir,
}

/// A reference to an element of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(String);

impl BrowserSession {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        send(&self.http, method, format!("{}{path}", self.base), body).await
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<(), WebDriverError> {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The first element matching the CSS selector.
    pub async fn find(&self, css: &str) -> Result<Element, WebDriverError> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        element_of(&value)
    }

    /// Every element matching the CSS selector.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, WebDriverError> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        value
            .as_array()
            .ok_or_else(|| WebDriverError::Protocol(format!("not an array: {value}")))?
            .iter()
            .map(element_of)
            .collect()
    }

    /// Clicks the element.
    pub async fn click(&self, element: &Element) -> Result<(), WebDriverError> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// Clears an input.
    pub async fn clear(&self, element: &Element) -> Result<(), WebDriverError> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// Types `text` into the element (`\u{E007}` is Enter).
    pub async fn send_keys(&self, element: &Element, text: &str) -> Result<(), WebDriverError> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await
        .map(drop)
    }

    /// The rendered text of the element.
    pub async fn text(&self, element: &Element) -> Result<String, WebDriverError> {
        let value = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{}/text", element.0),
                None,
            )
            .await?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| WebDriverError::Protocol(format!("not a string: {value}")))
    }

    /// Runs `script` as the body of a function (use `return`) with `args` as `arguments`.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, WebDriverError> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Polls `script` every 100 ms until it returns something other than `null`, `false`, `0`
    /// or `""`, and returns that value; `what` names the condition in the timeout error.
    pub async fn wait_for_script(
        &self,
        what: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<Value, WebDriverError> {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.execute(script, vec![]).await?;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(WebDriverError::Timeout(format!("{what} (last: {value})")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of the first element matching `css` contains `needle`, and returns
    /// that text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, WebDriverError> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if let Ok(element) = self.find(css).await
                && let Ok(text) = self.text(&element).await
            {
                if text.contains(needle) {
                    return Ok(text);
                }
                last = text;
            }
            if Instant::now() > deadline {
                return Err(WebDriverError::Timeout(format!(
                    "{needle:?} in {css} (last text: {last:?})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Takes a PNG screenshot of the viewport and writes it to `path`.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<(), WebDriverError> {
        let value = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let encoded = value
            .as_str()
            .ok_or_else(|| WebDriverError::Protocol("screenshot is not a string".to_owned()))?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| WebDriverError::Protocol("screenshot is not base64".to_owned()))?;
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session (closes the browser).
    pub async fn close(self) -> Result<(), WebDriverError> {
        self.call(reqwest::Method::DELETE, "", None).await.map(drop)
    }
}

fn element_of(value: &Value) -> Result<Element, WebDriverError> {
    value[ELEMENT_KEY]
        .as_str()
        .map(|id| Element(id.to_owned()))
        .ok_or_else(|| WebDriverError::Protocol(format!("not an element: {value}")))
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

/// A throw-away `redis-server` on a free port of 127.0.0.1, without persistence
/// (`--save "" --appendonly no`); killed on drop.
///
/// ```no_run
/// # async fn demo() {
/// let Some(mut redis) = sse_tests::RedisServer::start().await else { return };
/// let url = redis.url(); // redis://127.0.0.1:<port>
/// redis.restart().await; // same port, empty data
/// # let _ = url; }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    dir: TempDir,
    child: Option<tokio::process::Child>,
}

impl RedisServer {
    /// Starts redis-server and waits until it answers `PING`; `None` (after printing why) when
    /// `redis-server` is not installed (see [`require_binary`]). Panics if it does not come up.
    pub async fn start() -> Option<RedisServer> {
        let binary = require_binary("redis-server")?;
        let mut server = RedisServer {
            binary,
            port: free_port(),
            dir: TempDir::new("redis").expect("temp dir"),
            child: None,
        };
        server.launch().await;
        Some(server)
    }

    async fn launch(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let child = tokio::process::Command::new(&self.binary)
                .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(self.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn redis-server");
            self.child = Some(child);
            // Wait for PING, or for the process to exit (port still taken after a restart).
            loop {
                if self.ping().await {
                    return;
                }
                let exited = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                    .is_some();
                if Instant::now() > deadline {
                    panic!("redis-server on port {} did not answer PING", self.port);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                if exited {
                    break;
                }
            }
        }
    }

    /// `true` when the server answers `PING` with `+PONG` within a second.
    pub async fn ping(&self) -> bool {
        let attempt = async {
            let mut stream = TcpStream::connect(self.addr()).await.ok()?;
            stream.write_all(b"*1\r\n$4\r\nPING\r\n").await.ok()?;
            let mut reply = [0u8; 7];
            stream.read_exact(&mut reply).await.ok()?;
            Some(&reply == b"+PONG\r\n")
        };
        tokio::time::timeout(Duration::from_secs(1), attempt)
            .await
            .ok()
            .flatten()
            .unwrap_or(false)
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    /// Kills the server (like a crash) and waits until it is gone; the port stays reserved for
    /// [`RedisServer::restart`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Stops the server if it runs, then starts a fresh one (empty) on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_skips_missing_programs() {
        assert!(find_binary("sh").is_some());
        if std::env::var(REQUIRE_ALL_VAR).is_err() {
            assert!(require_binary("no-such-program-for-sse-tests").is_none());
        }
    }

    #[tokio::test]
    async fn server_restarts_on_the_same_port() {
        use axum::routing::get;
        let router = || Router::new().route("/", get(|| async { "up" }));
        let server = TestServer::spawn(router()).await;
        let port = server.addr().port();
        let body = reqwest::get(server.url("/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "up");
        server.stop().await;
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
        let again = TestServer::spawn_on(port, router()).await.unwrap();
        let body = reqwest::get(again.url("/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "up");
    }

    #[tokio::test]
    async fn chromium_loads_a_page_runs_script_and_takes_a_screenshot() {
        use axum::response::Html;
        use axum::routing::get;
        let Some(driver) = ChromeDriver::start().await.unwrap() else {
            return;
        };
        let page = "<title>t</title><input id=i><p id=p>hello</p>\
                    <script>i.oninput=()=>{p.textContent=i.value}</script>";
        let server =
            TestServer::spawn(Router::new().route("/", get(move || async move { Html(page) })))
                .await;
        let browser = driver.new_session().await.unwrap();
        browser.goto(&server.url("/")).await.unwrap();
        let p = browser.find("#p").await.unwrap();
        assert_eq!(browser.text(&p).await.unwrap(), "hello");
        let input = browser.find("#i").await.unwrap();
        browser.send_keys(&input, "typed").await.unwrap();
        browser
            .wait_for_text("#p", "typed", Duration::from_secs(10))
            .await
            .unwrap();
        let sum = browser
            .execute("return arguments[0] + 1", vec![json!(41)])
            .await
            .unwrap();
        assert_eq!(sum, json!(42));
        match browser.find("#missing").await {
            Err(WebDriverError::Command { error, .. }) => assert_eq!(error, "no such element"),
            other => panic!("expected no such element, got {other:?}"),
        }
        let shot = TempDir::new("shot").unwrap();
        let file = shot.path().join("page.png");
        browser.screenshot(&file).await.unwrap();
        assert!(std::fs::read(&file).unwrap().starts_with(b"\x89PNG"));
        browser.close().await.unwrap();
    }

    #[tokio::test]
    async fn redis_starts_answers_and_restarts() {
        let Some(mut redis) = RedisServer::start().await else {
            return;
        };
        assert!(redis.ping().await);
        assert!(redis.url().starts_with("redis://127.0.0.1:"));
        redis.stop().await;
        assert!(!redis.ping().await);
        redis.restart().await;
        assert!(redis.ping().await);
    }
}
