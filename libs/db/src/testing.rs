//! One fresh database per test, cloned from a migrated template.
//!
//! The first test that asks for a set of migrations builds a template database
//! (`plinth_tpl_<key>_<hash of the migrations' names and SQL>`) under an advisory
//! lock, so test
//! processes running in parallel build it once; every test then gets its own
//! `CREATE DATABASE … TEMPLATE …` copy, which is dropped when the [`TestDb`] is.
//!
//! Connection settings come from `PLINTH_TEST_PG_OWNER_URL` and
//! `PLINTH_TEST_PG_APP_URL` (server URLs without a database name), defaulting to the
//! roles the dev stack creates.

use std::any::Any;
use std::hash::{Hash, Hasher};

use diesel::connection::{BoxableConnection, SimpleConnection};
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;

use crate::migrate::{SetupError, quote_ident};
use crate::{AsyncPgConnection, connect, migrate};

const DEFAULT_OWNER_URL: &str = "postgres://plinth_owner:plinth@127.0.0.1:5432";
const DEFAULT_APP_URL: &str = "postgres://plinth_app:plinth@127.0.0.1:5432";
/// The app role the dev stack creates, which tests connect as.
pub const TEST_APP_ROLE: &str = "plinth_app";

/// The server URL (no database name) for the owner role that tests use.
pub fn owner_server_url() -> String {
    std::env::var("PLINTH_TEST_PG_OWNER_URL").unwrap_or_else(|_| DEFAULT_OWNER_URL.to_owned())
}

/// A database of its own for one test; dropped with this value.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    owner_server: String,
    app_server: String,
}

impl TestDb {
    /// A new database with `migrations` applied; `key` names the template
    /// (usually the crate or service under test).
    pub async fn create<S>(key: &str, migrations: S) -> Result<TestDb, SetupError>
    where
        S: MigrationSource<Pg> + Send + 'static,
    {
        let owner_server = owner_server_url();
        let app_server =
            std::env::var("PLINTH_TEST_PG_APP_URL").unwrap_or_else(|_| DEFAULT_APP_URL.to_owned());
        let template = template_name(key, &migrations)?;
        // An unreachable server here means the dev stack's PostgreSQL is not up.
        let mut admin = connect(&format!("{owner_server}/postgres")).await?;
        ensure_template(&mut admin, &owner_server, &template, migrations).await?;

        let name = format!("plinth_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(&template)
        ))
        .execute(&mut admin)
        .await?;
        Ok(TestDb {
            name,
            owner_server,
            app_server,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL for the owner role (migrations, test set-up that bypasses the app).
    pub fn owner_url(&self) -> String {
        format!("{}/{}", self.owner_server, self.name)
    }

    /// URL for the app role: not the owner, no `BYPASSRLS` — what services use.
    pub fn app_url(&self) -> String {
        format!("{}/{}", self.app_server, self.name)
    }

    /// What this database lacks of row-level security, read from the catalog, one
    /// line a gap (none when it holds): every table with a `tenant_id` column has
    /// row-level security enabled and forced and at least one policy; the app role
    /// owns no table, function or schema here (an owner could switch it off) and
    /// neither bypasses row-level security nor is a superuser.
    pub async fn row_security_gaps(&self) -> Result<Vec<String>, SetupError> {
        #[derive(diesel::QueryableByName)]
        struct Gap {
            #[diesel(sql_type = Text)]
            gap: String,
        }
        #[derive(diesel::QueryableByName)]
        struct Role {
            #[diesel(sql_type = Text)]
            name: String,
        }
        let app_role = diesel::sql_query("SELECT current_user::text AS name")
            .get_result::<Role>(&mut connect(&self.app_url()).await?)
            .await?
            .name;
        let gaps: Vec<Gap> = diesel::sql_query(ROW_SECURITY_GAPS)
            .bind::<Text, _>(&app_role)
            .load(&mut connect(&self.owner_url()).await?)
            .await?;
        Ok(gaps.into_iter().map(|g| g.gap).collect())
    }
}

/// The catalog query of [`TestDb::row_security_gaps`]; `$1` is the app role.
const ROW_SECURITY_GAPS: &str = "
WITH tenant_tables AS (
    SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
)
SELECT gap FROM (
    SELECT relname || ': row-level security is not enabled' AS gap
      FROM tenant_tables WHERE NOT relrowsecurity
    UNION ALL
    SELECT relname || ': row-level security is not forced'
      FROM tenant_tables WHERE NOT relforcerowsecurity
    UNION ALL
    SELECT relname || ': no policy'
      FROM tenant_tables t WHERE NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid)
    UNION ALL
    SELECT 'the app role owns the relation ' || c.relname
      FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1
    UNION ALL
    SELECT 'the app role owns the function ' || p.proname
      FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = $1
    UNION ALL
    SELECT 'the app role owns the schema ' || n.nspname
      FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE r.rolname = $1
    UNION ALL
    SELECT 'the app role bypasses row-level security'
      FROM pg_roles WHERE rolname = $1 AND (rolbypassrls OR rolsuper)
) gaps
ORDER BY gap";

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = format!("{}/postgres", self.owner_server);
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&self.name)
        );
        // A thread of its own: Drop may run inside or outside a runtime.
        let outcome = std::thread::spawn(
            move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let mut conn = connect(&admin_url).await?;
                    diesel::sql_query(sql).execute(&mut conn).await?;
                    Ok(())
                })
            },
        )
        .join();
        if !matches!(outcome, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {outcome:?}", self.name);
        }
    }
}

fn template_name<S: MigrationSource<Pg>>(key: &str, migrations: &S) -> Result<String, SetupError> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for migration in migrations.migrations().map_err(SetupError::Migration)? {
        let mut sql = SqlRecorder::default();
        migration.run(&mut sql).map_err(SetupError::Migration)?;
        migration.name().to_string().hash(&mut hasher);
        sql.0.hash(&mut hasher);
    }
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    Ok(format!("plinth_tpl_{key}_{:016x}", hasher.finish()))
}

/// Collects the SQL a migration runs instead of running it, so that a template's
/// name changes whenever a migration's content does.
#[derive(Default)]
struct SqlRecorder(String);

impl SimpleConnection for SqlRecorder {
    fn batch_execute(&mut self, query: &str) -> diesel::QueryResult<()> {
        self.0.push_str(query);
        Ok(())
    }
}

impl BoxableConnection<Pg> for SqlRecorder {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

async fn ensure_template<S>(
    admin: &mut AsyncPgConnection,
    owner_server: &str,
    template: &str,
    migrations: S,
) -> Result<(), SetupError>
where
    S: MigrationSource<Pg> + Send + 'static,
{
    diesel::sql_query("SELECT pg_advisory_lock(hashtext($1))")
        .bind::<Text, _>(template)
        .execute(admin)
        .await?;
    let result = async {
        let found = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
        )
        .bind::<Text, _>(template)
        .get_result::<Exists>(admin)
        .await?;
        if found.exists {
            return Ok(());
        }
        let building = format!("{template}_b");
        let building_q = quote_ident(&building);
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building_q} WITH (FORCE)"))
            .execute(admin)
            .await?;
        diesel::sql_query(format!("CREATE DATABASE {building_q}"))
            .execute(admin)
            .await?;
        migrate(
            &format!("{owner_server}/{building}"),
            TEST_APP_ROLE,
            migrations,
        )
        .await?;
        diesel::sql_query(format!(
            "ALTER DATABASE {building_q} RENAME TO {}",
            quote_ident(template)
        ))
        .execute(admin)
        .await?;
        Ok::<_, SetupError>(())
    }
    .await;
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind::<Text, _>(template)
        .execute(admin)
        .await?;
    result
}

#[cfg(test)]
mod tests {
    use diesel_migrations::FileBasedMigrations;

    use super::template_name;

    #[test]
    fn a_template_follows_the_content_of_its_migrations() {
        let dir = std::env::temp_dir().join(format!("plinth-tpl-{}", uuid::Uuid::new_v4()));
        let migration = dir.join("2026-01-01-000000_things");
        std::fs::create_dir_all(&migration).unwrap();
        let name_with = |sql: &str| {
            std::fs::write(migration.join("up.sql"), sql).unwrap();
            std::fs::write(migration.join("down.sql"), "DROP TABLE things;").unwrap();
            template_name("key", &FileBasedMigrations::from_path(&dir).unwrap()).unwrap()
        };
        let first = name_with("CREATE TABLE things (id BIGINT);");
        let same = name_with("CREATE TABLE things (id BIGINT);");
        let changed = name_with("CREATE TABLE things (id BIGINT, name TEXT);");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(first, same);
        assert_ne!(first, changed, "an edited migration builds a new template");
        assert!(first.starts_with("plinth_tpl_key_"));
    }
}
