//! Server-Sent Events for axum.
#![deny(missing_docs)]
