//! The service's configuration, in one place: built-in defaults, then an optional
//! TOML file (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__`
//! between levels (`PLINTH_HTTP__PORT=8081`, `PLINTH_DATABASE__APP_URL=…`). Nothing
//! else in the service reads the environment.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use plinth_core::Region;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The region this deployment serves; tenants of the other region are refused.
    pub region: Region,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub bus: BusSettings,
    pub auth: AuthSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Largest accepted request body; larger ones get 413.
    pub body_limit_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// The app role: neither owner nor BYPASSRLS.
    pub app_url: SecretString,
    /// The owner role, used only to run migrations at start-up.
    pub owner_url: SecretString,
    /// The app role's name, granted default privileges by the migrations.
    pub app_role: String,
    pub pool_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BusSettings {
    pub brokers: String,
    /// Prepended to every topic name (isolates tests and environments).
    pub topic_prefix: String,
    pub partitions: i32,
    /// Whether this process runs the outbox relay (one may run the API and the
    /// relay in separate processes).
    pub relay: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// The gateway's Ed25519 public key for internal tokens: 32 bytes, base64url.
    pub internal_token_public_key: String,
}

impl Settings {
    /// Defaults, then `PLINTH_CONFIG`'s file if set, then `PLINTH_…` variables.
    pub fn load() -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(dev_defaults()));
        if let Ok(path) = std::env::var("PLINTH_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        Ok(figment
            .merge(Env::prefixed("PLINTH_").split("__"))
            .extract()?)
    }
}

/// Defaults for the dev stack (`make up`); production sets every URL and the key.
fn dev_defaults() -> serde_json::Value {
    serde_json::json!({
        "region": "us",
        "http": { "host": "127.0.0.1", "port": 8081, "body_limit_bytes": 65536 },
        "database": {
            "app_url": "postgres://plinth_app:plinth@127.0.0.1:5432/plinth_tenant_registry",
            "owner_url": "postgres://plinth_owner:plinth@127.0.0.1:5432/plinth_tenant_registry",
            "app_role": "plinth_app",
            "pool_size": 16
        },
        "bus": { "brokers": "127.0.0.1:19092", "topic_prefix": "", "partitions": 3, "relay": true },
        "auth": { "internal_token_public_key": "" }
    })
}
