//! The `offboarding_requests` table: why and when a tenant was asked to leave.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use plinth_core::TenantId;
use time::OffsetDateTime;

use crate::schema::offboarding_requests;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = offboarding_requests)]
pub struct OffboardingRequestRow {
    pub tenant_id: String,
    pub reason: String,
    pub requested_at: OffsetDateTime,
    pub requested_by: String,
    pub completed_at: Option<OffsetDateTime>,
}

pub async fn offboarding_insert_on_conn(
    conn: &mut AsyncPgConnection,
    request: &OffboardingRequestRow,
) -> QueryResult<()> {
    diesel::insert_into(offboarding_requests::table)
        .values(request)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn offboarding_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> QueryResult<Option<OffboardingRequestRow>> {
    offboarding_requests::table
        .filter(offboarding_requests::tenant_id.eq(tenant.to_string()))
        .select(OffboardingRequestRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn offboarding_complete_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(
        offboarding_requests::table.filter(offboarding_requests::tenant_id.eq(tenant.to_string())),
    )
    .set(offboarding_requests::completed_at.eq(at))
    .execute(conn)
    .await
    .map(drop)
}
