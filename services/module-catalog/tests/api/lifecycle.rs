//! The module catalog's part of the lifecycle sagas: onboarding enables the
//! modules the request names (newest approved release, the tenant not yet
//! ACTIVE, unknowns acknowledged by the request) or says which could not be and
//! why; offboarding disables every module with its cleanup steps recorded.

use plinth_core::TenantId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Key, NewTenant, TestApp, admin};

impl TestApp {
    async fn onboard(&self, tenant: TenantId, modules: &[&str]) {
        self.announce(
            "plinth.tenant.onboarding_requested",
            "plinth.tenant.OnboardingRequested",
            tenant,
            &json!({
                "tenant_id": tenant.to_string(), "deployment_model": "hosted_saas",
                "data_mode": "metadata_only",
                "items": [
                    { "key": "audit_store", "owner": "audit" },
                    { "key": "module_defaults", "owner": "module-catalog" }
                ],
                "requested_modules": modules, "requested_packs": [],
                "requested_at": 1_790_000_000_000_000i64, "requested_by": "alice@msp.example"
            }),
        )
        .await;
    }
}

#[tokio::test]
async fn onboarding_enables_the_requested_modules_or_says_why_not_and_offboarding_disables_them() {
    let app = TestApp::spawn().await;
    let key = Key::new(5);
    app.trust(&key).await;
    let (_, release) = app
        .import_signed("itsm-triage-agent-1.0.0.json", &key)
        .await;
    app.post(
        &admin(),
        "/admin/modules/itsm-triage-agent/1.0.0/approve",
        json!({ "reason": "reviewed" }),
    )
    .await;
    // Onboarding: the tenant is not ACTIVE yet.
    let tenant = app
        .tenant(NewTenant {
            status: "ONBOARDING",
            data_mode: "metadata_only",
            modules: &["itsm-triage-agent"],
        })
        .await;

    // Not deployed in the region yet: the item fails, saying so.
    app.onboard(tenant, &["itsm-triage-agent"]).await;
    let failed = app
        .published("plinth.module.defaults_enablement_failed", 1)
        .await;
    assert_eq!(failed[0]["item"], "module_defaults");
    assert_eq!(
        failed[0]["reason"],
        "itsm-triage-agent 1.0.0 is not ready: deployed"
    );

    // Deployed, then retried: enabled, the unknowns acknowledged by the request.
    let (status, _) = app
        .call(
            Some(&admin()),
            Method::PUT,
            "/admin/deployments/us/itsm-triage-agent",
            Some(json!({ "images": [{
                "image": "registry.plinth.example/modules/itsm-triage-agent:1.0.0",
                "digest": release["image_digest"]
            }] })),
        )
        .await;
    assert_eq!(status, 200);
    app.onboard(tenant, &["itsm-triage-agent"]).await;
    let done = app.published("plinth.module.defaults_enabled", 1).await;
    assert_eq!(done[0]["reason"], Value::Null);
    let (_, listed) = app
        .get(&admin(), &format!("/admin/tenant-modules/{tenant}"))
        .await;
    let enabled = &listed["items"][0];
    assert_eq!(enabled["status"], "ENABLED", "{listed}");
    assert_eq!(enabled["version"], "1.0.0");
    assert_eq!(enabled["enabled_by"], "module-catalog");
    assert_eq!(
        enabled["acknowledged"],
        json!(["connectors", "ai_providers", "policy"])
    );
    // Asked again (a redelivery): answered again, nothing enabled twice.
    app.onboard(tenant, &["itsm-triage-agent"]).await;
    app.published("plinth.module.defaults_enabled", 2).await;
    let enabled_events = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type == "plinth.module.enabled")
        .count();
    assert_eq!(enabled_events, 1);

    // Offboarding: every module disabled, its cleanup recorded.
    app.announce(
        "plinth.tenant.offboarding_requested",
        "plinth.tenant.OffboardingRequested",
        tenant,
        &json!({
            "tenant_id": tenant.to_string(), "reason": "contract ended",
            "items": [{ "key": "modules_disabled", "owner": "module-catalog" }],
            "requested_at": 1_790_000_000_000_000i64, "requested_by": "alice@msp.example"
        }),
    )
    .await;
    let answered = app.published("plinth.module.deprovisioned", 1).await;
    assert_eq!(answered[0]["item"], "modules_disabled");
    let (_, listed) = app
        .get(&admin(), &format!("/admin/tenant-modules/{tenant}"))
        .await;
    let disabled = &listed["items"][0];
    assert_eq!(disabled["status"], "DISABLED");
    assert_eq!(disabled["disabled_by"], "module-catalog");
    assert_eq!(disabled["cleanup"].as_array().unwrap().len(), 3);
    assert_eq!(disabled["cleanup_complete"], false);
}

#[tokio::test]
async fn a_module_without_an_approved_release_fails_onboarding_by_name() {
    let app = TestApp::spawn().await;
    let tenant = app
        .tenant(NewTenant {
            status: "ONBOARDING",
            data_mode: "metadata_only",
            modules: &[],
        })
        .await;
    app.onboard(tenant, &["finance-dispute-assistant"]).await;
    let failed = app
        .published("plinth.module.defaults_enablement_failed", 1)
        .await;
    assert_eq!(
        failed[0]["reason"],
        "finance-dispute-assistant has no approved release"
    );
}
