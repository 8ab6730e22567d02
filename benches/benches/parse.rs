//! Criterion: the parsers side by side on the three corpora, in chunks of 16 KiB, 1500 and 7
//! bytes. `eventsource-stream` is quadratic on long lines: it reads a 64 KiB line there.

#![allow(missing_docs)] // criterion_group! defines an undocumented function

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sse_benches::{corpus, parse};

fn parsers(c: &mut Criterion) {
    let corpora = [
        ("token", corpus::token_events(1 << 20)),
        ("large", corpus::large_events(2 << 20)),
        ("long-line", corpus::long_line(8 << 20)),
    ];
    let short_long = corpus::long_line(64 << 10);
    for (name, corpus) in &corpora {
        let mut group = c.benchmark_group(format!("parse/{name}"));
        group.sample_size(10);
        for chunk in [16 * 1024, 1500, 7] {
            group.throughput(Throughput::Bytes(corpus.bytes.len() as u64));
            let bytes = &corpus.bytes;
            let chunks = parse::bytes_chunks(bytes, chunk);
            assert_eq!(parse::ours(&chunks), corpus.expected);
            group.bench_with_input(BenchmarkId::new("sse-client", chunk), &chunk, |b, _| {
                b.iter(|| parse::ours(&chunks));
            });
            group.bench_with_input(BenchmarkId::new("sse-core", chunk), &chunk, |b, &chunk| {
                b.iter(|| parse::sse_core(bytes, chunk));
            });
            group.bench_with_input(
                BenchmarkId::new("memchr-lines", chunk),
                &chunk,
                |b, &chunk| {
                    b.iter(|| parse::memchr_lines(bytes, chunk));
                },
            );
            let (label, input) = if *name == "long-line" {
                ("eventsource-stream (64 KiB line)", &short_long)
            } else {
                ("eventsource-stream", corpus)
            };
            group.throughput(Throughput::Bytes(input.bytes.len() as u64));
            group.bench_with_input(BenchmarkId::new(label, chunk), &chunk, |b, &chunk| {
                b.iter(|| parse::eventsource_stream(&input.bytes, chunk));
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = parsers
}
criterion_main!(benches);
