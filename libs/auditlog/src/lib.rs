//! Plinth's tamper-evident audit log, shared by the audit service and the offline
//! verifier.
//!
//! - [`entry`]: an entry is the RFC 8785 canonical JSON of its log, index, the hash
//!   of the entry before it, and the audit record; its leaf hash is
//!   `SHA-256(0x00 || canonical JSON)` (RFC 9162 §2.1.1).
//! - [`tree`]: each log is an RFC 9162 Merkle tree over those leaves, kept as the
//!   tree's stored hashes (complete subtrees, dense by stored index), from which any
//!   root, inclusion proof or consistency proof at any size is computed.
//! - [`checkpoint`]: signed tree heads in the C2SP checkpoint format, signed as C2SP
//!   signed notes with Ed25519, so that standard transparency-log tooling reads them.
//! - [`export`] and [`verify`]: the JSON Lines export (entries, then checkpoints) and
//!   the verification of a log — chain, indexes, Merkle roots, checkpoint signatures,
//!   and agreement with checkpoints kept elsewhere.

#![warn(missing_docs)]

pub mod checkpoint;
pub mod entry;
pub mod export;
pub mod hash;
pub mod proof;
pub mod tree;
pub mod verify;

pub use checkpoint::{
    CheckpointError, LogSigner, OpenedCheckpoint, SignedCheckpoint, open_checkpoint,
};
pub use entry::{Entry, Record};
pub use export::ExportLine;
pub use hash::Hash;
pub use proof::{ConsistencyProof, InclusionProof, ProofError};
pub use tree::{HashCache, Lack, MemoryTree, first_stored_index};
pub use verify::{Digested, Verdict, Verifier, digest, digest_entry};
