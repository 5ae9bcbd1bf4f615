//! The onboarding contract: an activation request opens the readiness checklist and
//! asks every owning service to provision its part (`tenant.onboarding_requested`);
//! each item is satisfied by the owning service's event or by an operator; a failed
//! item keeps its reason and can be retried; the tenant becomes ACTIVE when every
//! item is satisfied.

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, ReqCtx, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::checklist::{
    ChecklistItem, FlowView, items_view, new_items, request_action, require_start, service_items,
};
use super::tenants::{Tenant, tenant_on_conn};
use super::{AppState, now, scope_of};
use crate::domain::{DeploymentModel, Flow, OwnerContact, TenantStatus};
use crate::events::{Audited, Outcome, TENANT_ONBOARDING_REQUESTED};
use crate::store::checklist::{checklist_get_on_conn, checklist_insert_on_conn};
use crate::store::onboarding::{
    OnboardingRequestRow, onboarding_get_on_conn, onboarding_insert_on_conn,
};
use crate::store::tenants::{TenantOnboardingChange, tenant_onboarding_set_on_conn};
use plinth_service::ServiceState as _;

/// A tenant's onboarding: its request and its readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Onboarding {
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub status: TenantStatus,
    pub deployment_model: DeploymentModel,
    pub requested_modules: Vec<String>,
    pub requested_packs: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    pub requested_by: String,
    /// When the tenant became ACTIVE.
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub items: Vec<ChecklistItem>,
}

/// An activation request, checked.
#[derive(Debug, Clone, Default)]
pub struct ActivationRequest {
    /// The tenant's own when absent.
    pub deployment_model: Option<DeploymentModel>,
    /// Replaces the tenant's owner contact when present.
    pub owner_contact: Option<OwnerContact>,
    pub requested_modules: Vec<String>,
    pub requested_packs: Vec<String>,
}

impl FlowView for Onboarding {
    const FLOW: Flow = Flow::Onboarding;
    type Resource = on::Onboarding;

    async fn view_on_conn(
        _ctx: &ReqCtx,
        app: &AppState,
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
    ) -> Result<Self, ApiError> {
        let request = onboarding_get_on_conn(conn, tenant.tenant_id)
            .await?
            .ok_or_else(|| ApiError::not_found("onboarding request"))?;
        let items = checklist_get_on_conn(conn, tenant.tenant_id, Flow::Onboarding).await?;
        Ok(Onboarding {
            tenant_id: tenant.tenant_id,
            status: tenant.status,
            deployment_model: request.deployment_model.parse()?,
            requested_modules: request.requested_modules,
            requested_packs: request.requested_packs,
            requested_at: request.requested_at,
            requested_by: request.requested_by,
            completed_at: request.completed_at,
            items: items_view(app, Flow::Onboarding, items)?,
        })
    }
}

/// Opens the checklist of a PENDING tenant and asks the owning services to
/// provision their items; the tenant becomes ONBOARDING.
/// `activation` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn onboarding_request(
    auth: &Authorized<on::Onboarding, to::Create>,
    app: &AppState,
    tenant: TenantId,
    activation: Result<ActivationRequest, ApiError>,
) -> Result<Onboarding, ApiError> {
    let audited = Audited::new(request_action(Flow::Onboarding), "tenant").on_tenant(tenant);
    let result = async {
        let activation = activation?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let before = tenant_on_conn(ctx, conn, tenant, true).await?;
            require_start(Flow::Onboarding, &before)?;
            let model = activation
                .deployment_model
                .unwrap_or(before.deployment_model);
            let offered = &app.onboarding.offered_deployment_models;
            if !offered.iter().any(|m| m == model.as_str()) {
                return Err(ApiError::conflict(format!(
                    "this installation does not provision {} tenants",
                    model.as_str()
                ))
                .with_code(Code::DeploymentModelNotOffered)
                .with_extension("field", "deployment_model")
                .with_extension("available", offered.clone())
                .with_extension(
                    "remedy",
                    format!(
                        "choose one of the available models, or ask the platform team to offer {} \
                         (onboarding.offered_deployment_models)",
                        model.as_str()
                    ),
                ));
            }
            let at = now();
            let contact = activation
                .owner_contact
                .clone()
                .unwrap_or(before.owner_contact.clone());
            let after: Tenant = tenant_onboarding_set_on_conn(
                conn,
                tenant,
                &TenantOnboardingChange {
                    status: TenantStatus::Onboarding.as_str().to_owned(),
                    deployment_model: model.as_str().to_owned(),
                    owner_name: contact.name,
                    owner_email: contact.email,
                    owner_phone: contact.phone,
                    updated_at: at,
                },
            )
            .await?
            .try_into()?;
            let request = OnboardingRequestRow {
                tenant_id: tenant.to_string(),
                deployment_model: model.as_str().to_owned(),
                requested_modules: activation.requested_modules.clone(),
                requested_packs: activation.requested_packs.clone(),
                requested_at: at,
                requested_by: ctx.principal.subject.clone(),
                completed_at: None,
            };
            let items = new_items(app, Flow::Onboarding, tenant, at);
            onboarding_insert_on_conn(conn, &request).await?;
            checklist_insert_on_conn(conn, &items).await?;
            let mut events = vec![app.events.onboarding_requested(
                TENANT_ONBOARDING_REQUESTED,
                &request,
                after.data_mode.as_str(),
                &service_items(&items),
            )?];
            events.extend(app.events.tenant_status_changed(
                ctx,
                tenant,
                before.status,
                after.status,
                None,
                at,
            )?);
            let audited = audited
                .clone()
                .with_hash("before", &before)
                .with_hash("after", &after);
            events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
            Outbox::enqueue(conn, &events).await?;
            Onboarding::view_on_conn(ctx, app, conn, &after).await
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}
