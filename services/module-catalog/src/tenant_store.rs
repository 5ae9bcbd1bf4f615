//! The tenant side's tables: `tenants` and `workspaces` (the registry's facts,
//! from its events) and `enablements`. Every row is one tenant's, under
//! row-level security: the queries run in the caller's scope.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::{deployments, enablements, policy_records, tenants, workspaces};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub tenant_id: String,
    pub status: String,
    pub data_mode: String,
    pub modules: Vec<String>,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspaces)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub tenant_id: String,
    pub name: String,
    pub data_mode: String,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = enablements, treat_none_as_null = true)]
pub struct EnablementRow {
    pub enablement_id: String,
    pub tenant_id: String,
    pub module_id: String,
    /// `''`: every workspace of the tenant.
    pub workspace_id: String,
    pub version: String,
    pub status: String,
    pub acknowledged: Vec<String>,
    pub revoked_at: Option<OffsetDateTime>,
    pub enabled_at: OffsetDateTime,
    pub enabled_by: String,
    pub disabled_at: Option<OffsetDateTime>,
    pub disabled_by: Option<String>,
    pub cleanup: Option<serde_json::Value>,
}

/// Records a tenant the registry created (again: its registration wins).
pub async fn tenant_upsert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &TenantRow,
) -> QueryResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .on_conflict(tenants::tenant_id)
        .do_update()
        .set((
            tenants::status.eq(&row.status),
            tenants::data_mode.eq(&row.data_mode),
            tenants::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn tenant_status_set_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    status: &str,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(tenants::table.find(tenant))
        .set((tenants::status.eq(status), tenants::updated_at.eq(at)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn tenant_modules_set_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    modules: &[String],
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(tenants::table.find(tenant))
        .set((tenants::modules.eq(modules), tenants::updated_at.eq(at)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn tenant_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<Option<TenantRow>> {
    tenants::table
        .find(tenant)
        .select(TenantRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records a workspace as created or changed; a workspace of a tenant the
/// catalog has not heard of is left out.
pub async fn workspace_upsert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &WorkspaceRow,
) -> QueryResult<()> {
    if tenant_get_on_conn(conn, &row.tenant_id).await?.is_none() {
        return Ok(());
    }
    diesel::insert_into(workspaces::table)
        .values(row)
        .on_conflict(workspaces::workspace_id)
        .do_update()
        .set((
            workspaces::name.eq(&row.name),
            workspaces::data_mode.eq(&row.data_mode),
            workspaces::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn workspace_delete_on_conn(
    conn: &mut AsyncPgConnection,
    workspace: &str,
) -> QueryResult<()> {
    diesel::delete(workspaces::table.find(workspace))
        .execute(conn)
        .await
        .map(drop)
}

/// `tenant`'s workspace `workspace`.
pub async fn workspace_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    workspace: &str,
) -> QueryResult<Option<WorkspaceRow>> {
    workspaces::table
        .find(workspace)
        .filter(workspaces::tenant_id.eq(tenant))
        .select(WorkspaceRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The digests deployed for `module` in this region.
pub async fn deployed_digests_on_conn(
    conn: &mut AsyncPgConnection,
    module: &str,
) -> QueryResult<Vec<String>> {
    deployments::table
        .filter(deployments::module_id.eq(module))
        .select(deployments::image_digest)
        .distinct()
        .load(conn)
        .await
}

/// `tenant`'s enablement of `module` at `workspace` (`''`: tenant-wide), locked.
pub async fn enablement_at_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    module: &str,
    workspace: &str,
) -> QueryResult<Option<EnablementRow>> {
    enablements::table
        .filter(enablements::tenant_id.eq(tenant))
        .filter(enablements::module_id.eq(module))
        .filter(enablements::workspace_id.eq(workspace))
        .for_update()
        .select(EnablementRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// `tenant`'s enablement `id`, locked.
pub async fn enablement_get_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    id: &str,
) -> QueryResult<Option<EnablementRow>> {
    enablements::table
        .find(id)
        .filter(enablements::tenant_id.eq(tenant))
        .for_update()
        .select(EnablementRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// `tenant`'s enablements, by module and workspace.
pub async fn enablement_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<Vec<EnablementRow>> {
    enablements::table
        .filter(enablements::tenant_id.eq(tenant))
        .order((
            enablements::module_id.asc(),
            enablements::workspace_id.asc(),
        ))
        .select(EnablementRow::as_select())
        .load(conn)
        .await
}

/// Stores an enablement, new or changed.
pub async fn enablement_save_on_conn(
    conn: &mut AsyncPgConnection,
    row: &EnablementRow,
) -> QueryResult<()> {
    diesel::insert_into(enablements::table)
        .values(row)
        .on_conflict(enablements::enablement_id)
        .do_update()
        .set(row)
        .execute(conn)
        .await
        .map(drop)
}

/// Flags every tenant's enabled `module` `version` as revoked (in the caller's
/// scope: every tenant for the platform team): the enablements flagged now.
pub async fn enablements_revoke_on_conn(
    conn: &mut AsyncPgConnection,
    module: &str,
    version: &str,
    at: OffsetDateTime,
) -> QueryResult<Vec<EnablementRow>> {
    diesel::update(
        enablements::table
            .filter(enablements::module_id.eq(module))
            .filter(enablements::version.eq(version))
            .filter(enablements::status.eq("ENABLED"))
            .filter(enablements::revoked_at.is_null()),
    )
    .set(enablements::revoked_at.eq(at))
    .returning(EnablementRow::as_returning())
    .load(conn)
    .await
}

/// A policy record in force, as the policy service published it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_records)]
pub struct PolicyRecordRow {
    pub record_id: String,
    pub level: String,
    pub tenant_id: Option<String>,
    pub module_id: Option<String>,
    pub version: i32,
    pub rules: serde_json::Value,
    pub updated_at: OffsetDateTime,
}

/// Keeps `row` as the record's version in force: a record's events share
/// their key (its tenant, or `platform`), so they arrive in order.
pub async fn policy_record_put_on_conn(
    conn: &mut AsyncPgConnection,
    row: &PolicyRecordRow,
) -> QueryResult<()> {
    diesel::insert_into(policy_records::table)
        .values(row)
        .on_conflict(policy_records::record_id)
        .do_update()
        .set((
            policy_records::version.eq(row.version),
            policy_records::rules.eq(&row.rules),
            policy_records::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn policy_record_delete_on_conn(
    conn: &mut AsyncPgConnection,
    record: &str,
) -> QueryResult<()> {
    diesel::delete(policy_records::table.find(record))
        .execute(conn)
        .await
        .map(drop)
}

/// The records that make `tenant`'s policy for `module`: the platform's and
/// the tenant's, the module's and the tenant's module's.
pub async fn policy_records_for_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    module: &str,
) -> QueryResult<Vec<PolicyRecordRow>> {
    policy_records::table
        .filter(
            policy_records::tenant_id
                .is_null()
                .or(policy_records::tenant_id.eq(tenant)),
        )
        .filter(
            policy_records::module_id
                .is_null()
                .or(policy_records::module_id.eq(module)),
        )
        .select(PolicyRecordRow::as_select())
        .load(conn)
        .await
}
