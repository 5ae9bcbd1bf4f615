//! The tables of runs: the workspaces they run in (projected from the
//! registry), runs, their steps, the approval requests of steps at gate L2 and
//! the notifications of steps at gate L1.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::{approval_requests, notifications, run_steps, runs, step_ends, workspaces};

/// A workspace, as the registry's events have it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspaces, treat_none_as_default_value = false)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub tenant_id: String,
    pub approval_tier: String,
    pub data_mode: String,
    pub deleted_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = runs, treat_none_as_default_value = false)]
pub struct RunRow {
    pub run_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub subject_version: String,
    pub config_version: Option<String>,
    pub trigger_json: serde_json::Value,
    pub requested_by: Option<String>,
    pub status: String,
    pub steps: i32,
    pub reported_by: String,
    pub started_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = run_steps, treat_none_as_default_value = false)]
pub struct StepRow {
    pub run_id: String,
    pub seq: i32,
    pub tenant_id: String,
    pub step_key: String,
    pub action_class: String,
    pub tool: Option<String>,
    pub module_id: Option<String>,
    pub gate: String,
    pub workspace_tier: String,
    pub decision: String,
    /// `{reasons, obligations, request}`.
    pub detail: serde_json::Value,
    pub policy_etag: String,
    pub support: Option<serde_json::Value>,
    pub status: String,
    pub decided_at: OffsetDateTime,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = step_ends, treat_none_as_default_value = false)]
pub struct StepEndRow {
    pub run_id: String,
    pub seq: i32,
    pub tenant_id: String,
    pub provider_kind: Option<String>,
    pub model: Option<String>,
    pub connection_id: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub outcome: Option<String>,
    pub rollback: Option<String>,
    pub ended_at: OffsetDateTime,
    pub ended_by: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = approval_requests, treat_none_as_default_value = false)]
pub struct ApprovalRow {
    pub request_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    pub run_id: String,
    pub seq: i32,
    pub requested_by: Option<String>,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
pub struct NotificationRow {
    pub notification_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    pub run_id: String,
    pub seq: i32,
    /// The roles it is for (the column's elements are never null).
    pub roles: Vec<Option<String>>,
    pub title: String,
    pub created_at: OffsetDateTime,
}

/// What deciding a run's next step needs, read in one round trip: the run
/// (locked for the rest of the transaction), its workspace's tier and mode,
/// and what is in force for its tenant (`policy_in_force`).
#[derive(Debug, Clone, QueryableByName)]
pub struct StepContextRow {
    #[diesel(embed)]
    pub run: RunRow,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub approval_tier: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub data_mode: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub workspace_deleted: bool,
    #[diesel(embed)]
    pub in_force: crate::store::InForceRow,
}

/// The run of `tenant` with its workspace and what is in force in `month`,
/// the run locked; none when the tenant has no such run.
pub async fn step_context_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    run: &str,
    month: time::Date,
) -> QueryResult<Option<StepContextRow>> {
    diesel::sql_query(
        "SELECT r.*, w.approval_tier, w.data_mode, w.deleted_at IS NOT NULL AS workspace_deleted, \
                f.withdrawn, f.monthly_token_budget, f.spent, f.records \
           FROM runs r \
           JOIN workspaces w ON w.workspace_id = r.workspace_id \
           CROSS JOIN LATERAL policy_in_force($1, $3) f \
          WHERE r.run_id = $2 AND r.tenant_id = $1 \
            FOR UPDATE OF r",
    )
    .bind::<diesel::sql_types::Text, _>(tenant)
    .bind::<diesel::sql_types::Text, _>(run)
    .bind::<diesel::sql_types::Date, _>(month)
    .get_result(conn)
    .await
    .optional()
}

/// Records the workspace as its event has it now.
pub async fn workspace_upsert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &WorkspaceRow,
) -> QueryResult<()> {
    diesel::insert_into(workspaces::table)
        .values(row)
        .on_conflict(workspaces::workspace_id)
        .do_update()
        .set((
            workspaces::approval_tier.eq(&row.approval_tier),
            workspaces::data_mode.eq(&row.data_mode),
            workspaces::deleted_at.eq(row.deleted_at),
            workspaces::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn workspace_get_on_conn(
    conn: &mut AsyncPgConnection,
    workspace: &str,
) -> QueryResult<Option<WorkspaceRow>> {
    workspaces::table
        .find(workspace)
        .select(WorkspaceRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn run_insert_on_conn(conn: &mut AsyncPgConnection, row: &RunRow) -> QueryResult<()> {
    diesel::insert_into(runs::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The run, locked for the rest of the transaction when `lock`.
pub async fn run_get_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
    lock: bool,
) -> QueryResult<Option<RunRow>> {
    let query = runs::table.find(run).select(RunRow::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// What a list of runs is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct RunFilter<'a> {
    pub workspace: Option<&'a str>,
    pub status: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub before: Option<OffsetDateTime>,
}

/// The tenant's runs, newest first, at most `limit`.
pub async fn run_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    filter: &RunFilter<'_>,
    limit: i64,
) -> QueryResult<Vec<RunRow>> {
    let mut query = runs::table
        .filter(runs::tenant_id.eq(tenant))
        .select(RunRow::as_select())
        .order((runs::started_at.desc(), runs::run_id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(workspace) = filter.workspace {
        query = query.filter(runs::workspace_id.eq(workspace.to_owned()));
    }
    if let Some(status) = filter.status {
        query = query.filter(runs::status.eq(status.to_owned()));
    }
    if let Some(subject) = filter.subject {
        query = query.filter(runs::subject_id.eq(subject.to_owned()));
    }
    if let Some(before) = filter.before {
        query = query.filter(runs::started_at.lt(before));
    }
    query.load(conn).await
}

/// Sets the run's status, step count and end.
pub async fn run_update_on_conn(conn: &mut AsyncPgConnection, row: &RunRow) -> QueryResult<()> {
    diesel::update(runs::table.find(&row.run_id))
        .set((
            runs::status.eq(&row.status),
            runs::steps.eq(row.steps),
            runs::updated_at.eq(row.updated_at),
            runs::ended_at.eq(row.ended_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn step_insert_on_conn(conn: &mut AsyncPgConnection, row: &StepRow) -> QueryResult<()> {
    diesel::insert_into(run_steps::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The run's steps, in order.
pub async fn steps_of_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
) -> QueryResult<Vec<StepRow>> {
    run_steps::table
        .filter(run_steps::run_id.eq(run))
        .order(run_steps::seq)
        .select(StepRow::as_select())
        .load(conn)
        .await
}

/// The run's step that has not ended, if any, among `open` statuses.
pub async fn open_step_of_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
    open: &[&str],
) -> QueryResult<Option<StepRow>> {
    run_steps::table
        .filter(run_steps::run_id.eq(run))
        .filter(run_steps::status.eq_any(open))
        .select(StepRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The runs `ids` (those in the scope).
pub async fn runs_of_ids_on_conn(
    conn: &mut AsyncPgConnection,
    ids: &[&str],
) -> QueryResult<Vec<RunRow>> {
    runs::table
        .filter(runs::run_id.eq_any(ids))
        .select(RunRow::as_select())
        .load(conn)
        .await
}

/// The steps of the runs `ids` (those in the scope).
pub async fn steps_of_runs_on_conn(
    conn: &mut AsyncPgConnection,
    ids: &[&str],
) -> QueryResult<Vec<StepRow>> {
    run_steps::table
        .filter(run_steps::run_id.eq_any(ids))
        .select(StepRow::as_select())
        .load(conn)
        .await
}

pub async fn step_get_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
    seq: i32,
) -> QueryResult<Option<StepRow>> {
    run_steps::table
        .find((run, seq))
        .select(StepRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Sets the step's status.
pub async fn step_status_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
    seq: i32,
    status: &str,
) -> QueryResult<()> {
    diesel::update(run_steps::table.find((run, seq)))
        .set(run_steps::status.eq(status))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn step_end_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &StepEndRow,
) -> QueryResult<()> {
    diesel::insert_into(step_ends::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// How the run's step `seq` ended, if it did.
pub async fn step_end_of_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
    seq: i32,
) -> QueryResult<Option<StepEndRow>> {
    step_ends::table
        .find((run, seq))
        .select(StepEndRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// How the run's steps that ended, ended, in order.
pub async fn step_ends_of_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
) -> QueryResult<Vec<StepEndRow>> {
    step_ends::table
        .filter(step_ends::run_id.eq(run))
        .order(step_ends::seq)
        .select(StepEndRow::as_select())
        .load(conn)
        .await
}

pub async fn approval_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &ApprovalRow,
) -> QueryResult<()> {
    diesel::insert_into(approval_requests::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn approval_get_on_conn(
    conn: &mut AsyncPgConnection,
    request: &str,
) -> QueryResult<Option<ApprovalRow>> {
    approval_requests::table
        .find(request)
        .select(ApprovalRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The approval request of the run's step `seq`, if it has one.
pub async fn approval_of_step_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
    seq: i32,
) -> QueryResult<Option<ApprovalRow>> {
    approval_requests::table
        .filter(approval_requests::run_id.eq(run))
        .filter(approval_requests::seq.eq(seq))
        .select(ApprovalRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The approval requests of the run's steps.
pub async fn approvals_of_run_on_conn(
    conn: &mut AsyncPgConnection,
    run: &str,
) -> QueryResult<Vec<ApprovalRow>> {
    approval_requests::table
        .filter(approval_requests::run_id.eq(run))
        .order(approval_requests::seq)
        .select(ApprovalRow::as_select())
        .load(conn)
        .await
}

/// The tenant's approval requests with `status` (every one without), newest
/// first, at most `limit`.
pub async fn approval_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    status: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ApprovalRow>> {
    let mut query = approval_requests::table
        .filter(approval_requests::tenant_id.eq(tenant))
        .select(ApprovalRow::as_select())
        .order((
            approval_requests::created_at.desc(),
            approval_requests::request_id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(approval_requests::status.eq(status.to_owned()));
    }
    query.load(conn).await
}

/// Decides the request if it is still pending and not expired at `at`: the
/// decided request, or none when another decision (or its expiry) came first.
/// Racing deciders queue on the row; the first one's update makes the
/// others' condition false.
pub async fn approval_decide_on_conn(
    conn: &mut AsyncPgConnection,
    request: &str,
    status: &str,
    by: &str,
    reason: &str,
    at: OffsetDateTime,
) -> QueryResult<Option<ApprovalRow>> {
    diesel::update(
        approval_requests::table
            .find(request)
            .filter(approval_requests::status.eq("PENDING"))
            .filter(approval_requests::expires_at.gt(at)),
    )
    .set((
        approval_requests::status.eq(status),
        approval_requests::decided_at.eq(Some(at)),
        approval_requests::decided_by.eq(Some(by)),
        approval_requests::reason.eq(Some(reason)),
    ))
    .returning(ApprovalRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Marks the tenant's pending requests that expired by `at` expired: the ones
/// this call marked.
pub async fn approvals_expire_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    at: OffsetDateTime,
) -> QueryResult<Vec<ApprovalRow>> {
    diesel::update(
        approval_requests::table
            .filter(approval_requests::tenant_id.eq(tenant))
            .filter(approval_requests::status.eq("PENDING"))
            .filter(approval_requests::expires_at.le(at)),
    )
    .set((
        approval_requests::status.eq("EXPIRED"),
        approval_requests::decided_at.eq(Some(at)),
    ))
    .returning(ApprovalRow::as_returning())
    .get_results(conn)
    .await
}

pub async fn notification_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &NotificationRow,
) -> QueryResult<()> {
    diesel::insert_into(notifications::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The tenant's notifications for any of `roles` (every one without), newest
/// first, at most `limit`.
pub async fn notification_list_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    roles: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let mut query = notifications::table
        .filter(notifications::tenant_id.eq(tenant))
        .select(NotificationRow::as_select())
        .order((
            notifications::created_at.desc(),
            notifications::notification_id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(roles) = roles {
        let roles: Vec<Option<String>> = roles.iter().cloned().map(Some).collect();
        query = query.filter(notifications::roles.overlaps_with(roles));
    }
    query.load(conn).await
}
