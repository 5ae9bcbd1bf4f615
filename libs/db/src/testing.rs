//! One fresh database per test, cloned from a migrated template.
//!
//! The first test that asks for a set of migrations builds a template database
//! (`plinth_tpl_<key>_<hash of the migration names>`) under an advisory lock, so test
//! processes running in parallel build it once; every test then gets its own
//! `CREATE DATABASE … TEMPLATE …` copy, which is dropped when the [`TestDb`] is.
//!
//! Connection settings come from `PLINTH_TEST_PG_OWNER_URL` and
//! `PLINTH_TEST_PG_APP_URL` (server URLs without a database name), defaulting to the
//! roles the dev stack creates.

use std::hash::{Hash, Hasher};

use anyhow::Context as _;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;

use crate::migrate::quote_ident;
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
    pub async fn create<S>(key: &str, migrations: S) -> anyhow::Result<TestDb>
    where
        S: MigrationSource<Pg> + Send + 'static,
    {
        let owner_server = owner_server_url();
        let app_server =
            std::env::var("PLINTH_TEST_PG_APP_URL").unwrap_or_else(|_| DEFAULT_APP_URL.to_owned());
        let template = template_name(key, &migrations)?;
        let mut admin = connect(&format!("{owner_server}/postgres"))
            .await
            .with_context(|| {
                format!("connecting to {owner_server} as the owner role (is the dev stack up?)")
            })?;
        ensure_template(&mut admin, &owner_server, &template, migrations).await?;

        let name = format!("plinth_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(&template)
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("cloning {template}"))?;
        Ok(TestDb {
            name,
            owner_server,
            app_server,
        })
    }

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
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = format!("{}/postgres", self.owner_server);
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&self.name)
        );
        // A thread of its own: Drop may run inside or outside a runtime.
        let outcome = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut conn = connect(&admin_url).await?;
                diesel::sql_query(sql).execute(&mut conn).await?;
                Ok(())
            })
        })
        .join();
        if !matches!(outcome, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {outcome:?}", self.name);
        }
    }
}

fn template_name<S: MigrationSource<Pg>>(key: &str, migrations: &S) -> anyhow::Result<String> {
    let names = migrations
        .migrations()
        .map_err(|e| anyhow::anyhow!("listing migrations: {e}"))?
        .iter()
        .map(|m| m.name().to_string())
        .collect::<Vec<_>>();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    names.hash(&mut hasher);
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
) -> anyhow::Result<()>
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
        .await
        .with_context(|| format!("migrating template {template}"))?;
        diesel::sql_query(format!(
            "ALTER DATABASE {building_q} RENAME TO {}",
            quote_ident(template)
        ))
        .execute(admin)
        .await?;
        anyhow::Ok(())
    }
    .await;
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind::<Text, _>(template)
        .execute(admin)
        .await?;
    result
}
