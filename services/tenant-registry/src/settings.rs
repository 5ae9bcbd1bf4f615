//! The service's configuration, in one place: built-in defaults, then an optional
//! TOML file (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__`
//! between levels (`PLINTH_HTTP__PORT=8081`, `PLINTH_DATABASE__APP_URL=…`). Nothing
//! else in the service reads the environment.

use plinth_service::SharedSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has: region, listener, database, bus, token key.
    #[serde(flatten)]
    pub shared: SharedSettings,
    pub onboarding: OnboardingSettings,
    pub offboarding: OffboardingSettings,
    /// What a tenant is entitled to until its entitlements are set.
    pub default_entitlements: EntitlementDefaults,
}

/// The entitlements of a tenant whose entitlements were never set.
#[derive(Debug, Clone, Deserialize)]
pub struct EntitlementDefaults {
    pub plan: String,
    pub api_rate_per_second: i32,
    pub max_workspaces: i32,
    pub max_provider_connections: i32,
    pub monthly_token_budget: i64,
}

impl EntitlementDefaults {
    #[expect(
        clippy::expect_used,
        reason = "the built-in entitlement defaults parse"
    )]
    pub fn dev_default() -> Self {
        serde_json::from_value(dev_defaults()["default_entitlements"].clone())
            .expect("the built-in entitlement defaults parse")
    }
}

plinth_service::service_settings!(Settings, name = crate::AUDIENCE, defaults = dev_defaults);

/// What onboarding requires and offers.
#[derive(Debug, Clone, Deserialize)]
pub struct OnboardingSettings {
    /// Deployment models this installation provisions; others are answered
    /// `deployment_model_not_offered`.
    pub offered_deployment_models: Vec<String>,
    /// The readiness checklist, in order. Items of services not running yet can be
    /// added once they are.
    pub items: Vec<ChecklistItemSpec>,
}

impl OnboardingSettings {
    /// The built-in checklist (audit, policy, packs, and two operator items).
    #[expect(clippy::expect_used, reason = "the built-in onboarding settings parse")]
    pub fn dev_default() -> Self {
        serde_json::from_value(dev_defaults()["onboarding"].clone())
            .expect("the built-in onboarding settings parse")
    }
}

/// What offboarding requires.
#[derive(Debug, Clone, Deserialize)]
pub struct OffboardingSettings {
    /// The cleanup checklist, in order; each item's description is the cleanup
    /// guidance shown for its service.
    pub items: Vec<ChecklistItemSpec>,
}

impl OffboardingSettings {
    /// The built-in checklist (audit, policy, packs, and two operator items).
    #[expect(
        clippy::expect_used,
        reason = "the built-in offboarding settings parse"
    )]
    pub fn dev_default() -> Self {
        serde_json::from_value(dev_defaults()["offboarding"].clone())
            .expect("the built-in offboarding settings parse")
    }
}

/// One item of a lifecycle checklist (onboarding's readiness, offboarding's cleanup).
#[derive(Debug, Clone, Deserialize)]
pub struct ChecklistItemSpec {
    pub key: String,
    /// The service that satisfies it, or `operator` for an operator's confirmation.
    pub owner: String,
    /// What the item is, for the checklist screen.
    pub description: String,
    /// The event type that satisfies it (`plinth.<area>.<name>`), for service items.
    #[serde(default)]
    pub satisfied_by: Option<String>,
    /// The event type that marks it failed, for service items.
    #[serde(default)]
    pub failed_by: Option<String>,
}

/// Defaults for the dev stack (`make up`); production sets every URL and the key.
fn dev_defaults() -> serde_json::Value {
    plinth_service::dev_defaults(
        8081,
        "plinth_tenant_registry",
        65536,
        serde_json::json!({
            "default_entitlements": {
                "plan": "trial", "api_rate_per_second": 10, "max_workspaces": 3,
                "max_provider_connections": 1, "monthly_token_budget": 1000000
            },
            "onboarding": {
                "offered_deployment_models": ["hosted_saas", "hybrid"],
                "items": [
                    { "key": "audit_store", "owner": "audit",
                      "description": "The tenant's audit chain exists and its genesis is signed",
                      "satisfied_by": "plinth.audit.store_provisioned",
                      "failed_by": "plinth.audit.store_provisioning_failed" },
                    { "key": "policy_registry", "owner": "policy",
                      "description": "The tenant is enrolled in the policy registry with the default policies",
                      "satisfied_by": "plinth.policy.registry_enrolled",
                      "failed_by": "plinth.policy.registry_enrollment_failed" },
                    { "key": "pack_defaults", "owner": "pack-service",
                      "description": "Default Domain and Tenant Packs are assigned",
                      "satisfied_by": "plinth.pack.defaults_assigned",
                      "failed_by": "plinth.pack.defaults_assignment_failed" },
                    { "key": "module_defaults", "owner": "module-catalog",
                      "description": "The modules the onboarding request names are enabled",
                      "satisfied_by": "plinth.module.defaults_enabled",
                      "failed_by": "plinth.module.defaults_enablement_failed" },
                    { "key": "provider_setup", "owner": "provider-setup",
                      "description": "The tenant can be given AI provider keys through setup links; the platform's default pooled connections are shared with it",
                      "satisfied_by": "plinth.provider.setup_ready",
                      "failed_by": "plinth.provider.setup_failed" },
                    { "key": "owner_contact_confirmed", "owner": "operator",
                      "description": "The owner contact was confirmed with the client" },
                    { "key": "sso_mapping", "owner": "operator",
                      "description": "The client's identity provider groups are mapped to roles" }
                ]
            },
            "offboarding": {
                "items": [
                    { "key": "audit_log_sealed", "owner": "audit",
                      "description": "The audit log is sealed with a final signed checkpoint; it stays retained and exportable (JSON Lines, OSCAL) after offboarding",
                      "satisfied_by": "plinth.audit.deprovisioned",
                      "failed_by": "plinth.audit.deprovisioning_failed" },
                    { "key": "policy_withdrawn", "owner": "policy",
                      "description": "The tenant's policies are withdrawn and pending approvals cancelled: no AI action runs for it; usage records are kept",
                      "satisfied_by": "plinth.policy.deprovisioned",
                      "failed_by": "plinth.policy.deprovisioning_failed" },
                    { "key": "pack_config_withdrawn", "owner": "pack-service",
                      "description": "The active configuration is withdrawn from the runtime; pack and playbook versions stay for the record",
                      "satisfied_by": "plinth.pack.deprovisioned",
                      "failed_by": "plinth.pack.deprovisioning_failed" },
                    { "key": "modules_disabled", "owner": "module-catalog",
                      "description": "Every module of the tenant is disabled, each with its cleanup steps recorded for the operator",
                      "satisfied_by": "plinth.module.deprovisioned" },
                    { "key": "provider_keys_destroyed", "owner": "provider-setup",
                      "description": "Every AI provider key and credential of the tenant is destroyed here (its data keys deleted), its setup links revoked and shared pooled connections withdrawn",
                      "satisfied_by": "plinth.provider.deprovisioned" },
                    { "key": "provider_keys_revoked", "owner": "operator",
                      "description": "The client revoked, at each AI provider, the keys it delegated through its setup link" },
                    { "key": "data_handed_over", "owner": "operator",
                      "description": "The client received its audit export and confirmed the handover" }
                ]
            }
        }),
    )
}
