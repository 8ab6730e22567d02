//! The chat example's request parsing (query strings, form bodies, the `Last-Event-ID`
//! header) on arbitrary bytes, through its real router: every answer is a 2xx, or a 4xx with a
//! plain-text message; never a 5xx, never a panic.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use axum::Router;
use axum::body::Body;
use http::{HeaderValue, Method, Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

#[derive(Debug, Arbitrary)]
struct Input {
    route: u8,
    query: String,
    last_event_id: Option<Vec<u8>>,
    form: bool,
    body: Vec<u8>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut config = chat_example::Config::default();
        // Small limits so the fuzzer reaches them.
        config.history = 16;
        config.max_message_bytes = 64;
        config.max_name_chars = 8;
        chat_example::app(config)
    })
}

fuzz_target!(|input: Input| {
    let (method, path) = match input.route % 4 {
        0 => (Method::GET, "/chat/sse"),
        1 => (Method::POST, "/chat/broadcast"),
        2 => (Method::POST, "/chat/direct"),
        _ => (Method::GET, "/chat/users"),
    };
    let uri = format!("{path}?{}", input.query);
    let mut builder = Request::builder().method(method).uri(uri);
    if input.form {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let Ok(mut request) = builder.body(Body::from(input.body)) else {
        return;
    };
    if let Some(id) = &input.last_event_id {
        let Ok(value) = HeaderValue::from_bytes(id) else {
            return;
        };
        request.headers_mut().insert("last-event-id", value);
    }
    let response = runtime()
        .block_on(router().clone().oneshot(request))
        .expect("infallible");
    let status = response.status();
    assert!(
        status.is_success() || status.is_client_error(),
        "status {status} for {path}"
    );
    if status.is_client_error() && status != StatusCode::METHOD_NOT_ALLOWED {
        let content_type = response.headers().get(header::CONTENT_TYPE);
        assert!(
            content_type.is_some_and(|v| v.as_bytes().starts_with(b"text/plain")),
            "{status}: {content_type:?}"
        );
    }
    // A stream response (200 on /chat/sse) is dropped here: the subscriber leaves the hub.
});
