//! The policy service's events as other services read them: the records in
//! force, with their rules, which a service keeps to decide by the policy
//! itself (provider setup's health gate, the module catalog's readiness).

use serde::Deserialize;

/// A record's version put in force.
pub const RECORD_PUBLISHED: &str = "plinth.policy.record_published";
/// A record taken out of force.
pub const RECORD_RETIRED: &str = "plinth.policy.record_retired";

/// `plinth.policy.record_published` or `.record_retired`, as read.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyRecordChanged {
    /// The record.
    pub record_id: String,
    /// The version published (or in force when retired).
    pub version: i32,
    /// `platform`, `tenant`, `module` or `tenant_module`.
    pub level: String,
    /// The tenant of a tenant or tenant/module record.
    pub tenant_id: Option<String>,
    /// The module of a module or tenant/module record.
    pub module_id: Option<String>,
    /// The version's rules, as JSON.
    pub rules: String,
}

impl PolicyRecordChanged {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.policy.PolicyRecordChanged";
}
