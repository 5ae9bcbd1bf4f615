//! Who may do what in Plinth.
//!
//! - [`permissions`]: one table of role × resource × action, the single source the
//!   gateway's coarse check and every service's own check read.
//! - [`token`]: the internal token. The gateway authenticates a person or an API
//!   client, then mints a short-lived Ed25519-signed token (principal, tenant,
//!   roles, region, request id, the tenants an MSP staff member is bound to) for the
//!   one service it forwards to; the service verifies it and builds its
//!   [`plinth_core::ReqCtx`] from it ([`Caller`]).
//! - [`guard`]: authorization in the handler's type: [`Authorized<R, A>`] verifies
//!   the token and decides the route's permission before the handler runs, and is
//!   the only way a handler gets the [`Caller`] the app layer acts with.
//! - [`openapi`]: the problem document and the internal-token security scheme every
//!   service's OpenAPI document names.

#![warn(missing_docs)]

pub mod guard;
pub mod openapi;
pub mod permissions;
pub mod token;

pub use guard::{Act, Authenticated, Authorized, Requester, Resources, on, to};
pub use permissions::{Action, Resource, allows};
pub use token::{Caller, Grant, InternalClaims, TokenError, TokenIssuer, TokenVerifier, keypair};
