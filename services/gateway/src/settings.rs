//! The gateway's configuration: built-in defaults, then an optional TOML file
//! (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__` between
//! levels (`PLINTH_OIDC__ISSUER=https://login.example.com`).

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use plinth_core::Region;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The region this gateway serves.
    pub region: Region,
    pub http: HttpSettings,
    pub oidc: OidcSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
}

/// The OpenID Connect issuer people and API clients authenticate with: any
/// standard provider.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcSettings {
    /// The issuer URL; its discovery document names the key set.
    pub issuer: String,
    /// The audience bearer tokens must be issued for.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// The least time between two fetches of the key set prompted by an unknown
    /// key id: a flood of forged key ids cannot make the gateway hammer the issuer.
    pub jwks_refresh_min_seconds: u64,
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

    /// The defaults with `overrides` merged over them, key by key.
    pub fn with_overrides(overrides: serde_json::Value) -> anyhow::Result<Self> {
        Ok(Figment::from(Serialized::defaults(dev_defaults()))
            .merge(Serialized::defaults(overrides))
            .extract()?)
    }
}

/// Defaults for the dev stack (`make up`): the dev identity provider.
fn dev_defaults() -> serde_json::Value {
    serde_json::json!({
        "region": "us",
        "http": { "host": "127.0.0.1", "port": 8080 },
        "oidc": {
            "issuer": "http://127.0.0.1:19080",
            "audience": "urn:plinth:api",
            "leeway_seconds": 10,
            "jwks_refresh_min_seconds": 10
        }
    })
}
