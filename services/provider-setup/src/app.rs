//! The management rules: connections (a tenant's own, or pooled), pooled
//! connections shared with tenants, setup requests and the delegated links
//! minted for them. Every function takes the verified caller first, checks the
//! permission, and runs its database work in one transaction with its events
//! and audit event; a refused action changes nothing and leaves one audit event
//! of its own. No function here takes or returns a key: keys arrive only
//! through a link's redemption ([`crate::redeem`]).

use base64::Engine as _;
use diesel_async::AsyncPgConnection;
use plinth_authz::{Act, Authorized, Caller, Resources};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, Region, ReqCtx, TenantId};
use plinth_db::{Pool, TenantScope, scoped_transaction};
use plinth_providers::ProviderKind;
use plinth_service::{ServiceState, require_platform_wide};
use rand_core::{OsRng, RngCore as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

pub use plinth_db::now;

use crate::events::{Audited, Events, Outcome};
use crate::keys::Keys;
use crate::redeem::Limits;
use crate::settings::SetupSettings;
use crate::store::{
    ConnectionRow, GrantRow, InstallationRow, KeyVersionRow, LinkRow, RequestRow, ValidationRow,
    candidates_of_tenant, connection_get_on_conn, connection_insert_on_conn,
    connection_list_pooled_on_conn, connectors_of_tenant_on_conn, grant_delete_on_conn,
    grant_get_on_conn, grant_list_on_conn, grant_upsert_on_conn, health_list_on_conn,
    installation_insert_on_conn, key_version_list_on_conn, link_get_on_conn, link_insert_on_conn,
    link_list_on_conn, links_revoke_on_conn, request_close_on_conn, request_get_on_conn,
    request_insert_on_conn, request_list_on_conn, request_open_on_conn, tenant_get_on_conn,
    validation_list_on_conn, workspace_get_on_conn,
};

/// What the app functions work with.
pub struct AppState {
    pub pool: Pool,
    pub events: Events,
    pub region: Region,
    pub keys: Keys,
    pub providers: plinth_providers::Client,
    pub setup: SetupSettings,
    pub limits: Limits,
    /// The pooled connections onboarding shares with every new tenant.
    pub default_pools: Vec<crate::settings::PoolDefault>,
    pub health: HealthConfig,
}

/// How health results are judged.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// A check answered slower than this is `degraded`.
    pub degraded_after: std::time::Duration,
    /// The platform's gate on submitted results.
    pub gate: crate::settings::HealthGate,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl ServiceState for AppState {
    fn pool(&self) -> &Pool {
        &self.pool
    }

    fn audit_event(
        &self,
        ctx: &ReqCtx,
        audited: &Audited,
        outcome: Outcome,
        reason: Option<&str>,
    ) -> Result<Event, ApiError> {
        self.events.audit(ctx, audited, outcome, reason)
    }

    /// Whether the registry's events told provider setup of `tenant`.
    async fn has_tenant_on_conn(
        &self,
        conn: &mut AsyncPgConnection,
        tenant: TenantId,
    ) -> Result<bool, ApiError> {
        Ok(tenant_get_on_conn(conn, &tenant.to_string())
            .await?
            .is_some())
    }
}

/// Refuses settings a link could not be minted from.
pub fn check_setup(setup: &SetupSettings) -> Result<(), String> {
    let url = &setup.base_url;
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('#') {
        return Err(format!(
            "setup.base_url must be an http(s) URL without a fragment, not {url:?}"
        ));
    }
    if setup.link_minutes == 0 || setup.link_minutes > setup.max_link_minutes {
        return Err("setup.link_minutes must be between 1 and setup.max_link_minutes".to_owned());
    }
    if setup.grace_minutes == 0 {
        return Err("setup.grace_minutes must be at least 1".to_owned());
    }
    Ok(())
}

/// Whose connection: a tenant's own AI provider connection, the platform's
/// pooled one, or a connector installed in one of a tenant's workspaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Tenant(TenantId),
    Pool,
    Connectors(TenantId),
}

impl Owner {
    /// The tenant it is of; none for the platform's pooled connections.
    pub fn tenant(self) -> Option<TenantId> {
        match self {
            Owner::Tenant(t) | Owner::Connectors(t) => Some(t),
            Owner::Pool => None,
        }
    }

    /// The `tenant_id` of its rows.
    pub fn column(self) -> Option<String> {
        self.tenant().map(|t| t.to_string())
    }

    /// The row-level security scope its work runs in.
    pub(crate) fn scope(self) -> TenantScope {
        match self.tenant() {
            Some(t) => TenantScope::Tenant(t),
            None => TenantScope::All,
        }
    }

    /// Whether `row` is this owner's own: a connector installation is never
    /// reached on a provider connection's path, nor the other way round.
    pub(crate) fn owns(self, row: &ConnectionRow) -> bool {
        row.tenant_id == self.column() && row.is_connector() == matches!(self, Owner::Connectors(_))
    }

    /// The audit record of `action`, in the tenant's log or the platform's.
    pub(crate) fn audited(self, action: &'static str, resource_type: &'static str) -> Audited {
        let audited = Audited::new(action, resource_type);
        match self.tenant() {
            Some(t) => audited.in_tenant(t),
            None => audited,
        }
    }
}

/// The caller, when the route's decision allows it to act for `owner`: a
/// pooled connection is the unbound platform team's. For a tenant, provider
/// setup must know it.
pub(crate) async fn permit_for<'a, R: Resources, A: Act>(
    app: &AppState,
    auth: &'a Authorized<R, A>,
    owner: Owner,
) -> Result<&'a Caller, ApiError> {
    let caller = auth.permit()?;
    match owner.tenant() {
        None => require_platform_wide(caller)?,
        Some(tenant) => {
            caller.ctx.require_local(tenant)?;
            if !app.knows_tenant(tenant).await {
                return Err(ApiError::not_found("tenant"));
            }
        }
    }
    Ok(caller)
}

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A connection as the API shows it. Never a key: its versions' metadata only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Connection {
    #[schema(example = "pcn_4b1c…")]
    pub connection_id: String,
    /// The tenant whose own connection it is; none for a pooled connection.
    pub tenant_id: Option<String>,
    /// Whether it is the platform's, shared with chosen tenants.
    pub pooled: bool,
    #[schema(example = "primary-openai")]
    pub name: String,
    /// `openai`, `azure_openai` or `anthropic`.
    #[schema(example = "openai")]
    pub kind: String,
    pub base_url: String,
    /// Azure OpenAI: the deployment completions go to.
    pub deployment: Option<String>,
    /// Azure OpenAI: the API version every call names.
    pub api_version: Option<String>,
    /// The model the runtime uses unless it asks for another.
    #[schema(example = "gpt-4o-mini")]
    pub default_model: String,
    /// `PENDING` (no key yet), `ACTIVE`, `DISABLED` or `DESTROYED`.
    #[schema(example = "PENDING")]
    pub status: String,
    /// The key version the runtime gets.
    pub active_version: Option<i32>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The latest health result's status (`ready`, `degraded`,
    /// `rate_limited`, `auth_failed`, `unreachable`), once there is one.
    pub health_status: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub health_checked_at: Option<OffsetDateTime>,
    /// A pooled connection seen by a tenant: the tenant's limits on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
    /// On a single connection: its latest health results, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Vec<crate::health::HealthRecord>>,
    /// On a single connection: its key versions, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<KeyVersion>>,
    /// On a single connection: its setup requests with their links, newest
    /// first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<SetupRequest>>,
    /// On a single connection: the validations of keys entered, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validations: Option<Vec<Validation>>,
}

impl Connection {
    fn of(row: ConnectionRow) -> Self {
        Connection {
            pooled: row.tenant_id.is_none(),
            connection_id: row.connection_id,
            tenant_id: row.tenant_id,
            name: row.name,
            kind: row.kind,
            base_url: row.base_url,
            deployment: row.deployment,
            api_version: row.api_version,
            default_model: row.default_model,
            status: row.status,
            active_version: row.active_version,
            created_at: row.created_at,
            created_by: row.created_by,
            updated_at: row.updated_at,
            health_status: row.health_status,
            health_checked_at: row.health_checked_at,
            grant: None,
            health: None,
            keys: None,
            requests: None,
            validations: None,
        }
    }
}

/// A key version's metadata: never the key, its data key or its ciphertext.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyVersion {
    pub version: i32,
    /// `ACTIVE`, `PREVIOUS` (usable until `usable_until`) or `DESTROYED`.
    pub status: String,
    /// The backend that sealed it (`envelope`, `vault`).
    pub backend: String,
    /// The key-encryption key that wrapped its data key.
    pub key_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub usable_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub destroyed_at: Option<OffsetDateTime>,
}

impl From<KeyVersionRow> for KeyVersion {
    fn from(row: KeyVersionRow) -> Self {
        KeyVersion {
            version: row.version,
            status: row.status,
            backend: row.backend,
            key_id: row.key_id,
            created_at: row.created_at,
            usable_until: row.usable_until,
            destroyed_at: row.destroyed_at,
        }
    }
}

/// A request for a connection's key and the links minted for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SetupRequest {
    pub request_id: String,
    pub connection_id: String,
    /// `initial` (the connection's first key) or `rotation`.
    #[schema(example = "initial")]
    pub purpose: String,
    /// `OPEN`, `COMPLETED` or `CANCELLED`.
    #[schema(example = "OPEN")]
    pub status: String,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// The links minted for it, newest first (never their tokens).
    pub links: Vec<Link>,
}

impl SetupRequest {
    pub(crate) fn of(row: RequestRow, links: Vec<LinkRow>, at: OffsetDateTime) -> Self {
        SetupRequest {
            request_id: row.request_id,
            connection_id: row.connection_id,
            purpose: row.purpose,
            status: row.status,
            note: row.note,
            created_at: row.created_at,
            created_by: row.created_by,
            completed_at: row.completed_at,
            links: links.into_iter().map(|l| Link::of(l, at)).collect(),
        }
    }
}

/// A delegated link, as its request lists it: never its token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    pub link_id: String,
    /// `live`, `expired`, `revoked` or `redeemed`.
    #[schema(example = "live")]
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Keys entered through it (each validated with the provider).
    pub attempts: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub redeemed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
}

/// A link's state at `at`.
pub fn link_state(row: &LinkRow, at: OffsetDateTime) -> &'static str {
    if row.redeemed_at.is_some() {
        "redeemed"
    } else if row.revoked_at.is_some() {
        "revoked"
    } else if row.expires_at <= at {
        "expired"
    } else {
        "live"
    }
}

impl Link {
    fn of(row: LinkRow, at: OffsetDateTime) -> Self {
        Link {
            state: link_state(&row, at).to_owned(),
            link_id: row.link_id,
            created_at: row.created_at,
            created_by: row.created_by,
            expires_at: row.expires_at,
            attempts: row.attempts,
            redeemed_at: row.redeemed_at,
            revoked_at: row.revoked_at,
            revoked_by: row.revoked_by,
        }
    }
}

/// A link just minted: the only answer that holds its URL.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MintedLink {
    pub link_id: String,
    pub request_id: String,
    pub connection_id: String,
    /// The setup surface's URL with the token in its fragment. Shown once: only
    /// its hash is kept. Hand it to whoever enters the key.
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A validation of a key entered: what the provider answered, normalized.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Validation {
    pub validation_id: String,
    pub link_id: String,
    /// `ok`, `auth_failed`, `rate_limited`, `unreachable`, `provider_error` or
    /// `unexpected`.
    #[schema(example = "ok")]
    pub outcome: String,
    pub http_status: Option<i32>,
    pub latency_ms: i32,
    /// How many models the provider listed.
    pub models: i32,
    /// Whether the key became the active version.
    pub activated: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
}

impl From<ValidationRow> for Validation {
    fn from(row: ValidationRow) -> Self {
        Validation {
            validation_id: row.validation_id,
            link_id: row.link_id,
            outcome: row.outcome,
            http_status: row.http_status,
            latency_ms: row.latency_ms,
            models: row.models,
            activated: row.activated,
            checked_at: row.checked_at,
        }
    }
}

/// A pooled connection's share for one tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    pub tenant_id: String,
    /// Requests per minute the tenant may send through it.
    pub requests_per_minute: i32,
    /// Tokens per month the tenant may spend through it.
    pub tokens_per_month: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
    pub granted_by: String,
}

impl From<GrantRow> for Grant {
    fn from(row: GrantRow) -> Self {
        Grant {
            tenant_id: row.tenant_id,
            requests_per_minute: row.requests_per_minute,
            tokens_per_month: row.tokens_per_month,
            granted_at: row.granted_at,
            granted_by: row.granted_by,
        }
    }
}

/// A connection to create (no key: that comes through a link).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    /// Unique among the owner's connections: letters, digits, `-`, `_`, `.`.
    #[schema(example = "primary-openai")]
    pub name: String,
    /// `openai`, `azure_openai` or `anthropic`.
    #[schema(example = "openai")]
    pub kind: String,
    /// The API's base URL; OpenAI's and Anthropic's public APIs by default, an
    /// Azure OpenAI resource's origin (required).
    pub base_url: Option<String>,
    /// Azure OpenAI: the deployment (required for it, refused for others).
    pub deployment: Option<String>,
    /// Azure OpenAI: the API version (required for it, refused for others).
    pub api_version: Option<String>,
    /// The model the runtime uses unless it asks for another.
    #[schema(example = "gpt-4o-mini")]
    pub default_model: String,
    /// Shown to whoever opens the setup link (what the key is for).
    pub note: Option<String>,
}

fn default_base_url(kind: ProviderKind) -> Option<&'static str> {
    match kind {
        ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
        ProviderKind::Anthropic => Some("https://api.anthropic.com/v1"),
        ProviderKind::AzureOpenAi => None,
    }
}

/// Whether `url` is an https URL, or plain http to this machine when
/// `loopback_http` allows it (the dev stack's local provider servers).
pub(crate) fn acceptable_url(url: &str, loopback_http: bool) -> bool {
    let host_of = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !authority.is_empty()
            && !authority.contains('@')
            && !authority.contains(char::is_whitespace)
    };
    if let Some(rest) = url.strip_prefix("https://") {
        return host_of(rest);
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        return loopback_http
            && host_of(rest)
            && ["127.0.0.1", "localhost", "[::1]"].contains(&host);
    }
    false
}

pub(crate) fn short_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_request(
            field,
            format!("`{field}` must be 1 to {max} characters, none of them control characters"),
        ));
    }
    Ok(())
}

/// A connection's name: 1 to 64 letters, digits, `-`, `_` or `.`.
pub(crate) fn name_check(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_request(
            "name",
            "`name` is 1 to 64 letters, digits, `-`, `_` or `.`",
        ))
    }
}

impl NewConnection {
    /// The connection's row, or the first field that is wrong.
    fn row(
        self,
        owner: Owner,
        loopback_http: bool,
        at: OffsetDateTime,
        by: &str,
    ) -> Result<(ConnectionRow, String), ApiError> {
        name_check(&self.name)?;
        let kind = ProviderKind::parse(&self.kind).ok_or_else(|| {
            ApiError::invalid_request("kind", "`kind` is `openai`, `azure_openai` or `anthropic`")
        })?;
        let base_url = match (self.base_url, default_base_url(kind)) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Some(url)) => url.to_owned(),
            (None, None) => {
                return Err(ApiError::invalid_request(
                    "base_url",
                    "an Azure OpenAI connection needs its resource's `base_url`",
                ));
            }
        };
        if !acceptable_url(&base_url, loopback_http) || base_url.len() > 512 {
            return Err(ApiError::invalid_request(
                "base_url",
                "`base_url` must be an https URL with a host",
            ));
        }
        let azure = kind == ProviderKind::AzureOpenAi;
        for (field, value) in [
            ("deployment", &self.deployment),
            ("api_version", &self.api_version),
        ] {
            match value {
                Some(v) if azure => short_text(field, v, 128)?,
                None if azure => {
                    return Err(ApiError::invalid_request(
                        field,
                        format!("an Azure OpenAI connection needs `{field}`"),
                    ));
                }
                Some(_) => {
                    return Err(ApiError::invalid_request(
                        field,
                        format!("`{field}` is for Azure OpenAI connections only"),
                    ));
                }
                None => {}
            }
        }
        short_text("default_model", &self.default_model, 128)?;
        let note = self.note.unwrap_or_default();
        if note.chars().count() > 500 {
            return Err(ApiError::invalid_request(
                "note",
                "`note` is at most 500 characters",
            ));
        }
        Ok((
            ConnectionRow {
                connection_id: new_id("pcn"),
                tenant_id: owner.column(),
                name: self.name,
                kind: kind.as_str().to_owned(),
                base_url,
                deployment: self.deployment,
                api_version: self.api_version,
                default_model: self.default_model,
                status: "PENDING".to_owned(),
                active_version: None,
                created_at: at,
                created_by: by.to_owned(),
                updated_at: at,
                health_status: None,
                health_checked_at: None,
            },
            note,
        ))
    }
}

fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The tenant's status, refused when it is leaving or gone.
async fn tenant_accepts_on_conn(
    conn: &mut AsyncPgConnection,
    owner: Owner,
) -> Result<(), ApiError> {
    let Some(tenant) = owner.tenant() else {
        return Ok(());
    };
    let row = tenant_get_on_conn(conn, &tenant.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    if ["OFFBOARDING", "OFFBOARDED"].contains(&row.status.as_str()) {
        return Err(ApiError::conflict(format!(
            "the tenant is {}: it takes no new provider keys",
            row.status
        ))
        .with_code(Code::InvalidTransition));
    }
    Ok(())
}

/// Creates a connection without a key, and its initial setup request: a link
/// minted for the request is how its key is entered.
pub async fn connection_create<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    new: Result<NewConnection, ApiError>,
) -> Result<Connection, ApiError> {
    let loopback_http = app.setup.loopback_http;
    let (row, request, at) = create_with_request(auth, app, owner, |at, by| {
        let (row, note) = new?.row(owner, loopback_http, at, by)?;
        Ok((row, None, note))
    })
    .await?;
    let mut view = Connection::of(row);
    view.requests = Some(vec![SetupRequest::of(request, Vec::new(), at)]);
    Ok(view)
}

/// What creating a connection makes: its row, a connector's installation,
/// and the note for whoever opens its setup link.
pub(crate) type Made = (ConnectionRow, Option<InstallationRow>, String);

/// Creates the connection `build` makes for the caller (a provider connection
/// or a connector installation), with its initial setup request, in one
/// transaction with its event and audit entry. A connector's workspace must be
/// the tenant's, and not deleted.
pub(crate) async fn create_with_request<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    build: impl FnOnce(OffsetDateTime, &str) -> Result<Made, ApiError>,
) -> Result<(ConnectionRow, RequestRow, OffsetDateTime), ApiError> {
    let mut audited = owner.audited("provider.connection_create", "provider_connection");
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let (row, installation, note) = build(at, &by)?;
        let request = RequestRow {
            request_id: new_id("psr"),
            connection_id: row.connection_id.clone(),
            tenant_id: owner.column(),
            purpose: "initial".to_owned(),
            status: "OPEN".to_owned(),
            note,
            created_at: at,
            created_by: by.clone(),
            completed_at: None,
        };
        let mut audited_here = audited
            .clone()
            .on_resource(&row.connection_id)
            .with_detail("kind", &row.kind)
            .with_detail("name", &row.name);
        if let Some(installation) = &installation {
            audited_here = audited_here.with_detail("workspace_id", &installation.workspace_id);
        }
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            tenant_accepts_on_conn(conn, owner).await?;
            if let Some(installation) = &installation {
                let found = workspace_get_on_conn(conn, &installation.workspace_id)
                    .await?
                    .filter(|w| w.tenant_id == installation.tenant_id);
                match found {
                    None => return Err(ApiError::not_found("workspace")),
                    Some(w) if w.deleted_at.is_some() => {
                        return Err(ApiError::conflict("the workspace was deleted")
                            .with_code(Code::InvalidTransition));
                    }
                    Some(_) => {}
                }
            }
            connection_insert_on_conn(conn, &row).await.map_err(|e| {
                if is_unique_violation(&e) {
                    ApiError::already_exists(format!("a connection named {:?} exists", row.name))
                } else {
                    e.into()
                }
            })?;
            if let Some(installation) = &installation {
                installation_insert_on_conn(conn, installation).await?;
            }
            request_insert_on_conn(conn, &request).await?;
            let events = [
                app.events.connection_changed(
                    "plinth.provider.connection_created",
                    &row,
                    None,
                    at,
                    &by,
                )?,
                app.events
                    .audit(&caller.ctx, &audited_here, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok::<_, ApiError>(())
        })
        .await?;
        Ok((row, request, at))
    }
    .await;
    if let Ok((row, _, _)) = &result {
        audited = audited.on_resource(&row.connection_id);
    }
    app.audited(auth, &audited, result).await
}

/// A tenant's connections — its own, then the pooled ones shared with it, each
/// with the tenant's limits — or the platform's pooled ones.
pub async fn connection_list<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
) -> Result<Vec<Connection>, ApiError> {
    permit_for(app, auth, owner).await?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &owner.scope(), async |conn| {
        let rows = match owner {
            Owner::Tenant(t) => candidates_of_tenant(conn, &t.to_string()).await?,
            Owner::Pool => connection_list_pooled_on_conn(conn).await?,
            Owner::Connectors(t) => connectors_of_tenant_on_conn(conn, &t.to_string(), None)
                .await?
                .into_iter()
                .map(|(row, _)| row)
                .collect(),
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let grant = match (owner, row.tenant_id.is_none()) {
                (Owner::Tenant(t), true) => {
                    grant_get_on_conn(conn, &row.connection_id, &t.to_string())
                        .await?
                        .map(Grant::from)
                }
                _ => None,
            };
            let mut view = Connection::of(row);
            view.grant = grant;
            out.push(view);
        }
        Ok(out)
    })
    .await
}

/// The owner's own connection `id`, or `not_found` (another tenant's, or a
/// pooled one on a tenant's path, is not found either).
pub(crate) async fn owned_on_conn(
    conn: &mut AsyncPgConnection,
    owner: Owner,
    id: &str,
    lock: bool,
) -> Result<ConnectionRow, ApiError> {
    connection_get_on_conn(conn, id, lock)
        .await?
        .filter(|row| owner.owns(row))
        .ok_or_else(|| ApiError::not_found("connection"))
}

/// A connection with its key versions, setup requests and links, and
/// validations. A tenant also reads a pooled connection shared with it (its
/// grant, not its keys or requests).
pub async fn connection_get<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
) -> Result<Connection, ApiError> {
    permit_for(app, auth, owner).await?;
    let mut conn = app.conn().await?;
    let at = now();
    scoped_transaction(&mut conn, &owner.scope(), async |conn| {
        let row = connection_get_on_conn(conn, id, false)
            .await?
            .ok_or_else(|| ApiError::not_found("connection"))?;
        if let (Owner::Tenant(t), None) = (owner, &row.tenant_id) {
            // Visible only through a grant (row-level security); its own
            // workings are the platform's.
            let grant = grant_get_on_conn(conn, id, &t.to_string()).await?;
            let mut view = Connection::of(row);
            view.grant = grant.map(Grant::from);
            return Ok(view);
        }
        if !owner.owns(&row) {
            return Err(ApiError::not_found("connection"));
        }
        let health = health_list_on_conn(conn, id, 20).await?;
        let details = Details::of_on_conn(conn, id, at).await?;
        let mut view = Connection::of(row);
        view.health = Some(health.into_iter().map(Into::into).collect());
        view.keys = Some(details.keys);
        view.requests = Some(details.requests);
        view.validations = Some(details.validations);
        Ok(view)
    })
    .await
}

/// A connection's key versions, setup requests with their links, and
/// validations, newest first.
pub(crate) struct Details {
    pub keys: Vec<KeyVersion>,
    pub requests: Vec<SetupRequest>,
    pub validations: Vec<Validation>,
}

impl Details {
    pub(crate) async fn of_on_conn(
        conn: &mut AsyncPgConnection,
        id: &str,
        at: OffsetDateTime,
    ) -> Result<Details, ApiError> {
        let keys = key_version_list_on_conn(conn, id).await?;
        let mut requests = Vec::new();
        for request in request_list_on_conn(conn, id).await? {
            let links = link_list_on_conn(conn, &request.request_id).await?;
            requests.push(SetupRequest::of(request, links, at));
        }
        let validations = validation_list_on_conn(conn, id).await?;
        Ok(Details {
            keys: keys.into_iter().map(KeyVersion::from).collect(),
            requests,
            validations: validations.into_iter().map(Validation::from).collect(),
        })
    }
}

/// Opens a rotation request for an active connection: a link minted for it
/// brings the new key, which becomes active while the current one stays
/// usable for the grace period.
pub async fn rotation_request<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
    note: Option<String>,
) -> Result<SetupRequest, ApiError> {
    let audited = owner
        .audited("provider.rotation_request", "provider_connection")
        .on_resource(id);
    let result =
        async {
            let caller = permit_for(app, auth, owner).await?;
            let note = note.unwrap_or_default();
            if note.chars().count() > 500 {
                return Err(ApiError::invalid_request(
                    "note",
                    "`note` is at most 500 characters",
                ));
            }
            let at = now();
            let by = caller.ctx.principal.subject.clone();
            let mut conn = app.conn().await?;
            scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            tenant_accepts_on_conn(conn, owner).await?;
            let row = owned_on_conn(conn, owner, id, true).await?;
            if row.status != "ACTIVE" {
                return Err(ApiError::conflict(format!(
                    "the connection is {}; only an active connection's key is rotated",
                    row.status
                ))
                .with_code(Code::InvalidTransition));
            }
            if request_open_on_conn(conn, id).await?.is_some() {
                return Err(ApiError::conflict(
                    "the connection has an open setup request; mint a link for it, or cancel it",
                ));
            }
            let request = RequestRow {
                request_id: new_id("psr"),
                connection_id: id.to_owned(),
                tenant_id: owner.column(),
                purpose: "rotation".to_owned(),
                status: "OPEN".to_owned(),
                note,
                created_at: at,
                created_by: by.clone(),
                completed_at: None,
            };
            request_insert_on_conn(conn, &request).await?;
            let event = app.events.audit(
                &caller.ctx,
                &audited.clone().with_detail("request_id", &request.request_id),
                Outcome::Allowed,
                None,
            )?;
            Outbox::enqueue(conn, &[event]).await?;
            Ok(SetupRequest::of(request, Vec::new(), at))
        })
        .await
        }
        .await;
    app.audited(auth, &audited, result).await
}

/// The owner's open request `id`, locked by its connection.
async fn open_request_on_conn(
    conn: &mut AsyncPgConnection,
    owner: Owner,
    id: &str,
) -> Result<RequestRow, ApiError> {
    let request = request_get_on_conn(conn, id)
        .await?
        .filter(|r| r.tenant_id == owner.column())
        .ok_or_else(|| ApiError::not_found("setup request"))?;
    owned_on_conn(conn, owner, &request.connection_id, true).await?;
    if request.status != "OPEN" {
        return Err(
            ApiError::conflict(format!("the setup request is {}", request.status))
                .with_code(Code::InvalidTransition),
        );
    }
    Ok(request)
}

/// Revokes the unused links of `request`: their `link_revoked` events.
pub(crate) async fn revoke_unused_links_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    request: &RequestRow,
    at: OffsetDateTime,
    by: &str,
) -> Result<Vec<Event>, ApiError> {
    links_revoke_on_conn(conn, &request.request_id, at, by)
        .await?
        .iter()
        .map(|link| {
            app.events
                .link_changed("revoked", link, &request.purpose, at, by)
        })
        .collect()
}

/// A new random link token (256 bits, base64url) and its SHA-256.
fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!(
        "pst_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = token_hash(&token);
    (token, hash)
}

/// How a link's token is kept.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Mints a delegated link for the open request `id`: the earlier links of the
/// request that are still unused are revoked, so one link lives at a time. The
/// link lives `minutes` (the region's default when none). Its URL is in the
/// answer only.
pub async fn link_mint<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
    minutes: Option<u32>,
) -> Result<MintedLink, ApiError> {
    let mut audited = owner.audited("provider.link_mint", "setup_link");
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let minutes = minutes.unwrap_or(app.setup.link_minutes);
        if minutes == 0 || minutes > app.setup.max_link_minutes {
            return Err(ApiError::invalid_request(
                "minutes",
                format!("a link lives 1 to {} minutes", app.setup.max_link_minutes),
            ));
        }
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let (token, hash) = new_token();
        let mut conn = app.conn().await?;
        let audited_base = audited.clone();
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            tenant_accepts_on_conn(conn, owner).await?;
            let request = open_request_on_conn(conn, owner, id).await?;
            let mut events = revoke_unused_links_on_conn(app, conn, &request, at, &by).await?;
            let link = LinkRow {
                link_id: new_id("psl"),
                request_id: request.request_id.clone(),
                connection_id: request.connection_id.clone(),
                tenant_id: owner.column(),
                token_sha256: hash,
                created_at: at,
                created_by: by.clone(),
                expires_at: at + Duration::minutes(i64::from(minutes)),
                claimed_until: None,
                attempts: 0,
                redeemed_at: None,
                revoked_at: None,
                revoked_by: None,
            };
            link_insert_on_conn(conn, &link).await?;
            events.push(
                app.events
                    .link_changed("minted", &link, &request.purpose, at, &by)?,
            );
            events.push(
                app.events.audit(
                    &caller.ctx,
                    &audited_base
                        .clone()
                        .on_resource(&link.link_id)
                        .with_detail("connection_id", &link.connection_id)
                        .with_detail("request_id", &link.request_id)
                        .with_detail("minutes", minutes),
                    Outcome::Allowed,
                    None,
                )?,
            );
            Outbox::enqueue(conn, &events).await?;
            Ok(MintedLink {
                url: format!("{}#{token}", app.setup.base_url),
                link_id: link.link_id,
                request_id: link.request_id,
                connection_id: link.connection_id,
                expires_at: link.expires_at,
            })
        })
        .await
    }
    .await;
    if let Ok(minted) = &result {
        audited = audited.on_resource(&minted.link_id);
    }
    app.audited(auth, &audited, result).await
}

/// Revokes the link `id` if it is unused; a spent or revoked link is left as
/// it is (`invalid_transition`).
pub async fn link_revoke<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
) -> Result<Link, ApiError> {
    let audited = owner
        .audited("provider.link_revoke", "setup_link")
        .on_resource(id);
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            let link = link_get_on_conn(conn, id)
                .await?
                .filter(|l| l.tenant_id == owner.column())
                .ok_or_else(|| ApiError::not_found("setup link"))?;
            owned_on_conn(conn, owner, &link.connection_id, false)
                .await
                .map_err(|_| ApiError::not_found("setup link"))?;
            let request = request_get_on_conn(conn, &link.request_id)
                .await?
                .ok_or_else(|| ApiError::not_found("setup request"))?;
            if link.redeemed_at.is_some() || link.revoked_at.is_some() {
                return Err(
                    ApiError::conflict(format!("the link is {}", link_state(&link, at)))
                        .with_code(Code::InvalidTransition),
                );
            }
            let mut events = revoke_unused_links_on_conn(app, conn, &request, at, &by).await?;
            let link = link_get_on_conn(conn, id)
                .await?
                .ok_or_else(|| ApiError::not_found("setup link"))?;
            events.push(
                app.events
                    .audit(&caller.ctx, &audited, Outcome::Allowed, None)?,
            );
            Outbox::enqueue(conn, &events).await?;
            Ok(Link::of(link, at))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Cancels the open request `id` and revokes its unused links.
pub async fn request_cancel<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    owner: Owner,
    id: &str,
) -> Result<SetupRequest, ApiError> {
    let audited = owner
        .audited("provider.request_cancel", "setup_request")
        .on_resource(id);
    let result = async {
        let caller = permit_for(app, auth, owner).await?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &owner.scope(), async |conn| {
            let request = open_request_on_conn(conn, owner, id).await?;
            let mut events = revoke_unused_links_on_conn(app, conn, &request, at, &by).await?;
            request_close_on_conn(conn, id, "CANCELLED", at).await?;
            events.push(
                app.events
                    .audit(&caller.ctx, &audited, Outcome::Allowed, None)?,
            );
            Outbox::enqueue(conn, &events).await?;
            let request = request_get_on_conn(conn, id)
                .await?
                .ok_or_else(|| ApiError::not_found("setup request"))?;
            let links = link_list_on_conn(conn, id).await?;
            Ok(SetupRequest::of(request, links, at))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// A tenant's limits on a pooled connection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// Requests per minute the tenant may send through it.
    #[schema(example = 60)]
    pub requests_per_minute: i32,
    /// Tokens per month the tenant may spend through it.
    #[schema(example = 2_000_000)]
    pub tokens_per_month: i64,
}

/// Shares the pooled connection `id` with `tenant` under `limits` (or changes
/// its limits).
pub async fn pool_grant<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    id: &str,
    tenant: TenantId,
    limits: Result<GrantBody, ApiError>,
) -> Result<Grant, ApiError> {
    let audited = Audited::new("provider.pool_grant", "provider_pool")
        .in_tenant(tenant)
        .on_resource(id);
    let result = async {
        let limits = limits?;
        if limits.requests_per_minute <= 0 || limits.tokens_per_month <= 0 {
            return Err(ApiError::invalid_request(
                "requests_per_minute",
                "a tenant's limits on a pooled connection are positive",
            ));
        }
        let caller = permit_for(app, auth, Owner::Pool).await?;
        caller.ctx.require_local(tenant)?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            tenant_accepts_on_conn(conn, Owner::Tenant(tenant)).await?;
            owned_on_conn(conn, Owner::Pool, id, true).await?;
            let row = GrantRow {
                connection_id: id.to_owned(),
                tenant_id: tenant.to_string(),
                requests_per_minute: limits.requests_per_minute,
                tokens_per_month: limits.tokens_per_month,
                granted_at: at,
                granted_by: by.clone(),
            };
            grant_upsert_on_conn(conn, &row).await?;
            let events = [
                app.events.pool_grant_changed(&row, true, at, &by)?,
                app.events.audit(
                    &caller.ctx,
                    &audited
                        .clone()
                        .with_detail("requests_per_minute", row.requests_per_minute)
                        .with_detail("tokens_per_month", row.tokens_per_month),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(Grant::from(row))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Withdraws the pooled connection `id` from `tenant`.
pub async fn pool_withdraw<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    id: &str,
    tenant: TenantId,
) -> Result<(), ApiError> {
    let audited = Audited::new("provider.pool_withdraw", "provider_pool")
        .in_tenant(tenant)
        .on_resource(id);
    let result = async {
        let caller = permit_for(app, auth, Owner::Pool).await?;
        let at = now();
        let by = caller.ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
            owned_on_conn(conn, Owner::Pool, id, true).await?;
            let Some(row) = grant_get_on_conn(conn, id, &tenant.to_string()).await? else {
                return Err(ApiError::not_found("grant"));
            };
            grant_delete_on_conn(conn, id, &tenant.to_string()).await?;
            let events = [
                app.events.pool_grant_changed(&row, false, at, &by)?,
                app.events
                    .audit(&caller.ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(())
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// The tenants a pooled connection is shared with.
pub async fn pool_grants<R: Resources, A: Act>(
    auth: &Authorized<R, A>,
    app: &AppState,
    id: &str,
) -> Result<Vec<Grant>, ApiError> {
    permit_for(app, auth, Owner::Pool).await?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
        owned_on_conn(conn, Owner::Pool, id, false).await?;
        Ok(grant_list_on_conn(conn, id)
            .await?
            .into_iter()
            .map(Grant::from)
            .collect())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback_http_when_allowed() {
        assert!(acceptable_url("https://api.openai.com/v1", false));
        assert!(acceptable_url("https://acme.openai.azure.com", false));
        assert!(!acceptable_url("http://api.openai.com/v1", true));
        assert!(acceptable_url("http://127.0.0.1:9100/v1", true));
        assert!(!acceptable_url("http://127.0.0.1:9100/v1", false));
        assert!(!acceptable_url("https://user@evil.example/v1", false));
        assert!(!acceptable_url("https:///v1", false));
        assert!(!acceptable_url("ftp://example.com", true));
    }

    #[test]
    fn tokens_are_long_random_and_kept_as_their_hash() {
        let (a, hash) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with("pst_") && a.len() == 4 + 43, "{a}");
        assert_eq!(hash, token_hash(&a));
        assert_eq!(hash.len(), 32);
    }
}
