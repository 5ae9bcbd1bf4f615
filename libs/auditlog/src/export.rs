//! The export: JSON Lines, one log per file, every entry in order and then every
//! checkpoint, each line tagged with its `type`. An entry line holds the entry's
//! fields as written; its leaf is the canonical JSON of those fields.

use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExportLine {
    /// An entry, kept as JSON so that verification hashes exactly what was read.
    Entry(serde_json::Map<String, serde_json::Value>),
    /// A signed checkpoint, for the entries before it.
    Checkpoint(SignedCheckpoint),
}

impl ExportLine {
    /// The line of an entry.
    #[expect(clippy::expect_used, reason = "entries serialize")]
    pub fn entry(entry: &crate::Entry) -> ExportLine {
        match serde_json::to_value(entry).expect("entries serialize") {
            serde_json::Value::Object(fields) => ExportLine::Entry(fields),
            _ => unreachable!("an entry is a JSON object"),
        }
    }

    /// The line as JSON, without its newline.
    #[expect(clippy::expect_used, reason = "export lines serialize")]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("export lines serialize")
    }
}
