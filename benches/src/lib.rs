//! Benchmark corpora and harness shared by the criterion benches and the `compare` binary.
#![deny(missing_docs)]
