//! Log entries: what was recorded, where in which log, and after what.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::hash::{Hash, hex_option};

/// One audit record: who did what to which resource, with what outcome. Never the
/// content of the resource; the `details` hold hashes of its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The tenant, or `platform`.
    pub tenant_id: String,
    /// The region of the deployment that recorded it (`us`, `eu`).
    pub region: String,
    /// The principal's subject (`service:<name>` for a service's own actions).
    pub actor: String,
    /// The principal's display name, when the token had one.
    pub actor_display: Option<String>,
    /// What was done, e.g. `tenant.create`.
    pub action: String,
    /// The kind of thing acted on, e.g. `tenant`.
    pub resource_type: String,
    /// Which one, when it has an id.
    pub resource_id: Option<String>,
    /// `ALLOWED`, `DENIED` or `FAILED`.
    pub outcome: String,
    /// Why it was denied or failed: a stable error code.
    pub reason: Option<String>,
    /// The request that caused it, to join the logs of every hop.
    pub request_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    /// When it happened, at the service that did it.
    pub occurred_at: OffsetDateTime,
    /// The service that did it.
    pub source_service: String,
    /// Metadata only (versions, checksums), never content.
    pub details: BTreeMap<String, String>,
}

/// One entry of a log. Its leaf is the RFC 8785 canonical JSON of the whole entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The log: a tenant id, or `platform`.
    pub log: String,
    /// Its position, from 0.
    pub index: u64,
    /// The leaf hash of the entry before it; `null` for the first.
    #[serde(with = "hex_option")]
    pub prev: Option<Hash>,
    /// The audit event's id: an event is recorded once.
    pub event_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    /// When the audit service appended it.
    pub recorded_at: OffsetDateTime,
    /// What happened.
    pub record: Record,
}

impl Entry {
    /// The RFC 8785 canonical JSON of the entry: the bytes its leaf hash covers.
    #[expect(clippy::expect_used, reason = "entries serialize")]
    pub fn canonical(&self) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(self).expect("entries serialize")
    }

    /// `SHA-256(0x00 || canonical JSON)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash_of_canonical(&self.canonical())
    }
}

/// The leaf hash of an entry's canonical JSON.
pub fn leaf_hash_of_canonical(canonical: &[u8]) -> Hash {
    tlog_tiles::record_hash(canonical)
}

/// The leaf hash of an entry as it was written, from its JSON: the canonical form
/// of whatever the JSON holds, so that any change to it changes the hash.
#[expect(clippy::expect_used, reason = "JSON values serialize")]
pub fn leaf_hash_of(json: &serde_json::Value) -> Hash {
    tlog_tiles::record_hash(&serde_json_canonicalizer::to_vec(json).expect("JSON values serialize"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn record(action: &str) -> Record {
        Record {
            tenant_id: "ten_us_0123456789abcdef0123456789abcdef".into(),
            region: "us".into(),
            actor: "alice@msp.example".into(),
            actor_display: Some("Alice".into()),
            action: action.into(),
            resource_type: "tenant".into(),
            resource_id: Some("ten_us_0123456789abcdef0123456789abcdef".into()),
            outcome: "ALLOWED".into(),
            reason: None,
            request_id: Some("req_1".into()),
            occurred_at: time::macros::datetime!(2026-11-24 08:00:00.123456 UTC),
            source_service: "tenant-registry".into(),
            details: [("after_sha256".to_owned(), "ab".repeat(32))].into(),
        }
    }

    #[test]
    fn the_leaf_covers_the_canonical_json_of_the_whole_entry() {
        let entry = Entry {
            log: "ten_us_0123456789abcdef0123456789abcdef".into(),
            index: 0,
            prev: None,
            event_id: Uuid::nil(),
            recorded_at: time::macros::datetime!(2026-11-24 08:00:01 UTC),
            record: record("tenant.create"),
        };
        let canonical = String::from_utf8(entry.canonical()).unwrap();
        assert!(
            canonical.starts_with(
                r#"{"event_id":"00000000-0000-0000-0000-000000000000","index":0,"log":"#
            )
        );
        let json: serde_json::Value = serde_json::from_str(&canonical).unwrap();
        assert_eq!(leaf_hash_of(&json), entry.leaf_hash());
        let mut changed = entry.clone();
        changed.record.outcome = "DENIED".into();
        assert_ne!(changed.leaf_hash(), entry.leaf_hash());
    }
}
