//! The built `sse-cat` binary: `sse-cat -` on every conformance case, and `sse-cat URL`
//! against a real axum server on 127.0.0.1:0.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::any;
use serde_json::Value;
use sse_tests::TempDir;
use sse_tests::conformance::load_cases;
use sse_tests::tls::TlsServer;

const BIN: &str = env!("CARGO_BIN_EXE_sse-cat");

#[test]
fn stdin_mode_prints_exactly_the_expected_records_for_every_conformance_case() {
    let cases = load_cases();
    assert!(cases.len() >= 150);
    let mut failures = Vec::new();
    for case in &cases {
        let name = &case.name;
        let input = case.bytes();
        let mut child = Command::new(BIN)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let got: Vec<Value> = stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let expected = &case.expect;
        if got != *expected {
            let index = got
                .iter()
                .zip(expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(expected.len()));
            let show = |v: Option<&Value>| {
                v.map_or("(none)".to_owned(), |v| {
                    v.to_string().chars().take(200).collect()
                })
            };
            failures.push(format!(
                "case `{name}`: {}\n  first difference at record {index}: expected {}, got {}",
                case.why,
                show(expected.get(index)),
                show(got.get(index))
            ));
        }
        // Key order as documented.
        if let Some(line) = stdout.lines().find(|l| l.starts_with("{\"type\"")) {
            assert!(
                line.contains("\",\"data\":") && line.contains(",\"last_event_id\":"),
                "{name}: {line}"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/sse")
}

async fn run(args: &[&str]) -> std::process::Output {
    let child = tokio::process::Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("sse-cat did not exit")
        .unwrap()
}

#[tokio::test]
async fn url_mode_sends_method_body_headers_and_id_and_prints_events_and_retry() {
    let url = serve(Router::new().route(
        "/sse",
        any(|request: Request| async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1024).await.unwrap();
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .map_or("-", |v| v.to_str().unwrap())
                    .to_owned()
            };
            let stream = format!(
                "retry: 1500\nevent: seen\ndata: {} {}\ndata: {} {}\n\n",
                parts.method,
                String::from_utf8_lossy(&body),
                header("x-token"),
                header("last-event-id"),
            );
            ([(header::CONTENT_TYPE, "text/event-stream")], stream)
        }),
    ))
    .await;
    let output = run(&[
        "-X",
        "PUT",
        "-d",
        "hello",
        "-H",
        "X-Token: abc",
        "--last-event-id",
        "41",
        "--no-reconnect",
        &url,
    ])
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "{\"retry\":1500}\n{\"type\":\"seen\",\"data\":\"PUT hello\\nabc 41\",\"last_event_id\":\"41\"}\n"
    );
}

#[tokio::test]
async fn url_mode_reports_a_bad_status_on_stderr_with_a_failure_exit() {
    let url = serve(Router::new().route(
        "/sse",
        any(|| async { StatusCode::NOT_FOUND.into_response() }),
    ))
    .await;
    let output = run(&[&url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "sse-cat: unexpected response status 404 Not Found\n"
    );
}

#[test]
fn bad_arguments_exit_with_usage() {
    let output = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unexpected argument '--bogus'"), "{stderr}");
    assert!(stderr.contains("Usage: sse-cat"), "{stderr}");
}

#[test]
fn a_typo_gets_a_suggestion_and_help_documents_defaults_and_exit_codes() {
    let output = Command::new(BIN).args(["--verison", "u"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("a similar argument exists: '--version'"),
        "{stderr}"
    );

    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--reconnect <WHEN>",
        "[default: always for GET, on-failure for other methods]",
        "--until <DATA>",
        "--cacert <FILE>",
        "[default: 3000]",
        "-v, --verbose",
        "Exit status:",
        "3  it gave up reconnecting",
    ] {
        assert!(help.contains(expected), "{expected:?} not in:\n{help}");
    }
    let output = Command::new(BIN).arg("--version").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("sse-cat {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn until_ends_cleanly_and_verbose_shows_the_attempt_status_and_headers() {
    let url = serve(Router::new().route(
        "/sse",
        any(|| async {
            (
                [(header::CONTENT_TYPE, "text/event-stream")],
                "data: Hel\n\ndata: lo\n\ndata: [DONE]\n\ndata: after\n\n",
            )
        }),
    ))
    .await;
    let output = run(&["-v", "-d", "{}", "--until", "[DONE]", &url]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "{\"type\":\"message\",\"data\":\"Hel\",\"last_event_id\":\"\"}\n\
         {\"type\":\"message\",\"data\":\"lo\",\"last_event_id\":\"\"}\n"
    );
    for expected in [
        "* attempt 1\n",
        &format!("> POST {url}\n"),
        "< HTTP/1.1 200 OK\n",
        "< content-type: text/event-stream\n",
        "* disconnected: the end marker arrived; not reconnecting\n",
        "* the stream ended cleanly\n",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in:\n{stderr}");
    }
}

#[tokio::test]
async fn giving_up_has_its_own_exit_code_and_a_refused_body_is_shown() {
    // A port nobody listens on: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/sse");
    let output = run(&["--retry", "10", "--max-retries", "2", &url]).await;
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("sse-cat: gave up after 2 reconnection attempts: could not connect"),
        "{stderr}"
    );

    let url = serve(Router::new().route(
        "/sse",
        any(|| async { (StatusCode::UNAUTHORIZED, r#"{"error":"bad token"}"#) }),
    ))
    .await;
    let output = run(&[&url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "sse-cat: unexpected response status 401 Unauthorized: {\"error\":\"bad token\"}\n"
    );
}

#[tokio::test]
async fn cacert_trusts_the_test_authority_and_without_it_the_certificate_is_rejected() {
    let server = TlsServer::spawn(Router::new().route(
        "/sse",
        any(|| async {
            (
                [(header::CONTENT_TYPE, "text/event-stream")],
                "id: 1\ndata: secret\n\n",
            )
        }),
    ))
    .await;
    let dir = TempDir::new("sse-cat-cacert").unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).unwrap();
    let url = server.url("/sse");
    let output = run(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--reconnect",
        "never",
        "-v",
        &url,
    ])
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "{\"type\":\"message\",\"data\":\"secret\",\"last_event_id\":\"1\"}\n"
    );
    assert!(stderr.contains("< HTTP/2.0 200 OK"), "{stderr}");

    let output = run(&[&url]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "sse-cat: the TLS handshake failed: the server's certificate was rejected"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");

    let missing = dir.path().join("missing.pem");
    let output = run(&["--cacert", missing.to_str().unwrap(), &url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read --cacert"));
}
