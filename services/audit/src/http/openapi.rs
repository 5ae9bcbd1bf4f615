//! The service's OpenAPI document, generated from the handlers and checked in at
//! `schemas/openapi/audit.json` (a test fails when they drift).

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub use plinth_authz::openapi::{EdgeResponses, InternalToken, Problem};

use crate::app::read::{CheckpointView, Consistency, EntryView, ProvedEntry};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plinth audit",
        description = "Every service's audit events, in tamper-evident logs: one per tenant and one for the platform, each a hash chain and an RFC 9162 Merkle tree with C2SP signed checkpoints. Query, inclusion and consistency proofs, verification and export. Called through the gateway, which forwards each request with a short-lived internal token.",
        version = "1"
    ),
    paths(
        super::key,
        super::list,
        super::entry,
        super::latest,
        super::checkpoint,
        super::consistent,
        super::verify_log,
        super::export,
        super::export_oscal
    ),
    components(schemas(
        KeyView,
        EntryView,
        EntryPage,
        ProvedEntry,
        CheckpointView,
        Consistency,
        VerdictView,
        super::VerifyBody,
        Problem
    )),
    modifiers(&InternalToken, &EdgeResponses),
    tags((name = "audit", description = "Audit logs, their proofs and their exports"))
)]
pub struct ApiDoc;

/// The installation's log key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// A C2SP signed-note verifier key (`<name>+<id>+<base64>`): what
    /// `plinth-audit verify --key` and any signed-note tool check checkpoints with.
    pub verifier_key: String,
    /// Every checkpoint's origin is `<origin_prefix>/<log>`.
    pub origin_prefix: String,
}

/// The pages of an entry query.
#[derive(Debug, ToSchema)]
pub struct EntryPage {
    pub items: Vec<EntryView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The outcome of a verification.
#[derive(Debug, ToSchema)]
pub struct VerdictView {
    pub ok: bool,
    pub log: Option<String>,
    /// Entries read.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The Merkle root over the entries read, hex.
    pub root_hash: String,
    /// The first bad entry, when the problem is in one entry.
    pub first_bad_index: Option<u64>,
    /// Why verification failed.
    pub reason: Option<String>,
}

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> Result<String, serde_json::Error> {
    plinth_service::document(&ApiDoc::openapi())
}
