//! Quickstart server: `GET http://127.0.0.1:8888/sse` sends a `timestamp` event every second,
//! ten times, then an `end` event with data `end flag`. Ctrl-C shuts down gracefully: open
//! streams end at once (with a comment and a `retry` hint) instead of holding the server.
//!
//! Run with `cargo run -p quickstart-server [ADDR]` and try `curl -N http://127.0.0.1:8888/sse`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8888".to_owned());

    let shutdown = CancellationToken::new();
    let app = quickstart_server::app(Duration::from_secs(1), shutdown.clone());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{}/sse", listener.local_addr()?);

    let signal = shutdown.clone();
    tokio::spawn(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => {
                tracing::info!("ctrl-c: shutting down");
                signal.cancel();
            }
            Err(error) => tracing::warn!(%error, "cannot listen for ctrl-c"),
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    tracing::info!("server stopped");
    Ok(())
}
