//! The module catalog's part of the lifecycle sagas. Onboarding (item
//! `module_defaults`) enables, for the whole tenant, the newest approved release
//! of each module the onboarding request names: the platform team that asked
//! for them acknowledges what no service here can tell yet (connectors, AI
//! providers, policy), and the tenant is not ACTIVE until the saga completes, so
//! those checks do not stand in the way; every other check does, and a module
//! that fails one fails the item with the reason (an operator fixes it — an
//! entitlement, a deployment, an approval — and retries). Offboarding (item
//! `modules_disabled`) disables every module the tenant runs, recording each
//! one's cleanup steps for the operator to follow through.

use diesel_async::AsyncPgConnection;
use plinth_bus::Event;
use plinth_core::{ApiError, ReqCtx, TenantId};
use serde::Deserialize;

use crate::app::{AppState, now};
use crate::enablement::{assess_on_conn, disable_on_conn, disabled_audit, enable_on_conn};
use crate::events::{Audited, Outcome};
use crate::readiness::{self, State};
use crate::store::{approved_digests_on_conn, release_get_on_conn};
use crate::tenant_store::{enablement_at_on_conn, enablement_list_on_conn, tenant_get_on_conn};

/// The owner name the lifecycle checklists give this service's items.
pub const OWNER: &str = "module-catalog";
pub const DEFAULTS_ENABLED: &str = "plinth.module.defaults_enabled";
pub const DEFAULTS_ENABLEMENT_FAILED: &str = "plinth.module.defaults_enablement_failed";
pub const DEPROVISIONED: &str = "plinth.module.deprovisioned";

/// The part of an onboarding request the catalog reads besides its items.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestedModules {
    pub requested_modules: Vec<String>,
}

/// The checks the onboarding request stands in for: unknowns the platform team
/// accepted by asking for the modules, and the tenant's status, which this saga
/// is on the way to making ACTIVE.
const WAIVED_AT_ONBOARDING: [&str; 4] = ["connectors", "ai_providers", "policy", "tenant_active"];

/// Answers the onboarding items `items` of `tenant`, enabling `requested`; the
/// events to publish. Asked again, it enables what it could not before.
pub async fn provision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
    requested: &[String],
) -> Result<Vec<Event>, ApiError> {
    let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
    let mut events = Vec::new();
    let mut problems = Vec::new();
    match tenant_get_on_conn(conn, &tenant.to_string()).await? {
        None => problems.push("the module catalog has not heard of the tenant".to_owned()),
        Some(row) => {
            for module in requested {
                if let Err(problem) =
                    enable_default_on_conn(app, conn, &ctx, tenant, &row, module, &mut events)
                        .await?
                {
                    problems.push(problem);
                }
            }
        }
    }
    let reason = (!problems.is_empty()).then(|| problems.join("; "));
    let ty = if reason.is_some() {
        DEFAULTS_ENABLEMENT_FAILED
    } else {
        DEFAULTS_ENABLED
    };
    let at = now();
    for item in items {
        events.push(app.events.item_result(
            ty,
            &tenant.to_string(),
            item,
            reason.as_deref(),
            at,
        )?);
    }
    Ok(events)
}

/// Enables the newest approved release of `module` for the whole tenant, unless
/// it runs there already: `Err` says why it could not.
async fn enable_default_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    ctx: &ReqCtx,
    tenant_id: TenantId,
    tenant: &crate::tenant_store::TenantRow,
    module: &str,
    events: &mut Vec<Event>,
) -> Result<Result<(), String>, ApiError> {
    let existing = enablement_at_on_conn(conn, &tenant.tenant_id, module, "").await?;
    if existing.as_ref().is_some_and(|e| e.status == "ENABLED") {
        return Ok(Ok(()));
    }
    let newest = approved_digests_on_conn(conn, Some(module))
        .await?
        .into_iter()
        .filter(|(_, _, _, status)| status == "APPROVED")
        .filter_map(|(_, version, _, _)| semver::Version::parse(&version).ok())
        .max();
    let Some(version) = newest else {
        return Ok(Err(format!("{module} has no approved release")));
    };
    let release = release_get_on_conn(conn, module, &version.to_string(), false)
        .await?
        .ok_or_else(|| ApiError::internal("an approved release vanished"))?;
    let readiness = assess_on_conn(conn, tenant, &release, None).await?;
    let waived: Vec<String> = WAIVED_AT_ONBOARDING.map(str::to_owned).to_vec();
    let blocking: Vec<&str> = readiness::blocking(&readiness.checks, &waived)
        .iter()
        .filter(|c| !waived.iter().any(|w| w == c.check))
        .map(|c| c.check)
        .collect();
    if !blocking.is_empty() {
        return Ok(Err(format!(
            "{module} {version} is not ready: {}",
            blocking.join(", ")
        )));
    }
    let acknowledged = readiness
        .checks
        .iter()
        .filter(|c| c.state == State::Unknown)
        .map(|c| c.check.to_owned())
        .collect();
    let (row, enabled) = enable_on_conn(
        app,
        conn,
        existing,
        &release,
        String::new(),
        acknowledged,
        tenant,
        OWNER,
    )
    .await?;
    let audited = Audited::new("module.enable", "module_enablement")
        .on_tenant(tenant_id)
        .on_resource(format!("{module}/{version}"))
        .with_detail("enablement_id", &row.enablement_id)
        .with_detail("reason", "onboarding_default")
        .with_detail("acknowledged", row.acknowledged.join(","));
    events.push(enabled);
    events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
    Ok(Ok(()))
}

/// Disables every module `tenant` runs for the offboarding items `items`.
pub async fn deprovision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
    let mut events = Vec::new();
    for row in enablement_list_on_conn(conn, &tenant.to_string()).await? {
        if row.status != "ENABLED" {
            continue;
        }
        let release = release_get_on_conn(conn, &row.module_id, &row.version, false)
            .await?
            .ok_or_else(|| ApiError::internal("an enabled release vanished"))?;
        let (row, disabled) = disable_on_conn(app, conn, row, &release, OWNER).await?;
        let audited = disabled_audit(
            Audited::new("module.disable", "module_enablement")
                .on_tenant(tenant)
                .on_resource(&row.enablement_id),
            &row,
        )
        .with_detail("reason", "offboarding");
        events.push(disabled);
        events.push(app.events.audit(&ctx, &audited, Outcome::Allowed, None)?);
    }
    let at = now();
    for item in items {
        events.push(
            app.events
                .item_result(DEPROVISIONED, &tenant.to_string(), item, None, at)?,
        );
    }
    Ok(events)
}
