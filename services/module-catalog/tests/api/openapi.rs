//! The checked-in OpenAPI document matches the one the code generates.

#[test]
fn the_checked_in_openapi_document_is_current() {
    plinth_testkit::assert_openapi_current::<crate::helpers::ModuleCatalog>(
        &module_catalog::http::document().unwrap(),
        &[
            ("/admin/deployments", "get"),
            ("/admin/deployments/{region}/{module_id}", "put"),
            ("/admin/modules", "get"),
            ("/admin/modules/import", "post"),
            ("/admin/modules/{module_id}/{version}", "get"),
            ("/admin/modules/{module_id}/{version}/{decision}", "post"),
            ("/admin/tenant-modules/{tenant_id}", "get"),
            ("/admin/tenant-modules/{tenant_id}/enable", "post"),
            ("/admin/tenant-modules/{tenant_id}/readiness", "get"),
            ("/admin/tenant-modules/{tenant_id}/{enablement_id}", "get"),
            (
                "/admin/tenant-modules/{tenant_id}/{enablement_id}/cleanup/{step_id}",
                "post",
            ),
            (
                "/admin/tenant-modules/{tenant_id}/{enablement_id}/disable",
                "post",
            ),
            (
                "/admin/tenant-modules/{tenant_id}/{enablement_id}/upgrade",
                "post",
            ),
            ("/admin/trust/reviews", "get"),
            ("/admin/trust/reviews/{review_id}", "get"),
            ("/admin/trust/signers", "get"),
            ("/admin/trust/signers", "post"),
            ("/admin/trust/signers/{signer_id}/expire", "post"),
            ("/admin/trust/signers/{signer_id}/revoke", "post"),
        ],
    );
}
