//! Starting the service for a test, calling it, and reading what it wrote.

use std::time::Duration;

use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use plinth_core::Region;
pub use plinth_testkit::As;
use plinth_testkit::Harness;
use serde_json::{Value, json};
use tenant_registry::settings::Settings;

plinth_testkit::tested_service!(TenantRegistry, tenant_registry);

/// The tenant registry under test, with what its tests do again and again.
pub struct TestApp(Harness<TenantRegistry>);

impl std::ops::Deref for TestApp {
    type Target = Harness<TenantRegistry>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_in(Region::Us).await
    }

    pub async fn spawn_in(region: Region) -> TestApp {
        Self::spawn_configured(region, |_| {}).await
    }

    /// Starts the service in `region` with the test settings as `configure` changes
    /// them (the benchmarks run the relay, for one). Bodies are capped at 16 KiB,
    /// so the limit's test needs no large body.
    pub async fn spawn_configured(
        region: Region,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let small_bodies = json!({ "http": { "body_limit_bytes": 16 * 1024 } });
        TestApp(Harness::spawn(region, small_bodies, configure).await)
    }

    pub async fn create(&self, who: &As, body: Value) -> (u16, Value) {
        self.call(
            Some(who),
            reqwest::Method::POST,
            "/admin/tenants",
            Some(body),
        )
        .await
    }

    pub async fn get(&self, who: &As, id: &str) -> (u16, Value) {
        self.call(
            Some(who),
            reqwest::Method::GET,
            &format!("/admin/tenants/{id}"),
            None,
        )
        .await
    }

    /// Publishes what another service answers for a checklist item, as that service
    /// would: on its own topic, with CloudEvents headers and an Avro payload.
    /// Returns the event, so a test can deliver it again.
    pub async fn answer(
        &self,
        ty: &str,
        tenant: &str,
        item: &str,
        reason: Option<&str>,
    ) -> plinth_bus::Event {
        let event = answer_event(
            &self.schemas,
            &self.bus.topic_prefix,
            ty,
            tenant,
            item,
            reason,
        );
        self.deliver(&event).await;
        event
    }

    /// Polls the tenant's `flow` checklist (`onboarding`, `offboarding`) until
    /// `done` holds, failing after a minute.
    pub async fn wait_for_checklist(
        &self,
        tenant: &str,
        flow: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = std::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let (status, checklist) = self
                .call(
                    Some(&As::platform_admin()),
                    reqwest::Method::GET,
                    &format!("/admin/tenants/{tenant}/{flow}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{checklist}");
            if done(&checklist) {
                return checklist;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}: {checklist}"
            );
        }
    }

    /// Waits until the saga's consumer has recorded `n` events in its inbox,
    /// failing after a minute.
    pub async fn wait_for_inbox(&self, n: i64) {
        plinth_testkit::wait_until(
            &format!("{n} events in the consumer's inbox"),
            Duration::from_secs(60),
            || async { self.app_inbox_count().await >= n },
        )
        .await;
    }

    /// Runs `sql` as the owner (bypassing nothing: the owner is subject to the same
    /// forced policies, so scope it with `set_config` when it reads tenants).
    pub async fn owner_exec(&self, sql: &str) -> Result<(), diesel::result::Error> {
        plinth_testkit::exec(&self.db.owner_url(), sql).await
    }

    /// Puts a tenant in `status` directly, as the flows not under test would.
    pub async fn force_status(&self, tenant: &str, status: &str) {
        self.owner_exec(&format!(
            "SELECT set_config('plinth.tenant_scope', '*', false); \
             UPDATE tenants SET status = '{status}' WHERE tenant_id = '{tenant}'"
        ))
        .await
        .unwrap();
    }

    /// Events the onboarding consumer has recorded in its inbox.
    pub async fn app_inbox_count(&self) -> i64 {
        self.app_count("SELECT count(*) AS n FROM inbox").await
    }

    pub async fn app_count(&self, sql: &str) -> i64 {
        plinth_testkit::count(&self.db.app_url(), sql).await
    }

    /// Tenants visible with every tenant in scope, counted as the app role.
    pub async fn tenant_rows(&self) -> i64 {
        let mut conn = plinth_db::connect(&self.db.app_url()).await.unwrap();
        plinth_db::scoped_transaction(&mut conn, &plinth_db::TenantScope::All, async |c| {
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query("SELECT count(*) AS n FROM tenants")
                .get_result::<N>(c)
                .await
                .map(|n| n.n)
        })
        .await
        .unwrap()
    }
}

/// What another service answers for a checklist item, as it would publish it: on
/// its own topic (under `prefix`), with an Avro payload.
pub fn answer_event(
    schemas: &plinth_bus::Schemas,
    prefix: &str,
    ty: &str,
    tenant: &str,
    item: &str,
    reason: Option<&str>,
) -> plinth_bus::Event {
    let area = ty.split('.').nth(1).unwrap();
    let topic = format!("{prefix}plinth.{area}.v1");
    let payload = schemas
        .encode(
            "plinth.provisioning.ProvisioningResult",
            &json!({
                "tenant_id": tenant,
                "item": item,
                "service": area,
                "reason": reason,
                "occurred_at": 1_700_000_000_000_000i64,
            }),
        )
        .unwrap();
    plinth_bus::Event::new(topic, tenant, ty, format!("/plinth/us/{area}"), payload)
}

/// A valid registration body for `slug` in `region`.
pub fn tenant_body(slug: &str, region: &str) -> Value {
    json!({
        "slug": slug,
        "display_name": "Acme Corporation",
        "region": region,
        "deployment_model": "hosted_saas",
        "owner_contact": { "name": "Ana Owner", "email": "ana@acme.example", "phone": "+1 555 0100 200" }
    })
}

/// The checklist item `key` of an onboarding or offboarding answer.
pub fn item<'a>(checklist: &'a Value, key: &str) -> &'a Value {
    checklist["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key} in {checklist}"))
}

/// The state of checklist item `key`.
pub fn state<'a>(checklist: &'a Value, key: &str) -> &'a str {
    item(checklist, key)["state"].as_str().unwrap()
}
