//! Starting the service for a test, signing releases, and calling it.

use std::path::PathBuf;

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use module_catalog::dsse::{Envelope, MANIFEST_TYPE};
use std::time::Duration;

use plinth_core::{Region, TenantId, WorkspaceId};
pub use plinth_testkit::As;
use plinth_testkit::{Harness, count_all_tenants, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

plinth_testkit::tested_service!(ModuleCatalog, module_catalog);

/// The module catalog under test.
pub struct TestApp(Harness<ModuleCatalog>);

impl std::ops::Deref for TestApp {
    type Target = Harness<ModuleCatalog>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bytes of an example release of `examples/modules/`.
pub fn example(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("examples/modules").join(name)).unwrap()
}

pub fn admin() -> As {
    As::platform_admin()
}

/// A signing key of the tests' own.
pub struct Key {
    signing: ed25519_dalek::SigningKey,
    pub key_id: String,
}

impl Key {
    pub fn new(seed: u8) -> Self {
        Key {
            signing: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
            key_id: format!("release-key-{seed}"),
        }
    }

    /// `body` in a DSSE envelope signed by this key.
    pub fn sign(&self, body: &[u8]) -> Value {
        serde_json::to_value(Envelope::sign(MANIFEST_TYPE, body, &self.key_id, |m| {
            self.signing.sign(m).to_vec()
        }))
        .unwrap()
    }

    /// This key as the review sees a trusted signer of the example releases'
    /// organisation.
    #[allow(dead_code, reason = "the benchmark reviews in process with it")]
    pub fn trusted(&self) -> module_catalog::review::TrustedKey {
        let now = time::OffsetDateTime::now_utc();
        let pem = self
            .signing
            .verifying_key()
            .to_public_key_pem(Default::default())
            .unwrap();
        module_catalog::review::TrustedKey {
            signer_id: format!("sgn-{}", self.key_id),
            identity: "Plinth module release pipeline".into(),
            key_id: self.key_id.clone(),
            key: module_catalog::dsse::PublicKey::parse(
                module_catalog::dsse::Algorithm::Ed25519,
                &pem,
            )
            .unwrap(),
            sources: vec!["github.com/plinth-modules".into()],
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(365),
            revoked: false,
        }
    }

    /// The body of `POST /admin/trust/signers` trusting this key for `sources`.
    pub fn signer_body(&self, sources: &[&str]) -> Value {
        json!({
            "identity": "Plinth module release pipeline",
            "algorithm": "ed25519",
            "key_id": self.key_id,
            "public_key": self.signing.verifying_key().to_public_key_pem(Default::default()).unwrap(),
            "sources": sources,
            "not_after": "2099-01-01T00:00:00Z"
        })
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp(Harness::spawn(Region::Us, json!({}), |_| {}).await)
    }

    pub async fn post(&self, who: &As, path: &str, body: Value) -> (u16, Value) {
        self.call(Some(who), Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, who: &As, path: &str) -> (u16, Value) {
        self.call(Some(who), Method::GET, path, None).await
    }

    /// Trusts `key` for the example releases' organisation: the signer's id.
    pub async fn trust(&self, key: &Key) -> String {
        let (status, signer) = self
            .post(
                &admin(),
                "/admin/trust/signers",
                key.signer_body(&["github.com/plinth-modules", "gitlab.com/plinth-modules"]),
            )
            .await;
        assert_eq!(status, 201, "{signer}");
        signer["signer_id"].as_str().unwrap().to_owned()
    }

    /// Imports the example `name` signed by `key`.
    pub async fn import_signed(&self, name: &str, key: &Key) -> (u16, Value) {
        self.post(
            &admin(),
            "/admin/modules/import",
            json!({ "envelope": key.sign(&example(name)) }),
        )
        .await
    }
}

/// A tenant as the registry announces it: registered, its status and
/// entitlements (its workspaces come with [`TestApp::workspace`]).
pub struct NewTenant<'a> {
    pub status: &'a str,
    pub data_mode: &'a str,
    pub modules: &'a [&'a str],
}

impl TestApp {
    /// `tenant`, once the catalog's projection has it as announced.
    pub async fn tenant(&self, new: NewTenant<'_>) -> TenantId {
        let tenant = TenantId::new(Region::Us);
        self.announce(
            "plinth.tenant.created",
            "plinth.tenant.TenantCreated",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "slug": format!("t{}", &tenant.to_string()[7..15]),
                "display_name": "Test tenant", "region": "us", "status": "PENDING",
                "deployment_model": "hosted_saas", "data_mode": new.data_mode,
                "created_at": 1_790_000_000_000_000i64, "created_by": "alice@msp.example"
            }),
        )
        .await;
        self.announce(
            "plinth.entitlement.changed",
            "plinth.tenant.EntitlementChanged",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "plan": "standard", "modules": new.modules,
                "api_rate_per_second": 10, "max_workspaces": 3, "max_provider_connections": 1,
                "monthly_token_budget": 1_000_000i64,
                "changed_at": 1_790_000_000_000_000i64, "changed_by": "alice@msp.example"
            }),
        )
        .await;
        self.set_status(tenant, new.status).await;
        let modules = format!("{{{}}}", new.modules.join(","));
        self.wait_for(&format!(
            "SELECT count(*) AS n FROM tenants WHERE tenant_id = '{tenant}' AND modules = '{modules}'"
        ))
        .await;
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
        self.wait_for(&format!(
            "SELECT count(*) AS n FROM tenants WHERE tenant_id = '{tenant}' AND status = '{to}'"
        ))
        .await;
    }

    /// A workspace of `tenant`, once the catalog has it.
    pub async fn workspace(&self, tenant: TenantId, name: &str, data_mode: &str) -> String {
        let workspace = WorkspaceId::new().to_string();
        self.announce(
            "plinth.workspace.created",
            "plinth.tenant.WorkspaceChanged",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "workspace_id": workspace, "name": name,
                "data_mode": data_mode, "retention_days": 30, "write_cap_per_day": null,
                "approval_tier": "L2",
                "changed_at": 1_790_000_000_000_000i64, "changed_by": "alice@msp.example"
            }),
        )
        .await;
        self.wait_for(&format!(
            "SELECT count(*) AS n FROM workspaces WHERE workspace_id = '{workspace}'"
        ))
        .await;
        workspace
    }

    async fn wait_for(&self, count_query: &str) {
        let db = self.db.owner_url();
        wait_until(
            "the registry's event applied",
            Duration::from_secs(60),
            || async { count_all_tenants(&db, count_query).await == 1 },
        )
        .await;
    }
}

/// The state of each check of a release's review, by check.
pub fn states(release: &Value) -> Vec<(String, String)> {
    release["review"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
