//! The `onboarding_requests` table: a tenant's activation request.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::onboarding_requests;

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

pub async fn onboarding_insert_on_conn(
    conn: &mut AsyncPgConnection,
    request: &OnboardingRequestRow,
) -> QueryResult<()> {
    diesel::insert_into(onboarding_requests::table)
        .values(request)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn onboarding_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Option<OnboardingRequestRow>> {
    onboarding_requests::table
        .filter(onboarding_requests::tenant_id.eq(tenant.to_string()))
        .select(OnboardingRequestRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn onboarding_complete_on_conn(
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
