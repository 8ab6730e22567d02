//! The chat server: `chat-example [--addr 127.0.0.1:8888] [--history 1000] [--max-message 4096]
//! [--redis URL] [--public-host NAME[:PORT]]... [--drain SECS] [--max-lifetime SECS]
//! [--max-streams N] [--max-streams-per-ip N] [--stall-timeout SECS] [--compress] [--http2]
//! [--tls-cert FILE --tls-key FILE] [--auth [--auth-key SECRET]... [--auth-ttl SECS]]
//! [--log-format pretty|json]`; `--help` lists the flags, their
//! `CHAT_*` environment variables and defaults.
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
    let mut config = args.config();
    if args.metrics {
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| Fatal::caused("cannot install the metrics recorder", &e))?;
        config.metrics = Some(handle);
    }
    config.auth = args.auth().map_err(Fatal::usage)?;
    let stall_timeout = args.socket_stall_timeout();
    let shutdown = config.shutdown.clone();
    let hub = chat_example::connect_hub(&config)
        .await
        .map_err(|e| Fatal::caused("cannot start the hub", &e))?;
    let (listener, addr) = example_ops::bind(args.addr).await?;
    // The Host check needs the real address: with port 0 the system picked one.
    let router = chat_example::AllowedHosts::new(addr, args.public_hosts)
        .protect(chat_example::app_with_hub(config, hub.clone()));
    tracing::info!("chat on http://{addr}/");
    // The layer ends every stream (each at its moment of the drain window, if there is one);
    // the hub is closed once the server has finished, so that it does not end them first.
    let signal = async move {
        signal.received().await;
        shutdown.cancel();
    };
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = chat_example::serve::tls_config(cert, key).map_err(Fatal::new)?;
            tracing::info!("HTTPS with HTTP/2 by ALPN");
            chat_example::serve::serve_auto(listener, router, Some(tls), stall_timeout, signal)
                .await;
        }
        _ if args.http2 => {
            tracing::info!("HTTP/2 without TLS (h2c) beside HTTP/1.1");
            chat_example::serve::serve_auto(listener, router, None, stall_timeout, signal).await;
        }
        // `serve_http1` keeps less memory per open stream (HTTP/1.1 only, which is what
        // `EventSource` uses without TLS).
        _ => sse_axum::serve_http1(listener, router)
            .stall_timeout(stall_timeout)
            .with_graceful_shutdown(signal)
            .await
            .map_err(|e| Fatal::new(e.to_string()))?,
    }
    hub.close();
    tracing::info!("stopped");
    Ok(())
}
