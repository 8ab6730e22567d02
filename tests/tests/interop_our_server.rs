//! Our server (`sse-axum`: a `Hub` with replay behind `SseLayer`, keep-alive comments, graceful
//! shutdown) read by the clients people use: Chromium's and Firefox's `EventSource`, the
//! `eventsource` npm package, `eventsource-parser` over `fetch`, `httpx-sse`, `sseclient-py`
//! and `curl -N`.
//!
//! Every client goes through the same scenario, and reports what it saw as JSON (driver
//! processes on stdout, browser pages by POSTing to a second test server):
//!
//! 1. from the hub's history: a `retry`-only event, multi-line data with an empty line, CR and
//!    CRLF inside data, unicode (with U+2028 and U+0085, which are not line breaks in SSE), an
//!    empty data line, and a 1 MiB event, each with its own type;
//! 2. keep-alive comments every 100 ms for a while, then a live event;
//! 3. the server drops every connection (like a crash), two events are published while it is
//!    down, it comes back on the same port: the client waits `retry` and resumes with
//!    `Last-Event-ID`, and the hub replays exactly the two missed events;
//! 4. graceful shutdown: the final `bye` event (which has no id), then a clean end.
//!
//! What the WHATWG standard asks is asserted, except where a client is known to disagree: then
//! the behaviour observed is asserted, with the reason (the README's interop table lists them).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Html;
use axum::routing::{get, post};
use serde_json::{Value, json};
use sse_axum::hub::{Hub, Subscribe, Subscription};
use sse_axum::{Event, KeepAlive, LastEventId, SseLayer};
use sse_tests::interop::{Driver, Firefox, Reports, node_with, python_with};
use sse_tests::{ChromeDriver, TestServer, require_binary};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const TOPIC: &str = "interop";
/// Sent in the first event; well below every client's default (3 s in Chromium and the npm
/// package, 5 s in Firefox, 3 s in our drivers), so a client that ignores it reconnects late.
const RETRY: Duration = Duration::from_millis(1000);
const KEEP_ALIVE: Duration = Duration::from_millis(100);
/// How many connections the drivers that reconnect by hand make: the dropped one, the resumed.
const CONNECTIONS: &str = "2";
const BIG_LEN: usize = 1 << 20;

/// One event as a client reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    event_type: String,
    data: String,
    id: Option<String>,
}

impl Seen {
    fn new(event_type: &str, data: &str, id: Option<&str>) -> Self {
        Seen {
            event_type: event_type.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
        }
    }

    fn from_report(report: &Value) -> Seen {
        Seen {
            event_type: report["type"].as_str().unwrap_or_default().to_owned(),
            data: report["data"].as_str().unwrap_or_default().to_owned(),
            id: report["id"].as_str().map(str::to_owned),
        }
    }

    /// For failure messages: the 1 MiB event by its length.
    fn short(&self) -> String {
        let data = if self.data.len() > 80 {
            format!("<{} bytes>", self.data.len())
        } else {
            format!("{:?}", self.data)
        };
        format!("{:?} {data} id={:?}", self.event_type, self.id)
    }
}

fn big_data() -> String {
    (0..BIG_LEN)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// The history events: what is published, and what the standard says a client sees (`None`:
/// not dispatched).
fn history() -> Vec<(Event, Option<(&'static str, String)>)> {
    let typed = |t: &str| Event::new().try_event(t).expect("valid type");
    vec![
        (Event::new().retry(RETRY), None),
        (
            typed("greeting").data("line one\nline two\n\nline four"),
            Some(("greeting", "line one\nline two\n\nline four".to_owned())),
        ),
        (
            typed("crlf").data("crlf\r\ninside\rcr"),
            // A line break of any kind inside data can only travel as a new `data:` line.
            Some(("crlf", "crlf\ninside\ncr".to_owned())),
        ),
        (
            typed("ünïcode").data("héllo wörld — 日本語 🎉 e\u{301} \u{2028}ls \u{85}nel"),
            Some((
                "ünïcode",
                "héllo wörld — 日本語 🎉 e\u{301} \u{2028}ls \u{85}nel".to_owned(),
            )),
        ),
        (typed("empty").data(""), Some(("empty", String::new()))),
        (typed("big").data(big_data()), Some(("big", big_data()))),
    ]
}

/// Every event type a page must listen for (`message` needs no listener).
const TYPES: &str = "greeting,crlf,ünïcode,empty,big,live,resumed,bye";

fn bye() -> Event {
    Event::new()
        .try_event("bye")
        .expect("valid type")
        .data("server shutting down")
}

#[derive(Debug, Clone)]
struct Arrival {
    at: Instant,
    last_event_id: Option<String>,
}

#[derive(Clone)]
struct AppState {
    hub: Hub,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

async fn sse(
    State(state): State<AppState>,
    last_event_id: Option<LastEventId>,
) -> Result<Subscription, (StatusCode, String)> {
    state.arrivals.lock().unwrap().push(Arrival {
        at: Instant::now(),
        last_event_id: last_event_id.as_ref().map(|id| id.as_str().to_owned()),
    });
    state
        .hub
        .subscribe(
            Subscribe::new([TOPIC])
                .last_event_id(last_event_id)
                .with_history(),
        )
        .await
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
}

fn router(state: AppState, shutdown: CancellationToken) -> Router {
    Router::new()
        .route("/sse", get(sse))
        .route(
            "/page",
            get(|| async { Html(include_str!("../interop/page.html")) }),
        )
        .route(
            "/observe.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript")],
                    include_str!("../interop/observe.js"),
                )
            }),
        )
        .layer(
            SseLayer::new()
                .graceful_shutdown(shutdown)
                .final_event(bye()),
        )
        .with_state(state)
}

/// Where a client connects, given to the function that starts it.
struct Urls {
    sse: String,
    /// The browser page that opens `sse` and POSTs its reports to the report server.
    page: String,
    /// The reports POSTed by the page.
    page_reports: Reports,
}

/// A started client and its reports; dropping it stops the client.
enum Running {
    /// A driver process, reporting on its stdout.
    Driver(Driver),
    /// Reports from elsewhere (a page, a task of this test), and what must stay alive meanwhile.
    Reports {
        reports: Reports,
        _keep: Box<dyn std::any::Any + Send>,
    },
}

impl Running {
    fn reports(&mut self) -> &mut Reports {
        match self {
            Running::Driver(driver) => &mut driver.reports,
            Running::Reports { reports, .. } => reports,
        }
    }
}

/// Aborts the task (and drops what it owns, e.g. a child process) when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn assert_same(events: &[Seen], expected: &[Seen]) {
    let show = |list: &[Seen]| list.iter().map(Seen::short).collect::<Vec<_>>();
    assert!(
        events == expected,
        "events differ\n  got:      {:#?}\n  expected: {:#?}",
        show(events),
        show(expected)
    );
}

/// `expected` with the `bye` event (the last one, which has no `id` field) carrying `id`.
fn bye_with_id(expected: &[Seen], id: Option<&str>) -> Vec<Seen> {
    let mut expected = expected.to_vec();
    if let Some(bye) = expected.last_mut() {
        bye.id = id.map(str::to_owned);
    }
    expected
}

/// What a client did in the scenario.
struct Outcome {
    reports: Vec<Value>,
    arrivals: Vec<Arrival>,
    stopped_at: Instant,
    /// What the standard says the client sees, in order, up to the first `bye`.
    expected: Vec<Seen>,
    live_id: String,
    /// The id the hub gave the `retry`-only event (which the standard does not dispatch).
    retry_event_id: String,
}

impl Outcome {
    /// The events reported, up to and including the first `bye` (a browser reconnects after
    /// the shutdown and gets `bye` again).
    fn events(&self) -> Vec<Seen> {
        let mut events = Vec::new();
        for report in self.reports.iter().filter(|r| r["kind"] == "event") {
            let seen = Seen::from_report(report);
            let last = seen.event_type == "bye";
            events.push(seen);
            if last {
                break;
            }
        }
        events
    }

    fn assert_events(&self, expected: &[Seen]) {
        assert_same(&self.events(), expected);
    }

    /// The client resumed with the id of the last event before the drop, and the hub replayed
    /// exactly the two missed events (checked by [`Outcome::assert_events`]).
    fn assert_resumed(&self) {
        assert!(self.arrivals.len() >= 2, "{:?}", self.arrivals);
        assert_eq!(self.arrivals[0].last_event_id, None);
        assert_eq!(
            self.arrivals[1].last_event_id.as_deref(),
            Some(self.live_id.as_str())
        );
    }

    /// The time from the drop to the reconnection: at least `retry`, and well before any
    /// client's default.
    fn reconnect_gap(&self) -> Duration {
        self.arrivals[1].at.duration_since(self.stopped_at)
    }

    fn assert_retry_honoured(&self) {
        let gap = self.reconnect_gap();
        assert!(
            gap >= RETRY && gap < RETRY + Duration::from_millis(1500),
            "reconnected after {gap:?}, retry is {RETRY:?}"
        );
    }

    /// The report after the drop and the one after the shutdown, in full.
    fn end_reports(&self) -> (Value, Value) {
        let is_end = |r: &&Value| r["kind"] == "error" || r["kind"] == "end";
        let live = self
            .reports
            .iter()
            .position(|r| r["kind"] == "event" && r["type"] == "live")
            .expect("live event reported");
        let bye = self
            .reports
            .iter()
            .position(|r| r["kind"] == "event" && r["type"] == "bye")
            .expect("bye reported");
        let pick = |from: usize| {
            self.reports[from..]
                .iter()
                .find(is_end)
                .cloned()
                .unwrap_or(Value::Null)
        };
        (pick(live), pick(bye))
    }

    fn assert_in_order(&self) {
        let seqs: Vec<u64> = self
            .reports
            .iter()
            .filter_map(|r| r["seq"].as_u64())
            .collect();
        let expected: Vec<u64> = (0..seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "reports out of order or lost");
    }
}

/// Runs the scenario with the client that `start` starts.
async fn exercise(start: impl AsyncFnOnce(Urls) -> Running) -> Outcome {
    let hub = Hub::builder()
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .build();
    let mut expected = Vec::new();
    let mut retry_event_id = String::new();
    for (event, seen) in history() {
        let id = hub.publish(TOPIC, event).await.unwrap().to_string();
        match seen {
            Some((event_type, data)) => expected.push(Seen::new(event_type, &data, Some(&id))),
            None => retry_event_id = id,
        }
    }
    let state = AppState {
        hub: hub.clone(),
        arrivals: Arc::default(),
    };
    let server = TestServer::spawn(router(state.clone(), CancellationToken::new())).await;
    let port = server.addr().port();

    let (report_tx, page_reports) = Reports::channel();
    let report_server = TestServer::spawn(Router::new().route(
        "/report",
        post(move |body: String| async move {
            let report = serde_json::from_str(&body).unwrap_or(Value::String(body));
            let _ = report_tx.send(report);
        }),
    ))
    .await;
    let page = reqwest::Url::parse_with_params(
        &server.url("/page"),
        [
            ("sse", server.url("/sse")),
            ("report", report_server.url("/report")),
            ("types", TYPES.to_owned()),
        ],
    )
    .unwrap();
    let mut running = start(Urls {
        sse: server.url("/sse"),
        page: page.to_string(),
        page_reports,
    })
    .await;
    let reports = running.reports();

    let is_event = |t: &'static str| move |r: &Value| r["kind"] == "event" && r["type"] == t;
    reports.until("the 1 MiB event", is_event("big")).await;
    // Silence but for keep-alive comments, then a live event.
    tokio::time::sleep(KEEP_ALIVE * 5).await;
    let live = Event::new()
        .try_event("live")
        .unwrap()
        .data("live after keep-alives");
    let live_id = hub.publish(TOPIC, live).await.unwrap().to_string();
    expected.push(Seen::new("live", "live after keep-alives", Some(&live_id)));
    reports.until("the live event", is_event("live")).await;

    // A crash: every connection closes at once; two events are published while it is down.
    let stopped_at = Instant::now();
    server.stop().await;
    for n in 1..=2 {
        let data = format!("missed while down {n}");
        let event = Event::new().try_event("resumed").unwrap().data(&data);
        let id = hub.publish(TOPIC, event).await.unwrap().to_string();
        expected.push(Seen::new("resumed", &data, Some(&id)));
    }
    let shutdown = CancellationToken::new();
    let server = TestServer::spawn_on(port, router(state.clone(), shutdown.clone()))
        .await
        .unwrap();
    let last = expected.last().cloned().unwrap();
    reports
        .until("the replayed events", |r| {
            r["kind"] == "event" && r["data"] == last.data.as_str()
        })
        .await;

    // Graceful shutdown: `bye` (no id of its own: the last event ID stays), then a clean end.
    shutdown.cancel();
    expected.push(Seen::new("bye", "server shutting down", last.id.as_deref()));
    reports.until("the bye event", is_event("bye")).await;
    reports
        .until("the end after bye", |r| {
            r["kind"] == "error" || r["kind"] == "end"
        })
        .await;

    let arrivals = state.arrivals.lock().unwrap().clone();
    let reports = reports.seen().to_vec();
    drop(running);
    server.stop().await;
    report_server.stop().await;
    let outcome = Outcome {
        reports,
        arrivals,
        stopped_at,
        expected,
        live_id,
        retry_event_id,
    };
    outcome.assert_in_order();
    outcome.assert_resumed();
    outcome
}

/// Runs the scenario with `program script <sse url> arg`, a driver from `tests/interop/`.
async fn exercise_driver(program: &std::path::Path, script: &str, arg: &str) -> Outcome {
    exercise(async |urls: Urls| Running::Driver(Driver::spawn(program, &[script, &urls.sse, arg])))
        .await
}

impl Outcome {
    /// Every event exactly, `retry` honoured, and both ends seen as the standard's
    /// `EventSource` sees them.
    fn assert_eventsource_as_the_standard_says(&self) {
        self.assert_events(&self.expected);
        self.assert_retry_honoured();
        self.assert_eventsource_ends();
    }

    /// `EventSource` cannot tell a dropped connection from a clean end: both fire `error` with
    /// `readyState` CONNECTING (0) and reconnect, as the standard says.
    fn assert_eventsource_ends(&self) {
        let (after_drop, after_bye) = self.end_reports();
        for end in [after_drop, after_bye] {
            assert_eq!(
                (&end["kind"], &end["ready_state"]),
                (&json!("error"), &json!(0)),
                "{end}"
            );
        }
    }

    /// A client without reconnection of its own reports the drop as an error and the shutdown
    /// as a clean end.
    fn assert_drop_is_error_and_shutdown_is_clean(&self) {
        let (after_drop, after_bye) = self.end_reports();
        assert_eq!(after_drop["kind"], "error", "{after_drop}");
        assert_eq!(after_bye["kind"], "end", "{after_bye}");
    }

    /// The reports of `kind`.
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.reports.iter().filter(|r| r["kind"] == kind).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_eventsource() {
    let Some(driver) = ChromeDriver::start().await.unwrap() else {
        return;
    };
    let outcome = exercise(async |urls: Urls| {
        let session = driver.new_session().await.unwrap();
        session.goto(&urls.page).await.unwrap();
        Running::Reports {
            reports: urls.page_reports,
            _keep: Box::new(session),
        }
    })
    .await;
    outcome.assert_eventsource_as_the_standard_says();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_eventsource() {
    if require_binary("firefox-esr").is_none() {
        return;
    }
    let outcome = exercise(async |urls: Urls| {
        let firefox = Firefox::open(&urls.page).expect("firefox-esr");
        Running::Reports {
            reports: urls.page_reports,
            _keep: Box::new(firefox),
        }
    })
    .await;
    outcome.assert_eventsource_as_the_standard_says();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_eventsource_package() {
    let Some(node) = node_with(&["eventsource"]) else {
        return;
    };
    let outcome = exercise_driver(&node, "eventsource_client.mjs", TYPES).await;
    // Disagrees with the standard: eventsource 4.1.0 gives each event its own `id` as
    // `lastEventId` (`event.id || ""`), not the last event ID buffer, so `bye` has "".
    outcome.assert_events(&bye_with_id(&outcome.expected, Some("")));
    outcome.assert_retry_honoured();
    outcome.assert_eventsource_ends();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_eventsource_parser_over_fetch() {
    let Some(node) = node_with(&["eventsource-parser"]) else {
        return;
    };
    let outcome = exercise_driver(&node, "fetch_parser_client.mjs", CONNECTIONS).await;
    // The parser hands out each event's own `id` field (none on `bye`); the last event ID is
    // the application's to keep, as its documentation says.
    outcome.assert_events(&bye_with_id(&outcome.expected, None));
    outcome.assert_retry_honoured();
    outcome.assert_drop_is_error_and_shutdown_is_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_httpx_sse() {
    let Some(python) = python_with(&["httpx", "httpx_sse"]) else {
        return;
    };
    let outcome = exercise_driver(&python, "httpx_sse_client.py", CONNECTIONS).await;
    // Disagrees with the standard: httpx-sse 0.4.3 dispatches an event on a blank line even
    // when the data buffer is empty, as soon as it has a last event ID: the `retry`-only event
    // and every keep-alive comment come out as empty `message` events.
    let (spurious, events): (Vec<Seen>, Vec<Seen>) = outcome
        .events()
        .into_iter()
        .partition(|e| e.event_type == "message" && e.data.is_empty());
    assert_same(&events, &outcome.expected);
    assert_eq!(
        spurious.first(),
        Some(&Seen::new("message", "", Some(&outcome.retry_event_id)))
    );
    assert!(spurious.len() >= 3, "{spurious:?}");
    outcome.assert_retry_honoured();
    outcome.assert_drop_is_error_and_shutdown_is_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sseclient_py() {
    let Some(python) = python_with(&["requests", "sseclient"]) else {
        return;
    };
    let outcome = exercise_driver(&python, "sseclient_py_client.py", CONNECTIONS).await;
    // Each event carries only its own `id` field (none on `bye`).
    outcome.assert_events(&bye_with_id(&outcome.expected, None));
    // Disagrees with the standard: sseclient-py 1.9.0 drops an event without data whole,
    // its `retry` field with it, so the `retry`-only event never sets the reconnection time.
    assert!(
        outcome.of_kind("retry").is_empty(),
        "{:?}",
        outcome.of_kind("retry")
    );
    outcome.assert_drop_is_error_and_shutdown_is_clean();
}

/// `curl -N` has no reconnection: this test reconnects it by hand (with `-H Last-Event-ID`,
/// after the `retry` it printed) and parses what it printed with our parser, comments included.
fn curl_client(curl: std::path::PathBuf, url: String) -> Running {
    use tokio::io::AsyncReadExt as _;
    let (tx, reports) = Reports::channel();
    let task = tokio::spawn(async move {
        let mut seq = 0;
        let mut report = |mut value: Value| {
            value["seq"] = json!(seq);
            seq += 1;
            let _ = tx.send(value);
        };
        let mut last_event_id = String::new();
        let mut retry = Duration::from_secs(3);
        for n in 0..2 {
            if n > 0 {
                tokio::time::sleep(retry).await;
            }
            let mut command = tokio::process::Command::new(&curl);
            command.args(["-N", "-sS", &url]);
            if !last_event_id.is_empty() {
                command
                    .arg("-H")
                    .arg(format!("Last-Event-ID: {last_event_id}"));
            }
            let mut child = command
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn curl");
            let mut stdout = child.stdout.take().expect("piped");
            let mut parser = reqwest_sse_client::EventParser::new().with_comments(true);
            parser.set_last_event_id(&last_event_id);
            let mut comments = 0;
            let mut buf = vec![0; 64 * 1024];
            while let Ok(read @ 1..) = stdout.read(&mut buf).await {
                parser.feed_with(&buf[..read], |item| match item.expect("event size") {
                    reqwest_sse_client::Item::Event(event) => report(json!({
                        "kind": "event",
                        "type": event.event_type(),
                        "data": event.data(),
                        "id": event.last_event_id(),
                    })),
                    reqwest_sse_client::Item::Retry(delay) => {
                        retry = delay;
                        report(json!({"kind": "retry", "ms": delay.as_millis() as u64}));
                    }
                    reqwest_sse_client::Item::Comment(_) => comments += 1,
                    _ => {}
                });
            }
            last_event_id = parser.last_event_id().to_owned();
            let status = child.wait().await.expect("curl exit status");
            match status.code() {
                Some(0) => report(json!({"kind": "end", "comments": comments})),
                code => report(
                    json!({"kind": "error", "message": format!("curl exit {code:?}"), "comments": comments}),
                ),
            }
        }
        report(json!({"kind": "done"}));
    });
    Running::Reports {
        reports,
        _keep: Box::new(AbortOnDrop(task)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_no_buffer() {
    let Some(curl) = require_binary("curl") else {
        return;
    };
    let outcome = exercise(async |urls: Urls| curl_client(curl, urls.sse)).await;
    outcome.assert_events(&outcome.expected);
    // curl exits 18 (a chunked body cut short) on the drop and 0 on the clean end.
    let (after_drop, after_bye) = outcome.end_reports();
    assert_eq!(after_drop["message"], "curl exit Some(18)", "{after_drop}");
    assert_eq!(after_bye["kind"], "end", "{after_bye}");
    // The keep-alive comments were on the wire (curl prints them) and no event came of them.
    assert!(
        after_drop["comments"].as_u64().unwrap() >= 3,
        "{after_drop}"
    );
}
