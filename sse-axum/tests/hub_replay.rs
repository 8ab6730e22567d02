//! The hub's replay: the seam between history and live events, reset events, ids, bounds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use proptest::prelude::*;
use sse_axum::hub::{EventId, Frame, FrameKind, Hub, HubError, Subscribe, Subscription};
use sse_axum::{Event, LastEventId};

const TOPICS: [&str; 3] = ["a", "b", "c"];
const RESET: &str = "event: reset\ndata:\n\n";

fn text(frame: &Frame) -> &str {
    std::str::from_utf8(frame.bytes()).unwrap()
}

/// Reads everything left in a subscription (the hub must be closed or the stream ended).
async fn drain(subscription: &mut Subscription) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(frame) = subscription.next().await {
        frames.push(frame);
    }
    frames
}

/// A hub whose history and queues never drop anything in these tests.
fn roomy_hub() -> Hub {
    Hub::builder()
        .history_len(100_000)
        .history_age(Duration::MAX)
        .subscriber_queue(100_000)
        .build()
}

fn data(topic: &str, n: usize) -> Event {
    Event::new().data(format!("{topic}:{n}"))
}

/// `cases` cases; failures are saved next to this file (`hub_replay.proptest-regressions`).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::with_cases(cases)
    }
}

#[derive(Debug, Clone)]
enum Resume {
    Fresh,
    /// After the n-th published event (modulo the number published so far).
    After(usize),
    TooOld,
    Future,
}

#[derive(Debug, Clone)]
enum Op {
    Publish(usize),
    Subscribe { topics: Vec<usize>, resume: Resume },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..TOPICS.len()).prop_map(Op::Publish),
        1 => (
            proptest::sample::subsequence(vec![0, 1, 2], 1..=3),
            prop_oneof![
                2 => Just(Resume::Fresh),
                4 => any::<usize>().prop_map(Resume::After),
                1 => Just(Resume::TooOld),
                1 => Just(Resume::Future),
            ],
        )
            .prop_map(|(topics, resume)| Op::Subscribe { topics, resume }),
    ]
}

struct Subscriber {
    topics: Vec<usize>,
    /// Index in the publish log where its live events start.
    joined_at: usize,
    resume: Resume,
    after: Option<EventId>,
    subscription: Subscription,
}

proptest! {
    #![proptest_config(config(128))]

    /// Any interleaving of publishes and subscriptions: every subscriber sees exactly the events
    /// after its id, once, in order, the replayed ones then the live ones.
    #[test]
    fn replay_seam_is_exact_for_any_interleaving(ops in proptest::collection::vec(op(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let hub = roomy_hub();
            let mut log: Vec<(usize, EventId)> = Vec::new();
            let mut subscribers: Vec<Subscriber> = Vec::new();
            for op in ops {
                match op {
                    Op::Publish(topic) => {
                        let id = hub.publish(TOPICS[topic], data(TOPICS[topic], log.len())).await.unwrap();
                        if let Some((_, last)) = log.last() {
                            assert!(id > *last, "ids strictly increase");
                        }
                        log.push((topic, id));
                    }
                    Op::Subscribe { topics, resume } => {
                        let names: Vec<&str> = topics.iter().map(|&t| TOPICS[t]).collect();
                        let (request, after) = match resume {
                            Resume::Fresh => (Subscribe::new(names), None),
                            Resume::After(n) if !log.is_empty() => {
                                let id = log[n % log.len()].1;
                                (Subscribe::new(names).last_event_id(id.to_string()), Some(id))
                            }
                            Resume::After(_) => (Subscribe::new(names), None),
                            Resume::TooOld => (Subscribe::new(names).last_event_id("1"), None),
                            Resume::Future => {
                                let future = EventId::new(u64::MAX / 2, 0);
                                (Subscribe::new(names).last_event_id(future), None)
                            }
                        };
                        let subscription = hub.subscribe(request).await.unwrap();
                        subscribers.push(Subscriber { topics, joined_at: log.len(), resume, after, subscription });
                    }
                }
            }
            hub.close();
            for mut s in subscribers {
                let frames = drain(&mut s.subscription).await;
                let in_topics = |(i, (topic, _)): &(usize, &(usize, EventId))| {
                    let _ = i;
                    s.topics.contains(topic)
                };
                let mut expected: Vec<(FrameKind, Option<EventId>)> = Vec::new();
                let reset = matches!(s.resume, Resume::TooOld | Resume::Future);
                if reset {
                    expected.push((FrameKind::Reset, None));
                }
                for (i, (_, id)) in log.iter().enumerate().filter(in_topics) {
                    let live = i >= s.joined_at;
                    let wanted = match s.resume {
                        Resume::Fresh => live,
                        Resume::After(_) => s.after.is_none_or(|after| *id > after) && (s.after.is_some() || live),
                        Resume::TooOld | Resume::Future => true,
                    };
                    if wanted {
                        let kind = if live { FrameKind::Live } else { FrameKind::Replayed };
                        expected.push((kind, Some(*id)));
                    }
                }
                let got: Vec<(FrameKind, Option<EventId>)> = frames.iter().map(|f| (f.kind(), f.id())).collect();
                assert_eq!(got, expected, "subscriber of {:?} resuming {:?}", s.topics, s.resume);
                for frame in &frames {
                    match frame.id() {
                        Some(id) => {
                            let (i, (topic, _)) = log.iter().enumerate().find(|(_, (_, x))| *x == id).unwrap();
                            let name = TOPICS[*topic];
                            assert_eq!(text(frame), format!("id: {id}\ndata: {name}:{i}\n\n"));
                        }
                        None => assert_eq!(text(frame), RESET),
                    }
                }
            }
            assert_eq!(hub.total_subscribers(), 0);
        });
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Publishing on one thread while subscribers join on another, with ids picked from what
    /// was already published: each resuming subscriber gets exactly the events after its id,
    /// each fresh one a gapless tail of its topics.
    #[test]
    fn replay_seam_is_exact_under_concurrency(
        joins in proptest::collection::vec(
            (proptest::sample::subsequence(vec![0, 1, 2], 1..=3), 0..500usize, any::<usize>(), any::<bool>()),
            1..8,
        ),
        topics_of_publishes in proptest::collection::vec(0..TOPICS.len(), 1..64),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let hub = roomy_hub();
            let log: Arc<Mutex<Vec<(usize, EventId)>>> = Arc::default();
            let joined = Arc::new(AtomicUsize::new(0));
            let subscribers = joins.len();
            // Publishes until every subscriber has joined, so they all join mid-stream.
            let publisher = {
                let (hub, log, joined) = (hub.clone(), Arc::clone(&log), Arc::clone(&joined));
                tokio::spawn(async move {
                    let mut n = 0;
                    while n < 500 || joined.load(Ordering::SeqCst) < subscribers {
                        let topic = topics_of_publishes[n % topics_of_publishes.len()];
                        let id = hub.publish(TOPICS[topic], data(TOPICS[topic], n)).await.unwrap();
                        log.lock().unwrap().push((topic, id));
                        n += 1;
                        if n % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            };
            let mut joiners = Vec::new();
            for (topics, wait_for, pick, resume) in joins {
                let (hub, log, joined) = (hub.clone(), Arc::clone(&log), Arc::clone(&joined));
                joiners.push(tokio::spawn(async move {
                    while log.lock().unwrap().len() < wait_for {
                        tokio::task::yield_now().await;
                    }
                    let after = {
                        let log = log.lock().unwrap();
                        (resume && !log.is_empty()).then(|| log[pick % log.len()].1)
                    };
                    let names: Vec<&str> = topics.iter().map(|&t| TOPICS[t]).collect();
                    let request = Subscribe::new(names).resume_after_opt(after);
                    let mut subscription = hub.subscribe(request).await.unwrap();
                    joined.fetch_add(1, Ordering::SeqCst);
                    let frames = drain(&mut subscription).await;
                    (topics, after, frames)
                }));
            }
            publisher.await.unwrap();
            hub.close();
            let log = log.lock().unwrap().clone();
            for joiner in joiners {
                let (topics, after, frames) = joiner.await.unwrap();
                let ids: Vec<EventId> = frames.iter().map(|f| f.id().unwrap()).collect();
                let of_topics: Vec<EventId> =
                    log.iter().filter(|(t, _)| topics.contains(t)).map(|(_, id)| *id).collect();
                match after {
                    Some(after) => {
                        let expected: Vec<EventId> = of_topics.into_iter().filter(|id| *id > after).collect();
                        assert_eq!(ids, expected, "resuming after {after}");
                    }
                    None => {
                        let tail = &of_topics[of_topics.len() - ids.len()..];
                        assert_eq!(ids, tail, "a fresh subscriber gets a gapless tail");
                        assert!(frames.iter().all(|f| f.kind() == FrameKind::Live));
                    }
                }
            }
        });
    }
}

/// `Subscribe::resume_after` for an optional id, for the test above.
trait ResumeAfterOpt {
    fn resume_after_opt(self, id: Option<EventId>) -> Self;
}

impl ResumeAfterOpt for Subscribe {
    fn resume_after_opt(self, id: Option<EventId>) -> Self {
        match id {
            Some(id) => self.last_event_id(id),
            None => self,
        }
    }
}

#[tokio::test]
async fn one_id_resumes_several_topics() {
    let hub = roomy_hub();
    let request = || Subscribe::new(["broadcast", "user:alice"]);
    let mut first = hub.subscribe(request()).await.unwrap();
    let hello = hub
        .publish("broadcast", Event::new().data("hello"))
        .await
        .unwrap();
    let dm = hub
        .publish("user:alice", Event::new().data("psst"))
        .await
        .unwrap();
    let _other = hub
        .publish("user:bob", Event::new().data("not for alice"))
        .await
        .unwrap();
    let news = hub
        .publish("broadcast", Event::new().data("news"))
        .await
        .unwrap();
    assert_eq!(first.next().await.unwrap().id(), Some(hello));
    drop(first);

    // The client saw `hello` only and comes back with its id.
    let mut second = hub
        .subscribe(request().last_event_id(hello.to_string()))
        .await
        .unwrap();
    let later = hub
        .publish("user:alice", Event::new().data("later"))
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let frame = second.next().await.unwrap();
        got.push((frame.kind(), frame.id().unwrap()));
    }
    assert_eq!(
        got,
        [
            (FrameKind::Replayed, dm),
            (FrameKind::Replayed, news),
            (FrameKind::Live, later)
        ]
    );
}

#[tokio::test]
async fn reset_when_the_id_is_older_than_the_history() {
    let hub = Hub::builder().history_len(2).build();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(hub.publish("t", data("t", n)).await.unwrap());
    }
    // ids[1] is evicted and so is ids[2]: resuming after ids[1] misses ids[2].
    let mut s = hub
        .subscribe(Subscribe::new(["t"]).last_event_id(ids[1]))
        .await
        .unwrap();
    hub.close();
    let frames = drain(&mut s).await;
    assert_eq!(text(&frames[0]), RESET);
    assert_eq!(frames[0].kind(), FrameKind::Reset);
    let rest: Vec<_> = frames[1..].iter().map(|f| f.id().unwrap()).collect();
    assert_eq!(rest, [ids[3], ids[4]]);

    // Resuming after the newest evicted id is still exact.
    let hub = Hub::builder().history_len(2).build();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(hub.publish("t", data("t", n)).await.unwrap());
    }
    let mut s = hub
        .subscribe(Subscribe::new(["t"]).last_event_id(ids[2]))
        .await
        .unwrap();
    hub.close();
    let frames = drain(&mut s).await;
    let got: Vec<_> = frames.iter().map(|f| (f.kind(), f.id())).collect();
    assert_eq!(
        got,
        [
            (FrameKind::Replayed, Some(ids[3])),
            (FrameKind::Replayed, Some(ids[4]))
        ]
    );
}

#[tokio::test]
async fn reset_when_the_id_is_unknown_or_from_the_future() {
    let hub = Hub::new();
    let first = hub.publish("t", data("t", 0)).await.unwrap();
    // From before this hub started (an earlier process, or made up).
    for id in ["0", "1", "1000-5"] {
        let mut s = hub
            .subscribe(Subscribe::new(["t"]).last_event_id(id))
            .await
            .unwrap();
        assert_eq!(text(&s.next().await.unwrap()), RESET, "{id}");
        assert_eq!(s.next().await.unwrap().id(), Some(first), "{id}");
    }
    // From the future: the server restarted with a clock behind the old ids.
    let future = EventId::new(first.major() + 3_600_000, 0);
    let mut s = hub
        .subscribe(Subscribe::new(["t"]).last_event_id(future))
        .await
        .unwrap();
    assert_eq!(s.next().await.unwrap().kind(), FrameKind::Reset);
    assert_eq!(s.next().await.unwrap().id(), Some(first));
    let live = hub.publish("t", data("t", 1)).await.unwrap();
    assert_eq!(s.next().await.unwrap().id(), Some(live));
}

#[tokio::test]
async fn invalid_last_event_id_is_an_error() {
    let hub = Hub::new();
    for id in ["abc", "", "1-2-3", "-1", "99999999999999999999", " 5"] {
        let error = hub
            .subscribe(Subscribe::new(["t"]).last_event_id(id))
            .await
            .unwrap_err();
        assert!(matches!(error, HubError::InvalidLastEventId(_)), "{id:?}");
        assert_eq!(error.to_string(), "invalid last event id");
        assert!(std::error::Error::source(&error).is_some());
    }
    let header = LastEventId::new("not-an-id").unwrap();
    let error = hub
        .subscribe(Subscribe::new(["t"]).last_event_id(Some(header)))
        .await
        .unwrap_err();
    assert!(matches!(error, HubError::InvalidLastEventId(_)));
    assert_eq!(
        hub.total_subscribers(),
        0,
        "a refused subscriber is not registered"
    );
    assert!(matches!(
        hub.subscribe(Subscribe::new(Vec::<String>::new())).await,
        Err(HubError::NoTopics)
    ));
}

#[tokio::test]
async fn custom_reset_event_is_sent_without_its_id() {
    let reset = Event::new()
        .try_event("gap")
        .unwrap()
        .try_id("123")
        .unwrap()
        .data("reload");
    let hub = Hub::builder().reset_event(reset).build();
    let mut s = hub
        .subscribe(Subscribe::new(["t"]).last_event_id("5"))
        .await
        .unwrap();
    assert_eq!(
        text(&s.next().await.unwrap()),
        "event: gap\ndata: reload\n\n"
    );
}

#[tokio::test]
async fn fresh_subscribers_get_live_events_or_the_history_if_asked() {
    let hub = Hub::new();
    let old = hub.publish("t", data("t", 0)).await.unwrap();
    let mut live_only = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let mut with_history = hub
        .subscribe(Subscribe::new(["t"]).with_history())
        .await
        .unwrap();
    let new = hub.publish("t", data("t", 1)).await.unwrap();
    hub.close();
    let ids = |frames: Vec<Frame>| frames.iter().map(|f| f.id().unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(drain(&mut live_only).await), [new]);
    assert_eq!(ids(drain(&mut with_history).await), [old, new]);
}

#[tokio::test]
async fn publish_all_sends_one_frame_under_one_id() {
    let hub = Hub::new();
    let mut s = hub.subscribe(Subscribe::new(["ticker"])).await.unwrap();
    let events = [
        Event::new()
            .try_event("AAPL")
            .unwrap()
            .try_id("user-id")
            .unwrap()
            .data("1"),
        Event::new().try_event("MSFT").unwrap().data("2"),
        Event::new()
            .try_event("GOOG")
            .unwrap()
            .try_id("user-id")
            .unwrap()
            .data("3"),
    ];
    let tick = hub.publish_all("ticker", events).await.unwrap();
    let frame = s.next().await.unwrap();
    assert_eq!(frame.id(), Some(tick));
    assert_eq!(
        text(&frame),
        format!(
            "event: AAPL\nid: {tick}\ndata: 1\n\n\
             event: MSFT\nid: {tick}\ndata: 2\n\n\
             event: GOOG\nid: {tick}\ndata: 3\n\n"
        )
    );
    // One history entry.
    let mut replay = hub
        .subscribe(Subscribe::new(["ticker"]).with_history())
        .await
        .unwrap();
    assert_eq!(replay.next().await.unwrap().bytes(), frame.bytes());
    assert!(matches!(
        hub.publish_all("ticker", Vec::new()).await,
        Err(HubError::NoEvents)
    ));
}

#[tokio::test]
async fn one_encoding_is_shared_by_every_subscriber_and_the_history() {
    let hub = Hub::new();
    let mut a = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let mut b = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    hub.publish("t", Event::new().data("shared")).await.unwrap();
    let mut c = hub
        .subscribe(Subscribe::new(["t"]).with_history())
        .await
        .unwrap();
    let (a, b, c) = (
        a.next().await.unwrap(),
        b.next().await.unwrap(),
        c.next().await.unwrap(),
    );
    // The same allocation, not equal copies.
    assert_eq!(a.bytes().as_ptr(), b.bytes().as_ptr());
    assert_eq!(a.bytes().as_ptr(), c.bytes().as_ptr());
}

#[tokio::test(start_paused = true)]
async fn history_is_bounded_by_count() {
    let hub = Hub::builder().history_len(3).build();
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(hub.publish("t", data("t", n)).await.unwrap());
    }
    let mut s = hub
        .subscribe(Subscribe::new(["t"]).with_history())
        .await
        .unwrap();
    hub.close();
    let got: Vec<_> = drain(&mut s)
        .await
        .iter()
        .map(|f| f.id().unwrap())
        .collect();
    assert_eq!(got, ids[7..]);
}

#[tokio::test(start_paused = true)]
async fn history_is_bounded_by_age() {
    let hub = Hub::builder().history_age(Duration::from_secs(10)).build();
    let old = hub.publish("t", data("t", 0)).await.unwrap();
    tokio::time::advance(Duration::from_secs(6)).await;
    let young = hub.publish("t", data("t", 1)).await.unwrap();
    tokio::time::advance(Duration::from_secs(5)).await;

    let mut s = hub
        .subscribe(Subscribe::new(["t"]).with_history())
        .await
        .unwrap();
    assert_eq!(s.next().await.unwrap().id(), Some(young));
    // Resuming after an id whose successor aged out is a reset; after `old` it is exact.
    let mut exact = hub
        .subscribe(Subscribe::new(["t"]).last_event_id(old))
        .await
        .unwrap();
    assert_eq!(exact.next().await.unwrap().kind(), FrameKind::Replayed);

    tokio::time::advance(Duration::from_secs(10)).await;
    let mut gone = hub
        .subscribe(Subscribe::new(["t"]).last_event_id(old))
        .await
        .unwrap();
    hub.close();
    let frames = drain(&mut gone).await;
    assert_eq!(frames.len(), 1, "everything aged out: only the reset event");
    assert_eq!(frames[0].kind(), FrameKind::Reset);
}
