//! The tenant side: readiness of an approved release for a tenant (or one of
//! its workspaces), enabling it when ready, upgrading to a newer approved
//! release, and disabling — which keeps the tenant's module state and answers the
//! manifest's cleanup steps as a checklist the operator follows through.
//! Platform management owns trust; tenant management (a tenant's administrators,
//! or the platform team for it) owns enablement.

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, on, to};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, TenantId};
use plinth_db::scoped_transaction;
use plinth_service::{ServiceState, scope_of};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::{AppState, now};
use crate::events::{Audited, Outcome};
use crate::readiness::{self, Check, Facts};
use crate::store::{ReleaseRow, release_get_on_conn};
use crate::tenant_store::{
    EnablementRow, PolicyRecordRow, TenantRow, deployed_digests_on_conn, enablement_at_on_conn,
    enablement_get_on_conn, enablement_list_on_conn, enablement_save_on_conn,
    policy_records_for_on_conn, tenant_get_on_conn, workspace_get_on_conn,
};

/// The readiness of a release for a tenant: every check with its state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    pub tenant_id: String,
    pub module_id: String,
    pub version: String,
    /// The workspace it was assessed for; none: the whole tenant.
    pub workspace_id: Option<String>,
    /// Every check is ready.
    pub ready: bool,
    pub checks: Vec<Check>,
}

/// One cleanup step of a disabled module, from its manifest, and whether the
/// operator has done it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CleanupStep {
    /// The step's id in the manifest.
    pub id: String,
    /// `purge_data`, `remove_connection`, `remove_schedule`, `revoke_credential`
    /// or `other`.
    pub kind: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub done_at: Option<OffsetDateTime>,
    pub done_by: Option<String>,
}

/// A module enabled (or disabled) for a tenant or one of its workspaces.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enablement {
    pub enablement_id: String,
    pub tenant_id: String,
    pub module_id: String,
    /// The workspace; none: every workspace of the tenant.
    pub workspace_id: Option<String>,
    pub version: String,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    /// The unknown readiness checks acknowledged when it was enabled or upgraded.
    pub acknowledged: Vec<String>,
    /// When the release it runs was revoked: the tenant must move off it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub enabled_at: OffsetDateTime,
    pub enabled_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
    pub disabled_by: Option<String>,
    /// On disablement: the manifest's cleanup steps, the follow-through checklist.
    pub cleanup: Option<Vec<CleanupStep>>,
    /// Every cleanup step is done (none: not disabled).
    pub cleanup_complete: Option<bool>,
}

impl TryFrom<EnablementRow> for Enablement {
    type Error = ApiError;

    fn try_from(row: EnablementRow) -> Result<Self, ApiError> {
        let cleanup: Option<Vec<CleanupStep>> = row
            .cleanup
            .map(serde_json::from_value)
            .transpose()
            .map_err(ApiError::internal)?;
        Ok(Enablement {
            cleanup_complete: cleanup
                .as_ref()
                .map(|steps| steps.iter().all(|s| s.done_at.is_some())),
            cleanup,
            enablement_id: row.enablement_id,
            tenant_id: row.tenant_id,
            module_id: row.module_id,
            workspace_id: Some(row.workspace_id).filter(|w| !w.is_empty()),
            version: row.version,
            status: row.status,
            acknowledged: row.acknowledged,
            revoked_at: row.revoked_at,
            enabled_at: row.enabled_at,
            enabled_by: row.enabled_by,
            disabled_at: row.disabled_at,
            disabled_by: row.disabled_by,
        })
    }
}

/// What a tenant asks to enable.
#[derive(Debug, Clone)]
pub struct EnableRequest {
    pub module_id: String,
    pub version: String,
    pub workspace_id: Option<String>,
    /// The unknown checks the caller accepts.
    pub acknowledge: Vec<String>,
}

async fn tenant_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<TenantRow, ApiError> {
    tenant_get_on_conn(conn, &tenant.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

async fn release_on_conn(
    conn: &mut AsyncPgConnection,
    module: &str,
    version: &str,
) -> Result<ReleaseRow, ApiError> {
    release_get_on_conn(conn, module, version, false)
        .await?
        .ok_or_else(|| ApiError::not_found("module release"))
}

/// The AI policy the records in force make (none when none is known).
fn policy_of(records: &[PolicyRecordRow]) -> Option<plinth_policy::Effective> {
    plinth_policy::effective_of_kept(records.iter().map(|r| plinth_policy::Kept {
        record_id: &r.record_id,
        version: r.version,
        level: &r.level,
        rules: &r.rules,
    }))
}

/// Readiness of `release` for `tenant` (and `workspace`), from what the catalog
/// holds now.
pub async fn assess_on_conn(
    conn: &mut AsyncPgConnection,
    tenant: &TenantRow,
    release: &ReleaseRow,
    workspace: Option<&str>,
) -> Result<Readiness, ApiError> {
    let workspace_row = match workspace {
        Some(id) => Some(
            workspace_get_on_conn(conn, &tenant.tenant_id, id)
                .await?
                .ok_or_else(|| ApiError::not_found("workspace"))?,
        ),
        None => None,
    };
    let deployed = deployed_digests_on_conn(conn, &release.module_id).await?;
    let records = policy_records_for_on_conn(conn, &tenant.tenant_id, &release.module_id).await?;
    let policy = policy_of(&records);
    let checks = readiness::assess(&Facts {
        status: &release.status,
        manifest: &release.manifest,
        image_digest: &release.image_digest,
        tenant_status: &tenant.status,
        tenant_data_mode: &tenant.data_mode,
        entitled: &tenant.modules,
        workspace: workspace_row
            .as_ref()
            .map(|w| (w.name.as_str(), w.data_mode.as_str())),
        deployed: &deployed,
        policy: policy.as_ref(),
    });
    Ok(Readiness {
        tenant_id: tenant.tenant_id.clone(),
        module_id: release.module_id.clone(),
        version: release.version.clone(),
        workspace_id: workspace.map(str::to_owned),
        ready: checks.iter().all(|c| c.state == readiness::State::Ready),
        checks,
    })
}

/// Refuses when a check stands in the way of enabling, naming every one.
fn require_ready(readiness: &Readiness, acknowledged: &[String]) -> Result<(), ApiError> {
    let blocking = readiness::blocking(&readiness.checks, acknowledged);
    if blocking.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = blocking.iter().map(|c| c.check).collect();
    Err(ApiError::conflict(format!(
        "{} {} is not ready for this tenant: {}",
        readiness.module_id,
        readiness.version,
        names.join(", ")
    ))
    .with_code(Code::ModuleNotReady)
    .with_serialized("checks", &blocking))
}

/// The unknown checks of `readiness` among `acknowledged`, as recorded.
fn acknowledged_unknowns(readiness: &Readiness, acknowledged: &[String]) -> Vec<String> {
    readiness
        .checks
        .iter()
        .filter(|c| c.state == readiness::State::Unknown)
        .filter(|c| acknowledged.iter().any(|a| a == c.check))
        .map(|c| c.check.to_owned())
        .collect()
}

/// Readiness of `module` `version` for `tenant` (or its `workspace`).
pub async fn enablement_readiness(
    auth: &Authorized<on::ModuleEnablement, to::Read>,
    app: &AppState,
    tenant: TenantId,
    module: &str,
    version: &str,
    workspace: Option<&str>,
) -> Result<Readiness, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        let tenant = tenant_on_conn(conn, tenant).await?;
        let release = release_on_conn(conn, module, version).await?;
        assess_on_conn(conn, &tenant, &release, workspace).await
    })
    .await
}

/// `tenant`'s enablements, enabled and disabled.
pub async fn enablement_list(
    auth: &Authorized<on::ModuleEnablement, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<Vec<Enablement>, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        Ok::<_, ApiError>(enablement_list_on_conn(conn, &tenant.to_string()).await?)
    })
    .await?;
    rows.into_iter().map(Enablement::try_from).collect()
}

/// One of `tenant`'s enablements.
pub async fn enablement_get(
    auth: &Authorized<on::ModuleEnablement, to::Read>,
    app: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<Enablement, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    let row = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        Ok::<_, ApiError>(enablement_get_on_conn(conn, &tenant.to_string(), id).await?)
    })
    .await?;
    row.ok_or_else(|| ApiError::not_found("enablement"))?
        .try_into()
}

/// Enables an approved release for `tenant` (or one workspace) when every
/// readiness check is ready, or unknown and acknowledged. The same release
/// enabled already answers the stored enablement (`false`: not created); another
/// release of the module at the same scope is an upgrade's business.
pub async fn enablement_enable(
    auth: &Authorized<on::ModuleEnablement, to::Create>,
    app: &AppState,
    tenant: TenantId,
    request: Result<EnableRequest, ApiError>,
) -> Result<(Enablement, bool), ApiError> {
    let mut audited = Audited::new("module.enable", "module_enablement");
    if let Ok(r) = &request {
        audited = audited.on_resource(format!("{}/{}", r.module_id, r.version));
    }
    let result = async {
        let request = request?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let by = ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let tenant_row = tenant_on_conn(conn, tenant).await?;
            let release = release_on_conn(conn, &request.module_id, &request.version).await?;
            let readiness =
                assess_on_conn(conn, &tenant_row, &release, request.workspace_id.as_deref())
                    .await?;
            let scope = request.workspace_id.clone().unwrap_or_default();
            let existing =
                enablement_at_on_conn(conn, &tenant_row.tenant_id, &release.module_id, &scope)
                    .await?;
            if let Some(row) = &existing
                && row.status == "ENABLED"
            {
                if row.version == release.version {
                    return Ok((Enablement::try_from(row.clone())?, false));
                }
                return Err(ApiError::conflict(format!(
                    "{} {} is enabled here; upgrade it to another release",
                    row.module_id, row.version
                ))
                .with_extension("enablement_id", row.enablement_id.clone()));
            }
            require_ready(&readiness, &request.acknowledge)?;
            let acknowledged = acknowledged_unknowns(&readiness, &request.acknowledge);
            let (row, enabled) = enable_on_conn(
                app,
                conn,
                existing,
                &release,
                scope,
                acknowledged,
                &tenant_row,
                &by,
            )
            .await?;
            let events = [
                enabled,
                app.events.audit(
                    ctx,
                    &audited
                        .clone()
                        .with_detail("enablement_id", &row.enablement_id)
                        .with_detail("workspace_id", &row.workspace_id)
                        .with_detail("acknowledged", row.acknowledged.join(",")),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok((Enablement::try_from(row)?, true))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Enables `release` for `tenant` at `workspace` (`''`: tenant-wide), reusing the
/// disabled enablement `existing` there if any: stored, with its event.
#[expect(clippy::too_many_arguments, reason = "one enablement's every fact")]
pub async fn enable_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    existing: Option<EnablementRow>,
    release: &ReleaseRow,
    workspace: String,
    acknowledged: Vec<String>,
    tenant: &TenantRow,
    by: &str,
) -> Result<(EnablementRow, Event), ApiError> {
    let at = now();
    let row = EnablementRow {
        enablement_id: existing
            .map(|e| e.enablement_id)
            .unwrap_or_else(|| format!("enb_{}", uuid::Uuid::new_v4().simple())),
        tenant_id: tenant.tenant_id.clone(),
        module_id: release.module_id.clone(),
        workspace_id: workspace,
        version: release.version.clone(),
        status: "ENABLED".to_owned(),
        acknowledged,
        revoked_at: None,
        enabled_at: at,
        enabled_by: by.to_owned(),
        disabled_at: None,
        disabled_by: None,
        cleanup: None,
    };
    enablement_save_on_conn(conn, &row).await?;
    let event = app
        .events
        .enablement_changed("enabled", &row, &release.manifest, None, at, by)?;
    Ok((row, event))
}

/// Moves an enabled module to a newer approved release, ready for the tenant.
pub async fn enablement_upgrade(
    auth: &Authorized<on::ModuleEnablement, to::Update>,
    app: &AppState,
    tenant: TenantId,
    id: &str,
    target: Result<(String, Vec<String>), ApiError>,
) -> Result<Enablement, ApiError> {
    let audited = Audited::new("module.upgrade", "module_enablement").on_resource(id);
    let result = async {
        let (version, acknowledge) = target?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let by = ctx.principal.subject.clone();
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let tenant_row = tenant_on_conn(conn, tenant).await?;
            let mut row = enablement_get_on_conn(conn, &tenant_row.tenant_id, id)
                .await?
                .ok_or_else(|| ApiError::not_found("enablement"))?;
            if row.status != "ENABLED" {
                return Err(
                    ApiError::conflict("a disabled module is enabled again, not upgraded")
                        .with_code(Code::InvalidTransition)
                        .with_extension("allowed", ["ENABLED"]),
                );
            }
            let newer = semver::Version::parse(&version)
                .ok()
                .zip(semver::Version::parse(&row.version).ok())
                .is_some_and(|(to, from)| to > from);
            if !newer {
                return Err(ApiError::invalid_request(
                    "version",
                    format!("an upgrade moves to a release newer than {}", row.version),
                ));
            }
            let release = release_on_conn(conn, &row.module_id, &version).await?;
            let workspace = Some(row.workspace_id.as_str()).filter(|w| !w.is_empty());
            let readiness = assess_on_conn(conn, &tenant_row, &release, workspace).await?;
            require_ready(&readiness, &acknowledge)?;
            let previous = std::mem::replace(&mut row.version, release.version.clone());
            let at = now();
            row.acknowledged = acknowledged_unknowns(&readiness, &acknowledge);
            row.revoked_at = None;
            enablement_save_on_conn(conn, &row).await?;
            let events = [
                app.events.enablement_changed(
                    "upgraded",
                    &row,
                    &release.manifest,
                    Some(&previous),
                    at,
                    &by,
                )?,
                app.events.audit(
                    ctx,
                    &audited
                        .clone()
                        .with_detail("from", &previous)
                        .with_detail("to", &row.version),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Enablement::try_from(row)
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// The cleanup checklist of `manifest`: its steps, none done.
fn checklist(manifest: &Value) -> Value {
    let steps: Vec<Value> = manifest["cleanup"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|step| {
            serde_json::json!({
                "id": step["id"], "kind": step["kind"], "description": step["description"],
                "done_at": null, "done_by": null
            })
        })
        .collect();
    Value::Array(steps)
}

/// Disables an enabled module, keeping the enablement (DISABLED) with the
/// manifest's cleanup steps as the checklist to follow through. Disabling a
/// disabled one answers it as it is.
pub async fn enablement_disable(
    auth: &Authorized<on::ModuleEnablement, to::Update>,
    app: &AppState,
    tenant: TenantId,
    id: &str,
) -> Result<Enablement, ApiError> {
    let audited = Audited::new("module.disable", "module_enablement").on_resource(id);
    let result = async {
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let row = enablement_get_on_conn(conn, &tenant.to_string(), id)
                .await?
                .ok_or_else(|| ApiError::not_found("enablement"))?;
            if row.status == "DISABLED" {
                return Enablement::try_from(row);
            }
            let release = release_on_conn(conn, &row.module_id, &row.version).await?;
            let (row, disabled) =
                disable_on_conn(app, conn, row, &release, &ctx.principal.subject).await?;
            let audit = app.events.audit(
                ctx,
                &disabled_audit(audited.clone(), &row),
                Outcome::Allowed,
                None,
            )?;
            Outbox::enqueue(conn, &[disabled, audit]).await?;
            Enablement::try_from(row)
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// `audited` with what a disablement records: the module, its release, and the
/// cleanup steps it left for the operator.
pub fn disabled_audit(audited: Audited, row: &EnablementRow) -> Audited {
    audited
        .with_detail("module_id", &row.module_id)
        .with_detail("version", &row.version)
        .with_detail(
            "cleanup",
            row.cleanup
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default(),
        )
}

/// Disables `row` (enabled, of `release`): stored, with its event.
pub async fn disable_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    mut row: EnablementRow,
    release: &ReleaseRow,
    by: &str,
) -> Result<(EnablementRow, Event), ApiError> {
    let at = now();
    row.status = "DISABLED".to_owned();
    row.disabled_at = Some(at);
    row.disabled_by = Some(by.to_owned());
    row.cleanup = Some(checklist(&release.manifest));
    enablement_save_on_conn(conn, &row).await?;
    let event = app
        .events
        .enablement_changed("disabled", &row, &release.manifest, None, at, by)?;
    Ok((row, event))
}

/// Marks one cleanup step of a disabled module done.
pub async fn enablement_cleanup_done(
    auth: &Authorized<on::ModuleEnablement, to::Update>,
    app: &AppState,
    tenant: TenantId,
    id: &str,
    step: &str,
) -> Result<Enablement, ApiError> {
    let audited = Audited::new("module.cleanup_done", "module_enablement")
        .on_resource(format!("{id}/{step}"));
    let result = async {
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let mut row = enablement_get_on_conn(conn, &tenant.to_string(), id)
                .await?
                .ok_or_else(|| ApiError::not_found("enablement"))?;
            let mut steps: Vec<CleanupStep> = match (&row.status[..], row.cleanup.clone()) {
                ("DISABLED", Some(steps)) => {
                    serde_json::from_value(steps).map_err(ApiError::internal)?
                }
                _ => {
                    return Err(ApiError::conflict(
                        "the module is enabled: its cleanup follows its disablement",
                    )
                    .with_code(Code::InvalidTransition)
                    .with_extension("allowed", ["DISABLED"]));
                }
            };
            let found = steps
                .iter_mut()
                .find(|s| s.id == step)
                .ok_or_else(|| ApiError::not_found("cleanup step"))?;
            if found.done_at.is_none() {
                found.done_at = Some(now());
                found.done_by = Some(ctx.principal.subject.clone());
                row.cleanup = Some(serde_json::to_value(&steps).map_err(ApiError::internal)?);
                enablement_save_on_conn(conn, &row).await?;
                let event = app.events.audit(ctx, &audited, Outcome::Allowed, None)?;
                Outbox::enqueue(conn, &[event]).await?;
            }
            Enablement::try_from(row)
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Flags every tenant that has `module` `version` enabled (its release was just
/// revoked): the events announcing each.
pub async fn flag_revoked_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    release: &ReleaseRow,
    at: OffsetDateTime,
    by: &str,
) -> Result<Vec<Event>, ApiError> {
    crate::tenant_store::enablements_revoke_on_conn(conn, &release.module_id, &release.version, at)
        .await?
        .iter()
        .map(|row| {
            app.events.enablement_changed(
                "enablement_revoked",
                row,
                &release.manifest,
                None,
                at,
                by,
            )
        })
        .collect()
}
