//! Helpers for the interop suite (`tests/tests/interop_*.rs`): third-party SSE implementations
//! run as driver processes from `tests/interop/`, and headless Firefox.
//!
//! - [`python_with`] / [`node_with`]: the runtime with the needed packages, or a skip (a failure
//!   under `SSE_TEST_REQUIRE_ALL=1`) naming the install command.
//! - [`Driver`]: a driver process (killed on drop) whose JSON report lines are read as
//!   [`Reports`]; [`Reports::channel`] gives the same for reports that arrive another way (a
//!   browser page POSTing them to the test).
//! - [`Firefox`]: `firefox-esr --headless` on a page, with a fresh profile, its whole process
//!   group killed on drop.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::{REQUIRE_ALL_VAR, TempDir, require_binary};

/// How long [`Reports::until`] waits for a report: generous, for a browser's first start on a
/// loaded 2-core machine.
pub const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// `tests/interop/`, where the drivers, `requirements.txt` and `package.json` live.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Skips the current test with `SKIP: <test>: <reason>` on stderr, or panics with that message
/// when `SSE_TEST_REQUIRE_ALL=1` (the rule of [`require_binary`], for what is not a binary).
pub fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    let message = format!("SKIP: {test}: {reason}");
    if std::env::var(REQUIRE_ALL_VAR).is_ok_and(|v| v == "1") {
        panic!("{message} and {REQUIRE_ALL_VAR}=1");
    }
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// `python3` when it can import every module of `modules`; otherwise [`skip`]s and returns
/// `None`.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let python = require_binary("python3")?;
    let check = std::process::Command::new(&python)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if check.is_ok_and(|s| s.success()) {
        return Some(python);
    }
    skip(&format!(
        "python3 cannot import {} (pip install -r tests/interop/requirements.txt)",
        modules.join(", ")
    ));
    None
}

/// `node` when every package of `packages` is installed in `tests/interop/node_modules`;
/// otherwise [`skip`]s and returns `None`.
pub fn node_with(packages: &[&str]) -> Option<PathBuf> {
    let node = require_binary("node")?;
    let modules = interop_dir().join("node_modules");
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !modules.join(p).join("package.json").is_file())
        .collect();
    if missing.is_empty() {
        return Some(node);
    }
    skip(&format!(
        "npm packages {} missing (cd tests/interop && npm ci)",
        missing.join(", ")
    ));
    None
}

/// JSON reports in the order they were made, from a driver's stdout or from a channel; every
/// report seen is kept, to be printed when a wait fails.
#[derive(Debug)]
pub struct Reports {
    rx: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
    /// Where the reports come from and what it said on stderr, for failure messages.
    stderr: Arc<Mutex<String>>,
}

impl Reports {
    /// Reports pushed into the returned sender (e.g. by a route that a page POSTs to).
    pub fn channel() -> (mpsc::UnboundedSender<Value>, Reports) {
        let (tx, rx) = mpsc::unbounded_channel();
        let reports = Reports {
            rx,
            seen: Vec::new(),
            stderr: Arc::default(),
        };
        (tx, reports)
    }

    /// Every report received so far.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }

    /// Takes every report already received into [`Reports::seen`], without waiting.
    pub fn drain(&mut self) -> &[Value] {
        while let Ok(report) = self.rx.try_recv() {
            self.seen.push(report);
        }
        &self.seen
    }

    /// The next report, or `None` once the source is gone; panics after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Ok(Some(report)) => {
                self.seen.push(report.clone());
                Some(report)
            }
            Ok(None) => None,
            Err(_) => panic!("no report within {timeout:?}; {}", self.context()),
        }
    }

    /// Waits (at most [`REPORT_TIMEOUT`]) for the first report that satisfies `done`, and
    /// returns it; `what` names it in the panic message.
    pub async fn until(&mut self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + REPORT_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(report) if done(&report) => return report,
                Some(_) => {}
                None => panic!("reports ended before {what}; {}", self.context()),
            }
        }
    }

    /// The reports so far and the source's stderr, shortened for a panic message.
    pub fn context(&self) -> String {
        let reports: Vec<String> = self.seen.iter().map(short).collect();
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        format!("reports so far: [{}]; stderr: {stderr}", reports.join(", "))
    }
}

/// A report with long strings cut, so that a 1 MiB event does not flood a failure message.
fn short(report: &Value) -> String {
    let text = report.to_string();
    if text.len() <= 300 {
        return text;
    }
    let cut = (0..=300)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…({} bytes)", &text[..cut], text.len())
}

/// A driver process from `tests/interop/`: its stdout is read as one JSON report per line, its
/// stderr kept for failure messages; killed when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    /// The driver's reports.
    pub reports: Reports,
}

impl Driver {
    /// Starts `program args…` in `tests/interop/`. Panics if it cannot be started.
    pub fn spawn(program: &Path, args: &[&str]) -> Driver {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(interop_dir())
            // Python buffers stdout when it is a pipe; the drivers flush, this is for tracebacks.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let (tx, reports) = Reports::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let report = serde_json::from_str(&line)
                    .unwrap_or_else(|_| Value::String(format!("not JSON: {line}")));
                if tx.send(report).is_err() {
                    break;
                }
            }
        });
        let log = Arc::clone(&reports.stderr);
        tokio::spawn(async move {
            let mut stderr = stderr;
            let mut buf = vec![0; 8192];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if let Ok(mut log) = log.lock() {
                    // The tail is what explains a failure; keep the log bounded.
                    log.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if log.len() > 16 * 1024 {
                        let cut = log.len() - 8 * 1024;
                        let cut = (cut..log.len())
                            .find(|&i| log.is_char_boundary(i))
                            .unwrap_or(cut);
                        log.replace_range(..cut, "…");
                    }
                }
            }
        });
        Driver { child, reports }
    }

    /// The reports and the process apart (the process is still killed when dropped).
    pub fn into_parts(self) -> (Reports, Child) {
        (self.reports, self.child)
    }

    /// Waits at most `timeout` for the driver to exit by itself; panics if it does not.
    pub async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("waiting for the driver: {e}"),
            Err(_) => panic!(
                "driver still running after {timeout:?}; {}",
                self.reports.context()
            ),
        }
    }

    /// Waits for a server driver's `{"kind":"listening","port":N}` and returns the port.
    pub async fn listening_port(&mut self) -> u16 {
        let report = self
            .reports
            .until("the driver to listen", |r| r["kind"] == "listening")
            .await;
        report["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("bad port in {report}"))
    }
}

/// Headless Firefox ESR showing one page, in a fresh profile; the whole process group is killed
/// when dropped.
#[derive(Debug)]
pub struct Firefox {
    child: std::process::Child,
    _profile: TempDir,
}

/// Preferences that keep a fresh profile from opening anything but the page: no first-run or
/// what's-new pages, no update, telemetry or safe-browsing traffic (there is no network here).
const FIREFOX_PREFS: &str = r#"
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("startup.homepage_welcome_url", "");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("extensions.update.enabled", false);
"#;

impl Firefox {
    /// Opens `url` in `firefox-esr --headless`; `None` (after [`require_binary`]'s skip) when
    /// it is not installed.
    pub fn open(url: &str) -> Option<Firefox> {
        use std::os::unix::process::CommandExt as _;
        let binary = require_binary("firefox-esr")?;
        let profile = TempDir::new("firefox").expect("temp dir");
        std::fs::write(profile.path().join("user.js"), FIREFOX_PREFS).expect("write user.js");
        let child = std::process::Command::new(binary)
            .args(["--headless", "--no-remote", "--profile"])
            .arg(profile.path())
            .arg(url)
            .env("MOZ_HEADLESS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn firefox-esr");
        Some(Firefox {
            child,
            _profile: profile,
        })
    }
}

impl Drop for Firefox {
    fn drop(&mut self) {
        // Firefox runs its content processes in its process group.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
