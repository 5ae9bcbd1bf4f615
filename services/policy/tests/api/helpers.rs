//! Starting the service for a test, playing the registry, and the records the
//! tests write.

use std::time::Duration;

use plinth_core::{Region, Role, TenantId};
pub use plinth_testkit::As;
use plinth_testkit::{Harness, count_all_tenants, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

plinth_testkit::tested_service!(Policy, policy);

/// The policy service under test.
pub struct TestApp {
    harness: Harness<Policy>,
}

impl std::ops::Deref for TestApp {
    type Target = Harness<Policy>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

pub fn admin() -> As {
    As::platform_admin()
}

/// A workspace administrator of `tenant`.
pub fn tenant_admin(tenant: TenantId) -> As {
    As::tenant(Role::WorkspaceAdmin, tenant).named("ana@acme.example")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(json!({})).await
    }

    /// The service with `overrides` over the test's settings.
    pub async fn spawn_with(overrides: Value) -> TestApp {
        let harness = Harness::spawn(Region::Us, overrides, |_| {}).await;
        TestApp { harness }
    }

    pub async fn post(&self, who: &As, path: &str, body: Value) -> (u16, Value) {
        self.call(Some(who), Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, who: &As, path: &str) -> (u16, Value) {
        self.call(Some(who), Method::GET, path, None).await
    }

    /// A tenant as the registry announces it, once the service has it.
    pub async fn tenant(&self) -> TenantId {
        let tenant = TenantId::new(Region::Us);
        self.announce_tenant(tenant).await;
        let db = self.db.owner_url();
        let query = format!("SELECT count(*) AS n FROM tenants WHERE tenant_id = '{tenant}'");
        wait_until(
            "the registry's event applied",
            Duration::from_secs(60),
            || async { count_all_tenants(&db, &query).await == 1 },
        )
        .await;
        tenant
    }

    /// `tenant`'s creation, as the registry announces it.
    pub async fn announce_tenant(&self, tenant: TenantId) {
        self.announce(
            "plinth.tenant.created",
            "plinth.tenant.TenantCreated",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "slug": format!("t{}", &tenant.to_string()[7..15]),
                "display_name": "Test tenant", "region": "us", "status": "ACTIVE",
                "deployment_model": "hosted_saas", "data_mode": "metadata_only",
                "created_at": 1_790_000_000_000_000i64, "created_by": "alice@msp.example"
            }),
        )
        .await;
    }

    /// A workspace of `tenant` with `tier` and `data_mode` (created, or
    /// updated when it exists), as the registry announces it, once the service
    /// has it so.
    pub async fn workspace(
        &self,
        tenant: TenantId,
        workspace: &str,
        tier: &str,
        data_mode: &str,
        ty: &str,
    ) {
        self.announce_workspace(tenant, workspace, tier, data_mode, ty)
            .await;
        let deleted = if ty == "plinth.workspace.deleted" {
            "IS NOT NULL"
        } else {
            "IS NULL"
        };
        let query = format!(
            "SELECT count(*) AS n FROM workspaces WHERE workspace_id = '{workspace}' \
             AND approval_tier = '{tier}' AND data_mode = '{data_mode}' AND deleted_at {deleted}"
        );
        let db = self.db.owner_url();
        wait_until(
            "the workspace's event applied",
            Duration::from_secs(60),
            || async { count_all_tenants(&db, &query).await == 1 },
        )
        .await;
    }

    /// A workspace of `tenant` (`ty`: created, updated or deleted), as the
    /// registry announces it.
    pub async fn announce_workspace(
        &self,
        tenant: TenantId,
        workspace: &str,
        tier: &str,
        data_mode: &str,
        ty: &str,
    ) {
        self.announce(
            ty,
            "plinth.tenant.WorkspaceChanged",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "workspace_id": workspace,
                "name": "Service desk", "data_mode": data_mode, "retention_days": 90,
                "write_cap_per_day": null, "approval_tier": tier,
                "changed_at": 1_790_000_000_000_000i64, "changed_by": "ana@acme.example"
            }),
        )
        .await;
    }

    /// Creates `document` under `base` as `who` and publishes it: the record.
    pub async fn publish_record(&self, who: &As, base: &str, document: Value) -> Value {
        let (status, created) = self.post(who, base, document).await;
        assert_eq!(status, 201, "{created}");
        let id = created["record_id"].as_str().unwrap();
        let (status, published) = self
            .post(
                who,
                &format!("{base}/{id}/publish"),
                json!({ "reason": "in force for the test" }),
            )
            .await;
        assert_eq!(status, 200, "{published}");
        published
    }
}

/// The region's runtime.
pub fn runtime() -> As {
    As::platform(Role::Runtime).named("plinth-runtime")
}

/// The platform's records.
pub const PLATFORM: &str = "/admin/policies/records";

/// `tenant`'s records.
pub fn records_of(tenant: TenantId) -> String {
    format!("/admin/policies/tenants/{tenant}/records")
}

/// A tenant record of `tenant` with `rules`.
pub fn tenant_record(tenant: TenantId, name: &str, rules: Value) -> Value {
    json!({
        "name": name,
        "scope": { "level": "tenant", "tenant_id": tenant.to_string() },
        "rules": rules
    })
}
