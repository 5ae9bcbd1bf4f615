//! The audit service against the real PostgreSQL and the real broker: it runs on
//! port 0 with a database and topics of its own; tests publish other services'
//! events and call its API with internal tokens minted as the gateway would.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod append_only;
mod catalog;
mod helpers;
mod lifecycle;
mod openapi;
mod operability;
mod oscal;
mod proofs;
mod recording;
mod replicas;
mod tamper;
mod with_registry;
