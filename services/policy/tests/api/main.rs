//! The policy service against real PostgreSQL and the real broker, one fresh
//! database per test.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catalog;
mod decisions;
mod helpers;
mod lifecycle;
mod openapi;
mod records;
mod runs;
mod usage;
