//! The runtime's side: which connection to call for a tenant, and that
//! connection's key, released to the runtime's service identity alone and
//! audited at every release.
//!
//! Selection: the tenant's own active connections first, then the pooled ones
//! shared with it — never another tenant's — narrowed to the provider kind
//! asked for, each passed-over connection with why; the answer names the
//! connection, its endpoint, the model (the one asked for, or the
//! connection's default) and the reason it was chosen.

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, TenantId};
use plinth_db::{TenantScope, scoped_transaction};
use plinth_service::ServiceState as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::app::{AppState, now};
use crate::events::{Audited, Outcome};
use crate::store::{
    ConnectionRow, candidates_of_tenant, connection_get_on_conn, grant_get_on_conn,
    key_version_get_on_conn, tenant_get_on_conn,
};

/// What the runtime is about to do.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SelectionQuery {
    /// Only connections of this provider kind (`openai`, `azure_openai`,
    /// `anthropic`).
    pub kind: Option<String>,
    /// The model it wants; the connection's default otherwise.
    pub model: Option<String>,
    /// The module asking (recorded in the reason).
    pub module: Option<String>,
}

/// The connection to call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Selection {
    pub connection_id: String,
    pub name: String,
    pub kind: String,
    pub base_url: String,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    /// The model to ask for.
    pub model: String,
    /// Whether it is the platform's pooled connection.
    pub pooled: bool,
    /// The key version the release endpoint hands out now.
    pub active_version: i32,
    /// A pooled connection's limits for the tenant.
    pub requests_per_minute: Option<i32>,
    pub tokens_per_month: Option<i64>,
    /// Why this one.
    pub reason: String,
    /// The connections passed over, each with why.
    pub considered: Vec<Considered>,
}

/// A connection selection passed over.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Considered {
    pub connection_id: String,
    pub name: String,
    pub reason: String,
}

/// Why `row` cannot serve `query`, if it cannot.
fn unusable(row: &ConnectionRow, query: &SelectionQuery) -> Option<String> {
    if let Some(kind) = &query.kind
        && *kind != row.kind
    {
        return Some(format!("a {} connection, not {kind}", row.kind));
    }
    if row.status != "ACTIVE" || row.active_version.is_none() {
        return Some(format!("{} (no active key)", row.status));
    }
    if let Some(status) = &row.health_status
        && crate::health::UNUSABLE.contains(&status.as_str())
    {
        return Some(format!("unhealthy: {status}"));
    }
    None
}

/// The connection the runtime should call for `tenant`.
pub async fn provider_select(
    auth: &Authorized<on::ProviderSelection, to::Read>,
    app: &AppState,
    tenant: TenantId,
    query: SelectionQuery,
) -> Result<Selection, ApiError> {
    let caller = auth.permit()?;
    caller.ctx.require_local(tenant)?;
    let mut conn = app.conn().await?;
    let rows = candidates_of_tenant(&mut conn, &tenant.to_string()).await?;
    let mut considered = Vec::new();
    let Some(row) = rows.into_iter().find(|row| match unusable(row, &query) {
        Some(why) => {
            considered.push(Considered {
                connection_id: row.connection_id.clone(),
                name: row.name.clone(),
                reason: why,
            });
            false
        }
        None => true,
    }) else {
        // None to use; with none at all, provider setup may never have heard
        // of the tenant.
        let known = scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            tenant_get_on_conn(conn, &tenant.to_string()).await
        })
        .await?;
        if known.is_none() {
            return Err(ApiError::not_found("tenant"));
        }
        return Err(ApiError::conflict(
            "the tenant has no ready provider connection for this; `considered` says why",
        )
        .with_code(Code::NoReadyConnection)
        .with_serialized("considered", &considered));
    };
    let pooled = row.tenant_id.is_none();
    let grant = if pooled {
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            grant_get_on_conn(conn, &row.connection_id, &tenant.to_string()).await
        })
        .await?
    } else {
        None
    };
    let asked = query
        .module
        .as_deref()
        .map(|m| format!(" for {m}"))
        .unwrap_or_default();
    let reason = match &grant {
        None => format!("the tenant's own active connection {}{asked}", row.name),
        Some(g) => format!(
            "no active connection of the tenant's own; the pooled connection {} is shared with it ({} requests a minute, {} tokens a month){asked}",
            row.name, g.requests_per_minute, g.tokens_per_month
        ),
    };
    Ok(Selection {
        model: query.model.clone().unwrap_or(row.default_model),
        connection_id: row.connection_id,
        name: row.name,
        kind: row.kind,
        base_url: row.base_url,
        deployment: row.deployment,
        api_version: row.api_version,
        pooled,
        active_version: row.active_version.unwrap_or_default(),
        requests_per_minute: grant.as_ref().map(|g| g.requests_per_minute),
        tokens_per_month: grant.as_ref().map(|g| g.tokens_per_month),
        reason,
        considered,
    })
}

/// A key released to the runtime. Never logged, never cached.
#[derive(Serialize, ToSchema)]
pub struct ReleasedKey {
    pub connection_id: String,
    pub version: i32,
    /// The provider's API key.
    #[schema(value_type = String, format = Password)]
    #[serde(serialize_with = "expose")]
    pub key: SecretString,
    pub kind: String,
    pub base_url: String,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    /// When this version stops being released: set once a rotation made it the
    /// previous one.
    #[serde(with = "time::serde::rfc3339::option")]
    pub usable_until: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ReleasedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleasedKey")
            .field("connection_id", &self.connection_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

fn expose<S: serde::Serializer>(key: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(key.expose_secret())
}

/// Which version to release: the active one, or a previous one still within
/// its grace period (a runtime finishing work with the key it had).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    pub version: Option<i32>,
}

/// The connection the tenant may use (its own, or pooled and shared with it).
async fn usable_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: &str,
) -> Result<ConnectionRow, ApiError> {
    let row = connection_get_on_conn(conn, id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("connection"))?;
    let tenant_text = tenant.to_string();
    let visible = match &row.tenant_id {
        Some(owner) => *owner == tenant_text,
        None => grant_get_on_conn(conn, id, &tenant_text).await?.is_some(),
    };
    if !visible {
        return Err(ApiError::not_found("connection"));
    }
    Ok(row)
}

/// Releases the key of the connection `id` for `tenant` to the runtime: the
/// active version, or the one asked for while still usable. Every release is
/// audited in the tenant's log (which connection, which version, to whom).
pub async fn key_release(
    auth: &Authorized<on::ProviderKey, to::Read>,
    app: &AppState,
    tenant: TenantId,
    id: &str,
    body: ReleaseBody,
) -> Result<ReleasedKey, ApiError> {
    let audited = Audited::new("provider.key_release", "provider_connection")
        .in_tenant(tenant)
        .on_resource(id);
    let result = async {
        let caller = auth.permit()?;
        caller.ctx.require_local(tenant)?;
        let at = now();
        let mut conn = app.conn().await?;
        // Opened before the release is recorded, in the same transaction: a
        // key that cannot be opened is no release.
        scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            let row = usable_on_conn(conn, tenant, id).await?;
            if row.status != "ACTIVE" {
                return Err(
                    ApiError::conflict(format!("the connection is {}", row.status))
                        .with_code(Code::NoReadyConnection),
                );
            }
            let wanted = body.version.or(row.active_version).ok_or_else(|| {
                ApiError::conflict("the connection has no key yet")
                    .with_code(Code::NoReadyConnection)
            })?;
            let version = key_version_get_on_conn(conn, id, wanted)
                .await?
                .filter(|v| match v.status.as_str() {
                    "ACTIVE" => true,
                    "PREVIOUS" => v.usable_until.is_some_and(|until| until > at),
                    _ => false,
                })
                .ok_or_else(|| {
                    ApiError::gone(format!("key version {wanted} is no longer released"))
                })?;
            let key = app.keys.open_version(&row, &version).await?;
            let event = app.events.audit(
                &caller.ctx,
                &audited.clone().with_detail("version", version.version),
                Outcome::Allowed,
                None,
            )?;
            Outbox::enqueue(conn, &[event]).await?;
            Ok(ReleasedKey {
                connection_id: row.connection_id,
                version: version.version,
                key,
                kind: row.kind,
                base_url: row.base_url,
                deployment: row.deployment,
                api_version: row.api_version,
                usable_until: version.usable_until,
            })
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}
