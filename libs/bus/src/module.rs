//! The module catalog's events as other services read them: the pack service
//! keeps the tool catalog packs and playbooks are checked against from the
//! decisions on module releases.

use serde::Deserialize;

/// The decisions on a module release, by event type.
pub const MODULE_DECISIONS: [&str; 4] = [
    "plinth.module.approved",
    "plinth.module.rejected",
    "plinth.module.deprecated",
    "plinth.module.revoked",
];

/// A tool a module release provides.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReleaseTool {
    /// `namespace.tool`, as packs and playbooks name it.
    pub id: String,
    /// What kind of action it takes (`read`, `ticket_update`, …).
    pub action_class: String,
}

/// `plinth.module.approved`, `.rejected`, `.deprecated` or `.revoked`, as read.
#[derive(Debug, Clone, Deserialize)]
pub struct ModuleDecided {
    /// The module.
    pub module_id: String,
    /// The release's semantic version.
    pub version: String,
    /// `APPROVED`, `REJECTED`, `DEPRECATED` or `REVOKED`.
    pub status: String,
    /// When it was decided, in microseconds since the epoch.
    pub decided_at: i64,
    /// The tools the release provides.
    pub tools: Vec<ReleaseTool>,
}

impl ModuleDecided {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.module.ModuleDecided";

    /// Whether packs and playbooks may call the release's tools: it is approved,
    /// or deprecated (still running for the tenants that have it).
    pub fn offers_tools(&self) -> bool {
        matches!(self.status.as_str(), "APPROVED" | "DEPRECATED")
    }
}
