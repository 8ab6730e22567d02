//! Exactly once across cuts: a real hub server, a real reconnecting `reqwest_sse_client::Client`, and
//! between them a [`FaultProxy`] that cuts every connection at a random (seeded) byte offset,
//! mid-event, mid-line and mid-UTF-8 character, and delays and stalls writes.
//!
//! The client must receive every published event exactly once and in order, resuming with
//! `Last-Event-ID` after each cut; after a server restart (a new in-process hub on the same
//! port) it must get the reset event and no duplicate.
//!
//! The seed can be changed with `SSE_FAULT_SEED=<n>` to explore other cut patterns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use futures_util::StreamExt as _;
use reqwest_sse_client::Client;
use sse_axum::hub::{Hub, SlowConsumerPolicy, Subscribe, Subscription};
use sse_axum::{Event, LastEventId};
use sse_tests::TestServer;
use sse_tests::proxy::{FaultPlan, FaultProxy, ProxyStats};
use tokio::time::{Instant, sleep, timeout};

const TOPIC: &str = "numbers";
/// Multi-byte characters of 2, 3 and 4 bytes, so that cuts land inside characters.
const PAYLOAD: &str = "é€😀 ünïcödé ✓ ∑";
/// The whole test (publishing and catching up) must end within this.
const DEADLINE: Duration = Duration::from_secs(90);

fn seed() -> u64 {
    std::env::var("SSE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2024)
}

/// The hub of one server process: everything kept in history (the promise holds within the
/// history window), and a subscriber that falls behind is disconnected, so it resumes from the
/// history instead of losing queued events.
fn hub() -> Hub {
    Hub::builder()
        .history_len(20_000)
        .history_age(Duration::from_secs(600))
        .subscriber_queue(1024)
        .slow_consumer(SlowConsumerPolicy::Disconnect)
        .build()
}

/// `GET /numbers`: resume after `Last-Event-ID`, or start from the whole history.
async fn numbers(
    State(hub): State<Hub>,
    last_event_id: Option<LastEventId>,
) -> Result<Subscription, (StatusCode, String)> {
    let request = match last_event_id {
        Some(id) => Subscribe::new([TOPIC]).last_event_id(Some(id)),
        None => Subscribe::new([TOPIC]).with_history(),
    };
    hub.subscribe(request)
        .await
        .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))
}

fn router(hub: Hub) -> Router {
    Router::new()
        .route("/numbers", get(numbers))
        .with_state(hub)
}

fn event(n: u64) -> Event {
    Event::new()
        .try_event("number")
        .unwrap()
        .data(format!("{n} {PAYLOAD}\nline two of {n}"))
}

/// Publishes `range` to `hub`, `per_tick` events every 10 ms.
async fn publish(hub: &Hub, range: std::ops::Range<u64>, per_tick: u64) {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut n = range.start;
    while n < range.end {
        tick.tick().await;
        for _ in 0..per_tick.min(range.end - n) {
            hub.publish(TOPIC, event(n)).await.unwrap();
            n += 1;
        }
    }
}

/// A client that reconnects at once: the test is about what is delivered, not about backoff.
fn client(connects: Arc<AtomicU64>) -> Client {
    Client::builder()
        .retry(Duration::from_millis(1))
        .min_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(50))
        .reset_backoff_after(Duration::from_millis(20))
        .idle_timeout(Some(Duration::from_secs(10)))
        .on_connect(move |_| {
            connects.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap()
}

/// What the client saw.
#[derive(Debug, Default)]
struct Tally {
    received: u64,
    duplicates: u64,
    missing: u64,
    corrupt: u64,
    resets: u64,
    /// The numbers missing, as (first, count) runs, with the number of resets seen before.
    gaps: Vec<(u64, u64, u64)>,
    /// The next number expected.
    next: u64,
}

impl Tally {
    fn record(&mut self, event: &reqwest_sse_client::Event) {
        if event.event_type() == "reset" {
            self.resets += 1;
            return;
        }
        let n: Option<u64> = event.data().split(' ').next().and_then(|n| n.parse().ok());
        let Some(n) = n else {
            self.corrupt += 1;
            return;
        };
        if event.event_type() != "number"
            || event.data() != format!("{n} {PAYLOAD}\nline two of {n}")
        {
            self.corrupt += 1;
        }
        if n < self.next {
            self.duplicates += 1;
            return;
        }
        if n > self.next {
            self.missing += n - self.next;
            self.gaps.push((self.next, n - self.next, self.resets));
        }
        self.received += 1;
        self.next = n + 1;
    }
}

fn report(what: &str, published: u64, tally: &Tally, proxy: ProxyStats, connects: u64) {
    println!(
        "{what}: published {published}, received {}, duplicates {}, missing {}, corrupt {}, \
         resets {}, cuts {} (mid-line {}, mid-utf8 {}), connections {connects} \
         (proxy {}, upstream down {}), stalls {}, delays {}, bytes {}",
        tally.received,
        tally.duplicates,
        tally.missing,
        tally.corrupt,
        tally.resets,
        proxy.cuts,
        proxy.cuts_mid_line,
        proxy.cuts_mid_utf8,
        proxy.connections,
        proxy.upstream_failures,
        proxy.stalls,
        proxy.delays,
        proxy.bytes,
    );
}

/// Reads events until `last` arrived (or the deadline), then for a moment longer to catch late
/// duplicates.
async fn consume(events: &mut reqwest_sse_client::Subscription, tally: &mut Tally, last: u64) {
    let deadline = Instant::now() + DEADLINE;
    while tally.next <= last {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, events.next()).await {
            Ok(Some(Ok(event))) => tally.record(&event),
            Ok(Some(Err(error))) => panic!("the subscription ended with an error: {error}"),
            Ok(None) => panic!("the subscription ended"),
            Err(_) => panic!("deadline passed with {tally:?}"),
        }
    }
    while let Ok(Some(Ok(event))) = timeout(Duration::from_millis(300), events.next()).await {
        tally.record(&event);
    }
}

async fn wait_for_no_subscribers(hub: &Hub) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub.total_subscribers() != 0 && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hub.total_subscribers(), 0, "a subscriber was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_exactly_once_and_in_order_through_100_cuts() {
    const EVENTS: u64 = 10_000;
    let hub = hub();
    let server = TestServer::spawn(router(hub.clone())).await;
    let plan = FaultPlan::new(seed())
        .cut_after(100..4_000)
        .max_write(700)
        .delays(20, 1..5)
        .stalls(2, 50..300);
    let proxy = FaultProxy::start(server.addr(), plan).await.unwrap();

    let connects = Arc::new(AtomicU64::new(0));
    let mut events = client(Arc::clone(&connects)).subscribe(proxy.url("/numbers"));
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move { publish(&hub, 0..EVENTS, 20).await })
    };

    let mut tally = Tally::default();
    consume(&mut events, &mut tally, EVENTS - 1).await;
    publisher.await.unwrap();
    let stats = proxy.stats();
    report(
        "cuts",
        hub.stats().published,
        &tally,
        stats,
        connects.load(Ordering::Relaxed),
    );

    assert_eq!(hub.stats().published, EVENTS);
    assert_eq!(tally.received, EVENTS, "{tally:?}");
    assert_eq!(
        (tally.duplicates, tally.missing, tally.corrupt, tally.resets),
        (0, 0, 0, 0),
        "{tally:?}"
    );
    assert!(stats.cuts >= 100, "only {} cuts", stats.cuts);
    assert!(
        stats.cuts_mid_line > 0 && stats.cuts_mid_utf8 > 0,
        "{stats:?}"
    );

    drop(events);
    drop(proxy);
    wait_for_no_subscribers(&hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_with_in_process_history_gives_the_reset_event_and_no_duplicate() {
    const EVENTS: u64 = 4_000;
    const RESTART_AT: u64 = EVENTS / 2;
    let first_hub = hub();
    let server = TestServer::spawn(router(first_hub.clone())).await;
    let port = server.addr().port();
    let plan = FaultPlan::new(seed() ^ 1)
        .cut_after(100..2_500)
        .max_write(700)
        .delays(20, 1..5)
        .stalls(2, 50..300);
    let proxy = FaultProxy::start(server.addr(), plan).await.unwrap();

    let connects = Arc::new(AtomicU64::new(0));
    let mut events = client(Arc::clone(&connects)).subscribe(proxy.url("/numbers"));
    // At most one event per millisecond, as a real feed: the hub's ids then follow the clock,
    // so every id of the first process is below the ids of the second one (see the report).
    let publisher = {
        let first_hub = first_hub.clone();
        tokio::spawn(async move {
            publish(&first_hub, 0..RESTART_AT, 5).await;
            // Let the client read a little of the end of the first process.
            sleep(Duration::from_millis(50)).await;
            server.stop().await;
            first_hub.close();
            sleep(Duration::from_millis(100)).await;
            let second_hub = hub();
            let server = TestServer::spawn_on(port, router(second_hub.clone()))
                .await
                .unwrap();
            publish(&second_hub, RESTART_AT..EVENTS, 5).await;
            (server, second_hub)
        })
    };

    let mut tally = Tally::default();
    consume(&mut events, &mut tally, EVENTS - 1).await;
    let (server, second_hub) = publisher.await.unwrap();
    let stats = proxy.stats();
    report(
        "restart",
        first_hub.stats().published + second_hub.stats().published,
        &tally,
        stats,
        connects.load(Ordering::Relaxed),
    );

    assert_eq!(tally.duplicates, 0, "{tally:?}");
    assert_eq!(tally.corrupt, 0, "{tally:?}");
    assert!(
        tally.resets >= 1,
        "no reset event after the restart: {tally:?}"
    );
    // Only events of the first process can be lost, and only with a reset to say so: every
    // gap starts before the restart and ends at or before the first event of the second
    // process, and a reset came before the event after it.
    for &(first, count, resets_before) in &tally.gaps {
        assert!(first + count <= RESTART_AT, "{tally:?}");
        assert!(resets_before >= 1, "events lost without a reset: {tally:?}");
    }
    assert_eq!(
        tally.received + tally.missing,
        EVENTS,
        "every number is received or counted missing: {tally:?}"
    );
    assert!(stats.cuts >= 50, "only {} cuts", stats.cuts);
    drop(events);
    drop(proxy);
    wait_for_no_subscribers(&second_hub).await;
    server.stop().await;
}

/// A previous process publishing more than one event per millisecond, then a new hub: an id
/// from the previous process must never be taken for one of the new hub's; resuming from it
/// must give the reset event (it is not an id
/// the new hub gave), never a silent skip of the new process's events.
///
/// Regression test: hub ids used to be `max(previous + 1, now)`, which ran ahead of the clock
/// in a burst, so an old id could land inside the new hub's range and be resumed without a
/// reset. Ids are now `<ms>-<seq>` and never run ahead of the clock.
#[tokio::test]
async fn an_id_from_a_previous_process_inside_the_new_range_still_resets() {
    let first = hub();
    let mut last = None;
    for n in 0..3_000 {
        last = Some(first.publish(TOPIC, event(n)).await.unwrap());
    }
    let last = last.unwrap();
    let second = hub();
    let mut ids = Vec::new();
    for n in 0..3_000 {
        ids.push(second.publish(TOPIC, event(n)).await.unwrap());
    }
    // With ids that ran ahead of the clock, `last` fell inside the new hub's range; now every
    // id of the new hub is above it.
    assert!(last < ids[0], "{last} vs {}", ids[0]);
    let mut subscription = second
        .subscribe(Subscribe::new([TOPIC]).last_event_id(last))
        .await
        .unwrap();
    let first_frame = subscription.next().await.unwrap();
    assert_eq!(
        first_frame.kind(),
        sse_axum::hub::FrameKind::Reset,
        "resuming from an id this hub never gave skipped its events silently"
    );
}
