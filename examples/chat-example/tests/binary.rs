//! The built `chat-example` binary as an operator and an attacker meet it: its command line,
//! SIGTERM and Ctrl-C with open streams, the `Host` check, the user-name rule, JSON logs.

use std::time::Duration;

use example_ops::testing::{
    OpenStream, Refusal, ServerProcess, assert_command_line_errors, assert_graceful_shutdown,
    assert_help_and_version, body_of, encode, exchange, get, open_streams, post, status_of,
};

const BIN: &str = env!("CARGO_BIN_EXE_chat-example");

/// A chat server on a free port of 127.0.0.1, with these extra arguments.
async fn chat(args: &[&str]) -> ServerProcess {
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all, &[]).await
}

#[tokio::test]
async fn help_and_version() {
    assert_help_and_version(
        BIN,
        "chat-example",
        env!("CARGO_PKG_VERSION"),
        &[
            "--addr <ADDR>",
            "CHAT_ADDR",
            "[default: 127.0.0.1:8888]",
            "--history <N>",
            "CHAT_HISTORY",
            "[default: 1000]",
            "--max-message <BYTES>",
            "CHAT_MAX_MESSAGE",
            "[default: 4096]",
            "--redis <URL>",
            "CHAT_REDIS",
            "--public-host",
            "CHAT_PUBLIC_HOST",
            "CHAT_LOG_FORMAT",
            "[default: pretty]",
            "json",
            "not identities",
        ],
    )
    .await;
}

#[tokio::test]
async fn each_command_line_error_exits_non_zero_with_a_message() {
    let cases: &[Refusal<'_>] = &[
        (
            &["--histroy", "5"],
            &[],
            "tip: a similar argument exists: '--history'",
        ),
        (
            &["--public-hosts", "x"],
            &[],
            "a similar argument exists: '--public-host'",
        ),
        (
            &["--history", "many"],
            &[],
            "invalid value 'many' for '--history <N>'",
        ),
        (
            &["--max-message", "-1"],
            &[],
            "unexpected argument '-1' found",
        ),
        (
            &["--addr", "localhost"],
            &[],
            "invalid value 'localhost' for '--addr <ADDR>'",
        ),
        (
            &["--public-host", "http://chat.example"],
            &[],
            "is not a host name or IP",
        ),
        (&["--addr"], &[], "a value is required for '--addr <ADDR>'"),
        (
            &["--history"],
            &[],
            "a value is required for '--history <N>'",
        ),
        (&["extra"], &[], "unexpected argument 'extra' found"),
        // Environment variables are checked like flags.
        (
            &[],
            &[("CHAT_ADDR", "nope")],
            "invalid value 'nope' for '--addr <ADDR>'",
        ),
        (
            &[],
            &[("CHAT_HISTORY", "x")],
            "invalid value 'x' for '--history <N>'",
        ),
        (
            &[],
            &[("CHAT_LOG_FORMAT", "yaml")],
            "invalid value 'yaml' for '--log-format <FORMAT>'",
        ),
    ];
    assert_command_line_errors(BIN, cases).await;
}

#[tokio::test]
async fn environment_variables_configure_the_server() {
    let server = ServerProcess::start(
        BIN,
        &[],
        &[
            ("CHAT_ADDR", "127.0.0.1:0"),
            ("CHAT_PUBLIC_HOST", "chat.example,other.example:9"),
            ("CHAT_LOG_FORMAT", "json"),
        ],
    )
    .await;
    let answer = exchange(server.addr(), &get("/chat/users", "chat.example")).await;
    assert_eq!(status_of(&answer), Some(200), "{answer}");
    let answer = exchange(server.addr(), &get("/chat/users", "other.example:9")).await;
    assert_eq!(status_of(&answer), Some(200), "{answer}");
    let first = server.logs();
    assert!(
        first.starts_with('{') && first.contains(r#""message":"chat on http://127.0.0.1:"#),
        "{first}"
    );
}

#[tokio::test]
async fn sigterm_with_100_open_streams_ends_each_cleanly_and_exits_within_a_second() {
    let mut server = chat(&[]).await;
    let addr = server.addr();
    let paths: Vec<String> = (0..100)
        .map(|n| format!("/chat/sse?username=user{n}"))
        .collect();
    let mut streams = open_streams(addr, &paths).await;
    // Every stream is live: one broadcast reaches all of them before the signal.
    let sent = exchange(
        addr,
        &post("/chat/broadcast?from=alice&message=bye", &addr.to_string()),
    )
    .await;
    assert_eq!(status_of(&sent), Some(204), "{sent}");
    for stream in &mut streams {
        stream
            .read_until(|t| t.contains(r#""Message":"bye""#))
            .await;
    }

    let (took, bodies) =
        assert_graceful_shutdown(&mut server, ServerProcess::terminate, streams).await;
    println!(
        "exited {took:?} after SIGTERM with {} open streams",
        bodies.len()
    );
    assert!(
        took < Duration::from_secs(1),
        "exit took {took:?}; logs:\n{}",
        server.logs()
    );
    for body in &bodies {
        assert!(body.contains("event: broadcast\nid: "), "{body:?}");
        assert!(body.contains(r#""Message":"bye""#), "{body:?}");
    }
    assert!(server.logs().contains("SIGTERM"), "{}", server.logs());
}

#[tokio::test]
async fn ctrl_c_shuts_down_the_same_way() {
    let mut server = chat(&[]).await;
    let addr = server.addr();
    let streams = open_streams(addr, &["/chat/sse?username=hertz".to_owned()]).await;
    let (_, bodies) =
        assert_graceful_shutdown(&mut server, ServerProcess::interrupt, streams).await;
    assert_eq!(bodies.len(), 1);
    assert!(server.logs().contains("SIGINT"), "{}", server.logs());
}

#[tokio::test]
async fn a_host_that_is_not_ours_gets_421_and_ours_get_200() {
    let server = chat(&["--public-host", "chat.example.com"]).await;
    let addr = server.addr();
    let port = addr.port();
    // curl's Host for http://127.0.0.1:PORT/, and the other names of a loopback bind.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "chat.example.com".to_owned(),
        "CHAT.EXAMPLE.COM:443".to_owned(),
    ] {
        for path in ["/chat/users", "/"] {
            let answer = exchange(addr, &get(path, &host)).await;
            assert_eq!(status_of(&answer), Some(200), "{host} {path}: {answer}");
        }
    }
    // A DNS-rebinding page: its own name, pointing at 127.0.0.1.
    for host in [
        format!("attacker.example:{port}"),
        "attacker.example".to_owned(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        format!("chat.example.com.attacker.example:{port}"),
    ] {
        for request in [
            get("/chat/users", &host),
            get("/chat/sse?username=hertz", &host),
            post("/chat/broadcast?from=a&message=b", &host),
        ] {
            let answer = exchange(addr, &request).await;
            assert_eq!(status_of(&answer), Some(421), "{host}: {answer}");
            assert!(answer.contains("content-type: text/plain"), "{answer}");
            assert!(body_of(&answer).contains("--public-host"), "{answer}");
        }
    }
    // An absolute-form target names the host, whatever `Host` says.
    let answer = exchange(
        addr,
        &format!(
            "GET http://attacker.example:{port}/chat/users HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status_of(&answer), Some(421), "{answer}");
    // HTTP/1.0 without a Host header at all.
    let answer = exchange(addr, "GET /chat/users HTTP/1.0\r\n\r\n").await;
    assert_eq!(status_of(&answer), Some(400), "{answer}");
}

#[tokio::test]
async fn each_refused_name_shape_gets_400_wherever_a_name_enters() {
    let server = chat(&[]).await;
    let addr = server.addr();
    let host = addr.to_string();
    // The recipient of the direct messages below exists, so only the name decides.
    let _hertz = OpenStream::open(addr, "/chat/sse?username=hertz", &host).await;
    let shapes = [
        ("zero-width space", "hertz\u{200B}"),
        ("zero-width joiner", "her\u{200D}tz"),
        ("bidi override", "\u{202E}ztreh"),
        ("bidi isolate", "hertz\u{2066}"),
        ("byte order mark", "\u{FEFF}hertz"),
        ("lone combining mark", "\u{301}"),
        ("leading combining mark", "\u{301}hertz"),
        ("full-width", "ｈｅｒｔｚ"),
        ("ligature", "ﬁsh"),
        ("no-break space inside", "her\u{A0}tz"),
        ("control character", "hertz\u{7}"),
        ("newline", "a\nb"),
        ("C1 control", "a\u{85}"),
        ("Hangul filler", "\u{3164}"),
        ("only spaces", "   "),
    ];
    for (shape, name) in shapes {
        let name = encode(name);
        for (param, request) in [
            (
                "username",
                get(&format!("/chat/sse?username={name}"), &host),
            ),
            (
                "from",
                post(&format!("/chat/broadcast?from={name}&message=m"), &host),
            ),
            (
                "from",
                post(
                    &format!("/chat/direct?from={name}&to=hertz&message=m"),
                    &host,
                ),
            ),
            (
                "to",
                post(
                    &format!("/chat/direct?from=alice&to={name}&message=m"),
                    &host,
                ),
            ),
        ] {
            let answer = exchange(addr, &request).await;
            assert_eq!(
                status_of(&answer),
                Some(400),
                "{shape} as {param}: {answer}"
            );
            assert!(answer.contains("content-type: text/plain"), "{answer}");
            assert!(
                body_of(&answer).starts_with(&format!("parameter {param} ")),
                "{shape} as {param}: {answer}"
            );
        }
    }
    let users = exchange(addr, &get("/chat/users", &host)).await;
    assert!(
        body_of(&users).ends_with(r#"{"users":["hertz"]}"#),
        "{users}"
    );
}

#[tokio::test]
async fn leading_and_trailing_spaces_are_trimmed_and_nfc_applies() {
    let server = chat(&[]).await;
    let addr = server.addr();
    let host = addr.to_string();
    let padded = encode("  hertz \u{3000}");
    let mut hertz = OpenStream::open(addr, &format!("/chat/sse?username={padded}"), &host).await;
    assert!(hertz.head.starts_with("HTTP/1.1 200 "), "{}", hertz.head);
    let users = exchange(addr, &get("/chat/users", &host)).await;
    assert!(
        body_of(&users).ends_with(r#"{"users":["hertz"]}"#),
        "{users}"
    );
    // `e` + U+0301 is the same sender as `é`; ` hertz` the same recipient as `hertz`.
    let from = encode("Jose\u{301} ");
    let to = encode(" hertz");
    let sent = exchange(
        addr,
        &post(
            &format!("/chat/direct?from={from}&to={to}&message=hi"),
            &host,
        ),
    )
    .await;
    assert_eq!(status_of(&sent), Some(204), "{sent}");
    let event = hertz.read_until(|t| t.contains(r#""Message":"hi""#)).await;
    assert!(
        event.contains(r#""From":"José","To":"hertz","Message":"hi""#),
        "{event}"
    );
}
