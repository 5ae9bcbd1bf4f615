//! Starting the service for a test, playing the tenant registry, calling it, and
//! reading what it wrote.

use std::path::PathBuf;
use std::time::Duration;

use pack_service::settings::Settings;
use plinth_bus::{Area, Event};
use plinth_core::{DataMode, Region, Role, TenantId};
pub use plinth_testkit::As;
use plinth_testkit::{Harness, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

plinth_testkit::tested_service!(PackService, pack_service);

/// The pack service under test, with what its tests do again and again.
pub struct TestApp(Harness<PackService>);

impl std::ops::Deref for TestApp {
    type Target = Harness<PackService>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An example pack or playbook of `examples/packs/`.
pub fn example(name: &str) -> Value {
    let path = repo().join("examples/packs").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The broken examples of `examples/packs/invalid/`, by file name.
pub fn invalid_examples() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("examples/packs/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect()
}

/// The tools the example packs and playbooks (`examples/packs/`) call.
pub const EXAMPLE_TOOLS: [&str; 9] = [
    "erp.lookup_invoice",
    "erp.issue_credit",
    "erp.hold_payment",
    "email.send",
    "ticket.comment",
    "ticket.assign",
    "itsm.reset_password",
    "itsm.lookup_asset",
    "chat.notify",
];

pub fn admin() -> As {
    As::platform_admin()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_configured(|_| {}).await
    }

    /// The service with its consumers off: it hears of nothing yet.
    pub async fn spawn_deaf() -> TestApp {
        TestApp(Harness::spawn(Region::Us, json!({ "bus": { "consumers": false } }), |_| {}).await)
    }

    /// The service with the test settings as `configure` changes them, its tool
    /// catalog holding the tools the example packs call (one approved release of
    /// a module providing them all).
    pub async fn spawn_configured(configure: impl FnOnce(&mut Settings)) -> TestApp {
        let app = TestApp(Harness::spawn(Region::Us, json!({}), configure).await);
        app.module_decided("example-tools", "1.0.0", "APPROVED", &EXAMPLE_TOOLS)
            .await;
        app
    }

    /// The module catalog's decision on a release providing `tools`, once the
    /// service's tool catalog shows it.
    pub async fn module_decided(&self, module: &str, version: &str, status: &str, tools: &[&str]) {
        let decided_at =
            i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap();
        let tool_records: Vec<Value> = tools
            .iter()
            .map(|id| json!({ "id": id, "action_class": "read" }))
            .collect();
        let payload = self
            .schemas
            .encode(
                "plinth.module.ModuleDecided",
                &json!({
                    "module_id": module, "version": version,
                    "version_id": format!("mrl_{module}_{version}"), "status": status,
                    "image_digest": format!("sha256:{}", "0".repeat(64)),
                    "reason": "test", "decided_at": decided_at,
                    "decided_by": "alice@msp.example", "tools": tool_records
                }),
            )
            .unwrap();
        self.deliver(&Event::new(
            self.bus.topic(Area::Module),
            "platform",
            format!("plinth.module.{}", status.to_ascii_lowercase()),
            "/plinth/us/module-catalog",
            payload,
        ))
        .await;
        wait_until(
            "the tool catalog to show the decision",
            Duration::from_secs(60),
            || async {
                let (_, listed) = self.get(&admin(), "/admin/packs/tools").await;
                listed["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|tool| {
                        tool["releases"].as_array().into_iter().flatten().any(|r| {
                            r["module_id"] == module
                                && r["version"] == version
                                && r["status"] == status
                        })
                    })
            },
        )
        .await;
    }

    pub async fn post(&self, who: &As, path: &str, body: Value) -> (u16, Value) {
        self.call(Some(who), Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, who: &As, path: &str) -> (u16, Value) {
        self.call(Some(who), Method::GET, path, None).await
    }

    /// A tenant as the registry announces it, once the service has heard of it.
    pub async fn tenant(&self, data_mode: DataMode) -> TenantId {
        let tenant = TenantId::new(Region::Us);
        self.announce_tenant(tenant, data_mode).await;
        wait_until(
            "the service to hear of the tenant",
            Duration::from_secs(60),
            || async {
                self.get(&admin(), &format!("/admin/packs/tenant/{tenant}"))
                    .await
                    .0
                    == 200
            },
        )
        .await;
        tenant
    }

    /// The registry's announcement of `tenant`, created in `data_mode`.
    pub async fn announce_tenant(&self, tenant: TenantId, data_mode: DataMode) {
        self.announce(
            "plinth.tenant.created",
            "plinth.tenant.TenantCreated",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "slug": format!("t{}", &tenant.to_string()[7..15]),
                "display_name": "Test tenant", "region": "us", "status": "PENDING",
                "deployment_model": "hosted_saas", "data_mode": data_mode.as_str(),
                "created_at": 1_790_000_000_000_000i64, "created_by": "alice@msp.example"
            }),
        )
        .await;
    }

    /// The registry's status change of `tenant` to `status`, once applied.
    pub async fn set_status(&self, tenant: TenantId, from: &str, to: &str) {
        self.announce(
            "plinth.tenant.status_changed",
            "plinth.tenant.TenantStatusChanged",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "from_status": from, "to_status": to,
                "reason": null, "changed_at": 1_790_000_000_000_000i64,
                "changed_by": "alice@msp.example"
            }),
        )
        .await;
        let db = self.db.owner_url();
        wait_until("the status change", Duration::from_secs(60), || async {
            plinth_testkit::count_all_tenants(
                &db,
                &format!("SELECT count(*) AS n FROM tenants WHERE tenant_id = '{tenant}' AND status = '{to}'"),
            )
            .await
                == 1
        })
        .await;
    }

    /// Imports an example Domain Pack as the platform admin; its answer.
    pub async fn import_domain(&self, file: &str) -> Value {
        let (status, body) = self
            .post(&admin(), "/admin/packs/domain/import", example(file))
            .await;
        assert!(status == 201 || status == 200, "{file}: {status} {body}");
        body
    }

    /// Publishes an example playbook as the platform admin.
    pub async fn publish(&self, file: &str) -> Value {
        let (status, body) = self.post(&admin(), "/admin/playbooks", example(file)).await;
        assert!(status == 201 || status == 200, "{file}: {status} {body}");
        body
    }

    /// Imports an example Tenant Pack for `tenant` as its workspace admin.
    pub async fn import_tenant(&self, tenant: TenantId, file: &str) -> Value {
        let (status, body) = self
            .post(
                &As::tenant(Role::WorkspaceAdmin, tenant),
                "/admin/packs/tenant/import",
                json!({ "tenant_id": tenant.to_string(), "pack": example(file) }),
            )
            .await;
        assert!(status == 201 || status == 200, "{file}: {status} {body}");
        body
    }

    /// Activates a pair for `tenant` as its workspace admin: the status and answer.
    pub async fn activate(
        &self,
        tenant: TenantId,
        domain_version: &str,
        tenant_version: Option<&str>,
    ) -> (u16, Value) {
        self.post(
            &As::tenant(Role::WorkspaceAdmin, tenant),
            "/admin/packs/activate",
            json!({
                "tenant_id": tenant.to_string(), "domain": "finance",
                "domain_pack_version": domain_version, "tenant_pack_version": tenant_version
            }),
        )
        .await
    }

    /// Finance 3.2.0 and 3.3.0 imported, with the playbook they reference.
    pub async fn finance(&self) {
        self.publish("playbook-invoice-dispute-triage-1.0.0.json")
            .await;
        self.import_domain("finance-3.2.0.json").await;
        self.import_domain("finance-3.3.0.json").await;
    }
}
