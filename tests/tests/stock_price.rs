//! The stock price example over real TCP: tickers, millisecond ids shared by a tick, prices with
//! six decimals, the same prices for every client, resuming with `Last-Event-ID`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use sse_tests::{RawSse, SseConnection, TestServer};
use stock_price_example::Config;

/// A fast ticker (ids stay Unix milliseconds: well under one tick per millisecond).
fn fast_config() -> Config {
    let mut config = Config::default();
    config.interval = Duration::from_millis(100);
    config
}

async fn stock_server(config: Config) -> TestServer {
    TestServer::spawn(stock_price_example::app(config)).await
}

fn unix_millis() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// `digits.dddddd`
fn assert_six_decimals(price: &str) {
    let (whole, fraction) = price.split_once('.').unwrap_or_else(|| panic!("{price:?}"));
    assert!(
        !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()),
        "{price:?}"
    );
    assert!(
        fraction.len() == 6 && fraction.bytes().all(|b| b.is_ascii_digit()),
        "{price:?}"
    );
    assert!(price.parse::<f64>().unwrap() >= 1.0);
}

/// One tick as a client sees it: (id, AAPL price, AMZN price).
async fn next_tick(conn: &mut SseConnection) -> (String, String, String) {
    let aapl = conn.next_event().await.unwrap();
    assert_eq!(aapl.event_type(), "AAPL");
    let amzn = conn.next_event().await.unwrap();
    assert_eq!(amzn.event_type(), "AMZN");
    (
        amzn.last_event_id().to_owned(),
        aapl.data().to_owned(),
        amzn.data().to_owned(),
    )
}

#[tokio::test]
async fn ticks_carry_both_tickers_with_millisecond_ids_and_six_decimals() {
    let server = stock_server(Config::default()).await;
    let mut conn = SseConnection::open(&server.url("/price"), None)
        .await
        .unwrap();
    assert_eq!(conn.status, StatusCode::OK);
    assert_eq!(conn.headers["content-type"], "text/event-stream");
    let mut previous = 0;
    for _ in 0..2 {
        let before = unix_millis();
        let (id, aapl, amzn) = next_tick(&mut conn).await;
        let after = unix_millis();
        let id: u64 = id
            .parse()
            .unwrap_or_else(|_| panic!("id {id:?} is not an integer"));
        // The id is the tick's Unix time in ms (the first tick may predate the connection).
        assert!(id > previous);
        assert!(
            id <= after && id + 2_000 >= before,
            "id {id} not within [{before}, {after}]"
        );
        assert_six_decimals(&aapl);
        assert_six_decimals(&amzn);
        previous = id;
    }
}

#[tokio::test]
async fn each_tick_is_written_as_one_frame_with_the_tick_id() {
    let server = stock_server(fast_config()).await;
    let mut raw = RawSse::open(&server.url("/price"), None).await.unwrap();
    assert_eq!(raw.status, StatusCode::OK);
    let text = raw
        .read_until(|t| t.matches("\n\n").count() >= 6)
        .await
        .to_owned();
    let events: Vec<&str> = text.split_terminator("\n\n").take(6).collect();
    for tick in events.chunks(2) {
        let aapl: Vec<&str> = tick[0].lines().collect();
        let amzn: Vec<&str> = tick[1].lines().collect();
        // The hub writes the tick's id on the tick's last event; if the first ever carries one,
        // it must be the same.
        assert_eq!(aapl[0], "event: AAPL", "{text:?}");
        let aapl_data = aapl.last().unwrap().strip_prefix("data: ").unwrap();
        assert_eq!(amzn.len(), 3, "{text:?}");
        assert_eq!(amzn[0], "event: AMZN");
        let id = amzn[1].strip_prefix("id: ").unwrap();
        assert!(id.parse::<u64>().is_ok(), "{id:?}");
        if aapl.len() == 3 {
            assert_eq!(aapl[1], amzn[1]);
        } else {
            assert_eq!(aapl.len(), 2, "{text:?}");
        }
        assert_six_decimals(aapl_data);
        assert_six_decimals(amzn[2].strip_prefix("data: ").unwrap());
    }
}

#[tokio::test]
async fn every_client_sees_the_same_prices() {
    let server = stock_server(fast_config()).await;
    let mut first = SseConnection::open(&server.url("/price"), None)
        .await
        .unwrap();
    let mut second = SseConnection::open(&server.url("/price"), None)
        .await
        .unwrap();
    let mut seen_by_first = Vec::new();
    for _ in 0..4 {
        seen_by_first.push(next_tick(&mut first).await);
    }
    // The second client joined at about the same time: one of its first ticks is one the
    // first client saw, with the same prices.
    let tick = next_tick(&mut second).await;
    let tick = if seen_by_first.contains(&tick) {
        tick
    } else {
        next_tick(&mut second).await
    };
    assert!(
        seen_by_first.contains(&tick),
        "{tick:?} not in {seen_by_first:?}"
    );
}

#[tokio::test]
async fn last_event_id_resumes_the_missed_ticks() {
    let server = stock_server(fast_config()).await;
    let mut live = SseConnection::open(&server.url("/price"), None)
        .await
        .unwrap();
    let mut ticks = Vec::new();
    for _ in 0..4 {
        ticks.push(next_tick(&mut live).await);
    }
    let mut resumed = SseConnection::open(&server.url("/price"), Some(&ticks[0].0))
        .await
        .unwrap();
    assert_eq!(resumed.status, StatusCode::OK);
    for expected in &ticks[1..] {
        assert_eq!(&next_tick(&mut resumed).await, expected);
    }
}

#[tokio::test]
async fn a_bad_last_event_id_gets_400() {
    let server = stock_server(Config::default()).await;
    for bad in ["bogus", "12a", "-5", "1.5"] {
        let conn = SseConnection::open(&server.url("/price"), Some(bad))
            .await
            .unwrap();
        assert_eq!(conn.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            conn.error_body.contains("Last-Event-ID"),
            "{}",
            conn.error_body
        );
    }
}

#[tokio::test]
async fn the_page_and_its_assets_are_served() {
    let server = stock_server(Config::default()).await;
    for (path, content_type, needle) in [
        ("/", "text/html; charset=utf-8", "id=\"chart-AAPL\""),
        (
            "/stock.js",
            "text/javascript; charset=utf-8",
            "new EventSource(\"/price\")",
        ),
        ("/stock.css", "text/css; charset=utf-8", ".chart"),
    ] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], content_type);
        let body = response.text().await.unwrap();
        assert!(body.contains(needle), "{path}");
        for external in ["src=\"http", "href=\"http", "url(http", "import "] {
            assert!(
                !body.contains(external),
                "{path} loads something from elsewhere"
            );
        }
    }
}

#[tokio::test]
async fn the_ticker_stops_on_shutdown() {
    let config = fast_config();
    let shutdown = config.shutdown.clone();
    let hub = stock_price_example::build_hub(&config);
    let ticker = stock_price_example::spawn_ticker(hub.clone(), &config);
    let server = TestServer::spawn(stock_price_example::app_with_hub(config, hub.clone())).await;
    let mut conn = SseConnection::open(&server.url("/price"), None)
        .await
        .unwrap();
    next_tick(&mut conn).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), ticker)
        .await
        .expect("the ticker did not stop")
        .unwrap();
    // The open stream ends too (the SseLayer's graceful shutdown).
    let mut ended = false;
    for _ in 0..4 {
        if conn.next_event().await.is_none() {
            ended = true;
            break;
        }
    }
    assert!(ended);
}
