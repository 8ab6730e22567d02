//! Runs every comparison in one process, interleaving the contenders and repeating, and
//! prints a markdown table of medians and ratios.
//!
//! ```text
//! cargo run -p sse-benches --release --bin compare -- [--quick] [--json PATH] [--html PATH]
//!     [--only SECTION,...] [--fanout-sizes N,...] [--fanout-rates R,...] [--fanout-kinds KIND,...]
//! ```
//!
//! Sections: `parse`, `encode`, `e2e`, `fanout`, `redis` (latency across two hub instances
//! through a `redis-server` the binary starts; skipped when it is not installed). `--quick`
//! keeps a run short (smaller corpora, fewer repeats, 1000 subscribers). `--json` and `--html`
//! write the records as JSON and as a self-contained page of bar charts of the ratios.
//! `--serve KIND` is the fan-out server role the binary starts itself in (see
//! `sse_benches::fanout`). `--fanout-sizes 10000` runs the fan-out at these subscriber counts
//! only (default 1000, 5000, 10000 at 10 publishes/s and 1000, 5000 at 200/s; 1000 with
//! `--quick`), `--fanout-rates 200` at these rates only (default 10 and 200), and
//! `--fanout-kinds hub,hub-http1` against these servers only (default all but
//! `hub-http1-nagle`: `hub`, `hub-nodelay`, `hub-http1`, `broadcast`, `broadcast-nodelay`,
//! `raw-writes` (the floor: one socket write per subscriber, no HTTP stack) and `in-process`,
//! the hub's bodies polled in this process without sockets).
//!
//! For profilers: `--parse-once WHO CORPUS CHUNK [REPEAT]`, `--encode-once CASE WHO [REPEAT [EVENTS]]`,
//! `--e2e-once CLIENT EVENTS [REPEAT]`.
//!
//! The sections live in their own modules: `parse_rows`, `encode_rows`, `e2e_rows`,
//! `fanout_rows`, `redis_rows`; the command line in `cli`.

mod cli;
mod e2e_rows;
mod encode_rows;
mod fanout_rows;
mod parse_rows;
mod redis_rows;

use std::process::ExitCode;
use std::time::Instant;

use sse_benches::corpus::Summary;
use sse_benches::fanout;
use sse_benches::report::{self, Record};

use cli::{Command, Options};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    // The modes that need no runtime.
    match &command {
        Command::ParseTime { who, size, chunk } => {
            return parse_rows::parse_time(who, *size, *chunk);
        }
        Command::ParseOnce {
            who,
            which,
            chunk,
            repeat,
        } => return parse_rows::parse_once(who, which, *chunk, *repeat),
        _ => {}
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
    match command {
        Command::Serve(kind) => serve(&runtime, &kind),
        Command::EncodeOnce {
            case,
            who,
            repeat,
            events,
        } => {
            let _guard = runtime.enter();
            encode_rows::encode_once(&case, &who, repeat, events)
        }
        Command::E2eOnce {
            who,
            events,
            repeat,
        } => runtime.block_on(e2e_rows::e2e_once(&who, events, repeat)),
        Command::Compare(options) => compare(&runtime, &options),
        Command::ParseTime { .. } | Command::ParseOnce { .. } => ExitCode::SUCCESS,
    }
}

/// The fan-out server role.
fn serve(runtime: &tokio::runtime::Runtime, kind: &str) -> ExitCode {
    let Some(kind) = fanout::ServerKind::from_name(kind) else {
        eprintln!("unknown server kind {kind:?}");
        return ExitCode::FAILURE;
    };
    match runtime.block_on(fanout::serve(kind)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the sections, prints the tables and writes the files asked for; fails when a
/// contender's output was wrong.
fn compare(runtime: &tokio::runtime::Runtime, options: &Options) -> ExitCode {
    let started = Instant::now();
    let mut records = Vec::new();
    if options.runs("parse") {
        parse_rows::section(options, &mut records);
    }
    if options.runs("encode") {
        let _guard = runtime.enter();
        encode_rows::section(options, &mut records);
    }
    if options.runs("e2e") {
        runtime.block_on(e2e_rows::section(options, &mut records));
    }
    if options.runs("fanout") {
        runtime.block_on(fanout_rows::section(options, &mut records));
    }
    let redis_table = if options.runs("redis") {
        runtime.block_on(redis_rows::section(options))
    } else {
        None
    };
    println!("{}", report::markdown(&records));
    if let Some(table) = &redis_table {
        println!("\n**Across instances through Redis**\n\n{table}");
    }
    println!(
        "\n{} run in {:.1} s",
        if options.quick { "quick" } else { "full" },
        started.elapsed().as_secs_f64()
    );
    if !write_files(options, &records) {
        return ExitCode::FAILURE;
    }
    let wrong = records.iter().filter(|r| r.check != "ok").count();
    if wrong > 0 {
        // The table is printed either way; the exit status lets CI notice a broken harness.
        eprintln!("{wrong} contenders gave wrong output (marked in the table)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Writes the JSON and HTML files asked for; false if one cannot be written.
fn write_files(options: &Options, records: &[Record]) -> bool {
    let mut ok = true;
    let mut write = |path: &str, text: String| {
        if let Err(error) = std::fs::write(path, text) {
            eprintln!("cannot write {path}: {error}");
            ok = false;
        }
    };
    if let Some(path) = &options.json {
        let json = report::json(records);
        write(
            path,
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        );
    }
    if let Some(path) = &options.html {
        let mode = if options.quick { "quick" } else { "full" };
        write(
            path,
            report::html(records, &format!("compare ({mode} run)")),
        );
    }
    ok
}

/// Times `f` once, in seconds.
fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = std::hint::black_box(f());
    (start.elapsed().as_secs_f64(), out)
}

/// `ok`, or how `got` differs from `expected`.
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
