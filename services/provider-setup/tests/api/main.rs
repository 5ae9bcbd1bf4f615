//! Provider setup against real PostgreSQL and the real broker, one fresh
//! database per test, with local servers speaking the providers' wire formats.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catalog;
mod connections;
mod connectors;
mod health;
mod helpers;
mod lifecycle;
pub(crate) mod links;
mod openapi;
mod pooled;
mod runtime;
