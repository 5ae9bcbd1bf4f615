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

use diesel_async::AsyncPgConnection;
use plinth_authz::Caller;
use plinth_bus::Event;
use plinth_core::{ApiError, ReqCtx, Role, TenantId};
use plinth_db::Pool;
use plinth_service::ServiceState;

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

    /// Whether the registry has `tenant`.
    async fn has_tenant_on_conn(
        &self,
        conn: &mut AsyncPgConnection,
        tenant: TenantId,
    ) -> Result<bool, ApiError> {
        Ok(
            crate::store::tenants::tenant_get_on_conn(conn, tenant, false)
                .await?
                .is_some(),
        )
    }
}

pub use plinth_db::now;

pub use plinth_service::scope_of;

/// Whether the caller is an unbound member of the platform team.
pub fn is_unbound_platform_admin(caller: &Caller) -> bool {
    caller.ctx.has_role(Role::PlatformAdmin) && caller.bound_tenants.is_none()
}
