//! The lifecycle sagas on the bus: the tenant registry's requests
//! (`plinth.tenant.onboarding_requested`, `…offboarding_requested` and their item
//! retries), which every service reads for the checklist items it owns, and each
//! service's answer for one item ([`ProvisioningResult`], published on its own
//! topic with a type of its own: `plinth.audit.store_provisioned`, …).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Event, Schemas, micros};

/// The registry asks every service for its onboarding items.
pub const ONBOARDING_REQUESTED: &str = "plinth.tenant.onboarding_requested";
/// The registry asks the owner of one failed onboarding item again.
pub const ONBOARDING_ITEM_RETRY: &str = "plinth.tenant.onboarding_item_retry";
/// The registry asks every service for its offboarding items.
pub const OFFBOARDING_REQUESTED: &str = "plinth.tenant.offboarding_requested";
/// The registry asks the owner of one failed offboarding item again.
pub const OFFBOARDING_ITEM_RETRY: &str = "plinth.tenant.offboarding_item_retry";

/// One item of a lifecycle request.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemRef {
    /// The item's key, e.g. `pack_activation`.
    pub key: String,
    /// The service that satisfies it.
    pub owner: String,
}

/// The part of a lifecycle request a service reads.
#[derive(Debug, Clone, Deserialize)]
pub struct LifecycleRequest {
    /// The tenant.
    pub tenant_id: String,
    /// The items asked for.
    pub items: Vec<ItemRef>,
}

impl LifecycleRequest {
    /// The Avro full name of an onboarding request.
    pub const ONBOARDING: &'static str = "plinth.tenant.OnboardingRequested";
    /// The Avro full name of an offboarding request.
    pub const OFFBOARDING: &'static str = "plinth.tenant.OffboardingRequested";

    /// Whether events of type `ty` are lifecycle requests, and of onboarding.
    pub fn kind_of(ty: &str) -> Option<bool> {
        match ty {
            ONBOARDING_REQUESTED | ONBOARDING_ITEM_RETRY => Some(true),
            OFFBOARDING_REQUESTED | OFFBOARDING_ITEM_RETRY => Some(false),
            _ => None,
        }
    }

    /// The keys of the items `owner` owns.
    pub fn owned_by(&self, owner: &str) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| i.owner == owner)
            .map(|i| i.key.as_str())
            .collect()
    }
}

/// What a service answers for one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningResult {
    /// The tenant.
    pub tenant_id: String,
    /// The item's key.
    pub item: String,
    /// The answering service.
    pub service: String,
    /// Why it failed, for a failure.
    pub reason: Option<String>,
    /// When it was decided, microseconds since the epoch.
    pub occurred_at: i64,
}

impl ProvisioningResult {
    /// The schema's full name.
    pub const SCHEMA: &'static str = "plinth.provisioning.ProvisioningResult";

    /// The answer of `service` for `item` of `tenant`, as an event of type `ty` on
    /// `topic` from `source`; `schemas` must hold [`ProvisioningResult::SCHEMA`].
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        schemas: &Schemas,
        topic: &str,
        source: &str,
        ty: &str,
        service: &str,
        tenant: &str,
        item: &str,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Event, crate::AvroError> {
        let payload = schemas.encode(
            Self::SCHEMA,
            &ProvisioningResult {
                tenant_id: tenant.to_owned(),
                item: item.to_owned(),
                service: service.to_owned(),
                reason: reason.map(str::to_owned),
                occurred_at: micros(at),
            },
        )?;
        Ok(Event::new(topic, tenant, ty, source, payload).with_subject(tenant))
    }
}
