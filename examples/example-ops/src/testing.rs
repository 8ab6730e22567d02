//! Helpers for tests that run an example's built binary (`env!("CARGO_BIN_EXE_<name>")`) and
//! talk to it over raw TCP on 127.0.0.1, so that what is tested is exactly what an operator
//! runs: argument parsing, logging, signals, the served bytes.
//!
//! Every wait is bounded by [`PATIENCE`], and every process is killed when its handle drops.
//! These are test helpers: they panic, with the server's logs, when something is off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStderr, Command};

/// The longest any helper waits for a process or a socket.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A server binary running for a test; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    logs: Arc<Mutex<String>>,
    collector: Option<tokio::task::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `bin` with `args` (pass `--addr 127.0.0.1:0` or the like so that tests run side
    /// by side) and waits until it logs the address it listens on (`... http://ADDR/...`).
    ///
    /// `RUST_LOG` is set to `info` so that line is logged; `env` adds or overrides variables.
    pub async fn start(bin: &str, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut command = Command::new(bin);
        command
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn the server binary");
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let collector = tokio::spawn(collect_logs(stderr, Arc::clone(&logs), addr_tx));
        let addr = match tokio::time::timeout(PATIENCE, addr_rx).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let status = child.try_wait().ok().flatten();
                panic!(
                    "{bin} {args:?} did not log its address (exit: {status:?}); logs:\n{}",
                    logs.lock().unwrap()
                );
            }
        };
        ServerProcess {
            child,
            addr,
            logs,
            collector: Some(collector),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything the server wrote to standard error so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Sends SIGTERM, as a service manager or container runtime does to stop a process.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        self.signal("-INT");
    }

    fn signal(&self, which: &str) {
        let pid = self.child.id().expect("the server is still running");
        // `kill(1)` rather than a libc binding: the workspace has no `unsafe`.
        let status = std::process::Command::new("kill")
            .args([which, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {which} {pid}: {status}");
    }

    /// Waits for the process to exit, at most `limit`, then for the rest of its logs;
    /// panics with the logs otherwise.
    pub async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for the server"),
            Err(_) => panic!(
                "the server did not exit within {limit:?}; logs:\n{}",
                self.logs()
            ),
        };
        // Its last lines may still be in the pipe; the collector ends at end of file.
        if let Some(collector) = self.collector.take() {
            let _ = tokio::time::timeout(PATIENCE, collector).await;
        }
        status
    }
}

/// Copies `stderr` into `logs`, line by line, and sends the first `http://ADDR/` it sees.
///
/// The pipe must be drained for the whole run, or a chatty server blocks on a full pipe.
async fn collect_logs(
    stderr: ChildStderr,
    logs: Arc<Mutex<String>>,
    addr_tx: tokio::sync::oneshot::Sender<SocketAddr>,
) {
    let mut addr_tx = Some(addr_tx);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(addr) = address_in(&line)
            && let Some(tx) = addr_tx.take()
        {
            let _ = tx.send(addr);
        }
        let mut logs = logs.lock().unwrap();
        logs.push_str(&line);
        logs.push('\n');
    }
}

/// The `ADDR` of the first `http://ADDR/` in a log line, pretty or JSON.
fn address_in(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("http://")?;
    let (addr, _) = rest.split_once('/')?;
    addr.parse().ok()
}

/// Runs `bin` with `args` and `env` to completion (at most [`PATIENCE`]): for arguments that
/// make it exit at once (`--help`, `--version`, errors).
pub async fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(PATIENCE, output)
        .await
        .unwrap_or_else(|_| panic!("{bin} {args:?} did not exit within {PATIENCE:?}"))
        .expect("run the binary")
}

/// A command line that must be refused: the arguments, the environment variables, and what
/// standard error must say.
pub type Refusal<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// The command-line errors every example server answers alike (an unknown flag followed by a
/// value, a bad or missing `--log-format`, a bad `RUST_LOG`), then `cases`: each through
/// [`assert_refused`].
pub async fn assert_command_line_errors(bin: &str, cases: &[Refusal<'_>]) {
    let common: &[Refusal<'_>] = &[
        // Once taken silently by the hand-written parsers.
        (
            &["--bogus", "1"],
            &[],
            "unexpected argument '--bogus' found",
        ),
        (
            &["--log-format", "xml"],
            &[],
            "[possible values: pretty, json]",
        ),
        (
            &["--log-format"],
            &[],
            "a value is required for '--log-format <FORMAT>'",
        ),
        (
            &["--log-fromat", "json"],
            &[],
            "tip: a similar argument exists: '--log-format'",
        ),
        (&[], &[("RUST_LOG", "chat=[")], "invalid RUST_LOG"),
    ];
    for (args, env, expected) in common.iter().chain(cases) {
        assert_refused(bin, args, env, expected).await;
    }
}

/// Checks that `bin` with `args` and `env` exits with a failure and says `expected` on standard
/// error, as a refused command line must.
pub async fn assert_refused(bin: &str, args: &[&str], env: &[(&str, &str)], expected: &str) {
    let output = run(bin, args, env).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{args:?} {env:?} was accepted: {stderr}"
    );
    assert!(
        stderr.contains(expected),
        "{args:?} {env:?}: expected {expected:?} in:\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "{args:?}: output on stdout");
}

/// Checks `--help` (exit 0, every one of `expected` on standard output, and the logging
/// section) and `--version` (`NAME VERSION`).
pub async fn assert_help_and_version(bin: &str, name: &str, version: &str, expected: &[&str]) {
    let help = run(bin, &["--help"], &[]).await;
    assert!(help.status.success(), "--help: {}", help.status);
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in expected
        .iter()
        .chain(&["RUST_LOG", "--log-format", "--version"])
    {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
    let short = run(bin, &["-h"], &[]).await;
    assert!(short.status.success() && !short.stdout.is_empty());
    let version_output = run(bin, &["--version"], &[]).await;
    assert!(version_output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version_output.stdout).trim(),
        format!("{name} {version}")
    );
}

/// Sends `request` as is and reads the whole answer (the request should say
/// `Connection: close`); invalid UTF-8 is replaced.
pub async fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut raw))
        .await
        .expect("the server answers and closes in time")
        .expect("read the answer");
    String::from_utf8_lossy(&raw).into_owned()
}

/// `GET path` with `Host: host` and `Connection: close`.
pub fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// `POST path` with no body, `Host: host` and `Connection: close`.
pub fn post(path: &str, host: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

/// Percent-encodes every byte of `text` but the URL-unreserved ones, for a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The status code of an HTTP/1.x answer, e.g. `200`.
pub fn status_of(answer: &str) -> Option<u16> {
    answer.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

/// The body of an HTTP/1.1 answer (after the head; still chunked if it was sent chunked).
pub fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// An event stream whose head has been read: the body is still coming.
#[derive(Debug)]
pub struct OpenStream {
    tcp: TcpStream,
    /// The status line and headers.
    pub head: String,
    /// Body bytes read together with the head.
    body: Vec<u8>,
}

impl OpenStream {
    /// Sends `GET path` with `Host: host` and reads up to the end of the response head.
    pub async fn open(addr: SocketAddr, path: &str, host: &str) -> OpenStream {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(get(path, host).as_bytes())
            .await
            .expect("send the request");
        let mut raw = Vec::new();
        let mut buf = [0_u8; 4096];
        let end = loop {
            if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let n = tokio::time::timeout(PATIENCE, tcp.read(&mut buf))
                .await
                .expect("the response head comes in time")
                .expect("read the response head");
            assert!(
                n > 0,
                "closed before the head: {:?}",
                String::from_utf8_lossy(&raw)
            );
            raw.extend_from_slice(&buf[..n]);
        };
        let body = raw.split_off(end);
        let head = String::from_utf8_lossy(&raw).into_owned();
        OpenStream { tcp, head, body }
    }

    /// Reads until the body so far (still chunked) satisfies `done`, at most [`PATIENCE`];
    /// returns the body so far.
    pub async fn read_until(&mut self, done: impl Fn(&str) -> bool) -> String {
        let mut buf = [0_u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&self.body);
            if done(&text) {
                return text.into_owned();
            }
            let n = tokio::time::timeout(PATIENCE, self.tcp.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("not there in time; got {text:?}"))
                .expect("read the stream");
            assert!(n > 0, "closed early; got {text:?}");
            self.body.extend_from_slice(&buf[..n]);
        }
    }

    /// Reads until the server closes the connection (at most `limit`) and returns the
    /// de-chunked body, or why the body did not end cleanly with the final empty chunk.
    pub async fn finish(mut self, limit: Duration) -> Result<String, String> {
        let read = tokio::time::timeout(limit, self.tcp.read_to_end(&mut self.body)).await;
        match read {
            Err(_) => return Err(format!("still open after {limit:?}")),
            Ok(Err(e)) => return Err(format!("read failed: {e}")),
            Ok(Ok(_)) => {}
        }
        dechunk(&self.body)
    }
}

/// Opens one stream per path, concurrently (each checked for `200`).
pub async fn open_streams(addr: SocketAddr, paths: &[String]) -> Vec<OpenStream> {
    let host = addr.to_string();
    let mut opening = tokio::task::JoinSet::new();
    for (index, path) in paths.iter().enumerate() {
        let (path, host) = (path.clone(), host.clone());
        opening.spawn(async move { (index, OpenStream::open(addr, &path, &host).await) });
    }
    let mut streams: Vec<(usize, OpenStream)> = opening.join_all().await;
    streams.sort_by_key(|(index, _)| *index);
    streams
        .into_iter()
        .map(|(_, stream)| {
            assert!(
                stream.head.starts_with("HTTP/1.1 200 "),
                "stream refused: {}",
                stream.head
            );
            stream
        })
        .collect()
}

/// Sends `signal` (SIGTERM with [`ServerProcess::terminate`], SIGINT with
/// [`ServerProcess::interrupt`]) and checks a graceful shutdown: the process exits with
/// success, and every stream has ended with the final empty chunk.
///
/// Returns how long the process took to exit after the signal, and the streams' bodies.
pub async fn assert_graceful_shutdown(
    server: &mut ServerProcess,
    signal: fn(&ServerProcess),
    streams: Vec<OpenStream>,
) -> (Duration, Vec<String>) {
    let started = std::time::Instant::now();
    signal(server);
    let status = server.exit_within(PATIENCE).await;
    let took = started.elapsed();
    assert!(status.success(), "exit {status}; logs:\n{}", server.logs());
    let mut bodies = Vec::with_capacity(streams.len());
    for (index, stream) in streams.into_iter().enumerate() {
        // The process is gone: each socket has been closed, read what is left at once.
        match stream.finish(Duration::from_secs(1)).await {
            Ok(body) => bodies.push(body),
            Err(why) => panic!("stream {index} did not end cleanly: {why}"),
        }
    }
    (took, bodies)
}

/// The data of a chunked body that ends with the final empty chunk, or why it is not one.
pub fn dechunk(mut raw: &[u8]) -> Result<String, String> {
    let mut data = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| format!("cut inside a chunk size: {data:?}"))?;
        let size = std::str::from_utf8(&raw[..line_end])
            .ok()
            .and_then(|size| usize::from_str_radix(size, 16).ok())
            .ok_or_else(|| format!("bad chunk size: {:?}", &raw[..line_end]))?;
        let rest = &raw[line_end + 2..];
        if size == 0 {
            return if rest == b"\r\n" {
                String::from_utf8(data).map_err(|e| e.to_string())
            } else {
                Err(format!("bytes after the final chunk: {rest:?}"))
            };
        }
        if rest.len() < size + 2 || &rest[size..size + 2] != b"\r\n" {
            return Err(format!(
                "cut inside a chunk: {:?}",
                String::from_utf8_lossy(&data)
            ));
        }
        data.extend_from_slice(&rest[..size]);
        raw = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_pretty_and_json_lines() {
        let addr: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        assert_eq!(
            address_in(" INFO chat_example: chat on http://127.0.0.1:4321/"),
            Some(addr)
        );
        assert_eq!(
            address_in(r#"{"level":"INFO","message":"listening on http://127.0.0.1:4321/sse"}"#),
            Some(addr)
        );
        assert_eq!(address_in("no address here"), None);
    }

    #[test]
    fn dechunk_accepts_only_a_clean_end() {
        assert_eq!(dechunk(b"3\r\nabc\r\n0\r\n\r\n").as_deref(), Ok("abc"));
        assert!(dechunk(b"3\r\nabc\r\n").is_err());
        assert!(dechunk(b"3\r\nab").is_err());
        assert!(dechunk(b"").is_err());
    }
}
