//! The gateway against the real dev identity provider, started for each test.

mod bearer;
mod denials;
mod keys;
mod limits;
mod proxy;
mod roles;
