//! Row-level security holds in the service's database, read from PostgreSQL's
//! catalog: a new table with a `tenant_id` column but no forced policy fails here.

#[tokio::test]
async fn every_tenant_table_is_row_secured_and_the_app_role_owns_nothing() {
    plinth_testkit::assert_row_secured::<crate::helpers::PackService>().await;
}
