//! `LastEventId` over HTTP: header, query fallback, absent, and every rejection.

use axum::{Extension, Router, routing::get};
use sse_axum::{LastEventId, LastEventIdConfig};

use crate::raw_client::{RawResponse, serve};

async fn optional(id: Option<LastEventId>) -> String {
    match id {
        Some(id) => format!("some:{id}"),
        None => "none".to_owned(),
    }
}

async fn required(id: LastEventId) -> String {
    format!("some:{id}")
}

fn app() -> Router {
    Router::new()
        .route("/optional", get(optional))
        .route("/required", get(required))
}

/// Status and body of `GET path` with the given header lines.
async fn fetch(path: &str, headers: &[&[u8]]) -> (u16, String) {
    let addr = serve(app()).await;
    let mut response = RawResponse::get(addr, path, headers).await;
    let status = response.status;
    if status == 400 {
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
    (status, response.body().await)
}

#[tokio::test]
async fn reads_the_header() {
    assert_eq!(
        fetch("/optional", &[b"Last-Event-ID: 42"]).await,
        (200, "some:42".to_owned())
    );
    assert_eq!(
        fetch("/required", &[b"last-event-id:  a b "]).await,
        (200, "some:a b".to_owned())
    );
    assert_eq!(
        fetch("/required", &["Last-Event-ID: \u{e9}t\u{e9}".as_bytes()]).await,
        (200, "some:\u{e9}t\u{e9}".to_owned())
    );
}

#[tokio::test]
async fn falls_back_to_the_query_parameter() {
    assert_eq!(
        fetch("/optional?lastEventId=7", &[]).await,
        (200, "some:7".to_owned())
    );
    assert_eq!(
        fetch(
            "/required?x=1&lastEventId=a%20b+c%E2%82%AC&lastEventId=second",
            &[]
        )
        .await,
        (200, "some:a b c\u{20ac}".to_owned())
    );
    // The header wins over the query parameter.
    assert_eq!(
        fetch("/optional?lastEventId=query", &[b"Last-Event-ID: header"]).await,
        (200, "some:header".to_owned())
    );
}

#[tokio::test]
async fn absent_or_empty_is_none_and_required_rejects_it() {
    assert_eq!(fetch("/optional", &[]).await, (200, "none".to_owned()));
    assert_eq!(
        fetch("/optional", &[b"Last-Event-ID:"]).await,
        (200, "none".to_owned())
    );
    assert_eq!(
        fetch("/optional?lastEventId=", &[]).await,
        (200, "none".to_owned())
    );
    assert_eq!(
        fetch("/required", &[]).await,
        (400, "missing `Last-Event-ID` header".to_owned())
    );
}

#[tokio::test]
async fn invalid_values_are_rejected_with_400_and_a_message() {
    for path in ["/optional", "/required"] {
        assert_eq!(
            fetch(path, &[b"Last-Event-ID: \xff\xfe"]).await,
            (
                400,
                "invalid `Last-Event-ID` header: not valid utf-8".to_owned()
            )
        );
        assert_eq!(
            fetch(&format!("{path}?lastEventId=%FF"), &[]).await,
            (
                400,
                "invalid `lastEventId` query parameter: not valid utf-8".to_owned()
            )
        );
        assert_eq!(
            fetch(&format!("{path}?lastEventId=a%00b"), &[]).await,
            (
                400,
                "invalid `lastEventId` query parameter: contains a nul character".to_owned()
            )
        );
        assert_eq!(
            fetch(&format!("{path}?lastEventId=a%0Ab"), &[]).await,
            (
                400,
                "invalid `lastEventId` query parameter: contains a line break".to_owned()
            )
        );
        assert_eq!(
            fetch(&format!("{path}?lastEventId=a%0Db"), &[]).await,
            (
                400,
                "invalid `lastEventId` query parameter: contains a line break".to_owned()
            )
        );
    }
}

#[tokio::test]
async fn the_default_limit_is_1_kib() {
    let fits = format!("Last-Event-ID: {}", "x".repeat(1024));
    let (status, body) = fetch("/required", &[fits.as_bytes()]).await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), "some:".len() + 1024);

    let too_long = format!("Last-Event-ID: {}", "x".repeat(1025));
    assert_eq!(
        fetch("/optional", &[too_long.as_bytes()]).await,
        (
            400,
            "invalid `Last-Event-ID` header: 1025 bytes long, the limit is 1024".to_owned()
        )
    );
    let too_long_query = format!("/optional?lastEventId={}", "%41".repeat(1025));
    assert_eq!(
        fetch(&too_long_query, &[]).await,
        (
            400,
            "invalid `lastEventId` query parameter: 1025 bytes long, the limit is 1024".to_owned()
        )
    );
}

#[tokio::test]
async fn the_limit_is_configurable_with_an_extension() {
    let app = app().layer(Extension(LastEventIdConfig::new().max_len(8)));
    let addr = serve(app).await;
    let mut ok = RawResponse::get(addr, "/required", &[b"Last-Event-ID: 12345678"]).await;
    assert_eq!(
        (ok.status, ok.body().await.as_str()),
        (200, "some:12345678")
    );
    let mut too_long = RawResponse::get(addr, "/required", &[b"Last-Event-ID: 123456789"]).await;
    assert_eq!(
        (too_long.status, too_long.body().await.as_str()),
        (
            400,
            "invalid `Last-Event-ID` header: 9 bytes long, the limit is 8"
        )
    );
}
