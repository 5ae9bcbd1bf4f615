//! Per-tenant rate limits: each tenant has a GCRA limiter (`governor`) at the rate
//! its entitlements allow (`api_rate_per_second`, from the registry's
//! `entitlement.changed` events; the configured default until one arrives), with a
//! burst of one second's worth. Limiters are separate, so one tenant far over its
//! limit takes nothing from another.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use plinth_bus::Schemas;
use plinth_core::TenantId;
use serde::Deserialize;

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

pub const ENTITLEMENT_CHANGED: &str = "plinth.entitlement.changed";

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed { limit: u32, remaining: u32 },
    Limited { limit: u32, retry_after: Duration },
}

#[derive(Debug, Deserialize)]
struct EntitlementChanged {
    tenant_id: String,
    api_rate_per_second: i32,
}

/// The tenants' limiters.
#[derive(Debug)]
pub struct RateLimits {
    default: NonZeroU32,
    limiters: RwLock<HashMap<TenantId, (u32, Arc<Limiter>)>>,
    clock: DefaultClock,
}

fn limiter(per_second: NonZeroU32) -> Arc<Limiter> {
    Arc::new(RateLimiter::direct(Quota::per_second(per_second)).with_middleware())
}

impl RateLimits {
    pub fn new(default_per_second: u32) -> Self {
        RateLimits {
            default: NonZeroU32::new(default_per_second.max(1)).expect("at least one"),
            limiters: RwLock::default(),
            clock: DefaultClock::default(),
        }
    }

    /// Sets `tenant`'s rate; its limiter starts afresh when the rate changes.
    pub fn set(&self, tenant: TenantId, per_second: u32) {
        let rate = NonZeroU32::new(per_second.max(1)).expect("at least one");
        let mut limiters = self.limiters.write().expect("never poisoned");
        if limiters.get(&tenant).is_some_and(|(r, _)| *r == rate.get()) {
            return;
        }
        limiters.insert(tenant, (rate.get(), limiter(rate)));
    }

    fn limiter_of(&self, tenant: TenantId) -> (u32, Arc<Limiter>) {
        if let Some(found) = self.limiters.read().expect("never poisoned").get(&tenant) {
            return found.clone();
        }
        self.limiters
            .write()
            .expect("never poisoned")
            .entry(tenant)
            .or_insert_with(|| (self.default.get(), limiter(self.default)))
            .clone()
    }

    /// Takes one request from `tenant`'s allowance.
    pub fn check(&self, tenant: TenantId) -> Decision {
        let (limit, limiter) = self.limiter_of(tenant);
        match limiter.check() {
            Ok(state) => Decision::Allowed {
                limit,
                remaining: state.remaining_burst_capacity(),
            },
            Err(not_until) => Decision::Limited {
                limit,
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// Applies an `entitlement.changed` event.
    pub fn apply(&self, schemas: &Schemas, payload: &[u8]) {
        match schemas.decode::<EntitlementChanged>("plinth.tenant.EntitlementChanged", payload) {
            Ok(change) => match TenantId::parse(&change.tenant_id) {
                Ok(tenant) => self.set(tenant, change.api_rate_per_second.max(1) as u32),
                Err(_) => {
                    tracing::warn!(tenant = %change.tenant_id, "an entitlement for no tenant")
                }
            },
            Err(e) => tracing::warn!(error = %e, "an entitlement event that does not decode"),
        }
    }
}

#[cfg(test)]
mod tests {
    use plinth_core::Region;

    use super::*;

    #[test]
    fn each_tenant_has_its_own_allowance() {
        let limits = RateLimits::new(3);
        let (a, b) = (TenantId::new(Region::Us), TenantId::new(Region::Us));
        limits.set(a, 2);
        let outcomes: Vec<Decision> = (0..4).map(|_| limits.check(a)).collect();
        assert!(matches!(
            outcomes[0],
            Decision::Allowed {
                limit: 2,
                remaining: 1
            }
        ));
        assert!(matches!(
            outcomes[1],
            Decision::Allowed {
                limit: 2,
                remaining: 0
            }
        ));
        assert!(matches!(outcomes[2], Decision::Limited { limit: 2, .. }));
        for _ in 0..3 {
            assert!(matches!(
                limits.check(b),
                Decision::Allowed { limit: 3, .. }
            ));
        }
        assert!(matches!(
            limits.check(b),
            Decision::Limited { limit: 3, .. }
        ));
    }
}
