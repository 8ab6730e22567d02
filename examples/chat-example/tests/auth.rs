//! The built `chat-example` binary with `--auth`, as Hertz, Alice and Mallory meet it over
//! TCP: sign-in, who reads what, who posts as whom, cross-site posts, expiry and renewal, key
//! rotation across servers; and without `--auth`, nothing changes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use example_ops::testing::{
    OpenStream, ServerProcess, assert_refused, body_of, dechunk, exchange, get, post, run,
    status_of,
};

const BIN: &str = env!("CARGO_BIN_EXE_chat-example");

/// Two keys of 32 bytes or more, for the rotation test.
const OLD_KEY: &str = "an old secret of at least 32 bytes that is rotated out";
const NEW_KEY: &str = "the new secret that is also at least 32 bytes long";

/// A chat server on a free port of 127.0.0.1, with these extra arguments.
async fn chat(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all, env).await
}

/// `METHOD path` with `Host`, `Connection: close`, no body and these extra headers.
fn request(method: &str, path: &str, host: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if method == "POST" {
        text.push_str("Content-Length: 0\r\n");
    }
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// The value of the first header `name` (lower case) of an answer.
fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer
        .split_once("\r\n\r\n")
        .map_or(answer, |(head, _)| head);
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Checks an answer's status, and that its plain-text body says `needle`.
fn assert_answer(answer: &str, status: u16, needle: &str) {
    assert_eq!(status_of(answer), Some(status), "{answer}");
    assert!(body_of(answer).contains(needle), "{needle:?} in {answer}");
}

/// Signs in as `name` (with a cookie, for a renewal): the answer and the ticket it set.
async fn login(addr: SocketAddr, name: &str, cookie: Option<&str>) -> (String, Option<String>) {
    let cookie = cookie.map(|ticket| format!("sse_ticket={ticket}"));
    let mut headers = Vec::new();
    if let Some(cookie) = &cookie {
        headers.push(("Cookie", cookie.as_str()));
    }
    let path = format!("/chat/login?username={name}");
    let answer = exchange(addr, &request("POST", &path, &addr.to_string(), &headers)).await;
    let ticket = header(&answer, "set-cookie").and_then(|cookie| {
        let value = cookie.strip_prefix("sse_ticket=")?;
        Some(value.split(';').next()?.to_owned())
    });
    (answer, ticket)
}

/// Signs in as `name` and returns the ticket (asserting 204 and the cookie's attributes).
async fn ticket_for(addr: SocketAddr, name: &str) -> String {
    let (answer, ticket) = login(addr, name, None).await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");
    let cookie = header(&answer, "set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/chat"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    ticket.expect("a ticket cookie")
}

/// POST `path` with the ticket in the cookie, and maybe an `Origin`; the answer.
async fn post_as(addr: SocketAddr, ticket: &str, path: &str, origin: Option<&str>) -> String {
    let cookie = format!("sse_ticket={ticket}");
    let mut headers = vec![("Cookie", cookie.as_str())];
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    exchange(addr, &request("POST", path, &addr.to_string(), &headers)).await
}

#[tokio::test]
async fn without_auth_login_is_404_and_the_open_flows_are_unchanged() {
    let server = chat(&[], &[]).await;
    let (addr, host) = (server.addr(), server.addr().to_string());
    for method in ["POST", "GET"] {
        let answer = exchange(
            addr,
            &request(method, "/chat/login?username=hertz", &host, &[]),
        )
        .await;
        assert_answer(&answer, 404, "sign-in is off");
    }
    let mut hertz = OpenStream::open(addr, "/chat/sse?username=hertz", &host).await;
    assert!(hertz.head.starts_with("HTTP/1.1 200 "), "{}", hertz.head);
    // Anyone posts as anyone, from anywhere: the seed's open mode.
    let answer = exchange(
        addr,
        &request(
            "POST",
            "/chat/direct?from=alice&to=hertz&message=open",
            &host,
            &[("Origin", "http://elsewhere.example")],
        ),
    )
    .await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");
    hertz
        .read_until(|t| t.contains(r#""From":"alice","To":"hertz","Message":"open""#))
        .await;
}

#[tokio::test]
async fn mallory_cannot_read_hertzs_directs_nor_post_as_hertz_nor_post_cross_site() {
    let server = chat(&["--auth"], &[]).await;
    let (addr, host) = (server.addr(), server.addr().to_string());

    // No ticket: 401 with a plain message, for streams and posts alike.
    for request_text in [
        get("/chat/sse?username=hertz", &host),
        post("/chat/broadcast?from=hertz&message=x", &host),
    ] {
        let answer = exchange(addr, &request_text).await;
        assert_eq!(status_of(&answer), Some(401), "{answer}");
        assert_eq!(header(&answer, "www-authenticate"), Some("Bearer"));
        assert!(body_of(&answer).contains("missing ticket"), "{answer}");
    }

    let hertz = ticket_for(addr, "hertz").await;
    let alice = ticket_for(addr, "alice").await;
    let mallory = ticket_for(addr, "mallory").await;
    // A name nobody may have is refused at sign-in, as everywhere else.
    let (answer, _) = login(addr, "bad%0Aname", None).await;
    assert_eq!(status_of(&answer), Some(400), "{answer}");

    // Streams take the user from the ticket (here in the query, as EventSource can).
    let mut on_hertz = OpenStream::open(addr, &format!("/chat/sse?ticket={hertz}"), &host).await;
    assert!(
        on_hertz.head.starts_with("HTTP/1.1 200 "),
        "{}",
        on_hertz.head
    );
    let mut on_mallory = OpenStream::open(
        addr,
        &format!("/chat/sse?username=mallory&ticket={mallory}"),
        &host,
    )
    .await;
    assert!(
        on_mallory.head.starts_with("HTTP/1.1 200 "),
        "{}",
        on_mallory.head
    );

    // Mallory asks for hertz's stream with her own ticket, or with hertz's name taken over.
    let answer = exchange(
        addr,
        &get(&format!("/chat/sse?username=hertz&ticket={mallory}"), &host),
    )
    .await;
    assert_answer(&answer, 403, "signed in as mallory");
    let (answer, _) = login(addr, "hertz", None).await;
    assert_eq!(
        status_of(&answer),
        Some(409),
        "hertz is connected: {answer}"
    );
    let (answer, _) = login(addr, "hertz", Some(&mallory)).await;
    assert_eq!(
        status_of(&answer),
        Some(409),
        "mallory's ticket is not hertz's: {answer}"
    );
    // Forged tickets: hertz's claims under mallory's tag, garbage, and an oversized one.
    let (hertz_claims, _) = hertz.split_once('.').unwrap();
    let (_, mallory_tag) = mallory.split_once('.').unwrap();
    let oversized = "A".repeat(5000);
    for (forged, why) in [
        (
            format!("{hertz_claims}.{mallory_tag}"),
            "signature does not match",
        ),
        ("garbage".to_owned(), "malformed"),
        (oversized, "the limit is 4096"),
    ] {
        let answer = exchange(
            addr,
            &get(&format!("/chat/sse?username=hertz&ticket={forged}"), &host),
        )
        .await;
        assert_answer(&answer, 401, why);
    }

    // Alice writes to hertz; only hertz's stream gets it.
    let answer = post_as(addr, &alice, "/chat/direct?to=hertz&message=psst", None).await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");
    // Mallory posts as hertz: refused, as a broadcast and as a direct message.
    for path in [
        "/chat/broadcast?from=hertz&message=forged",
        "/chat/direct?from=hertz&to=alice&message=forged",
    ] {
        let answer = post_as(addr, &mallory, path, None).await;
        assert_answer(&answer, 403, "signed in as mallory");
    }
    // A cross-site post (a form on another site, the cookie attached) is refused; the
    // page's own origin is accepted, and `from` comes from the ticket.
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://localhost:{}", addr.port()),
    ] {
        let answer = post_as(
            addr,
            &mallory,
            "/chat/broadcast?message=cross-site",
            Some(origin),
        )
        .await;
        assert_answer(&answer, 403, "cross-site request refused");
    }
    let own_origin = format!("http://{host}");
    let answer = post_as(
        addr,
        &mallory,
        "/chat/broadcast?message=from+mallory",
        Some(&own_origin),
    )
    .await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");
    // The bearer header works for posts too.
    let bearer = format!("Bearer {alice}");
    let answer = exchange(
        addr,
        &request(
            "POST",
            "/chat/broadcast?from=alice&message=last",
            &host,
            &[("Authorization", &bearer)],
        ),
    )
    .await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");

    let seen_by_hertz = on_hertz
        .read_until(|t| t.contains(r#""Message":"last""#))
        .await;
    assert!(
        seen_by_hertz.contains(r#""From":"alice","To":"hertz","Message":"psst""#),
        "{seen_by_hertz}"
    );
    assert!(
        seen_by_hertz.contains(r#""From":"mallory","To":"","Message":"from mallory""#),
        "{seen_by_hertz}"
    );
    let seen_by_mallory = on_mallory
        .read_until(|t| t.contains(r#""Message":"last""#))
        .await;
    assert!(!seen_by_mallory.contains("psst"), "{seen_by_mallory}");
    assert!(
        !seen_by_mallory.contains("event: direct"),
        "{seen_by_mallory}"
    );
    for text in [&seen_by_hertz, &seen_by_mallory] {
        assert!(
            !text.contains("forged") && !text.contains("cross-site"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_expired_ticket_ends_the_stream_cleanly_and_a_new_sign_in_resumes() {
    let ttl = Duration::from_secs(3);
    let server = chat(&["--auth", "--auth-ttl", "3"], &[]).await;
    let (addr, host) = (server.addr(), server.addr().to_string());
    let hertz = ticket_for(addr, "hertz").await;
    let signed_in = Instant::now();

    // The stream, with the ticket in the cookie as a browser sends it; read to its end.
    let cookie = format!("sse_ticket={hertz}");
    let stream_request = request("GET", "/chat/sse", &host, &[("Cookie", &cookie)]);
    let reading = tokio::spawn(async move { exchange(addr, &stream_request).await });
    // Wait until hertz is connected, then alice says something.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !body_of(&exchange(addr, &get("/chat/users", &host)).await).contains("hertz") {
        assert!(Instant::now() < deadline, "hertz never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alice = ticket_for(addr, "alice").await;
    let answer = post_as(addr, &alice, "/chat/broadcast?message=before", None).await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");

    let answer = reading.await.unwrap();
    let lasted = signed_in.elapsed();
    assert!(
        lasted >= ttl - Duration::from_millis(500),
        "ended after {lasted:?}"
    );
    assert!(
        lasted < ttl + Duration::from_secs(5),
        "ended after {lasted:?}"
    );
    assert_eq!(status_of(&answer), Some(200), "{answer}");
    let body = dechunk(body_of(&answer).as_bytes()).expect("a clean end with the last chunk");
    assert!(body.contains(r#""Message":"before""#), "{body}");
    assert!(
        body.ends_with("event: expired\ndata: your sign-in has expired\n\n"),
        "{body}"
    );
    let before_id = body
        .lines()
        .find_map(|line| line.strip_prefix("id: "))
        .expect("the broadcast's id")
        .to_owned();

    // Coming back with the expired ticket: 401, as EventSource's own reconnection would.
    let answer = exchange(
        addr,
        &request("GET", "/chat/sse", &host, &[("Cookie", &cookie)]),
    )
    .await;
    assert_answer(&answer, 401, "ticket has expired");

    // Meanwhile alice (signed in again herself) says more.
    let alice = ticket_for(addr, "alice").await;
    let answer = post_as(addr, &alice, "/chat/broadcast?message=missed", None).await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");

    // Hertz renews with the expired ticket and resumes after the last event seen.
    let (answer, renewed) = login(addr, "hertz", Some(&hertz)).await;
    assert_eq!(status_of(&answer), Some(204), "{answer}");
    let renewed = renewed.unwrap();
    assert_ne!(renewed, hertz);
    let path = format!("/chat/sse?ticket={renewed}&lastEventId={before_id}");
    let mut resumed = OpenStream::open(addr, &path, &host).await;
    assert!(
        resumed.head.starts_with("HTTP/1.1 200 "),
        "{}",
        resumed.head
    );
    let text = resumed
        .read_until(|t| t.contains(r#""Message":"missed""#))
        .await;
    assert!(
        !text.contains(r#""Message":"before""#),
        "replayed once only: {text}"
    );
}

#[tokio::test]
async fn rotated_keys_are_accepted_across_servers_and_retired_ones_are_not() {
    // Server A signs with the old key (from the environment); B signs with the new key and
    // still accepts the old one; C knows only the new key.
    let a = chat(&["--auth"], &[("CHAT_AUTH_KEY", OLD_KEY)]).await;
    let b = chat(
        &["--auth", "--auth-key", NEW_KEY, "--auth-key", OLD_KEY],
        &[],
    )
    .await;
    let c = chat(&["--auth", "--auth-key", NEW_KEY], &[]).await;
    let from_a = ticket_for(a.addr(), "hertz").await;
    let from_b = ticket_for(b.addr(), "alice").await;
    // A post needs no open stream: 204 means the ticket was accepted.
    let accepts = |server: &ServerProcess, ticket: &str| {
        let (addr, ticket) = (server.addr(), ticket.to_owned());
        async move {
            let answer = post_as(addr, &ticket, "/chat/broadcast?message=hi", None).await;
            status_of(&answer)
        }
    };
    for (server, ticket, expected, why) in [
        (&b, &from_a, 204, "B accepts A's old-key ticket"),
        (&c, &from_b, 204, "C accepts B's new-key ticket"),
        (&c, &from_a, 401, "C refuses the retired key"),
        (&a, &from_b, 401, "A does not know the new key"),
    ] {
        assert_eq!(accepts(server, ticket).await, Some(expected), "{why}");
    }
}

#[tokio::test]
async fn auth_flags_are_checked_and_the_key_never_shows_in_help() {
    for (args, expected) in [
        (
            &["--auth", "--auth-key", "short"][..],
            "at least 32 are needed",
        ),
        (&["--auth-ttl", "5"], "--auth"),
        (&["--auth-key", OLD_KEY], "--auth"),
        (
            &["--auth", "--auth-ttl", "0"],
            "--auth-ttl must be more than 0",
        ),
    ] {
        assert_refused(BIN, args, &[], expected).await;
    }
    let help = run(BIN, &["--help"], &[("CHAT_AUTH_KEY", OLD_KEY)]).await;
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "--auth",
        "CHAT_AUTH",
        "--auth-key <SECRET>",
        "CHAT_AUTH_KEY",
        "--auth-ttl <SECS>",
        "[default: 900]",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
    assert!(
        !text.contains(OLD_KEY),
        "the key leaked into --help:\n{text}"
    );
}

#[tokio::test]
async fn a_generation_is_read_only_by_whoever_started_it() {
    let server = chat(&["--auth"], &[]).await;
    let (addr, host) = (server.addr(), server.addr().to_string());

    // No ticket: 401, to start one and to read one.
    for request_text in [
        post("/chat/generate?prompt=hi", &host),
        get("/chat/generation/0123456789abcdef", &host),
    ] {
        let answer = exchange(addr, &request_text).await;
        assert_answer(&answer, 401, "missing ticket");
    }

    let alice = ticket_for(addr, "alice").await;
    let mallory = ticket_for(addr, "mallory").await;
    let answer = post_as(addr, &alice, "/chat/generate?prompt=secret%20plans", None).await;
    assert_eq!(status_of(&answer), Some(202), "{answer}");
    let started: serde_json::Value = serde_json::from_str(body_of(&answer)).unwrap();
    let stream = started["stream"].as_str().unwrap().to_owned();

    // Mallory asks for the same id with her ticket: she gets her own topic, which nothing
    // is published to.
    let mut on_mallory = OpenStream::open(addr, &format!("{stream}?ticket={mallory}"), &host).await;
    assert!(
        on_mallory.head.starts_with("HTTP/1.1 200 "),
        "{}",
        on_mallory.head
    );
    // Alice reads her answer to its end.
    let mut on_alice = OpenStream::open(addr, &format!("{stream}?ticket={alice}"), &host).await;
    assert!(
        on_alice.head.starts_with("HTTP/1.1 200 "),
        "{}",
        on_alice.head
    );
    let answer = on_alice.read_until(|t| t.contains("[DONE]")).await;
    assert!(answer.contains("event: token"), "{answer}");
    assert!(answer.contains("secret "), "{answer}");
    // Every token was published before the end: any that went to Mallory's stream would
    // be there by now.
    let leaked = tokio::time::timeout(
        Duration::from_millis(300),
        on_mallory.read_until(|t| t.contains("event: token") || t.contains("[DONE]")),
    )
    .await;
    assert!(leaked.is_err(), "mallory read {leaked:?}");
}
