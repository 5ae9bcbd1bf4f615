//! Workflows: `workspaces` (the registry's, projected) and `workflow_versions`
//! (a workspace's, immutable).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::{workflow_versions, workspaces};

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
#[diesel(table_name = workflow_versions)]
pub struct WorkflowVersionRow {
    pub workflow_version_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    pub workflow: String,
    pub version: String,
    pub major: i64,
    pub minor: i64,
    pub patch: i64,
    pub domain: String,
    pub name: String,
    pub content_json: serde_json::Value,
    pub checksum: String,
    pub published_at: OffsetDateTime,
    pub published_by: String,
}

/// Records a workspace as created or changed (named again, or deleted).
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

/// `tenant`'s workspace `workspace`, deleted or not.
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

pub async fn workflow_insert_on_conn(
    conn: &mut AsyncPgConnection,
    row: &WorkflowVersionRow,
) -> QueryResult<()> {
    diesel::insert_into(workflow_versions::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// Version `version` of `workflow` in `workspace`.
pub async fn workflow_get_on_conn(
    conn: &mut AsyncPgConnection,
    workspace: &str,
    workflow: &str,
    version: &str,
) -> QueryResult<Option<WorkflowVersionRow>> {
    workflow_versions::table
        .filter(workflow_versions::workspace_id.eq(workspace))
        .filter(workflow_versions::workflow.eq(workflow))
        .filter(workflow_versions::version.eq(version))
        .select(WorkflowVersionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every version in `workspace` (of `workflow` only, if given): each
/// workflow's newest first.
pub async fn workflow_versions_on_conn(
    conn: &mut AsyncPgConnection,
    workspace: &str,
    workflow: Option<&str>,
) -> QueryResult<Vec<WorkflowVersionRow>> {
    let mut query = workflow_versions::table
        .filter(workflow_versions::workspace_id.eq(workspace))
        .into_boxed();
    if let Some(workflow) = workflow {
        query = query.filter(workflow_versions::workflow.eq(workflow.to_owned()));
    }
    query
        .order((
            workflow_versions::workflow,
            workflow_versions::major.desc(),
            workflow_versions::minor.desc(),
            workflow_versions::patch.desc(),
        ))
        .select(WorkflowVersionRow::as_select())
        .load(conn)
        .await
}
