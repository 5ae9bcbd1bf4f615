//! The service's configuration: built-in defaults, then an optional TOML file
//! (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__` between
//! levels (`PLINTH_LOG__SIGNING_KEY=…`). Nothing else in the service reads the
//! environment.
use plinth_service::SharedSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// What every service has: region, listener, database, bus, token key.
    #[serde(flatten)]
    pub shared: SharedSettings,
    pub log: LogSettings,
}

/// How logs are signed and how often.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// The log key as a signed-note private key (`PRIVATE+KEY+<name>+<id>+<base64>`).
    /// Its verifier key is what auditors keep to check checkpoints and exports.
    pub signing_key: SecretString,
    /// Names this installation in every checkpoint's origin (`<prefix>/<log>`).
    pub origin_prefix: String,
    /// A checkpoint after this many new entries…
    pub checkpoint_every_entries: u64,
    /// …or after this many seconds with new entries, whichever comes first.
    pub checkpoint_every_seconds: u64,
}

plinth_service::service_settings!(Settings, name = crate::AUDIENCE, defaults = dev_defaults);

/// Defaults for the dev stack (`make up`); production sets every URL and both keys.
fn dev_defaults() -> serde_json::Value {
    plinth_service::dev_defaults(
        8086,
        "plinth_audit",
        65536,
        serde_json::json!({
            "log": {
                "signing_key": "",
                "origin_prefix": "audit.plinth.localhost/us",
                "checkpoint_every_entries": 1000,
                "checkpoint_every_seconds": 60
            }
        }),
    )
}
