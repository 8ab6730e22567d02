//! A spec-exact `text/event-stream` parser and a reconnecting client on reqwest.
#![deny(missing_docs)]
