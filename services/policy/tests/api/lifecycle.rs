//! The policy service's part of the lifecycle sagas: onboarding enrolls the
//! tenant (or says why it cannot); offboarding withdraws its policies, after
//! which every decision for it — in the service and in its bundle — is a
//! refusal.

use plinth_core::{Role, TenantId};
use serde_json::json;

use crate::helpers::{As, PLATFORM, TestApp, admin};

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
                    { "key": "policy_registry", "owner": "policy" }
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
                "items": [{ "key": "policy_withdrawn", "owner": "policy" }],
                "requested_at": 1_790_000_000_000_000i64, "requested_by": "alice@msp.example"
            }),
        )
        .await;
    }
}

/// The decision on a read for `tenant`, as the runtime asks.
async fn decide(app: &TestApp, tenant: TenantId) -> serde_json::Value {
    let runtime = As::platform(Role::Runtime).named("plinth-runtime");
    app.post(
        &runtime,
        &format!("/runtime/policy/tenants/{tenant}/decisions"),
        json!({ "action_class": "read" }),
    )
    .await
    .1
}

#[tokio::test]
async fn onboarding_enrolls_and_offboarding_withdraws_every_decision() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    app.onboard(tenant).await;
    let enrolled = app.published("plinth.policy.registry_enrolled", 1).await;
    assert_eq!(
        (
            &enrolled[0]["tenant_id"],
            &enrolled[0]["item"],
            &enrolled[0]["reason"]
        ),
        (
            &json!(tenant.to_string()),
            &json!("policy_registry"),
            &json!(null)
        )
    );
    let runtime = As::platform(Role::Runtime).named("plinth-runtime");
    assert_eq!(decide(&app, tenant).await["decision"], "allow");

    app.offboard(tenant).await;
    let done = app.published("plinth.policy.deprovisioned", 1).await;
    assert_eq!(done[0]["item"], "policy_withdrawn");
    let refused = decide(&app, tenant).await;
    assert_eq!(refused["decision"], "deny", "{refused}");
    assert_eq!(
        refused["reasons"].as_array().unwrap().last().unwrap()["code"],
        "tenant_withdrawn"
    );
    let (_, bundle) = app
        .get(
            &runtime,
            &format!("/runtime/policy/tenants/{tenant}/bundle"),
        )
        .await;
    assert_eq!(bundle["withdrawn"], true);
    // Its records stay readable for the record; another tenant is untouched.
    let (status, _) = app
        .get(
            &admin(),
            &format!("/admin/policies/tenants/{tenant}/records"),
        )
        .await;
    assert_eq!(status, 200);
    let other = app.tenant().await;
    assert_eq!(decide(&app, other).await["decision"], "allow");
    // Asked again, the same answer.
    app.offboard(tenant).await;
    assert_eq!(
        app.published("plinth.policy.deprovisioned", 2).await.len(),
        2
    );
}

#[tokio::test]
async fn onboarding_fails_with_the_reason_when_no_platform_policy_is_in_force() {
    let app = TestApp::spawn().await;
    let (_, listed) = app.get(&admin(), PLATFORM).await;
    let baseline = listed["items"][0]["record_id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post(
            &admin(),
            &format!("{PLATFORM}/{baseline}/retire"),
            json!({ "reason": "replaced" }),
        )
        .await;
    assert_eq!(status, 200);
    let tenant = app.tenant().await;
    app.onboard(tenant).await;
    let failed = app
        .published("plinth.policy.registry_enrollment_failed", 1)
        .await;
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no platform policy record is in force"),
        "{failed:?}"
    );
}
