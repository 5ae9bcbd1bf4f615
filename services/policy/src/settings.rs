//! The service's configuration, in one place: built-in defaults, then an optional
//! TOML file (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__`
//! between levels. Nothing else in the service reads the environment.

use plinth_service::SharedSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has: region, listener, database, bus, token key.
    #[serde(flatten)]
    pub shared: SharedSettings,
}

plinth_service::service_settings!(Settings, name = crate::AUDIENCE, defaults = dev_defaults);

/// Defaults for the dev stack (`make up`); production sets every URL.
fn dev_defaults() -> serde_json::Value {
    plinth_service::dev_defaults(8085, "plinth_policy", 64 * 1024, serde_json::json!({}))
}
