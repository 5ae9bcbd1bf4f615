//! The tenant registry's vocabulary: values that can only hold what is valid.

use std::fmt;
use std::str::FromStr;

use plinth_core::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a tenant is in its life.
///
/// `PENDING → ONBOARDING → ACTIVE ⇄ SUSPENDED → OFFBOARDING → OFFBOARDED`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantStatus {
    Pending,
    Onboarding,
    Active,
    Suspended,
    Offboarding,
    Offboarded,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 6] = [
        TenantStatus::Pending,
        TenantStatus::Onboarding,
        TenantStatus::Active,
        TenantStatus::Suspended,
        TenantStatus::Offboarding,
        TenantStatus::Offboarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Pending => "PENDING",
            TenantStatus::Onboarding => "ONBOARDING",
            TenantStatus::Active => "ACTIVE",
            TenantStatus::Suspended => "SUSPENDED",
            TenantStatus::Offboarding => "OFFBOARDING",
            TenantStatus::Offboarded => "OFFBOARDED",
        }
    }

    /// The states the lifecycle allows next.
    pub fn next(self) -> &'static [TenantStatus] {
        use TenantStatus::*;
        match self {
            Pending => &[Onboarding],
            Onboarding => &[Active],
            Active => &[Suspended],
            Suspended => &[Active, Offboarding],
            Offboarding => &[Offboarded],
            Offboarded => &[],
        }
    }

    /// Whether an operator moves a tenant from this state to `to` directly
    /// (`PATCH …/status`): only between ACTIVE and SUSPENDED. ONBOARDING and
    /// OFFBOARDING start with their requests; ACTIVE after onboarding and OFFBOARDED
    /// follow from the checklists, never from an operator's say-so.
    pub fn operator_may_set(self, to: TenantStatus) -> bool {
        use TenantStatus::*;
        matches!((self, to), (Active, Suspended) | (Suspended, Active))
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TenantStatus {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TenantStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                ApiError::invalid_request(
                    "status",
                    "status is one of PENDING, ONBOARDING, ACTIVE, SUSPENDED, OFFBOARDING, OFFBOARDED",
                )
            })
    }
}

/// The two checklists of a tenant's life: onboarding takes a PENDING tenant to
/// ACTIVE, offboarding takes a SUSPENDED one to OFFBOARDED. Each item of either is
/// satisfied by the service that owns it or by an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    Onboarding,
    Offboarding,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Onboarding => "onboarding",
            Flow::Offboarding => "offboarding",
        }
    }

    /// The status a tenant must have for the flow to start.
    pub fn starts_from(self) -> TenantStatus {
        match self {
            Flow::Onboarding => TenantStatus::Pending,
            Flow::Offboarding => TenantStatus::Suspended,
        }
    }

    /// The status of a tenant while its checklist is open.
    pub fn runs_in(self) -> TenantStatus {
        match self {
            Flow::Onboarding => TenantStatus::Onboarding,
            Flow::Offboarding => TenantStatus::Offboarding,
        }
    }

    /// The status the tenant reaches when every item is satisfied.
    pub fn ends_in(self) -> TenantStatus {
        match self {
            Flow::Onboarding => TenantStatus::Active,
            Flow::Offboarding => TenantStatus::Offboarded,
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the tenant's platform is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentModel {
    HostedSaas,
    SelfHostedEnterprise,
    Hybrid,
}

impl DeploymentModel {
    pub const ALL: [DeploymentModel; 3] = [
        DeploymentModel::HostedSaas,
        DeploymentModel::SelfHostedEnterprise,
        DeploymentModel::Hybrid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentModel::HostedSaas => "hosted_saas",
            DeploymentModel::SelfHostedEnterprise => "self_hosted_enterprise",
            DeploymentModel::Hybrid => "hybrid",
        }
    }
}

impl FromStr for DeploymentModel {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeploymentModel::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                ApiError::invalid_request(
                    "deployment_model",
                    "deployment_model is one of hosted_saas, self_hosted_enterprise, hybrid",
                )
            })
    }
}

plinth_core::typed_id!(
    /// A role binding or group mapping.
    RoleBindingId,
    "rbd",
    "role binding"
);

/// The human-in-the-loop gate level a workspace applies by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
pub enum ApprovalTier {
    /// Fully automated, logged.
    L0,
    /// Automated, a human is notified.
    L1,
    /// A human approves before anything is done.
    #[default]
    L2,
    /// Humans act; automation only advises.
    L3,
}

impl ApprovalTier {
    pub const ALL: [ApprovalTier; 4] = [
        ApprovalTier::L0,
        ApprovalTier::L1,
        ApprovalTier::L2,
        ApprovalTier::L3,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalTier::L0 => "L0",
            ApprovalTier::L1 => "L1",
            ApprovalTier::L2 => "L2",
            ApprovalTier::L3 => "L3",
        }
    }
}

impl FromStr for ApprovalTier {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApprovalTier::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                ApiError::invalid_request("approval_tier", "approval_tier is L0, L1, L2 or L3")
            })
    }
}

/// A workspace's name: 1 to 100 characters, trimmed; unique within its tenant.
pub fn workspace_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_request(
            "name",
            "name is 1 to 100 printable characters",
        ));
    }
    Ok(name.to_owned())
}

/// A tenant's short name, unique within its region: 3 to 40 characters of lower-case
/// letters, digits and single hyphens, starting with a letter and not ending with a
/// hyphen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::invalid_request(
                "slug",
                "slug is 3 to 40 lower-case letters, digits and single hyphens, \
                 starting with a letter and not ending with a hyphen",
            )
        };
        let ok_len = (3..=40).contains(&s.len());
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let ok_ends = s.starts_with(|c: char| c.is_ascii_lowercase()) && !s.ends_with('-');
        if ok_len && ok_chars && ok_ends && !s.contains("--") {
            Ok(TenantSlug(s.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Contact metadata of the client's owner: a name, an e-mail address, and
/// optionally a phone number. Never published in events or audit records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnerContact {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl OwnerContact {
    pub fn parse(name: &str, email: &str, phone: Option<&str>) -> Result<Self, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid_request(
                "owner_contact.name",
                "the owner's name is 1 to 200 characters",
            ));
        }
        let email = email.trim();
        let valid_email = email.len() <= 254
            && !email.contains(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !valid_email {
            return Err(ApiError::invalid_request(
                "owner_contact.email",
                "the owner's e-mail address is not valid",
            ));
        }
        let phone = phone.map(str::trim).filter(|p| !p.is_empty());
        if let Some(p) = phone {
            let digits = p.strip_prefix('+').unwrap_or(p);
            let valid = (7..=20).contains(&digits.len())
                && digits
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
            if !valid {
                return Err(ApiError::invalid_request(
                    "owner_contact.phone",
                    "the owner's phone number is 7 to 20 digits, optionally after a +",
                ));
            }
        }
        Ok(OwnerContact {
            name: name.to_owned(),
            email: email.to_owned(),
            phone: phone.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_allows_only_its_edges() {
        use TenantStatus::*;
        let edges: Vec<(TenantStatus, TenantStatus)> = TenantStatus::ALL
            .into_iter()
            .flat_map(|from| from.next().iter().map(move |to| (from, *to)))
            .collect();
        assert_eq!(
            edges,
            [
                (Pending, Onboarding),
                (Onboarding, Active),
                (Active, Suspended),
                (Suspended, Active),
                (Suspended, Offboarding),
                (Offboarding, Offboarded),
            ]
        );
    }

    #[test]
    fn slugs_follow_their_rules() {
        for good in ["acme", "acme-eu-2", "a1b"] {
            assert!(TenantSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab",
            "Acme",
            "1acme",
            "acme-",
            "ac--me",
            "acme_eu",
            &"a".repeat(41),
        ] {
            assert_eq!(
                TenantSlug::parse(bad).unwrap_err().code(),
                plinth_core::Code::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn contacts_are_checked_field_by_field() {
        assert!(OwnerContact::parse("Ana", "ana@acme.example", Some("+44 20 7946 0000")).is_ok());
        assert!(OwnerContact::parse(" ", "ana@acme.example", None).is_err());
        assert!(OwnerContact::parse("Ana", "ana.acme.example", None).is_err());
        assert!(OwnerContact::parse("Ana", "ana@acme.example", Some("call me")).is_err());
    }
}
