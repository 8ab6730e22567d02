//! The quickstart client, for `quickstart-server`:
//!
//! ```text
//! cargo run -p quickstart-server &
//! cargo run -p quickstart-client [URL]     # default http://127.0.0.1:8888/sse
//! ```
//!
//! Two subscribers read the same stream of `timestamp` events: the first is cancelled after
//! 5 seconds with a `CancellationToken`, the second reads until the `end` event (data
//! `end flag`) and then drops its subscription, which closes its connection.

use std::time::Duration;

use futures_util::StreamExt;
use sse_client::Client;
use tokio_util::sync::CancellationToken;

const DEFAULT_URL: &str = "http://127.0.0.1:8888/sse";

/// Reads until cancelled.
async fn cancelled_after_five_seconds(
    client: Client,
    url: String,
) -> Result<(), sse_client::Error> {
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
async fn until_end(client: Client, url: String) -> Result<(), sse_client::Error> {
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
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
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
