//! The chat page with `--auth` in headless Chromium: it signs in with a name, the ticket
//! cookie is out of the page's reach, Mallory's page can neither read Hertz's stream nor post
//! as Hertz nor post from another site, and when the ticket expires the stream ends and the
//! page signs in again by itself, resuming without losing or repeating a message.
//!
//! Skipped (with a printed reason) when chromium or chromedriver is missing; failed instead
//! when `SSE_TEST_REQUIRE_ALL=1`. Screenshot: `/tmp/sse-chat-auth-renewed.png`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use serde_json::Value;
use sse_tests::{BrowserSession, ChromeDriver, TestServer};

/// Generous: Chromium's first start on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(45);

/// A sign-in lasts this long: short, so that the test sees it run out.
const TTL: Duration = Duration::from_secs(6);

/// What the server answered, request by request: (method, path, status).
type Answers = Arc<Mutex<Vec<(String, String, u16)>>>;

/// Types `text` into the input `css` and presses Enter, as a user submits a form.
async fn submit(page: &BrowserSession, css: &str, text: &str) {
    let input = page.find(css).await.unwrap();
    page.send_keys(&input, &format!("{text}\u{E007}"))
        .await
        .unwrap();
}

/// Signs in through the page's form and waits for the stream to be up.
async fn join(page: &BrowserSession, url: &str, name: &str) {
    page.goto(url).await.unwrap();
    submit(page, "#username", name).await;
    page.wait_for_script(
        &format!("{name}'s page to connect"),
        "return document.getElementById('status').dataset.state === 'connected'",
        WAIT,
    )
    .await
    .unwrap();
}

/// Runs `body` (an async function body) in the page and waits for what it returns.
async fn run_async(page: &BrowserSession, what: &str, body: &str) -> Value {
    page.execute(
        &format!("window.__probe = null; (async () => {{ {body} }})().then(v => window.__probe = {{ v }}, e => window.__probe = {{ v: 'error: ' + e }}); return true"),
        vec![],
    )
    .await
    .unwrap();
    page.wait_for_script(what, "return window.__probe", WAIT)
        .await
        .unwrap()["v"]
        .take()
}

/// The texts of the messages on the page, in order.
async fn texts(page: &BrowserSession) -> Vec<String> {
    let value = page
        .execute(
            "return Array.from(document.querySelectorAll('#messages li.message .text'))
                 .map(t => t.textContent)",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(value).unwrap()
}

async fn send(page: &BrowserSession, text: &str) {
    submit(page, "#message", text).await;
    page.wait_for_text("#messages", text, WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_pages_keep_to_themselves_and_sign_in_again_when_the_ticket_expires() {
    let Some(driver) = ChromeDriver::start().await.unwrap() else {
        return;
    };
    let mut auth = chat_example::AuthOptions::with_random_key().unwrap();
    auth.ttl = TTL;
    let mut config = chat_example::Config::default();
    config.auth = Some(auth);
    let hub = chat_example::build_hub(&config);
    let answers: Answers = Arc::default();
    let recorded = Arc::clone(&answers);
    let app = chat_example::app_with_hub(config, hub.clone()).layer(middleware::from_fn(
        move |request: Request, next: Next| {
            let answers = Arc::clone(&recorded);
            async move {
                let (method, path) = (
                    request.method().to_string(),
                    request.uri().path().to_owned(),
                );
                let response = next.run(request).await;
                answers
                    .lock()
                    .unwrap()
                    .push((method, path, response.status().as_u16()));
                response
            }
        },
    ));
    let server = TestServer::spawn(app).await;
    let url = server.url("/");

    let hertz = driver.new_session().await.unwrap();
    let mallory = driver.new_session().await.unwrap();
    join(&hertz, &url, "hertz").await;
    join(&mallory, &url, "mallory").await;
    let state = hertz
        .execute("return window.chatState()", vec![])
        .await
        .unwrap();
    assert_eq!(state["authMode"], true, "{state}");
    // The ticket is in an HttpOnly cookie: page scripts (an injected one too) cannot read it.
    let cookies = hertz
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert_eq!(cookies, "", "the ticket cookie is visible to scripts");

    // Mallory's page tries hertz's stream and hertz's name, right after renewing its own
    // sign-in so that neither attempt meets an expired ticket instead.
    let outcome = run_async(
        &mallory,
        "mallory's attempts",
        "await fetch('/chat/login?username=mallory', { method: 'POST' });
         const stream = await new Promise((resolve) => {
           const source = new EventSource('/chat/sse?username=hertz');
           source.onopen = () => { source.close(); resolve('opened'); };
           source.onerror = () => { const s = source.readyState; source.close();
                                    resolve(s === EventSource.CLOSED ? 'refused' : 'retrying'); };
         });
         const post = await fetch('/chat/broadcast?from=hertz&message=forged', { method: 'POST' });
         return [stream, post.status, await post.text()];",
    )
    .await;
    assert_eq!(outcome[0], "refused", "{outcome}");
    assert_eq!(outcome[1], 403, "{outcome}");
    assert!(
        outcome[2]
            .as_str()
            .unwrap()
            .contains("signed in as mallory"),
        "{outcome}"
    );
    let refused_stream = answers
        .lock()
        .unwrap()
        .iter()
        .any(|(method, path, status)| method == "GET" && path == "/chat/sse" && *status == 403);
    assert!(
        refused_stream,
        "the server refused hertz's stream to mallory"
    );

    // From another site (localhost is not 127.0.0.1), a post with the cookie attached if
    // the browser would: refused by the Origin check, published nothing.
    let published = hub.stats().published;
    let elsewhere = format!("http://localhost:{}/", server.addr().port());
    mallory.goto(&elsewhere).await.unwrap();
    let target = server.url("/chat/broadcast?message=cross-site");
    let outcome = run_async(
        &mallory,
        "the cross-site post",
        &format!(
            "const r = await fetch({}, {{ method: 'POST', mode: 'no-cors', credentials: 'include' }});
             return r.type;",
            serde_json::to_string(&target).unwrap()
        ),
    )
    .await;
    assert_eq!(outcome, "opaque", "the browser sent it and hid the answer");
    let cross_site = answers
        .lock()
        .unwrap()
        .iter()
        .any(|(method, path, status)| {
            method == "POST" && path == "/chat/broadcast" && *status == 403
        });
    assert!(
        cross_site,
        "the cross-site post reached the server and got 403"
    );
    assert_eq!(hub.stats().published, published, "nothing was published");

    // Hertz's page says something; then its ticket runs out: the stream ends, the page signs
    // in again by itself and resumes after the last event it saw.
    send(&hertz, "before expiry").await;
    hertz
        .wait_for_script(
            "hertz's page to sign in again",
            "const s = window.chatState(); return s.signIns >= 2 && s.connected",
            WAIT,
        )
        .await
        .unwrap();
    // Mallory comes back to the chat (her page signs in as itself) and writes to everyone.
    join(&mallory, &url, "mallory").await;
    send(&mallory, "after renewal").await;
    hertz
        .wait_for_text("#messages", "after renewal", WAIT)
        .await
        .unwrap();
    hertz
        .screenshot("/tmp/sse-chat-auth-renewed.png")
        .await
        .unwrap();
    let on_hertz = texts(&hertz).await;
    assert_eq!(
        on_hertz,
        ["before expiry", "after renewal"],
        "each once, in order"
    );
    let lines = hertz
        .text(&hertz.find("#messages").await.unwrap())
        .await
        .unwrap();
    assert!(lines.contains("signed in again as hertz"), "{lines}");
    assert!(
        !lines.contains("forged") && !lines.contains("cross-site"),
        "{lines}"
    );

    hertz.close().await.unwrap();
    mallory.close().await.unwrap();
    server.stop().await;
}
