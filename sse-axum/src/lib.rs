//! Server-Sent Events for axum.
#![deny(missing_docs)]
// Library code must not panic on anything input can reach; tests may unwrap.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
