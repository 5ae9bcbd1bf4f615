//! The service's tables. Every query runs in the caller's row-level security
//! scope (`plinth_db::scoped_transaction`): a tenant's rows in its scope, a
//! pooled connection's (no tenant) platform-wide only, or read by a tenant it
//! was granted to.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::{
    connections, connector_installations, health_records, key_versions, policy_records,
    pool_grants, setup_links, setup_requests, tenants, validations, workspaces,
};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub tenant_id: String,
    pub status: String,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = connections)]
pub struct ConnectionRow {
    pub connection_id: String,
    /// `None`: pooled, the platform's.
    pub tenant_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub base_url: String,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub default_model: String,
    pub status: String,
    pub active_version: Option<i32>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub health_status: Option<String>,
    pub health_checked_at: Option<OffsetDateTime>,
}

impl ConnectionRow {
    /// Whether it is a connector installation (not an AI provider connection).
    pub fn is_connector(&self) -> bool {
        crate::connectors::ConnectorKind::parse(&self.kind).is_some()
    }
}

/// A connector installation's workspace and settings.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = connector_installations)]
pub struct InstallationRow {
    pub connection_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    pub settings: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspaces)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub tenant_id: String,
    pub name: String,
    pub deleted_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = health_records)]
pub struct HealthRow {
    pub record_id: String,
    pub connection_id: String,
    pub tenant_id: Option<String>,
    pub status: String,
    pub error_class: Option<String>,
    pub http_status: Option<i32>,
    pub latency_ms: i32,
    pub source: String,
    pub recorded_by: String,
    pub observed_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pool_grants)]
pub struct GrantRow {
    pub connection_id: String,
    pub tenant_id: String,
    pub requests_per_minute: i32,
    pub tokens_per_month: i64,
    pub granted_at: OffsetDateTime,
    pub granted_by: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = setup_requests)]
pub struct RequestRow {
    pub request_id: String,
    pub connection_id: String,
    pub tenant_id: Option<String>,
    pub purpose: String,
    pub status: String,
    pub note: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub completed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = setup_links)]
pub struct LinkRow {
    pub link_id: String,
    pub request_id: String,
    pub connection_id: String,
    pub tenant_id: Option<String>,
    pub token_sha256: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub expires_at: OffsetDateTime,
    pub claimed_until: Option<OffsetDateTime>,
    pub attempts: i32,
    pub redeemed_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = key_versions)]
pub struct KeyVersionRow {
    pub connection_id: String,
    pub version: i32,
    pub tenant_id: Option<String>,
    pub backend: String,
    pub key_id: String,
    pub wrapped_key: Option<Vec<u8>>,
    pub nonce: Option<Vec<u8>>,
    pub ciphertext: Option<Vec<u8>>,
    pub status: String,
    pub link_id: String,
    pub created_at: OffsetDateTime,
    pub usable_until: Option<OffsetDateTime>,
    pub destroyed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = validations)]
pub struct ValidationRow {
    pub validation_id: String,
    pub connection_id: String,
    pub tenant_id: Option<String>,
    pub link_id: String,
    pub outcome: String,
    pub http_status: Option<i32>,
    pub latency_ms: i32,
    pub models: i32,
    pub activated: bool,
    pub checked_at: OffsetDateTime,
}

// Tenants, from the registry's events.

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

// Connections.

pub async fn connection_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ConnectionRow,
) -> QueryResult<()> {
    diesel::insert_into(connections::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The connection, locked for the rest of the transaction when `lock`.
pub async fn connection_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    lock: bool,
) -> QueryResult<Option<ConnectionRow>> {
    let query = connections::table
        .find(id)
        .select(ConnectionRow::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// The tenant's own connections (`None`: the platform's pooled ones) named
/// `name`.
pub async fn connection_by_name_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: Option<&str>,
    name: &str,
) -> QueryResult<Option<ConnectionRow>> {
    let query = connections::table
        .filter(connections::name.eq(name))
        .select(ConnectionRow::as_select());
    match tenant {
        Some(t) => query.filter(connections::tenant_id.eq(t)).first(conn).await,
        None => {
            query
                .filter(connections::tenant_id.is_null())
                .first(conn)
                .await
        }
    }
    .optional()
}

/// The tenant's connector installations, in `workspace` when one is named.
pub async fn connectors_of_tenant_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    workspace: Option<&str>,
) -> QueryResult<Vec<(ConnectionRow, InstallationRow)>> {
    let query = connections::table
        .inner_join(connector_installations::table)
        .filter(connector_installations::tenant_id.eq(tenant))
        .order(connections::name)
        .select((ConnectionRow::as_select(), InstallationRow::as_select()));
    match workspace {
        Some(w) => {
            query
                .filter(connector_installations::workspace_id.eq(w))
                .load(conn)
                .await
        }
        None => query.load(conn).await,
    }
}

pub async fn installation_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &InstallationRow,
) -> QueryResult<()> {
    diesel::insert_into(connector_installations::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn installation_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<InstallationRow>> {
    connector_installations::table
        .find(id)
        .select(InstallationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn workspace_upsert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &WorkspaceRow,
) -> QueryResult<()> {
    diesel::insert_into(workspaces::table)
        .values(row)
        .on_conflict(workspaces::workspace_id)
        .do_update()
        .set((
            workspaces::name.eq(&row.name),
            workspaces::deleted_at.eq(row.deleted_at),
            workspaces::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn workspace_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<WorkspaceRow>> {
    workspaces::table
        .find(id)
        .select(WorkspaceRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The tenant's own connections (not the pooled ones shared with it).
pub async fn connection_list_owned_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<Vec<ConnectionRow>> {
    connections::table
        .filter(connections::tenant_id.eq(tenant))
        .order(connections::name)
        .select(ConnectionRow::as_select())
        .load(conn)
        .await
}

/// Marks the connection DESTROYED (its keys destroyed already).
pub async fn connection_destroy_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(connections::table.find(id))
        .set((
            connections::status.eq("DESTROYED"),
            connections::updated_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The connections `tenant` may use — its own, then pooled ones shared with it,
/// by name — in one round trip: the function sets the tenant's row-level
/// security scope for its own statement (outside a transaction), or for the rest
/// of the transaction it runs in (one scoped to that tenant already).
pub async fn candidates_of_tenant(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<Vec<ConnectionRow>> {
    diesel::sql_query("SELECT * FROM provider_candidates($1)")
        .bind::<diesel::sql_types::Text, _>(tenant)
        .load(conn)
        .await
}

/// The platform's pooled connections, by name.
pub async fn connection_list_pooled_on_conn(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<ConnectionRow>> {
    connections::table
        .filter(connections::tenant_id.is_null())
        .order(connections::name)
        .select(ConnectionRow::as_select())
        .load(conn)
        .await
}

pub async fn connection_activate_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    version: i32,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(connections::table.find(id))
        .set((
            connections::status.eq("ACTIVE"),
            connections::active_version.eq(Some(version)),
            connections::updated_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

// Pool grants.

pub async fn grant_upsert_on_conn(conn: &mut AsyncPgConnection, row: &GrantRow) -> QueryResult<()> {
    diesel::insert_into(pool_grants::table)
        .values(row)
        .on_conflict((pool_grants::connection_id, pool_grants::tenant_id))
        .do_update()
        .set((
            pool_grants::requests_per_minute.eq(row.requests_per_minute),
            pool_grants::tokens_per_month.eq(row.tokens_per_month),
            pool_grants::granted_at.eq(row.granted_at),
            pool_grants::granted_by.eq(&row.granted_by),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Whether a grant was there to withdraw.
pub async fn grant_delete_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
    tenant: &str,
) -> QueryResult<bool> {
    diesel::delete(pool_grants::table.find((connection, tenant)))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

pub async fn grant_list_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
) -> QueryResult<Vec<GrantRow>> {
    pool_grants::table
        .filter(pool_grants::connection_id.eq(connection))
        .order(pool_grants::tenant_id)
        .select(GrantRow::as_select())
        .load(conn)
        .await
}

/// The pooled connections shared with `tenant`.
pub async fn grants_of_tenant_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
) -> QueryResult<Vec<GrantRow>> {
    pool_grants::table
        .filter(pool_grants::tenant_id.eq(tenant))
        .order(pool_grants::connection_id)
        .select(GrantRow::as_select())
        .load(conn)
        .await
}

pub async fn grant_get_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
    tenant: &str,
) -> QueryResult<Option<GrantRow>> {
    pool_grants::table
        .find((connection, tenant))
        .select(GrantRow::as_select())
        .first(conn)
        .await
        .optional()
}

// Setup requests and links.

pub async fn request_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &RequestRow,
) -> QueryResult<()> {
    diesel::insert_into(setup_requests::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn request_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<RequestRow>> {
    setup_requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The connection's open request, if any.
pub async fn request_open_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
) -> QueryResult<Option<RequestRow>> {
    setup_requests::table
        .filter(setup_requests::connection_id.eq(connection))
        .filter(setup_requests::status.eq("OPEN"))
        .select(RequestRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn request_list_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
) -> QueryResult<Vec<RequestRow>> {
    setup_requests::table
        .filter(setup_requests::connection_id.eq(connection))
        .order(setup_requests::created_at.desc())
        .select(RequestRow::as_select())
        .load(conn)
        .await
}

pub async fn request_close_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
    status: &str,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(setup_requests::table.find(id))
        .set((
            setup_requests::status.eq(status),
            setup_requests::completed_at.eq(Some(at)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn link_insert_on_conn(conn: &mut AsyncPgConnection, row: &LinkRow) -> QueryResult<()> {
    diesel::insert_into(setup_links::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn link_get_on_conn(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<LinkRow>> {
    setup_links::table
        .find(id)
        .select(LinkRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn link_by_token_on_conn(
    conn: &mut AsyncPgConnection,
    token_sha256: &[u8],
) -> QueryResult<Option<LinkRow>> {
    setup_links::table
        .filter(setup_links::token_sha256.eq(token_sha256))
        .select(LinkRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn link_list_on_conn(
    conn: &mut AsyncPgConnection,
    request: &str,
) -> QueryResult<Vec<LinkRow>> {
    setup_links::table
        .filter(setup_links::request_id.eq(request))
        .order(setup_links::created_at.desc())
        .select(LinkRow::as_select())
        .load(conn)
        .await
}

/// Revokes every link of `request` that is neither redeemed nor revoked; the
/// ones revoked.
pub async fn links_revoke_on_conn(
    conn: &mut AsyncPgConnection,
    request: &str,
    at: OffsetDateTime,
    by: &str,
) -> QueryResult<Vec<LinkRow>> {
    diesel::update(
        setup_links::table
            .filter(setup_links::request_id.eq(request))
            .filter(setup_links::redeemed_at.is_null())
            .filter(setup_links::revoked_at.is_null()),
    )
    .set((
        setup_links::revoked_at.eq(Some(at)),
        setup_links::revoked_by.eq(Some(by)),
    ))
    .returning(LinkRow::as_returning())
    .get_results(conn)
    .await
}

/// Claims the link for one redemption until `until`: only a live link nobody
/// else holds a claim on. The claimed link, or none.
pub async fn link_claim_on_conn(
    conn: &mut AsyncPgConnection,
    link: &str,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> QueryResult<Option<LinkRow>> {
    diesel::update(
        setup_links::table
            .find(link)
            .filter(setup_links::redeemed_at.is_null())
            .filter(setup_links::revoked_at.is_null())
            .filter(setup_links::expires_at.gt(now))
            .filter(
                setup_links::claimed_until
                    .is_null()
                    .or(setup_links::claimed_until.le(now)),
            ),
    )
    .set((
        setup_links::claimed_until.eq(Some(until)),
        setup_links::attempts.eq(setup_links::attempts + 1),
    ))
    .returning(LinkRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Lets go of a claim (the key entered did not validate): the link may be used
/// again.
pub async fn link_release_on_conn(conn: &mut AsyncPgConnection, link: &str) -> QueryResult<()> {
    diesel::update(setup_links::table.find(link))
        .set(setup_links::claimed_until.eq(None::<OffsetDateTime>))
        .execute(conn)
        .await
        .map(drop)
}

/// Marks the claimed link redeemed; false if it is no longer the live link
/// this redemption claimed (revoked meanwhile).
pub async fn link_redeem_on_conn(
    conn: &mut AsyncPgConnection,
    link: &str,
    at: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        setup_links::table
            .find(link)
            .filter(setup_links::redeemed_at.is_null())
            .filter(setup_links::revoked_at.is_null())
            .filter(setup_links::claimed_until.is_not_null()),
    )
    .set((
        setup_links::redeemed_at.eq(Some(at)),
        setup_links::claimed_until.eq(None::<OffsetDateTime>),
    ))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

// Key versions and validations.

pub async fn key_version_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &KeyVersionRow,
) -> QueryResult<()> {
    diesel::insert_into(key_versions::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The connection's newest version number (0 when it has none).
pub async fn key_version_latest_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
) -> QueryResult<i32> {
    key_versions::table
        .filter(key_versions::connection_id.eq(connection))
        .select(diesel::dsl::max(key_versions::version))
        .first::<Option<i32>>(conn)
        .await
        .map(Option::unwrap_or_default)
}

pub async fn key_version_list_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
) -> QueryResult<Vec<KeyVersionRow>> {
    key_versions::table
        .filter(key_versions::connection_id.eq(connection))
        .order(key_versions::version.desc())
        .select(KeyVersionRow::as_select())
        .load(conn)
        .await
}

pub async fn key_version_get_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
    version: i32,
) -> QueryResult<Option<KeyVersionRow>> {
    key_versions::table
        .find((connection, version))
        .select(KeyVersionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Moves the connection's active version to PREVIOUS, usable until `until`.
pub async fn key_version_retire_active_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
    until: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(
        key_versions::table
            .filter(key_versions::connection_id.eq(connection))
            .filter(key_versions::status.eq("ACTIVE")),
    )
    .set((
        key_versions::status.eq("PREVIOUS"),
        key_versions::usable_until.eq(Some(until)),
    ))
    .execute(conn)
    .await
    .map(drop)
}

pub async fn validation_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ValidationRow,
) -> QueryResult<()> {
    diesel::insert_into(validations::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The connection's validations, newest first.
pub async fn validation_list_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
) -> QueryResult<Vec<ValidationRow>> {
    validations::table
        .filter(validations::connection_id.eq(connection))
        .order(validations::checked_at.desc())
        .select(ValidationRow::as_select())
        .load(conn)
        .await
}

/// Destroys the key versions past their grace period (at most `limit`): their
/// wrapped data key, nonce and ciphertext deleted, so the key is gone for good.
/// The versions destroyed.
pub async fn key_versions_shred_due_on_conn(
    conn: &mut AsyncPgConnection,
    at: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<KeyVersionRow>> {
    let due: Vec<(String, i32)> = key_versions::table
        .filter(key_versions::status.eq("PREVIOUS"))
        .filter(key_versions::usable_until.le(at))
        .order(key_versions::usable_until)
        .limit(limit)
        .select((key_versions::connection_id, key_versions::version))
        .for_update()
        .skip_locked()
        .load(conn)
        .await?;
    let mut shredded = Vec::with_capacity(due.len());
    for (connection, version) in due {
        shredded.push(key_version_shred_on_conn(conn, &connection, version, at).await?);
    }
    Ok(shredded)
}

/// Destroys one key version.
pub async fn key_version_shred_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
    version: i32,
    at: OffsetDateTime,
) -> QueryResult<KeyVersionRow> {
    diesel::update(key_versions::table.find((connection, version)))
        .set((
            key_versions::status.eq("DESTROYED"),
            key_versions::wrapped_key.eq(None::<Vec<u8>>),
            key_versions::nonce.eq(None::<Vec<u8>>),
            key_versions::ciphertext.eq(None::<Vec<u8>>),
            key_versions::destroyed_at.eq(Some(at)),
        ))
        .returning(KeyVersionRow::as_returning())
        .get_result(conn)
        .await
}

// Health.

/// Records a health result and makes it the connection's latest (unless a
/// newer one is there already): the connection's status before.
pub async fn health_record_on_conn(
    conn: &mut AsyncPgConnection,
    row: &HealthRow,
) -> QueryResult<Option<String>> {
    let before: (Option<String>, Option<OffsetDateTime>) = connections::table
        .find(&row.connection_id)
        .select((connections::health_status, connections::health_checked_at))
        .for_update()
        .first(conn)
        .await?;
    diesel::insert_into(health_records::table)
        .values(row)
        .execute(conn)
        .await?;
    if before.1.is_none_or(|at| at <= row.observed_at) {
        diesel::update(connections::table.find(&row.connection_id))
            .set((
                connections::health_status.eq(Some(&row.status)),
                connections::health_checked_at.eq(Some(row.observed_at)),
            ))
            .execute(conn)
            .await?;
    }
    Ok(before.0)
}

/// The connection's latest health results, newest first.
pub async fn health_list_on_conn(
    conn: &mut AsyncPgConnection,
    connection: &str,
    limit: i64,
) -> QueryResult<Vec<HealthRow>> {
    health_records::table
        .filter(health_records::connection_id.eq(connection))
        .order(health_records::recorded_at.desc())
        .limit(limit)
        .select(HealthRow::as_select())
        .load(conn)
        .await
}

/// Active connections not checked since `before`, the longest unchecked first.
pub async fn connections_due_for_health_on_conn(
    conn: &mut AsyncPgConnection,
    before: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<ConnectionRow>> {
    connections::table
        .filter(connections::status.eq("ACTIVE"))
        .filter(connections::kind.eq_any(crate::connectors::PROVIDER_KINDS))
        .filter(
            connections::health_checked_at
                .is_null()
                .or(connections::health_checked_at.lt(before)),
        )
        .order(connections::health_checked_at.asc().nulls_first())
        .limit(limit)
        .select(ConnectionRow::as_select())
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

/// The platform's records and `tenant`'s (none: the platform's only), not
/// the modules'.
pub async fn policy_records_of_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: Option<&str>,
) -> QueryResult<Vec<PolicyRecordRow>> {
    let query = policy_records::table
        .filter(policy_records::module_id.is_null())
        .select(PolicyRecordRow::as_select());
    match tenant {
        Some(t) => {
            query
                .filter(
                    policy_records::tenant_id
                        .is_null()
                        .or(policy_records::tenant_id.eq(t)),
                )
                .load(conn)
                .await
        }
        None => {
            query
                .filter(policy_records::tenant_id.is_null())
                .load(conn)
                .await
        }
    }
}
