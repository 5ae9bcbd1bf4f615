//! Row-level security, migrations and test databases against the real server.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_core::{ApiError, Region, TenantId};
use plinth_db::testing::TestDb;
use plinth_db::{
    AsyncPgConnection, MigrationSet, TenantScope, connect, migrate, scoped_transaction,
    tenant_transaction,
};

const NOTES: EmbeddedMigrations = embed_migrations!("tests/migrations");

#[derive(Debug, QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, body: &str) -> QueryResult<usize> {
    diesel::sql_query("INSERT INTO notes (tenant_id, body) VALUES ($1, $2)")
        .bind::<Text, _>(tenant.to_string())
        .bind::<Text, _>(body)
        .execute(conn)
        .await
}

async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::sql_query("SELECT count(*) AS n FROM notes")
        .get_result::<Count>(conn)
        .await
        .map(|c| c.n)
}

#[tokio::test]
async fn tenant_transactions_see_and_write_only_their_tenant() {
    let db = TestDb::create("db_rls", MigrationSet([NOTES]))
        .await
        .unwrap();
    let mut conn = connect(&db.app_url()).await.unwrap();
    let (a, b) = (TenantId::new(Region::Us), TenantId::new(Region::Eu));

    tenant_transaction(&mut conn, a, async |c| insert(c, a, "first").await)
        .await
        .unwrap();
    tenant_transaction(&mut conn, a, async |c| insert(c, a, "second").await)
        .await
        .unwrap();
    tenant_transaction(&mut conn, b, async |c| insert(c, b, "other").await)
        .await
        .unwrap();

    let seen_a = tenant_transaction(&mut conn, a, async |c| count(c).await)
        .await
        .unwrap();
    let seen_b = tenant_transaction(&mut conn, b, async |c| count(c).await)
        .await
        .unwrap();
    assert_eq!((seen_a, seen_b), (2, 1));

    // Without a tenant the app role sees nothing; the setting does not leak past
    // the transaction that set it.
    assert_eq!(count(&mut conn).await.unwrap(), 0);

    // Writing another tenant's row inside a tenant's transaction is refused.
    let err = tenant_transaction(&mut conn, b, async |c| insert(c, a, "smuggled").await)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");

    // The owner bypasses nothing either: FORCE applies to it as well.
    let mut owner = connect(&db.owner_url()).await.unwrap();
    assert_eq!(count(&mut owner).await.unwrap(), 0);
}

#[tokio::test]
async fn unique_violations_become_already_exists() {
    let db = TestDb::create("db_rls", MigrationSet([NOTES]))
        .await
        .unwrap();
    let mut conn = connect(&db.app_url()).await.unwrap();
    let t = TenantId::new(Region::Us);
    tenant_transaction(&mut conn, t, async |c| insert(c, t, "same").await)
        .await
        .unwrap();
    let err: ApiError = tenant_transaction(&mut conn, t, async |c| {
        insert(c, t, "same").await.map_err(ApiError::from)
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), plinth_core::Code::AlreadyExists);
    assert_eq!(err.kind().status().as_u16(), 409);
}

#[tokio::test]
async fn migrations_are_idempotent_and_read_only_to_the_app_role() {
    let db = TestDb::create("db_rls", MigrationSet([NOTES]))
        .await
        .unwrap();
    let again = migrate(&db.owner_url(), "plinth_app", MigrationSet([NOTES]))
        .await
        .unwrap();
    assert!(again.is_empty(), "nothing left to apply: {again:?}");

    // The app role reads which migrations are applied (readiness) and changes none.
    let mut app = connect(&db.app_url()).await.unwrap();
    let applied = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut app)
        .await
        .unwrap();
    assert_eq!(applied.n, 1);
    for change in [
        "DELETE FROM __diesel_schema_migrations",
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('99999999999999')",
        "UPDATE __diesel_schema_migrations SET version = '0'",
    ] {
        let err = diesel::sql_query(change)
            .execute(&mut app)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{change}: {err}"
        );
    }
}

#[tokio::test]
async fn test_databases_are_dropped() {
    let name = {
        let db = TestDb::create("db_rls", MigrationSet([NOTES]))
            .await
            .unwrap();
        db.name().to_owned()
    };
    let admin = format!("{}/postgres", plinth_db::testing::owner_server_url());
    let mut conn = connect(&admin).await.unwrap();
    let left = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(&name)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap();
    assert_eq!(left.n, 0, "{name} should have been dropped");
}

const TICKETS: EmbeddedMigrations = embed_migrations!("tests/scoped_migrations");

async fn tickets(conn: &mut AsyncPgConnection, scope: &TenantScope) -> i64 {
    scoped_transaction(conn, scope, async |c| {
        diesel::sql_query("SELECT count(*) AS n FROM tickets")
            .get_result::<Count>(c)
            .await
            .map(|c| c.n)
    })
    .await
    .unwrap()
}

async fn open_ticket(
    conn: &mut AsyncPgConnection,
    scope: &TenantScope,
    tenant: TenantId,
) -> QueryResult<usize> {
    scoped_transaction(conn, scope, async |c| {
        diesel::sql_query("INSERT INTO tickets (tenant_id) VALUES ($1)")
            .bind::<Text, _>(tenant.to_string())
            .execute(c)
            .await
    })
    .await
}

#[tokio::test]
async fn a_scope_of_one_some_or_all_tenants_bounds_reads_and_writes() {
    let db = TestDb::create("db_scope", MigrationSet([plinth_db::MIGRATIONS, TICKETS]))
        .await
        .unwrap();
    let mut conn = connect(&db.app_url()).await.unwrap();
    let (a, b, c) = (
        TenantId::new(Region::Us),
        TenantId::new(Region::Eu),
        TenantId::new(Region::Us),
    );
    for t in [a, b, b, c] {
        open_ticket(&mut conn, &TenantScope::Tenant(t), t)
            .await
            .unwrap();
    }

    assert_eq!(tickets(&mut conn, &TenantScope::Tenant(a)).await, 1);
    assert_eq!(tickets(&mut conn, &TenantScope::Tenant(b)).await, 2);
    assert_eq!(
        tickets(&mut conn, &TenantScope::Tenants(vec![a, b])).await,
        3
    );
    assert_eq!(tickets(&mut conn, &TenantScope::Tenants(vec![])).await, 0);
    assert_eq!(tickets(&mut conn, &TenantScope::All).await, 4);
    let unscoped = diesel::sql_query("SELECT count(*) AS n FROM tickets")
        .get_result::<Count>(&mut conn)
        .await
        .unwrap();
    assert_eq!(unscoped.n, 0, "without a scope the app role sees nothing");

    let refused = open_ticket(&mut conn, &TenantScope::Tenants(vec![a]), b).await;
    assert!(
        refused.is_err(),
        "a row outside the scope cannot be written"
    );
    assert_eq!(tickets(&mut conn, &TenantScope::All).await, 4);
}

#[tokio::test]
async fn the_catalog_check_finds_a_table_without_row_security() {
    let db = TestDb::create("db_rls", MigrationSet([NOTES]))
        .await
        .unwrap();
    assert_eq!(db.row_security_gaps().await.unwrap(), Vec::<String>::new());

    let mut owner = connect(&db.owner_url()).await.unwrap();
    owner
        .batch_execute(
            "ALTER TABLE notes NO FORCE ROW LEVEL SECURITY;
             CREATE TABLE loose (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL);",
        )
        .await
        .unwrap();
    assert_eq!(
        db.row_security_gaps().await.unwrap(),
        [
            "loose: no policy",
            "loose: row-level security is not enabled",
            "loose: row-level security is not forced",
            "notes: row-level security is not forced",
        ]
    );
}
