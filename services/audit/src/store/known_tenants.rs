//! The `known_tenants` table: the tenants the registry has announced.

use diesel::prelude::*;
use diesel::upsert::on_constraint;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{known_tenants, logs};

/// Records that the registry announced `tenant` (again: nothing changes).
pub async fn known_tenant_add_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<()> {
    diesel::insert_into(known_tenants::table)
        .values(known_tenants::tenant_id.eq(tenant))
        .on_conflict(on_constraint("known_tenants_pkey"))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Those of `tenants` the registry has announced, or that have a log (opened by
/// an allowed action, which only a tenant a service knows can have, or by the
/// onboarding saga).
pub async fn known_tenants_among_on_conn(
    conn: &mut AsyncPgConnection,
    tenants: &[&str],
) -> QueryResult<Vec<String>> {
    if tenants.is_empty() {
        return Ok(Vec::new());
    }
    let mut known: Vec<String> = known_tenants::table
        .filter(known_tenants::tenant_id.eq_any(tenants))
        .select(known_tenants::tenant_id)
        .load(conn)
        .await?;
    known.extend(
        logs::table
            .filter(logs::log_id.eq_any(tenants))
            .select(logs::log_id)
            .load::<String>(conn)
            .await?,
    );
    Ok(known)
}
