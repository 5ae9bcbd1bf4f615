//! Starting the audit service for a test, playing the other services on the real
//! broker, and reading what the service wrote.

use std::time::Duration;

use audit::settings::Settings;
use plinth_auditlog::LogSigner;
use plinth_bus::{Area, Event};
use plinth_core::{Region, Role, TenantId};
pub use plinth_testkit::As;
use plinth_testkit::Harness;
use serde_json::{Value, json};

plinth_testkit::tested_service!(AuditService, audit);

/// The audit service under test, with what its tests do again and again.
pub struct TestApp {
    harness: Harness<AuditService>,
    /// The installation's log key.
    pub verifier_key: String,
}

impl std::ops::Deref for TestApp {
    type Target = Harness<AuditService>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_configured(|_| {}).await
    }

    /// Starts the service with a log key of its own and the test settings as
    /// `configure` changes them.
    pub async fn spawn_configured(configure: impl FnOnce(&mut Settings)) -> TestApp {
        let (signer, signing_key) =
            LogSigner::generate("plinth-audit-test", "audit.plinth.test/us");
        let log = json!({ "log": {
            "signing_key": signing_key, "origin_prefix": "audit.plinth.test/us",
            "checkpoint_every_entries": 1000, "checkpoint_every_seconds": 3600
        }});
        TestApp {
            harness: Harness::spawn(Region::Us, log, configure).await,
            verifier_key: signer.verifier_key().to_owned(),
        }
    }

    /// `GET path` as a platform auditor, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self
            .call(Some(&auditor()), reqwest::Method::GET, path, None)
            .await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The audit event of `action` on `tenant` (or `platform`), as a service
    /// publishes it: on the audit topic, keyed by the tenant.
    pub fn audit_event(&self, tenant: &str, action: &str, outcome: &str) -> Event {
        audit_event(&self.schemas, &self.bus, tenant, action, outcome)
    }

    /// The registry's `plinth.tenant.created` for `tenant`.
    pub fn tenant_created(&self, tenant: &str) -> Event {
        let payload = self
            .schemas
            .encode(
                "plinth.tenant.TenantCreated",
                &json!({
                    "tenant_id": tenant, "slug": "acme", "display_name": "Acme",
                    "region": "us", "status": "PENDING", "deployment_model": "hosted_saas",
                    "data_mode": "metadata_only", "created_at": 1_795_000_000_000_000i64,
                    "created_by": "alice@msp.example",
                }),
            )
            .unwrap();
        Event::new(
            self.bus.topic(Area::Tenant),
            tenant,
            "plinth.tenant.created",
            "/plinth/us/tenant-registry",
            payload,
        )
        .with_subject(tenant)
    }

    /// `tenant.onboarding_requested` or `tenant.offboarding_requested` (`ty`),
    /// naming `items` of the audit service and one of another.
    pub fn lifecycle_request(&self, ty: &str, tenant: &str, item: &str) -> Event {
        let items = json!([
            { "key": item, "owner": "audit" },
            { "key": "policy_registry", "owner": "policy" },
        ]);
        let (schema, body) = if ty.contains("offboarding") {
            (
                "plinth.tenant.OffboardingRequested",
                json!({
                    "tenant_id": tenant, "reason": "contract ended", "items": items,
                    "requested_at": 1_795_000_000_000_000i64, "requested_by": "alice@msp.example",
                }),
            )
        } else {
            (
                "plinth.tenant.OnboardingRequested",
                json!({
                    "tenant_id": tenant, "deployment_model": "hosted_saas",
                    "data_mode": "metadata_only", "items": items,
                    "requested_modules": [], "requested_packs": [],
                    "requested_at": 1_795_000_000_000_000i64, "requested_by": "alice@msp.example",
                }),
            )
        };
        let payload = self.schemas.encode(schema, &body).unwrap();
        Event::new(
            self.bus.topic(Area::Tenant),
            tenant,
            ty,
            "/plinth/us/tenant-registry",
            payload,
        )
        .with_subject(tenant)
    }

    /// Entries of `log`, counted as the owner with every log in scope.
    pub async fn entries(&self, log: &str) -> i64 {
        plinth_testkit::count_all_tenants(
            &self.db.owner_url(),
            &format!("SELECT count(*) AS n FROM entries WHERE log_id = '{log}'"),
        )
        .await
    }

    /// Waits until `log` holds `n` entries.
    pub async fn wait_for_entries(&self, log: &str, n: i64) {
        plinth_testkit::wait_until(
            &format!("{n} entries in {log}"),
            Duration::from_secs(60),
            || async { self.entries(log).await >= n },
        )
        .await;
    }

    /// Events the consumer recorded in its inbox.
    pub async fn inbox(&self) -> i64 {
        plinth_testkit::count(&self.db.app_url(), "SELECT count(*) AS n FROM inbox").await
    }

    /// Runs `sql` as the database owner, with every log in scope.
    pub async fn owner_exec(&self, sql: &str) -> Result<(), diesel::result::Error> {
        plinth_testkit::exec(
            &self.db.owner_url(),
            &format!("SELECT set_config('plinth.tenant_scope', '*', false); {sql}"),
        )
        .await
    }

    /// Runs `sql` as the service's own role, with every log in scope.
    pub async fn app_exec(&self, sql: &str) -> Result<(), diesel::result::Error> {
        plinth_testkit::exec(
            &self.db.app_url(),
            &format!("SELECT set_config('plinth.tenant_scope', '*', false); {sql}"),
        )
        .await
    }
}

/// The audit event of `action` on `tenant` (or `platform`), as a service
/// publishes it on `bus`'s audit topic, keyed by the tenant.
pub fn audit_event(
    schemas: &plinth_bus::Schemas,
    bus: &plinth_bus::BusConfig,
    tenant: &str,
    action: &str,
    outcome: &str,
) -> Event {
    let payload = schemas
        .encode(
            "plinth.audit.AuditEvent",
            &json!({
                "tenant_id": tenant,
                "region": "us",
                "actor": "alice@msp.example",
                "actor_display": "Alice",
                "action": action,
                "resource_type": "tenant",
                "resource_id": tenant,
                "outcome": outcome,
                "reason": if outcome == "ALLOWED" { Value::Null } else { json!("forbidden") },
                "request_id": "req_0123456789abcdef0123456789abcdef",
                "occurred_at": 1_795_000_000_000_000i64,
                "source_service": "tenant-registry",
                "details": { "after_sha256": "ab".repeat(32) },
            }),
        )
        .unwrap();
    Event::new(
        bus.topic(Area::Audit),
        tenant,
        "plinth.audit.event",
        "/plinth/us/tenant-registry",
        payload,
    )
    .with_subject(tenant)
}

/// A platform auditor bound to every tenant.
pub fn auditor() -> As {
    As::platform(Role::PlatformAuditor)
}

/// A fresh tenant id of the US region.
pub fn tenant() -> String {
    TenantId::new(Region::Us).to_string()
}
