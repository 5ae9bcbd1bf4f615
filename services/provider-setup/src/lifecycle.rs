//! Provider setup's part of the lifecycle sagas.
//!
//! Onboarding (item `provider_setup`): the tenant is ready to be given AI
//! provider keys — provider setup knows it, and the pooled connections the
//! platform shares with every new tenant (`onboarding.default_pools`, by name)
//! are shared with it under their default limits. A named pool that does not
//! exist or has no active key fails the item with the reason (the platform team
//! fixes it and retries).
//!
//! Offboarding (item `provider_keys_destroyed`): every key version of the
//! tenant's connections and connector installations is destroyed (crypto-shredding: the data keys deleted),
//! its connections marked DESTROYED, its open setup requests cancelled and
//! their links revoked, and the pooled connections shared with it withdrawn.
//! What the client must still do — revoke each key at its provider — is the
//! registry's operator item; the destroyed connections name the keys.

use diesel_async::AsyncPgConnection;
use plinth_bus::Event;
use plinth_core::{ApiError, ReqCtx, TenantId};

use crate::app::{AppState, now, revoke_unused_links_on_conn};
use crate::events::{Audited, Outcome};
use crate::settings::PoolDefault;
use crate::store::{
    ConnectionRow, GrantRow, connection_by_name_on_conn, connection_destroy_on_conn,
    connection_list_owned_on_conn, grant_delete_on_conn, grant_upsert_on_conn,
    grants_of_tenant_on_conn, key_version_list_on_conn, key_version_shred_on_conn,
    request_close_on_conn, request_open_on_conn, tenant_get_on_conn,
};

/// The owner name the lifecycle checklists give this service's items.
pub const OWNER: &str = "provider-setup";
pub const SETUP_READY: &str = "plinth.provider.setup_ready";
pub const SETUP_FAILED: &str = "plinth.provider.setup_failed";
pub const DEPROVISIONED: &str = "plinth.provider.deprovisioned";

/// Answers the onboarding items `items` of `tenant`: the events to publish.
pub async fn provision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
    let at = now();
    let mut events = Vec::new();
    let mut problems = Vec::new();
    if tenant_get_on_conn(conn, &tenant.to_string())
        .await?
        .is_none()
    {
        problems.push("provider setup has not heard of the tenant".to_owned());
    } else {
        for pool in &app.default_pools {
            match share_default_on_conn(app, conn, &ctx, tenant, pool, at).await? {
                Ok(mut shared) => events.append(&mut shared),
                Err(problem) => problems.push(problem),
            }
        }
    }
    let reason = (!problems.is_empty()).then(|| problems.join("; "));
    let ty = if reason.is_some() {
        SETUP_FAILED
    } else {
        SETUP_READY
    };
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

/// Shares the default pool `pool` with `tenant` (again: its limits are
/// refreshed); the events, or why it cannot be shared.
async fn share_default_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    ctx: &ReqCtx,
    tenant: TenantId,
    pool: &PoolDefault,
    at: time::OffsetDateTime,
) -> Result<Result<Vec<Event>, String>, ApiError> {
    let Some(row) = connection_by_name_on_conn(conn, None, &pool.name).await? else {
        return Ok(Err(format!("no pooled connection named {}", pool.name)));
    };
    if row.status != "ACTIVE" {
        return Ok(Err(format!(
            "the pooled connection {} is {}: it has no active key to share",
            pool.name, row.status
        )));
    }
    let grant = GrantRow {
        connection_id: row.connection_id.clone(),
        tenant_id: tenant.to_string(),
        requests_per_minute: pool.requests_per_minute,
        tokens_per_month: pool.tokens_per_month,
        granted_at: at,
        granted_by: ctx.principal.subject.clone(),
    };
    grant_upsert_on_conn(conn, &grant).await?;
    let audited = Audited::new("provider.pool_grant", "provider_pool")
        .in_tenant(tenant)
        .on_resource(&row.connection_id)
        .with_detail("onboarding", "default pool");
    Ok(Ok(vec![
        app.events
            .pool_grant_changed(&grant, true, at, &ctx.principal.subject)?,
        app.events.audit(ctx, &audited, Outcome::Allowed, None)?,
    ]))
}

/// Answers the offboarding items `items` of `tenant`, destroying every key of
/// its: the events to publish. Asked again, there is nothing left to destroy.
pub async fn deprovision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
    let by = ctx.principal.subject.clone();
    let at = now();
    let mut events = Vec::new();
    let tenant_text = tenant.to_string();
    for connection in connection_list_owned_on_conn(conn, &tenant_text).await? {
        events.extend(destroy_on_conn(app, conn, &ctx, tenant, &connection, "offboarded").await?);
    }
    for grant in grants_of_tenant_on_conn(conn, &tenant_text).await? {
        grant_delete_on_conn(conn, &grant.connection_id, &tenant_text).await?;
        events.push(app.events.pool_grant_changed(&grant, false, at, &by)?);
    }
    for item in items {
        events.push(
            app.events
                .item_result(DEPROVISIONED, &tenant_text, item, None, at)?,
        );
    }
    Ok(events)
}

/// Destroys the connection (a provider connection or a connector
/// installation) of `tenant` for `reason`: its open request cancelled with its
/// unused links, every key version shredded, the connection DESTROYED. The
/// events to publish; nothing when it is destroyed already.
pub(crate) async fn destroy_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    ctx: &ReqCtx,
    tenant: TenantId,
    connection: &ConnectionRow,
    reason: &str,
) -> Result<Vec<Event>, ApiError> {
    let by = &ctx.principal.subject;
    let at = now();
    let id = &connection.connection_id;
    let mut events = Vec::new();
    if let Some(request) = request_open_on_conn(conn, id).await? {
        events.extend(revoke_unused_links_on_conn(app, conn, &request, at, by).await?);
        request_close_on_conn(conn, &request.request_id, "CANCELLED", at).await?;
    }
    let mut destroyed = 0;
    for version in key_version_list_on_conn(conn, id).await? {
        if version.status != "DESTROYED" {
            let row = key_version_shred_on_conn(conn, id, version.version, at).await?;
            events.push(app.events.key_destroyed(&row, reason)?);
            destroyed += 1;
        }
    }
    if connection.status != "DESTROYED" {
        connection_destroy_on_conn(conn, id, at).await?;
        let audited = Audited::new("provider.connection_destroy", "provider_connection")
            .in_tenant(tenant)
            .on_resource(id)
            .with_detail("reason", reason)
            .with_detail("versions_destroyed", destroyed);
        events.push(app.events.audit(ctx, &audited, Outcome::Allowed, None)?);
    }
    Ok(events)
}
