//! What the fan-out reads off the processes and the samples: CPU ticks, resident memory,
//! latency percentiles, and the checks that every subscriber got every event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::ClientState;

/// The CPU time a process has used so far, user and system, in clock ticks (every thread).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CpuTicks {
    user: u64,
    system: u64,
}

/// Clock ticks per second (`getconf CLK_TCK`: 100 on Linux for every architecture we run on).
const TICKS_PER_SEC: f64 = 100.0;

impl CpuTicks {
    /// Of `pid`, or of this process for `"self"`; zero where `/proc` cannot be read.
    pub(super) fn of(pid: &str) -> Self {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The fields after the command name (which may hold spaces) and its `)`; utime and
        // stime are the 14th and 15th fields of the line.
        let mut fields = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .skip(11)
            .map(|n| n.parse().unwrap_or(0));
        Self {
            user: fields.next().unwrap_or(0),
            system: fields.next().unwrap_or(0),
        }
    }

    /// `(total, user, system)` microseconds per delivery since `before`.
    pub(super) fn per_delivery(self, before: Self, deliveries: usize) -> [f64; 3] {
        let us = |ticks: u64| ticks as f64 / TICKS_PER_SEC * 1e6 / deliveries.max(1) as f64;
        let user = self.user.saturating_sub(before.user);
        let system = self.system.saturating_sub(before.system);
        [us(user + system), us(user), us(system)]
    }
}

/// The resident memory of `pid` in KiB.
pub(super) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits until every client in `which` has received up to `last`; false on timeout.
pub(super) async fn wait_all(
    clients: &[Arc<ClientState>],
    which: &[usize],
    last: u64,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if which.iter().all(|&i| clients[i].reached(last)) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Takes every client's samples; returns the latencies of the events `first..=last` received
/// by the clients in `which`, sorted, and a problem if one of them missed an event.
pub(super) fn collect(
    clients: &[Arc<ClientState>],
    which: &[usize],
    (first, last): (u64, u64),
    phase: &str,
    problems: &mut Vec<String>,
) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut short = 0;
    let expected = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
    let mut counted = vec![false; clients.len()];
    for &i in which {
        if let Some(slot) = counted.get_mut(i) {
            *slot = true;
        }
    }
    for (client, counted) in clients.iter().zip(counted) {
        let samples = client.take_samples();
        if !counted {
            continue;
        }
        let before = latencies.len();
        latencies.extend(
            samples
                .iter()
                .filter(|(seq, _)| (first..=last).contains(seq))
                .map(|&(_, latency)| latency),
        );
        if latencies.len() - before != expected {
            short += 1;
        }
    }
    if short > 0 {
        problems.push(format!("{phase}: {short} subscribers missed events"));
    }
    latencies.sort_unstable();
    latencies
}

/// Nanoseconds in milliseconds.
pub(super) fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// p50, p99 and max of sorted latencies in nanoseconds, in milliseconds.
pub(super) fn latency_ms(sorted: &[u64]) -> [f64; 3] {
    [
        ms(crate::report::percentile(sorted, 0.5)),
        ms(crate::report::percentile(sorted, 0.99)),
        ms(sorted.last().copied().unwrap_or(0)),
    ]
}
