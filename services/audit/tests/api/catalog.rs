//! The service's database as PostgreSQL's catalog shows it: row-level security
//! holds (a new table with a `tenant_id` column but no forced policy fails here),
//! and the diesel definitions are what the migrations made.

#[tokio::test]
async fn every_tenant_table_is_row_secured_and_the_app_role_owns_nothing() {
    plinth_testkit::assert_row_secured::<crate::helpers::AuditService>().await;
}

#[tokio::test]
async fn the_diesel_schema_is_what_the_migrations_make() {
    plinth_testkit::assert_schema_current::<crate::helpers::AuditService>(env!(
        "CARGO_MANIFEST_DIR"
    ))
    .await;
}
