//! Row-level security holds in the service's database, read from PostgreSQL's
//! catalog: a new table with a `tenant_id` column but no forced policy fails here.

use plinth_db::testing::TestDb;

#[tokio::test]
async fn every_tenant_table_is_row_secured_and_the_app_role_owns_nothing() {
    let db = TestDb::create("pack_service", pack_service::all_migrations())
        .await
        .unwrap();
    let gaps = db.row_security_gaps().await.unwrap();
    assert!(gaps.is_empty(), "{gaps:#?}");
}
