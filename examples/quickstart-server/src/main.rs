//! Quickstart server.
fn main() {}
