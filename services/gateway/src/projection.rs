//! What the gateway knows of the tenant registry without asking it: role bindings
//! and group mappings ([`Roles`]) and each tenant's rate ([`RateLimits`]), read from
//! `plinth.tenant.v1` from its beginning into memory, under a consumer group of its
//! own per process (every gateway holds the whole picture).

use std::sync::atomic::AtomicBool;

use plinth_bus::{Area, BusConfig, Schemas};
use tokio_util::sync::CancellationToken;

use crate::limits::{ENTITLEMENT_CHANGED, RateLimits};
use crate::roles::Roles;

/// The schemas of the events the projection reads.
pub fn schemas() -> anyhow::Result<Schemas> {
    Ok(Schemas::from_sources([
        include_str!("../../../schemas/avro/tenant/role_binding_changed.avsc"),
        include_str!("../../../schemas/avro/tenant/entitlement_changed.avsc"),
    ])?)
}

/// Keeps `roles` and `limits` from the tenant topic until `stop`.
pub async fn follow(
    roles: &Roles,
    limits: &RateLimits,
    bus: BusConfig,
    schemas: Schemas,
    stop: CancellationToken,
    caught_up: &AtomicBool,
) -> anyhow::Result<()> {
    let topics = [bus.topic(Area::Tenant)];
    Ok(plinth_bus::follow(
        &bus,
        &topics,
        "gateway.projection",
        stop,
        Some(caught_up),
        |event| {
            if event.ty == ENTITLEMENT_CHANGED {
                limits.apply(&schemas, event.payload);
            } else {
                roles.apply(event.ty, &schemas, event.payload);
            }
        },
    )
    .await?)
}
