//! `/admin/tenants/{tenant_id}/role-bindings` and `…/group-mappings`.

use plinth_core::{Role, TenantId};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{As, TestApp, tenant_body};

async fn tenant(app: &TestApp, slug: &str) -> TenantId {
    let (_, t) = app
        .create(&As::platform_admin(), tenant_body(slug, "us"))
        .await;
    serde_json::from_value(t["tenant_id"].clone()).unwrap()
}

#[tokio::test]
async fn a_tenants_admin_grants_and_withdraws_roles() {
    let app = TestApp::spawn().await;
    let t = tenant(&app, "acme").await;
    let admin = As::tenant(Role::WorkspaceAdmin, t);
    let bindings = format!("/admin/tenants/{t}/role-bindings");
    let before = app.outbox().await.len();

    let (status, b) = app
        .call(
            Some(&admin),
            Method::POST,
            &bindings,
            Some(json!({"subject": "bob@acme.example", "role": "Operator"})),
        )
        .await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(
        (b["principal_kind"].as_str(), b["role"].as_str()),
        (Some("subject"), Some("Operator"))
    );
    let id = b["binding_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("rbd_"));

    let cases = [
        (
            json!({"subject": "bob@acme.example", "role": "Operator"}),
            409,
            "already_exists",
            None,
        ),
        (
            json!({"subject": "eve@acme.example", "role": "PlatformAdmin"}),
            403,
            "forbidden",
            None,
        ),
        (
            json!({"subject": "eve@acme.example", "role": "PlatformAuditor", "workspace_id": "wsp_0123456789abcdef0123456789abcdef"}),
            400,
            "invalid_request",
            Some("workspace_id"),
        ),
        (
            json!({"subject": "eve@acme.example", "role": "Owner"}),
            400,
            "invalid_request",
            Some("role"),
        ),
        (
            json!({"role": "Operator"}),
            400,
            "invalid_request",
            Some("subject"),
        ),
        (
            json!({"subject": "eve@acme.example", "role": "Operator", "workspace_id": "wsp_0123456789abcdef0123456789abcdef"}),
            400,
            "invalid_request",
            Some("workspace_id"),
        ),
    ];
    for (body, want_status, want_code, want_field) in &cases {
        let (status, problem) = app
            .call(Some(&admin), Method::POST, &bindings, Some(body.clone()))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (*want_status, Some(*want_code)),
            "{body}: {problem}"
        );
        if let Some(field) = want_field {
            assert_eq!(problem["field"], *field, "{body}");
        }
    }

    // A role in one workspace only.
    let (_, ws) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/tenants/{t}/workspaces"),
            Some(json!({"name": "Desk"})),
        )
        .await;
    let (status, scoped) = app
        .call(
            Some(&admin),
            Method::POST,
            &bindings,
            Some(json!({"subject": "bob@acme.example", "role": "Approver", "workspace_id": ws["workspace_id"]})),
        )
        .await;
    assert_eq!(
        (status, &scoped["workspace_id"]),
        (201, &ws["workspace_id"])
    );

    // Group mappings are listed apart from bindings.
    let mappings = format!("/admin/tenants/{t}/group-mappings");
    let (status, m) = app
        .call(
            Some(&admin),
            Method::POST,
            &mappings,
            Some(json!({"idp_group": "acme-desk", "role": "Operator"})),
        )
        .await;
    assert_eq!((status, m["principal_kind"].as_str()), (201, Some("group")));
    let (_, listed) = app
        .call(
            Some(&As::tenant(Role::Auditor, t)),
            Method::GET,
            &bindings,
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let (_, listed) = app
        .call(
            Some(&As::tenant(Role::Auditor, t)),
            Method::GET,
            &mappings,
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let (status, _) = app
        .call(
            Some(&admin),
            Method::DELETE,
            &format!("{bindings}/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .call(
            Some(&admin),
            Method::DELETE,
            &format!("{bindings}/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let m_id = m["binding_id"].as_str().unwrap();
    let (status, _) = app
        .call(
            Some(&admin),
            Method::DELETE,
            &format!("{bindings}/{m_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "a group mapping is not deleted as a binding");

    let outbox = app.outbox().await;
    let types: Vec<&str> = outbox[before..]
        .iter()
        .map(|o| o.ce_type.as_str())
        .filter(|t| !t.starts_with("plinth.audit") && !t.starts_with("plinth.workspace"))
        .collect();
    assert_eq!(
        types,
        [
            "plinth.role_binding.created",
            "plinth.role_binding.created",
            "plinth.group_mapping.created",
            "plinth.role_binding.deleted",
        ]
    );
    let created = &outbox[before].payload;
    assert_eq!(
        (created["principal"].as_str(), created["role"].as_str()),
        (Some("bob@acme.example"), Some("Operator"))
    );
}

#[tokio::test]
async fn roles_are_granted_only_inside_ones_own_tenant() {
    let app = TestApp::spawn().await;
    let (a, b) = (tenant(&app, "alpha").await, tenant(&app, "beta").await);
    let (_, theirs) = app
        .call(
            Some(&As::platform_admin()),
            Method::POST,
            &format!("/admin/tenants/{b}/role-bindings"),
            Some(json!({"subject": "bob@beta.example", "role": "Operator"})),
        )
        .await;
    let theirs = theirs["binding_id"].as_str().unwrap();
    let a_admin = As::tenant(Role::WorkspaceAdmin, a);
    let (s1, _) = app
        .call(
            Some(&a_admin),
            Method::GET,
            &format!("/admin/tenants/{b}/role-bindings"),
            None,
        )
        .await;
    let (s2, _) = app
        .call(
            Some(&a_admin),
            Method::POST,
            &format!("/admin/tenants/{b}/role-bindings"),
            Some(json!({"subject": "me", "role": "WorkspaceAdmin"})),
        )
        .await;
    let (s3, _) = app
        .call(
            Some(&a_admin),
            Method::DELETE,
            &format!("/admin/tenants/{a}/role-bindings/{theirs}"),
            None,
        )
        .await;
    assert_eq!((s1, s2, s3), (404, 404, 404));
    let (status, _) = app
        .call(
            Some(&As::tenant(Role::Operator, a)),
            Method::POST,
            &format!("/admin/tenants/{a}/role-bindings"),
            Some(json!({"subject": "me", "role": "WorkspaceAdmin"})),
        )
        .await;
    assert_eq!(status, 403, "an operator does not grant roles");
}

#[tokio::test]
async fn only_the_platform_team_binds_msp_staff_to_a_tenant() {
    let app = TestApp::spawn().await;
    let t = tenant(&app, "acme").await;
    let bindings = format!("/admin/tenants/{t}/role-bindings");
    let body = json!({"subject": "olu@msp.example", "role": "PlatformAdmin"});
    for who in [As::tenant(Role::WorkspaceAdmin, t), As::bound_admin(&[t])] {
        let (status, problem) = app
            .call(Some(&who), Method::POST, &bindings, Some(body.clone()))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("forbidden")),
            "{who:?}"
        );
    }
    let (status, b) = app
        .call(
            Some(&As::platform_admin()),
            Method::POST,
            &bindings,
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(b["role"], "PlatformAdmin");
    let id = b["binding_id"].as_str().unwrap();
    // The tenant cannot withdraw the MSP's binding; the platform team can.
    let (status, _) = app
        .call(
            Some(&As::tenant(Role::WorkspaceAdmin, t)),
            Method::DELETE,
            &format!("{bindings}/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, listed) = app
        .call(Some(&As::platform_admin()), Method::GET, &bindings, None)
        .await;
    assert_eq!(
        (status, listed["items"].as_array().unwrap().len()),
        (200, 1),
        "still there"
    );
    let (status, _) = app
        .call(
            Some(&As::platform_admin()),
            Method::DELETE,
            &format!("{bindings}/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
}
