//! The tool catalog packs and playbooks are checked against: the tools of the
//! module releases the platform approved — or deprecated, still running where
//! enabled — as the module catalog announces its decisions. No configuration
//! lists them: a tool arrives with the approval of a release that provides it and
//! leaves when the last such release is revoked.

use std::collections::BTreeMap;

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::module::ModuleDecided;
use plinth_core::ApiError;
use plinth_service::ServiceState as _;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::AppState;
use crate::store::tools::{ModuleToolRow, OFFERED, release_decided_on_conn, tool_list_on_conn};

/// A tool some module release provides.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tool {
    /// `namespace.tool`, as packs and playbooks name it.
    #[schema(example = "erp.lookup_invoice")]
    pub id: String,
    /// Whether packs and playbooks may call it: a release providing it is
    /// APPROVED or DEPRECATED.
    pub offered: bool,
    /// The releases that provide it, by module and version.
    pub releases: Vec<ToolRelease>,
}

/// A module release that provides a tool, with its latest decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolRelease {
    pub module_id: String,
    pub version: String,
    /// APPROVED, REJECTED, DEPRECATED or REVOKED.
    pub status: String,
    /// What kind of action the tool takes in this release (`read`, `ticket_update`, …).
    pub action_class: String,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

/// Records a decision on a module release with the tools it provides.
pub async fn module_decided_on_conn(
    conn: &mut AsyncPgConnection,
    event: ModuleDecided,
) -> Result<(), ApiError> {
    let decided_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(event.decided_at) * 1000)
        .map_err(ApiError::internal)?;
    let rows: Vec<ModuleToolRow> = event
        .tools
        .into_iter()
        .map(|tool| ModuleToolRow {
            module_id: event.module_id.clone(),
            version: event.version.clone(),
            tool_id: tool.id,
            action_class: tool.action_class,
            status: event.status.clone(),
            decided_at,
        })
        .collect();
    release_decided_on_conn(conn, &event.module_id, &event.version, decided_at, &rows).await?;
    Ok(())
}

/// Every tool of every decided release, offered or not.
pub async fn tool_list(
    auth: &Authorized<on::DomainPack, to::Read>,
    app: &AppState,
) -> Result<Vec<Tool>, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    let mut tools: BTreeMap<String, Tool> = BTreeMap::new();
    for row in tool_list_on_conn(&mut conn).await? {
        let tool = tools.entry(row.tool_id.clone()).or_insert_with(|| Tool {
            id: row.tool_id,
            offered: false,
            releases: Vec::new(),
        });
        tool.offered |= OFFERED.contains(&row.status.as_str());
        tool.releases.push(ToolRelease {
            module_id: row.module_id,
            version: row.version,
            status: row.status,
            action_class: row.action_class,
            decided_at: row.decided_at,
        });
    }
    Ok(tools.into_values().collect())
}
