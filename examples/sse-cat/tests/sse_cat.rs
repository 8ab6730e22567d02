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
use sse_tests::conformance::load_cases;

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
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown option --bogus"));
}
