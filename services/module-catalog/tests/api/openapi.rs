//! The checked-in OpenAPI document matches the one the code generates.

#[test]
fn the_checked_in_openapi_document_is_current() {
    plinth_testkit::assert_openapi_current::<crate::helpers::ModuleCatalog>(
        &module_catalog::http::document().unwrap(),
        &[
            ("/admin/modules", "get"),
            ("/admin/modules/import", "post"),
            ("/admin/modules/{module_id}/{version}", "get"),
            ("/admin/modules/{module_id}/{version}/{decision}", "post"),
            ("/admin/trust/reviews", "get"),
            ("/admin/trust/reviews/{review_id}", "get"),
            ("/admin/trust/signers", "get"),
            ("/admin/trust/signers", "post"),
            ("/admin/trust/signers/{signer_id}/expire", "post"),
            ("/admin/trust/signers/{signer_id}/revoke", "post"),
        ],
    );
}
