//! The pack service against real PostgreSQL and the real broker, one fresh
//! database per test.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod activation;
mod approval;
mod catalog;
mod helpers;
mod lifecycle;
mod openapi;
mod operability;
mod playbooks;
mod replicas;
mod runtime;
mod tools;
mod validation;
mod versions;
mod workflows;
