//! A decision on one step the runtime is about to take, over an effective
//! policy: every rule the step meets or breaks is a reason; the outcome is the
//! most severe of them.

use serde::{Deserialize, Serialize};

use crate::merge::{Decided, Effective};
use crate::rules::{Gate, OverBudget};

/// What the runtime is about to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// `read`, `notify`, `ticket_update`, `config_change`, `remote_execution`,
    /// `tenant_admin`, …
    pub action_class: String,
    /// The AI provider kind it calls, if it calls one.
    #[serde(default)]
    pub provider_kind: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// The tokens it is estimated to spend.
    #[serde(default)]
    pub estimated_tokens: u64,
    /// Whether ticket content (not only metadata) goes to the provider.
    #[serde(default)]
    pub content_included: bool,
    /// The connector it uses, if any.
    #[serde(default)]
    pub connector: Option<String>,
    /// The workspace's approval tier: the stricter of it and the policy's
    /// gate applies.
    #[serde(default)]
    pub workspace_tier: Option<Gate>,
}

/// What the tenant (or module) has spent this month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub month_tokens: u64,
}

/// A decision's outcome, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    Allow,
    AllowAndNotify,
    RequireApproval,
    HumanOnly,
    Deny,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::AllowAndNotify => "allow_and_notify",
            Outcome::RequireApproval => "require_approval",
            Outcome::HumanOnly => "human_only",
            Outcome::Deny => "deny",
        }
    }

    /// What a step at `gate` gets.
    pub fn of_gate(gate: Gate) -> Outcome {
        match gate {
            Gate::L0 => Outcome::Allow,
            Gate::L1 => Outcome::AllowAndNotify,
            Gate::L2 => Outcome::RequireApproval,
            Gate::L3 => Outcome::HumanOnly,
        }
    }
}

/// One rule the step met: what it leads to, the field, and who decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    pub outcome: Outcome,
    /// A stable code: `gate`, `workspace_tier`, `provider_denied`,
    /// `provider_not_allowed`, `model_denied`, `model_not_allowed`,
    /// `content_not_allowed`, `token_ceiling`, `over_budget`,
    /// `connector_not_allowed`.
    pub code: String,
    /// The effective policy's field, or the request's.
    pub field: String,
    pub detail: String,
    pub decided_by: Vec<Decided>,
}

/// The decision: the most severe outcome of its reasons, the gate level that
/// applies, and what the runtime must do when it proceeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub gate: Gate,
    pub reasons: Vec<Reason>,
    /// What the runtime must do if it proceeds: `redact_content`.
    pub obligations: Vec<String>,
}

struct Reasons<'p> {
    policy: &'p Effective,
    list: Vec<Reason>,
}

impl Reasons<'_> {
    fn add(&mut self, outcome: Outcome, code: &str, field: &str, detail: String) {
        self.list.push(Reason {
            outcome,
            code: code.to_owned(),
            field: field.to_owned(),
            detail,
            decided_by: self.policy.decided_by(field).to_vec(),
        });
    }
}

/// Decides `request` under `policy`, the tenant having spent `usage`.
pub fn decide(policy: &Effective, request: &Request, usage: Usage) -> Decision {
    let mut reasons = Reasons {
        policy,
        list: Vec::new(),
    };
    let class = request.action_class.as_str();
    let mut gate = policy.gate(class);
    reasons.add(
        Outcome::of_gate(gate),
        "gate",
        &policy.gate_field(class),
        format!("{class} is gated at {gate}"),
    );
    if let Some(tier) = request.workspace_tier.filter(|t| *t > gate) {
        gate = tier;
        reasons.list.push(Reason {
            outcome: Outcome::of_gate(tier),
            code: "workspace_tier".to_owned(),
            field: "workspace_tier".to_owned(),
            detail: format!("the workspace's approval tier {tier} is stricter"),
            decided_by: Vec::new(),
        });
    }
    if let Some(kind) = &request.provider_kind {
        if policy.deny_kinds.contains(kind) {
            reasons.add(
                Outcome::Deny,
                "provider_denied",
                "providers.deny_kinds",
                format!("the provider kind {kind} is denied"),
            );
        } else if policy
            .allow_kinds
            .as_ref()
            .is_some_and(|a| !a.contains(kind))
        {
            reasons.add(
                Outcome::Deny,
                "provider_not_allowed",
                "providers.allow_kinds",
                format!("the provider kind {kind} is not among those allowed"),
            );
        }
    }
    if let Some(model) = &request.model {
        if policy.deny_models.contains(model) {
            reasons.add(
                Outcome::Deny,
                "model_denied",
                "providers.deny_models",
                format!("the model {model} is denied"),
            );
        } else if policy
            .allow_models
            .as_ref()
            .is_some_and(|a| !a.contains(model))
        {
            reasons.add(
                Outcome::Deny,
                "model_not_allowed",
                "providers.allow_models",
                format!("the model {model} is not among those allowed"),
            );
        }
    }
    let mut obligations = Vec::new();
    if request.content_included {
        if !policy.send_content {
            reasons.add(
                Outcome::Deny,
                "content_not_allowed",
                "content.send_to_provider",
                "content may not be sent to a provider: metadata only".to_owned(),
            );
        } else if policy.redaction_required {
            obligations.push("redact_content".to_owned());
        }
    }
    if let Some(ceiling) = policy
        .per_request_ceiling
        .filter(|c| request.estimated_tokens > *c)
    {
        reasons.add(
            Outcome::Deny,
            "token_ceiling",
            "tokens.per_request_ceiling",
            format!(
                "{} tokens estimated, over the ceiling of {ceiling} a request",
                request.estimated_tokens
            ),
        );
    }
    // A step that spends no tokens exceeds no budget, however much is spent.
    if let Some(budget) = policy.monthly_budget
        && request.estimated_tokens > 0
    {
        let after = usage.month_tokens.saturating_add(request.estimated_tokens);
        if after > budget {
            let outcome = match policy.over_budget {
                OverBudget::Deny => Outcome::Deny,
                OverBudget::RequireApproval => Outcome::RequireApproval,
            };
            reasons.add(
                outcome,
                "over_budget",
                "tokens.monthly_budget",
                format!(
                    "{} tokens used this month and {} estimated exceed the budget of {budget}",
                    usage.month_tokens, request.estimated_tokens
                ),
            );
        }
    }
    if let Some(connector) = &request.connector
        && policy
            .connectors
            .as_ref()
            .is_some_and(|a| !a.contains(connector))
    {
        reasons.add(
            Outcome::Deny,
            "connector_not_allowed",
            "connectors.allow",
            format!("the connector {connector} is not among those allowed"),
        );
    }
    let outcome = reasons
        .list
        .iter()
        .map(|r| r.outcome)
        .max()
        .unwrap_or(Outcome::Allow);
    Decision {
        outcome,
        gate,
        reasons: reasons.list,
        obligations,
    }
}
