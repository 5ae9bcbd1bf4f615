//! The checked-in OpenAPI document matches the one the code generates.

#[test]
fn the_checked_in_openapi_document_is_current() {
    // Every route the service serves (`http::routes`), documented once.
    plinth_testkit::assert_openapi_current::<crate::helpers::PackService>(
        &pack_service::http::openapi::document().unwrap(),
        &[
            ("/admin/packs/activate", "post"),
            ("/admin/packs/attempts", "get"),
            ("/admin/packs/attempts/{attempt_id}", "get"),
            ("/admin/packs/domain", "get"),
            ("/admin/packs/domain/import", "post"),
            ("/admin/packs/domain/{domain}/{version}", "get"),
            ("/admin/packs/domain/{domain}/{version}/deprecate", "post"),
            ("/admin/packs/tenant/import", "post"),
            ("/admin/packs/tenant/{tenant_id}", "get"),
            ("/admin/packs/tenant/{tenant_id}/active", "get"),
            ("/admin/packs/tenant/{tenant_id}/attempts", "get"),
            ("/admin/packs/tenant/{tenant_id}/changes", "get"),
            (
                "/admin/packs/tenant/{tenant_id}/changes/{change_id}/approve",
                "post",
            ),
            (
                "/admin/packs/tenant/{tenant_id}/changes/{change_id}/reject",
                "post",
            ),
            ("/admin/packs/tenant/{tenant_id}/playbooks", "get"),
            ("/admin/packs/tenant/{tenant_id}/playbooks", "post"),
            (
                "/admin/packs/tenant/{tenant_id}/playbooks/{playbook}",
                "delete",
            ),
            ("/admin/packs/tenant/{tenant_id}/settings", "get"),
            ("/admin/packs/tenant/{tenant_id}/settings", "put"),
            (
                "/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows",
                "get",
            ),
            (
                "/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows",
                "post",
            ),
            (
                "/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows/{workflow}/{version}",
                "get",
            ),
            ("/admin/packs/tenant/{tenant_id}/{version}", "get"),
            (
                "/admin/packs/tenant/{tenant_id}/{version}/deprecate",
                "post",
            ),
            ("/admin/packs/tools", "get"),
            ("/admin/packs/validate", "post"),
            ("/admin/playbooks", "get"),
            ("/admin/playbooks", "post"),
            ("/admin/playbooks/{playbook}/{version}", "get"),
            ("/runtime/tenants/{tenant_id}/classifications", "get"),
            ("/runtime/tenants/{tenant_id}/classify", "post"),
            ("/runtime/tenants/{tenant_id}/config", "get"),
        ],
    );
}

#[tokio::test]
async fn only_the_openapi_document_is_served_without_a_token() {
    let app = crate::helpers::TestApp::spawn().await;
    let open = app.client.answered_without_a_token().await;
    assert!(open.is_empty(), "answered without a token: {open:?}");
}
