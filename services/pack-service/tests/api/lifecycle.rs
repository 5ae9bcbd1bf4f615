//! The pack service's part of the lifecycle sagas: onboarding assigns the
//! configured default Domain Pack (or says why it could not, and does on a
//! retry); offboarding withdraws the configuration from the runtime.

use std::time::Duration;

use pack_service::settings::DefaultPack;
use plinth_core::{DataMode, Role, TenantId};
use plinth_testkit::wait_until;
use serde_json::json;

use crate::helpers::{As, TestApp, admin};

impl TestApp {
    async fn lifecycle(&self, ty: &str, tenant: TenantId) {
        let (schema, body) = if ty.contains("onboarding") {
            (
                "plinth.tenant.OnboardingRequested",
                json!({
                    "tenant_id": tenant.to_string(), "deployment_model": "hosted_saas",
                    "data_mode": "metadata_only",
                    "items": [
                        { "key": "audit_store", "owner": "audit" },
                        { "key": "pack_defaults", "owner": "pack-service" }
                    ],
                    "requested_modules": [], "requested_packs": [],
                    "requested_at": 1_790_000_000_000_000i64, "requested_by": "alice@msp.example"
                }),
            )
        } else {
            (
                "plinth.tenant.OffboardingRequested",
                json!({
                    "tenant_id": tenant.to_string(), "reason": "contract ended",
                    "items": [{ "key": "pack_config_withdrawn", "owner": "pack-service" }],
                    "requested_at": 1_790_000_000_000_000i64, "requested_by": "alice@msp.example"
                }),
            )
        };
        self.announce(ty, schema, tenant, &body).await;
    }

    async fn answers(&self, ty: &str) -> Vec<serde_json::Value> {
        self.outbox()
            .await
            .into_iter()
            .filter(|e| e.ce_type == ty)
            .map(|e| e.payload)
            .collect()
    }
}

#[tokio::test]
async fn onboarding_assigns_the_default_pack_or_says_why_not_until_a_retry_can() {
    let app = TestApp::spawn_configured(|s| {
        s.defaults.domain_pack = Some(DefaultPack {
            domain: "itsm".into(),
            version: "1.0.0".into(),
        });
    })
    .await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    app.lifecycle("plinth.tenant.onboarding_requested", tenant)
        .await;
    wait_until("the failed assignment", Duration::from_secs(60), || async {
        !app.answers("plinth.pack.defaults_assignment_failed")
            .await
            .is_empty()
    })
    .await;
    let failed = app.answers("plinth.pack.defaults_assignment_failed").await;
    assert_eq!(failed[0]["item"], "pack_defaults", "only its own item");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("itsm 1.0.0 is not imported")
    );

    // The operator imports the pack; the registry's retry assigns it.
    app.publish("playbook-password-reset-1.0.0.json").await;
    app.import_domain("itsm-1.0.0.json").await;
    app.lifecycle("plinth.tenant.onboarding_item_retry", tenant)
        .await;
    wait_until("the assignment", Duration::from_secs(60), || async {
        !app.answers("plinth.pack.defaults_assigned")
            .await
            .is_empty()
    })
    .await;
    let (_, active) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}/active"))
        .await;
    assert_eq!(active["active"]["domain"], "itsm");
    assert_eq!(active["active"]["reason"], "onboarding_default");
    assert_eq!(active["active"]["activated_by"], "service:pack-service");

    // Asked again, it answers again and keeps what the tenant runs.
    app.lifecycle("plinth.tenant.onboarding_item_retry", tenant)
        .await;
    wait_until("the second answer", Duration::from_secs(60), || async {
        app.answers("plinth.pack.defaults_assigned").await.len() == 2
    })
    .await;
    let (_, again) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}/active"))
        .await;
    assert_eq!(again["history"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn offboarding_withdraws_the_configuration_and_keeps_the_packs() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    app.activate(tenant, "3.2.0", Some("1.4.0")).await;
    let (status, _) = app
        .post(
            &As::tenant(Role::WorkspaceAdmin, tenant),
            &format!("/admin/packs/tenant/{tenant}/playbooks"),
            json!({ "playbook": "invoice-dispute-triage", "version": "1.0.0" }),
        )
        .await;
    assert_eq!(status, 200);
    let config = format!("/runtime/tenants/{tenant}/config");
    assert_eq!(app.get(&admin(), &config).await.0, 200);
    app.set_status(tenant, "ACTIVE", "OFFBOARDING").await;
    app.lifecycle("plinth.tenant.offboarding_requested", tenant)
        .await;
    wait_until("the withdrawal", Duration::from_secs(60), || async {
        !app.answers("plinth.pack.deprovisioned").await.is_empty()
    })
    .await;
    let (_, active) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}/active"))
        .await;
    assert_eq!(active["active"], serde_json::Value::Null);
    assert_eq!(
        active["history"].as_array().unwrap().len(),
        1,
        "the record stays"
    );
    let (_, packs) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}"))
        .await;
    assert_eq!(packs["items"][0]["status"], "DRAFT");
    let (_, domains) = app
        .get(&admin(), "/admin/packs/domain?domain=finance")
        .await;
    assert!(
        domains["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "DRAFT")
    );
    let (_, links) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}/playbooks"))
        .await;
    assert_eq!(links["items"], json!([]));
    let (status, _) = app.get(&admin(), &config).await;
    assert_eq!(status, 404, "the runtime reads nothing for it");
    // Offboarding: nothing changes any more.
    let (status, problem) = app.activate(tenant, "3.3.0", None).await;
    assert_eq!(status, 409, "{problem}");
}
