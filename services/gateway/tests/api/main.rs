//! The gateway against the real dev identity provider, started for each test.

mod bearer;
mod denials;
mod limits;
mod proxy;
mod roles;
