//! `HubError` as an HTTP answer: a handler returns `Result<Subscription, HubError>`.

use axum::{Router, extract::State, routing::get};
use sse_axum::LastEventId;
use sse_axum::hub::{Hub, HubError, Subscribe, Subscription};

use crate::raw_client::{RawResponse, serve};

async fn events(
    State(hub): State<Hub>,
    last_event_id: Option<LastEventId>,
) -> Result<Subscription, HubError> {
    hub.subscribe(Subscribe::new(["news"]).last_event_id(last_event_id))
        .await
}

async fn no_topics(State(hub): State<Hub>) -> Result<Subscription, HubError> {
    hub.subscribe(Subscribe::new(Vec::<String>::new())).await
}

fn app(hub: &Hub) -> Router {
    Router::new()
        .route("/events", get(events))
        .route("/none", get(no_topics))
        .with_state(hub.clone())
}

#[tokio::test]
async fn a_last_event_id_that_is_not_ours_is_400_with_a_message() {
    let hub = Hub::new();
    let addr = serve(app(&hub)).await;
    let mut response = RawResponse::get(addr, "/events", &[b"Last-Event-ID: yesterday"]).await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let body = response.body().await;
    assert!(body.starts_with("invalid last event id: "), "{body}");

    let mut response = RawResponse::get(addr, "/none", &[]).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.body().await, "subscription names no topic");
}

#[tokio::test]
async fn a_closed_hub_is_503_with_retry_after() {
    let hub = Hub::new();
    let addr = serve(app(&hub)).await;
    let response = RawResponse::get(addr, "/events", &[]).await;
    assert_eq!(response.status, 200);
    hub.close();
    let mut response = RawResponse::get(addr, "/events", &[]).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("5"));
    assert_eq!(response.body().await, "hub is closed");
}
