//! [`RedisServer`]: a throw-away `redis-server` on a free port.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{TempDir, free_port, require_binary};

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
