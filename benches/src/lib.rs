//! Side-by-side benchmarks of `sse-client` and `sse-axum` against the SSE crates a Rust user
//! would pick instead: `sse-core` (the parser of `sse-reqwest-client`), `eventsource-stream`,
//! axum's own `Sse` and the `tokio::sync::broadcast` fan-out recipe.
//!
//! The library holds what the criterion benches (`cargo bench -p sse-benches`) and the
//! `compare` binary (`cargo run -p sse-benches --release --bin compare`) share: the corpora,
//! one function per contender that runs it and returns what it saw, so every contender's
//! output is checked against what was sent, and the table.
//!
//! ```
//! use sse_benches::{corpus, parse};
//!
//! for corpus in [
//!     corpus::token_events(16 * 1024),
//!     corpus::small_json_events(16 * 1024),
//!     corpus::crlf_mixed(16 * 1024),
//! ] {
//!     for chunk in [16 * 1024, 1500, 7] {
//!         assert_eq!(parse::ours(&parse::bytes_chunks(&corpus.bytes, chunk)), corpus.expected);
//!         assert_eq!(parse::ours_slices(&corpus.bytes, chunk), corpus.expected);
//!         assert_eq!(parse::sse_core(&corpus.bytes, chunk), corpus.expected);
//!         assert_eq!(parse::eventsource_stream(&corpus.bytes, chunk), corpus.expected);
//!     }
//! }
//! ```
#![deny(missing_docs)]

pub mod corpus;
pub mod e2e;
pub mod encode;
pub mod fanout;
pub mod parse;
pub mod redis_latency;
pub mod report;
