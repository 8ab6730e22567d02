//! The example pages in headless Chromium over WebDriver: two chat users talking through the
//! page's own controls, a server restart the page recovers from by itself, and the stock chart.
//!
//! Skipped (with a printed reason) when chromium or chromedriver is missing; failed instead when
//! `SSE_TEST_REQUIRE_ALL=1`. Screenshots go to `/tmp/sse-chat-*.png` and `/tmp/sse-stock.png`.

use std::time::Duration;

use sse_tests::{BrowserSession, ChromeDriver, TestServer};

/// Generous: Chromium's first start and EventSource's reconnection delay (about 3 s) on a
/// loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(45);

async fn join(page: &BrowserSession, url: &str, name: &str) {
    page.goto(url).await.unwrap();
    let input = page.find("#username").await.unwrap();
    page.send_keys(&input, name).await.unwrap();
    page.click(&page.find("#join").await.unwrap())
        .await
        .unwrap();
    page.wait_for_text("#status", "connected", WAIT)
        .await
        .unwrap();
    page.wait_for_text("#me", name, WAIT).await.unwrap();
}

async fn send(page: &BrowserSession, text: &str) {
    let input = page.find("#message").await.unwrap();
    page.send_keys(&input, text).await.unwrap();
    page.click(&page.find("#send").await.unwrap())
        .await
        .unwrap();
    // The page clears the input once the server accepted the message.
    page.wait_for_script(
        "the message input to clear after sending",
        "return document.getElementById('message').value === ''",
        WAIT,
    )
    .await
    .unwrap();
}

/// The messages on the page as (class, text) pairs, in order.
async fn messages(page: &BrowserSession) -> Vec<(String, String)> {
    let value = page
        .execute(
            "return Array.from(document.querySelectorAll('#messages li.message'))
                 .map(li => [li.className, li.querySelector('.from').textContent,
                             li.querySelector('.text').textContent])",
            vec![],
        )
        .await
        .unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let class = m[0].as_str().unwrap().to_owned();
            let text = format!("{}: {}", m[1].as_str().unwrap(), m[2].as_str().unwrap());
            (class, text)
        })
        .collect()
}

async fn wait_for_message(page: &BrowserSession, text: &str) {
    let script = format!(
        "return Array.from(document.querySelectorAll('#messages li.message .text'))
             .some(t => t.textContent === {})",
        serde_json::to_string(text).unwrap()
    );
    page.wait_for_script(&format!("message {text:?}"), &script, WAIT)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chat_pages_talk_and_recover_from_a_server_restart() {
    let Some(driver) = ChromeDriver::start().await.unwrap() else {
        return;
    };
    let config = chat_example::Config::default();
    let hub = chat_example::build_hub(&config);
    let server = TestServer::spawn(chat_example::app_with_hub(config.clone(), hub.clone())).await;
    let port = server.addr().port();
    let url = server.url("/");

    let alice = driver.new_session().await.unwrap();
    let hertz = driver.new_session().await.unwrap();
    join(&alice, &url, "alice").await;
    join(&hertz, &url, "hertz").await;

    // A broadcast through alice's page reaches both pages.
    send(&alice, "hello everyone").await;
    wait_for_message(&alice, "hello everyone").await;
    wait_for_message(&hertz, "hello everyone").await;

    // A direct message: pick hertz in alice's user list, then send.
    alice.wait_for_text("#users", "hertz", WAIT).await.unwrap();
    alice
        .click(&alice.find("#users li[data-user='hertz']").await.unwrap())
        .await
        .unwrap();
    let to = alice
        .execute("return document.getElementById('to').value", vec![])
        .await
        .unwrap();
    assert_eq!(to, "hertz");
    send(&alice, "psst, hertz").await;
    wait_for_message(&hertz, "psst, hertz").await;

    let on_hertz = messages(&hertz).await;
    assert_eq!(
        on_hertz,
        [
            (
                "message broadcast".to_owned(),
                "alice: hello everyone".to_owned()
            ),
            ("message direct".to_owned(), "alice: psst, hertz".to_owned()),
        ]
    );
    // alice sees the broadcast from the server and her own direct message as a local copy.
    let on_alice = messages(&alice).await;
    assert_eq!(
        on_alice,
        [
            (
                "message broadcast".to_owned(),
                "alice: hello everyone".to_owned()
            ),
            (
                "message direct outgoing".to_owned(),
                "alice: psst, hertz".to_owned()
            ),
        ]
    );
    alice.screenshot("/tmp/sse-chat-alice.png").await.unwrap();
    hertz.screenshot("/tmp/sse-chat-hertz.png").await.unwrap();

    // Restart the server on the same port (the hub, like a Redis backplane, outlives it).
    server.stop().await;
    for page in [&alice, &hertz] {
        page.wait_for_text("#status", "reconnecting", WAIT)
            .await
            .unwrap();
    }
    hertz
        .screenshot("/tmp/sse-chat-reconnecting.png")
        .await
        .unwrap();
    let server = TestServer::spawn_on(port, chat_example::app_with_hub(config, hub.clone()))
        .await
        .unwrap();
    for page in [&alice, &hertz] {
        page.wait_for_script(
            "the page to reconnect",
            "return document.getElementById('status').dataset.state === 'connected'",
            WAIT,
        )
        .await
        .unwrap();
    }
    // hertz's page sends through the new server; alice's page receives it.
    send(&hertz, "back again").await;
    wait_for_message(&alice, "back again").await;
    wait_for_message(&hertz, "back again").await;
    let texts: Vec<String> = messages(&alice).await.into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.ends_with("hello everyone"))
            .count(),
        1,
        "{texts:?}"
    );
    alice
        .screenshot("/tmp/sse-chat-alice-after-restart.png")
        .await
        .unwrap();

    alice.close().await.unwrap();
    hertz.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stock_chart_gets_points() {
    let Some(driver) = ChromeDriver::start().await.unwrap() else {
        return;
    };
    let mut config = stock_price_example::Config::default();
    config.interval = Duration::from_millis(250);
    let server = TestServer::spawn(stock_price_example::app(config)).await;
    let page = driver.new_session().await.unwrap();
    page.goto(&server.url("/")).await.unwrap();
    page.wait_for_script(
        "both charts to hold 8 points",
        "const p = window.stockPoints(); return p.AAPL >= 8 && p.AMZN >= 8",
        WAIT,
    )
    .await
    .unwrap();
    page.wait_for_text("#status", "connected", WAIT)
        .await
        .unwrap();
    for ticker in ["AAPL", "AMZN"] {
        let points = page
            .execute(
                "return document.querySelector(arguments[0]).getAttribute('points')
                     .trim().split(' ').length",
                vec![format!("#chart-{ticker} polyline").into()],
            )
            .await
            .unwrap();
        assert!(points.as_u64().unwrap() >= 8, "{ticker}: {points}");
        let price = page
            .text(&page.find(&format!("#price-{ticker}")).await.unwrap())
            .await
            .unwrap();
        let decimals = price.split_once('.').map(|(_, d)| d.len());
        assert_eq!(decimals, Some(6), "{ticker}: {price:?}");
    }
    page.screenshot("/tmp/sse-stock.png").await.unwrap();
    page.close().await.unwrap();
}
