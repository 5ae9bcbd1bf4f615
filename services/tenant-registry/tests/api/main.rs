//! The tenant registry's API against the real PostgreSQL and the real broker: the
//! service runs on port 0 with a database of its own and topics of its own, and
//! tests call it over HTTP with internal tokens minted as the gateway would.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod catalog;
mod entitlements;
mod helpers;
mod offboarding;
mod onboarding;
mod openapi;
mod operability;
mod replicas;
mod role_bindings;
mod tenants;
mod workspaces;
