//! The chat example over real TCP: the seed's curl flows, exact JSON and event names, every bad
//! request's status, injection attempts, resuming with `Last-Event-ID`, graceful shutdown.

use sse_axum::hub::EventId;
use std::time::Duration;

use chat_example::Config;
use reqwest::{StatusCode, Url};
use serde_json::Value;
use sse_axum::Event;
use sse_axum::hub::Hub;
use sse_tests::{RawSse, SseConnection, TestServer};

/// Query parameters as (name, value) pairs.
type Params<'a> = &'a [(&'a str, &'a str)];

async fn chat_server(config: Config) -> (TestServer, Hub) {
    let hub = chat_example::build_hub(&config);
    let server = TestServer::spawn(chat_example::app_with_hub(config, hub.clone())).await;
    (server, hub)
}

fn url(server: &TestServer, path: &str, params: &[(&str, &str)]) -> Url {
    let mut url = Url::parse(&server.url(path)).unwrap();
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    url
}

async fn connect(server: &TestServer, user: &str, last_event_id: Option<&str>) -> SseConnection {
    let url = url(server, "/chat/sse", &[("username", user)]);
    let conn = SseConnection::open(url.as_str(), last_event_id)
        .await
        .unwrap();
    assert_eq!(conn.status, StatusCode::OK, "{}", conn.error_body);
    assert_eq!(conn.headers["content-type"], "text/event-stream");
    conn
}

async fn post(server: &TestServer, path: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url(server, path, params))
        .send()
        .await
        .unwrap();
    let status = response.status();
    if !status.is_success() {
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
    }
    (status, response.text().await.unwrap())
}

async fn broadcast(server: &TestServer, from: &str, message: &str) {
    let (status, body) = post(
        server,
        "/chat/broadcast",
        &[("from", from), ("message", message)],
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

async fn direct(server: &TestServer, from: &str, to: &str, message: &str) {
    let (status, body) = post(
        server,
        "/chat/direct",
        &[("from", from), ("to", to), ("message", message)],
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// Checks the event's name, its id and its JSON (exact keys, in order) and returns the JSON.
fn check_message(
    event: &reqwest_sse_client::Event,
    kind: &str,
    from: &str,
    to: &str,
    text: &str,
) -> Value {
    assert_eq!(event.event_type(), kind);
    assert!(
        event.last_event_id().parse::<EventId>().is_ok(),
        "id {:?} is not a hub id",
        event.last_event_id()
    );
    let data = event.data();
    let positions: Vec<usize> = [
        "\"Type\":",
        "\"From\":",
        "\"To\":",
        "\"Message\":",
        "\"Timestamp\":",
    ]
    .iter()
    .map(|key| {
        data.find(key)
            .unwrap_or_else(|| panic!("{key} missing in {data}"))
    })
    .collect();
    assert!(positions.is_sorted(), "keys out of order in {data}");
    let json: Value = event.json().unwrap();
    let object = json.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["From", "Message", "Timestamp", "To", "Type"]);
    assert_eq!(json["Type"], kind);
    assert_eq!(json["From"], from);
    assert_eq!(json["To"], to);
    assert_eq!(json["Message"], text);
    check_rfc3339(json["Timestamp"].as_str().unwrap());
    json
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM`
fn check_rfc3339(timestamp: &str) {
    let shape: String = timestamp
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.dddddd+dd:dd", "{timestamp}");
}

#[tokio::test]
async fn seed_flow_broadcast_and_direct_reach_hertz_and_a_third_user_gets_only_the_broadcast() {
    let (server, _hub) = chat_server(Config::default()).await;
    let mut hertz = connect(&server, "hertz", None).await;
    let mut carol = connect(&server, "carol", None).await;

    broadcast(&server, "alice", "hello").await;
    direct(&server, "alice", "hertz", "hi").await;

    let first = hertz.next_event().await.unwrap();
    check_message(&first, "broadcast", "alice", "", "hello");
    let second = hertz.next_event().await.unwrap();
    check_message(&second, "direct", "alice", "hertz", "hi");
    let (id1, id2): (EventId, EventId) = (
        first.last_event_id().parse().unwrap(),
        second.last_event_id().parse().unwrap(),
    );
    assert!(id2 > id1);

    let seen = carol.next_event().await.unwrap();
    check_message(&seen, "broadcast", "alice", "", "hello");
    assert_eq!(seen.last_event_id(), first.last_event_id());
    // The next thing carol gets is the next broadcast, not hertz's direct message.
    broadcast(&server, "alice", "bye").await;
    let next = carol.next_event().await.unwrap();
    check_message(&next, "broadcast", "alice", "", "bye");
}

#[tokio::test]
async fn direct_messages_reach_every_connection_of_the_user() {
    let (server, _hub) = chat_server(Config::default()).await;
    let mut laptop = connect(&server, "hertz", None).await;
    let mut phone = connect(&server, "hertz", None).await;
    direct(&server, "alice", "hertz", "on both").await;
    for conn in [&mut laptop, &mut phone] {
        let event = conn.next_event().await.unwrap();
        check_message(&event, "direct", "alice", "hertz", "on both");
    }
}

#[tokio::test]
async fn the_wire_format_is_exact() {
    let (server, _hub) = chat_server(Config::default()).await;
    let url = url(&server, "/chat/sse", &[("username", "hertz")]);
    let mut raw = RawSse::open(url.as_str(), None).await.unwrap();
    assert_eq!(raw.status, StatusCode::OK);
    broadcast(&server, "alice", "hello").await;
    let text = raw.read_until(|t| t.contains("\n\n")).await.to_owned();
    let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert_eq!(lines[0], "event: broadcast");
    assert!(
        lines[1]
            .strip_prefix("id: ")
            .unwrap()
            .parse::<EventId>()
            .is_ok(),
        "{text:?}"
    );
    let data = lines[2].strip_prefix("data: ").unwrap();
    assert!(data.starts_with(
        r#"{"Type":"broadcast","From":"alice","To":"","Message":"hello","Timestamp":""#
    ));
}

#[tokio::test]
async fn bad_requests_get_their_status_and_a_plain_message() {
    let config = Config::default();
    let limit = config.max_message_bytes;
    let (server, _hub) = chat_server(config).await;
    let _hertz = connect(&server, "hertz", None).await;
    let big = "x".repeat(limit + 1);
    let just_fits = "y".repeat(limit);
    let long_name = "n".repeat(65);

    let posts: &[(&str, Params<'_>, StatusCode)] = &[
        (
            "/chat/broadcast",
            &[("message", "m")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/broadcast",
            &[("from", ""), ("message", "m")],
            StatusCode::BAD_REQUEST,
        ),
        ("/chat/broadcast", &[("from", "a")], StatusCode::BAD_REQUEST),
        (
            "/chat/broadcast",
            &[("from", "a"), ("message", "")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/broadcast",
            &[("from", "a\nb"), ("message", "m")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/broadcast",
            &[("from", &long_name), ("message", "m")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/broadcast",
            &[("from", "a"), ("message", &big)],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "/chat/broadcast",
            &[("from", "a"), ("message", &just_fits)],
            StatusCode::NO_CONTENT,
        ),
        (
            "/chat/direct",
            &[("from", "a"), ("message", "m")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/direct",
            &[("from", "a"), ("to", ""), ("message", "m")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/direct",
            &[("to", "hertz"), ("message", "m")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/direct",
            &[("from", "a"), ("to", "hertz")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/chat/direct",
            &[("from", "a"), ("to", "ghost"), ("message", "m")],
            StatusCode::NOT_FOUND,
        ),
        (
            "/chat/direct",
            &[("from", "a"), ("to", "hertz"), ("message", &big)],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "/chat/direct",
            &[("from", "a"), ("to", "hertz"), ("message", "m")],
            StatusCode::NO_CONTENT,
        ),
    ];
    for (path, params, expected) in posts {
        let (status, body) = post(&server, path, params).await;
        let shown: Vec<_> = params.iter().map(|(k, v)| (k, v.len().min(20))).collect();
        assert_eq!(status, *expected, "{path} {shown:?}: {body}");
        if !status.is_success() {
            assert!(!body.is_empty() && !body.ends_with('.'), "{path}: {body:?}");
            assert_eq!(body.to_lowercase()[..1], body[..1], "{path}: {body:?}");
        }
    }

    // Oversize form body: axum's body limit answers 413 before the handler runs.
    let response = reqwest::Client::new()
        .post(server.url("/chat/broadcast"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("from=a&message={}", "z".repeat(limit * 4 + 8192)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let streams: &[(Params<'_>, Option<&str>)] = &[
        (&[], None),
        (&[("username", "")], None),
        (&[("username", "a\u{7}")], None),
        (&[("username", "hertz")], Some("bogus")),
        (&[("username", "hertz")], Some("12a")),
        (&[("username", "hertz")], Some("-1")),
        (&[("username", "hertz")], Some("99999999999999999999999")),
    ];
    for (params, last_event_id) in streams {
        let url = url(&server, "/chat/sse", params);
        let conn = SseConnection::open(url.as_str(), *last_event_id)
            .await
            .unwrap();
        assert_eq!(
            conn.status,
            StatusCode::BAD_REQUEST,
            "{params:?} {last_event_id:?}"
        );
        assert!(!conn.error_body.is_empty());
    }
}

#[tokio::test]
async fn form_bodies_work_like_query_parameters() {
    let (server, _hub) = chat_server(Config::default()).await;
    let mut hertz = connect(&server, "hertz", None).await;
    let response = reqwest::Client::new()
        .post(server.url("/chat/direct?to=hertz"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("from=alice&message=line+one%0Aline+two")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let event = hertz.next_event().await.unwrap();
    check_message(&event, "direct", "alice", "hertz", "line one\nline two");
}

#[tokio::test]
async fn an_injection_attempt_arrives_intact() {
    let (server, _hub) = chat_server(Config::default()).await;
    let mut hertz = connect(&server, "hertz", None).await;
    let url_ = url(&server, "/chat/sse", &[("username", "carol")]);
    let mut raw = RawSse::open(url_.as_str(), None).await.unwrap();
    let nasty = "say \"hi\"\n\nevent: direct\nid: 1\ndata: {\"Type\":\"direct\"}\r\n\r\n: \\ end\r";
    broadcast(&server, "mallory", nasty).await;
    broadcast(&server, "alice", "after").await;

    let event = hertz.next_event().await.unwrap();
    check_message(&event, "broadcast", "mallory", "", nasty);
    let next = hertz.next_event().await.unwrap();
    check_message(&next, "broadcast", "alice", "", "after");

    // On the wire: two events of exactly three lines each.
    let text = raw.read_until(|t| t.matches("\n\n").count() >= 2).await;
    let events: Vec<&str> = text.split_terminator("\n\n").collect();
    assert_eq!(events.len(), 2, "{text:?}");
    for event in events {
        assert!(!event.contains('\r'), "{event:?}");
        assert_eq!(event.lines().count(), 3, "{event:?}");
        assert!(event.starts_with("event: broadcast\nid: "), "{event:?}");
    }
}

#[tokio::test]
async fn reconnecting_with_last_event_id_resumes_both_topics_without_loss() {
    let (server, hub) = chat_server(Config::default()).await;
    let mut first = connect(&server, "hertz", None).await;
    // A second connection keeps hertz online, so direct messages are accepted meanwhile.
    let _phone = connect(&server, "hertz", None).await;

    broadcast(&server, "alice", "one").await;
    let one = first.next_event().await.unwrap();
    check_message(&one, "broadcast", "alice", "", "one");
    drop(first);

    broadcast(&server, "alice", "two").await;
    direct(&server, "alice", "hertz", "three").await;
    // Someone else's direct message is not replayed to hertz.
    let _bob = connect(&server, "bob", None).await;
    direct(&server, "alice", "bob", "not for hertz").await;

    let mut resumed = connect(&server, "hertz", Some(one.last_event_id())).await;
    let two = resumed.next_event().await.unwrap();
    check_message(&two, "broadcast", "alice", "", "two");
    let three = resumed.next_event().await.unwrap();
    check_message(&three, "direct", "alice", "hertz", "three");
    broadcast(&server, "alice", "four").await;
    let four = resumed.next_event().await.unwrap();
    check_message(&four, "broadcast", "alice", "", "four");
    assert!(hub.subscriber_count("user:hertz") >= 2);
}

#[tokio::test]
async fn the_reconnecting_client_resumes_after_a_server_restart() {
    let (server, hub) = chat_server(Config::default()).await;
    let port = server.addr().port();
    let subscription = reqwest_sse_client::Client::builder()
        .retry(Duration::from_millis(100))
        .build()
        .unwrap()
        .subscribe(server.url("/chat/sse?username=hertz"));
    // The subscription only runs while polled: poll it in a task of its own.
    let (tx, mut client) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        use futures_util::StreamExt as _;
        let mut subscription = std::pin::pin!(subscription);
        while let Some(item) = subscription.next().await {
            if tx.send(item).is_err() {
                break;
            }
        }
    });
    let wait = |hub: Hub| async move {
        let deadline = tokio::time::Instant::now() + sse_tests::EVENT_TIMEOUT;
        while hub.subscriber_count("user:hertz") == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "client did not connect"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    wait(hub.clone()).await;
    broadcast(&server, "alice", "before").await;
    let before = next_client_event(&mut client).await;
    assert_eq!(before.json::<Value>().unwrap()["Message"], "before");

    server.stop().await;
    // Published while the server is down: replayed from the hub's history after the restart.
    let while_down = chat_example::ChatMessage {
        kind: chat_example::MessageKind::Broadcast,
        from: "alice".into(),
        to: String::new(),
        message: "while down".into(),
        timestamp: chat_example::rfc3339_now(),
    };
    let event = Event::new()
        .try_event("broadcast")
        .unwrap()
        .json_data(&while_down)
        .unwrap();
    hub.publish(chat_example::BROADCAST_TOPIC, event)
        .await
        .unwrap();

    let server = TestServer::spawn_on(
        port,
        chat_example::app_with_hub(Config::default(), hub.clone()),
    )
    .await
    .unwrap();
    let replayed = next_client_event(&mut client).await;
    assert_eq!(replayed.json::<Value>().unwrap()["Message"], "while down");
    wait(hub.clone()).await;
    broadcast(&server, "alice", "after").await;
    let after = next_client_event(&mut client).await;
    assert_eq!(after.json::<Value>().unwrap()["Message"], "after");
    reader.abort();
}

async fn next_client_event(
    client: &mut tokio::sync::mpsc::UnboundedReceiver<
        Result<reqwest_sse_client::Event, reqwest_sse_client::Error>,
    >,
) -> reqwest_sse_client::Event {
    match tokio::time::timeout(sse_tests::EVENT_TIMEOUT, client.recv()).await {
        Err(_) => panic!("no event from the client"),
        Ok(None) => panic!("the client ended"),
        Ok(Some(Ok(event))) => event,
        // The client reconnects by itself; an error is final.
        Ok(Some(Err(e))) => panic!("the client gave up: {e}"),
    }
}

#[tokio::test]
async fn the_user_list_shows_who_is_connected() {
    let (server, _hub) = chat_server(Config::default()).await;
    let users = || async {
        let body = reqwest::get(server.url("/chat/users"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert_eq!(users().await, serde_json::json!({ "users": [] }));
    let _a = connect(&server, "hertz", None).await;
    let _b = connect(&server, "hertz", None).await;
    let _c = connect(&server, "carol", None).await;
    assert_eq!(
        users().await,
        serde_json::json!({ "users": ["carol", "hertz"] })
    );
}

#[tokio::test]
async fn the_history_is_bounded_by_the_config() {
    let mut config = Config::default();
    config.history = 3;
    let (server, _hub) = chat_server(config).await;
    let mut live = connect(&server, "hertz", None).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        broadcast(&server, "alice", &n.to_string()).await;
        ids.push(live.next_event().await.unwrap().last_event_id().to_owned());
    }
    // Resuming from the 3rd of 6 still works: the last 3 are kept.
    let mut resumed = connect(&server, "hertz", Some(&ids[2])).await;
    for expected in ["3", "4", "5"] {
        let event = resumed.next_event().await.unwrap();
        assert_eq!(event.json::<Value>().unwrap()["Message"], expected);
    }
    // Resuming from the 1st: events 2 and 3 are gone, so the hub says so with its reset event.
    let mut too_old = connect(&server, "hertz", Some(&ids[0])).await;
    let reset = too_old.next_event().await.unwrap();
    assert_eq!(reset.event_type(), "reset");
}

#[tokio::test]
async fn graceful_shutdown_ends_open_streams() {
    let config = Config::default();
    let shutdown = config.shutdown.clone();
    let hub = chat_example::build_hub(&config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let signal = shutdown.clone();
    let serve = tokio::spawn(
        axum::serve(listener, chat_example::app_with_hub(config, hub.clone()))
            .with_graceful_shutdown(async move { signal.cancelled().await })
            .into_future(),
    );
    let url = format!("http://{addr}/chat/sse?username=hertz");
    let mut conn = SseConnection::open(&url, None).await.unwrap();
    assert_eq!(conn.status, StatusCode::OK);

    shutdown.cancel();
    hub.close();
    let served = tokio::time::timeout(Duration::from_secs(10), serve).await;
    assert!(
        served.is_ok(),
        "the server did not shut down with a stream open"
    );
    // The stream ended cleanly (after at most a final event).
    let mut ended = false;
    for _ in 0..3 {
        if conn.next_event().await.is_none() {
            ended = true;
            break;
        }
    }
    assert!(ended);
}

#[tokio::test]
async fn the_page_and_its_assets_are_served() {
    let (server, _hub) = chat_server(Config::default()).await;
    for (path, content_type, needle) in [
        ("/", "text/html; charset=utf-8", "id=\"messages\""),
        (
            "/chat.js",
            "text/javascript; charset=utf-8",
            "new EventSource(",
        ),
        ("/chat.css", "text/css; charset=utf-8", ".message"),
    ] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], content_type);
        let body = response.text().await.unwrap();
        assert!(body.contains(needle), "{path}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} loads from elsewhere"
        );
    }
}
