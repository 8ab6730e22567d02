//! The parse comparison: every corpus at three chunk sizes, the contenders interleaved, and the
//! child-process modes the long line needs (`--parse-time`) and profilers use (`--parse-once`).

use std::process::ExitCode;

use sse_benches::corpus::{self, Corpus, Summary};
use sse_benches::parse;
use sse_benches::report::{Record, median};

use crate::cli::Options;
use crate::{check_summary, time};

type ParseFn = Box<dyn Fn(&[u8], usize) -> Summary>;

/// The corpus called `which` on the command line, for profilers.
fn corpus_named(which: &str) -> Corpus {
    match which {
        "token" => corpus::token_events(2 << 20),
        "small-json" => corpus::small_json_events(2 << 20),
        "crlf" => corpus::crlf_mixed(2 << 20),
        "large" => corpus::large_events(4 << 20),
        _ => corpus::long_line(8 << 20),
    }
}

/// `--parse-once WHO CORPUS CHUNK [REPEAT]`: parses one corpus `repeat` times (so that a
/// sampling profiler sees enough of it) and prints the check.
pub(crate) fn parse_once(who: &str, which: &str, chunk: usize, repeat: usize) -> ExitCode {
    let corpus = corpus_named(which);
    let run = parse_fn(who, &corpus.bytes, chunk);
    for _ in 1..repeat {
        std::hint::black_box(run(&corpus.bytes, chunk));
    }
    let summary = run(&corpus.bytes, chunk);
    println!("{}", check_summary(&summary, &corpus.expected));
    ExitCode::SUCCESS
}

/// The contender `who` (its key in the table), ready to run on `input` in chunks of `chunk`
/// bytes.
fn parse_fn(who: &str, input: &[u8], chunk: usize) -> ParseFn {
    match who {
        // Its chunks are made here, outside the timing.
        "ours" => {
            let chunks = parse::bytes_chunks(input, chunk);
            Box::new(move |_, _| parse::ours(&chunks))
        }
        "ours-slices" => Box::new(parse::ours_slices),
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
pub(crate) fn parse_time(who: &str, size: usize, chunk: usize) -> ExitCode {
    let corpus = corpus::long_line(size);
    let run = parse_fn(who, &corpus.bytes, chunk);
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

struct ParseContender {
    name: &'static str,
    /// Its name for [`parse_fn`] and `--parse-time` (and `"memchr"` for the row that only
    /// counts events).
    key: &'static str,
    /// The corpus it runs on, when not the case's corpus (eventsource-stream on long lines).
    corpus: Option<Corpus>,
    note: String,
}

impl ParseContender {
    fn new(name: &'static str, key: &'static str, note: &str) -> Self {
        Self {
            name,
            key,
            corpus: None,
            note: note.to_owned(),
        }
    }
}

fn memchr_summary(input: &[u8], chunk: usize) -> Summary {
    Summary {
        events: parse::memchr_lines(input, chunk),
        ..Summary::default()
    }
}

/// The smallest chunk size: there the copy floor's per-call `memchr2` is no floor at all.
const TINY_CHUNK: usize = 7;

const MIB: usize = 1024 * 1024;

/// The corpora of the parse table, in table order.
fn corpora(options: &Options) -> Vec<Corpus> {
    let (event_size, large_size) = if options.quick {
        (2 * MIB, 4 * MIB)
    } else {
        (8 * MIB, 16 * MIB)
    };
    vec![
        corpus::token_events(event_size),
        corpus::small_json_events(event_size),
        corpus::crlf_mixed(event_size),
        corpus::large_events(large_size),
        corpus::long_line(8 * MIB),
    ]
}

/// Whether `corpus` is the long line (timed in child processes, with its own contenders).
fn is_long(corpus: &Corpus) -> bool {
    corpus.name == "one long line"
}

/// The table's name of one case.
fn case_name(corpus: &Corpus, chunk: usize) -> String {
    if is_long(corpus) {
        format!(
            "one {} MiB line, {chunk} B chunks",
            corpus.bytes.len() / MIB
        )
    } else {
        format!(
            "{}, {} MiB, {chunk} B chunks",
            corpus.name,
            corpus.bytes.len() / MIB
        )
    }
}

/// The contenders of one case: the three parsers and the lower bounds that fit the corpus.
fn contenders(corpus: &Corpus, chunk: usize, small_long: &Corpus) -> Vec<ParseContender> {
    let mut contenders = vec![
        ParseContender::new(
            "sse-client EventParser",
            "ours",
            "`Bytes` chunks (`next_item_shared`, as `EventStream` and `Client`)",
        ),
        ParseContender::new(
            "sse-client EventParser, slices",
            "ours-slices",
            "borrowed slices (`next_item`): events copy their data",
        ),
        ParseContender::new("sse-core 0.2", "sse-core", ""),
        ParseContender::new("eventsource-stream 0.2", "eventsource-stream", ""),
        ParseContender::new(
            "memchr line split (lower bound)",
            "memchr",
            "counts events only",
        ),
    ];
    if !is_long(corpus) {
        contenders.push(ParseContender::new(
            "owned strings only, events found beforehand (lower bound)",
            "owned-output",
            "no scanning: allocate, copy, check UTF-8, free, per event",
        ));
        contenders.push(ParseContender::new(
            "minimal parser: memchr split + owned strings",
            "minimal",
            "whole input as one chunk, no format rules",
        ));
        return contenders;
    }
    // Quadratic: run it on a line it finishes in well under a second.
    let size = match chunk {
        16384 => MIB,
        1500 => 128 * 1024,
        _ => 8 * 1024,
    };
    contenders[3].corpus = Some(corpus::long_line(size));
    contenders[3].note = format!(
        "**on a {} KiB line only** (quadratic in the line length)",
        size / 1024
    );
    if chunk > TINY_CHUNK {
        contenders.push(ParseContender::new(
            "memchr2 + copy + UTF-8 check (floor)",
            "copy-floor",
            "the least a parser returning one string does",
        ));
    }
    contenders.push(ParseContender {
        corpus: Some(small_long.clone()),
        ..ParseContender::new(
            "sse-client EventParser (1 MiB line)",
            "ours",
            "per byte at least as fast as on 8 MiB: not quadratic",
        )
    });
    contenders
}

/// The check of one contender's output: the whole summary, or the event count for the row
/// that only counts.
fn check(contender: &ParseContender, summary: &Summary, expected: &Summary) -> String {
    if contender.key != "memchr" {
        return check_summary(summary, expected);
    }
    if summary.events == expected.events {
        "ok".to_owned()
    } else {
        format!("{} events, expected {}", summary.events, expected.events)
    }
}

/// Times every contender of one case `repeats` times, interleaved; returns the times and the
/// checks of the first round.
fn measure_case(
    corpus: &Corpus,
    chunk: usize,
    contenders: &[ParseContender],
    repeats: usize,
) -> (Vec<Vec<f64>>, Vec<String>) {
    // The bytes around the long line itself (its field name, id and line endings).
    let framing = corpus::long_line(0).bytes.len();
    let long = is_long(corpus);
    // On the long line each run is a child process that finds its contender by key.
    let runs: Vec<ParseFn> = if long {
        Vec::new()
    } else {
        contenders
            .iter()
            .map(|c| parse_fn(c.key, &c.corpus.as_ref().unwrap_or(corpus).bytes, chunk))
            .collect()
    };
    let mut times = vec![Vec::with_capacity(repeats); contenders.len()];
    let mut checks = vec![String::new(); contenders.len()];
    for round in 0..repeats {
        // The starting contender rotates, and each timed run follows an untimed run of the
        // same contender: a parser must not pay for the allocator state the one before it
        // left. On the long line that is not enough (whether a freed 16 MiB buffer is still
        // mapped decides whether the next 8 MiB run page-faults afresh), so there each run is
        // in a fresh process of its own, after `LONG_LINE_WARM_UPS` untimed runs.
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
                checks[i] = check(contender, &summary, &input.expected);
            }
        }
    }
    (times, checks)
}

/// Measures every corpus at every chunk size; one record per contender and case.
pub(crate) fn section(options: &Options, records: &mut Vec<Record>) {
    let repeats = if options.quick { 3 } else { 7 };
    let small_long = corpus::long_line(MIB);
    for corpus in &corpora(options) {
        for chunk in [16 * 1024, 1500, TINY_CHUNK] {
            let case = case_name(corpus, chunk);
            let contenders = contenders(corpus, chunk, &small_long);
            let (times, checks) = measure_case(corpus, chunk, &contenders, repeats);
            let ours_rate = corpus.bytes.len() as f64 / median(&times[0]);
            for ((contender, times), check) in contenders.iter().zip(&times).zip(checks) {
                let input = contender.corpus.as_ref().unwrap_or(corpus);
                let secs = median(times);
                let rate = input.bytes.len() as f64 / secs;
                let mut record = Record::new("Parse", &case, contender.name)
                    .metric("MB/s", rate / 1e6)
                    .metric("events/s", input.expected.events as f64 / secs)
                    .metric("ours ÷ this", ours_rate / rate);
                record.check = check;
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
