//! Who is calling: bearer tokens from the configured OpenID Connect issuer,
//! checked against its published keys, and browser sessions begun by logging in.

pub mod bearer;
pub mod ended;
pub mod keys;
pub mod session;

pub use bearer::{BearerVerifier, Identity};
pub use keys::KeySet;
