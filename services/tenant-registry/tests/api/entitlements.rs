//! `/admin/tenants/{tenant_id}/entitlements`: plan, modules, quotas and status.

use plinth_core::{Role, TenantId};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{As, TestApp, tenant_body};

fn plan(max_workspaces: i64) -> serde_json::Value {
    json!({
        "plan": "standard",
        "modules": ["ticket-triage", "change-review"],
        "api_rate_per_second": 50,
        "max_workspaces": max_workspaces,
        "max_provider_connections": 3,
        "monthly_token_budget": 50_000_000i64
    })
}

#[tokio::test]
async fn entitlements_default_then_set_and_bound_workspaces() {
    let app = TestApp::spawn().await;
    let admin = As::platform_admin();
    let (_, t) = app.create(&admin, tenant_body("acme", "us")).await;
    let id: TenantId = serde_json::from_value(t["tenant_id"].clone()).unwrap();
    let base = format!("/admin/tenants/{id}/entitlements");

    let (status, defaults) = app
        .call(
            Some(&As::tenant(Role::Auditor, id)),
            Method::GET,
            &base,
            None,
        )
        .await;
    assert_eq!(status, 200, "{defaults}");
    assert_eq!(defaults["defaulted"], true);
    assert_eq!(defaults["plan"], "trial");
    assert_eq!(defaults["max_workspaces"], 3);

    let (status, _) = app
        .call(
            Some(&As::tenant(Role::WorkspaceAdmin, id)),
            Method::PUT,
            &base,
            Some(plan(2)),
        )
        .await;
    assert_eq!(status, 403, "a tenant does not set its own entitlements");
    let mut missing = plan(2);
    missing
        .as_object_mut()
        .unwrap()
        .remove("monthly_token_budget");
    let (status, problem) = app
        .call(Some(&admin), Method::PUT, &base, Some(missing))
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("monthly_token_budget"))
    );
    let (status, set) = app
        .call(Some(&admin), Method::PUT, &base, Some(plan(2)))
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        (set["defaulted"].as_bool(), set["max_workspaces"].as_i64()),
        (Some(false), Some(2))
    );
    let changed = app
        .outbox()
        .await
        .into_iter()
        .find(|o| o.ce_type == "plinth.entitlement.changed")
        .expect("entitlement.changed published");
    assert_eq!(changed.key, id.to_string());
    assert_eq!(
        changed.payload["modules"],
        json!(["ticket-triage", "change-review"])
    );

    // The workspace quota holds.
    let ws = format!("/admin/tenants/{id}/workspaces");
    for name in ["One", "Two"] {
        let (status, _) = app
            .call(Some(&admin), Method::POST, &ws, Some(json!({"name": name})))
            .await;
        assert_eq!(status, 201);
    }
    let (status, problem) = app
        .call(
            Some(&admin),
            Method::POST,
            &ws,
            Some(json!({"name": "Three"})),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("quota_exceeded")),
        "{problem}"
    );
    assert_eq!(
        (problem["limit"].as_i64(), problem["used"].as_i64()),
        (Some(2), Some(2))
    );

    let (status, st) = app
        .call(
            Some(&As::tenant(Role::Operator, id)),
            Method::GET,
            &format!("{base}/status"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["active"], false);
    assert_eq!(st["tenant_status"], "PENDING");
    assert_eq!(st["reason"], "activation has not been requested");
    assert_eq!(st["plan"], "standard");
    assert_eq!(st["workspaces"], json!({"used": 2, "limit": 2}));

    // Another tenant's entitlements are not found.
    let (_, other) = app.create(&admin, tenant_body("other", "us")).await;
    let other = other["tenant_id"].as_str().unwrap();
    let (status, _) = app
        .call(
            Some(&As::tenant(Role::Auditor, id)),
            Method::GET,
            &format!("/admin/tenants/{other}/entitlements/status"),
            None,
        )
        .await;
    assert_eq!(status, 404);
}
