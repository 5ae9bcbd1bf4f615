//! PostgreSQL for Plinth services.
//!
//! - [`connect_pool`]: a diesel-async connection pool for the service's app role.
//! - [`migrate`]: embedded migrations, run at start-up by the owner role; idempotent.
//!   Tables the owner creates are readable and writable by the app role through
//!   default privileges, so a migration that wants less (an append-only table)
//!   revokes it explicitly.
//! - [`scoped_transaction`] with [`TenantScope`] (one tenant, some, or all) and the
//!   policy function `plinth_in_scope` ([`MIGRATIONS`]); [`tenant_transaction`]
//!   for one tenant: a transaction whose tenant is set with `SET LOCAL`, the
//!   backstop for row-level security policies that read `plinth.tenant_id`.
//! - [`testing::TestDb`]: a fresh database per test, cloned from a migrated template.

#![warn(missing_docs)]

mod migrate;
pub mod testing;

use diesel::sql_types::Text;
use diesel_async::pooled_connection::deadpool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use plinth_core::TenantId;

pub use diesel_async::AsyncPgConnection;
pub use migrate::{MigrationSet, SetupError, migrate, migrate_blocking};

/// How far this process's clock is ahead of the system's, in microseconds:
/// moved only by tests ([`advance_clock`]).
#[cfg(feature = "test-clock")]
static CLOCK_AHEAD: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Moves this process's clock — what [`now`] answers — ahead by `by`, so that a
/// test judges deadlines (an approval's expiry) without waiting for them.
/// Built only with the `test-clock` feature, which no service binary enables.
#[cfg(feature = "test-clock")]
pub fn advance_clock(by: std::time::Duration) {
    let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
    CLOCK_AHEAD.fetch_add(micros, std::sync::atomic::Ordering::SeqCst);
}

/// The current time as PostgreSQL keeps it (microseconds), so that what a service
/// answers with is what it stored. Deadlines are judged by it, not by the
/// database's clock.
pub fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    #[cfg(feature = "test-clock")]
    let now = now
        + time::Duration::microseconds(std::sync::atomic::AtomicI64::load(
            &CLOCK_AHEAD,
            std::sync::atomic::Ordering::SeqCst,
        ));
    // Whole microseconds of a valid time are valid nanoseconds.
    now.replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}

/// A pool of connections for the service's app role.
pub type Pool = deadpool::Pool<AsyncPgConnection>;
/// A connection taken from a [`Pool`].
pub type PooledConn = deadpool::Object<AsyncPgConnection>;

/// The session setting that row-level security policies compare `tenant_id` with.
pub const TENANT_SETTING: &str = "plinth.tenant_id";

/// Builds a pool of at most `max_size` connections to `url`. Connections are opened
/// lazily, so this succeeds while the database is still starting.
///
/// A connection taken from the pool is not verified with a query of its own (a
/// round trip on every request): one the server closed (a restart, a
/// terminated backend) is known closed without asking and replaced, as is one
/// left in a broken transaction.
pub fn connect_pool(url: &str, max_size: usize) -> Result<Pool, SetupError> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Ok(deadpool::Pool::builder(manager)
        .max_size(max_size)
        .build()?)
}

/// A service's database at start-up: every pending migration of `migrations` run
/// as the owner role, then a pool for the app role.
pub async fn migrated_pool<S>(
    settings: &plinth_config::DatabaseSettings,
    migrations: S,
) -> Result<Pool, SetupError>
where
    S: diesel::migration::MigrationSource<diesel::pg::Pg> + Send + 'static,
{
    use secrecy::ExposeSecret as _;
    let applied = migrate(
        settings.owner_url.expose_secret(),
        &settings.app_role,
        migrations,
    )
    .await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    connect_pool(settings.app_url.expose_secret(), settings.pool_size)
}

/// A connection from `pool`; an exhausted or unreachable database answers `503`.
pub async fn checkout(pool: &Pool) -> Result<PooledConn, plinth_core::ApiError> {
    pool.get().await.map_err(|e| {
        plinth_core::ApiError::unavailable("the database is unavailable").with_internal(e)
    })
}

/// Runs `f` in a transaction scoped to `tenant`: [`scoped_transaction`] with
/// [`TenantScope::Tenant`], which also sets `plinth.tenant_id` for policies that read
/// it directly.
pub async fn tenant_transaction<R, E, F>(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    f: F,
) -> Result<R, E>
where
    F: for<'r> AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<R, E>
        + for<'r> TxFn<'r, R, E>
        + Send,
    E: From<diesel::result::Error> + Send,
    R: Send,
{
    scoped_transaction(conn, &TenantScope::Tenant(tenant), f).await
}

/// The shape of a transaction body: an async closure over the connection whose future
/// is `Send`, so the transaction can run on any worker thread.
pub trait TxFn<'r, R, E>:
    FnOnce(&'r mut AsyncPgConnection) -> <Self as TxFn<'r, R, E>>::Fut
{
    /// The body's future.
    type Fut: Future<Output = Result<R, E>> + Send;
}

impl<'r, F, Fut, R, E> TxFn<'r, R, E> for F
where
    F: FnOnce(&'r mut AsyncPgConnection) -> Fut,
    Fut: Future<Output = Result<R, E>> + Send,
{
    type Fut = Fut;
}

/// The session setting that [`plinth_in_scope`](MIGRATIONS) reads: one tenant id,
/// a comma-separated list, or `*`.
pub const SCOPE_SETTING: &str = "plinth.tenant_scope";

/// The function `plinth_in_scope(tenant_id)` for row-level security policies;
/// apply it before the service's own migrations.
pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

/// Which tenants' rows a transaction may see and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// One tenant: every tenant-scoped request.
    Tenant(TenantId),
    /// The tenants an MSP staff member is bound to.
    Tenants(Vec<TenantId>),
    /// Every tenant: platform-wide requests of platform roles, and the service's
    /// own work that spans tenants.
    All,
}

impl TenantScope {
    /// The scope of a request: its own tenant for tenant roles; for platform
    /// roles, the tenants the caller is bound to (`bound`), or all.
    pub fn of(ctx: &plinth_core::ReqCtx, bound: Option<&[TenantId]>) -> Self {
        if ctx.roles.iter().any(|r| r.is_platform()) {
            match bound {
                Some(bound) => TenantScope::Tenants(bound.to_vec()),
                None => TenantScope::All,
            }
        } else {
            match ctx.tenant {
                Some(t) => TenantScope::Tenant(t),
                None => TenantScope::Tenants(Vec::new()),
            }
        }
    }

    fn setting(&self) -> String {
        match self {
            TenantScope::Tenant(t) => t.to_string(),
            TenantScope::Tenants(ts) => ts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            TenantScope::All => "*".to_owned(),
        }
    }

    /// Whether `tenant` is in the scope.
    pub fn contains(&self, tenant: TenantId) -> bool {
        match self {
            TenantScope::Tenant(t) => *t == tenant,
            TenantScope::Tenants(ts) => ts.contains(&tenant),
            TenantScope::All => true,
        }
    }
}

/// Runs `f` in a transaction whose row-level security scope is `scope`
/// (`SET LOCAL plinth.tenant_scope`).
pub async fn scoped_transaction<R, E, F>(
    conn: &mut AsyncPgConnection,
    scope: &TenantScope,
    f: F,
) -> Result<R, E>
where
    F: for<'r> AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<R, E>
        + for<'r> TxFn<'r, R, E>
        + Send,
    E: From<diesel::result::Error> + Send,
    R: Send,
{
    let scope = scope.clone();
    conn.transaction(async move |conn| {
        set_scope_on_conn(conn, &scope).await?;
        f(conn).await
    })
    .await
}

/// Sets the row-level security scope for the rest of the open transaction on `conn`
/// (a consumer's handler, which runs inside the consumer's transaction):
/// `plinth.tenant_scope`, and `plinth.tenant_id` for a scope of one tenant (empty
/// otherwise).
pub async fn set_scope_on_conn(
    conn: &mut AsyncPgConnection,
    scope: &TenantScope,
) -> Result<(), diesel::result::Error> {
    let tenant = match scope {
        TenantScope::Tenant(t) => t.to_string(),
        TenantScope::Tenants(_) | TenantScope::All => String::new(),
    };
    // A query of diesel's own (not raw SQL): its prepared statement is cached
    // on the connection, so setting the scope is one round trip.
    diesel::select((
        set_config(SCOPE_SETTING, scope.setting(), true),
        set_config(TENANT_SETTING, tenant, true),
    ))
    .execute(conn)
    .await
    .map(drop)
}

diesel::define_sql_function! {
    /// PostgreSQL's `set_config(name, value, is_local)`.
    fn set_config(name: Text, value: Text, is_local: diesel::sql_types::Bool) -> Text;
}

/// Opens one connection outside any pool (listeners, administrative work).
pub async fn connect(url: &str) -> Result<AsyncPgConnection, diesel::ConnectionError> {
    AsyncPgConnection::establish(url).await
}
