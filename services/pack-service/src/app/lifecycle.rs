//! The pack service's part of the lifecycle sagas. Onboarding assigns the
//! configured default Domain Pack (item `pack_defaults`: `pack.defaults_assigned`,
//! or `pack.defaults_assignment_failed` with the reason — an operator imports the
//! pack and retries); a tenant that already runs a configuration keeps it.
//! Offboarding withdraws the tenant's configuration and playbook links from the
//! runtime (`pack.deprovisioned`); its pack versions stay for the record.

use diesel_async::AsyncPgConnection;
use plinth_bus::Event;
use plinth_core::{ApiError, ReqCtx, TenantId};

use super::activation::apply_on_conn;
use super::{AppState, now};
use crate::domain::PackStatus;
use crate::events::{
    Audited, DEFAULTS_ASSIGNED, DEFAULTS_ASSIGNMENT_FAILED, DEPROVISIONED, OWNER, Outcome,
};
use crate::store::active::{active_delete_on_conn, active_get_on_conn};
use crate::store::domain_packs::{domain_pack_count_on_conn, domain_pack_get_on_conn};
use crate::store::playbooks::{link_delete_on_conn, link_list_on_conn};
use crate::store::tenant_packs::{tenant_pack_by_id_on_conn, tenant_pack_status_set_on_conn};
use crate::store::tenants::tenant_get_on_conn;

/// Answers the onboarding items `items` (this service's) of `tenant`; the events
/// to publish. Asked again (a retry, a redelivery), it answers again.
pub async fn provision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
    let failure = assign_default_on_conn(app, conn, &ctx, tenant).await?;
    let mut events = failure.1;
    let at = now();
    for item in items {
        events.push(match &failure.0 {
            None => {
                app.events
                    .item_result(DEFAULTS_ASSIGNED, &tenant.to_string(), item, None, at)?
            }
            Some(reason) => app.events.item_result(
                DEFAULTS_ASSIGNMENT_FAILED,
                &tenant.to_string(),
                item,
                Some(reason),
                at,
            )?,
        });
    }
    Ok(events)
}

/// Activates the default Domain Pack for a tenant that runs nothing yet: why it
/// could not (if it could not), and the events of what it did.
async fn assign_default_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    ctx: &ReqCtx,
    tenant: TenantId,
) -> Result<(Option<String>, Vec<Event>), ApiError> {
    if tenant_get_on_conn(conn, tenant).await?.is_none() {
        return Ok((
            Some("the pack service has not heard of the tenant".to_owned()),
            vec![],
        ));
    }
    let Some(default) = &app.defaults.domain_pack else {
        return Ok((None, vec![]));
    };
    if active_get_on_conn(conn, tenant, true).await?.is_some() {
        return Ok((None, vec![]));
    }
    let Some(domain) =
        domain_pack_get_on_conn(conn, &default.domain, &default.version, true).await?
    else {
        return Ok((
            Some(format!(
                "the default Domain Pack {} {} is not imported: import it, then retry",
                default.domain, default.version
            )),
            vec![],
        ));
    };
    if domain.deprecated_at.is_some() {
        return Ok((
            Some(format!(
                "the default Domain Pack {} {} is deprecated: configure another",
                default.domain, default.version
            )),
            vec![],
        ));
    }
    let (activation, mut events) = apply_on_conn(
        app,
        conn,
        ctx,
        tenant,
        &domain,
        None,
        None,
        "onboarding_default",
    )
    .await?;
    let audited = Audited::new("pack.activate", "pack_activation")
        .on_tenant(tenant)
        .with_detail("domain", &domain.domain)
        .with_detail("domain_pack_version", &domain.version)
        .with_detail("activation_id", &activation.activation_id)
        .with_detail("reason", "onboarding_default");
    events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
    Ok((None, events))
}

/// Withdraws the tenant's configuration for the offboarding items `items`.
pub async fn deprovision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
    let mut events = Vec::new();
    if let Some(active) = active_delete_on_conn(conn, tenant).await? {
        domain_pack_count_on_conn(conn, &active.domain_pack_id, -1).await?;
        if let Some(id) = &active.tenant_pack_id
            && tenant_pack_by_id_on_conn(conn, id)
                .await?
                .is_some_and(|t| t.status == PackStatus::Active.as_str())
        {
            tenant_pack_status_set_on_conn(conn, id, PackStatus::Draft.as_str()).await?;
        }
        let links = link_list_on_conn(conn, tenant).await?;
        for (link, _) in &links {
            link_delete_on_conn(conn, tenant, &link.playbook).await?;
        }
        let audited = Audited::new("pack.withdraw", "pack_activation")
            .on_tenant(tenant)
            .with_detail("playbook_links_removed", links.len());
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
