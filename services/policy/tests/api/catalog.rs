//! The service's database as PostgreSQL's catalog shows it: row-level security
//! holds and the diesel definitions are what the migrations made.

#[tokio::test]
async fn every_tenant_table_is_row_secured_and_the_app_role_owns_nothing() {
    plinth_testkit::assert_row_secured::<crate::helpers::Policy>().await;
}

#[tokio::test]
async fn the_diesel_schema_is_what_the_migrations_make() {
    plinth_testkit::assert_schema_current::<crate::helpers::Policy>(env!("CARGO_MANIFEST_DIR"))
        .await;
}

#[tokio::test]
async fn health_and_metrics_are_served_to_operators_only() {
    let app = crate::helpers::TestApp::spawn().await;
    plinth_testkit::assert_operable(&app).await;
}
