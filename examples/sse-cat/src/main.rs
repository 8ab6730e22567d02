//! `sse-cat`: the `curl -N` of Server-Sent Events.
//!
//! ```text
//! sse-cat [OPTIONS] URL     subscribe (reconnecting) and print every event
//! sse-cat -                 parse standard input, exit at its end
//! ```
//!
//! `sse-cat --help` lists the options. Output: one JSON object per line, flushed per line:
//! `{"type":"message","data":"...","last_event_id":"..."}` for each event, `{"retry":3000}`
//! each time a valid `retry` field is processed, and with `--comments` `{"comment":"..."}`.
//! Errors go to stderr; the exit status says how it ended (see [`EXIT_CODES`]).

use std::error::Error as StdError;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use futures_util::StreamExt;
use reqwest::Method;
use reqwest_sse_client::{Attempt, Client, Disconnect, Event, EventParser, Item, Reconnect};

/// The exit statuses, as `--help` shows them.
const EXIT_CODES: &str = "\
Exit status:
  0  the stream ended cleanly (the server ended it and the policy does not reconnect, a 204,
     the --until event, or the end of standard input)
  1  an error ended it (a refused status, a wrong content type, a TLS or URL error, a cut
     stream that cannot resume, ...)
  2  bad arguments
  3  it gave up reconnecting (--max-retries reached)";

/// The exit status when `--max-retries` was reached after a failure.
const GAVE_UP: u8 = 3;

/// The curl -N of Server-Sent Events: subscribes to URL (reconnecting with Last-Event-ID) and
/// prints each event as one JSON line.
#[derive(Debug, Parser)]
#[command(name = "sse-cat", version, after_help = EXIT_CODES)]
struct Args {
    /// The URL to subscribe to (http:// or https://), or - to parse standard input.
    #[arg(value_name = "URL")]
    source: String,
    /// Add a request header (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// The request method [default: GET, or POST with --data].
    #[arg(short = 'X', long = "request", value_name = "METHOD", value_parser = parse_method)]
    method: Option<Method>,
    /// The request body (sent again on a reconnection).
    #[arg(short = 'd', long = "data", value_name = "BODY")]
    body: Option<String>,
    /// Start from this last event ID.
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
    /// When to send the request again [default: always for GET, on-failure for other methods].
    #[arg(long, value_enum, value_name = "WHEN")]
    reconnect: Option<ReconnectArg>,
    /// The same as --reconnect never.
    #[arg(long, conflicts_with = "reconnect")]
    no_reconnect: bool,
    // A `help` string, not a doc comment: rustdoc would read `[DONE]` as a link.
    #[arg(
        long,
        value_name = "DATA",
        help = "End cleanly at the first event whose data is DATA (not printed), e.g. [DONE]"
    )]
    until: Option<String>,
    /// Also trust the root certificates in this PEM file, as curl's option does.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// The reconnection time in milliseconds, until the server sends a `retry` field.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    retry: u64,
    /// Give up after this many reconnection attempts without a connection that stayed up
    /// [default: never give up].
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// Also print comments, as {"comment":"..."}.
    #[arg(long)]
    comments: bool,
    /// Print each attempt, the status and headers, the reconnect delay and the disconnect
    /// reason to stderr.
    #[arg(short, long)]
    verbose: bool,
}

/// `--reconnect`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReconnectArg {
    /// After a clean end and after failures (the browser's EventSource).
    Always,
    /// Only after a failure, and only when the stream has an event ID to resume from.
    OnFailure,
    /// Never: one request.
    Never,
}

impl From<ReconnectArg> for Reconnect {
    fn from(arg: ReconnectArg) -> Self {
        match arg {
            ReconnectArg::Always => Reconnect::Always,
            ReconnectArg::OnFailure => Reconnect::OnFailure,
            ReconnectArg::Never => Reconnect::Never,
        }
    }
}

fn parse_header(header: &str) -> Result<(String, String), String> {
    let (name, value) = header
        .split_once(':')
        .ok_or_else(|| format!("header {header:?} is not 'Name: value'"))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

fn parse_method(method: &str) -> Result<Method, String> {
    Method::from_bytes(method.as_bytes()).map_err(|_| format!("{method:?} is not an HTTP method"))
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
        Item::Comment(text) => Some(format!(
            "{{\"comment\":{}}}",
            serde_json::Value::from(text.as_str())
        )),
        _ => None,
    }
}

/// Prints an error and its sources on one line.
fn report(error: &dyn StdError) -> ExitCode {
    eprintln!("sse-cat: {}", chain(error));
    ExitCode::FAILURE
}

/// `sse-cat -`: parse standard input until its end.
fn cat_stdin(comments: bool) -> ExitCode {
    let mut parser = EventParser::new().with_comments(comments);
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

/// `-v`: what happened to one connection.
fn print_connect(response: &reqwest::Response) {
    let mut lines = format!("< {:?} {}\n", response.version(), response.status());
    for (name, value) in response.headers() {
        lines.push_str(&format!(
            "< {name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    eprint!("{lines}");
}

fn print_disconnect(disconnect: &Disconnect) {
    let next = match disconnect.reconnect_in() {
        Some(delay) => format!("reconnecting in {delay:?}"),
        None => "not reconnecting".to_owned(),
    };
    eprintln!("* disconnected: {}; {next}", chain(disconnect.reason()));
}

fn print_attempt(attempt: &Attempt<'_>, method: &Method, url: &str) {
    let mut line = format!("* attempt {}", attempt.number());
    if let Some(previous) = attempt.previous() {
        line.push_str(&format!(
            " after {:?} ({})",
            attempt.delay(),
            chain(previous)
        ));
    }
    if !attempt.last_event_id().is_empty() {
        line.push_str(&format!(", Last-Event-ID {:?}", attempt.last_event_id()));
    }
    eprintln!("{line}\n> {method} {url}");
}

/// The client as the options say.
fn client(args: &Args) -> Result<Client, Box<dyn StdError>> {
    let mut builder = Client::builder()
        .retry(Duration::from_millis(args.retry))
        .max_retries(args.max_retries);
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .map_err(|error| format!("cannot read --cacert {}: {error}", path.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|error| format!("--cacert {}: {}", path.display(), chain(&error)))?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if args.verbose {
        builder = builder
            .on_connect(print_connect)
            .on_disconnect(print_disconnect);
    }
    Ok(builder.build()?)
}

async fn cat_url(args: Args) -> ExitCode {
    let client = match client(&args) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("sse-cat: {}", chain(error.as_ref()));
            return ExitCode::FAILURE;
        }
    };
    let method = match &args.method {
        Some(method) => method.clone(),
        None if args.body.is_some() => Method::POST,
        None => Method::GET,
    };
    let (url, headers, body, verbose) = (args.source, args.headers, args.body, args.verbose);
    let last_event_id = args.last_event_id;
    let mut subscription = client.subscribe_fn(move |attempt| {
        if verbose {
            print_attempt(attempt, &method, &url);
        }
        let mut request = attempt.http().request(method.clone(), &url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        if let Some(id) = &last_event_id {
            request = request.header("last-event-id", id);
        }
        if let Some(body) = &body {
            request = request.body(body.clone());
        }
        request
    });
    if let Some(reconnect) = args.reconnect {
        subscription = subscription.reconnect(reconnect.into());
    }
    if args.no_reconnect {
        subscription = subscription.reconnect(Reconnect::Never);
    }
    if let Some(until) = args.until {
        subscription = subscription.until_data(until);
    }
    let mut items = if args.comments {
        subscription.with_comments()
    } else {
        subscription.with_retry_items()
    };
    let mut stdout = io::stdout().lock();
    while let Some(item) = items.next().await {
        let item = match item {
            Ok(item) => item,
            Err(error @ reqwest_sse_client::Error::GaveUp { .. }) => {
                report(&error);
                return ExitCode::from(GAVE_UP);
            }
            Err(error) => return report(&error),
        };
        if let Some(line) = item_line(&item)
            && let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush())
        {
            return report(&error);
        }
    }
    if verbose {
        eprintln!("* the stream ended cleanly");
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            // Help and version go to stdout with status 0, mistakes to stderr with status 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    if args.source == "-" {
        return cat_stdin(args.comments);
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

/// The error and its sources, as one line: `outer: inner: innermost`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        line = format!("{line}: {cause}");
        next = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("sse-cat").chain(args.iter().copied()))
    }

    #[test]
    fn arguments() {
        Args::command().debug_assert();
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
            "--until",
            "[DONE]",
            "--max-retries",
            "4",
            "--retry",
            "250",
            "-v",
            "http://h/",
        ])
        .unwrap();
        assert_eq!(args.source, "http://h/");
        assert_eq!(args.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(args.method, Some(Method::PUT));
        assert_eq!(args.body.as_deref(), Some("{}"));
        assert_eq!(args.last_event_id.as_deref(), Some("9"));
        assert!(args.no_reconnect);
        assert_eq!(args.until.as_deref(), Some("[DONE]"));
        assert_eq!(args.max_retries, Some(4));
        assert_eq!(args.retry, 250);
        assert_eq!(parse(&["u"]).unwrap().retry, 3000);
        assert!(args.verbose);
        assert_eq!(parse(&["-"]).unwrap().source, "-");
        let reconnect = parse(&["--reconnect", "on-failure", "u"]).unwrap();
        assert_eq!(reconnect.reconnect, Some(ReconnectArg::OnFailure));

        let kind = |args: &[&str]| parse(args).unwrap_err().kind();
        assert_eq!(kind(&[]), ErrorKind::MissingRequiredArgument);
        assert_eq!(kind(&["-H", "nocolon", "u"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["-X", "B A D", "u"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--bogus", "u"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["a", "b"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["-X"]), ErrorKind::InvalidValue);
        assert_eq!(
            kind(&["--reconnect", "sometimes", "u"]),
            ErrorKind::InvalidValue
        );
        assert_eq!(
            kind(&["--reconnect", "never", "--no-reconnect", "u"]),
            ErrorKind::ArgumentConflict
        );
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
            item_line(&Item::Retry(Duration::from_millis(3000))).unwrap(),
            r#"{"retry":3000}"#
        );
        assert_eq!(
            item_line(&Item::Comment("ping \"1\"".to_owned())).unwrap(),
            r#"{"comment":"ping \"1\""}"#
        );
    }
}
