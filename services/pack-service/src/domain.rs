//! The pack service's vocabulary: typed ids, versions and ranges, domain names,
//! and the lifecycle states of packs and change requests.

use std::fmt;
use std::str::FromStr;

use plinth_core::ApiError;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

plinth_core::typed_id!(
    /// A Domain Pack or Tenant Pack version.
    PackId,
    "pck",
    "pack"
);

plinth_core::typed_id!(
    /// One import or dry run of a pack, with what validation found.
    AttemptId,
    "att",
    "import attempt"
);

plinth_core::typed_id!(
    /// A request to change a tenant's active configuration.
    ChangeId,
    "chg",
    "config change"
);

plinth_core::typed_id!(
    /// One activation of a tenant's configuration.
    ActivationId,
    "act",
    "activation"
);

plinth_core::typed_id!(
    /// One published playbook version.
    PlaybookVersionId,
    "pbv",
    "playbook version"
);

plinth_core::typed_id!(
    /// One published workflow version of a workspace.
    WorkflowVersionId,
    "wfv",
    "workflow version"
);

plinth_core::typed_id!(
    /// One classified ticket.
    ClassificationId,
    "cls",
    "classification"
);

/// A semantic version, `MAJOR.MINOR.PATCH` exactly (no pre-release, no build).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackVersion(semver::Version);

impl PackVersion {
    pub fn parse(s: &str) -> Result<Self, String> {
        let shown = shown(s);
        let version = semver::Version::parse(s)
            .map_err(|_| format!("`{shown}` is not a semantic version such as 3.2.0"))?;
        if !version.pre.is_empty() || !version.build.is_empty() {
            return Err(format!(
                "`{shown}`: versions are MAJOR.MINOR.PATCH, without pre-release or build parts"
            ));
        }
        if [version.major, version.minor, version.patch]
            .iter()
            .any(|part| *part > i64::MAX as u64)
        {
            return Err(format!("`{shown}` has a part too large"));
        }
        Ok(PackVersion(version))
    }

    /// The parts, as stored for ordering.
    pub fn parts(&self) -> (i64, i64, i64) {
        (
            self.0.major as i64,
            self.0.minor as i64,
            self.0.patch as i64,
        )
    }

    pub fn semver(&self) -> &semver::Version {
        &self.0
    }
}

impl fmt::Display for PackVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PackVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl Serialize for PackVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A range of versions, e.g. `>=3.0.0, <4.0.0` or `^3.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    text: String,
    req: semver::VersionReq,
}

impl VersionRange {
    pub fn parse(s: &str) -> Result<Self, String> {
        let req = semver::VersionReq::parse(s).map_err(|e| {
            format!("`{s}` is not a version range such as \">=3.0.0, <4.0.0\": {e}")
        })?;
        Ok(VersionRange {
            text: s.to_owned(),
            req,
        })
    }

    pub fn admits(&self, version: &PackVersion) -> bool {
        self.req.matches(version.semver())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A domain's name: `finance`, `itsm`, lowercase letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Domain(String);

impl Domain {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (2..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Domain(s.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a domain name (2 to 40 lowercase letters, digits and dashes)",
                shown(s)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A playbook's id: `invoice-dispute-triage`, 1 to 64 lowercase letters, digits and
/// dashes, not starting with a dash (the pattern of `schemas/json/playbook.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PlaybookName(String);

impl PlaybookName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(PlaybookName(s.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a playbook id (1 to 64 lowercase letters, digits and dashes)",
                shown(s)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for PlaybookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first characters of a value that did not parse, for an error message: a
/// megabyte of input is not echoed back.
fn shown(s: &str) -> String {
    const SHOWN: usize = 80;
    match s.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// Where a pack version stands. A Domain Pack is ACTIVE while any tenant runs
/// it; a Tenant Pack while its tenant does. DEPRECATED versions are kept for the
/// record and never activated again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PackStatus {
    Draft,
    Active,
    Deprecated,
}

impl PackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PackStatus::Draft => "DRAFT",
            PackStatus::Active => "ACTIVE",
            PackStatus::Deprecated => "DEPRECATED",
        }
    }
}

impl FromStr for PackStatus {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Self, ApiError> {
        match s {
            "DRAFT" => Ok(PackStatus::Draft),
            "ACTIVE" => Ok(PackStatus::Active),
            "DEPRECATED" => Ok(PackStatus::Deprecated),
            other => Err(ApiError::internal(format!("stored pack status {other}"))),
        }
    }
}

impl fmt::Display for PackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a config change request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeStatus {
    Pending,
    Approved,
    Rejected,
}

impl ChangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Pending => "PENDING",
            ChangeStatus::Approved => "APPROVED",
            ChangeStatus::Rejected => "REJECTED",
        }
    }
}

impl FromStr for ChangeStatus {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Self, ApiError> {
        match s {
            "PENDING" => Ok(ChangeStatus::Pending),
            "APPROVED" => Ok(ChangeStatus::Approved),
            "REJECTED" => Ok(ChangeStatus::Rejected),
            other => Err(ApiError::internal(format!("stored change status {other}"))),
        }
    }
}

/// Which kind of pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PackKind {
    Domain,
    Tenant,
}

impl PackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackKind::Domain => "domain",
            PackKind::Tenant => "tenant",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_exactly_three_numbers() {
        assert_eq!(PackVersion::parse("3.2.0").unwrap().to_string(), "3.2.0");
        for bad in ["v3.2", "3.2", "3.2.0-beta.1", "3.2.0+build", "", "x"] {
            assert!(PackVersion::parse(bad).is_err(), "{bad}");
        }
        assert!(PackVersion::parse("3.10.0").unwrap() > PackVersion::parse("3.9.9").unwrap());
    }

    #[test]
    fn ranges_admit_what_they_say() {
        let range = VersionRange::parse(">=3.0.0, <4.0.0").unwrap();
        assert!(range.admits(&PackVersion::parse("3.2.0").unwrap()));
        assert!(!range.admits(&PackVersion::parse("4.0.0").unwrap()));
        assert!(VersionRange::parse("about three").is_err());
    }

    #[test]
    fn domains_are_lowercase_names() {
        assert!(Domain::parse("finance").is_ok());
        for bad in ["Finance", "f", "fin ance", "9lives", "fin_ance"] {
            assert!(Domain::parse(bad).is_err(), "{bad}");
        }
    }
}
