//! Recovery as prompt as a browser's: the built `sse-cat` follows a busy chat stream (the chat
//! example's server on 127.0.0.1:0) through the tests crate's cutting proxy, which cuts eight
//! connections in a row at random byte offsets (mid-line, mid-UTF-8 character). Each cut
//! connection delivered events, so each reconnection waits the reconnection time, not a
//! doubled backoff: `sse-cat` must print every message once, in order, within a few `retry`
//! periods of the last cut.
//!
//! The seed can be changed with `SSE_FAULT_SEED=<n>` to explore other cut patterns.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use sse_tests::TestServer;
use sse_tests::proxy::{FaultPlan, FaultProxy};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout_at};

const BIN: &str = env!("CARGO_BIN_EXE_sse-cat");

/// The cuts in a row.
const CUTS: u64 = 8;
/// `sse-cat --retry`: the reconnection time.
const RETRY: Duration = Duration::from_millis(500);
/// "A few retry periods": the last message must arrive this soon after the last cut (an
/// exponential backoff over eight failures would wait tens of seconds).
const RECOVERY: Duration = Duration::from_millis(4 * 500);
/// The whole test ends within this.
const DEADLINE: Duration = Duration::from_secs(90);
/// Multi-byte characters of 2, 3 and 4 bytes, so that cuts land inside characters.
const PAYLOAD: &str = "é€😀 ünïcödé ✓";

fn seed() -> u64 {
    std::env::var("SSE_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0008)
}

/// `application/x-www-form-urlencoded`, every byte but ASCII letters and digits escaped.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

async fn publish(http: &reqwest::Client, server: &TestServer, n: u64) {
    let body = format!(
        "from=alice&message={}",
        form_encode(&format!("{n} {PAYLOAD}"))
    );
    let response = http
        .post(server.url("/chat/broadcast"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

async fn wait_until_connected(http: &reqwest::Client, server: &TestServer, user: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let users = http
            .get(server.url("/chat/users"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let users: Value = serde_json::from_slice(&users).unwrap_or_default();
        if users["users"]
            .as_array()
            .is_some_and(|users| users.iter().any(|u| u == user))
        {
            return;
        }
        assert!(Instant::now() < deadline, "{user} never connected");
        sleep(Duration::from_millis(20)).await;
    }
}

/// The message number of one line of `sse-cat` output (`None` for a line that is not a
/// broadcast event), checking the whole message came through intact.
fn message_number(line: &str) -> Option<u64> {
    let record: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    if record["type"] != "broadcast" {
        return None;
    }
    let data: Value = serde_json::from_str(record["data"].as_str()?).unwrap();
    let message = data["Message"].as_str().unwrap();
    let (n, rest) = message.split_once(' ').unwrap();
    assert_eq!(rest, PAYLOAD, "corrupt message: {line}");
    Some(n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_chat_message_arrives_once_in_order_within_a_few_retry_periods_of_the_last_cut() {
    let deadline = Instant::now() + DEADLINE;
    let mut config = chat_example::Config::default();
    config.history = 100_000;
    let server = TestServer::spawn(chat_example::app(config)).await;
    // Past the first event of a connection (the response head and one message are some 400
    // bytes): a connection cut before any event would resume without an id, and a chat
    // subscription without one starts from now.
    let plan = FaultPlan::new(seed()).cut_after(1_000..6_000);
    let proxy = FaultProxy::start(server.addr(), plan).await.unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .args(["-v", "--retry", &RETRY.as_millis().to_string()])
        .arg(proxy.url("/chat/sse?username=watcher"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            if lines_tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });

    let http = reqwest::Client::new();
    wait_until_connected(&http, &server, "watcher").await;
    // Busy: a message every 10 ms, until the proxy has cut CUTS connections; connections
    // accepted after the CUTS-th are left alone.
    let mut published = 0;
    let last_cut = loop {
        publish(&http, &server, published).await;
        published += 1;
        let stats = proxy.stats();
        if stats.connections >= CUTS {
            proxy.set_faults(false);
        }
        if stats.cuts >= CUTS {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "only {stats:?} before the deadline"
        );
        sleep(Duration::from_millis(10)).await;
    };

    let mut received = Vec::new();
    let mut last_arrival = last_cut;
    while received.last() != Some(&(published - 1)) {
        match timeout_at(deadline, lines.recv()).await {
            Ok(Some((at, line))) => {
                if let Some(n) = message_number(&line) {
                    received.push(n);
                    last_arrival = at;
                }
            }
            Ok(None) => panic!("sse-cat exited: {}", stderr.await.unwrap()),
            Err(_) => panic!(
                "deadline: {} of {published} messages, {:?}",
                received.len(),
                proxy.stats()
            ),
        }
    }
    // A moment more for a late duplicate.
    while let Ok(Some((_, line))) = tokio::time::timeout(RETRY, lines.recv()).await {
        received.extend(message_number(&line));
    }
    let stats = proxy.stats();
    drop(child);
    let log = stderr.await.unwrap();
    let expected: Vec<u64> = (0..published).collect();
    assert!(
        received == expected,
        "{} received of {published}; first difference at {:?}\n{log}",
        received.len(),
        received.iter().zip(&expected).position(|(a, b)| a != b)
    );
    assert_eq!(stats.cuts, CUTS, "{stats:?}");
    assert!(stats.cuts_mid_line > 0, "{stats:?}");
    let recovery = last_arrival.saturating_duration_since(last_cut);
    println!(
        "{published} messages, {} cuts (mid-line {}, mid-utf8 {}), {} connections, last \
         message {recovery:?} after the last cut",
        stats.cuts, stats.cuts_mid_line, stats.cuts_mid_utf8, stats.connections
    );
    assert!(
        recovery <= RECOVERY,
        "the last message came {recovery:?} after the last cut (retry {RETRY:?}); sse-cat -v:\n{log}"
    );
    assert_eq!(
        log.matches("* attempt ").count() as u64,
        CUTS + 1,
        "one attempt per cut, and the first: {log}"
    );
}
