//! Shared helpers for the cross-crate tests: fixtures, servers on free ports, external binaries.
//!
//! - [`require_binary`]: find a program on `PATH`, or skip the test with a printed reason (fail
//!   instead when `SSE_TEST_REQUIRE_ALL=1`).
//! - [`TestServer`]: an axum `Router` served on `127.0.0.1:0` or on a given port, stopped like
//!   a crash (every open connection is closed at once) so it can be restarted on the same port.
//! - [`ChromeDriver`] and [`BrowserSession`]: headless Chromium driven over WebDriver by a small
//!   client of our own over reqwest and serde_json.
//! - [`RedisServer`]: a throw-away `redis-server` on a free port.
#![deny(missing_docs)]

// The README's code blocks compile as doc tests of this crate, so the quickstart cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

// The crates' own READMEs (their crates.io pages) compile too.
#[cfg(doctest)]
#[doc = include_str!("../../sse-axum/README.md")]
struct SseAxumReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../sse-client/README.md")]
struct SseClientReadmeDoctests;

pub mod conformance;
pub mod interop;
pub mod proxy;
pub mod scripted;
pub mod tls;

mod processes;
mod redis;
mod server;
mod streams;
mod webdriver;

pub use processes::{REQUIRE_ALL_VAR, TempDir, find_binary, free_port, require_binary};
pub use redis::RedisServer;
pub use server::TestServer;
pub use streams::{EVENT_TIMEOUT, RawSse, SseConnection};
pub use webdriver::{BrowserSession, CHROMIUM_ARGS, ChromeDriver, Element, WebDriverError};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use serde_json::json;
    use tokio::net::TcpStream;

    use super::*;

    #[test]
    fn finds_sh_and_skips_missing_programs() {
        assert!(find_binary("sh").is_some());
        if std::env::var(REQUIRE_ALL_VAR).is_err() {
            assert!(require_binary("no-such-program-for-sse-tests").is_none());
        }
    }

    #[tokio::test]
    async fn server_restarts_on_the_same_port() {
        use axum::routing::get;
        let router = || Router::new().route("/", get(|| async { "up" }));
        let server = TestServer::spawn(router()).await;
        let port = server.addr().port();
        let body = reqwest::get(server.url("/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "up");
        server.stop().await;
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
        let again = TestServer::spawn_on(port, router()).await.unwrap();
        let body = reqwest::get(again.url("/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "up");
    }

    #[tokio::test]
    async fn chromium_loads_a_page_runs_script_and_takes_a_screenshot() {
        use axum::response::Html;
        use axum::routing::get;
        let Some(driver) = ChromeDriver::start().await.unwrap() else {
            return;
        };
        let page = "<title>t</title><input id=i><p id=p>hello</p>\
                    <script>i.oninput=()=>{p.textContent=i.value}</script>";
        let server =
            TestServer::spawn(Router::new().route("/", get(move || async move { Html(page) })))
                .await;
        let browser = driver.new_session().await.unwrap();
        browser.goto(&server.url("/")).await.unwrap();
        let p = browser.find("#p").await.unwrap();
        assert_eq!(browser.text(&p).await.unwrap(), "hello");
        let input = browser.find("#i").await.unwrap();
        browser.send_keys(&input, "typed").await.unwrap();
        browser
            .wait_for_text("#p", "typed", Duration::from_secs(10))
            .await
            .unwrap();
        let sum = browser
            .execute("return arguments[0] + 1", vec![json!(41)])
            .await
            .unwrap();
        assert_eq!(sum, json!(42));
        match browser.find("#missing").await {
            Err(WebDriverError::Command { error, .. }) => assert_eq!(error, "no such element"),
            other => panic!("expected no such element, got {other:?}"),
        }
        let shot = TempDir::new("shot").unwrap();
        let file = shot.path().join("page.png");
        browser.screenshot(&file).await.unwrap();
        assert!(std::fs::read(&file).unwrap().starts_with(b"\x89PNG"));
        browser.close().await.unwrap();
    }

    #[tokio::test]
    async fn redis_starts_answers_and_restarts() {
        let Some(mut redis) = RedisServer::start().await else {
            return;
        };
        assert!(redis.ping().await);
        assert!(redis.url().starts_with("redis://127.0.0.1:"));
        redis.stop().await;
        assert!(!redis.ping().await);
        redis.restart().await;
        assert!(redis.ping().await);
    }
}
