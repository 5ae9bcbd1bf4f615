//! The checked-in OpenAPI document matches the one the code generates.

#[test]
fn the_checked_in_openapi_document_is_current() {
    // Every route the service serves (`http::routes`), documented once.
    plinth_testkit::assert_openapi_current::<crate::helpers::TenantRegistry>(
        &tenant_registry::http::openapi::document().unwrap(),
        &[
            ("/admin/tenants", "get"),
            ("/admin/tenants", "post"),
            ("/admin/tenants/{tenant_id}", "get"),
            ("/admin/tenants/{tenant_id}/entitlements", "get"),
            ("/admin/tenants/{tenant_id}/entitlements", "put"),
            ("/admin/tenants/{tenant_id}/entitlements/status", "get"),
            ("/admin/tenants/{tenant_id}/group-mappings", "get"),
            ("/admin/tenants/{tenant_id}/group-mappings", "post"),
            (
                "/admin/tenants/{tenant_id}/group-mappings/{binding_id}",
                "delete",
            ),
            ("/admin/tenants/{tenant_id}/offboarding", "get"),
            ("/admin/tenants/{tenant_id}/offboarding", "post"),
            (
                "/admin/tenants/{tenant_id}/offboarding/items/{key}/confirm",
                "post",
            ),
            (
                "/admin/tenants/{tenant_id}/offboarding/items/{key}/retry",
                "post",
            ),
            ("/admin/tenants/{tenant_id}/onboarding", "get"),
            ("/admin/tenants/{tenant_id}/onboarding", "post"),
            (
                "/admin/tenants/{tenant_id}/onboarding/items/{key}/confirm",
                "post",
            ),
            (
                "/admin/tenants/{tenant_id}/onboarding/items/{key}/retry",
                "post",
            ),
            ("/admin/tenants/{tenant_id}/role-bindings", "get"),
            ("/admin/tenants/{tenant_id}/role-bindings", "post"),
            (
                "/admin/tenants/{tenant_id}/role-bindings/{binding_id}",
                "delete",
            ),
            ("/admin/tenants/{tenant_id}/status", "patch"),
            ("/admin/tenants/{tenant_id}/workspaces", "get"),
            ("/admin/tenants/{tenant_id}/workspaces", "post"),
            (
                "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
                "get",
            ),
            (
                "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
                "delete",
            ),
            (
                "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
                "patch",
            ),
        ],
    );
}

#[tokio::test]
async fn the_service_serves_its_openapi_document() {
    let app = crate::helpers::TestApp::spawn().await;
    let served = app
        .client
        .http
        .get(format!("{}/openapi.json", app.client.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, tenant_registry::http::openapi::document().unwrap());
}

#[tokio::test]
async fn only_the_openapi_document_is_served_without_a_token() {
    let app = crate::helpers::TestApp::spawn().await;
    let open = app.client.answered_without_a_token().await;
    assert!(open.is_empty(), "answered without a token: {open:?}");
}
