//! Runs every comparison in one process, interleaving the contenders and repeating, and
//! prints a markdown table of medians and ratios.
//!
//! ```text
//! cargo run -p sse-benches --release --bin compare -- [--quick] [--json PATH] [--only SECTION,...]
//!     [--fanout-sizes N,...] [--fanout-kinds KIND,...]
//! ```
//!
//! Sections: `parse`, `encode`, `e2e`, `fanout`, `redis` (latency across two hub instances
//! through a `redis-server` the binary starts; skipped when it is not installed). `--quick` keeps a run under a minute
//! (smaller corpora, fewer repeats, 1000 subscribers). `--serve KIND` is the fan-out server
//! role the binary starts itself in (see `sse_benches::fanout`). `--fanout-sizes 10000` runs the
//! fan-out at these subscriber counts only (default 1000, 5000, 10000; 1000 with `--quick`), and
//! `--fanout-kinds hub,hub-http1` against these servers only (default all: `hub`, `hub-http1`,
//! `broadcast`, `raw-writes` (the floor: one socket write per subscriber, no HTTP stack) and
//! `in-process`, the hub's bodies polled in this process without sockets).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sse_benches::corpus::{self, Corpus, Summary};
use sse_benches::report::{self, Record, median};
use sse_benches::{e2e, encode, fanout, parse};

struct Options {
    quick: bool,
    json: Option<String>,
    only: Option<BTreeSet<String>>,
    fanout_sizes: Option<Vec<usize>>,
    fanout_kinds: Option<Vec<String>>,
}

impl Options {
    fn runs(&self, section: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(section))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = Options {
        quick: false,
        json: None,
        only: None,
        fanout_sizes: None,
        fanout_kinds: None,
    };
    let mut serve = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json" => options.json = iter.next().cloned(),
            "--only" => {
                options.only = iter
                    .next()
                    .map(|list| list.split(',').map(str::to_owned).collect());
            }
            "--fanout-sizes" => {
                options.fanout_sizes = iter
                    .next()
                    .map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect());
            }
            "--fanout-kinds" => {
                options.fanout_kinds = iter
                    .next()
                    .map(|list| list.split(',').map(str::to_owned).collect());
            }
            "--serve" => serve = iter.next().cloned(),
            "--parse-time" => {
                // One contender on one long line in a fresh process (see `parse_section`).
                let (Some(who), Some(size), Some(chunk)) = (iter.next(), iter.next(), iter.next())
                else {
                    return ExitCode::FAILURE;
                };
                return parse_time(who, size.parse().unwrap_or(1), chunk.parse().unwrap_or(7));
            }
            "--parse-once" => {
                // For profilers (callgrind): one parse of one corpus by one contender.
                let (Some(who), Some(which), Some(chunk)) = (iter.next(), iter.next(), iter.next())
                else {
                    return ExitCode::FAILURE;
                };
                let repeat = iter.next().and_then(|n| n.parse().ok()).unwrap_or(1);
                return parse_once(who, which, chunk.parse().unwrap_or(7), repeat);
            }
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: compare [--quick] [--json PATH] [--only parse,encode,e2e,fanout,redis] [--fanout-sizes 1000,5000,10000] [--fanout-kinds hub,hub-http1,broadcast,raw-writes,in-process]"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(kind) = serve {
        let Some(kind) = fanout::ServerKind::from_name(&kind) else {
            eprintln!("unknown server kind {kind:?}");
            return ExitCode::FAILURE;
        };
        return match runtime.block_on(fanout::serve(kind)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("server: {error}");
                ExitCode::FAILURE
            }
        };
    }

    let started = Instant::now();
    let mut records = Vec::new();
    if options.runs("parse") {
        parse_section(&options, &mut records);
    }
    if options.runs("encode") {
        let _guard = runtime.enter();
        encode_section(&options, &mut records);
    }
    if options.runs("e2e") {
        runtime.block_on(e2e_section(&options, &mut records));
    }
    if options.runs("fanout") {
        runtime.block_on(fanout_section(&options, &mut records));
    }
    let redis_table = if options.runs("redis") {
        runtime.block_on(redis_section(&options))
    } else {
        None
    };
    println!("{}", report::markdown(&records));
    if let Some(table) = redis_table {
        println!("\n**Across instances through Redis**\n\n{table}");
    }
    println!(
        "\n{} run in {:.1} s",
        if options.quick { "quick" } else { "full" },
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &options.json {
        let json = report::json(&records);
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        if let Err(error) = std::fs::write(path, text) {
            eprintln!("cannot write {path}: {error}");
            return ExitCode::FAILURE;
        }
    }
    let wrong = records.iter().filter(|r| r.check != "ok").count();
    if wrong > 0 {
        // The table is printed either way; the exit status lets CI notice a broken harness.
        eprintln!("{wrong} contenders gave wrong output (marked in the table)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Publish-to-receive latency through Redis next to the in-process hub, on a throw-away
/// `redis-server` (no persistence) on a free loopback port; skipped with a reason when
/// `redis-server` is not installed or does not start.
async fn redis_section(options: &Options) -> Option<String> {
    let samples = if options.quick { 200 } else { 2000 };
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(error) => {
            eprintln!("redis: skipped: no free port: {error}");
            return None;
        }
    };
    let child = tokio::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(_child) = child else {
        eprintln!("redis: skipped: redis-server not found (Debian package redis-server)");
        return None;
    };
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            eprintln!("redis: skipped: redis-server did not start on port {port}");
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match sse_benches::redis_latency::redis_vs_memory_latency(&url, samples).await {
        Ok(report) => Some(report.table()),
        Err(error) => {
            eprintln!("redis: failed: {error}");
            None
        }
    }
}

fn parse_once(who: &str, which: &str, chunk: usize, repeat: usize) -> ExitCode {
    let corpus = match which {
        "token" => corpus::token_events(2 << 20),
        "large" => corpus::large_events(4 << 20),
        _ => corpus::long_line(8 << 20),
    };
    let run = parse_fn(who, &corpus.bytes);
    // Repeated so that a sampling profiler (perf) sees enough of it.
    for _ in 1..repeat {
        std::hint::black_box(run(&corpus.bytes, chunk));
    }
    let summary = run(&corpus.bytes, chunk);
    println!("{}", check_summary(&summary, &corpus.expected));
    ExitCode::SUCCESS
}

/// The contender `who` (its key in the table), ready to run on `input`.
fn parse_fn(who: &str, input: &[u8]) -> ParseFn {
    match who {
        "ours" => Box::new(parse::ours),
        "sse-core" => Box::new(parse::sse_core),
        "memchr" => Box::new(memchr_summary),
        "copy-floor" => Box::new(parse::copy_floor),
        "minimal" => Box::new(parse::minimal_parser),
        "owned-output" => {
            let events = parse::EventRanges::of(input);
            Box::new(move |input, _| parse::owned_output(&events, input))
        }
        _ => Box::new(parse::eventsource_stream),
    }
}

/// Untimed runs before the timed one in `--parse-time`. glibc's allocator adapts to the first
/// large buffers a process frees (it raises its mmap threshold), so the first runs of a fresh
/// process each leave a different state; from the second on a run costs the same (checked
/// with 1, 2 and 5, counting page faults), which is what a long-running client sees.
const LONG_LINE_WARM_UPS: usize = 3;

/// `--parse-time WHO SIZE CHUNK`: parses a line of SIZE bytes [`LONG_LINE_WARM_UPS`] times
/// untimed, then once timed, and prints the seconds and the summary, tab-separated.
fn parse_time(who: &str, size: usize, chunk: usize) -> ExitCode {
    let corpus = corpus::long_line(size);
    let run = parse_fn(who, &corpus.bytes);
    for _ in 0..LONG_LINE_WARM_UPS {
        std::hint::black_box(run(&corpus.bytes, chunk));
    }
    let (secs, summary) = time(|| run(&corpus.bytes, chunk));
    println!(
        "{secs}\t{}\t{}\t{}\t{}",
        summary.events, summary.data_bytes, summary.retries, summary.last_id
    );
    ExitCode::SUCCESS
}

/// Runs `--parse-time` in a child process: the time and the summary.
fn parse_time_in_child(who: &str, size: usize, chunk: usize) -> Option<(f64, Summary)> {
    let output = std::process::Command::new(std::env::current_exe().ok()?)
        .args(["--parse-time", who, &size.to_string(), &chunk.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let mut fields = text.trim_end_matches('\n').splitn(5, '\t');
    let secs = fields.next()?.parse().ok()?;
    let summary = Summary {
        events: fields.next()?.parse().ok()?,
        data_bytes: fields.next()?.parse().ok()?,
        retries: fields.next()?.parse().ok()?,
        last_id: fields.next()?.to_owned(),
    };
    Some((secs, summary))
}

/// Times `f` once, in seconds.
fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = std::hint::black_box(f());
    (start.elapsed().as_secs_f64(), out)
}

fn check_summary(got: &Summary, expected: &Summary) -> String {
    if got == expected {
        "ok".to_owned()
    } else {
        format!(
            "{} events, {} data bytes, last id {:?}, {} retries; expected {}, {}, {:?}, {}",
            got.events,
            got.data_bytes,
            got.last_id,
            got.retries,
            expected.events,
            expected.data_bytes,
            expected.last_id,
            expected.retries
        )
    }
}

type ParseFn = Box<dyn Fn(&[u8], usize) -> Summary>;

struct ParseContender {
    name: &'static str,
    /// Its name for [`parse_fn`] and `--parse-time` (and `"memchr"` for the row that only
    /// counts events).
    key: &'static str,
    /// The corpus it runs on, when not the case's corpus (eventsource-stream on long lines).
    corpus: Option<Corpus>,
    note: String,
}

fn memchr_summary(input: &[u8], chunk: usize) -> Summary {
    Summary {
        events: parse::memchr_lines(input, chunk),
        ..Summary::default()
    }
}

/// The smallest chunk size: there the copy floor's per-call `memchr2` is no floor at all.
const TINY_CHUNK: usize = 7;

fn parse_section(options: &Options, records: &mut Vec<Record>) {
    let repeats = if options.quick { 3 } else { 7 };
    let mib = 1024 * 1024;
    let (token_size, large_size) = if options.quick {
        (2 * mib, 4 * mib)
    } else {
        (8 * mib, 16 * mib)
    };
    let long_size = 8 * mib;
    let corpora = [
        corpus::token_events(token_size),
        corpus::large_events(large_size),
        corpus::long_line(long_size),
    ];
    let small_long = corpus::long_line(mib);
    // The bytes around the long line itself (its field name, id and line endings).
    let framing = corpus::long_line(0).bytes.len();
    for corpus in &corpora {
        let long = corpus.name == "one long line";
        for chunk in [16 * 1024, 1500, TINY_CHUNK] {
            let case = if long {
                format!(
                    "one {} MiB line, {chunk} B chunks",
                    corpus.bytes.len() / mib
                )
            } else {
                format!(
                    "{}, {} MiB, {chunk} B chunks",
                    corpus.name,
                    corpus.bytes.len() / mib
                )
            };
            let mut contenders = vec![
                ParseContender {
                    name: "sse-client EventParser",
                    key: "ours",
                    corpus: None,
                    note: String::new(),
                },
                ParseContender {
                    name: "sse-core 0.2",
                    key: "sse-core",
                    corpus: None,
                    note: String::new(),
                },
                ParseContender {
                    name: "eventsource-stream 0.2",
                    key: "eventsource-stream",
                    corpus: None,
                    note: String::new(),
                },
                ParseContender {
                    name: "memchr line split (lower bound)",
                    key: "memchr",
                    corpus: None,
                    note: "counts events only".to_owned(),
                },
            ];
            if !long {
                contenders.push(ParseContender {
                    name: "owned strings only, events found beforehand (lower bound)",
                    key: "owned-output",
                    corpus: None,
                    note: "no scanning: allocate, copy, check UTF-8, free, per event".to_owned(),
                });
                contenders.push(ParseContender {
                    name: "minimal parser: memchr split + owned strings",
                    key: "minimal",
                    corpus: None,
                    note: "whole input as one chunk, no format rules".to_owned(),
                });
            } else {
                // Quadratic: run it on a line it finishes in well under a second.
                let size = match chunk {
                    16384 => mib,
                    1500 => 128 * 1024,
                    _ => 8 * 1024,
                };
                contenders[2].corpus = Some(corpus::long_line(size));
                contenders[2].note = format!(
                    "**on a {} KiB line only** (quadratic in the line length)",
                    size / 1024
                );
                if chunk > TINY_CHUNK {
                    contenders.push(ParseContender {
                        name: "memchr2 + copy + UTF-8 check (floor)",
                        key: "copy-floor",
                        corpus: None,
                        note: "the least a parser returning one string does".to_owned(),
                    });
                }
                contenders.push(ParseContender {
                    name: "sse-client EventParser (1 MiB line)",
                    key: "ours",
                    corpus: Some(small_long.clone()),
                    note: "per byte at least as fast as on 8 MiB: not quadratic".to_owned(),
                });
            }
            // On the long line each run is a child process that finds its contender by key.
            let runs: Vec<ParseFn> = if long {
                Vec::new()
            } else {
                contenders
                    .iter()
                    .map(|c| parse_fn(c.key, &c.corpus.as_ref().unwrap_or(corpus).bytes))
                    .collect()
            };
            let mut times = vec![Vec::with_capacity(repeats); contenders.len()];
            let mut checks = vec![String::new(); contenders.len()];
            for round in 0..repeats {
                // The starting contender rotates, and each timed run follows an untimed run of
                // the same contender: a parser must not pay for the allocator state the one
                // before it left. On the long line that is not enough (whether a freed 16 MiB
                // buffer is still mapped decides whether the next 8 MiB run page-faults
                // afresh), so there each run is in a fresh process of its own, after
                // `LONG_LINE_WARM_UPS` untimed runs.
                for k in 0..contenders.len() {
                    let i = (round + k) % contenders.len();
                    let contender = &contenders[i];
                    let input = contender.corpus.as_ref().unwrap_or(corpus);
                    let (secs, summary) = if long {
                        let line = input.bytes.len() - framing;
                        parse_time_in_child(contender.key, line, chunk)
                            .unwrap_or((f64::NAN, Summary::default()))
                    } else {
                        let run = &runs[i];
                        std::hint::black_box(run(&input.bytes, chunk));
                        time(|| run(&input.bytes, chunk))
                    };
                    times[i].push(secs);
                    if round == 0 {
                        checks[i] = if contender.key == "memchr" {
                            if summary.events == input.expected.events {
                                "ok".to_owned()
                            } else {
                                format!(
                                    "{} events, expected {}",
                                    summary.events, input.expected.events
                                )
                            }
                        } else {
                            check_summary(&summary, &input.expected)
                        };
                    }
                }
            }
            let ours_rate = corpus.bytes.len() as f64 / median(&times[0]);
            for (i, contender) in contenders.iter().enumerate() {
                let input = contender.corpus.as_ref().unwrap_or(corpus);
                let secs = median(&times[i]);
                let rate = input.bytes.len() as f64 / secs;
                let mut record = Record::new("Parse", &case, contender.name)
                    .metric("MB/s", rate / 1e6)
                    .metric("events/s", input.expected.events as f64 / secs)
                    .metric("ours ÷ this", ours_rate / rate);
                record.check.clone_from(&checks[i]);
                record.note.clone_from(&contender.note);
                eprintln!(
                    "parse | {case} | {} | {:.0} MB/s | {}",
                    contender.name,
                    rate / 1e6,
                    record.check
                );
                records.push(record);
            }
        }
    }
}

type EncodeFn = Box<dyn Fn(&mut dyn FnMut(&[u8])) -> usize>;

fn encode_section(options: &Options, records: &mut Vec<Record>) {
    let n = if options.quick { 100_000 } else { 500_000 };
    let repeats = if options.quick { 3 } else { 7 };
    let inputs = encode::small_events(n);
    let expected = encode::expected_bytes(&inputs);
    let prebuilt = Arc::new(encode::build_ours(&inputs));
    let contenders: Vec<(&str, &str, EncodeFn)> = vec![
        (
            "sse-axum Event → SseStream body",
            "build + encode + body frame",
            {
                let inputs = Arc::clone(&inputs);
                Box::new(move |sink| encode::ours_body(&inputs, sink))
            },
        ),
        (
            "axum Event → axum Sse body",
            "build + encode + body frame",
            {
                let inputs = Arc::clone(&inputs);
                Box::new(move |sink| encode::axum_body(&inputs, sink))
            },
        ),
        ("sse-axum Event build + to_bytes", "no body", {
            let inputs = Arc::clone(&inputs);
            Box::new(move |sink| encode::ours_direct(&inputs, sink))
        }),
        ("sse-axum Event::to_bytes", "events built beforehand", {
            let prebuilt = Arc::clone(&prebuilt);
            Box::new(move |sink| encode::ours_to_bytes(&prebuilt, sink))
        }),
        (
            "put_slice into BytesMut (floor)",
            "no validation, no body",
            {
                let inputs = Arc::clone(&inputs);
                Box::new(move |sink| encode::put_slice(&inputs, sink))
            },
        ),
    ];
    let case = format!("{n} events of ~{} B", expected.len() / n);
    let mut checks = Vec::new();
    for (_, _, run) in &contenders {
        let mut out = Vec::with_capacity(expected.len());
        let count = run(&mut |bytes: &[u8]| out.extend_from_slice(bytes));
        // Frames may hold several events: the bytes are what counts.
        checks.push(if out == expected && count > 0 {
            "ok".to_owned()
        } else {
            format!(
                "{} bytes in {count} frames, expected {}",
                out.len(),
                expected.len()
            )
        });
    }
    let mut times = vec![Vec::new(); contenders.len()];
    for round in 0..repeats {
        // As for parsing: rotate the order and warm each contender up right before its timed
        // run, so none is timed on the allocator state another left behind.
        for k in 0..contenders.len() {
            let i = (round + k) % contenders.len();
            let run = &contenders[i].2;
            let mut total = 0_usize;
            run(&mut |bytes: &[u8]| total += bytes.len());
            let (secs, _) = time(|| run(&mut |bytes: &[u8]| total += bytes.len()));
            std::hint::black_box(total);
            times[i].push(secs);
        }
    }
    let ours = n as f64 / median(&times[0]);
    for (i, (name, note, _)) in contenders.iter().enumerate() {
        let rate = n as f64 / median(&times[i]);
        let mut record = Record::new("Encode", &case, name)
            .metric("events/s", rate)
            .metric("ours ÷ this", ours / rate);
        record.check.clone_from(&checks[i]);
        (*note).clone_into(&mut record.note);
        eprintln!("encode | {name} | {:.2} M/s | {}", rate / 1e6, record.check);
        records.push(record);
    }
}

async fn e2e_section(options: &Options, records: &mut Vec<Record>) {
    let n: u64 = if options.quick { 100_000 } else { 500_000 };
    let repeats = if options.quick { 2 } else { 3 };
    let (Ok(ours), Ok(axum)) = (e2e::serve(true).await, e2e::serve(false).await) else {
        eprintln!("e2e: cannot bind a listener");
        return;
    };
    let expected = e2e::expected(n);
    let body_len = e2e::expected_body_len(n);
    let (ours_url, axum_url) = (e2e::url(ours, n), e2e::url(axum, n));
    let names = [
        ("sse-axum SseStream → sse-client Client", ""),
        (
            "axum Sse → sse-reqwest-client",
            "retry applied inside, not reported",
        ),
        ("axum Sse → reqwest + eventsource-stream", ""),
        (
            "sse-axum SseStream → reqwest + sse-client EventStream",
            "no reconnect layer",
        ),
        (
            "axum Sse → reqwest bytes (ceiling)",
            "bytes counted, nothing parsed",
        ),
        (
            "sse-axum SseStream → reqwest bytes (ceiling)",
            "bytes counted, nothing parsed",
        ),
    ];
    let mut times = vec![Vec::new(); names.len()];
    let mut checks = vec![String::new(); names.len()];
    for round in 0..repeats {
        for i in 0..names.len() {
            let start = Instant::now();
            let check = match i {
                0 => check_summary(&e2e::ours_client(&ours_url, n).await, &expected),
                1 => check_summary(&e2e::sse_reqwest_client(&axum_url, n).await, &expected),
                2 => check_summary(&e2e::eventsource_stream(&axum_url).await, &expected),
                3 => check_summary(&e2e::ours_event_stream(&ours_url).await, &expected),
                4 | 5 => {
                    let url = if i == 4 { &axum_url } else { &ours_url };
                    let got = e2e::raw_bytes(url).await;
                    if got == body_len {
                        "ok".to_owned()
                    } else {
                        format!("{got} bytes, expected {body_len}")
                    }
                }
                _ => String::new(),
            };
            times[i].push(start.elapsed().as_secs_f64());
            if round == 0 || check != "ok" {
                checks[i] = check;
            }
        }
    }
    let ours_rate = n as f64 / median(&times[0]);
    for (i, (name, note)) in names.iter().enumerate() {
        let rate = n as f64 / median(&times[i]);
        let mut record = Record::new("End to end, one stream", &format!("{n} small events"), name)
            .metric("events/s", rate)
            .metric("ours ÷ this", ours_rate / rate);
        record.check.clone_from(&checks[i]);
        (*note).clone_into(&mut record.note);
        eprintln!("e2e | {name} | {:.2} M/s | {}", rate / 1e6, record.check);
        records.push(record);
    }
}

async fn fanout_section(options: &Options, records: &mut Vec<Record>) {
    let sizes: &[usize] = if let Some(sizes) = &options.fanout_sizes {
        sizes
    } else if options.quick {
        &[1000]
    } else {
        &[1000, 5000, 10_000]
    };
    for &subscribers in sizes {
        let plan = fanout::Plan {
            subscribers,
            // 100: one publish slowed by something else on the machine holds 1% of the
            // deliveries, not enough to be the p99 on its own (with 30 it was: a stalled
            // p99 of 163 ms against 91 and 100 ms in two reruns of the same row).
            latency_events: if options.quick { 10 } else { 100 },
            rate: 10,
            burst_events: 100,
            filler_events: 300,
            settle: Duration::from_millis(if options.quick { 500 } else { 1000 }),
        };
        let case = format!("{subscribers} subscribers, {} publishes/s", plan.rate);
        let wanted = |name: &str| {
            options
                .fanout_kinds
                .as_ref()
                .is_none_or(|kinds| kinds.iter().any(|kind| kind == name))
        };
        for kind in fanout::ServerKind::ALL {
            if !wanted(kind.name()) {
                continue;
            }
            let mut record = Record::new("Fan-out", &case, kind.describe());
            kind.note().clone_into(&mut record.note);
            match fanout::run(kind, plan).await {
                Ok(outcome) => {
                    let [p50, p99, max] = outcome.latency_ms;
                    record = record
                        .metric("delivered/s", outcome.delivered_per_sec)
                        .metric("p50 ms", p50)
                        .metric("p99 ms", p99)
                        .metric("max ms", max)
                        .metric("KiB/conn", outcome.kib_per_connection)
                        .metric("p99 ms, 10% stalled", outcome.stalled_p99_ms)
                        .metric("stalled ÷ normal p99", outcome.stalled_p99_ms / p99)
                        .metric("server CPU µs/delivery", outcome.cpu_us_per_delivery[0])
                        .metric("clients CPU µs/delivery", outcome.cpu_us_per_delivery[1]);
                    if !outcome.problems.is_empty() {
                        record.check = outcome.problems.join("; ");
                    }
                }
                Err(error) => record.check = format!("run failed: {error}"),
            }
            eprintln!(
                "fanout | {case} | {} | {:?} | {}",
                kind.describe(),
                record.metrics,
                record.check
            );
            records.push(record);
        }
        if wanted("in-process") {
            // The hub's own share: the same publishes, the response bodies polled in this
            // process, no sockets and no HTTP.
            let outcome = fanout::in_process(subscribers, plan.latency_events, plan.rate).await;
            let [p50, p99, max] = outcome.latency_ms;
            let mut record = Record::new("Fan-out", &case, "sse-axum Hub, in process (no sockets)")
                .metric("p50 ms", p50)
                .metric("p99 ms", p99)
                .metric("max ms", max)
                .metric("server CPU µs/delivery", outcome.cpu_us_per_delivery);
            "hub and readers in one process: the CPU column counts both"
                .clone_into(&mut record.note);
            eprintln!("fanout | {case} | in process | {:?}", record.metrics);
            records.push(record);
        }
    }
}
