//! The gateway against the real dev identity provider, started for each test.

mod bearer;
mod limits;
mod proxy;
mod roles;
