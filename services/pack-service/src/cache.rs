//! The runtime's view of each tenant, held in memory: its effective
//! configuration (as served, and compiled for classification), its data mode and
//! status. An entry is dropped when the tenant's configuration or status changes
//! — by this process right after its own commit, and by every process when the
//! change's event arrives ([`follow`]: `plinth.pack.activated`, playbook links,
//! offboarding, and the registry's status changes).
//!
//! A load races with a drop: a configuration read before a change must not be
//! kept after it. Each tenant's slot counts its drops; a load keeps what it read
//! only if no drop came between its start and its end.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use plinth_service::ops::encode_counters;
use plinth_service::prometheus_client::collector::Collector;
use plinth_service::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use plinth_service::prometheus_client::metrics::gauge::ConstGauge;

use actix_web::web::Bytes;
use plinth_bus::{BusConfig, follow as follow_topics};
use plinth_core::{DataMode, TenantId};
use tokio_util::sync::CancellationToken;

use crate::effective::Effective;
use crate::events::{
    DEPROVISIONED, PACK_ACTIVATED, PLAYBOOK_LINKED, PLAYBOOK_UNLINKED, TENANT_STATUS_CHANGED,
};

/// One tenant's cached view.
#[derive(Debug)]
pub struct Cached {
    pub effective: Effective,
    /// The served document, serialized once.
    pub body: Bytes,
    /// `"<checksum>"`.
    pub etag: String,
    pub data_mode: DataMode,
    pub status: String,
}

#[derive(Debug, Default)]
struct Slot {
    drops: u64,
    entry: Option<Arc<Cached>>,
}

/// Tenants' views, by tenant.
#[derive(Debug, Default)]
pub struct ConfigCache {
    slots: RwLock<HashMap<TenantId, Slot>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Where a load started: the tenant's drop count then.
#[derive(Debug, Clone, Copy)]
pub struct LoadTicket(u64);

impl ConfigCache {
    pub fn get(&self, tenant: TenantId) -> Option<Arc<Cached>> {
        let found = self
            .slots
            .read()
            .get(&tenant)
            .and_then(|slot| slot.entry.clone());
        let counted = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counted.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Reads answered from memory.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Reads that had to load the tenant's view.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Tenants whose view is held now.
    pub fn entries(&self) -> usize {
        self.slots
            .read()
            .values()
            .filter(|slot| slot.entry.is_some())
            .count()
    }

    /// Call before reading what to cache.
    pub fn begin_load(&self, tenant: TenantId) -> LoadTicket {
        LoadTicket(self.slots.read().get(&tenant).map_or(0, |slot| slot.drops))
    }

    /// Keeps `cached` unless the tenant's view was dropped since `ticket`.
    pub fn finish_load(&self, tenant: TenantId, ticket: LoadTicket, cached: Arc<Cached>) {
        let mut slots = self.slots.write();
        let slot = slots.entry(tenant).or_default();
        if slot.drops == ticket.0 {
            slot.entry = Some(cached);
        }
    }

    pub fn drop_tenant(&self, tenant: TenantId) {
        let mut slots = self.slots.write();
        let slot = slots.entry(tenant).or_default();
        slot.drops += 1;
        slot.entry = None;
    }
}

/// The event types after which a tenant's cached view is stale.
const STALE_AFTER: [&str; 5] = [
    PACK_ACTIVATED,
    PLAYBOOK_LINKED,
    PLAYBOOK_UNLINKED,
    DEPROVISIONED,
    TENANT_STATUS_CHANGED,
];

/// Drops tenants' views as their changes arrive on `topics` (the pack topic and
/// the tenant topic), until `stop`.
pub async fn follow(
    cache: &ConfigCache,
    bus: BusConfig,
    topics: Vec<String>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    Ok(
        follow_topics(&bus, &topics, "pack-service.cache", stop, None, |event| {
            if STALE_AFTER.contains(&event.ty)
                && let Some(tenant) = event.key.and_then(|k| TenantId::parse(k).ok())
            {
                cache.drop_tenant(tenant);
            }
        })
        .await?,
    )
}

/// The cache's figures at `/metrics`: hits, misses (their ratio is the hit rate)
/// and the tenants held.
pub struct CacheMetrics(pub Arc<crate::app::AppState>);

impl std::fmt::Debug for CacheMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheMetrics").finish_non_exhaustive()
    }
}

impl Collector for CacheMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let cache = &self.0.cache;
        encode_counters(
            &mut encoder,
            &[
                (
                    "plinth_pack_runtime_cache_hits",
                    "Runtime configuration reads answered from memory",
                    cache.hits(),
                ),
                (
                    "plinth_pack_runtime_cache_misses",
                    "Runtime configuration reads that loaded the tenant's view",
                    cache.misses(),
                ),
            ],
        )?;
        let entries = ConstGauge::new(cache.entries() as i64);
        entries.encode(encoder.encode_descriptor(
            "plinth_pack_runtime_cache_entries",
            "Tenants whose runtime configuration is held in memory",
            None,
            entries.metric_type(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use plinth_core::Region;

    use super::*;

    fn cached() -> Arc<Cached> {
        let effective = Effective {
            body: serde_json::json!({}),
            checksum: "c".into(),
            classifier: crate::classify::Classifier::new(
                &serde_json::from_value(
                    serde_json::json!({ "fields": { "a": { "type": "string" } } }),
                )
                .unwrap(),
                &[],
                &[],
                &serde_json::from_value(
                    serde_json::json!({ "category": "c", "priority": "P1", "queue": "q" }),
                )
                .unwrap(),
            ),
        };
        Arc::new(Cached {
            effective,
            body: Bytes::new(),
            etag: "\"c\"".into(),
            data_mode: DataMode::MetadataOnly,
            status: "ACTIVE".into(),
        })
    }

    #[test]
    fn a_load_overtaken_by_a_drop_is_not_kept() {
        let cache = ConfigCache::default();
        let tenant = TenantId::new(Region::Us);
        let ticket = cache.begin_load(tenant);
        cache.drop_tenant(tenant);
        cache.finish_load(tenant, ticket, cached());
        assert!(cache.get(tenant).is_none(), "read before the change");
        let ticket = cache.begin_load(tenant);
        cache.finish_load(tenant, ticket, cached());
        assert!(cache.get(tenant).is_some());
        cache.drop_tenant(tenant);
        assert!(cache.get(tenant).is_none());
    }
}
