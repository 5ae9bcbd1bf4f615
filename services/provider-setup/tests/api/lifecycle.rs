//! Provider setup's part of the lifecycle sagas: onboarding shares the
//! platform's default pooled connections with the new tenant (or says why it
//! cannot); offboarding destroys every key of the tenant — crypto-shredded —
//! revokes its links and withdraws what the platform shared with it.

use plinth_core::{Role, TenantId};
use serde_json::json;

use crate::helpers::{As, GOOD_KEY, TestApp, admin, integrator};

impl TestApp {
    async fn onboard(&self, tenant: TenantId) {
        self.announce(
            "plinth.tenant.onboarding_requested",
            "plinth.tenant.OnboardingRequested",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "deployment_model": "hosted_saas",
                "data_mode": "metadata_only",
                "items": [
                    { "key": "audit_store", "owner": "audit" },
                    { "key": "provider_setup", "owner": "provider-setup" }
                ],
                "requested_modules": [], "requested_packs": [],
                "requested_at": 1_790_000_000_000_000i64, "requested_by": "alice@msp.example"
            }),
        )
        .await;
    }

    async fn offboard(&self, tenant: TenantId) {
        self.announce(
            "plinth.tenant.offboarding_requested",
            "plinth.tenant.OffboardingRequested",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "reason": "contract ended",
                "items": [{ "key": "provider_keys_destroyed", "owner": "provider-setup" }],
                "requested_at": 1_790_000_000_000_000i64, "requested_by": "alice@msp.example"
            }),
        )
        .await;
    }

    /// A pooled connection named `name` with an active key: its id.
    async fn pool(&self, name: &str) -> String {
        let (_, pooled) = self
            .post(
                &admin(),
                "/admin/providers/pooled",
                json!({ "name": name, "kind": "openai", "base_url": self.providers.openai, "default_model": "gpt-4o-mini" }),
            )
            .await;
        let request = pooled["requests"][0]["request_id"].as_str().unwrap();
        let (_, minted) = self
            .post(
                &admin(),
                &format!("/admin/providers/pooled/setup-requests/{request}/links"),
                json!({}),
            )
            .await;
        let (status, _) = self.redeem(minted["url"].as_str().unwrap(), GOOD_KEY).await;
        assert_eq!(status, 200);
        pooled["connection_id"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn onboarding_shares_the_default_pools_or_says_why_it_cannot() {
    let app = TestApp::spawn_with(json!({
        "onboarding": { "default_pools": [
            { "name": "msp-default", "requests_per_minute": 20, "tokens_per_month": 100000 }
        ] }
    }))
    .await;
    let first = app.tenant("ONBOARDING").await;
    app.onboard(first).await;
    let failed = app.published("plinth.provider.setup_failed", 1).await;
    assert_eq!(failed[0]["item"], "provider_setup");
    assert_eq!(
        failed[0]["reason"],
        "no pooled connection named msp-default"
    );

    let pool = app.pool("msp-default").await;
    let second = app.tenant("ONBOARDING").await;
    app.onboard(second).await;
    let ready = app.published("plinth.provider.setup_ready", 1).await;
    assert_eq!(
        (&ready[0]["tenant_id"], &ready[0]["reason"]),
        (&json!(second.to_string()), &json!(null))
    );
    let (_, grants) = app
        .get(&admin(), &format!("/admin/providers/pooled/{pool}/grants"))
        .await;
    assert_eq!(grants["items"][0]["tenant_id"], second.to_string());
    assert_eq!(grants["items"][0]["requests_per_minute"], 20);
    let (_, chosen) = app
        .get(
            &As::platform(Role::Runtime),
            &format!("/runtime/providers/tenants/{second}/selection"),
        )
        .await;
    assert_eq!(chosen["name"], "msp-default");
}

#[tokio::test]
async fn offboarding_destroys_every_key_and_connector_credential_of_the_tenant_and_withdraws_its_shares()
 {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    let other = app.tenant("ACTIVE").await;
    let mut ids = Vec::new();
    for (owner, name) in [(tenant, "first"), (tenant, "second"), (other, "theirs")] {
        let created = app.connection(owner, app.openai(name)).await;
        let minted = app
            .mint(
                owner,
                created["requests"][0]["request_id"].as_str().unwrap(),
            )
            .await;
        let (status, _) = app.redeem(minted["url"].as_str().unwrap(), GOOD_KEY).await;
        assert_eq!(status, 200);
        ids.push(created["connection_id"].as_str().unwrap().to_owned());
    }
    // A rotation under way, its link live; a pooled connection shared.
    let path = format!("/admin/providers/tenants/{tenant}/connections/{}", ids[0]);
    let (_, rotation) = app
        .post(&admin(), &format!("{path}/rotate"), json!({}))
        .await;
    let live = app
        .mint(tenant, rotation["request_id"].as_str().unwrap())
        .await;
    let pool = app.pool("shared").await;
    let (status, _) = app
        .call(
            Some(&admin()),
            reqwest::Method::PUT,
            &format!("/admin/providers/pooled/{pool}/grants/{tenant}"),
            Some(json!({ "requests_per_minute": 5, "tokens_per_month": 1000 })),
        )
        .await;
    assert_eq!(status, 200);

    // A connector with credentials, in a workspace of the tenant.
    let workspace = plinth_core::WorkspaceId::new().to_string();
    app.workspace(tenant, &workspace, "created").await;
    let (status, connector) = app
        .post(
            &integrator(tenant),
            &format!("/admin/providers/tenants/{tenant}/connectors"),
            json!({
                "workspace_id": workspace, "name": "desk-halo", "kind": "halopsa",
                "base_url": "https://acme.halopsa.com/api", "settings": { "client_id": "desk" }
            }),
        )
        .await;
    assert_eq!(status, 201, "{connector}");
    let (status, minted) = app
        .post(
            &integrator(tenant),
            &format!(
                "/admin/providers/tenants/{tenant}/connectors/setup-requests/{}/links",
                connector["requests"][0]["request_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    let (status, _) = app
        .redeem_credentials(
            minted["url"].as_str().unwrap(),
            json!({ "client_secret": "halo-offboarding-secret" }),
        )
        .await;
    assert_eq!(status, 200);

    app.set_status(tenant, "OFFBOARDING").await;
    app.offboard(tenant).await;
    let done = app.published("plinth.provider.deprovisioned", 1).await;
    assert_eq!(
        (&done[0]["item"], &done[0]["reason"]),
        (&json!("provider_keys_destroyed"), &json!(null))
    );

    let (_, list) = app
        .get(
            &admin(),
            &format!("/admin/providers/tenants/{tenant}/connections"),
        )
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "the pooled connection is no longer shared: {list}"
    );
    for connection in items {
        assert_eq!(connection["status"], "DESTROYED");
    }
    let (_, desk) = app
        .get(
            &admin(),
            &format!(
                "/admin/providers/tenants/{tenant}/connectors/{}",
                connector["connector_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(desk["status"], "DESTROYED", "{desk}");
    assert_eq!(desk["keys"][0]["status"], "DESTROYED", "{desk}");
    let (_, one) = app.get(&admin(), &path).await;
    assert!(
        one["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["status"] == "DESTROYED" && k["destroyed_at"].is_string()),
        "{one}"
    );
    let (status, problem) = app.redeem(live["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!((status, &problem["code"]), (410, &json!("link_revoked")));
    // The two keys and the connector's credentials.
    let destroyed = app.published("plinth.provider.key_destroyed", 3).await;
    assert_eq!(destroyed.len(), 3);
    assert!(
        destroyed
            .iter()
            .all(|d| d["reason"] == "offboarded" && d["tenant_id"] == tenant.to_string())
    );
    assert_eq!(
        app.published("plinth.provider.pool_withdrawn", 1).await[0]["tenant_id"],
        tenant.to_string()
    );

    // Nothing of it is released any more; the other tenant is untouched.
    let runtime = As::platform(Role::Runtime);
    let (status, _) = app
        .post(
            &runtime,
            &format!(
                "/runtime/providers/tenants/{tenant}/connections/{}/key",
                ids[0]
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, released) = app
        .post(
            &runtime,
            &format!(
                "/runtime/providers/tenants/{other}/connections/{}/key",
                ids[2]
            ),
            json!({}),
        )
        .await;
    assert_eq!((status, &released["key"]), (200, &json!(GOOD_KEY)));

    // Asked again (a retry), there is nothing left to destroy.
    app.offboard(tenant).await;
    assert_eq!(
        app.published("plinth.provider.deprovisioned", 2)
            .await
            .len(),
        2
    );
    assert_eq!(
        app.published("plinth.provider.key_destroyed", 3)
            .await
            .len(),
        3
    );
}
