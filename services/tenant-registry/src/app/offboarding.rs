//! Offboarding mirrors onboarding: a request for a SUSPENDED tenant opens the
//! cleanup checklist and asks every owning service to clean up its part
//! (`tenant.offboarding_requested`); each item is satisfied by the service's
//! `*.deprovisioned` event or by an operator; the tenant becomes OFFBOARDED when
//! every item is satisfied. The answer lists, per service, what happens to the
//! tenant's data: the cleanup guidance.

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, ReqCtx, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::checklist::{
    ChecklistItem, FlowView, items_view, new_items, request_action, require_start, service_items,
};
use super::tenants::{Tenant, tenant_on_conn};
use super::{AppState, now, scope_of};
use crate::domain::{Flow, TenantStatus};
use crate::events::{Audited, Outcome, TENANT_OFFBOARDING_REQUESTED};
use crate::store::checklist::{checklist_get_on_conn, checklist_insert_on_conn};
use crate::store::offboarding::{
    OffboardingRequestRow, offboarding_get_on_conn, offboarding_insert_on_conn,
};
use crate::store::tenants::tenant_status_set_on_conn;
use plinth_service::ServiceState as _;

/// A tenant's offboarding: why it leaves, and the cleanup checklist, each item's
/// description being the guidance for its service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Offboarding {
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub status: TenantStatus,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    pub requested_by: String,
    /// When the tenant became OFFBOARDED.
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub items: Vec<ChecklistItem>,
}

impl FlowView for Offboarding {
    const FLOW: Flow = Flow::Offboarding;
    type Resource = on::Offboarding;

    async fn view_on_conn(
        _ctx: &ReqCtx,
        app: &AppState,
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
    ) -> Result<Self, ApiError> {
        let request = offboarding_get_on_conn(conn, tenant.tenant_id)
            .await?
            .ok_or_else(|| ApiError::not_found("offboarding request"))?;
        let items = checklist_get_on_conn(conn, tenant.tenant_id, Flow::Offboarding).await?;
        Ok(Offboarding {
            tenant_id: tenant.tenant_id,
            status: tenant.status,
            reason: request.reason,
            requested_at: request.requested_at,
            requested_by: request.requested_by,
            completed_at: request.completed_at,
            items: items_view(app, Flow::Offboarding, items)?,
        })
    }
}

/// Opens the cleanup checklist of a SUSPENDED tenant and asks the owning services
/// to clean up; the tenant becomes OFFBOARDING.
/// `reason` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn offboarding_request(
    auth: &Authorized<on::Offboarding, to::Create>,
    app: &AppState,
    tenant: TenantId,
    reason: Result<String, ApiError>,
) -> Result<Offboarding, ApiError> {
    let audited = Audited::new(request_action(Flow::Offboarding), "tenant").on_tenant(tenant);
    let result = async {
        let reason = reason?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let before = tenant_on_conn(ctx, conn, tenant, true).await?;
            require_start(Flow::Offboarding, &before)?;
            let at = now();
            let after: Tenant =
                tenant_status_set_on_conn(conn, tenant, TenantStatus::Offboarding.as_str())
                    .await?
                    .try_into()?;
            let request = OffboardingRequestRow {
                tenant_id: tenant.to_string(),
                reason,
                requested_at: at,
                requested_by: ctx.principal.subject.clone(),
                completed_at: None,
            };
            let items = new_items(app, Flow::Offboarding, tenant, at);
            offboarding_insert_on_conn(conn, &request).await?;
            checklist_insert_on_conn(conn, &items).await?;
            let mut events = vec![app.events.offboarding_requested(
                TENANT_OFFBOARDING_REQUESTED,
                &request,
                &service_items(&items),
            )?];
            events.extend(app.events.tenant_status_changed(
                ctx,
                tenant,
                before.status,
                after.status,
                Some(&request.reason),
                after.updated_at,
            )?);
            let audited = audited
                .clone()
                .with_hash("before", &before)
                .with_hash("after", &after);
            events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
            Outbox::enqueue(conn, &events).await?;
            Offboarding::view_on_conn(ctx, app, conn, &after).await
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}
