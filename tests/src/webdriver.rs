//! Headless Chromium driven over WebDriver by a small client of our own: [`ChromeDriver`],
//! [`BrowserSession`].

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child as StdChild, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::{TempDir, find_binary, free_port, require_binary};

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
                    // Test servers' certificates come from an authority made for the test.
                    "acceptInsecureCerts": true,
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
