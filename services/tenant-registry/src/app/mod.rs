//! The rules: who may do what, which transitions are allowed, what each change
//! publishes. Every function takes the verified [`Caller`] first, checks the
//! permission, and runs its database work in one transaction scoped to the tenants
//! the caller reaches, with its events and its audit event in the same transaction.
//! A refused mutation changes nothing and leaves one audit event of its own.

pub mod checklist;
pub mod entitlements;
pub mod offboarding;
pub mod onboarding;
pub mod role_bindings;
pub mod tenants;
pub mod workspaces;

use plinth_authz::Caller;
use plinth_core::{ApiError, Role, TenantId};
use plinth_db::{Pool, PooledConn, TenantScope};

use crate::events::{Audited, Events, Outcome};
use crate::settings::{EntitlementDefaults, OffboardingSettings, OnboardingSettings};

/// What the app functions work with.
pub struct AppState {
    pub pool: Pool,
    pub events: Events,
    pub onboarding: OnboardingSettings,
    pub offboarding: OffboardingSettings,
    pub default_entitlements: EntitlementDefaults,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub async fn conn(&self) -> Result<PooledConn, ApiError> {
        plinth_db::checkout(&self.pool).await
    }

    /// Passes `result` through; a refusal is recorded as the action's audit event.
    pub async fn audited<T>(
        &self,
        caller: &Caller,
        audited: &Audited,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        if let Err(err) = &result {
            self.audit_refusal(caller, audited, err).await;
        }
        result
    }

    /// Records a refused mutation in a transaction of its own. A failure to record
    /// it is logged; the caller still gets the original refusal.
    /// A refusal naming a tenant the caller does not reach, or one this service
    /// does not know, goes to the platform's log (`Audited::in_platform_log`).
    pub async fn audit_refusal(&self, caller: &Caller, audited: &Audited, err: &ApiError) {
        let vouched = match audited.tenant {
            Some(tenant) => caller.reaches(tenant) && self.knows_tenant(caller, tenant).await,
            None => true,
        };
        let audited = if vouched {
            audited.clone()
        } else {
            audited.clone().in_platform_log()
        };
        let event = self.events.audit(
            &caller.ctx,
            &audited,
            Outcome::of(err),
            Some(err.code().as_str()),
        );
        plinth_bus::record_refusal(&self.pool, event, audited.action).await;
    }

    /// Whether the registry has `tenant`.
    async fn knows_tenant(&self, caller: &Caller, tenant: TenantId) -> bool {
        let Ok(mut conn) = self.conn().await else {
            return false;
        };
        plinth_db::scoped_transaction(&mut conn, &TenantScope::Tenant(tenant), async |conn| {
            Ok::<_, ApiError>(
                crate::store::tenants::tenant_get_on_conn(&caller.ctx, conn, tenant, false)
                    .await?
                    .is_some(),
            )
        })
        .await
        .unwrap_or(false)
    }
}

pub use plinth_db::now;

/// The row-level security scope of a caller: its own tenant for tenant roles; for
/// platform roles, the tenants it is bound to, or all.
pub fn scope_of(caller: &Caller) -> TenantScope {
    TenantScope::of(&caller.ctx, caller.bound_tenants.as_deref())
}

/// Whether the caller is an unbound member of the platform team.
pub fn is_unbound_platform_admin(caller: &Caller) -> bool {
    caller.ctx.has_role(Role::PlatformAdmin) && caller.bound_tenants.is_none()
}
