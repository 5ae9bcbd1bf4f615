//! The checked-in OpenAPI document matches the one the code generates, and no
//! operation answers without a token.

#[test]
fn the_checked_in_openapi_document_is_current() {
    plinth_testkit::assert_openapi_current::<crate::helpers::Policy>(
        &policy::http::document().unwrap(),
        &[
            ("/admin/policies/records", "get"),
            ("/admin/policies/records", "post"),
            ("/admin/policies/records/{record_id}", "get"),
            ("/admin/policies/records/{record_id}/draft", "put"),
            ("/admin/policies/records/{record_id}/publish", "post"),
            ("/admin/policies/records/{record_id}/retire", "post"),
            ("/admin/policies/tenants/{tenant_id}/approvals", "get"),
            (
                "/admin/policies/tenants/{tenant_id}/approvals/{request_id}/decision",
                "post",
            ),
            ("/admin/policies/tenants/{tenant_id}/effective", "get"),
            ("/admin/policies/tenants/{tenant_id}/notifications", "get"),
            ("/admin/policies/tenants/{tenant_id}/records", "get"),
            ("/admin/policies/tenants/{tenant_id}/records", "post"),
            (
                "/admin/policies/tenants/{tenant_id}/records/{record_id}",
                "get",
            ),
            (
                "/admin/policies/tenants/{tenant_id}/records/{record_id}/draft",
                "put",
            ),
            (
                "/admin/policies/tenants/{tenant_id}/records/{record_id}/publish",
                "post",
            ),
            (
                "/admin/policies/tenants/{tenant_id}/records/{record_id}/retire",
                "post",
            ),
            ("/admin/policies/tenants/{tenant_id}/runs", "get"),
            ("/admin/policies/tenants/{tenant_id}/runs/{run_id}", "get"),
            (
                "/admin/policies/tenants/{tenant_id}/runs/{run_id}/steps/{seq}/done",
                "post",
            ),
            ("/admin/policies/tenants/{tenant_id}/usage", "get"),
            ("/runtime/policy/tenants/{tenant_id}/bundle", "get"),
            ("/runtime/policy/tenants/{tenant_id}/decisions", "post"),
            ("/runtime/policy/tenants/{tenant_id}/runs", "post"),
            ("/runtime/policy/tenants/{tenant_id}/runs/{run_id}", "get"),
            (
                "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/end",
                "post",
            ),
            (
                "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/steps",
                "post",
            ),
            (
                "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/steps/{seq}",
                "get",
            ),
            (
                "/runtime/policy/tenants/{tenant_id}/runs/{run_id}/steps/{seq}/end",
                "post",
            ),
        ],
    );
}

#[tokio::test]
async fn nothing_answers_without_a_token() {
    let app = crate::helpers::TestApp::spawn().await;
    assert_eq!(
        app.client.answered_without_a_token().await,
        Vec::<String>::new()
    );
}
