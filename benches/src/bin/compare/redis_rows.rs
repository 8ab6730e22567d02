//! Publish-to-receive latency across two hub instances through Redis.

use std::time::{Duration, Instant};

use crate::cli::Options;

/// Publish-to-receive latency through Redis next to the in-process hub, on a throw-away
/// `redis-server` (no persistence) on a free loopback port; skipped with a reason when
/// `redis-server` is not installed or does not start.
pub(crate) async fn section(options: &Options) -> Option<String> {
    let samples = if options.quick { 200 } else { 2000 };
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(error) => {
            eprintln!("redis: skipped: no free port: {error}");
            return None;
        }
    };
    let child = tokio::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(_child) = child else {
        eprintln!("redis: skipped: redis-server not found (Debian package redis-server)");
        return None;
    };
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            eprintln!("redis: skipped: redis-server did not start on port {port}");
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match sse_benches::redis_latency::redis_vs_memory_latency(&url, samples).await {
        Ok(report) => Some(report.table()),
        Err(error) => {
            eprintln!("redis: failed: {error}");
            None
        }
    }
}
