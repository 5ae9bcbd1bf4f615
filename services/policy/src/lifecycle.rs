//! The policy service's part of the lifecycle sagas.
//!
//! Onboarding (item `policy_registry`): the tenant is enrolled — the policy
//! service knows it and the platform's baseline is in force, so its effective
//! policy is defined from the first step its runtime takes. Offboarding (item
//! `policy_withdrawn`): its policies are withdrawn — every decision for it is a
//! refusal, in the service and in its bundle; its records and usage stay for
//! the record. Asked again, each answers the same.

use diesel_async::AsyncPgConnection;
use plinth_bus::Event;
use plinth_core::{ApiError, ReqCtx, TenantId};

use crate::events::{Audited, Outcome};
use crate::records::{AppState, now};
use crate::store::{
    platform_in_force_on_conn, tenant_enroll_on_conn, tenant_get_on_conn, tenant_withdraw_on_conn,
};

/// The owner name the lifecycle checklists give this service's items.
pub const OWNER: &str = "policy";
pub const ENROLLED: &str = "plinth.policy.registry_enrolled";
pub const ENROLLMENT_FAILED: &str = "plinth.policy.registry_enrollment_failed";
pub const DEPROVISIONED: &str = "plinth.policy.deprovisioned";

/// Answers the onboarding items `items` of `tenant`: the events to publish.
pub async fn provision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let at = now();
    let t = tenant.to_string();
    let problem = if tenant_get_on_conn(conn, &t).await?.is_none() {
        Some("the policy service has not heard of the tenant")
    } else if !platform_in_force_on_conn(conn).await? {
        Some("no platform policy record is in force: publish the platform's baseline")
    } else {
        None
    };
    let mut events = Vec::new();
    if problem.is_none() {
        tenant_enroll_on_conn(conn, &t, at).await?;
        let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
        let audited = Audited::new("policy.tenant_enroll", "tenant").in_tenant(tenant);
        events.push(app.events.audit(&ctx, &audited, Outcome::Allowed, None)?);
    }
    let ty = if problem.is_some() {
        ENROLLMENT_FAILED
    } else {
        ENROLLED
    };
    for item in items {
        events.push(app.events.item_result(ty, &t, item, problem, at)?);
    }
    Ok(events)
}

/// Answers the offboarding items `items` of `tenant`, withdrawing its
/// policies: the events to publish.
pub async fn deprovision_on_conn(
    app: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    items: &[&str],
) -> Result<Vec<Event>, ApiError> {
    let at = now();
    let t = tenant.to_string();
    tenant_withdraw_on_conn(conn, &t, at).await?;
    let ctx = ReqCtx::for_service(OWNER, app.region, Some(tenant));
    let audited = Audited::new("policy.tenant_withdraw", "tenant").in_tenant(tenant);
    let mut events = vec![app.events.audit(&ctx, &audited, Outcome::Allowed, None)?];
    for item in items {
        events.push(app.events.item_result(DEPROVISIONED, &t, item, None, at)?);
    }
    Ok(events)
}
