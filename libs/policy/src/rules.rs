//! What a policy record says: every part optional, each part it sets a
//! restriction. The JSON form is `schemas/json/policy-record.schema.json`'s
//! `rules`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// A human-in-the-loop gate level, from fully automated to human only. The
/// order is strictness: `L3` is the strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Gate {
    /// Fully automated: the step proceeds and is logged.
    L0,
    /// Notify: the step proceeds and the assigned people are notified.
    L1,
    /// Approve to proceed: an approver decides before the step runs.
    L2,
    /// Human only: a person does it; the AI gives decision support only.
    L3,
}

impl Gate {
    /// Every level, least strict first.
    pub const ALL: [Gate; 4] = [Gate::L0, Gate::L1, Gate::L2, Gate::L3];

    pub fn as_str(self) -> &'static str {
        match self {
            Gate::L0 => "L0",
            Gate::L1 => "L1",
            Gate::L2 => "L2",
            Gate::L3 => "L3",
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request that would exceed the monthly token budget gets. `Deny` is
/// the stricter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OverBudget {
    /// An approver may let it through.
    RequireApproval,
    /// Refused.
    Deny,
}

/// The AI providers and models a record allows or denies. An allow list
/// restricts to what it names; a deny list excludes what it names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_kinds: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub deny_kinds: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_models: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub deny_models: BTreeSet<String>,
}

/// How ticket content is handled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentRules {
    /// Whether content (not only metadata) may be sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_to_provider: Option<bool>,
    /// Whether content sent must be redacted first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction_required: Option<bool>,
}

/// Token limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRules {
    /// The most tokens one request may be estimated at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_request_ceiling: Option<u64>,
    /// The most tokens a month (in and out, every provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_budget: Option<u64>,
    /// What a request that would exceed the budget gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_budget: Option<OverBudget>,
}

/// The connectors the runtime may use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<BTreeSet<String>>,
}

/// Which provider health results are accepted from other components.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthRules {
    /// The roles whose results are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitters: Option<BTreeSet<String>>,
    /// The oldest a result may be when submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u64>,
}

/// A record's rules: what it restricts. Nothing set restricts nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<ProviderRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenRules>,
    /// The gate of each action class (`read`, `notify`, `ticket_update`,
    /// `config_change`, `remote_execution`, `tenant_admin`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gates: BTreeMap<String, Gate>,
    /// The gate of an action class no record names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_gate: Option<Gate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectors: Option<ConnectorRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthRules>,
}
