//! Hubs shared through a real `redis-server` (started per test, without persistence): chat
//! servers on `127.0.0.1:0` exchanging broadcasts and direct messages, a client resuming on
//! another instance, Redis killed and restarted, 1,000 subscribers, and the latency row.
//!
//! Each test skips with a printed reason when `redis-server` is missing (and fails instead
//! with `SSE_TEST_REQUIRE_ALL=1`).

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::{StatusCode, Url};
use sse_axum::Event;
use sse_axum::hub::EventId;
use sse_axum::hub::{
    BackendErrorKind, FrameKind, Hub, HubError, RedisBackend, Subscribe, Subscription,
};
use sse_tests::{RedisServer, SseConnection, TestServer};

#[allow(unreachable_pub, dead_code)]
#[path = "../../benches/src/redis_latency.rs"]
mod redis_latency;

/// Every test's bound: generous for a loaded 2-core machine.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);

fn backend(redis: &RedisServer) -> RedisBackend {
    RedisBackend::new(&redis.url())
        .unwrap()
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(300))
}

/// A chat server sharing the hub through `redis`.
async fn chat_instance(redis: &RedisServer) -> (TestServer, Hub) {
    let hub = chat_hub(redis).await;
    let server = TestServer::spawn(chat_example::app_with_hub(
        chat_example::Config::default(),
        hub.clone(),
    ))
    .await;
    (server, hub)
}

async fn chat_hub(redis: &RedisServer) -> Hub {
    Hub::builder()
        .build_redis(backend(redis).prefix("sse-chat"))
        .await
        .unwrap()
}

fn url(server: &TestServer, path: &str, params: &[(&str, &str)]) -> Url {
    let mut url = Url::parse(&server.url(path)).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url
}

async fn connect(server: &TestServer, user: &str) -> SseConnection {
    let url = url(server, "/chat/sse", &[("username", user)]);
    let conn = SseConnection::open(url.as_str(), None).await.unwrap();
    assert_eq!(conn.status, StatusCode::OK, "{}", conn.error_body);
    conn
}

async fn post(server: &TestServer, path: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url(server, path, params))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn broadcast(server: &TestServer, message: &str) {
    let params = [("from", "tester"), ("message", message)];
    let (status, body) = post(server, "/chat/broadcast", &params).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// The next event's type, message and id.
async fn next_message(conn: &mut SseConnection) -> (String, String, String) {
    let event = conn.next_event().await.expect("stream ended");
    let message = if event.event_type() == "reset" {
        String::new()
    } else {
        let json: serde_json::Value = serde_json::from_str(event.data()).unwrap();
        json["Message"].as_str().unwrap().to_owned()
    };
    (
        event.event_type().to_owned(),
        message,
        event.last_event_id().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_broadcasts_directs_order_and_presence() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let (a, _hub_a) = chat_instance(&redis).await;
        let (b, _hub_b) = chat_instance(&redis).await;
        let (c, _hub_c) = chat_instance(&redis).await;
        let mut alice = connect(&a, "alice").await;
        let mut bob = connect(&b, "bob").await;
        let mut carol = connect(&c, "carol").await;

        // A broadcast sent to B reaches users on A, B and C, with one id.
        broadcast(&b, "hello everyone").await;
        let mut ids = HashSet::new();
        for conn in [&mut alice, &mut bob, &mut carol] {
            let (kind, message, id) = next_message(conn).await;
            assert_eq!(
                (kind.as_str(), message.as_str()),
                ("broadcast", "hello everyone")
            );
            ids.insert(id);
        }
        assert_eq!(ids.len(), 1, "one id everywhere: {ids:?}");

        // A direct message sent to A reaches bob on B, and nobody else.
        let direct = [("from", "alice"), ("to", "bob"), ("message", "psst")];
        assert_eq!(
            post(&a, "/chat/direct", &direct).await.0,
            StatusCode::NO_CONTENT
        );
        let (kind, message, _) = next_message(&mut bob).await;
        assert_eq!((kind.as_str(), message.as_str()), ("direct", "psst"));
        // A user connected nowhere is not found, whichever instance is asked.
        for server in [&a, &b, &c] {
            let nobody = [("from", "alice"), ("to", "nobody"), ("message", "x")];
            let (status, body) = post(server, "/chat/direct", &nobody).await;
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::NOT_FOUND, "user nobody is not connected")
            );
        }
        let users = reqwest::get(c.url("/chat/users"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(users, r#"{"users":["alice","bob","carol"]}"#);

        // Order per topic: messages sent through all three arrive in order everywhere, with
        // increasing ids, and the direct message was not delivered to alice or carol.
        let servers = [&a, &b, &c];
        for n in 0..30 {
            broadcast(servers[n % 3], &format!("m{n}")).await;
        }
        for conn in [&mut alice, &mut bob, &mut carol] {
            let mut last = EventId::ZERO;
            for n in 0..30 {
                let (kind, message, id) = next_message(conn).await;
                assert_eq!((kind.as_str(), message), ("broadcast", format!("m{n}")));
                let id: EventId = id.parse().unwrap();
                assert!(id > last, "{id} after {last}");
                last = id;
            }
        }

        // Bob leaves: his instance withdraws him, and a direct message to him is refused.
        drop(bob);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (status, _) = post(&a, "/chat/direct", &direct).await;
            if status == StatusCode::NOT_FOUND {
                break;
            }
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert!(
                tokio::time::Instant::now() < deadline,
                "bob is still announced"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resumes_on_another_instance_with_exactly_the_missed_events() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        // The client's URL stays the same; behind it, instance A and later instance C answer
        // (what a load balancer does when A goes away). Messages are sent through B.
        let hub_a = chat_hub(&redis).await;
        let front = TestServer::spawn(chat_example::app_with_hub(
            chat_example::Config::default(),
            hub_a.clone(),
        ))
        .await;
        let port = front.addr().port();
        let (b, _hub_b) = chat_instance(&redis).await;

        let client = reqwest_sse_client::Client::builder()
            .retry(Duration::from_millis(50))
            .max_backoff(Duration::from_millis(200))
            .build()
            .unwrap();
        // The client runs on its own, as it would in an application.
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let mut subscription =
            client.subscribe(url(&front, "/chat/sse", &[("username", "dave")]).to_string());
        let client_task = tokio::spawn(async move {
            while let Some(item) = subscription.next().await {
                if tx.send(item.unwrap()).is_err() {
                    break;
                }
            }
        });
        let mut received = Vec::new();
        // Wait until dave is connected (announced) before sending.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !hub_a.is_subscribed_anywhere("user:dave").await.unwrap() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "dave never connected"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for n in 0..3 {
            broadcast(&b, &format!("m{n}")).await;
        }
        for _ in 0..3 {
            let event = next_client_event(&mut events).await;
            received.push(message_of(&event));
        }

        // A crashes; four messages are sent meanwhile; C takes over A's address.
        front.stop().await;
        hub_a.close();
        for n in 3..7 {
            broadcast(&b, &format!("m{n}")).await;
        }
        let hub_c = chat_hub(&redis).await;
        let _front = TestServer::spawn_on(
            port,
            chat_example::app_with_hub(chat_example::Config::default(), hub_c.clone()),
        )
        .await
        .unwrap();
        for _ in 3..7 {
            let event = next_client_event(&mut events).await;
            assert_ne!(event.event_type(), "reset", "resumed exactly, no reset");
            received.push(message_of(&event));
        }
        // Then live events, from the new instance.
        broadcast(&b, "m7").await;
        let event = next_client_event(&mut events).await;
        received.push(message_of(&event));
        client_task.abort();
        let expected: Vec<String> = (0..8).map(|n| format!("m{n}")).collect();
        assert_eq!(received, expected, "every message exactly once, in order");
    })
    .await
    .expect("test timed out");
}

async fn next_client_event(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<reqwest_sse_client::Event>,
) -> reqwest_sse_client::Event {
    tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await
        .expect("no event within 15 s")
        .expect("the client ended")
}

fn message_of(event: &reqwest_sse_client::Event) -> String {
    let json: serde_json::Value = serde_json::from_str(event.data()).unwrap();
    json["Message"].as_str().unwrap().to_owned()
}

/// Reads the next frame within 15 s.
async fn next_frame(subscription: &mut Subscription) -> sse_axum::hub::Frame {
    tokio::time::timeout(Duration::from_secs(15), subscription.next())
        .await
        .expect("no frame within 15 s")
        .expect("subscription ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_publish_fails_then_delivery_resumes_without_duplicates() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let a = Hub::builder().build_redis(backend(&redis)).await.unwrap();
        let b = Hub::builder().build_redis(backend(&redis)).await.unwrap();
        let mut live = b.subscribe(Subscribe::new(["news"])).await.unwrap();
        let mut before = Vec::new();
        for n in 0..3 {
            before.push(
                a.publish("news", Event::new().data(format!("before {n}")))
                    .await
                    .unwrap(),
            );
        }
        for id in &before {
            let frame = next_frame(&mut live).await;
            assert_eq!((frame.kind(), frame.id()), (FrameKind::Live, Some(*id)));
        }

        redis.stop().await;
        // Publishing reports the outage; it never pretends to succeed.
        for n in 0..3 {
            match a
                .publish("news", Event::new().data(format!("lost {n}")))
                .await
            {
                Err(HubError::Backend(e)) => assert_eq!(e.kind(), BackendErrorKind::Unavailable),
                other => panic!("publishing without redis: {other:?}"),
            }
        }
        // Resuming needs the history: refused while Redis is away; live-only still works.
        let resume = Subscribe::new(["news"]).last_event_id(before[0]);
        assert!(matches!(
            b.subscribe(resume).await,
            Err(HubError::Backend(_))
        ));
        let mut live_only = b.subscribe(Subscribe::new(["news"])).await.unwrap();
        // The subscriber stays connected through the outage.
        let quiet = tokio::time::timeout(Duration::from_millis(300), live.next()).await;
        assert!(
            quiet.is_err(),
            "nothing arrives, and the stream does not end"
        );

        redis.restart().await;
        // Publishing works again once the instance has reconnected.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut after = Vec::new();
        while after.is_empty() {
            match a.publish("news", Event::new().data("after 0")).await {
                Ok(id) => after.push(id),
                Err(HubError::Backend(_)) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "redis never came back"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
        for n in 1..3 {
            after.push(
                a.publish("news", Event::new().data(format!("after {n}")))
                    .await
                    .unwrap(),
            );
        }

        // Redis came back empty: events may have been lost with it, so the subscriber gets
        // the reset event, then every event published since, once, in order.
        for subscription in [&mut live, &mut live_only] {
            let first = next_frame(subscription).await;
            assert_eq!(first.kind(), FrameKind::Reset);
            for id in &after {
                let frame = next_frame(subscription).await;
                assert_eq!((frame.kind(), frame.id()), (FrameKind::Live, Some(*id)));
            }
            let more = tokio::time::timeout(Duration::from_millis(300), subscription.next()).await;
            assert!(more.is_err(), "no duplicate: {more:?}");
        }

        // A client with an id from before the restart, on either instance: the reset event,
        // then what the new stream holds.
        for hub in [&a, &b] {
            let mut resumed = hub
                .subscribe(Subscribe::new(["news"]).last_event_id(before[2]))
                .await
                .unwrap();
            assert_eq!(next_frame(&mut resumed).await.kind(), FrameKind::Reset);
            for id in &after {
                let frame = next_frame(&mut resumed).await;
                assert_eq!((frame.kind(), frame.id()), (FrameKind::Replayed, Some(*id)));
            }
        }
        // And one from after it resumes exactly.
        let mut exact = b
            .subscribe(Subscribe::new(["news"]).last_event_id(after[0]))
            .await
            .unwrap();
        for id in &after[1..] {
            let frame = next_frame(&mut exact).await;
            assert_eq!((frame.kind(), frame.id()), (FrameKind::Replayed, Some(*id)));
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_is_exact_at_the_seam_and_resets_when_the_history_is_gone() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let make = |history: usize, prefix: &'static str| {
            let backend = backend(&redis).prefix(prefix);
            async move {
                Hub::builder()
                    .history_len(history)
                    .build_redis(backend)
                    .await
                    .unwrap()
            }
        };
        let a = make(1000, "seam").await;
        let b = make(1000, "seam").await;
        let mut ids = Vec::new();
        for n in 0..4 {
            let topic = if n % 2 == 0 { "x" } else { "y" };
            ids.push(
                a.publish(topic, Event::new().data(n.to_string()))
                    .await
                    .unwrap(),
            );
        }
        // Subscribing on B while A keeps publishing: the history and the live events meet
        // without a gap or a duplicate.
        let publisher = {
            let a = a.clone();
            tokio::spawn(async move {
                let mut more = Vec::new();
                for n in 4..40 {
                    more.push(
                        a.publish("x", Event::new().data(n.to_string()))
                            .await
                            .unwrap(),
                    );
                }
                more
            })
        };
        let mut sub = b
            .subscribe(Subscribe::new(["x"]).last_event_id(ids[0]))
            .await
            .unwrap();
        let more = publisher.await.unwrap();
        let expected: Vec<EventId> = std::iter::once(ids[2])
            .chain(more.iter().copied())
            .collect();
        let mut got = Vec::new();
        while got.len() < expected.len() {
            let frame = next_frame(&mut sub).await;
            assert_ne!(frame.kind(), FrameKind::Reset, "{got:?}");
            got.push(frame.id().unwrap());
        }
        assert_eq!(got, expected);

        // A stream that keeps 5 entries: an id that has been trimmed past resets, then
        // replays what is left; one still covered resumes exactly.
        let a = make(5, "trim").await;
        let b = make(5, "trim").await;
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(
                a.publish("x", Event::new().data(n.to_string()))
                    .await
                    .unwrap(),
            );
        }
        let mut old = b
            .subscribe(Subscribe::new(["x"]).last_event_id(ids[0]))
            .await
            .unwrap();
        assert_eq!(next_frame(&mut old).await.kind(), FrameKind::Reset);
        for id in &ids[5..] {
            let frame = next_frame(&mut old).await;
            assert_eq!((frame.kind(), frame.id()), (FrameKind::Replayed, Some(*id)));
        }
        // (Redis does not tell which entry was trimmed last, so `ids[4]`, the newest one
        // trimmed, resets too: a reset that was not strictly needed, never a silent gap.)
        let mut covered = b
            .subscribe(Subscribe::new(["x"]).last_event_id(ids[5]))
            .await
            .unwrap();
        for id in &ids[6..] {
            let frame = next_frame(&mut covered).await;
            assert_eq!((frame.kind(), frame.id()), (FrameKind::Replayed, Some(*id)));
        }
        // A made-up id from the future: reset, then all that is retained.
        let future = EventId::new(ids[9].major() + 60_000, 0);
        let mut ahead = b
            .subscribe(Subscribe::new(["x"]).last_event_id(future))
            .await
            .unwrap();
        assert_eq!(next_frame(&mut ahead).await.kind(), FrameKind::Reset);
        assert_eq!(next_frame(&mut ahead).await.id(), Some(ids[5]));
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_subscribers_on_two_instances_each_receive_a_thousand_events() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let make = || async {
            Hub::builder()
                .subscriber_queue(1_100)
                .history_len(100)
                .build_redis(backend(&redis).prefix("load"))
                .await
                .unwrap()
        };
        let hubs = [make().await, make().await];
        let mut subscriptions = Vec::new();
        for n in 0..1_000 {
            let hub = &hubs[n % 2];
            subscriptions.push(hub.subscribe(Subscribe::new(["load"])).await.unwrap());
        }
        let started = std::time::Instant::now();
        let mut published = Vec::with_capacity(1_000);
        for n in 0..1_000 {
            let id = hubs[n % 2]
                .publish("load", Event::new().data(n.to_string()))
                .await
                .unwrap();
            published.push(id);
        }
        let publish_time = started.elapsed();
        // Each subscriber reads on its own task, as each HTTP response would.
        let readers: Vec<_> = subscriptions
            .into_iter()
            .map(|mut subscription| {
                tokio::spawn(async move {
                    let mut ids = Vec::with_capacity(1_000);
                    while ids.len() < 1_000 {
                        let frame = next_frame(&mut subscription).await;
                        assert_eq!(frame.kind(), FrameKind::Live);
                        ids.push(frame.id().unwrap());
                    }
                    ids
                })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.await.unwrap(), published);
        }
        let total = started.elapsed();
        let delivered: u64 = hubs.iter().map(|hub| hub.stats().delivered).sum();
        assert_eq!(delivered, 1_000_000);
        println!(
            "1,000 subscribers x 1,000 events over 2 instances: published in {publish_time:?}, \
             all delivered in {total:?}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_through_redis_across_instances_and_in_process() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let report = tokio::time::timeout(
        TEST_TIMEOUT,
        redis_latency::redis_vs_memory_latency(&redis.url(), 300),
    )
    .await
    .expect("test timed out")
    .unwrap();
    println!("{}", report.table());
    assert_eq!(report.samples, 300);
    for path in [report.memory, report.redis] {
        assert!(path.p50 <= path.p99 && path.p99 <= path.max);
        assert!(path.p99 < Duration::from_secs(1), "{report:?}");
    }
    assert!(
        report.redis.p50 > report.memory.p50,
        "a network round trip costs more: {report:?}"
    );
}

/// A resumable generation through Redis: the chat's made-up answer starts on one instance,
/// a reader on a second instance reloads in the middle and resumes on a third with its
/// `Last-Event-ID`, and has every token once, in order, then the end; a reconnect after the
/// end answers 204. The end marker and the `gen:` retention live in Redis, so any instance
/// knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_resumes_on_another_instance_with_every_token_once() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let mut config = chat_example::Config::default();
        config.redis = Some(redis.url());
        config.token_interval = Duration::from_millis(30);
        let mut instances = Vec::new();
        for _ in 0..3 {
            let hub = chat_example::connect_hub(&config).await.unwrap();
            let mut instance_config = chat_example::Config::default();
            instance_config.token_interval = config.token_interval;
            let server =
                TestServer::spawn(chat_example::app_with_hub(instance_config, hub.clone())).await;
            instances.push((server, hub));
        }
        let (status, body) = post(
            &instances[0].0,
            "/chat/generate",
            &[("prompt", "why is the sky blue")],
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        let stream = answer["stream"].as_str().unwrap().to_owned();

        // Read a few tokens on the second instance, then "reload".
        let mut first = SseConnection::open(&instances[1].0.url(&stream), None)
            .await
            .unwrap();
        assert_eq!(first.status, StatusCode::OK);
        let mut tokens = Vec::new();
        let mut last_id = String::new();
        while tokens.len() < 4 {
            let event = first.next_event().await.expect("a token");
            assert_eq!(event.event_type(), "token");
            tokens.push(event.data().to_owned());
            last_id = event.last_event_id().to_owned();
        }
        drop(first);

        // Resume on the third instance: the rest, then the end, then a clean end.
        let mut second = SseConnection::open(&instances[2].0.url(&stream), Some(&last_id))
            .await
            .unwrap();
        assert_eq!(second.status, StatusCode::OK);
        let end_id = loop {
            let event = second.next_event().await.expect("the rest of the answer");
            match event.event_type() {
                "token" => tokens.push(event.data().to_owned()),
                "done" => {
                    assert_eq!(event.data(), "[DONE]");
                    break event.last_event_id().to_owned();
                }
                other => panic!("unexpected event {other}: {:?}", event.data()),
            }
        };
        assert!(
            second.next_event().await.is_none(),
            "a clean end after [DONE]"
        );
        let expected =
            "You asked: why is the sky blue. Here is a made-up answer, one token at a time.";
        assert_eq!(tokens.concat(), expected, "every token once, in order");

        // After the end, on any instance: 204, nothing to wait for.
        for (server, _) in &instances {
            let after = SseConnection::open(&server.url(&stream), Some(&end_id))
                .await
                .unwrap();
            assert_eq!(after.status, StatusCode::NO_CONTENT);
        }
        for (_, hub) in &instances {
            hub.close();
        }
    })
    .await
    .expect("the test took too long");
}

/// History retention per topic prefix through Redis: one stream for every topic, each
/// topic's own limits applied when its history is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_per_prefix_applies_through_redis() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let hub = Hub::builder()
            .history_len(3)
            .retention("gen:", 10, None)
            .build_redis(backend(&redis).prefix("retention"))
            .await
            .unwrap();
        let mut generation = Vec::new();
        let mut room = Vec::new();
        for n in 0..6 {
            generation.push(
                hub.publish("gen:x", Event::new().data(format!("g{n}")))
                    .await
                    .unwrap(),
            );
            room.push(
                hub.publish("room:x", Event::new().data(format!("r{n}")))
                    .await
                    .unwrap(),
            );
        }
        // gen: keeps 10 per topic: everything after g1 is there.
        let mut resumed = hub
            .subscribe(Subscribe::new(["gen:x"]).last_event_id(generation[1]))
            .await
            .unwrap();
        for expected in &generation[2..] {
            let frame = next_frame(&mut resumed).await;
            assert_eq!(
                (frame.kind(), frame.id()),
                (FrameKind::Replayed, Some(*expected))
            );
        }
        // room: keeps 3: after r1, r2 is gone: the reset event, then the three kept.
        let mut resumed = hub
            .subscribe(Subscribe::new(["room:x"]).last_event_id(room[1]))
            .await
            .unwrap();
        assert_eq!(next_frame(&mut resumed).await.kind(), FrameKind::Reset);
        for expected in &room[3..] {
            let frame = next_frame(&mut resumed).await;
            assert_eq!(
                (frame.kind(), frame.id()),
                (FrameKind::Replayed, Some(*expected))
            );
        }
        hub.close();
    })
    .await
    .expect("the test took too long");
}
