//! The `onboarding_requests` and `onboarding_items` tables.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::{ReqCtx, TenantId};
use time::OffsetDateTime;

use crate::schema::{onboarding_items, onboarding_requests};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = onboarding_requests)]
pub struct OnboardingRequestRow {
    pub tenant_id: String,
    pub deployment_model: String,
    pub requested_modules: Vec<String>,
    pub requested_packs: Vec<String>,
    pub requested_at: OffsetDateTime,
    pub requested_by: String,
    pub completed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = onboarding_items)]
pub struct OnboardingItemRow {
    pub tenant_id: String,
    pub item_key: String,
    pub owner: String,
    pub state: String,
    pub reason: Option<String>,
    pub updated_at: OffsetDateTime,
}

pub async fn onboarding_insert_on_conn(
    _ctx: &ReqCtx,
    conn: &mut AsyncPgConnection,
    request: &OnboardingRequestRow,
    items: &[OnboardingItemRow],
) -> QueryResult<()> {
    diesel::insert_into(onboarding_requests::table)
        .values(request)
        .execute(conn)
        .await?;
    diesel::insert_into(onboarding_items::table)
        .values(items)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn onboarding_get_on_conn(
    _ctx: &ReqCtx,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Option<(OnboardingRequestRow, Vec<OnboardingItemRow>)>> {
    let Some(request) = onboarding_requests::table
        .filter(onboarding_requests::tenant_id.eq(tenant.to_string()))
        .select(OnboardingRequestRow::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let items = onboarding_items::table
        .filter(onboarding_items::tenant_id.eq(tenant.to_string()))
        .select(OnboardingItemRow::as_select())
        .load(conn)
        .await?;
    Ok(Some((request, items)))
}

/// The item, locked for the rest of the transaction.
pub async fn onboarding_item_lock_on_conn(
    _ctx: &ReqCtx,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    key: &str,
) -> QueryResult<Option<OnboardingItemRow>> {
    onboarding_items::table
        .filter(onboarding_items::tenant_id.eq(tenant.to_string()))
        .filter(onboarding_items::item_key.eq(key))
        .select(OnboardingItemRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn onboarding_item_set_on_conn(
    _ctx: &ReqCtx,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    key: &str,
    state: &str,
    reason: Option<&str>,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(
        onboarding_items::table
            .filter(onboarding_items::tenant_id.eq(tenant.to_string()))
            .filter(onboarding_items::item_key.eq(key)),
    )
    .set((
        onboarding_items::state.eq(state),
        onboarding_items::reason.eq(reason),
        onboarding_items::updated_at.eq(at),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// How many of the tenant's items are not satisfied yet.
pub async fn onboarding_open_items_on_conn(
    _ctx: &ReqCtx,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<i64> {
    onboarding_items::table
        .filter(onboarding_items::tenant_id.eq(tenant.to_string()))
        .filter(onboarding_items::state.ne("satisfied"))
        .count()
        .get_result(conn)
        .await
}

pub async fn onboarding_complete_on_conn(
    _ctx: &ReqCtx,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(
        onboarding_requests::table.filter(onboarding_requests::tenant_id.eq(tenant.to_string())),
    )
    .set(onboarding_requests::completed_at.eq(at))
    .execute(conn)
    .await
    .map(drop)
}
