//! The command line of `compare`.

use std::collections::BTreeSet;

/// What a full or quick comparison measures and where it writes.
pub(crate) struct Options {
    pub(crate) quick: bool,
    pub(crate) json: Option<String>,
    pub(crate) html: Option<String>,
    pub(crate) only: Option<BTreeSet<String>>,
    pub(crate) fanout_sizes: Option<Vec<usize>>,
    pub(crate) fanout_rates: Option<Vec<u64>>,
    pub(crate) fanout_kinds: Option<Vec<String>>,
}

impl Options {
    /// Whether `section` is measured.
    pub(crate) fn runs(&self, section: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(section))
    }

    /// Whether the fan-out measures the server (or `in-process`) called `name`.
    pub(crate) fn fanout_kind_wanted(&self, name: &str, default: bool) -> bool {
        self.fanout_kinds
            .as_ref()
            .map_or(default, |kinds| kinds.iter().any(|kind| kind == name))
    }
}

/// What the binary was asked to do.
pub(crate) enum Command {
    /// Run the comparisons.
    Compare(Options),
    /// The fan-out server role (`--serve KIND`).
    Serve(String),
    /// `--parse-time WHO SIZE CHUNK`: one timed parse of a long line in this process.
    ParseTime {
        who: String,
        size: usize,
        chunk: usize,
    },
    /// `--parse-once WHO CORPUS CHUNK [REPEAT]`: for profilers.
    ParseOnce {
        who: String,
        which: String,
        chunk: usize,
        repeat: usize,
    },
    /// `--encode-once CASE WHO [REPEAT [EVENTS]]`: for profilers.
    EncodeOnce {
        case: String,
        who: String,
        repeat: usize,
        events: Option<usize>,
    },
    /// `--e2e-once WHO EVENTS [REPEAT]`: one client against our server, for profilers.
    E2eOnce {
        who: String,
        events: u64,
        repeat: usize,
    },
}

pub(crate) const USAGE: &str = "usage: compare [--quick] [--json PATH] [--html PATH] \
[--only parse,encode,e2e,fanout,redis] [--fanout-sizes 1000,5000,10000] [--fanout-rates 10,200] \
[--fanout-kinds hub,hub-nodelay,hub-http1,broadcast,broadcast-nodelay,raw-writes,in-process,hub-http1-nagle]";

fn list(value: Option<&String>) -> Option<Vec<String>> {
    value.map(|list| list.split(',').map(str::to_owned).collect())
}

fn numbers<T: std::str::FromStr>(value: Option<&String>) -> Option<Vec<T>> {
    value.map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect())
}

/// Reads the arguments (without the program name); `Err` with a message for a bad one.
pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    let mut options = Options {
        quick: false,
        json: None,
        html: None,
        only: None,
        fanout_sizes: None,
        fanout_rates: None,
        fanout_kinds: None,
    };
    let mut iter = args.iter();
    let missing = |flag: &str| format!("{flag} needs its arguments; {USAGE}");
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json" => options.json = iter.next().cloned(),
            "--html" => options.html = iter.next().cloned(),
            "--only" => options.only = list(iter.next()).map(|v| v.into_iter().collect()),
            "--fanout-sizes" => options.fanout_sizes = numbers(iter.next()),
            "--fanout-rates" => options.fanout_rates = numbers(iter.next()),
            "--fanout-kinds" => options.fanout_kinds = list(iter.next()),
            "--serve" => return iter.next().cloned().map(Command::Serve).ok_or(missing(arg)),
            "--parse-time" => {
                // One contender on one long line in a fresh process (see `parse_rows`).
                let (Some(who), Some(size), Some(chunk)) = (iter.next(), iter.next(), iter.next())
                else {
                    return Err(missing(arg));
                };
                return Ok(Command::ParseTime {
                    who: who.clone(),
                    size: size.parse().unwrap_or(1),
                    chunk: chunk.parse().unwrap_or(7),
                });
            }
            "--parse-once" => {
                // For profilers (callgrind): one parse of one corpus by one contender.
                let (Some(who), Some(which), Some(chunk)) = (iter.next(), iter.next(), iter.next())
                else {
                    return Err(missing(arg));
                };
                return Ok(Command::ParseOnce {
                    who: who.clone(),
                    which: which.clone(),
                    chunk: chunk.parse().unwrap_or(7),
                    repeat: iter.next().and_then(|n| n.parse().ok()).unwrap_or(1),
                });
            }
            "--encode-once" => {
                let (Some(case), Some(who)) = (iter.next(), iter.next()) else {
                    return Err(missing(arg));
                };
                return Ok(Command::EncodeOnce {
                    case: case.clone(),
                    who: who.clone(),
                    repeat: iter.next().and_then(|n| n.parse().ok()).unwrap_or(1),
                    events: iter.next().and_then(|n| n.parse().ok()),
                });
            }
            "--e2e-once" => {
                let (Some(who), Some(events)) = (iter.next(), iter.next()) else {
                    return Err(missing(arg));
                };
                return Ok(Command::E2eOnce {
                    who: who.clone(),
                    events: events.parse().unwrap_or(100_000),
                    repeat: iter.next().and_then(|n| n.parse().ok()).unwrap_or(1),
                });
            }
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(Command::Compare(options))
}
