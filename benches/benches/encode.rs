//! Criterion: small events (about 60 bytes) turned into wire bytes by our `Event` and axum's,
//! through each responder's body and directly.

#![allow(missing_docs)] // criterion_group! defines an undocumented function

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sse_benches::encode;

/// One encoder run over all inputs, writing into a sink.
type Run = fn(&Arc<[encode::Input]>, &mut dyn FnMut(&[u8])) -> usize;

fn encoders(c: &mut Criterion) {
    const N: usize = 10_000;
    let inputs = encode::small_events(N);
    let prebuilt = encode::build_ours(&inputs);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let mut group = c.benchmark_group("encode/small");
    group.throughput(Throughput::Elements(N as u64));
    let count = |inputs: &Arc<[encode::Input]>, f: Run| {
        let mut total = 0;
        f(inputs, &mut |bytes| total += bytes.len());
        total
    };
    group.bench_function("sse-axum SseStream body", |b| {
        b.iter(|| count(&inputs, |i, sink| encode::ours_body(i, sink)));
    });
    group.bench_function("axum Sse body", |b| {
        b.iter(|| count(&inputs, |i, sink| encode::axum_body(i, sink)));
    });
    group.bench_function("sse-axum build + to_bytes", |b| {
        b.iter(|| count(&inputs, |i, sink| encode::ours_direct(i, sink)));
    });
    group.bench_function("sse-axum to_bytes", |b| {
        b.iter(|| {
            let mut total = 0;
            encode::ours_to_bytes(&prebuilt, |bytes| total += bytes.len());
            total
        });
    });
    group.bench_function("put_slice floor", |b| {
        b.iter(|| count(&inputs, |i, sink| encode::put_slice(i, sink)));
    });
    group.finish();
}

/// The size the `compare` binary measures (500k events, about 30 MB of wire bytes and 60 MB of
/// inputs): larger than the caches, so it also shows memory effects the small group hides.
/// Useful with `--profile-time` under `perf record`.
fn encoders_compare_size(c: &mut Criterion) {
    const N: usize = 500_000;
    let inputs = encode::small_events(N);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let mut group = c.benchmark_group("encode/500k");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("sse-axum SseStream body", |b| {
        b.iter(|| {
            encode::ours_body(&inputs, |bytes| {
                std::hint::black_box(bytes);
            })
        });
    });
    group.bench_function("axum Sse body", |b| {
        b.iter(|| {
            encode::axum_body(&inputs, |bytes| {
                std::hint::black_box(bytes);
            })
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = encoders, encoders_compare_size
}
criterion_main!(benches);
