//! Who is calling: bearer tokens from the configured OpenID Connect issuer,
//! checked against its published keys.

pub mod bearer;
pub mod keys;

pub use bearer::{BearerVerifier, Identity};
pub use keys::KeySet;
