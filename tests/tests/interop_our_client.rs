//! Our client (`reqwest_sse_client::Client`, and the `sse-cat` binary) reading the servers people run:
//! `sse-starlette` under uvicorn, `aiohttp-sse`, Node's `better-sse`, and axum's own
//! `axum::response::sse`.
//!
//! Every server serves the same scenario (written to a JSON file for the drivers in
//! `tests/interop/`): `retry: 700`, then five events with types, ids, multi-line data with an
//! empty line, unicode and leading spaces, 250 ms apart with the server's own ping comments
//! every 100 ms in between; with `?drop_after=2` the first connection is dropped after two
//! events, and a request with `Last-Event-ID` continues after that id. Each server reports the
//! requests it got (method, `Last-Event-ID`, body), which the tests check.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as AxumEvent, KeepAlive as AxumKeepAlive, Sse};
use axum::routing::get;
use futures_util::{Stream, StreamExt as _, stream};
use reqwest_sse_client::{Client, DisconnectReason};
use serde_json::{Value, json};
use sse_tests::interop::{Driver, Reports, node_with, python_with, skip};
use sse_tests::{TempDir, TestServer};
use tokio::sync::mpsc;

const RETRY_MS: u64 = 700;
const PING_MS: u64 = 100;
const PAUSE_MS: u64 = 250;
/// Our client's own reconnection time, far from the servers' `retry`, so that honouring it
/// shows.
const CLIENT_RETRY: Duration = Duration::from_secs(10);
/// Every wait for our client is bounded by this.
const WAIT: Duration = Duration::from_secs(30);
const DROP_AFTER: usize = 2;

/// One event of the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    event_type: &'static str,
    id: &'static str,
    data: &'static str,
}

const EVENTS: [Expected; 5] = [
    Expected {
        event_type: "message",
        id: "1",
        data: "first",
    },
    Expected {
        event_type: "update",
        id: "2",
        data: "multi\nline\n\nwith an empty line",
    },
    Expected {
        event_type: "ünïcode",
        id: "3",
        data: "héllo wörld — 日本語 🎉 e\u{301} \u{2028}ls \u{85}nel",
    },
    Expected {
        event_type: "message",
        id: "4",
        data: "  two leading spaces",
    },
    Expected {
        event_type: "last",
        id: "5",
        data: "last one",
    },
];

fn scenario_json() -> Value {
    let events: Vec<Value> = EVENTS
        .iter()
        .map(|e| json!({"type": e.event_type, "id": e.id, "data": e.data}))
        .collect();
    json!({"events": events, "retry_ms": RETRY_MS, "ping_ms": PING_MS, "pause_ms": PAUSE_MS})
}

/// A foreign server on a free loopback port, and the requests it reports.
struct Server {
    base: String,
    requests: Reports,
    _process: Box<dyn std::any::Any + Send>,
    _scenario: TempDir,
}

impl Server {
    /// Starts a driver from `tests/interop/` with the scenario file as its argument.
    async fn driver(program: &std::path::Path, script: &str) -> Server {
        let dir = TempDir::new("interop-scenario").unwrap();
        let file = dir.path().join("scenario.json");
        std::fs::write(&file, scenario_json().to_string()).unwrap();
        let mut driver = Driver::spawn(program, &[script, file.to_str().unwrap()]);
        let port = driver.listening_port().await;
        let (requests, child) = driver.into_parts();
        Server {
            base: format!("http://127.0.0.1:{port}"),
            requests,
            _process: Box::new(child),
            _scenario: dir,
        }
    }

    async fn starlette() -> Option<Server> {
        let python = python_with(&["sse_starlette", "starlette", "uvicorn"])?;
        Some(Server::driver(&python, "sse_starlette_server.py").await)
    }

    async fn aiohttp() -> Option<Server> {
        let python = python_with(&["aiohttp", "aiohttp_sse"])?;
        Some(Server::driver(&python, "aiohttp_sse_server.py").await)
    }

    async fn better_sse() -> Option<Server> {
        let node = node_with(&["better-sse"])?;
        Some(Server::driver(&node, "better_sse_server.mjs").await)
    }

    /// axum's `response::sse` in this process, serving the scenario the way the drivers do.
    async fn axum() -> Server {
        let (tx, requests) = Reports::channel();
        let router = Router::new()
            .route("/events", get(axum_events))
            .with_state(tx);
        let server = TestServer::spawn(router).await;
        Server {
            base: server.url(""),
            requests,
            _process: Box::new(server),
            _scenario: TempDir::new("interop-scenario").unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next request the server reports.
    async fn request(&mut self) -> Value {
        self.requests
            .until("a request", |r| r["kind"] == "request")
            .await
    }
}

#[derive(serde::Deserialize)]
struct EventsQuery {
    drop_after: Option<usize>,
}

async fn axum_events(
    State(requests): State<mpsc::UnboundedSender<Value>>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Sse<impl Stream<Item = Result<AxumEvent, std::io::Error>>> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = requests.send(json!({
        "kind": "request", "method": "GET", "path": "/events",
        "last_event_id": last_event_id, "body": null,
    }));
    let start = last_event_id
        .as_deref()
        .and_then(|id| EVENTS.iter().position(|e| e.id == id))
        .map_or(0, |i| i + 1);
    let drop_after = query.drop_after.filter(|_| last_event_id.is_none());
    let retry = AxumEvent::default().retry(Duration::from_millis(RETRY_MS));
    let events =
        stream::iter(EVENTS[start..].iter().enumerate()).then(move |(sent, e)| async move {
            // The pause comes first, so that the events before a drop are on the wire.
            tokio::time::sleep(Duration::from_millis(PAUSE_MS)).await;
            if Some(sent) == drop_after {
                // A body error makes hyper close the connection without ending the chunked body.
                return Err(std::io::Error::other("dropped by the test"));
            }
            Ok(AxumEvent::default()
                .event(e.event_type)
                .id(e.id)
                .data(e.data))
        });
    Sse::new(stream::once(async { Ok(retry) }).chain(events))
        .keep_alive(AxumKeepAlive::new().interval(Duration::from_millis(PING_MS)))
}

fn client() -> Client {
    Client::builder().retry(CLIENT_RETRY).build().unwrap()
}

/// The next `n` events of `subscription`, each within [`WAIT`].
async fn take_events(
    subscription: &mut reqwest_sse_client::Subscription,
    n: usize,
) -> Vec<reqwest_sse_client::Event> {
    let mut events = Vec::new();
    while events.len() < n {
        match tokio::time::timeout(WAIT, subscription.next()).await {
            Ok(Some(Ok(event))) => events.push(event),
            Ok(Some(Err(e))) => panic!("subscription failed: {e}; got {events:?}"),
            Ok(None) => panic!("subscription ended; got {events:?}"),
            Err(_) => panic!("no event within {WAIT:?}; got {events:?}"),
        }
    }
    events
}

fn assert_scenario_events(events: &[reqwest_sse_client::Event], decode: impl Fn(&str) -> String) {
    let got: Vec<(&str, String, &str)> = events
        .iter()
        .map(|e| (e.event_type(), decode(e.data()), e.last_event_id()))
        .collect();
    let expected: Vec<(&str, String, &str)> = EVENTS
        .iter()
        .map(|e| (e.event_type, e.data.to_owned(), e.id))
        .collect();
    assert_eq!(got, expected);
}

/// Data as the server sent it.
fn verbatim(data: &str) -> String {
    data.to_owned()
}

/// better-sse writes data through its serializer, JSON by default.
fn json_text(data: &str) -> String {
    serde_json::from_str::<String>(data)
        .unwrap_or_else(|e| panic!("not a JSON string: {data:?}: {e}"))
}

/// The server's pings are on the wire (so ignoring them is exercised): `ping` is how the
/// server writes one.
async fn assert_pings_on_the_wire(server: &mut Server, ping: &str) {
    let mut response = client()
        .http()
        .get(server.url("/events"))
        .send()
        .await
        .unwrap();
    let mut body = Vec::new();
    while !String::from_utf8_lossy(&body).contains(ping) {
        match tokio::time::timeout(WAIT, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            other => panic!(
                "no {ping:?} in {:?}: {other:?}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
    drop(response);
    server.request().await;
}

/// Events, types, ids and data exactly, the pings ignored; then a dropped connection, the
/// reconnection after the server's `retry` with `Last-Event-ID`, and the rest without a gap or
/// a duplicate.
async fn events_pings_and_resume(
    server: &mut Server,
    ping: &str,
    decode: impl Fn(&str) -> String + Copy,
) {
    assert_pings_on_the_wire(server, ping).await;

    let mut subscription = client().subscribe(server.url("/events"));
    let events = take_events(&mut subscription, EVENTS.len()).await;
    drop(subscription);
    assert_scenario_events(&events, decode);
    let request = server.request().await;
    assert_eq!(request["last_event_id"], Value::Null, "{request}");

    #[derive(Debug)]
    enum Seen {
        Connect(Instant),
        Disconnect(Instant, String, Option<Duration>),
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let (on_connect, on_disconnect) = (Arc::clone(&log), Arc::clone(&log));
    let client = Client::builder()
        .retry(CLIENT_RETRY)
        .on_connect(move |_| {
            on_connect
                .lock()
                .unwrap()
                .push(Seen::Connect(Instant::now()))
        })
        .on_disconnect(move |d| {
            let reason = match d.reason() {
                DisconnectReason::Network(_) => "network".to_owned(),
                other => other.to_string(),
            };
            on_disconnect.lock().unwrap().push(Seen::Disconnect(
                Instant::now(),
                reason,
                d.reconnect_in(),
            ));
        })
        .build()
        .unwrap();
    let mut subscription =
        client.subscribe(server.url(&format!("/events?drop_after={DROP_AFTER}")));
    let events = take_events(&mut subscription, EVENTS.len()).await;
    drop(subscription);
    assert_scenario_events(&events, decode);
    let first = server.request().await;
    let resumed = server.request().await;
    assert_eq!(first["last_event_id"], Value::Null, "{first}");
    assert_eq!(
        resumed["last_event_id"],
        EVENTS[DROP_AFTER - 1].id,
        "{resumed}"
    );
    let log = log.lock().unwrap();
    let [
        Seen::Connect(_),
        Seen::Disconnect(dropped, reason, delay),
        Seen::Connect(back),
        ..,
    ] = &log[..]
    else {
        panic!("connections: {log:?}");
    };
    assert_eq!(reason, "network");
    // The server's retry (plus at most a quarter of jitter), not ours.
    let retry = Duration::from_millis(RETRY_MS);
    let delay = delay.expect("reconnects");
    assert!(delay >= retry && delay <= retry + retry / 4, "{delay:?}");
    let gap = back.duration_since(*dropped);
    assert!(gap >= retry && gap < CLIENT_RETRY, "{gap:?}");
}

/// The `sse-cat` binary: built by `cargo test --workspace`; built here when a narrower
/// `cargo test` left it out.
fn sse_cat() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("sse-cat");
    if !bin.is_file() {
        let built = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "sse-cat"])
            .status();
        if !built.is_ok_and(|s| s.success()) || !bin.is_file() {
            skip("sse-cat is not built and `cargo build -p sse-cat` failed");
            return None;
        }
    }
    Some(bin)
}

/// Runs `sse-cat args…` to its exit (bounded) and returns its stdout lines.
async fn run_sse_cat(args: &[&str]) -> Option<Vec<Value>> {
    let bin = sse_cat()?;
    let output = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new(bin)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("sse-cat exits")
    .expect("sse-cat runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = String::from_utf8(output.stdout).unwrap();
    Some(
        lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

/// `sse-cat --no-reconnect`: the retry line, then one line per event, exactly.
async fn sse_cat_prints_the_events(server: &mut Server, decode: impl Fn(&str) -> String) {
    let Some(lines) = run_sse_cat(&["--no-reconnect", &server.url("/events")]).await else {
        return;
    };
    let mut expected = vec![json!({"retry": RETRY_MS})];
    expected.extend(
        EVENTS
            .iter()
            .map(|e| json!({"type": e.event_type, "data": e.data, "last_event_id": e.id})),
    );
    let got: Vec<Value> = lines
        .into_iter()
        .map(|mut line| {
            if let Some(data) = line["data"].as_str() {
                line["data"] = json!(decode(data));
            }
            line
        })
        .collect();
    assert_eq!(got, expected);
    server.request().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_starlette_under_uvicorn() {
    let Some(mut server) = Server::starlette().await else {
        return;
    };
    // sse-starlette's ping: a comment with a timestamp, lines ended by CRLF.
    events_pings_and_resume(&mut server, ": ping - ", verbatim).await;
    sse_cat_prints_the_events(&mut server, verbatim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiohttp_sse() {
    let Some(mut server) = Server::aiohttp().await else {
        return;
    };
    events_pings_and_resume(&mut server, ": ping\r\n\r\n", verbatim).await;
    sse_cat_prints_the_events(&mut server, verbatim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_better_sse() {
    let Some(mut server) = Server::better_sse().await else {
        return;
    };
    // better-sse's keep-alive: an empty comment.
    events_pings_and_resume(&mut server, "\n:\n\n", json_text).await;
    sse_cat_prints_the_events(&mut server, json_text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_response_sse() {
    let mut server = Server::axum().await;
    events_pings_and_resume(&mut server, "\n:\n\n", verbatim).await;
    sse_cat_prints_the_events(&mut server, verbatim).await;
}

/// The body of the POST stream; the Starlette route answers one `token` event per word.
const PROMPT: &str = "tell me about interop";

fn tokens() -> Vec<Value> {
    PROMPT
        .split(' ')
        .enumerate()
        .map(|(n, word)| json!({"type": "token", "data": word, "last_event_id": (n + 1).to_string()}))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_starlette_post_stream_with_sse_cat() {
    let Some(mut server) = Server::starlette().await else {
        return;
    };
    let url = server.url("/chat");
    let Some(lines) = run_sse_cat(&["--no-reconnect", "-d", PROMPT, &url]).await else {
        return;
    };
    assert_eq!(lines, tokens());
    let request = server.request().await;
    assert_eq!(
        (&request["method"], &request["body"]),
        (&json!("POST"), &json!(PROMPT))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_starlette_post_stream_that_ends_is_not_sent_again() {
    let Some(mut server) = Server::starlette().await else {
        return;
    };
    let client = Client::builder()
        .retry(Duration::from_millis(RETRY_MS))
        .build()
        .unwrap();
    let request = client.http().post(server.url("/chat")).body(PROMPT);
    let mut subscription = client.subscribe(request);
    let events = take_events(&mut subscription, tokens().len()).await;
    let got: Vec<Value> = events
        .iter()
        .map(|e| json!({"type": e.event_type(), "data": e.data(), "last_event_id": e.last_event_id()}))
        .collect();
    assert_eq!(got, tokens());
    // The stream ended cleanly: the subscription ends instead of sending the POST again.
    let end = tokio::time::timeout(WAIT, subscription.next()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
    let request = server.request().await;
    assert_eq!(request["method"], "POST");
    tokio::time::sleep(Duration::from_millis(RETRY_MS * 3)).await;
    let again = server
        .requests
        .drain()
        .iter()
        .filter(|r| r["kind"] == "request")
        .count();
    assert_eq!(again, 1, "{}", server.requests.context());
}
