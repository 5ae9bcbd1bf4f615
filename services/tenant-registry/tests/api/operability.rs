//! What an SRE sees of the service: health and metrics on its internal listener.

use crate::helpers::TestApp;
use plinth_testkit::sample;

#[tokio::test]
async fn health_and_metrics_are_served_to_operators_only() {
    let app = TestApp::spawn().await;
    plinth_testkit::assert_operable(&app).await;
}

#[tokio::test]
async fn items_waiting_for_their_owning_services_show_at_metrics() {
    use crate::helpers::{As, tenant_body};

    let app = TestApp::spawn().await;
    let admin = As::platform_admin();
    let (_, tenant) = app.create(&admin, tenant_body("acme", "us")).await;
    let id = tenant["tenant_id"].as_str().unwrap();
    let (status, opened) = app
        .call(
            Some(&admin),
            reqwest::Method::POST,
            &format!("/admin/tenants/{id}/onboarding"),
            Some(serde_json::json!({ "requested_modules": ["ticket-triage"] })),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    let metrics = app.client.metrics().await;
    // audit_store, policy_registry, pack_defaults, module_defaults and
    // provider_setup wait for their services; the
    // operator's own items are not the saga's.
    let onboarding = [("flow", "onboarding")];
    assert_eq!(
        sample(&metrics, "plinth_saga_items_pending", &onboarding),
        Some(5.0),
        "{metrics}"
    );
    assert!(
        sample(
            &metrics,
            "plinth_saga_oldest_pending_age_seconds",
            &onboarding
        )
        .is_some(),
        "{metrics}"
    );
}
