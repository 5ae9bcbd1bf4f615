//! Regions and data modes: closed sets parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value outside a closed set, with the set it should have come from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of: {allowed}")]
pub struct UnknownValue {
    /// What was given.
    pub value: String,
    /// The accepted spellings, comma separated.
    pub allowed: &'static str,
}

/// Where a tenant's data lives. Fixed at tenant creation; every region is a full,
/// separate deployment and nothing flows between regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// The United States.
    Us,
    /// The European Union.
    Eu,
}

impl Region {
    /// Every region, in display order.
    pub const ALL: [Region; 2] = [Region::Us, Region::Eu];

    /// As ids and settings spell it: `us`, `eu`.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "us" => Ok(Region::Us),
            "eu" => Ok(Region::Eu),
            other => Err(UnknownValue {
                value: other.to_owned(),
                allowed: "us, eu",
            }),
        }
    }
}

/// Whether a tenant (or workspace) lets services keep content such as ticket text,
/// transcripts, attachments or prompts. `MetadataOnly` is the default.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    /// Identifiers, timestamps, classifications, counts and receipts only.
    #[default]
    MetadataOnly,
    /// Content may be persisted and indexed as well.
    Content,
}

impl DataMode {
    /// As the API spells it: `metadata_only`, `content`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataMode::MetadataOnly => "metadata_only",
            DataMode::Content => "content",
        }
    }

    /// Whether content may be stored under this mode.
    pub fn allows_content(self) -> bool {
        self == DataMode::Content
    }

    /// Whether `self` is at least as strict as `other`. A workspace may be stricter
    /// than its tenant, never looser.
    pub fn at_least_as_strict_as(self, other: DataMode) -> bool {
        !self.allows_content() || other.allows_content()
    }
}

impl fmt::Display for DataMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataMode {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "metadata_only" => Ok(DataMode::MetadataOnly),
            "content" => Ok(DataMode::Content),
            other => Err(UnknownValue {
                value: other.to_owned(),
                allowed: "metadata_only, content",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_round_trips_and_refuses_others() {
        for r in Region::ALL {
            assert_eq!(r.as_str().parse::<Region>().unwrap(), r);
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        let err = "apac".parse::<Region>().unwrap_err();
        assert_eq!(err.to_string(), "`apac` is not one of: us, eu");
        assert!(serde_json::from_str::<Region>("\"US\"").is_err());
    }

    #[test]
    fn data_mode_defaults_to_metadata_only_and_orders_strictness() {
        assert_eq!(DataMode::default(), DataMode::MetadataOnly);
        assert!(DataMode::MetadataOnly.at_least_as_strict_as(DataMode::Content));
        assert!(DataMode::MetadataOnly.at_least_as_strict_as(DataMode::MetadataOnly));
        assert!(DataMode::Content.at_least_as_strict_as(DataMode::Content));
        assert!(!DataMode::Content.at_least_as_strict_as(DataMode::MetadataOnly));
        assert_eq!("content".parse::<DataMode>().unwrap(), DataMode::Content);
        assert!("everything".parse::<DataMode>().is_err());
    }
}
