//! The fan-out comparison: each server kind at each subscriber count and publish rate, and
//! the hub in process; each row's p99 and server CPU set against the best recipe set-up and
//! the floor of the same case.

use std::time::Duration;

use sse_benches::fanout::{self, ServerKind};
use sse_benches::report::{Metric, Record};

use crate::cli::Options;

/// The subscriber counts measured at `rate` publishes per second.
fn sizes(options: &Options, rate: u64) -> Vec<usize> {
    if let Some(sizes) = &options.fanout_sizes {
        return sizes.clone();
    }
    match (options.quick, rate) {
        (true, _) => vec![1000],
        (false, 10) => vec![1000, 5000, 10_000],
        // 10,000 subscribers at 200/s is 2 M deliveries a second: past what the two cores
        // deliver, the latency would measure the backlog.
        (false, _) => vec![1000, 5000],
    }
}

/// The plan of one case.
fn plan(options: &Options, subscribers: usize, rate: u64) -> fanout::Plan {
    // 100 at 10/s: one publish slowed by something else on the machine holds 1% of the
    // deliveries, not enough to be the p99 on its own (with 30 it was: a stalled p99 of
    // 163 ms against 91 and 100 ms in two reruns of the same row). At 200/s, the same 10
    // seconds would be 2000 publishes; 400 (2 s) keep the run bounded.
    let latency_events = match (options.quick, rate) {
        (true, 10) => 10,
        (true, _) => 40,
        (false, 10) => 100,
        (false, _) => 400,
    };
    fanout::Plan {
        subscribers,
        latency_events,
        rate,
        burst_events: 100,
        filler_events: 300,
        settle: Duration::from_millis(if options.quick { 500 } else { 1000 }),
    }
}

/// One server kind in one case.
async fn server_row(kind: ServerKind, plan: fanout::Plan, case: &str) -> Record {
    let mut record = Record::new("Fan-out", case, kind.describe());
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
    record
}

/// The hub's own share: the same publishes, the response bodies polled in this process, no
/// sockets and no HTTP.
async fn in_process_row(plan: fanout::Plan, case: &str) -> Record {
    let outcome = fanout::in_process(plan.subscribers, plan.latency_events, plan.rate).await;
    let [p50, p99, max] = outcome.latency_ms;
    let mut record = Record::new("Fan-out", case, "sse-axum Hub, in process (no sockets)")
        .metric("p50 ms", p50)
        .metric("p99 ms", p99)
        .metric("max ms", max)
        .metric("server CPU µs/delivery", outcome.cpu_us_per_delivery);
    "hub and readers in one process: the CPU column counts both".clone_into(&mut record.note);
    eprintln!("fanout | {case} | in process | {:?}", record.metrics);
    record
}

/// Adds to each row of one case its p99 over the best recipe set-up's and its server CPU
/// over the floor's, where those rows were measured.
fn relate(rows: &mut [Record]) {
    let best_recipe = rows
        .iter()
        .filter(|r| {
            ServerKind::ALL
                .iter()
                .any(|k| k.is_recipe() && k.describe() == r.contender)
        })
        .filter_map(|r| r.get("p99 ms"))
        .min_by(f64::total_cmp);
    let floor_cpu = rows
        .iter()
        .find(|r| r.contender == ServerKind::RawWrites.describe())
        .and_then(|r| r.get("server CPU µs/delivery"));
    for row in rows {
        if let (Some(best), Some(p99)) = (best_recipe, row.get("p99 ms"))
            && row.get("delivered/s").is_some()
        {
            row.metrics
                .push(("p99 ÷ best recipe".to_owned(), Metric::Value(p99 / best)));
        }
        if let (Some(floor), Some(cpu)) = (floor_cpu, row.get("server CPU µs/delivery"))
            && row.get("delivered/s").is_some()
        {
            row.metrics
                .push(("server CPU ÷ floor".to_owned(), Metric::Value(cpu / floor)));
        }
    }
}

/// Measures every case; one record per server kind and case.
pub(crate) async fn section(options: &Options, records: &mut Vec<Record>) {
    let rates = options
        .fanout_rates
        .clone()
        .unwrap_or_else(|| vec![10, 200]);
    for rate in rates {
        for subscribers in sizes(options, rate) {
            let plan = plan(options, subscribers, rate);
            let case = format!("{subscribers} subscribers, {rate} publishes/s");
            let mut rows = Vec::new();
            for kind in ServerKind::ALL.into_iter().chain(ServerKind::EXTRA) {
                let default = !ServerKind::EXTRA.contains(&kind);
                if options.fanout_kind_wanted(kind.name(), default) {
                    rows.push(server_row(kind, plan, &case).await);
                }
            }
            if options.fanout_kind_wanted("in-process", true) {
                rows.push(in_process_row(plan, &case).await);
            }
            relate(&mut rows);
            records.extend(rows);
        }
    }
}
