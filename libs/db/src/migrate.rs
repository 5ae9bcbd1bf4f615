//! Embedded migrations, run by the owner role at start-up.

use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// A database that could not be prepared at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The owner role could not connect.
    #[error("connecting to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A statement of the preparation failed (granting the app role its
    /// privileges).
    #[error("preparing the database: {0}")]
    Statement(#[from] diesel::result::Error),
    /// A migration failed; the ones before it stay applied.
    #[error("running migrations: {0}")]
    Migration(Box<dyn std::error::Error + Send + Sync>),
    /// The thread running the migrations ended without an answer.
    #[error("the migration thread panicked")]
    Panicked,
    /// The pool's settings were refused.
    #[error("building the connection pool: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::BuildError),
}

/// Several embedded migration directories applied as one ordered set: a library's
/// own tables (the outbox, the inbox) next to the service's. Versions must be
/// unique across the directories.
pub struct MigrationSet<const N: usize>(pub [EmbeddedMigrations; N]);

impl<const N: usize> std::fmt::Debug for MigrationSet<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MigrationSet({N} directories)")
    }
}

impl<const N: usize> MigrationSource<Pg> for MigrationSet<N> {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        let mut all = Vec::new();
        for set in &self.0 {
            all.extend(MigrationSource::<Pg>::migrations(set)?);
        }
        all.sort_by(|a, b| a.name().version().cmp(&b.name().version()));
        // Versions are what the migrations table records: two directories sharing
        // one would silently skip a migration.
        if let Some(pair) = all
            .windows(2)
            .find(|w| w[0].name().version() == w[1].name().version())
        {
            return Err(format!(
                "migrations {} and {} share a version",
                pair[0].name(),
                pair[1].name()
            )
            .into());
        }
        Ok(all)
    }
}

/// Runs every pending migration as the owner role at `url`, after granting `app_role`
/// default privileges on what the owner creates. Safe to run again: applied
/// migrations are skipped.
///
/// Runs on a thread of its own, because diesel's migration harness is synchronous.
pub async fn migrate<S>(url: &str, app_role: &str, migrations: S) -> Result<Vec<String>, SetupError>
where
    S: MigrationSource<Pg> + Send + 'static,
{
    let (url, app_role) = (url.to_owned(), app_role.to_owned());
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(migrate_blocking(&url, &app_role, migrations));
    });
    rx.await.map_err(|_| SetupError::Panicked)?
}

/// [`migrate`] for callers outside an async runtime.
pub fn migrate_blocking<S>(
    url: &str,
    app_role: &str,
    migrations: S,
) -> Result<Vec<String>, SetupError>
where
    S: MigrationSource<Pg>,
{
    use diesel::Connection as _;
    use diesel::connection::SimpleConnection as _;

    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)?;
    // Replicas starting at once migrate one after the other: the second finds
    // every migration applied. Held until this connection closes.
    conn.batch_execute("SELECT pg_advisory_lock(1886154356, 1835624545)")?;
    let role = quote_ident(app_role);
    conn.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA public TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT USAGE, SELECT ON SEQUENCES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT EXECUTE ON FUNCTIONS TO {role};"
    ))?;
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(SetupError::Migration)?
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>();
    // The app role reads which migrations are applied (readiness), and changes
    // none of it.
    conn.batch_execute(&format!(
        "REVOKE ALL ON __diesel_schema_migrations FROM {role};
         GRANT SELECT ON __diesel_schema_migrations TO {role};"
    ))?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied migrations");
    }
    Ok(applied)
}

/// Quotes an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
