//! Starting the service for a test with local provider servers, playing the
//! registry, and entering keys through the setup surface as a link's holder.

use std::time::Duration;

use plinth_core::{Region, Role, TenantId};
use plinth_providers::fake::FakeProviders;
pub use plinth_testkit::As;
use plinth_testkit::{Harness, count_all_tenants, merge, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

plinth_testkit::tested_service!(ProviderSetup, provider_setup);

/// The key-encryption key of the tests' services (base64 of 32 bytes).
pub const KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A key every local provider server accepts.
pub const GOOD_KEY: &str = "sk-test-good-4f1d9a";

/// Provider setup under test, and the providers it calls.
pub struct TestApp {
    harness: Harness<ProviderSetup>,
    pub providers: FakeProviders,
}

impl std::ops::Deref for TestApp {
    type Target = Harness<ProviderSetup>;

    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

pub fn admin() -> As {
    As::platform_admin()
}

/// An integration administrator of `tenant`.
pub fn integrator(tenant: TenantId) -> As {
    As::tenant(Role::IntegrationAdmin, tenant).named("ian@acme.example")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(json!({})).await
    }

    /// The service with `overrides` over the tests' settings.
    pub async fn spawn_with(overrides: Value) -> TestApp {
        let providers = FakeProviders::start(Some("sk-test-good")).unwrap();
        let mut all = json!({ "secrets": { "backend": "envelope", "kek": KEK } });
        merge(&mut all, overrides);
        let harness = Harness::spawn(Region::Us, all, |_| {}).await;
        TestApp { harness, providers }
    }

    pub async fn post(&self, who: &As, path: &str, body: Value) -> (u16, Value) {
        self.call(Some(who), Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, who: &As, path: &str) -> (u16, Value) {
        self.call(Some(who), Method::GET, path, None).await
    }

    /// A tenant as the registry announces it, once provider setup has it.
    pub async fn tenant(&self, status: &str) -> TenantId {
        let tenant = TenantId::new(Region::Us);
        self.announce(
            "plinth.tenant.created",
            "plinth.tenant.TenantCreated",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "slug": format!("t{}", &tenant.to_string()[7..15]),
                "display_name": "Test tenant", "region": "us", "status": "PENDING",
                "deployment_model": "hosted_saas", "data_mode": "metadata_only",
                "created_at": 1_790_000_000_000_000i64, "created_by": "alice@msp.example"
            }),
        )
        .await;
        self.set_status(tenant, status).await;
        tenant
    }

    /// The registry's status change of `tenant` to `to`, once applied.
    pub async fn set_status(&self, tenant: TenantId, to: &str) {
        self.announce(
            "plinth.tenant.status_changed",
            "plinth.tenant.TenantStatusChanged",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "from_status": "PENDING", "to_status": to,
                "reason": null, "changed_at": 1_790_000_000_000_000i64,
                "changed_by": "alice@msp.example"
            }),
        )
        .await;
        let db = self.db.owner_url();
        let query = format!(
            "SELECT count(*) AS n FROM tenants WHERE tenant_id = '{tenant}' AND status = '{to}'"
        );
        wait_until(
            "the registry's event applied",
            Duration::from_secs(60),
            || async { count_all_tenants(&db, &query).await == 1 },
        )
        .await;
    }

    /// The registry's `plinth.workspace.<change>` of `workspace` of `tenant`
    /// (`created`, `updated` or `deleted`), once applied.
    pub async fn workspace(&self, tenant: TenantId, workspace: &str, change: &str) {
        self.announce(
            &format!("plinth.workspace.{change}"),
            "plinth.tenant.WorkspaceChanged",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "workspace_id": workspace, "name": "Service desk",
                "data_mode": "metadata_only", "retention_days": 30, "write_cap_per_day": null,
                "approval_tier": "L2",
                "changed_at": 1_790_000_000_000_000i64, "changed_by": "alice@msp.example"
            }),
        )
        .await;
        let deleted = if change == "deleted" {
            "NOT NULL"
        } else {
            "NULL"
        };
        let db = self.db.owner_url();
        let query = format!(
            "SELECT count(*) AS n FROM workspaces WHERE workspace_id = '{workspace}' \
             AND deleted_at IS {deleted}"
        );
        wait_until(
            "the registry's event applied",
            Duration::from_secs(60),
            || async { count_all_tenants(&db, &query).await == 1 },
        )
        .await;
    }

    /// Enters a connector's `credentials` through the link of `url`.
    pub async fn redeem_credentials(&self, url: &str, credentials: Value) -> (u16, Value) {
        self.call(
            None,
            Method::POST,
            "/setup/api/redeem",
            Some(json!({ "token": token_of(url), "credentials": credentials })),
        )
        .await
    }

    /// The body creating an OpenAI connection named `name` that calls the local
    /// OpenAI server.
    pub fn openai(&self, name: &str) -> Value {
        json!({
            "name": name, "kind": "openai", "base_url": self.providers.openai,
            "default_model": "gpt-4o-mini", "note": "The ops team's key"
        })
    }

    /// Creates `body` as a connection of `tenant`: the connection.
    pub async fn connection(&self, tenant: TenantId, body: Value) -> Value {
        let (status, created) = self
            .post(
                &integrator(tenant),
                &format!("/admin/providers/tenants/{tenant}/connections"),
                body,
            )
            .await;
        assert_eq!(status, 201, "{created}");
        created
    }

    /// A link minted for `tenant`'s request `request`: its answer.
    pub async fn mint(&self, tenant: TenantId, request: &str) -> Value {
        let (status, minted) = self
            .post(
                &integrator(tenant),
                &format!("/admin/providers/tenants/{tenant}/setup-requests/{request}/links"),
                json!({}),
            )
            .await;
        assert_eq!(status, 201, "{minted}");
        minted
    }

    /// A connection of `tenant` named `name`, keyed with `key` through its
    /// setup link: the connection as created.
    pub async fn keyed(&self, tenant: TenantId, name: &str, key: &str) -> Value {
        let created = self.connection(tenant, self.openai(name)).await;
        let minted = self
            .mint(
                tenant,
                created["requests"][0]["request_id"].as_str().unwrap(),
            )
            .await;
        let (status, _) = self.redeem(minted["url"].as_str().unwrap(), key).await;
        assert_eq!(status, 200);
        created
    }

    /// Enters `key` through the link of `url` as its holder would: no token
    /// but the link's.
    pub async fn redeem(&self, url: &str, key: &str) -> (u16, Value) {
        self.call(
            None,
            Method::POST,
            "/setup/api/redeem",
            Some(json!({ "token": token_of(url), "key": key })),
        )
        .await
    }
}

/// The token in a link's URL (its fragment).
pub fn token_of(url: &str) -> String {
    url.split_once('#').unwrap().1.to_owned()
}
