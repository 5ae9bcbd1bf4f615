//! The gateway's checked-in OpenAPI document matches the one the code generates.

#[test]
fn the_checked_in_openapi_document_is_current() {
    // The gateway's own routes; every other path is a service's.
    plinth_testkit::assert_document_current(
        "gateway",
        &gateway::openapi::document().unwrap(),
        &[
            ("/admin/readiness", "get"),
            ("/auth/me", "get"),
            ("/auth/permissions", "get"),
        ],
    );
}
