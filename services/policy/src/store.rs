//! The service's tables. Every query runs in the caller's row-level security
//! scope (`plinth_db::scoped_transaction`): a tenant's records in its scope,
//! the platform's and modules' (no tenant) written platform-wide only and read
//! by every scope.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::{record_versions, records, tenants, usage_monthly};

pub mod runs;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub tenant_id: String,
    pub status: String,
    pub updated_at: OffsetDateTime,
    /// Its entitled tokens a month (in and out, every provider).
    pub monthly_token_budget: Option<i64>,
    /// When onboarding enrolled it in the policy registry.
    pub enrolled_at: Option<OffsetDateTime>,
    /// When offboarding withdrew its policies: every decision is a refusal.
    pub withdrawn_at: Option<OffsetDateTime>,
}

/// What a tenant spent in a month on one workspace, module, provider model
/// and connector (`""`: none).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = usage_monthly)]
pub struct UsageRow {
    pub tenant_id: String,
    pub month: time::Date,
    pub workspace_id: String,
    pub module_id: String,
    pub provider_kind: String,
    pub model: String,
    pub connector: String,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub connector_operations: i64,
    pub events: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = records)]
pub struct RecordRow {
    pub record_id: String,
    pub level: String,
    pub tenant_id: Option<String>,
    pub module_id: Option<String>,
    pub name: String,
    pub status: String,
    pub published_version: Option<i32>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
    pub retired_by: Option<String>,
    pub retired_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = record_versions)]
pub struct VersionRow {
    pub record_id: String,
    pub version: i32,
    pub tenant_id: Option<String>,
    pub status: String,
    pub document: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub published_at: Option<OffsetDateTime>,
    pub published_by: Option<String>,
    pub reason: Option<String>,
}

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
            tenants::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Adds a tenant as it was created, unless it is known already (then it is left
/// as it is).
pub async fn tenant_add_missing_on_conn(
    conn: &mut AsyncPgConnection,
    row: &TenantRow,
) -> QueryResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .on_conflict_do_nothing()
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

pub async fn record_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &RecordRow,
) -> QueryResult<()> {
    diesel::insert_into(records::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The record, locked for the rest of the transaction when `lock`.
pub async fn record_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    lock: bool,
) -> QueryResult<Option<RecordRow>> {
    let query = records::table.find(id).select(RecordRow::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// The records at `level` (all levels when none), of `tenant` (the scope
/// decides what else is seen) and `module`, by name.
pub async fn record_list_on_conn(
    conn: &mut AsyncPgConnection,
    level: Option<&str>,
    tenant: Option<&str>,
    module: Option<&str>,
) -> QueryResult<Vec<RecordRow>> {
    let mut query = records::table
        .select(RecordRow::as_select())
        .order((records::level, records::name))
        .into_boxed();
    if let Some(level) = level {
        query = query.filter(records::level.eq(level.to_owned()));
    }
    if let Some(tenant) = tenant {
        query = query.filter(records::tenant_id.eq(tenant.to_owned()));
    }
    if let Some(module) = module {
        query = query.filter(records::module_id.eq(module.to_owned()));
    }
    query.load(conn).await
}

pub async fn record_update_on_conn(
    conn: &mut AsyncPgConnection,
    row: &RecordRow,
) -> QueryResult<()> {
    diesel::update(records::table.find(&row.record_id))
        .set((
            records::name.eq(&row.name),
            records::status.eq(&row.status),
            records::published_version.eq(row.published_version),
            records::updated_at.eq(row.updated_at),
            records::retired_at.eq(row.retired_at),
            records::retired_by.eq(&row.retired_by),
            records::retired_reason.eq(&row.retired_reason),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn version_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &VersionRow,
) -> QueryResult<()> {
    diesel::insert_into(record_versions::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The record's versions, newest first.
pub async fn versions_of_on_conn(
    conn: &mut AsyncPgConnection,
    record: &str,
) -> QueryResult<Vec<VersionRow>> {
    record_versions::table
        .filter(record_versions::record_id.eq(record))
        .order(record_versions::version.desc())
        .select(VersionRow::as_select())
        .load(conn)
        .await
}

/// Replaces the document of the record's draft.
pub async fn draft_set_on_conn(
    conn: &mut AsyncPgConnection,
    record: &str,
    version: i32,
    document: &serde_json::Value,
) -> QueryResult<()> {
    diesel::update(record_versions::table.find((record, version)))
        .set(record_versions::document.eq(document))
        .execute(conn)
        .await
        .map(drop)
}

/// Moves the version `from` status to `to`, recording who published it and
/// why when it is published.
pub async fn version_status_on_conn(
    conn: &mut AsyncPgConnection,
    record: &str,
    version: i32,
    to: &str,
    published: Option<(OffsetDateTime, &str, &str)>,
) -> QueryResult<()> {
    let target = record_versions::table.find((record, version));
    match published {
        Some((at, by, reason)) => {
            diesel::update(target)
                .set((
                    record_versions::status.eq(to),
                    record_versions::published_at.eq(Some(at)),
                    record_versions::published_by.eq(Some(by)),
                    record_versions::reason.eq(Some(reason)),
                ))
                .execute(conn)
                .await
        }
        None => {
            diesel::update(target)
                .set(record_versions::status.eq(to))
                .execute(conn)
                .await
        }
    }
    .map(drop)
}

/// What a decision needs of a tenant (`policy_in_force`): whether its
/// policies are withdrawn, its entitled budget, its spend in the month, and the
/// published versions in force with their rules as JSON
/// (`[{record_id, level, module_id, version, rules}]`).
#[derive(Debug, Clone, QueryableByName)]
pub struct InForceRow {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub withdrawn: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub monthly_token_budget: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub spent: i64,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub records: serde_json::Value,
}

/// What a decision needs of `tenant` in `month` (its first day), in one round
/// trip: the function sets the tenant's row-level security scope for its own
/// statement. `None`: the service has not heard of the tenant.
pub async fn in_force_of_tenant(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    month: time::Date,
) -> QueryResult<Option<InForceRow>> {
    diesel::sql_query("SELECT * FROM policy_in_force($1, $2)")
        .bind::<diesel::sql_types::Text, _>(tenant)
        .bind::<diesel::sql_types::Date, _>(month)
        .get_result(conn)
        .await
        .optional()
}

/// Whether any platform record exists (the baseline is published once).
pub async fn platform_record_exists_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        records::table.filter(records::level.eq("platform")),
    ))
    .get_result(conn)
    .await
}

/// Holds the baseline's lock for the rest of the transaction.
pub async fn baseline_lock_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('plinth.policy.baseline'))")
        .execute(conn)
        .await
        .map(drop)
}

/// Sets the tenant's entitled monthly token budget.
pub async fn budget_set_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    budget: i64,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(tenants::table.find(tenant))
        .set((
            tenants::monthly_token_budget.eq(Some(budget)),
            tenants::updated_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Adds one event's usage to its month's sums.
pub async fn usage_add_on_conn(conn: &mut AsyncPgConnection, row: &UsageRow) -> QueryResult<()> {
    use diesel::upsert::excluded;
    diesel::insert_into(usage_monthly::table)
        .values(row)
        .on_conflict((
            usage_monthly::tenant_id,
            usage_monthly::month,
            usage_monthly::workspace_id,
            usage_monthly::module_id,
            usage_monthly::provider_kind,
            usage_monthly::model,
            usage_monthly::connector,
        ))
        .do_update()
        .set((
            usage_monthly::tokens_in
                .eq(usage_monthly::tokens_in + excluded(usage_monthly::tokens_in)),
            usage_monthly::tokens_out
                .eq(usage_monthly::tokens_out + excluded(usage_monthly::tokens_out)),
            usage_monthly::connector_operations
                .eq(usage_monthly::connector_operations
                    + excluded(usage_monthly::connector_operations)),
            usage_monthly::events.eq(usage_monthly::events + excluded(usage_monthly::events)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant's usage in `month`, by workspace, module, provider, model and
/// connector.
pub async fn usage_of_month_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    month: time::Date,
) -> QueryResult<Vec<UsageRow>> {
    usage_monthly::table
        .filter(usage_monthly::tenant_id.eq(tenant))
        .filter(usage_monthly::month.eq(month))
        .order((
            usage_monthly::workspace_id,
            usage_monthly::module_id,
            usage_monthly::provider_kind,
            usage_monthly::model,
            usage_monthly::connector,
        ))
        .select(UsageRow::as_select())
        .load(conn)
        .await
}

/// Marks the tenant enrolled (again: the first time is kept).
pub async fn tenant_enroll_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(
        tenants::table
            .find(tenant)
            .filter(tenants::enrolled_at.is_null()),
    )
    .set(tenants::enrolled_at.eq(Some(at)))
    .execute(conn)
    .await
    .map(drop)
}

/// Marks the tenant's policies withdrawn (the first time is kept).
pub async fn tenant_withdraw_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(
        tenants::table
            .find(tenant)
            .filter(tenants::withdrawn_at.is_null()),
    )
    .set(tenants::withdrawn_at.eq(Some(at)))
    .execute(conn)
    .await
    .map(drop)
}

/// Whether a platform record has a version in force.
pub async fn platform_in_force_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        records::table
            .filter(records::level.eq("platform"))
            .filter(records::status.eq("ACTIVE"))
            .filter(records::published_version.is_not_null()),
    ))
    .get_result(conn)
    .await
}
