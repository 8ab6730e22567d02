//! The end-to-end comparison: each server with each client over loopback, the contenders
//! interleaved.

use std::process::ExitCode;
use std::time::Instant;

use sse_benches::e2e::{self, ClientKind, Seen, ServerSide};
use sse_benches::report::{Record, median};

use crate::check_summary;
use crate::cli::Options;

/// One cell of the matrix.
struct Pair {
    server: ServerSide,
    client: ClientKind,
    url: String,
}

/// The check of what a client saw.
fn check(seen: &Seen, expected: &Seen) -> String {
    match (seen, expected) {
        (Seen::Events(got), Seen::Events(expected)) => check_summary(got, expected),
        (Seen::Bytes(got), Seen::Bytes(expected)) if got == expected => "ok".to_owned(),
        (Seen::Bytes(got), Seen::Bytes(expected)) => {
            format!("{got} bytes, expected {expected}")
        }
        _ => "a different kind of result".to_owned(),
    }
}

/// Every server with every client, the servers started; `None` when one cannot bind.
async fn pairs(n: u64) -> Option<Vec<Pair>> {
    let mut pairs = Vec::new();
    for server in ServerSide::ALL {
        let addr = server.start().await.ok()?;
        let url = e2e::url(addr, n);
        for client in ClientKind::ALL {
            pairs.push(Pair {
                server,
                client,
                url: url.clone(),
            });
        }
    }
    Some(pairs)
}

/// Measures the matrix; one record per pair. The first row (our server, our `Client`) is the
/// reference of `ours ÷ this`; `of the server's ceiling` is the rate over the raw byte
/// count's on the same server (the client's share).
pub(crate) async fn section(options: &Options, records: &mut Vec<Record>) {
    let n: u64 = if options.quick { 100_000 } else { 500_000 };
    let repeats = if options.quick { 2 } else { 3 };
    let Some(pairs) = pairs(n).await else {
        eprintln!("e2e: cannot bind a listener");
        return;
    };
    let mut times = vec![Vec::new(); pairs.len()];
    let mut checks = vec![String::new(); pairs.len()];
    for round in 0..repeats {
        for (i, pair) in pairs.iter().enumerate() {
            let start = Instant::now();
            let seen = pair.client.run(&pair.url, n).await;
            times[i].push(start.elapsed().as_secs_f64());
            let check = check(&seen, &pair.client.expected(n));
            if round == 0 || check != "ok" {
                checks[i] = check;
            }
        }
    }
    let rate = |i: usize| n as f64 / median(&times[i]);
    let ceiling = |server: ServerSide| {
        pairs
            .iter()
            .position(|p| p.server == server && p.client == ClientKind::RawBytes)
            .map_or(f64::NAN, rate)
    };
    for (i, (pair, check)) in pairs.iter().zip(checks).enumerate() {
        let name = format!("{} → {}", pair.server.describe(), pair.client.describe());
        let mut record = Record::new(
            "End to end, one stream",
            &format!("{n} small events"),
            &name,
        )
        .metric("events/s", rate(i))
        .metric("ours ÷ this", rate(0) / rate(i))
        .metric("of the server's ceiling", rate(i) / ceiling(pair.server));
        record.check = check;
        pair.client.note().clone_into(&mut record.note);
        eprintln!("e2e | {name} | {:.2} M/s | {}", rate(i) / 1e6, record.check);
        records.push(record);
    }
}

/// `--e2e-once WHO EVENTS [REPEAT]`: one client of ours (`client` or `event-stream`, or any
/// other key) against our server, `repeat` times, for profilers.
pub(crate) async fn e2e_once(who: &str, n: u64, repeat: usize) -> ExitCode {
    let Some(client) = ClientKind::ALL.into_iter().find(|c| c.key() == who) else {
        eprintln!("unknown client {who:?}");
        return ExitCode::FAILURE;
    };
    let Ok(addr) = ServerSide::Ours.start().await else {
        eprintln!("cannot bind a listener");
        return ExitCode::FAILURE;
    };
    let url = e2e::url(addr, n);
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let seen = client.run(&url, n).await;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{} | {:.2} M events/s | {}",
            client.describe(),
            n as f64 / secs / 1e6,
            check(&seen, &client.expected(n))
        );
    }
    ExitCode::SUCCESS
}
