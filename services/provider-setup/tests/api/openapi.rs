//! The checked-in OpenAPI document matches the one the code generates, and
//! nothing but the setup surface's two calls answers without a token.

#[test]
fn the_checked_in_openapi_document_is_current() {
    plinth_testkit::assert_openapi_current::<crate::helpers::ProviderSetup>(
        &provider_setup::http::document().unwrap(),
        &[
            ("/admin/providers/pooled", "get"),
            ("/admin/providers/pooled", "post"),
            ("/admin/providers/pooled/links/{link_id}/revoke", "post"),
            (
                "/admin/providers/pooled/setup-requests/{request_id}/cancel",
                "post",
            ),
            (
                "/admin/providers/pooled/setup-requests/{request_id}/links",
                "post",
            ),
            ("/admin/providers/pooled/{connection_id}", "get"),
            ("/admin/providers/pooled/{connection_id}/grants", "get"),
            (
                "/admin/providers/pooled/{connection_id}/health/check",
                "post",
            ),
            (
                "/admin/providers/pooled/{connection_id}/grants/{tenant_id}",
                "delete",
            ),
            (
                "/admin/providers/pooled/{connection_id}/grants/{tenant_id}",
                "put",
            ),
            ("/admin/providers/pooled/{connection_id}/rotate", "post"),
            ("/admin/providers/tenants/{tenant_id}/connections", "get"),
            ("/admin/providers/tenants/{tenant_id}/connections", "post"),
            (
                "/admin/providers/tenants/{tenant_id}/connections/{connection_id}",
                "get",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connections/{connection_id}/health",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connections/{connection_id}/health/check",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connections/{connection_id}/rotate",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connector-kinds",
                "get",
            ),
            ("/admin/providers/tenants/{tenant_id}/connectors", "get"),
            ("/admin/providers/tenants/{tenant_id}/connectors", "post"),
            (
                "/admin/providers/tenants/{tenant_id}/connectors/links/{link_id}/revoke",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connectors/setup-requests/{request_id}/cancel",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connectors/setup-requests/{request_id}/links",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connectors/{connector_id}",
                "get",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/connectors/{connector_id}/rotate",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/links/{link_id}/revoke",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/setup-requests/{request_id}/cancel",
                "post",
            ),
            (
                "/admin/providers/tenants/{tenant_id}/setup-requests/{request_id}/links",
                "post",
            ),
            (
                "/runtime/providers/tenants/{tenant_id}/connections/{connection_id}/key",
                "post",
            ),
            ("/runtime/providers/tenants/{tenant_id}/selection", "get"),
            ("/setup/api/link", "post"),
            ("/setup/api/redeem", "post"),
        ],
    );
}

#[tokio::test]
async fn only_the_setup_surface_answers_without_a_token() {
    let app = crate::helpers::TestApp::spawn().await;
    let open = app.client.answered_without_a_token().await;
    assert_eq!(
        open,
        ["POST /setup/api/link 400", "POST /setup/api/redeem 400"]
    );
}
