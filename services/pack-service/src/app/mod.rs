//! The rules: who may do what with packs and playbooks, what makes them valid and
//! fit together, what each change publishes. Every function takes the verified
//! [`Caller`] first, checks the permission, and runs its database work in one
//! transaction scoped to the tenants the caller reaches, with its events and its
//! audit event in the same transaction. A refused mutation changes nothing and
//! leaves one audit event of its own.

pub mod activation;
pub mod import;
pub mod lifecycle;
pub mod packs;
pub mod playbooks;
pub mod runtime;
pub mod tenants;
pub mod tools;
pub mod workflows;

use diesel_async::AsyncPgConnection;
use plinth_bus::Event;
use plinth_core::{ApiError, Region, ReqCtx, TenantId};
use plinth_db::Pool;
use plinth_service::ServiceState;

pub use plinth_db::now;

use crate::cache::ConfigCache;
use crate::events::{Audited, Events, Outcome};
use crate::settings::DefaultSettings;
use crate::store::tenants::{TenantRow, tenant_get_on_conn};

/// What the app functions work with.
pub struct AppState {
    pub pool: Pool,
    pub events: Events,
    pub region: Region,
    pub defaults: DefaultSettings,
    /// Tenants' effective configurations, as the runtime reads them.
    pub cache: ConfigCache,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Runs CPU-bound work — checking or hashing a pack of up to megabytes — on the
/// runtime's blocking threads, so a big import does not hold up the runtime
/// reads the same HTTP worker serves.
pub async fn off_worker<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)
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

    /// Whether the service's projection of the registry has `tenant`.
    async fn has_tenant_on_conn(
        &self,
        conn: &mut AsyncPgConnection,
        tenant: TenantId,
    ) -> Result<bool, ApiError> {
        Ok(tenant_get_on_conn(conn, tenant).await?.is_some())
    }
}

pub use plinth_service::scope_of;

/// A tenant the caller reaches, as the service knows it; a tenant it has not
/// heard of (yet) answers exactly like one that does not exist.
pub async fn tenant_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<TenantRow, ApiError> {
    tenant_get_on_conn(conn, tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

pub use plinth_service::require_platform_wide;

/// `OFFBOARDING` and `OFFBOARDED` tenants keep their records but change nothing.
pub fn require_changeable(tenant: &TenantRow) -> Result<(), ApiError> {
    if matches!(tenant.status.as_str(), "OFFBOARDING" | "OFFBOARDED") {
        return Err(ApiError::conflict(format!(
            "the tenant is {}; its packs no longer change",
            tenant.status
        )));
    }
    Ok(())
}
