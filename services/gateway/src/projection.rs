//! What the gateway knows of the tenant registry without asking it: role bindings
//! and group mappings ([`Roles`]) and each tenant's rate ([`RateLimits`]), read from
//! `plinth.tenant.v1` from its beginning into memory, under a consumer group of its
//! own per process (every gateway holds the whole picture).

use plinth_bus::{Area, BusConfig, Schemas, headers};
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
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
) -> anyhow::Result<()> {
    let topic = bus.topic(Area::Tenant);
    let mut config = bus.client_config();
    config
        .set(
            "group.id",
            format!(
                "{}gateway.projection.{}",
                bus.topic_prefix,
                uuid::Uuid::new_v4().simple()
            ),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    let consumer: StreamConsumer = config.create()?;
    consumer.subscribe(&[&topic])?;
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            message = consumer.recv() => message,
        };
        match message {
            Ok(message) => {
                let ty = message
                    .headers()
                    .and_then(|h| headers::header_str(h, headers::CE_TYPE));
                if let (Some(ty), Some(payload)) = (ty, message.payload()) {
                    if ty == ENTITLEMENT_CHANGED {
                        limits.apply(&schemas, payload);
                    } else {
                        roles.apply(&ty, &schemas, payload);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the tenant topic failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}
