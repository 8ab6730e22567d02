//! The chat server: `chat-example [--addr 127.0.0.1:8888] [--history 1000] [--max-message 4096]
//! [--redis URL] [--public-host NAME[:PORT]]... [--log-format pretty|json]`; `--help` lists the
//! flags, their `CHAT_*` environment variables and defaults.
//!
//! Ctrl-C and SIGTERM both end every open stream cleanly, then the process exits.

mod args;

use std::process::ExitCode;

use clap::Parser as _;
use example_ops::Fatal;

#[tokio::main]
async fn main() -> ExitCode {
    example_ops::exit_code(run(args::Args::parse()).await)
}

async fn run(args: args::Args) -> Result<(), Fatal> {
    let signal = example_ops::start(args.log_format)?;
    let config = args.config();
    let shutdown = config.shutdown.clone();
    let hub = chat_example::connect_hub(&config)
        .await
        .map_err(|e| Fatal::caused("cannot start the hub", &e))?;
    let (listener, addr) = example_ops::bind(args.addr).await?;
    // The Host check needs the real address: with port 0 the system picked one.
    let router = chat_example::AllowedHosts::new(addr, args.public_hosts)
        .protect(chat_example::app_with_hub(config, hub.clone()));
    tracing::info!("chat on http://{addr}/");
    let signal = async move {
        signal.received().await;
        shutdown.cancel();
        hub.close();
    };
    // `axum::serve` would do; `serve_http1` keeps less memory per open stream (HTTP/1.1 only,
    // which is what `EventSource` uses without TLS).
    sse_axum::serve_http1(listener, router)
        .with_graceful_shutdown(signal)
        .await
        .map_err(|e| Fatal::new(e.to_string()))?;
    tracing::info!("stopped");
    Ok(())
}
