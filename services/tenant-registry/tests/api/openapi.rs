//! The checked-in OpenAPI document matches the one the code generates.

use std::path::PathBuf;

#[test]
fn the_checked_in_openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/openapi/tenant-registry.json");
    let generated = tenant_registry::http::openapi::document().unwrap();
    if std::env::var_os("PLINTH_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date: run `PLINTH_UPDATE_SNAPSHOTS=1 cargo nextest run -p tenant-registry openapi` \
         and review the diff",
        path.display()
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, 26, "one documented operation per route");
    // Every route the service serves (http::routes), documented.
    for (path, method) in [
        ("/admin/tenants", "post"),
        ("/admin/tenants", "get"),
        ("/admin/tenants/{tenant_id}", "get"),
        ("/admin/tenants/{tenant_id}/status", "patch"),
        ("/admin/tenants/{tenant_id}/entitlements", "get"),
        ("/admin/tenants/{tenant_id}/entitlements", "put"),
        ("/admin/tenants/{tenant_id}/entitlements/status", "get"),
        ("/admin/tenants/{tenant_id}/role-bindings", "post"),
        ("/admin/tenants/{tenant_id}/role-bindings", "get"),
        (
            "/admin/tenants/{tenant_id}/role-bindings/{binding_id}",
            "delete",
        ),
        ("/admin/tenants/{tenant_id}/group-mappings", "post"),
        ("/admin/tenants/{tenant_id}/group-mappings", "get"),
        (
            "/admin/tenants/{tenant_id}/group-mappings/{binding_id}",
            "delete",
        ),
        ("/admin/tenants/{tenant_id}/onboarding", "post"),
        ("/admin/tenants/{tenant_id}/onboarding", "get"),
        (
            "/admin/tenants/{tenant_id}/onboarding/items/{key}/confirm",
            "post",
        ),
        (
            "/admin/tenants/{tenant_id}/onboarding/items/{key}/retry",
            "post",
        ),
        ("/admin/tenants/{tenant_id}/offboarding", "post"),
        ("/admin/tenants/{tenant_id}/offboarding", "get"),
        (
            "/admin/tenants/{tenant_id}/offboarding/items/{key}/confirm",
            "post",
        ),
        (
            "/admin/tenants/{tenant_id}/offboarding/items/{key}/retry",
            "post",
        ),
        ("/admin/tenants/{tenant_id}/workspaces", "post"),
        ("/admin/tenants/{tenant_id}/workspaces", "get"),
        (
            "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
            "get",
        ),
        (
            "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
            "patch",
        ),
        (
            "/admin/tenants/{tenant_id}/workspaces/{workspace_id}",
            "delete",
        ),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
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
