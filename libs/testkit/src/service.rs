//! One service under test, started the way every service's tests start it: a
//! database of its own cloned from its migrated template, topics under a prefix of
//! its own on the test broker, a fresh internal-token key pair, the service's
//! default settings with the test's overrides, port 0. The service's tests wrap a
//! [`Harness`] in their own `TestApp` and add what is theirs (playing the registry,
//! importing examples, reading checklists).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use plinth_bus::{Area, BusConfig, Event, Schemas};
use plinth_core::service::Service;
use plinth_core::{Region, TenantId};
use plinth_db::testing::{TEST_APP_ROLE, TestDb};
use plinth_service::ServiceSettings;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    As, Outgoing, Publisher, ServiceClient, TokenKeys, read_outbox, test_bus, test_bus_settings,
    test_topic_prefix,
};

/// What a service tells the harness about itself.
pub trait TestedService {
    /// Its settings.
    type Settings: ServiceSettings + Clone;
    /// The audience of its internal tokens; also names its template database.
    const NAME: &'static str;
    /// Every migration its database needs.
    fn migrations() -> impl MigrationSource<Pg> + Send + 'static;
    /// The service bound and ready to serve.
    fn build(
        settings: Self::Settings,
    ) -> impl Future<Output = Result<Service, plinth_service::StartError>>;
}

/// Declares `$name` as the tested service of crate `$krate`, whose lib exposes
/// `Settings`, `AUDIENCE`, `all_migrations()` and `Application::build`, as every
/// service's does: `tested_service!(PackService, pack_service);`
#[macro_export]
macro_rules! tested_service {
    ($name:ident, $krate:ident) => {
        /// The service, as the shared harness starts it.
        pub struct $name;

        impl $crate::TestedService for $name {
            type Settings = $krate::Settings;
            const NAME: &'static str = $krate::AUDIENCE;

            fn migrations()
            -> impl diesel::migration::MigrationSource<diesel::pg::Pg> + Send + 'static {
                $krate::all_migrations()
            }

            async fn build(
                settings: $krate::Settings,
            ) -> Result<plinth_core::service::Service, plinth_service::StartError> {
                $krate::Application::build(settings).await
            }
        }
    };
}

/// A running service and what a test reads it through.
pub struct Harness<S: TestedService> {
    /// Calls the service with internal tokens minted as the gateway would.
    pub client: ServiceClient,
    /// The test broker under the test's topic prefix, as its super user.
    pub bus: BusConfig,
    /// Every published schema (`schemas/avro/`), to encode and decode events.
    pub schemas: Schemas,
    /// The service's own test database.
    pub db: TestDb,
    /// The settings the service runs with.
    pub settings: S::Settings,
    keys: TokenKeys,
    publisher: Publisher,
    /// The settings as JSON, before `spawn`'s `configure`.
    values: Value,
}

impl<S: TestedService> std::fmt::Debug for Harness<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("service", &S::NAME)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl<S: TestedService> Harness<S> {
    /// Starts the service in `region`: its defaults, the test's database, topics
    /// and key, `overrides` merged over them (nested objects key by key), then
    /// `configure`. The relay is off (tests read the outbox directly) and the
    /// consumers on, unless `overrides` says otherwise.
    pub async fn spawn(
        region: Region,
        overrides: Value,
        configure: impl FnOnce(&mut S::Settings),
    ) -> Self {
        let db = TestDb::create(S::NAME, S::migrations()).await.unwrap();
        let keys = TokenKeys::generate();
        let prefix = test_topic_prefix();
        let mut all = test_settings(region, &db, &keys, &prefix);
        merge(&mut all, overrides);
        let mut settings = S::Settings::with_overrides(all.clone()).unwrap();
        configure(&mut settings);
        let bus = test_bus(prefix);
        let client = start::<S>(settings.clone(), region, &keys).await;
        let schemas =
            Schemas::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro"))
                .unwrap();
        Harness {
            client,
            publisher: Publisher::new(&bus),
            bus,
            schemas,
            db,
            settings,
            keys,
            values: all,
        }
    }

    /// Another process of the same service (same database, same topics) with
    /// `overrides` merged over the settings `spawn` started from (without its
    /// `configure`): a restart with other settings, or an upgrade.
    pub async fn process_with(&self, overrides: Value) -> ServiceClient {
        let mut all = self.values.clone();
        merge(&mut all, overrides);
        let settings = S::Settings::with_overrides(all).unwrap();
        start::<S>(settings, self.client.region(), &self.keys).await
    }

    /// Leaves the service's consumer group `role` past everything on the tenant
    /// registry's topic now, as a version of the service that read it without
    /// keeping what it did not want would have left it. The group must have no
    /// member.
    pub async fn pass_over_registry_events(&self, role: &str) {
        use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
        use rdkafka::{Offset, TopicPartitionList};
        let topic = self.bus.topic(Area::Tenant);
        let group = format!("{}{}.{role}", self.bus.topic_prefix, S::NAME);
        let mut config = self.bus.client_config();
        config.set("group.id", &group);
        let consumer: BaseConsumer = config.create().unwrap();
        let timeout = Duration::from_secs(10);
        let metadata = consumer.fetch_metadata(Some(&topic), timeout).unwrap();
        let mut ends = TopicPartitionList::new();
        for partition in metadata.topics()[0].partitions() {
            let (_, high) = consumer
                .fetch_watermarks(&topic, partition.id(), timeout)
                .unwrap();
            ends.add_partition_offset(&topic, partition.id(), Offset::Offset(high))
                .unwrap();
        }
        consumer.commit(&ends, CommitMode::Sync).unwrap();
    }

    /// A second process of the same service: same database, same topics.
    pub async fn replica(&self) -> ServiceClient {
        let region = self.client.region();
        start::<S>(self.settings.clone(), region, &self.keys).await
    }

    /// Sends a request as `who` (none: no token); the status and the JSON body
    /// (`Null` if none).
    pub async fn call(
        &self,
        who: Option<&As>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.client.call(who, method, path, body).await
    }

    /// Sends `event` to its topic, as the service that owns it would.
    pub async fn deliver(&self, event: &Event) {
        self.publisher.deliver(event).await;
    }

    /// Sends `value`, encoded with the Avro schema `schema`, as the tenant
    /// registry's event `ty` about `tenant`.
    pub async fn announce(&self, ty: &str, schema: &str, tenant: TenantId, value: &Value) {
        let payload = self.schemas.encode(schema, value).unwrap();
        self.deliver(&Event::new(
            self.bus.topic(Area::Tenant),
            tenant.to_string(),
            ty,
            format!("/plinth/{}/tenant-registry", tenant.region()),
            payload,
        ))
        .await;
    }

    /// Everything the service has put in its outbox, oldest first.
    pub async fn outbox(&self) -> Vec<Outgoing> {
        read_outbox(&self.db.owner_url(), &self.schemas).await
    }

    /// The payloads of the events of type `ty` in the service's outbox, oldest
    /// first, once there are at least `n` (a minute at most).
    pub async fn published(&self, ty: &str, n: usize) -> Vec<Value> {
        let found = || async {
            self.outbox()
                .await
                .into_iter()
                .filter(|e| e.ce_type == ty)
                .map(|e| e.payload)
                .collect::<Vec<_>>()
        };
        crate::wait_until(&format!("{n} × {ty}"), Duration::from_secs(60), || async {
            found().await.len() >= n
        })
        .await;
        found().await
    }
}

/// The settings of a service under test in `region`, before its test's own:
/// `db`, the test broker under `prefix` (relay off, consumers on, one partition a
/// topic), internal tokens checked with `keys`, any free port.
pub fn test_settings(region: Region, db: &TestDb, keys: &TokenKeys, prefix: &str) -> Value {
    json!({
        "region": region,
        "http": { "host": "127.0.0.1", "port": 0, "internal_port": 0 },
        "database": {
            "app_url": db.app_url(), "owner_url": db.owner_url(),
            "app_role": TEST_APP_ROLE, "pool_size": 4
        },
        "bus": test_bus_settings(
            prefix,
            json!({ "partitions": 1, "relay": false, "consumers": true }),
        ),
        "auth": { "internal_token_public_key": keys.public_base64url() }
    })
}

/// Fails unless row-level security holds in a fresh database of `S`: every table
/// with a `tenant_id` column has it enabled, forced and a policy, and the app role
/// owns nothing and bypasses nothing (`TestDb::row_security_gaps`).
pub async fn assert_row_secured<S: TestedService>() {
    let db = TestDb::create(S::NAME, S::migrations()).await.unwrap();
    let gaps = db.row_security_gaps().await.unwrap();
    assert!(gaps.is_empty(), "{}: {gaps:#?}", S::NAME);
}

/// Fails unless the service's `src/schema.rs` is exactly what `diesel print-schema`
/// prints for a fresh database of `S`, with the service's `diesel.toml`
/// (`manifest_dir` is the service's `CARGO_MANIFEST_DIR`): a migration that changes
/// a table without its diesel definition, or the reverse, fails here.
/// `PLINTH_UPDATE_SNAPSHOTS=1` writes the printed schema instead.
pub async fn assert_schema_current<S: TestedService>(manifest_dir: &str) {
    let dir = std::path::Path::new(manifest_dir);
    let db = TestDb::create(S::NAME, S::migrations()).await.unwrap();
    let printed = tokio::process::Command::new("diesel")
        .arg("print-schema")
        .arg("--database-url")
        .arg(db.owner_url())
        .arg("--config-file")
        .arg(dir.join("diesel.toml"))
        .output()
        .await
        .expect("the diesel CLI runs (deploy/dev/tools.sh installs it)");
    assert!(
        printed.status.success(),
        "diesel print-schema: {}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let printed = String::from_utf8(printed.stdout).unwrap();
    let path = dir.join("src/schema.rs");
    if std::env::var_os("PLINTH_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &printed).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        checked_in == printed,
        "{} differs from what diesel print-schema prints for the migrated database; \
         run the test with PLINTH_UPDATE_SNAPSHOTS=1 and review the diff",
        path.display()
    );
}

/// Builds and runs the service; a client for it.
async fn start<S: TestedService>(
    settings: S::Settings,
    region: Region,
    keys: &TokenKeys,
) -> ServiceClient {
    let app = S::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let ops = app
        .internal_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(app.run_until_stopped());
    let mut client = ServiceClient::new(base, S::NAME, region, keys);
    client.ops = ops;
    client
}

/// Fails unless the service is operable as an SRE expects: on its internal
/// listener `/livez` answers, `/readyz` says ready, `/metrics` counts requests by
/// route template (never by the path, which names tenants) and shows the pool
/// and the outbox; the public listener serves none of them; and once its
/// database is gone, `/readyz` says so. Ends with the service's database dropped.
pub async fn assert_operable<S: TestedService>(app: &Harness<S>) {
    let client = &app.client;
    let ops = client
        .ops
        .clone()
        .expect("the service serves an internal listener");
    let get = |url: String| async move { client.http.get(url).send().await.unwrap() };

    assert_eq!(get(format!("{ops}/livez")).await.status(), 200);
    // Ready once its consumers (if it runs any) have joined their groups.
    crate::wait_until("the service ready", Duration::from_secs(60), || async {
        get(format!("{ops}/readyz")).await.status() == 200
    })
    .await;
    let ready: Value = get(format!("{ops}/readyz")).await.json().await.unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    let passed: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == true)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        passed[..3],
        ["accepting requests", "database", "migrations"],
        "{ready}"
    );

    // A route naming a tenant, called with a made-up one (no token: 401).
    let doc: Value = get(format!("{}/openapi.json", client.base))
        .await
        .json()
        .await
        .unwrap();
    let template = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(path, item)| path.contains('{') && item.get("get").is_some())
        .map(|(path, _)| path.clone())
        .expect("a GET route with a parameter");
    let probe = "opsprobe7f3a";
    let concrete: String = template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                probe
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    assert_eq!(
        get(format!("{}{concrete}", client.base)).await.status(),
        401
    );

    let metrics = get(format!("{ops}/metrics")).await;
    assert_eq!(metrics.status(), 200);
    let metrics = metrics.text().await.unwrap();
    for expected in [
        format!("http_route=\"{template}\""),
        "http_route=\"/openapi.json\"".to_owned(),
        "http_response_status_code=\"401\"".to_owned(),
        "http_server_request_duration_seconds_bucket".to_owned(),
        format!("service=\"{}\"", S::NAME),
        "db_client_connection_count".to_owned(),
        "plinth_outbox_backlog_rows".to_owned(),
        "plinth_outbox_oldest_age_seconds".to_owned(),
    ] {
        assert!(metrics.contains(&expected), "no {expected} in:\n{metrics}");
    }
    // Each consumer group it runs is one of readiness' checks, passed.
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("plinth_consumer_assigned_partitions{") {
            let group = rest
                .split("consumer_group=\"")
                .nth(1)
                .and_then(|g| g.split('"').next())
                .expect("a consumer group label");
            let check = format!("consumer group {group}");
            assert!(passed.contains(&check.as_str()), "{check} in {ready}");
        }
    }
    assert!(
        !metrics.contains(probe),
        "a path's value in the metrics:\n{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("http_server_request_duration_seconds_count{")),
        "the request metric under its own name:\n{metrics}"
    );
    for path in ["/metrics", "/livez", "/readyz"] {
        assert_eq!(
            get(format!("{}{path}", client.base)).await.status(),
            404,
            "{path} on the public listener"
        );
    }

    // A database restored from before its newest migration: not ready, naming it.
    let ops = ops.as_str();
    let not_ready = |what: &'static str| async move {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Value::Null));
        crate::wait_until(what, Duration::from_secs(20), || {
            let (seen, readyz) = (seen.clone(), format!("{ops}/readyz"));
            async move {
                let answer = client.http.get(readyz).send().await.unwrap();
                if answer.status() != 503 {
                    return false;
                }
                *seen.lock().unwrap() = answer.json().await.unwrap();
                true
            }
        })
        .await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen["ready"], false);
        seen
    };
    let owner_url = format!(
        "{}/{}",
        plinth_db::testing::owner_server_url(),
        app.db.name()
    );
    let newest = "(SELECT max(version) FROM __diesel_schema_migrations)";
    let mut owner = plinth_db::connect(&owner_url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Newest {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let removed = diesel_async::RunQueryDsl::get_result::<Newest>(
        diesel::sql_query(format!(
            "DELETE FROM __diesel_schema_migrations WHERE version = {newest} RETURNING version"
        )),
        &mut owner,
    )
    .await
    .unwrap()
    .version;
    let behind = not_ready("readiness to see a migration missing").await;
    assert!(
        behind["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "migrations"
                && c["ok"] == false
                && c["reason"].as_str().is_some_and(|r| r.contains(&removed))),
        "{behind}"
    );
    drop(owner);

    // Without its database the service is not ready, and says why.
    let mut admin = plinth_db::connect(&format!(
        "{}/postgres",
        plinth_db::testing::owner_server_url()
    ))
    .await
    .unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!("DROP DATABASE \"{}\" WITH (FORCE)", app.db.name())),
        &mut admin,
    )
    .await
    .unwrap();
    let gone = not_ready("readiness to see the database gone").await;
    assert!(
        gone["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "database" && c["ok"] == false),
        "{gone}"
    );
}

/// `over`'s keys over `base`'s, nested objects key by key; a `null` in `over`
/// leaves `base` as it is.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (_, Value::Null) => {}
        (base, over) => *base = over,
    }
}

/// Fails unless `schemas/openapi/<S::NAME>.json` is exactly `generated` (the
/// service's document as the code renders it) and documents every route in
/// `routes` (path, lower-case method) and nothing else; answers the document.
/// `PLINTH_UPDATE_SNAPSHOTS=1` writes the generated document instead.
pub fn assert_openapi_current<S: TestedService>(
    generated: &str,
    routes: &[(&str, &str)],
) -> serde_json::Value {
    assert_document_current(S::NAME, generated, routes)
}

/// [`assert_openapi_current`] for the document `schemas/openapi/<name>.json` of
/// a crate that is not a [`TestedService`] (the gateway's).
pub fn assert_document_current(
    name: &str,
    generated: &str,
    routes: &[(&str, &str)],
) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/openapi")
        .join(format!("{name}.json"));
    if std::env::var_os("PLINTH_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date: run `PLINTH_UPDATE_SNAPSHOTS=1 cargo nextest run -p {} openapi` \
         and review the diff",
        path.display(),
        name
    );
    let doc: serde_json::Value = serde_json::from_str(generated).unwrap();
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    documented.sort();
    let mut served: Vec<(String, String)> = routes
        .iter()
        .map(|(p, m)| ((*p).to_owned(), (*m).to_owned()))
        .collect();
    served.sort();
    assert_eq!(documented, served, "one documented operation per route");
    doc
}
