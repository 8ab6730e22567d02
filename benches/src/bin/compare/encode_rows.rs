//! The encode comparison: events built from an id and data and turned into wire bytes, by our
//! `Event` and axum's, through each responder's body and on their own.

use std::process::ExitCode;
use std::sync::Arc;

use sse_benches::encode::{self, Input};
use sse_benches::report::{Record, median};

use crate::cli::Options;
use crate::time;

type EncodeFn = Box<dyn Fn(&mut dyn FnMut(&[u8])) -> usize>;

/// An encoder run over all the inputs, writing into a sink.
type Encoder = fn(&Arc<[Input]>, &mut dyn FnMut(&[u8])) -> usize;

/// One contender: its name in the table, its note, and a run over all the inputs.
struct Contender {
    name: &'static str,
    key: &'static str,
    note: &'static str,
    run: EncodeFn,
}

/// The contenders, each over `inputs`.
fn contenders(inputs: &Arc<[Input]>) -> Vec<Contender> {
    let prebuilt = Arc::new(encode::build_ours(inputs));
    let over = |f: Encoder| -> EncodeFn {
        let inputs = Arc::clone(inputs);
        Box::new(move |sink| f(&inputs, sink))
    };
    vec![
        Contender {
            name: "sse-axum Event → SseStream body",
            key: "ours-body",
            note: "build + encode + body frame",
            run: over(|inputs, sink| encode::ours_body(inputs, sink)),
        },
        Contender {
            name: "axum Event → axum Sse body",
            key: "axum-body",
            note: "build + encode + body frame",
            run: over(|inputs, sink| encode::axum_body(inputs, sink)),
        },
        Contender {
            name: "sse-axum Event build + to_bytes",
            key: "ours-direct",
            note: "no body",
            run: over(|inputs, sink| encode::ours_direct(inputs, sink)),
        },
        Contender {
            name: "sse-axum Event::to_bytes",
            key: "ours-to-bytes",
            note: "events built beforehand",
            run: Box::new(move |sink| encode::ours_to_bytes(&prebuilt, sink)),
        },
        Contender {
            name: "put_slice into BytesMut (floor)",
            key: "floor",
            note: "no validation, no body",
            run: over(|inputs, sink| encode::put_slice(inputs, sink)),
        },
    ]
}

/// The cases: `(name, inputs)`.
fn cases(quick: bool) -> Vec<(String, Arc<[Input]>)> {
    // About the same bytes of inputs in both cases (30-45 MB): more than the caches hold.
    let (small, many) = if quick {
        (100_000, 2_000)
    } else {
        (500_000, 10_000)
    };
    let small_inputs = encode::small_events(small);
    let many_inputs = encode::many_line_events(many);
    let per_event = |inputs: &[Input]| encode::expected_bytes(inputs).len() / inputs.len().max(1);
    vec![
        (
            format!("{small} events of ~{} B", per_event(&small_inputs)),
            small_inputs,
        ),
        (
            format!(
                "{many} events of ~{} B in 52 data lines",
                per_event(&many_inputs)
            ),
            many_inputs,
        ),
    ]
}

/// The check of each contender: the bytes it wrote against the expected ones.
fn checks(contenders: &[Contender], expected: &[u8]) -> Vec<String> {
    contenders
        .iter()
        .map(|contender| {
            let mut out = Vec::with_capacity(expected.len());
            let count = (contender.run)(&mut |bytes: &[u8]| out.extend_from_slice(bytes));
            // Frames may hold several events: the bytes are what counts.
            if out == expected && count > 0 {
                "ok".to_owned()
            } else {
                format!(
                    "{} bytes in {count} frames, expected {}",
                    out.len(),
                    expected.len()
                )
            }
        })
        .collect()
}

/// The times of each contender, `repeats` rounds interleaved.
fn measure(contenders: &[Contender], repeats: usize) -> Vec<Vec<f64>> {
    let mut times = vec![Vec::new(); contenders.len()];
    for round in 0..repeats {
        // As for parsing: rotate the order and warm each contender up right before its timed
        // run, so none is timed on the allocator state another left behind.
        for k in 0..contenders.len() {
            let i = (round + k) % contenders.len();
            let run = &contenders[i].run;
            let mut total = 0_usize;
            run(&mut |bytes: &[u8]| total += bytes.len());
            let (secs, _) = time(|| run(&mut |bytes: &[u8]| total += bytes.len()));
            std::hint::black_box(total);
            times[i].push(secs);
        }
    }
    times
}

/// Measures both cases; one record per contender and case. Needs a runtime entered (the
/// bodies create timers).
pub(crate) fn section(options: &Options, records: &mut Vec<Record>) {
    let repeats = if options.quick { 3 } else { 7 };
    for (case, inputs) in cases(options.quick) {
        let n = inputs.len();
        let contenders = contenders(&inputs);
        let checks = checks(&contenders, &encode::expected_bytes(&inputs));
        drop(inputs);
        let times = measure(&contenders, repeats);
        let ours = n as f64 / median(&times[0]);
        for ((contender, times), check) in contenders.iter().zip(&times).zip(checks) {
            let rate = n as f64 / median(times);
            let mut record = Record::new("Encode", &case, contender.name)
                .metric("events/s", rate)
                .metric("ours ÷ this", ours / rate);
            record.check = check;
            contender.note.clone_into(&mut record.note);
            eprintln!(
                "encode | {case} | {} | {:.2} M/s | {}",
                contender.name,
                rate / 1e6,
                record.check
            );
            records.push(record);
        }
    }
}

/// `--encode-once CASE WHO [REPEAT [EVENTS]]` (CASE `small` or `many-lines`, WHO a
/// contender's key): one contender `repeat` times over `events` events (default: as many as a
/// full run), for profilers. Needs a runtime entered.
pub(crate) fn encode_once(case: &str, who: &str, repeat: usize, events: Option<usize>) -> ExitCode {
    let inputs = if case == "small" {
        encode::small_events(events.unwrap_or(500_000))
    } else {
        encode::many_line_events(events.unwrap_or(10_000))
    };
    let Some(contender) = contenders(&inputs).into_iter().find(|c| c.key == who) else {
        eprintln!("unknown contender {who:?}");
        return ExitCode::FAILURE;
    };
    let mut total = 0_usize;
    for _ in 0..repeat.max(1) {
        (contender.run)(&mut |bytes: &[u8]| total += bytes.len());
    }
    println!("{total} bytes");
    ExitCode::SUCCESS
}
