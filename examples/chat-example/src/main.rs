//! The chat server: `chat-example [--addr 127.0.0.1:8888] [--history 1000] [--max-message 4096]
//! [--redis redis://127.0.0.1:6379]`.
//!
//! The address can also come from the `CHAT_ADDR` environment variable; logging follows
//! `RUST_LOG` (default `info`). Ctrl-C ends every open stream and shuts down gracefully.

use std::net::SocketAddr;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

const USAGE: &str =
    "usage: chat-example [--addr ADDR] [--history N] [--max-message BYTES] [--redis URL]

  --addr ADDR          address to listen on (env CHAT_ADDR, default 127.0.0.1:8888)
  --history N          events kept per topic for resuming clients (default 1000)
  --max-message BYTES  largest accepted message (default 4096)
  --redis URL          share the chat with other servers through Redis
                       (e.g. redis://127.0.0.1:6379; default: this process only)";

struct Args {
    addr: SocketAddr,
    config: chat_example::Config,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = std::env::var("CHAT_ADDR").unwrap_or_else(|_| "127.0.0.1:8888".to_owned());
    let mut config = chat_example::Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        if name == "-h" || name == "--help" {
            return Err(String::new());
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{name} needs a value")),
        };
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{name}: {value:?} is not a number"))
        };
        match name.as_str() {
            "--addr" => addr = value.clone(),
            "--history" => config.history = number()?,
            "--max-message" => config.max_message_bytes = number()?,
            "--redis" => config.redis = Some(value.clone()),
            _ => return Err(format!("unknown option {name}")),
        }
    }
    let addr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an address like 127.0.0.1:8888"))?;
    Ok(Args { addr, config })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let shutdown = args.config.shutdown.clone();
    let hub = match chat_example::connect_hub(&args.config).await {
        Ok(hub) => hub,
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message = format!("{message}: {cause}");
                source = cause.source();
            }
            eprintln!("error: cannot start the hub: {message}");
            return ExitCode::FAILURE;
        }
    };
    let router = chat_example::app_with_hub(args.config, hub.clone());
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("chat on http://{}/", args.addr);
    let signal = async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        shutdown.cancel();
        hub.close();
    };
    // `axum::serve` would do; `serve_http1` keeps less memory per open stream (HTTP/1.1 only,
    // which is what `EventSource` uses without TLS).
    if let Err(e) = sse_axum::serve_http1(listener, router)
        .with_graceful_shutdown(signal)
        .await
    {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
