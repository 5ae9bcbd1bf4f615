//! How a service reads its configuration, in one place: its built-in defaults,
//! then the TOML file named by `PLINTH_CONFIG`, then `PLINTH_…` environment
//! variables with `__` between levels (`PLINTH_HTTP__PORT=8081`). Nothing else in a
//! service reads the environment. And the settings every service shares.

#![warn(missing_docs)]

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Settings that do not load: a file that does not parse, a value of the wrong
/// type, a required value missing. It names the key and where the value came from.
#[derive(Debug, thiserror::Error)]
#[error("the settings do not load: {0}")]
pub struct ConfigError(Box<figment::Error>);

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        ConfigError(Box::new(err))
    }
}

/// `defaults`, then `PLINTH_CONFIG`'s file if set, then `PLINTH_…` variables.
pub fn load<T: DeserializeOwned>(defaults: serde_json::Value) -> Result<T, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Ok(path) = std::env::var("PLINTH_CONFIG") {
        figment = figment.merge(Toml::file_exact(path));
    }
    Ok(figment
        .merge(Env::prefixed("PLINTH_").split("__"))
        .extract()?)
}

/// `defaults` with `overrides` merged over them, key by key (nested objects merge
/// too): how tests, and other crates' tests, run a service.
pub fn with_overrides<T: DeserializeOwned>(
    defaults: serde_json::Value,
    overrides: serde_json::Value,
) -> Result<T, ConfigError> {
    Ok(Figment::from(Serialized::defaults(defaults))
        .merge(Serialized::defaults(overrides))
        .extract()?)
}

/// Where a service listens.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// The address to bind, e.g. `127.0.0.1`.
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// The operators' listener: metrics and health, never routed by a gateway;
    /// 0 (the default) picks a free port, which the service logs.
    #[serde(default)]
    pub internal_port: u16,
    /// Largest accepted request body; larger ones get 413.
    pub body_limit_bytes: usize,
    /// On SIGTERM, how long requests in flight have to finish, and then the
    /// tasks beside the server to stop, before they are cut off.
    #[serde(default = "default_shutdown_seconds")]
    pub shutdown_timeout_seconds: u64,
    /// Whether a new process of the service may listen on the same port while
    /// the old one still does (`SO_REUSEPORT`), for restarts in place: start the
    /// new one, wait for its readiness, SIGTERM the old (docs/operations.md).
    #[serde(default)]
    pub reuse_port: bool,
}

fn default_shutdown_seconds() -> u64 {
    30
}

impl HttpSettings {
    /// What a service's server binds.
    pub fn listen(&self) -> plinth_core::service::Listen<'_> {
        plinth_core::service::Listen {
            host: &self.host,
            port: self.port,
            body_limit_bytes: self.body_limit_bytes,
            shutdown_timeout: std::time::Duration::from_secs(self.shutdown_timeout_seconds),
            reuse_port: self.reuse_port,
        }
    }
}

/// A service's own database.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// The app role: neither owner nor BYPASSRLS.
    pub app_url: SecretString,
    /// The owner role, used only to run migrations at start-up.
    pub owner_url: SecretString,
    /// The app role's name, granted default privileges by the migrations.
    pub app_role: String,
    /// Most connections the app role's pool holds.
    pub pool_size: usize,
}

/// How a service checks the gateway's internal tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// The gateway's Ed25519 public key for internal tokens: 32 bytes, base64url.
    /// During a rotation, the new key and the old, comma-separated: a token
    /// signed with either passes (docs/operations.md).
    pub internal_token_public_key: String,
}

/// A service's event bus: where the brokers are, and which of its loops this
/// process runs (one may run the API and the relay or consumers in separate
/// processes).
#[derive(Debug, Clone, Deserialize)]
pub struct BusSettings {
    /// The brokers, `host:port` comma-separated.
    pub brokers: String,
    /// Prepended to every topic name (isolates tests and environments).
    pub topic_prefix: String,
    /// Partitions of the topics the service creates.
    pub partitions: i32,
    /// Whether this process runs the outbox relay (yes unless set).
    #[serde(default = "yes")]
    pub relay: bool,
    /// Whether this process consumes other services' events (yes unless set).
    #[serde(default = "yes")]
    pub consumers: bool,
    /// The service's own principal at the brokers; none for a broker without
    /// authentication (the Java-free dev broker).
    #[serde(default)]
    pub sasl: Option<BrokerCredentials>,
    /// Extra librdkafka properties for every client: TLS of a production cluster
    /// (`ssl.ca.location`), or tuning (`fetch.wait.max.ms`).
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// The SASL principal a process connects to the brokers as. Each service has its
/// own, so the brokers' ACLs decide which topics it may write and read.
#[derive(Debug, Clone, Deserialize)]
pub struct BrokerCredentials {
    /// The SCRAM user name.
    pub username: String,
    /// Its password.
    pub password: SecretString,
    /// The SASL mechanism: `SCRAM-SHA-512` unless set.
    #[serde(default = "BrokerCredentials::default_mechanism")]
    pub mechanism: String,
    /// `SASL_SSL` (the default: production brokers speak TLS) or `SASL_PLAINTEXT`
    /// (the dev broker, on the loopback interface only).
    #[serde(default = "BrokerCredentials::default_protocol")]
    pub protocol: String,
}

impl BrokerCredentials {
    fn default_mechanism() -> String {
        "SCRAM-SHA-512".to_owned()
    }

    fn default_protocol() -> String {
        "SASL_SSL".to_owned()
    }
}
