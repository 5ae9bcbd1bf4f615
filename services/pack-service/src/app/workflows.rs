//! Workflows: playbooks at a workspace's scope. A tenant's workspace
//! administrators publish them into one of its workspaces — the playbooks'
//! document and checks (schema, tools offered by approved module releases,
//! gates) — each version immutable; every role of the tenant reads them. A
//! workflow is not linked like the platform's playbooks: it belongs to its
//! workspace.

use plinth_authz::{Authorized, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::playbooks::checked;
use super::{AppState, now, require_changeable, scope_of, tenant_on_conn};
use crate::domain::{PackVersion, PlaybookName, WorkflowVersionId};
use crate::events::{Audited, Outcome};
use crate::format::checksum;
use crate::store::workflows::{
    WorkflowVersionRow, workflow_get_on_conn, workflow_insert_on_conn, workflow_versions_on_conn,
    workspace_get_on_conn,
};
use plinth_service::ServiceState as _;

/// A published workflow version of a workspace.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkflowVersion {
    #[schema(example = "wfv_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub workflow_version_id: String,
    pub tenant_id: String,
    pub workspace_id: String,
    #[schema(example = "duplicate-invoice-refund")]
    pub workflow: String,
    #[schema(example = "1.0.0")]
    pub version: String,
    pub domain: String,
    pub name: String,
    pub checksum: String,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    pub published_by: String,
    /// The version itself (a playbook document); in single-version reads and
    /// answers to a publication only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub content: Option<Value>,
}

impl WorkflowVersion {
    fn of(row: WorkflowVersionRow, with_content: bool) -> Self {
        WorkflowVersion {
            workflow_version_id: row.workflow_version_id,
            tenant_id: row.tenant_id,
            workspace_id: row.workspace_id,
            workflow: row.workflow,
            version: row.version,
            domain: row.domain,
            name: row.name,
            checksum: row.checksum,
            published_at: row.published_at,
            published_by: row.published_by,
            content: with_content.then_some(row.content_json),
        }
    }
}

/// `workspace` of `tenant`, as the caller may see it: not found otherwise.
async fn workspace_on_conn(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: TenantId,
    workspace: &str,
) -> Result<crate::store::workflows::WorkspaceRow, ApiError> {
    workspace_get_on_conn(conn, &tenant.to_string(), workspace)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))
}

/// Publishes a workflow version into `workspace` of `tenant`:
/// `Ok((version, created))`; the same version with the same content again
/// answers the published one, with other content `409`.
pub async fn workflow_publish(
    auth: &Authorized<on::Workflow, to::Create>,
    app: &AppState,
    tenant: TenantId,
    workspace: &str,
    content: Result<Value, ApiError>,
) -> Result<(WorkflowVersion, bool), ApiError> {
    let mut audited = Audited::new("workflow.publish", "workflow").in_tenant(tenant);
    if let Ok(content) = &content
        && let (Some(id), Some(version)) = (content["id"].as_str(), content["version"].as_str())
        && let (Ok(id), Ok(version)) = (PlaybookName::parse(id), PackVersion::parse(version))
    {
        audited = audited.on_resource(format!("{workspace}/{id}/{version}"));
    }
    let result = async {
        let content = content?;
        let caller = auth.permit()?;
        caller.ctx.require_local(tenant)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        let sum = checksum(&content);
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
            let space = workspace_on_conn(conn, tenant, workspace).await?;
            if space.deleted_at.is_some() {
                return Err(ApiError::conflict(
                    "the workspace is deleted: it keeps its workflows and takes no new version",
                ));
            }
            let doc = checked(conn, &content, "workflow").await?;
            let version = PackVersion::parse(&doc.version).map_err(ApiError::internal)?;
            if let Some(existing) =
                workflow_get_on_conn(conn, workspace, &doc.id, &version.to_string()).await?
            {
                if existing.checksum == sum {
                    return Ok((WorkflowVersion::of(existing, true), false));
                }
                return Err(ApiError::conflict(
                    "this version is published with other content; versions are immutable: publish the change as a new version",
                )
                .with_code(Code::VersionExists));
            }
            let (major, minor, patch) = version.parts();
            let row = WorkflowVersionRow {
                workflow_version_id: WorkflowVersionId::new().to_string(),
                tenant_id: tenant.to_string(),
                workspace_id: space.workspace_id,
                workflow: doc.id.clone(),
                version: version.to_string(),
                major,
                minor,
                patch,
                domain: doc.domain.clone(),
                name: doc.name.clone(),
                content_json: content.clone(),
                checksum: sum.clone(),
                published_at: now(),
                published_by: ctx.principal.subject.clone(),
            };
            workflow_insert_on_conn(conn, &row).await?;
            let audit = app.events.audit(
                ctx,
                &audited
                    .clone()
                    .with_detail("workflow_version_id", &row.workflow_version_id)
                    .with_detail("checksum", &sum),
                Outcome::Allowed,
                None,
            )?;
            let published = app.events.workflow_published(&row)?;
            Outbox::enqueue(conn, &[published, audit]).await?;
            Ok((WorkflowVersion::of(row, true), true))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// The workflow versions of `workspace` (of `workflow` only, if given), each
/// workflow's newest first.
pub async fn workflow_list(
    auth: &Authorized<on::Workflow, to::Read>,
    app: &AppState,
    tenant: TenantId,
    workspace: &str,
    workflow: Option<&PlaybookName>,
) -> Result<Vec<WorkflowVersion>, ApiError> {
    let caller = auth.permit()?;
    caller.ctx.require_local(tenant)?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        workspace_on_conn(conn, tenant, workspace).await?;
        Ok(
            workflow_versions_on_conn(conn, workspace, workflow.map(PlaybookName::as_str))
                .await?
                .into_iter()
                .map(|row| WorkflowVersion::of(row, false))
                .collect(),
        )
    })
    .await
}

/// Version `version` of `workflow` in `workspace`, with its document.
pub async fn workflow_get(
    auth: &Authorized<on::Workflow, to::Read>,
    app: &AppState,
    tenant: TenantId,
    workspace: &str,
    workflow: &PlaybookName,
    version: &PackVersion,
) -> Result<WorkflowVersion, ApiError> {
    let caller = auth.permit()?;
    caller.ctx.require_local(tenant)?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        workspace_on_conn(conn, tenant, workspace).await?;
        workflow_get_on_conn(conn, workspace, workflow.as_str(), &version.to_string())
            .await?
            .map(|row| WorkflowVersion::of(row, true))
            .ok_or_else(|| ApiError::not_found("workflow version"))
    })
    .await
}
