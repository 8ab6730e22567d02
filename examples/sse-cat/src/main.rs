//! `sse-cat`: the `curl -N` of Server-Sent Events.
//!
//! ```text
//! sse-cat [OPTIONS] URL     subscribe (reconnecting) and print every event
//! sse-cat -                 parse standard input, exit at its end
//!
//! -H, --header 'Name: value'   add a request header (repeatable)
//! -X, --request METHOD         request method (default GET, or POST with -d)
//! -d, --data BODY              request body, sent again on every attempt
//!     --last-event-id ID       start from this last event ID
//!     --no-reconnect           end when the connection ends
//! ```
//!
//! Output: one JSON object per line, flushed per line:
//! `{"type":"message","data":"...","last_event_id":"..."}` for each event and `{"retry":3000}`
//! each time a valid `retry` field is processed. Errors go to stderr, with exit status 1 (2 for
//! bad arguments).

use std::error::Error as StdError;
use std::io::{self, Read, Write};
use std::process::ExitCode;

use futures_util::StreamExt;
use reqwest::Method;
use sse_client::{Client, Event, EventParser, Item};

const USAGE: &str = "usage: sse-cat [-H 'Name: value']... [-X METHOD] [-d BODY] \
[--last-event-id ID] [--no-reconnect] URL\n       sse-cat -    (parse standard input)";

#[derive(Debug, Default)]
struct Args {
    source: String,
    headers: Vec<(String, String)>,
    method: Option<String>,
    body: Option<String>,
    last_event_id: Option<String>,
    no_reconnect: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut source = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "-H" | "--header" => {
                let header = value(&arg)?;
                let (name, val) = header
                    .split_once(':')
                    .ok_or_else(|| format!("header {header:?} is not 'Name: value'"))?;
                parsed
                    .headers
                    .push((name.trim().to_owned(), val.trim().to_owned()));
            }
            "-X" | "--request" => parsed.method = Some(value(&arg)?),
            "-d" | "--data" => parsed.body = Some(value(&arg)?),
            "--last-event-id" => parsed.last_event_id = Some(value(&arg)?),
            "--no-reconnect" => parsed.no_reconnect = true,
            "-" => source = Some(arg),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if source.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => source = Some(arg),
        }
    }
    parsed.source = source.ok_or("missing URL (or - for standard input)")?;
    Ok(parsed)
}

/// One output line for an event, keys in the documented order.
fn event_line(event: &Event) -> String {
    let json = |text: &str| serde_json::Value::from(text).to_string();
    format!(
        "{{\"type\":{},\"data\":{},\"last_event_id\":{}}}",
        json(event.event_type()),
        json(event.data()),
        json(event.last_event_id())
    )
}

fn item_line(item: &Item) -> Option<String> {
    match item {
        Item::Event(event) => Some(event_line(event)),
        Item::Retry(delay) => Some(format!("{{\"retry\":{}}}", delay.as_millis())),
        _ => None,
    }
}

/// Prints an error and its sources on one line.
fn report(error: &dyn StdError) -> ExitCode {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    eprintln!("sse-cat: {message}");
    ExitCode::FAILURE
}

/// `sse-cat -`: parse standard input until its end.
fn cat_stdin() -> ExitCode {
    let mut parser = EventParser::new();
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut buffer = vec![0; 64 * 1024];
    let mut failure = None;
    loop {
        let read = match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return report(&error),
        };
        parser.feed_with(&buffer[..read], |item| {
            if failure.is_some() {
                return;
            }
            let written = match item {
                Ok(item) => item_line(&item).map_or(Ok(()), |line| writeln!(stdout, "{line}")),
                Err(error) => {
                    failure = Some(report(&error));
                    Ok(())
                }
            };
            if let Err(error) = written.and_then(|()| stdout.flush()) {
                failure = Some(report(&error));
            }
        });
        if let Some(code) = failure {
            return code;
        }
    }
    parser.finish();
    ExitCode::SUCCESS
}

async fn cat_url(args: Args) -> ExitCode {
    let mut builder = Client::builder();
    if args.no_reconnect {
        builder = builder.max_retries(Some(0));
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(error) => return report(&error),
    };
    let method = match &args.method {
        Some(method) => match Method::from_bytes(method.as_bytes()) {
            Ok(method) => method,
            Err(error) => return report(&error),
        },
        None if args.body.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut request = client.http().request(method, &args.source);
    for (name, value) in &args.headers {
        request = request.header(name, value);
    }
    if let Some(id) = &args.last_event_id {
        request = request.header("last-event-id", id);
    }
    if let Some(body) = args.body {
        request = request.body(body);
    }
    let mut items = client.subscribe(request).with_retry_items();
    let mut stdout = io::stdout().lock();
    while let Some(item) = items.next().await {
        let item = match item {
            Ok(item) => item,
            Err(error) => return report(&error),
        };
        if let Some(line) = item_line(&item)
            && let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush())
        {
            return report(&error);
        }
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("sse-cat: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.source == "-" {
        return cat_stdin();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&error),
    };
    runtime.block_on(cat_url(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn arguments() {
        let args = parse(&[
            "-H",
            "X-A: 1",
            "-X",
            "PUT",
            "-d",
            "{}",
            "--last-event-id",
            "9",
            "--no-reconnect",
            "http://h/",
        ])
        .unwrap();
        assert_eq!(args.source, "http://h/");
        assert_eq!(args.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(args.method.as_deref(), Some("PUT"));
        assert_eq!(args.body.as_deref(), Some("{}"));
        assert_eq!(args.last_event_id.as_deref(), Some("9"));
        assert!(args.no_reconnect);
        assert_eq!(parse(&["-"]).unwrap().source, "-");
        assert!(parse(&[]).unwrap_err().contains("missing URL"));
        assert!(
            parse(&["-H", "nocolon", "u"])
                .unwrap_err()
                .contains("Name: value")
        );
        assert!(
            parse(&["--bogus", "u"])
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(
            parse(&["a", "b"])
                .unwrap_err()
                .contains("unexpected argument")
        );
        assert!(parse(&["-X"]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn lines_keep_the_documented_key_order() {
        let event = Event::new("a\"b\n\u{0}")
            .with_type("t")
            .with_last_event_id("é");
        assert_eq!(
            event_line(&event),
            r#"{"type":"t","data":"a\"b\n\u0000","last_event_id":"é"}"#
        );
        assert_eq!(
            item_line(&Item::Retry(std::time::Duration::from_millis(3000))).unwrap(),
            r#"{"retry":3000}"#
        );
    }
}
