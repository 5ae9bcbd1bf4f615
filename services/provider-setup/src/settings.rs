//! The service's configuration, in one place: built-in defaults, then an optional
//! TOML file (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__`
//! between levels (`PLINTH_SETUP__BASE_URL=…`). Nothing else in the service
//! reads the environment.

use plinth_service::SharedSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has: region, listener, database, bus, token key.
    #[serde(flatten)]
    pub shared: SharedSettings,
    pub setup: SetupSettings,
    pub secrets: SecretSettings,
    pub validation: ValidationSettings,
    pub onboarding: OnboardingSettings,
    pub health: HealthSettings,
}

/// Connections' health: checks made here, results submitted through the gate.
#[derive(Debug, Clone, Deserialize)]
pub struct HealthSettings {
    /// How often each active connection is checked (a minimal completion).
    pub every_seconds: u64,
    /// A check answered slower than this is `degraded`.
    pub degraded_after_ms: u64,
    /// The platform's gate on submitted results, until the policy service
    /// decides it.
    pub gate: HealthGate,
}

/// Who may submit a health result, and what a result must be.
#[derive(Debug, Clone, Deserialize)]
pub struct HealthGate {
    /// Roles whose results are accepted (`Runtime`, `PlatformAdmin`, …).
    pub submitters: Vec<plinth_core::Role>,
    /// A result observed longer ago than this is refused.
    pub max_age_seconds: u64,
}

/// What onboarding gives a new tenant.
#[derive(Debug, Clone, Deserialize)]
pub struct OnboardingSettings {
    /// Pooled connections (by name) shared with every tenant onboarded, each
    /// under its limits.
    #[serde(default)]
    pub default_pools: Vec<PoolDefault>,
}

/// A pooled connection every new tenant shares.
#[derive(Debug, Clone, Deserialize)]
pub struct PoolDefault {
    pub name: String,
    pub requests_per_minute: i32,
    pub tokens_per_month: i64,
}

/// The delegated setup surface of this region.
#[derive(Debug, Clone, Deserialize)]
pub struct SetupSettings {
    /// Where the setup surface is served for this region (the region's gateway
    /// forwards `/setup` here, without authentication); a link is this URL
    /// with the token in its fragment (`…/setup#<token>`), which browsers never
    /// send to a server, so no access log holds it.
    pub base_url: String,
    /// How long a minted link lives unless the request asks for less.
    pub link_minutes: u32,
    /// The longest life a link may be given.
    pub max_link_minutes: u32,
    /// After a rotation, how long the previous key stays usable (the runtime
    /// moves to the new one meanwhile); then it is destroyed.
    pub grace_minutes: u32,
    /// How often the key versions past their grace period are looked for
    /// (and destroyed).
    pub shred_every_seconds: u64,
    /// Whether a connection's base URL may be plain http to this machine (the
    /// dev stack's local provider servers); otherwise https only.
    pub loopback_http: bool,
}

/// Where the region's key-encryption keys are.
#[derive(Debug, Clone, Deserialize)]
pub struct SecretSettings {
    /// `envelope` (the service holds the key-encryption key) or `vault`.
    pub backend: String,
    /// `envelope`: the key-encryption key (64 hex digits or base64), given
    /// directly…
    #[serde(default)]
    pub kek: Option<SecretString>,
    /// …or in this file.
    #[serde(default)]
    pub kek_file: Option<String>,
    /// `envelope`: files of older keys, which still unwrap what they wrapped.
    #[serde(default)]
    pub older_kek_files: Vec<String>,
    /// `vault`: the server, its token, the transit mount and key name.
    #[serde(default)]
    pub vault: Option<VaultSettings>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VaultSettings {
    pub address: String,
    pub token: SecretString,
    pub mount: String,
    pub key: String,
}

/// Checking a key entered.
#[derive(Debug, Clone, Deserialize)]
pub struct ValidationSettings {
    /// How long a provider may take to answer.
    pub timeout_ms: u64,
    /// Key entries a tenant may make per minute, over all its links.
    pub per_tenant_per_minute: u32,
    /// Key entries one link takes per minute.
    pub per_link_per_minute: u32,
}

plinth_service::service_settings!(Settings, name = crate::AUDIENCE, defaults = dev_defaults);

/// Defaults for the dev stack (`make up`); production sets every URL and the key.
fn dev_defaults() -> serde_json::Value {
    plinth_service::dev_defaults(
        8084,
        "plinth_provider_setup",
        64 * 1024,
        serde_json::json!({
            "setup": {
                "base_url": "http://127.0.0.1:8080/setup",
                "link_minutes": 30,
                "max_link_minutes": 24 * 60,
                "grace_minutes": 60,
                "shred_every_seconds": 30,
                "loopback_http": true
            },
            "secrets": { "backend": "envelope" },
            "onboarding": { "default_pools": [] },
            "health": {
                "every_seconds": 300,
                "degraded_after_ms": 5000,
                "gate": { "submitters": ["Runtime", "PlatformAdmin", "IntegrationAdmin"], "max_age_seconds": 900 }
            },
            "validation": {
                "timeout_ms": 5000,
                "per_tenant_per_minute": 20,
                "per_link_per_minute": 5
            }
        }),
    )
}
