//! The service's configuration, in one place: built-in defaults, then an optional
//! TOML file (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__`
//! between levels (`PLINTH_TRUST__ALLOWED_SOURCES=…`). Nothing else in the service
//! reads the environment.

use plinth_service::SharedSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has: region, listener, database, bus, token key.
    #[serde(flatten)]
    pub shared: SharedSettings,
    pub trust: TrustSettings,
    pub runtime: RuntimeSettings,
    pub known: KnownSettings,
}

/// The platform's trust policy.
#[derive(Debug, Clone, Deserialize)]
pub struct TrustSettings {
    /// `host/organisation` (or `host`) of the repositories releases may come from.
    pub allowed_sources: Vec<String>,
}

/// What this deployment runs.
#[derive(Debug, Clone, Deserialize)]
pub struct RuntimeSettings {
    /// Runtime kinds (`container`, `wasm`) this deployment runs.
    pub kinds: Vec<String>,
    /// The platform's version; a release needing a newer one is refused.
    pub platform_version: String,
}

/// What releases may refer to.
#[derive(Debug, Clone, Deserialize)]
pub struct KnownSettings {
    /// Connector kinds the platform knows.
    pub connectors: Vec<String>,
}

plinth_service::service_settings!(Settings, name = crate::AUDIENCE, defaults = dev_defaults);

/// Defaults for the dev stack (`make up`); production sets every URL and the key.
fn dev_defaults() -> serde_json::Value {
    plinth_service::dev_defaults(
        8083,
        "plinth_module_catalog",
        // A release may come with its image artifact.
        16 * 1024 * 1024,
        serde_json::json!({
            "trust": { "allowed_sources": ["github.com/plinth-modules", "gitlab.com/plinth-modules"] },
            "runtime": { "kinds": ["container"], "platform_version": "1.2.0" },
            "known": { "connectors": ["servicenow", "jira", "slack", "teams", "erp", "email"] }
        }),
    )
}
