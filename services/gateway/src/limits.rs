//! Rate limits. A tenant's own people — who act in it through a tenant role — take
//! from the tenant's allowance: a GCRA limiter (`governor`) at the rate its
//! entitlements allow (`api_rate_per_second`, from the registry's
//! `entitlement.changed` events; the configured default until one arrives), with a
//! burst of one second's worth. Everyone else — MSP staff acting through platform
//! roles — takes from an allowance of their own (`caller_per_second`), so nobody
//! can spend a tenant's allowance but its own people, and a made-up tenant id
//! creates nothing. Limiters are separate, so one tenant far over its limit takes
//! nothing from another.
//!
//! A limiter left idle for [`IDLE`] is full again, the same as a new one, so idle
//! limiters are dropped: the map holds about the tenants and callers active in the
//! last minute, plus one rate per tenant with entitlements.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::RwLock;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use plinth_bus::Schemas;
use plinth_core::TenantId;
use serde::Deserialize;

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

pub const ENTITLEMENT_CHANGED: &str = "plinth.entitlement.changed";

/// How long an unused limiter is kept; longer than any limiter needs to fill up
/// again (a burst of one second's worth).
const IDLE: Duration = Duration::from_secs(60);
/// The sweep of idle limiters runs when the map has grown to this size, and then
/// each time it doubles.
const SWEEP_FROM: usize = 1024;

/// Whose allowance a request takes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Allowance {
    /// The tenant's, for a request of one of its own people.
    Tenant(TenantId),
    /// The caller's own, for MSP staff (their subject).
    Caller(String),
    /// A client address's failed authentications.
    Address(IpAddr),
    /// A client address's requests to a public route (the setup surface), where
    /// nobody is authenticated.
    Anonymous(IpAddr),
}

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

#[derive(Debug)]
struct Active {
    rate: u32,
    limiter: Limiter,
    /// Milliseconds since the limits' start when last used.
    used: AtomicI64,
    /// For an address: refused before authentication until then (milliseconds
    /// since the limits' start).
    blocked_until: AtomicI64,
}

/// The rates and the active limiters.
#[derive(Debug)]
pub struct RateLimits {
    default: NonZeroU32,
    per_caller: NonZeroU32,
    per_address: NonZeroU32,
    /// How long an unused limiter is kept ([`IDLE`]).
    idle: Duration,
    /// Each tenant's entitled rate, once the registry has said.
    rates: RwLock<HashMap<TenantId, NonZeroU32>>,
    active: RwLock<HashMap<Allowance, Arc<Active>>>,
    started: Instant,
    clock: DefaultClock,
    refused: Refused,
}

/// Requests refused for a spent allowance, by whose allowance it was.
#[derive(Debug, Default)]
pub struct Refused {
    /// A tenant's own people over the tenant's allowance.
    pub tenant: AtomicU64,
    /// A caller acting through platform roles over their own.
    pub caller: AtomicU64,
    /// An address refused for failing authentication too often.
    pub address: AtomicU64,
}

fn per_second(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl RateLimits {
    /// `default_per_second` for a tenant without entitlements; `caller_per_second`
    /// for each caller acting through platform roles; `address_per_second` failed
    /// authentications for each client address.
    pub fn new(default_per_second: u32, caller_per_second: u32, address_per_second: u32) -> Self {
        RateLimits {
            default: per_second(default_per_second),
            per_caller: per_second(caller_per_second),
            per_address: per_second(address_per_second),
            idle: IDLE,
            rates: RwLock::default(),
            active: RwLock::default(),
            started: Instant::now(),
            clock: DefaultClock::default(),
            refused: Refused::default(),
        }
    }

    /// Sets `tenant`'s rate; its limiter starts afresh when the rate changes.
    pub fn set(&self, tenant: TenantId, per_second_rate: u32) {
        let rate = per_second(per_second_rate);
        let changed = self.rates.write().insert(tenant, rate) != Some(rate);
        if changed {
            self.active.write().remove(&Allowance::Tenant(tenant));
        }
    }

    fn rate_of(&self, key: &Allowance) -> NonZeroU32 {
        match key {
            Allowance::Tenant(t) => self.rates.read().get(t).copied().unwrap_or(self.default),
            Allowance::Caller(_) | Allowance::Anonymous(_) => self.per_caller,
            Allowance::Address(_) => self.per_address,
        }
    }

    fn now_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    fn active_of(&self, key: &Allowance) -> Arc<Active> {
        let now = self.now_ms();
        if let Some(found) = self.active.read().get(key) {
            found.used.store(now, Ordering::Relaxed);
            return found.clone();
        }
        let rate = self.rate_of(key);
        let mut active = self.active.write();
        let len = active.len();
        if len >= SWEEP_FROM && len.is_power_of_two() {
            let idle = self.idle.as_millis() as i64;
            active.retain(|_, a| now - a.used.load(Ordering::Relaxed) < idle);
        }
        active
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Active {
                    rate: rate.get(),
                    limiter: RateLimiter::direct(Quota::per_second(rate)).with_middleware(),
                    used: AtomicI64::new(now),
                    blocked_until: AtomicI64::new(0),
                })
            })
            .clone()
    }

    /// Takes one request from `key`'s allowance.
    pub fn check(&self, key: &Allowance) -> Decision {
        let active = self.active_of(key);
        match active.limiter.check() {
            Ok(state) => Decision::Allowed {
                limit: active.rate,
                remaining: state.remaining_burst_capacity(),
            },
            Err(not_until) => {
                let refused = match key {
                    Allowance::Tenant(_) => &self.refused.tenant,
                    Allowance::Caller(_) => &self.refused.caller,
                    Allowance::Address(_) | Allowance::Anonymous(_) => &self.refused.address,
                };
                refused.fetch_add(1, Ordering::Relaxed);
                Decision::Limited {
                    limit: active.rate,
                    retry_after: not_until.wait_time_from(self.clock.now()),
                }
            }
        }
    }

    /// Counts one failed authentication from `ip`; past the address's allowance
    /// it is refused before authentication until the allowance refills.
    pub fn failed_authentication(&self, ip: IpAddr) {
        let active = self.active_of(&Allowance::Address(ip));
        if let Err(not_until) = active.limiter.check() {
            let wait = not_until.wait_time_from(self.clock.now());
            active
                .blocked_until
                .store(self.now_ms() + wait.as_millis() as i64, Ordering::Relaxed);
        }
    }

    /// How long `ip` stays refused for failing authentication too often, if it is.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let active = self.active.read().get(&Allowance::Address(ip))?.clone();
        let left = active.blocked_until.load(Ordering::Relaxed) - self.now_ms();
        (left > 0).then(|| {
            self.refused.address.fetch_add(1, Ordering::Relaxed);
            Duration::from_millis(left as u64)
        })
    }

    /// The requests refused so far, by allowance kind.
    pub fn refused(&self) -> &Refused {
        &self.refused
    }

    /// How many limiters are held (tenants' and callers'), for `/metrics`.
    pub fn limiters(&self) -> usize {
        self.active.read().len()
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
        let limits = RateLimits::new(3, 7, 5);
        let (a, b) = (TenantId::new(Region::Us), TenantId::new(Region::Us));
        limits.set(a, 2);
        let (a, b) = (Allowance::Tenant(a), Allowance::Tenant(b));
        let outcomes: Vec<Decision> = (0..4).map(|_| limits.check(&a)).collect();
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
                limits.check(&b),
                Decision::Allowed { limit: 3, .. }
            ));
        }
        assert!(matches!(
            limits.check(&b),
            Decision::Limited { limit: 3, .. }
        ));
    }

    #[test]
    fn idle_limiters_are_dropped_so_the_map_stays_bounded() {
        let limits = RateLimits {
            idle: Duration::ZERO,
            ..RateLimits::new(3, 3, 3)
        };
        for n in 0..100_000 {
            limits.check(&Allowance::Caller(format!("caller-{n}")));
        }
        assert!(
            limits.limiters() <= SWEEP_FROM,
            "{} limiters after 100,000 callers",
            limits.limiters()
        );
        // A tenant's entitled rate outlives its idle limiter.
        let tenant = TenantId::new(Region::Us);
        limits.set(tenant, 2);
        for n in 0..5_000 {
            limits.check(&Allowance::Caller(format!("other-{n}")));
        }
        assert!(matches!(
            limits.check(&Allowance::Tenant(tenant)),
            Decision::Allowed { limit: 2, .. }
        ));
    }
}
