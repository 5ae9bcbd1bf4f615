//! The gateway against the real dev identity provider, started for each test.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bearer;
mod console;
mod coverage;
mod denials;
mod forwarding;
mod keys;
mod limits;
mod login;
mod modules;
mod openapi;
mod operability;
mod packs;
mod partner;
mod policy;
mod providers;
mod proxy;
mod roles;
mod rolling;
mod runner;
mod runs;
mod tls;
