//! The gateway against the real dev identity provider, started for each test.

mod bearer;
mod browser;
mod coverage;
mod denials;
mod forwarding;
mod keys;
mod limits;
mod login;
mod packs;
mod partner;
mod proxy;
mod roles;
mod tls;
