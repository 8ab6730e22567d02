//! End-to-end tests of the server side over real TCP: an axum server on 127.0.0.1:0 and a
//! hand-written HTTP/1.1 client reading raw bytes (see `raw_client`).

mod compression;
mod hub_errors;
mod last_event_id;
mod layer;
mod raw_client;
mod stream;
