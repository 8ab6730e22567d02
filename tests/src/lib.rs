//! Shared helpers for the cross-crate tests: fixtures, servers on free ports, external binaries.
#![deny(missing_docs)]
