//! What onboarding and offboarding share: a checklist whose items the owning
//! services satisfy with their events, or an operator by hand. A failed item keeps
//! its reason until it is retried; the tenant moves on (to ACTIVE, to OFFBOARDED)
//! when every item is satisfied.

use diesel_async::AsyncPgConnection;
use plinth_authz::Resources;
use plinth_authz::{Authorized, to};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, ReqCtx, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::tenants::{Tenant, tenant_on_conn};
use super::{AppState, now, scope_of};
use crate::domain::Flow;
use crate::events::{
    Audited, Outcome, TENANT_OFFBOARDING_ITEM_RETRY, TENANT_ONBOARDING_ITEM_RETRY,
};
use crate::settings::ChecklistItemSpec;
use crate::store::checklist::{
    ChecklistItemRow, checklist_item_lock_on_conn, checklist_item_set_on_conn,
    checklist_open_items_on_conn,
};
use crate::store::offboarding::{offboarding_complete_on_conn, offboarding_get_on_conn};
use crate::store::onboarding::{onboarding_complete_on_conn, onboarding_get_on_conn};
use crate::store::tenants::{tenant_get_on_conn, tenant_status_set_on_conn};
use plinth_service::ServiceState as _;

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
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Satisfied => "satisfied",
            ItemState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, ApiError> {
        [ItemState::Pending, ItemState::Satisfied, ItemState::Failed]
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| ApiError::internal(format!("stored item state {s}")))
    }
}

/// One item of a checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChecklistItem {
    #[schema(example = "audit_store")]
    pub key: String,
    /// The service that satisfies it, or `operator`.
    #[schema(example = "audit")]
    pub owner: String,
    /// What the item is; for offboarding, the cleanup guidance for its service.
    pub description: String,
    pub state: ItemState,
    /// Why it failed.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The audited actions of a flow.
struct Actions {
    request: &'static str,
    item_confirm: &'static str,
    item_retry: &'static str,
    item_update: &'static str,
    complete: &'static str,
}

fn actions(flow: Flow) -> &'static Actions {
    match flow {
        Flow::Onboarding => &Actions {
            request: "tenant.onboarding_request",
            item_confirm: "tenant.onboarding_item_confirm",
            item_retry: "tenant.onboarding_item_retry",
            item_update: "tenant.onboarding_item_update",
            complete: "tenant.activate",
        },
        Flow::Offboarding => &Actions {
            request: "tenant.offboarding_request",
            item_confirm: "tenant.offboarding_item_confirm",
            item_retry: "tenant.offboarding_item_retry",
            item_update: "tenant.offboarding_item_update",
            complete: "tenant.offboard",
        },
    }
}

/// The audited action that starts `flow`.
pub fn request_action(flow: Flow) -> &'static str {
    actions(flow).request
}

impl AppState {
    /// The configured checklist of `flow`, in order.
    pub fn checklist(&self, flow: Flow) -> &[ChecklistItemSpec] {
        match flow {
            Flow::Onboarding => &self.onboarding.items,
            Flow::Offboarding => &self.offboarding.items,
        }
    }
}

/// A flow's record as the API shows it: the request and its checklist.
pub trait FlowView: Sized + Send {
    const FLOW: Flow;
    /// What the flow's routes act on.
    type Resource: Resources;

    /// The tenant's record of the flow, in the open transaction; `not_found` before
    /// the flow was requested.
    fn view_on_conn(
        ctx: &ReqCtx,
        app: &AppState,
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
    ) -> impl Future<Output = Result<Self, ApiError>> + Send;
}

/// Refuses to start `flow` unless the tenant is where it starts from.
pub fn require_start(flow: Flow, tenant: &Tenant) -> Result<(), ApiError> {
    if tenant.status == flow.starts_from() {
        return Ok(());
    }
    let allowed: Vec<&str> = tenant.status.next().iter().map(|s| s.as_str()).collect();
    Err(ApiError::conflict(format!(
        "{flow} starts from {}; the tenant is {}",
        flow.starts_from(),
        tenant.status
    ))
    .with_code(Code::InvalidTransition)
    .with_extension("allowed", allowed))
}

/// The flow's items for a tenant starting it, every one pending, in order.
pub fn new_items(
    app: &AppState,
    flow: Flow,
    tenant: TenantId,
    at: OffsetDateTime,
) -> Vec<ChecklistItemRow> {
    app.checklist(flow)
        .iter()
        .map(|spec| ChecklistItemRow {
            tenant_id: tenant.to_string(),
            flow: flow.as_str().to_owned(),
            item_key: spec.key.clone(),
            owner: spec.owner.clone(),
            state: ItemState::Pending.as_str().to_owned(),
            reason: None,
            updated_at: at,
        })
        .collect()
}

/// The items the owning services are asked for (not the operator's).
pub fn service_items(items: &[ChecklistItemRow]) -> Vec<ChecklistItemRow> {
    items
        .iter()
        .filter(|i| i.owner != OPERATOR)
        .cloned()
        .collect()
}

/// The stored items as the API shows them, in the configured order; items no
/// longer configured come last.
pub fn items_view(
    app: &AppState,
    flow: Flow,
    rows: Vec<ChecklistItemRow>,
) -> Result<Vec<ChecklistItem>, ApiError> {
    let specs = app.checklist(flow);
    let position = |key: &str| {
        specs
            .iter()
            .position(|i| i.key == key)
            .unwrap_or(usize::MAX)
    };
    let mut items = rows
        .into_iter()
        .map(|r| {
            Ok(ChecklistItem {
                description: specs
                    .iter()
                    .find(|i| i.key == r.item_key)
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
    Ok(items)
}

/// The tenant's record of the flow `V` shows.
pub async fn flow_get<V: FlowView>(
    auth: &Authorized<V::Resource, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<V, ApiError> {
    let caller = auth.permit()?;
    let ctx = &caller.ctx;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        let tenant = tenant_on_conn(ctx, conn, tenant, false).await?;
        V::view_on_conn(ctx, app, conn, &tenant).await
    })
    .await
}

/// What an operator does to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemAct {
    /// Confirms an item no service owns.
    Confirm,
    /// Asks the owning service again for a failed item.
    Retry,
}

/// An operator confirms an item no service owns (the owner contact, the SSO
/// mapping, the client's key revocation). Confirming a satisfied item again
/// changes nothing.
pub async fn item_confirm<V: FlowView>(
    auth: &Authorized<V::Resource, to::Update>,
    app: &AppState,
    tenant: TenantId,
    key: &str,
) -> Result<V, ApiError> {
    item_act::<V>(auth, app, tenant, key, ItemAct::Confirm).await
}

/// Asks the owning service again for a failed item.
pub async fn item_retry<V: FlowView>(
    auth: &Authorized<V::Resource, to::Update>,
    app: &AppState,
    tenant: TenantId,
    key: &str,
) -> Result<V, ApiError> {
    item_act::<V>(auth, app, tenant, key, ItemAct::Retry).await
}

/// Whether `key` has the shape of a checklist item's key (`sso_mapping`): one that
/// does not cannot name an item, and is not recorded as if it did.
fn is_item_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

async fn item_act<V: FlowView>(
    auth: &Authorized<V::Resource, to::Update>,
    app: &AppState,
    tenant: TenantId,
    key: &str,
    act: ItemAct,
) -> Result<V, ApiError> {
    let action = match act {
        ItemAct::Confirm => actions(V::FLOW).item_confirm,
        ItemAct::Retry => actions(V::FLOW).item_retry,
    };
    let mut audited = Audited::new(action, "checklist_item").on_tenant(tenant);
    let valid = is_item_key(key);
    if valid {
        audited = audited.on_resource(format!("{}/{key}", V::FLOW));
    }
    let result = async {
        if !valid {
            return Err(ApiError::not_found("checklist item"));
        }
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let current = tenant_on_conn(ctx, conn, tenant, true).await?;
            let item = checklist_item_lock_on_conn(conn, tenant, V::FLOW, key)
                .await?
                .ok_or_else(|| ApiError::not_found("checklist item"))?;
            require_running(V::FLOW, &current)?;
            let mut events = Vec::new();
            match act {
                ItemAct::Confirm => {
                    if item.owner != OPERATOR {
                        return Err(ApiError::conflict(format!(
                            "the {} service satisfies {key}; it cannot be confirmed by hand",
                            item.owner
                        )));
                    }
                    if item.state != ItemState::Satisfied.as_str() {
                        let satisfied = ChecklistItemRow {
                            state: ItemState::Satisfied.as_str().to_owned(),
                            reason: None,
                            updated_at: now(),
                            ..item
                        };
                        checklist_item_set_on_conn(conn, &satisfied).await?;
                        events.extend(
                            advance_if_ready_on_conn(ctx, app, conn, V::FLOW, tenant).await?,
                        );
                    }
                }
                ItemAct::Retry => {
                    if item.state != ItemState::Failed.as_str() {
                        return Err(ApiError::conflict(format!(
                            "only a failed item is retried; {key} is {}",
                            item.state
                        ))
                        .with_code(Code::InvalidTransition));
                    }
                    let retried = ChecklistItemRow {
                        state: ItemState::Pending.as_str().to_owned(),
                        reason: None,
                        updated_at: now(),
                        ..item
                    };
                    checklist_item_set_on_conn(conn, &retried).await?;
                    events.push(request_again_on_conn(ctx, app, conn, &current, &retried).await?);
                }
            }
            // The operator's action first, then what it completed.
            events.insert(0, app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
            Outbox::enqueue(conn, &events).await?;
            let current = tenant_on_conn(ctx, conn, tenant, false).await?;
            V::view_on_conn(ctx, app, conn, &current).await
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Refuses a change to a checklist whose flow is over (or never ran).
fn require_running(flow: Flow, tenant: &Tenant) -> Result<(), ApiError> {
    if tenant.status == flow.runs_in() {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "the {flow} checklist is closed; the tenant is {}",
            tenant.status
        ))
        .with_code(Code::InvalidTransition))
    }
}

/// The event asking the owning service of `item` again.
async fn request_again_on_conn(
    _ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    item: &ChecklistItemRow,
) -> Result<Event, ApiError> {
    let id = tenant.tenant_id;
    let missing = || ApiError::internal(format!("{id} has a checklist but no request"));
    let items = std::slice::from_ref(item);
    match item.flow.as_str() {
        "onboarding" => {
            let request = onboarding_get_on_conn(conn, id)
                .await?
                .ok_or_else(missing)?;
            let data_mode = tenant.data_mode.as_str();
            app.events.onboarding_requested(
                TENANT_ONBOARDING_ITEM_RETRY,
                &request,
                data_mode,
                items,
            )
        }
        _ => {
            let request = offboarding_get_on_conn(conn, id)
                .await?
                .ok_or_else(missing)?;
            app.events
                .offboarding_requested(TENANT_OFFBOARDING_ITEM_RETRY, &request, items)
        }
    }
}

/// Applies a service's answer for one item, inside the consumer's transaction (whose
/// scope is the tenant). An answer for an item that is already satisfied, or for a
/// tenant whose flow is not running, changes nothing. Returns the events to publish.
pub async fn item_result_apply_on_conn(
    ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    flow: Flow,
    tenant: TenantId,
    key: &str,
    failure: Option<&str>,
) -> Result<Vec<Event>, ApiError> {
    let Some(current) = tenant_get_on_conn(conn, tenant, true).await? else {
        return Ok(Vec::new());
    };
    let current: Tenant = current.try_into()?;
    if current.status != flow.runs_in() {
        return Ok(Vec::new());
    }
    let Some(item) = checklist_item_lock_on_conn(conn, tenant, flow, key).await? else {
        return Ok(Vec::new());
    };
    if item.state == ItemState::Satisfied.as_str() {
        return Ok(Vec::new());
    }
    let (state, outcome) = match failure {
        None => (ItemState::Satisfied, Outcome::Allowed),
        Some(_) => (ItemState::Failed, Outcome::Failed),
    };
    let answered = ChecklistItemRow {
        state: state.as_str().to_owned(),
        reason: failure.map(str::to_owned),
        updated_at: now(),
        ..item
    };
    checklist_item_set_on_conn(conn, &answered).await?;
    let audited = Audited::new(actions(flow).item_update, "checklist_item")
        .on_tenant(tenant)
        .on_resource(format!("{flow}/{key}"));
    let mut events = vec![app.events.audit(ctx, &audited, outcome, failure)?];
    if failure.is_none() {
        events.extend(advance_if_ready_on_conn(ctx, app, conn, flow, tenant).await?);
    }
    Ok(events)
}

/// Moves the tenant to the end of `flow` (ACTIVE, OFFBOARDED) once every item is
/// satisfied; the events to publish, none if it is not ready.
async fn advance_if_ready_on_conn(
    ctx: &ReqCtx,
    app: &AppState,
    conn: &mut AsyncPgConnection,
    flow: Flow,
    tenant: TenantId,
) -> Result<Vec<Event>, ApiError> {
    if checklist_open_items_on_conn(conn, tenant, flow).await? > 0 {
        return Ok(Vec::new());
    }
    let before = tenant_on_conn(ctx, conn, tenant, true).await?;
    if before.status != flow.runs_in() {
        return Ok(Vec::new());
    }
    let after: Tenant = tenant_status_set_on_conn(conn, tenant, flow.ends_in().as_str())
        .await?
        .try_into()?;
    match flow {
        Flow::Onboarding => onboarding_complete_on_conn(conn, tenant, after.updated_at).await?,
        Flow::Offboarding => offboarding_complete_on_conn(conn, tenant, after.updated_at).await?,
    }
    let reason = format!("every {flow} checklist item is satisfied");
    let mut events = app.events.tenant_status_changed(
        ctx,
        tenant,
        before.status,
        after.status,
        Some(&reason),
        after.updated_at,
    )?;
    let audited = Audited::new(actions(flow).complete, "tenant")
        .on_tenant(tenant)
        .with_hash("before", &before)
        .with_hash("after", &after);
    events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
    Ok(events)
}
