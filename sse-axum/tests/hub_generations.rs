//! Resumable generations on the in-memory hub: `Hub::finish` ends live subscribers cleanly,
//! replays the rest and the end to one that resumes before it, answers 204 after it, refuses
//! more publishes; a subscriber of several topics ends when all have finished; history
//! retention per topic prefix.

use std::time::Duration;

use axum::{Router, extract::State, routing::get};
use futures_util::StreamExt as _;
use sse_axum::hub::{FrameKind, Hub, HubError, Subscribe, Subscription};
use sse_axum::{Event, LastEventId};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn drain(subscription: &mut Subscription) -> Vec<(FrameKind, String)> {
    let mut frames = Vec::new();
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .unwrap()
    {
        frames.push((
            frame.kind(),
            String::from_utf8_lossy(frame.bytes()).into_owned(),
        ));
    }
    frames
}

#[tokio::test]
async fn a_subscriber_of_several_topics_ends_when_all_have_finished() {
    let hub = Hub::new();
    let mut both = hub
        .subscribe(Subscribe::new(["gen:a", "gen:b"]))
        .await
        .unwrap();
    hub.finish("gen:a", Event::new().data("a done"))
        .await
        .unwrap();
    hub.publish("gen:b", Event::new().data("b token"))
        .await
        .unwrap();
    hub.finish("gen:b", Event::new().data("b done"))
        .await
        .unwrap();
    let frames = drain(&mut both).await;
    let data: Vec<&str> = frames
        .iter()
        .map(|(_, text)| text.split("data: ").nth(1).unwrap().trim_end())
        .collect();
    assert_eq!(data, ["a done", "b token", "b done"]);
    assert!(frames.iter().all(|(kind, _)| *kind == FrameKind::Live));
}

#[tokio::test]
async fn with_history_a_late_subscriber_gets_everything_and_the_end() {
    let hub = Hub::new();
    for n in 0..3 {
        hub.publish("gen:1", Event::new().data(format!("t{n}")))
            .await
            .unwrap();
    }
    hub.finish("gen:1", Event::new().data("[DONE]"))
        .await
        .unwrap();
    let mut late = hub
        .subscribe(Subscribe::new(["gen:1"]).with_history())
        .await
        .unwrap();
    let frames = drain(&mut late).await;
    assert_eq!(frames.len(), 4);
    assert!(frames[3].1.ends_with("data: [DONE]\n\n"));
    assert!(frames.iter().all(|(kind, _)| *kind == FrameKind::Replayed));
}

#[tokio::test]
async fn retention_per_prefix_keeps_generations_longer_than_rooms() {
    let hub = Hub::builder()
        .history_len(2)
        .retention("gen:", 10, None)
        .build();
    let mut gen_ids = Vec::new();
    for n in 0..5 {
        gen_ids.push(
            hub.publish("gen:1", Event::new().data(format!("g{n}")))
                .await
                .unwrap(),
        );
        hub.publish("room:1", Event::new().data(format!("r{n}")))
            .await
            .unwrap();
    }
    // gen: keeps all five: resuming after the first is exact.
    let mut resumed = hub
        .subscribe(Subscribe::new(["gen:1"]).last_event_id(gen_ids[0]))
        .await
        .unwrap();
    hub.close();
    let frames = drain(&mut resumed).await;
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|(kind, _)| *kind == FrameKind::Replayed));

    // room: keeps two: resuming after the first needs the reset event.
    let hub = Hub::builder()
        .history_len(2)
        .retention("gen:", 10, None)
        .build();
    let mut first = None;
    for n in 0..5 {
        let id = hub
            .publish("room:1", Event::new().data(format!("r{n}")))
            .await
            .unwrap();
        first.get_or_insert(id);
    }
    let mut resumed = hub
        .subscribe(Subscribe::new(["room:1"]).last_event_id(first.unwrap()))
        .await
        .unwrap();
    hub.close();
    let frames = drain(&mut resumed).await;
    assert_eq!(frames[0].0, FrameKind::Reset);
    assert_eq!(frames.len(), 3, "the reset event, then the two kept");
}

async fn generation(
    State(hub): State<Hub>,
    last_event_id: Option<LastEventId>,
) -> Result<Subscription, HubError> {
    hub.subscribe(
        Subscribe::new(["gen:1"])
            .with_history()
            .last_event_id(last_event_id),
    )
    .await
}

/// Over HTTP: resuming after the end answers 204, which tells an `EventSource` to stop.
#[tokio::test]
async fn resuming_after_the_end_answers_204() {
    let hub = Hub::new();
    hub.publish("gen:1", Event::new().data("t")).await.unwrap();
    let end = hub
        .finish("gen:1", Event::new().data("[DONE]"))
        .await
        .unwrap();
    let app = Router::new()
        .route("/gen", get(generation))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /gen HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {end}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 204 No Content\r\n"),
        "{answer}"
    );
    assert_eq!(
        hub.subscriber_count("gen:1"),
        0,
        "no subscriber left behind"
    );
}
