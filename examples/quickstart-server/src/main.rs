//! Quickstart server: `GET http://127.0.0.1:8888/sse` sends a `timestamp` event every second,
//! ten times, then an `end` event with data `end flag`. Ctrl-C and SIGTERM shut down
//! gracefully: open streams end at once (with a comment and a `retry` hint) instead of holding
//! the server.
//!
//! Run with `cargo run -p quickstart-server [-- ADDR]` and try `curl -N http://127.0.0.1:8888/sse`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use example_ops::{Fatal, LogFormat};
use tokio_util::sync::CancellationToken;

/// The quickstart: GET /sse sends a timestamp event every second (ids 1 to 10), then an end
/// event, and resumes after a Last-Event-ID.
#[derive(Debug, clap::Parser)]
#[command(version, after_help = example_ops::LOGGING_HELP)]
struct Args {
    /// Address to listen on, IP:PORT.
    #[arg(env = "QUICKSTART_ADDR", default_value = "127.0.0.1:8888")]
    addr: SocketAddr,

    /// Log line format (see Logging below).
    #[arg(
        long,
        env = "QUICKSTART_LOG_FORMAT",
        value_name = "FORMAT",
        value_enum,
        default_value_t
    )]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> ExitCode {
    example_ops::exit_code(run(Args::parse()).await)
}

async fn run(args: Args) -> Result<(), Fatal> {
    let signal = example_ops::start(args.log_format)?;
    let shutdown = CancellationToken::new();
    let app = quickstart_server::app(Duration::from_secs(1), shutdown.clone());
    let (listener, addr) = example_ops::bind(args.addr).await?;
    tracing::info!("listening on http://{addr}/sse");
    // The layer ends open streams when the token fires; then the server's own drain is quick.
    let signal = async move {
        signal.received().await;
        shutdown.cancel();
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(signal)
        .await
        .map_err(|e| Fatal::new(e.to_string()))?;
    tracing::info!("server stopped");
    Ok(())
}
