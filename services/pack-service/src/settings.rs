//! The service's configuration, in one place: built-in defaults, then an optional
//! TOML file (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__`
//! between levels (`PLINTH_HTTP__PORT=8082`). Nothing else in the service reads
//! the environment.

use plinth_service::SharedSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has: region, listener, database, bus, token key.
    #[serde(flatten)]
    pub shared: SharedSettings,
    pub defaults: DefaultSettings,
}

/// What a newly onboarded tenant runs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DefaultSettings {
    /// The Domain Pack assigned to every tenant at onboarding (the checklist item
    /// `pack_defaults`); none: the item is satisfied with nothing assigned, and
    /// the tenant's first activation is explicit.
    #[serde(default)]
    pub domain_pack: Option<DefaultPack>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DefaultPack {
    pub domain: String,
    pub version: String,
}

plinth_service::service_settings!(Settings, name = crate::AUDIENCE, defaults = dev_defaults);

/// Defaults for the dev stack (`make up`); production sets every URL and the key.
fn dev_defaults() -> serde_json::Value {
    plinth_service::dev_defaults(
        8082,
        "plinth_pack_service",
        // Packs of a megabyte and more are imported through the API.
        4194304,
        serde_json::json!({
            "defaults": {}
        }),
    )
}
