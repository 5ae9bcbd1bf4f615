//! The checked-in OpenAPI document matches the one the code generates.

#[test]
fn the_checked_in_openapi_document_is_current() {
    // Every route the service serves (`http::routes`), documented once.
    plinth_testkit::assert_openapi_current::<crate::helpers::AuditService>(
        &audit::http::openapi::document().unwrap(),
        &[
            ("/admin/audit/key", "get"),
            ("/admin/audit/logs/{log}/checkpoints/latest", "get"),
            ("/admin/audit/logs/{log}/checkpoints/{size}", "get"),
            ("/admin/audit/logs/{log}/consistency", "get"),
            ("/admin/audit/logs/{log}/entries", "get"),
            ("/admin/audit/logs/{log}/entries/{index}", "get"),
            ("/admin/audit/logs/{log}/export", "get"),
            ("/admin/audit/logs/{log}/export/oscal", "get"),
            ("/admin/audit/logs/{log}/verify", "post"),
        ],
    );
}

#[tokio::test]
async fn only_the_openapi_document_is_served_without_a_token() {
    let app = crate::helpers::TestApp::spawn().await;
    let open = app.client.answered_without_a_token().await;
    assert!(open.is_empty(), "answered without a token: {open:?}");
}
