//! The quickstart client, for `quickstart-server`:
//!
//! ```text
//! cargo run -p quickstart-server &
//! cargo run -p quickstart-client [-- URL]  # default http://127.0.0.1:8888/sse
//! ```
//!
//! The URL can also come from `QUICKSTART_URL`; `--help` and `--version` say the rest.
//!
//! Two subscribers read the same stream of `timestamp` events: the first is cancelled after
//! 5 seconds with a `CancellationToken`, the second reads until the `end` event (data
//! `end flag`) and then drops its subscription, which closes its connection.

use std::time::Duration;

use clap::Parser as _;
use futures_util::StreamExt;
use reqwest_sse_client::Client;
use tokio_util::sync::CancellationToken;

/// The quickstart client: two subscribers to quickstart-server's stream, one cancelled after
/// 5 s, one reading until the end event.
#[derive(Debug, clap::Parser)]
#[command(version)]
struct Args {
    /// The stream to read, an http:// or https:// URL.
    #[arg(
        env = "QUICKSTART_URL",
        default_value = "http://127.0.0.1:8888/sse",
        value_parser = http_url
    )]
    url: String,
}

/// Refuses at once what the client could only refuse after starting both subscribers.
fn http_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(text.to_owned()),
        _ => Err("not an http:// or https:// URL with a host".to_owned()),
    }
}

/// Reads until cancelled.
async fn cancelled_after_five_seconds(
    client: Client,
    url: String,
) -> Result<(), reqwest_sse_client::Error> {
    let token = CancellationToken::new();
    let mut events = client.subscribe(url).with_cancellation(token.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        token.cancel();
    });
    while let Some(event) = events.next().await {
        let event = event?;
        println!("[subscriber 1] {}: {}", event.event_type(), event.data());
    }
    println!("[subscriber 1] cancelled after 5 s");
    Ok(())
}

/// Reads until the `end` event.
async fn until_end(client: Client, url: String) -> Result<(), reqwest_sse_client::Error> {
    let mut events = client.subscribe(url);
    while let Some(event) = events.next().await {
        let event = event?;
        println!("[subscriber 2] {}: {}", event.event_type(), event.data());
        if event.event_type() == "end" {
            println!("[subscriber 2] got the end event");
            break;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let url = Args::parse().url;
    let client = match Client::builder()
        .on_connect(|response| println!("connected to {}", response.url()))
        .on_disconnect(|disconnect| println!("disconnected: {}", disconnect.reason()))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("quickstart-client: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (first, second) = tokio::join!(
        cancelled_after_five_seconds(client.clone(), url.clone()),
        until_end(client, url),
    );
    let mut code = std::process::ExitCode::SUCCESS;
    for error in [first.err(), second.err()].into_iter().flatten() {
        eprintln!("quickstart-client: {error}");
        code = std::process::ExitCode::FAILURE;
    }
    code
}
