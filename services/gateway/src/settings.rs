//! The gateway's configuration: built-in defaults, then an optional TOML file
//! (`PLINTH_CONFIG`), then `PLINTH_…` environment variables with `__` between
//! levels (`PLINTH_OIDC__ISSUER=https://login.example.com`).

use std::collections::BTreeMap;

use plinth_core::{Region, Role};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The region this gateway serves.
    pub region: Region,
    pub http: HttpSettings,
    pub oidc: OidcSettings,
    pub login: LoginSettings,
    pub internal_token: InternalTokenSettings,
    /// Where each path prefix goes; the longest prefix that matches wins
    /// (`/runtime/providers` before `/runtime`).
    pub routes: Vec<Route>,
    /// Each service's operators' listener (`/readyz`), by service name: what
    /// `GET /admin/readiness` asks.
    #[serde(default)]
    pub readiness: BTreeMap<String, String>,
    /// Each region's public base URL, named in `wrong_region` answers.
    pub regions: BTreeMap<Region, String>,
    /// The admin console's built files (`console/dist`), served at `/` (its
    /// scripts under `/assets/`, its page for any page a browser asks for that
    /// no service routes); none when empty.
    #[serde(default)]
    pub console_dir: String,
    /// Identity-provider groups whose members hold a platform role.
    pub platform_groups: BTreeMap<String, Role>,
    /// The brokers: the registry's events for the roles projection, refusals and
    /// ended sessions out. `relay` and `consumers` mean nothing here.
    pub bus: plinth_config::BusSettings,
    pub rate_limits: RateLimitSettings,
}

/// Rate limits.
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    /// Requests a second for a tenant whose entitlements have not been set (the
    /// registry's `default_entitlements.api_rate_per_second`).
    pub default_per_second: u32,
    /// Requests a second for each person acting through platform roles (MSP
    /// staff), who never take from a tenant's allowance.
    pub caller_per_second: u32,
    /// Failed authentications a second from one client address; past them the
    /// address gets `429` before any credential is checked, until the allowance
    /// refills.
    pub unauthenticated_per_second: u32,
}

/// The short-lived token the gateway mints for the service it forwards to.
#[derive(Debug, Clone, Deserialize)]
pub struct InternalTokenSettings {
    /// The Ed25519 private key, PKCS#8 PEM; services hold its public key.
    pub private_key_pem: SecretString,
    /// How long a minted token lives (at most 60 seconds).
    pub lifetime_seconds: u64,
}

/// A path prefix and the service behind it.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    /// `/admin/tenants`: matches it and everything below it.
    pub prefix: String,
    /// The service's base URL.
    pub upstream: String,
    /// The audience of the internal token: the service's name.
    pub audience: String,
    /// Whether `POST <prefix>` creates a resource whose body names its region
    /// (`region`), refused here when it names another.
    #[serde(default)]
    pub create_names_region: bool,
    /// Forwarded without anyone authenticated: the delegated setup surface,
    /// where a setup link's token (in the body) is the only credential. No
    /// credential of the caller's goes on (no cookie, no `Authorization`), no
    /// internal token is minted, and each client address has an allowance of
    /// its own.
    #[serde(default)]
    pub public: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// Where it listens (`host`, `port`: 0 picks a free one) and the largest
    /// request body forwarded (`body_limit_bytes`); larger ones get 413.
    #[serde(flatten)]
    pub server: plinth_config::HttpSettings,
    /// How long an upstream may take to answer.
    pub upstream_timeout_seconds: u64,
    /// HTTP worker threads; 0: one per core.
    #[serde(default)]
    pub workers: usize,
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
    /// A PEM file of certificate authorities trusted for the issuer's TLS besides
    /// the system's: an issuer with a certificate of the organisation's own CA.
    #[serde(default)]
    pub ca_file: Option<String>,
}

impl OidcSettings {
    /// The HTTP client the gateway talks to the issuer with: TLS verified against
    /// the system's roots and `ca_file`'s, no redirects followed.
    pub fn http_client(&self) -> anyhow::Result<reqwest::Client> {
        use anyhow::Context as _;
        let mut builder = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &self.ca_file {
            let pem =
                std::fs::read(path).with_context(|| format!("reading oidc.ca_file {path}"))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("oidc.ca_file {path} holds no PEM certificates"))?;
            builder = builder.tls_certs_merge(certs);
        }
        Ok(builder.build()?)
    }
}

/// Browser login: the gateway as a confidential client of the issuer.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginSettings {
    /// Whether people log in here with a browser; a gateway for API clients only
    /// turns it off, and `/auth/login` is then not found.
    pub enabled: bool,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The gateway's public base URL (`https://console.msp.example`): the
    /// callback is `<public_url>/auth/callback`, and cookies are `Secure` when it
    /// is `https`. Empty: `http://<host>:<port>` as bound (the dev stack, tests).
    #[serde(default)]
    pub public_url: String,
    /// The scopes asked for (`openid` always).
    pub scopes: Vec<String>,
    /// The key of the session cookies: 64 random bytes, base64 (`openssl rand
    /// -base64 64`), the same on every gateway of a region. Empty: a key made at
    /// start, so sessions end with the process.
    pub session_key: SecretString,
    /// A session unused this long ends.
    pub idle_timeout_seconds: u64,
    /// A session ends this long after the login, used or not.
    pub absolute_timeout_seconds: u64,
    /// How often at most a session's person is asked of the identity provider
    /// again (with the session's refresh token), so that changed groups take
    /// effect and a person removed there is logged out here.
    pub groups_recheck_seconds: u64,
    /// Where the issuer sends people after logging out. Empty: `<public_url>/`.
    #[serde(default)]
    pub post_logout_redirect_url: String,
}

impl Settings {
    /// Defaults, then `PLINTH_CONFIG`'s file if set, then `PLINTH_…` variables.
    pub fn load() -> Result<Self, plinth_config::ConfigError> {
        plinth_config::load(dev_defaults())
    }

    /// The defaults with `overrides` merged over them, key by key.
    pub fn with_overrides(
        overrides: serde_json::Value,
    ) -> Result<Self, plinth_config::ConfigError> {
        plinth_config::with_overrides(dev_defaults(), overrides)
    }
}

/// Defaults for the dev stack (`make up`): the dev identity provider.
fn dev_defaults() -> serde_json::Value {
    serde_json::json!({
        "region": "us",
        "http": {
            "host": "127.0.0.1", "port": 8080,
            // Packs of a few megabytes are imported through the gateway; each
            // service keeps a limit of its own.
            "body_limit_bytes": 4194304, "upstream_timeout_seconds": 30
        },
        "oidc": {
            "issuer": "http://127.0.0.1:19080",
            "audience": "urn:plinth:api",
            "leeway_seconds": 10,
            "jwks_refresh_min_seconds": 10
        },
        "login": {
            "enabled": true,
            "client_id": "plinth-gateway",
            "client_secret": "",
            "session_key": "",
            "scopes": ["openid", "email", "profile", "groups", "api"],
            "idle_timeout_seconds": 1800,
            "absolute_timeout_seconds": 28800,
            "groups_recheck_seconds": 300
        },
        "internal_token": { "private_key_pem": "", "lifetime_seconds": 60 },
        "readiness": {
            "tenant-registry": "http://127.0.0.1:8181",
            "pack-service": "http://127.0.0.1:8182",
            "module-catalog": "http://127.0.0.1:8183",
            "provider-setup": "http://127.0.0.1:8184",
            "policy": "http://127.0.0.1:8185",
            "audit": "http://127.0.0.1:8186"
        },
        "routes": [
            { "prefix": "/admin/tenants", "upstream": "http://127.0.0.1:8081",
              "audience": "tenant-registry", "create_names_region": true },
            { "prefix": "/admin/audit", "upstream": "http://127.0.0.1:8086", "audience": "audit" },
            { "prefix": "/admin/packs", "upstream": "http://127.0.0.1:8082", "audience": "pack-service" },
            { "prefix": "/admin/playbooks", "upstream": "http://127.0.0.1:8082", "audience": "pack-service" },
            { "prefix": "/runtime", "upstream": "http://127.0.0.1:8082", "audience": "pack-service" },
            { "prefix": "/admin/modules", "upstream": "http://127.0.0.1:8083", "audience": "module-catalog" },
            { "prefix": "/admin/deployments", "upstream": "http://127.0.0.1:8083", "audience": "module-catalog" },
            { "prefix": "/admin/tenant-modules", "upstream": "http://127.0.0.1:8083", "audience": "module-catalog" },
            { "prefix": "/admin/trust", "upstream": "http://127.0.0.1:8083", "audience": "module-catalog" },
            { "prefix": "/admin/providers", "upstream": "http://127.0.0.1:8084", "audience": "provider-setup" },
            { "prefix": "/runtime/providers", "upstream": "http://127.0.0.1:8084", "audience": "provider-setup" },
            { "prefix": "/setup", "upstream": "http://127.0.0.1:8084", "audience": "provider-setup",
              "public": true },
            { "prefix": "/admin/policies", "upstream": "http://127.0.0.1:8085", "audience": "policy" },
            { "prefix": "/runtime/policy", "upstream": "http://127.0.0.1:8085", "audience": "policy" }
        ],
        "regions": { "us": "http://127.0.0.1:8080", "eu": "http://127.0.0.1:9080" },
        "bus": { "brokers": "127.0.0.1:19092", "topic_prefix": "", "partitions": 3 },
        "rate_limits": { "default_per_second": 10, "caller_per_second": 50, "unauthenticated_per_second": 20 },
        "platform_groups": {
            "plinth-platform-admins": "PlatformAdmin",
            "plinth-platform-auditors": "PlatformAuditor",
            "plinth-runtimes": "Runtime"
        }
    })
}
