//! The onboarding contract: an activation request opens the readiness checklist and
//! asks every owning service to provision its part (`tenant.onboarding_requested`);
//! each item is satisfied by the owning service's event or by an operator; a failed
//! item keeps its reason and can be retried; the tenant becomes ACTIVE when every
//! item is satisfied.

use diesel_async::AsyncPgConnection;
use plinth_access::{Action, Caller, Resource, require};
use plinth_bus::Outbox;
use plinth_core::{ApiError, ReqCtx, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::tenants::{Tenant, tenant_on_conn};
use super::{AppState, now, reach, scope_of};
use crate::domain::{DeploymentModel, OwnerContact, TenantStatus};
use crate::events::{Audited, Outcome, TENANT_ONBOARDING_ITEM_RETRY, TENANT_ONBOARDING_REQUESTED};
use crate::store::onboarding::{
    OnboardingItemRow, OnboardingRequestRow, onboarding_complete_on_conn, onboarding_get_on_conn,
    onboarding_insert_on_conn, onboarding_item_lock_on_conn, onboarding_item_set_on_conn,
    onboarding_open_items_on_conn,
};
use crate::store::tenants::{
    TenantOnboardingChange, tenant_get_on_conn, tenant_onboarding_set_on_conn,
    tenant_status_set_on_conn,
};

/// Who satisfies an item that no service owns.
pub const OPERATOR: &str = "operator";

/// The state of one checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    Satisfied,
    Failed,
}

impl ItemState {
    fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "pending" => Ok(ItemState::Pending),
            "satisfied" => Ok(ItemState::Satisfied),
            "failed" => Ok(ItemState::Failed),
            other => Err(ApiError::internal(format!("stored item state {other}"))),
        }
    }
}

/// One item of the readiness checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChecklistItem {
    #[schema(example = "audit_store")]
    pub key: String,
    /// The service that satisfies it, or `operator`.
    #[schema(example = "audit")]
    pub owner: String,
    pub description: String,
    pub state: ItemState,
    /// Why it failed.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

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

fn onboarding_view(
    app: &AppState,
    tenant: &Tenant,
    request: OnboardingRequestRow,
    rows: Vec<OnboardingItemRow>,
) -> Result<Onboarding, ApiError> {
    // The checklist in its configured order; items no longer configured last.
    let position = |key: &str| {
        app.onboarding
            .items
            .iter()
            .position(|i| i.key == key)
            .unwrap_or(usize::MAX)
    };
    let mut items = rows
        .into_iter()
        .map(|r| {
            Ok(ChecklistItem {
                description: app
                    .onboarding
                    .item(&r.item_key)
                    .map(|i| i.description.clone())
                    .unwrap_or_default(),
                state: ItemState::parse(&r.state)?,
                key: r.item_key,
                owner: r.owner,
                reason: r.reason,
                updated_at: r.updated_at,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    items.sort_by_key(|i| position(&i.key));
    Ok(Onboarding {
        tenant_id: tenant.tenant_id,
        status: tenant.status,
        deployment_model: request.deployment_model.parse()?,
        requested_modules: request.requested_modules,
        requested_packs: request.requested_packs,
        requested_at: request.requested_at,
        requested_by: request.requested_by,
        completed_at: request.completed_at,
        items,
    })
}

async fn onboarding_on_conn(
    ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<Onboarding, ApiError> {
    let (request, items) = onboarding_get_on_conn(ctx, conn, tenant.tenant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("onboarding request"))?;
    onboarding_view(app, tenant, request, items)
}

/// Opens the checklist of a PENDING tenant and asks the owning services to
/// provision their items; the tenant becomes ONBOARDING.
/// `activation` is the request as the HTTP edge parsed it; a refusal there is audited
/// here, like every other refusal of the action.
pub async fn onboarding_request(
    caller: &Caller,
    app: &AppState,
    tenant: TenantId,
    activation: Result<ActivationRequest, ApiError>,
) -> Result<Onboarding, ApiError> {
    let audited = Audited::new("tenant.onboarding_request", "tenant").on_tenant(tenant);
    let result = async {
        let activation = activation?;
        reach(caller, tenant)?;
        require(&caller.ctx, Resource::Onboarding, Action::Create)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let before = tenant_on_conn(ctx, conn, tenant, true).await?;
            if before.status != TenantStatus::Pending {
                let allowed: Vec<&str> = before.status.next().iter().map(|s| s.as_str()).collect();
                return Err(ApiError::conflict(format!(
                    "onboarding starts from PENDING; the tenant is {}",
                    before.status
                ))
                .with_code("invalid_transition")
                .with_extension("allowed", allowed));
            }
            let model = activation
                .deployment_model
                .unwrap_or(before.deployment_model);
            let offered = &app.onboarding.offered_deployment_models;
            if !offered.iter().any(|m| m == model.as_str()) {
                return Err(ApiError::conflict(format!(
                    "this installation does not provision {} tenants",
                    model.as_str()
                ))
                .with_code("unavailable")
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
                ctx,
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
            let items: Vec<OnboardingItemRow> = app
                .onboarding
                .items
                .iter()
                .map(|spec| OnboardingItemRow {
                    tenant_id: tenant.to_string(),
                    item_key: spec.key.clone(),
                    owner: spec.owner.clone(),
                    state: "pending".to_owned(),
                    reason: None,
                    updated_at: at,
                })
                .collect();
            onboarding_insert_on_conn(ctx, conn, &request, &items).await?;
            let asked: Vec<OnboardingItemRow> = items
                .iter()
                .filter(|i| i.owner != OPERATOR)
                .cloned()
                .collect();
            let mut events = vec![app.events.onboarding_requested(
                TENANT_ONBOARDING_REQUESTED,
                &request,
                after.data_mode.as_str(),
                &asked,
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
            onboarding_view(app, &after, request, items)
        })
        .await
    }
    .await;
    app.audited(caller, &audited, result).await
}

pub async fn onboarding_get(
    caller: &Caller,
    app: &AppState,
    tenant: TenantId,
) -> Result<Onboarding, ApiError> {
    reach(caller, tenant)?;
    require(&caller.ctx, Resource::Onboarding, Action::Read)?;
    let ctx = &caller.ctx;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        let tenant = tenant_on_conn(ctx, conn, tenant, false).await?;
        onboarding_on_conn(ctx, app, conn, &tenant).await
    })
    .await
}

/// An operator confirms an item no service owns (the owner contact, the SSO mapping).
pub async fn onboarding_item_confirm(
    caller: &Caller,
    app: &AppState,
    tenant: TenantId,
    key: &str,
) -> Result<Onboarding, ApiError> {
    let audited = Audited::new("tenant.onboarding_item_confirm", "onboarding_item")
        .on_tenant(tenant)
        .on_resource(key);
    let result = async {
        reach(caller, tenant)?;
        require(&caller.ctx, Resource::Onboarding, Action::Update)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            tenant_on_conn(ctx, conn, tenant, true).await?;
            let item = onboarding_item_lock_on_conn(ctx, conn, tenant, key)
                .await?
                .ok_or_else(|| ApiError::not_found("checklist item"))?;
            if item.owner != OPERATOR {
                return Err(ApiError::conflict(format!(
                    "the {} service satisfies {key}; it cannot be confirmed by hand",
                    item.owner
                )));
            }
            let mut events = Vec::new();
            if item.state != "satisfied" {
                onboarding_item_set_on_conn(ctx, conn, tenant, key, "satisfied", None, now())
                    .await?;
                events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
                events.extend(activate_if_ready_on_conn(ctx, app, conn, tenant).await?);
            }
            Outbox::enqueue(conn, &events).await?;
            let current = tenant_on_conn(ctx, conn, tenant, true).await?;
            onboarding_on_conn(ctx, app, conn, &current).await
        })
        .await
    }
    .await;
    app.audited(caller, &audited, result).await
}

/// Asks the owning service again for a failed item.
pub async fn onboarding_item_retry(
    caller: &Caller,
    app: &AppState,
    tenant: TenantId,
    key: &str,
) -> Result<Onboarding, ApiError> {
    let audited = Audited::new("tenant.onboarding_item_retry", "onboarding_item")
        .on_tenant(tenant)
        .on_resource(key);
    let result = async {
        reach(caller, tenant)?;
        require(&caller.ctx, Resource::Onboarding, Action::Update)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let current = tenant_on_conn(ctx, conn, tenant, true).await?;
            let item = onboarding_item_lock_on_conn(ctx, conn, tenant, key)
                .await?
                .ok_or_else(|| ApiError::not_found("checklist item"))?;
            if item.state != "failed" {
                return Err(ApiError::conflict(format!(
                    "only a failed item is retried; {key} is {}",
                    item.state
                ))
                .with_code("invalid_transition"));
            }
            let at = now();
            onboarding_item_set_on_conn(ctx, conn, tenant, key, "pending", None, at).await?;
            let (request, _) = onboarding_get_on_conn(ctx, conn, tenant)
                .await?
                .ok_or_else(|| ApiError::not_found("onboarding request"))?;
            let retried = OnboardingItemRow {
                state: "pending".to_owned(),
                reason: None,
                updated_at: at,
                ..item
            };
            let events = [
                app.events.onboarding_requested(
                    TENANT_ONBOARDING_ITEM_RETRY,
                    &request,
                    current.data_mode.as_str(),
                    std::slice::from_ref(&retried),
                )?,
                app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
            ];
            Outbox::enqueue(conn, &events).await?;
            onboarding_on_conn(ctx, app, conn, &current).await
        })
        .await
    }
    .await;
    app.audited(caller, &audited, result).await
}

/// Applies a service's answer for one item, inside the consumer's transaction (whose
/// scope is the tenant). An answer for an item that is already satisfied, or for a
/// tenant that is not onboarding, changes nothing. Returns the events to publish.
pub async fn onboarding_result_apply_on_conn(
    ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    key: &str,
    failure: Option<&str>,
) -> Result<Vec<plinth_bus::Event>, ApiError> {
    let Some(current) = tenant_get_on_conn(ctx, conn, tenant, true).await? else {
        return Ok(Vec::new());
    };
    let current: Tenant = current.try_into()?;
    if current.status != TenantStatus::Onboarding {
        return Ok(Vec::new());
    }
    let Some(item) = onboarding_item_lock_on_conn(ctx, conn, tenant, key).await? else {
        return Ok(Vec::new());
    };
    if item.state == "satisfied" {
        return Ok(Vec::new());
    }
    let (state, outcome) = match failure {
        None => ("satisfied", Outcome::Allowed),
        Some(_) => ("failed", Outcome::Failed),
    };
    onboarding_item_set_on_conn(ctx, conn, tenant, key, state, failure, now()).await?;
    let audited = Audited::new("tenant.onboarding_item_update", "onboarding_item")
        .on_tenant(tenant)
        .on_resource(key);
    let mut events = vec![app.events.audit(ctx, &audited, outcome, failure)?];
    if failure.is_none() {
        events.extend(activate_if_ready_on_conn(ctx, app, conn, tenant).await?);
    }
    Ok(events)
}

/// Makes an ONBOARDING tenant ACTIVE once every item is satisfied; the events to
/// publish, none if it is not ready.
async fn activate_if_ready_on_conn(
    ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Vec<plinth_bus::Event>, ApiError> {
    if onboarding_open_items_on_conn(ctx, conn, tenant).await? > 0 {
        return Ok(Vec::new());
    }
    let before = tenant_on_conn(ctx, conn, tenant, true).await?;
    if before.status != TenantStatus::Onboarding {
        return Ok(Vec::new());
    }
    let after: Tenant = tenant_status_set_on_conn(ctx, conn, tenant, TenantStatus::Active.as_str())
        .await?
        .try_into()?;
    onboarding_complete_on_conn(ctx, conn, tenant, after.updated_at).await?;
    let mut events = app.events.tenant_status_changed(
        ctx,
        tenant,
        before.status,
        after.status,
        Some("every readiness item is satisfied"),
        after.updated_at,
    )?;
    let audited = Audited::new("tenant.activate", "tenant")
        .on_tenant(tenant)
        .with_hash("before", &before)
        .with_hash("after", &after);
    events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
    Ok(events)
}
