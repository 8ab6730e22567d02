//! The built `stock-price-example` binary as an operator meets it: its command line, and
//! SIGTERM and Ctrl-C with open streams.

use std::time::Duration;

use example_ops::testing::{
    Refusal, ServerProcess, assert_command_line_errors, assert_graceful_shutdown,
    assert_help_and_version, open_streams,
};

const BIN: &str = env!("CARGO_BIN_EXE_stock-price-example");

#[tokio::test]
async fn help_and_version() {
    assert_help_and_version(
        BIN,
        "stock-price-example",
        env!("CARGO_PKG_VERSION"),
        &[
            "--addr <ADDR>",
            "STOCK_ADDR",
            "[default: 127.0.0.1:8888]",
            "--interval-ms <MS>",
            "STOCK_INTERVAL_MS",
            "[default: 1000]",
            "--history <N>",
            "STOCK_HISTORY",
            "[default: 300]",
            "--redis <URL>",
            "STOCK_REDIS",
            "--no-ticker",
            "STOCK_NO_TICKER",
            "STOCK_LOG_FORMAT",
        ],
    )
    .await;
}

#[tokio::test]
async fn each_command_line_error_exits_non_zero_with_a_message() {
    let cases: &[Refusal<'_>] = &[
        (
            &["--intervl-ms", "5"],
            &[],
            "tip: a similar argument exists: '--interval-ms'",
        ),
        (
            &["--interval-ms", "0"],
            &[],
            "invalid value '0' for '--interval-ms <MS>'",
        ),
        (
            &["--history", "ten"],
            &[],
            "invalid value 'ten' for '--history <N>'",
        ),
        (&["--redis"], &[], "a value is required for '--redis <URL>'"),
        // Without a shared hub, a server without the ticker would serve nothing.
        (&["--no-ticker"], &[], "--no-ticker needs --redis URL"),
        (
            &["--no-ticker=yes"],
            &[],
            "unexpected value 'yes' for '--no-ticker'",
        ),
        (
            &[],
            &[("STOCK_ADDR", "8888")],
            "invalid value '8888' for '--addr <ADDR>'",
        ),
        (
            &[],
            &[("STOCK_NO_TICKER", "1")],
            "--no-ticker needs --redis URL",
        ),
        (
            &[],
            &[("STOCK_NO_TICKER", "maybe")],
            "invalid value 'maybe' for '--no-ticker'",
        ),
        (
            &[],
            &[("STOCK_INTERVAL_MS", "fast")],
            "invalid value 'fast' for '--interval-ms <MS>'",
        ),
    ];
    assert_command_line_errors(BIN, cases).await;
}

/// A server ticking every 20 ms on a free port, with `streams` open streams that have each
/// seen a tick.
async fn ticking(streams: usize) -> (ServerProcess, Vec<example_ops::testing::OpenStream>) {
    let server =
        ServerProcess::start(BIN, &["--addr", "127.0.0.1:0", "--interval-ms", "20"], &[]).await;
    let paths = vec!["/price".to_owned(); streams];
    let mut open = open_streams(server.addr(), &paths).await;
    for stream in &mut open {
        stream.read_until(|t| t.contains("event: AMZN\n")).await;
    }
    (server, open)
}

#[tokio::test]
async fn sigterm_ends_open_streams_cleanly_and_exits() {
    let (mut server, streams) = ticking(20).await;
    let (took, bodies) =
        assert_graceful_shutdown(&mut server, ServerProcess::terminate, streams).await;
    assert!(took < Duration::from_secs(1), "exit took {took:?}");
    for body in &bodies {
        assert!(body.contains("event: AAPL\nid: "), "{body:?}");
    }
    let logs = server.logs();
    assert!(
        logs.contains("SIGTERM") && logs.contains("ticker stopped"),
        "{logs}"
    );
}

#[tokio::test]
async fn ctrl_c_shuts_down_the_same_way() {
    let (mut server, streams) = ticking(1).await;
    let (_, bodies) =
        assert_graceful_shutdown(&mut server, ServerProcess::interrupt, streams).await;
    assert_eq!(bodies.len(), 1);
    assert!(server.logs().contains("SIGINT"), "{}", server.logs());
}

#[tokio::test]
async fn environment_variables_configure_the_server() {
    let server = ServerProcess::start(
        BIN,
        &[],
        &[
            ("STOCK_ADDR", "127.0.0.1:0"),
            ("STOCK_INTERVAL_MS", "20"),
            ("STOCK_LOG_FORMAT", "json"),
        ],
    )
    .await;
    let mut stream = open_streams(server.addr(), &["/price".to_owned()]).await;
    let body = stream[0]
        .read_until(|t| t.matches("event: AAPL\nid: ").count() >= 3)
        .await;
    // Tick ids are the ticks' Unix milliseconds: 20 ms apart, not the default second.
    let ids: Vec<u64> = body
        .split("event: AAPL\nid: ")
        .skip(1)
        .filter_map(|rest| rest.split('\n').next()?.parse().ok())
        .collect();
    assert!(ids.len() >= 3, "{body}");
    for pair in ids.windows(2) {
        assert!(pair[1] > pair[0] && pair[1] - pair[0] < 500, "{ids:?}");
    }
    let logs = server.logs();
    assert!(
        logs.starts_with('{') && logs.contains(r#""message":"stock prices on http://127.0.0.1:"#),
        "{logs}"
    );
}
