//! The vocabulary every Plinth service shares.
//!
//! Small on purpose: identifiers, the two regions, data modes, roles, the request
//! context handed to every app and store function, the one error type of the HTTP
//! edge, cursor pagination, and a service's server with the tasks beside it.
//! Nothing here talks to a database or a broker.

#![warn(missing_docs)]

mod ctx;
mod error;
mod id;
mod page;
mod region;

pub mod http;
pub mod service;

pub use ctx::{Principal, ReqCtx, RequestId, Role};
pub use error::{
    ApiError, Code, ErrorKind, REQUEST_ID_HEADER, request_id_middleware, request_id_scope,
};
#[doc(hidden)]
pub use id::parse_hex_uuid as __id_parse_hex;
pub use id::{IdError, PrincipalId, TenantId, WorkspaceId};
pub use page::{Cursor, Page, PageParams};
pub use region::{DataMode, Region, UnknownValue};

#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use uuid;
}
