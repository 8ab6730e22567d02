//! The server process as the clients' side sees it: started as a child, driven through its
//! stdin and stdout (the protocol of the [module documentation](super)).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use super::ServerKind;

/// A running server process.
pub(super) struct Server {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    /// Its process id, for `/proc`.
    pub(super) pid: u32,
    /// Where it listens.
    pub(super) addr: SocketAddr,
}

impl Server {
    /// Starts this binary again with `--serve KIND` and waits until it listens.
    pub(super) async fn start(kind: ServerKind) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut child = tokio::process::Command::new(exe)
            .args(["--serve", kind.name()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().unwrap_or(0);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        };
        let mut stdout = BufReader::new(stdout).lines();
        let line = stdout.next_line().await?.unwrap_or_default();
        let port: u16 = line
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        Ok(Self {
            child,
            stdin,
            stdout,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    /// Publishes and returns the first and last sequence numbers.
    pub(super) async fn publish(
        &mut self,
        count: u64,
        rate: u64,
        pad: usize,
    ) -> std::io::Result<(u64, u64)> {
        self.stdin
            .write_all(format!("publish {count} {rate} {pad}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        let line = self.stdout.next_line().await?.unwrap_or_default();
        let mut words = line.split_whitespace().skip(1).map(str::parse::<u64>);
        match (words.next(), words.next()) {
            (Some(Ok(first)), Some(Ok(last))) => Ok((first, last)),
            _ => Err(std::io::ErrorKind::InvalidData.into()),
        }
    }

    /// Asks the process to exit, and kills it if it does not within 10 seconds.
    pub(super) async fn quit(mut self) {
        let _ = self.stdin.write_all(b"quit\n").await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}
