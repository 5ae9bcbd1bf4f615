//! `/admin/tenants/{tenant_id}/workspaces`: a tenant's workspaces.

use plinth_core::{Role, TenantId, WorkspaceId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, tenant_body};

async fn tenant(app: &TestApp, slug: &str, data_mode: &str) -> TenantId {
    let mut body = tenant_body(slug, "us");
    body["data_mode"] = json!(data_mode);
    let (status, t) = app.create(&As::platform_admin(), body).await;
    assert_eq!(status, 201, "{t}");
    serde_json::from_value(t["tenant_id"].clone()).unwrap()
}

async fn call(
    app: &TestApp,
    who: &As,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.call(Some(who), method, path, body).await
}

#[tokio::test]
async fn a_tenants_admin_manages_its_workspaces_and_every_change_is_published() {
    let app = TestApp::spawn().await;
    let t = tenant(&app, "acme", "content").await;
    let admin = As::tenant(Role::WorkspaceAdmin, t);
    let base = format!("/admin/tenants/{t}/workspaces");
    let before = app.outbox().await.len();

    let (status, ws) = call(
        &app,
        &admin,
        Method::POST,
        &base,
        Some(json!({"name": "Service desk"})),
    )
    .await;
    assert_eq!(status, 201, "{ws}");
    assert_eq!(
        ws["data_mode"], "metadata_only",
        "metadata-only unless asked"
    );
    assert_eq!(ws["retention_days"], 90);
    assert_eq!(ws["write_cap_per_day"], Value::Null);
    assert_eq!(ws["approval_tier"], "L2");
    let id = ws["workspace_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wsp_"));
    let one = format!("{base}/{id}");

    let (status, changed) = call(
        &app,
        &admin,
        Method::PATCH,
        &one,
        Some(json!({"data_mode": "content", "write_cap_per_day": 500, "approval_tier": "L3"})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            changed["name"].as_str(),
            changed["data_mode"].as_str(),
            changed["write_cap_per_day"].as_i64()
        ),
        (Some("Service desk"), Some("content"), Some(500)),
        "absent fields stay"
    );
    let (_, uncapped) = call(
        &app,
        &admin,
        Method::PATCH,
        &one,
        Some(json!({"write_cap_per_day": null})),
    )
    .await;
    assert_eq!(
        uncapped["write_cap_per_day"],
        Value::Null,
        "null removes the cap"
    );
    assert_eq!(uncapped["approval_tier"], "L3");

    let (status, read) = call(&app, &As::tenant(Role::Auditor, t), Method::GET, &one, None).await;
    assert_eq!((status, &read), (200, &uncapped));
    let (_, page) = call(
        &app,
        &As::tenant(Role::Auditor, t),
        Method::GET,
        &base,
        None,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let (status, _) = call(&app, &admin, Method::DELETE, &one, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, &admin, Method::GET, &one, None).await;
    assert_eq!(status, 404);

    let outbox = app.outbox().await;
    let types: Vec<&str> = outbox[before..]
        .iter()
        .map(|o| o.ce_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "plinth.workspace.created",
            "plinth.audit.event",
            "plinth.workspace.updated",
            "plinth.audit.event",
            "plinth.workspace.updated",
            "plinth.audit.event",
            "plinth.workspace.deleted",
            "plinth.audit.event",
        ]
    );
    assert!(
        outbox[before..].iter().all(|o| o.key == t.to_string()),
        "keyed by tenant"
    );
    assert_eq!(outbox[before + 2].payload["write_cap_per_day"], 500);
    assert_eq!(outbox[before + 1].payload["resource_id"], id.as_str());
}

#[tokio::test]
async fn a_workspace_is_never_looser_than_its_tenant() {
    let app = TestApp::spawn().await;
    let strict = tenant(&app, "strict", "metadata_only").await;
    let admin = As::tenant(Role::WorkspaceAdmin, strict);
    let base = format!("/admin/tenants/{strict}/workspaces");
    let (status, problem) = call(
        &app,
        &admin,
        Method::POST,
        &base,
        Some(json!({"name": "Desk", "data_mode": "content"})),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("data_mode"))
    );
    let (status, ws) = call(
        &app,
        &admin,
        Method::POST,
        &base,
        Some(json!({"name": "Desk"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, problem) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("{base}/{}", ws["workspace_id"].as_str().unwrap()),
        Some(json!({"data_mode": "content"})),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("data_mode"))
    );
    let audits = app.outbox().await;
    let failed = audits
        .iter()
        .filter(|o| o.ce_type == "plinth.audit.event" && o.payload["outcome"] == "FAILED")
        .count();
    assert_eq!(failed, 2, "each refusal audited");
}

#[tokio::test]
async fn workspaces_stay_inside_their_tenant() {
    let app = TestApp::spawn().await;
    let (a, b) = (
        tenant(&app, "alpha", "content").await,
        tenant(&app, "beta", "content").await,
    );
    let (_, wb) = call(
        &app,
        &As::tenant(Role::WorkspaceAdmin, b),
        Method::POST,
        &format!("/admin/tenants/{b}/workspaces"),
        Some(json!({"name": "Desk"})),
    )
    .await;
    let wb = wb["workspace_id"].as_str().unwrap().to_owned();
    let a_admin = As::tenant(Role::WorkspaceAdmin, a);

    // B's tenant through A's token, and B's workspace under A's tenant: both unknown.
    let (s1, _) = call(
        &app,
        &a_admin,
        Method::GET,
        &format!("/admin/tenants/{b}/workspaces/{wb}"),
        None,
    )
    .await;
    let (s2, _) = call(
        &app,
        &a_admin,
        Method::GET,
        &format!("/admin/tenants/{a}/workspaces/{wb}"),
        None,
    )
    .await;
    let (s3, _) = call(
        &app,
        &a_admin,
        Method::GET,
        &format!("/admin/tenants/{b}/workspaces"),
        None,
    )
    .await;
    let (s4, _) = call(
        &app,
        &a_admin,
        Method::DELETE,
        &format!("/admin/tenants/{a}/workspaces/{}", WorkspaceId::new()),
        None,
    )
    .await;
    assert_eq!((s1, s2, s3, s4), (404, 404, 404, 404));
    let (status, _) = call(
        &app,
        &a_admin,
        Method::PATCH,
        &format!("/admin/tenants/{a}/workspaces/{wb}"),
        Some(json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(status, 404);

    // Operators read but do not create; names are unique per tenant, not across.
    let (status, _) = call(
        &app,
        &As::tenant(Role::Operator, a),
        Method::POST,
        &format!("/admin/tenants/{a}/workspaces"),
        Some(json!({"name": "Ops"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        &a_admin,
        Method::POST,
        &format!("/admin/tenants/{a}/workspaces"),
        Some(json!({"name": "Desk"})),
    )
    .await;
    assert_eq!(status, 201, "another tenant's name is free here");
    let (status, problem) = call(
        &app,
        &a_admin,
        Method::POST,
        &format!("/admin/tenants/{a}/workspaces"),
        Some(json!({"name": "Desk"})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["field"].as_str()),
        (409, Some("already_exists"), Some("name"))
    );
    let (status, problem) = call(
        &app,
        &a_admin,
        Method::POST,
        &format!("/admin/tenants/{a}/workspaces"),
        Some(json!({"name": "X", "owner": "me"})),
    )
    .await;
    assert_eq!((status, problem["field"].as_str()), (400, Some("owner")));

    // Once offboarding starts, workspaces no longer change.
    app.force_status(&a.to_string(), "OFFBOARDING").await;
    let (status, _) = call(
        &app,
        &a_admin,
        Method::POST,
        &format!("/admin/tenants/{a}/workspaces"),
        Some(json!({"name": "Late"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, page) = call(
        &app,
        &a_admin,
        Method::GET,
        &format!("/admin/tenants/{a}/workspaces"),
        None,
    )
    .await;
    assert_eq!(
        (status, page["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "still readable"
    );
}
