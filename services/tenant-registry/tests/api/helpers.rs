//! Starting the service for a test, calling it, and reading what it wrote.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use diesel::QueryableByName;
use diesel::sql_types::{Bytea, Text};
use diesel_async::RunQueryDsl;
use plinth_access::{TokenIssuer, keypair};
use plinth_bus::Schemas;
use plinth_core::{Principal, Region, ReqCtx, RequestId, Role, TenantId};
use plinth_db::testing::{TEST_APP_ROLE, TestDb};
use serde_json::{Value, json};
use tenant_registry::settings::{
    AuthSettings, BusSettings, DatabaseSettings, EntitlementDefaults, HttpSettings,
    OffboardingSettings, OnboardingSettings, Settings,
};
use tenant_registry::{Application, all_migrations};

pub struct TestApp {
    pub base: String,
    pub bus: plinth_bus::BusConfig,
    /// Plays the other services: one producer for every answer a test sends.
    producer: rdkafka::producer::FutureProducer,
    pub http: reqwest::Client,
    pub region: Region,
    issuer: TokenIssuer,
    pub schemas: Schemas,
    pub db: TestDb,
}

/// Who calls: roles, a tenant for tenant roles, and the tenants a platform role is
/// bound to (`None`: all).
#[derive(Clone, Debug)]
pub struct As {
    pub roles: Vec<Role>,
    pub tenant: Option<TenantId>,
    pub bound: Option<Vec<TenantId>>,
}

impl As {
    pub fn platform_admin() -> As {
        As {
            roles: vec![Role::PlatformAdmin],
            tenant: None,
            bound: None,
        }
    }
    pub fn bound_admin(tenants: &[TenantId]) -> As {
        As {
            roles: vec![Role::PlatformAdmin],
            tenant: None,
            bound: Some(tenants.to_vec()),
        }
    }
    pub fn tenant(role: Role, tenant: TenantId) -> As {
        As {
            roles: vec![role],
            tenant: Some(tenant),
            bound: None,
        }
    }
}

/// One outbox row: its type, key, and decoded payload.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub ce_type: String,
    pub key: String,
    pub payload: Value,
}

#[derive(QueryableByName)]
struct OutboxRow {
    #[diesel(sql_type = Text)]
    ce_type: String,
    #[diesel(sql_type = Text)]
    msg_key: String,
    #[diesel(sql_type = Bytea)]
    payload: Vec<u8>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_in(Region::Us).await
    }

    pub async fn spawn_in(region: Region) -> TestApp {
        Self::spawn_configured(region, |_| {}).await
    }

    /// Starts the service in `region` with the test settings as `configure` changes
    /// them (the benchmarks run the relay, for one).
    pub async fn spawn_configured(
        region: Region,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let db = TestDb::create("tenant_registry", all_migrations())
            .await
            .unwrap();
        let (private, public) = keypair();
        let prefix = format!("t{}.", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let bus = plinth_bus::BusConfig::new(
            std::env::var("PLINTH_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:19092".into()),
        )
        .with_topic_prefix(prefix.clone());
        let mut settings = Settings {
            region,
            http: HttpSettings {
                host: "127.0.0.1".into(),
                port: 0,
                body_limit_bytes: 16 * 1024,
            },
            database: DatabaseSettings {
                app_url: db.app_url().into(),
                owner_url: db.owner_url().into(),
                app_role: TEST_APP_ROLE.into(),
                pool_size: 4,
            },
            bus: BusSettings {
                brokers: std::env::var("PLINTH_TEST_KAFKA")
                    .unwrap_or_else(|_| "127.0.0.1:19092".into()),
                topic_prefix: prefix,
                partitions: 1,
                // The outbox is inspected directly: nothing takes rows out of it.
                relay: false,
                consumers: true,
                properties: Default::default(),
            },
            auth: AuthSettings {
                internal_token_public_key: base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(public),
            },
            onboarding: OnboardingSettings::dev_default(),
            offboarding: OffboardingSettings::dev_default(),
            default_entitlements: EntitlementDefaults::dev_default(),
        };
        configure(&mut settings);
        let app = Application::build(settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let schemas =
            Schemas::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro"))
                .unwrap();
        TestApp {
            base,
            producer: bus.producer().unwrap(),
            bus,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            region,
            issuer: TokenIssuer::new(&private, Duration::from_secs(60)),
            schemas,
            db,
        }
    }

    pub fn token(&self, who: &As) -> String {
        let ctx = ReqCtx {
            principal: Principal {
                subject: "alice@msp.example".into(),
                display: Some("Alice".into()),
            },
            tenant: who.tenant,
            roles: who.roles.clone(),
            region: self.region,
            request_id: RequestId::new(),
        };
        self.issuer
            .mint(tenant_registry::AUDIENCE, &ctx, who.bound.as_deref())
            .unwrap()
    }

    /// Sends a request as `who`; returns the status and the JSON body (Null if none).
    pub async fn call(
        &self,
        who: Option<&As>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(who) = who {
            req = req.bearer_auth(self.token(who));
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn create(&self, who: &As, body: Value) -> (u16, Value) {
        self.call(
            Some(who),
            reqwest::Method::POST,
            "/admin/tenants",
            Some(body),
        )
        .await
    }

    pub async fn get(&self, who: &As, id: &str) -> (u16, Value) {
        self.call(
            Some(who),
            reqwest::Method::GET,
            &format!("/admin/tenants/{id}"),
            None,
        )
        .await
    }

    /// Publishes what another service answers for a checklist item, as that service
    /// would: on its own topic, with CloudEvents headers and an Avro payload.
    /// Returns the event, so a test can deliver it again.
    pub async fn answer(
        &self,
        ty: &str,
        tenant: &str,
        item: &str,
        reason: Option<&str>,
    ) -> plinth_bus::Event {
        let area = ty.split('.').nth(1).unwrap();
        let topic = format!("{}plinth.{area}.v1", self.bus.topic_prefix);
        let payload = self
            .schemas
            .encode(
                "plinth.provisioning.ProvisioningResult",
                &json!({
                    "tenant_id": tenant,
                    "item": item,
                    "service": area,
                    "reason": reason,
                    "occurred_at": 1_700_000_000_000_000i64,
                }),
            )
            .unwrap();
        let event =
            plinth_bus::Event::new(topic, tenant, ty, format!("/plinth/us/{area}"), payload);
        self.deliver(&event).await;
        event
    }

    /// Sends `event` to its topic.
    pub async fn deliver(&self, event: &plinth_bus::Event) {
        use rdkafka::producer::FutureRecord;
        self.producer
            .send(
                FutureRecord::to(&event.topic)
                    .key(event.key.as_str())
                    .payload(event.payload.as_slice())
                    .headers(event.cloud_event().to_headers()),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }

    /// Polls the tenant's `flow` checklist (`onboarding`, `offboarding`) until
    /// `done` holds, failing after a minute.
    pub async fn wait_for_checklist(
        &self,
        tenant: &str,
        flow: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = std::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let (status, checklist) = self
                .call(
                    Some(&As::platform_admin()),
                    reqwest::Method::GET,
                    &format!("/admin/tenants/{tenant}/{flow}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{checklist}");
            if done(&checklist) {
                return checklist;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}: {checklist}"
            );
        }
    }

    /// Waits until the saga's consumer has recorded `n` events in its inbox,
    /// failing after a minute.
    pub async fn wait_for_inbox(&self, n: i64) {
        let start = std::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let recorded = self.app_inbox_count().await;
            if recorded >= n {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the consumer did not catch up: {recorded} of {n} events in its inbox"
            );
        }
    }

    /// Everything the service has put in its outbox, oldest first.
    pub async fn outbox(&self) -> Vec<Outgoing> {
        let mut conn = plinth_db::connect(&self.db.owner_url()).await.unwrap();
        let rows: Vec<OutboxRow> =
            diesel::sql_query("SELECT ce_type, msg_key, payload FROM outbox ORDER BY id")
                .load(&mut conn)
                .await
                .unwrap();
        rows.into_iter()
            .map(|r| Outgoing {
                ce_type: r.ce_type,
                key: r.msg_key,
                payload: avro_json(self.schemas.decode_value(&r.payload).unwrap().1),
            })
            .collect()
    }

    /// Runs `sql` as the owner (bypassing nothing: the owner is subject to the same
    /// forced policies, so scope it with `set_config` when it reads tenants).
    pub async fn owner_exec(&self, sql: &str) -> Result<(), diesel::result::Error> {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = plinth_db::connect(&self.db.owner_url()).await.unwrap();
        conn.batch_execute(sql).await
    }

    /// Puts a tenant in `status` directly, as the flows not under test would.
    pub async fn force_status(&self, tenant: &str, status: &str) {
        self.owner_exec(&format!(
            "SELECT set_config('plinth.tenant_scope', '*', false); \
             UPDATE tenants SET status = '{status}' WHERE tenant_id = '{tenant}'"
        ))
        .await
        .unwrap();
    }

    /// Events the onboarding consumer has recorded in its inbox.
    pub async fn app_inbox_count(&self) -> i64 {
        self.app_count("SELECT count(*) AS n FROM inbox").await
    }

    pub async fn app_count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = plinth_db::connect(&self.db.app_url()).await.unwrap();
        diesel::sql_query(sql)
            .get_result::<N>(&mut conn)
            .await
            .unwrap()
            .n
    }

    /// Tenants visible with every tenant in scope, counted as the app role.
    pub async fn tenant_rows(&self) -> i64 {
        let mut conn = plinth_db::connect(&self.db.app_url()).await.unwrap();
        plinth_db::scoped_transaction(&mut conn, &plinth_db::TenantScope::All, async |c| {
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query("SELECT count(*) AS n FROM tenants")
                .get_result::<N>(c)
                .await
                .map(|n| n.n)
        })
        .await
        .unwrap()
    }
}

/// An Avro value as plain JSON (records as objects, enums as strings, unions as
/// their value), for assertions.
fn avro_json(value: apache_avro::types::Value) -> Value {
    use apache_avro::types::Value as A;
    match value {
        A::Null => Value::Null,
        A::Boolean(b) => json!(b),
        A::Int(i) => json!(i),
        A::Long(i) | A::TimestampMicros(i) | A::TimestampMillis(i) => json!(i),
        A::String(s) => json!(s),
        A::Enum(_, s) => json!(s),
        A::Union(_, v) => avro_json(*v),
        A::Record(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, avro_json(v))).collect())
        }
        A::Map(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, avro_json(v)))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        A::Array(a) => Value::Array(a.into_iter().map(avro_json).collect()),
        other => json!(format!("{other:?}")),
    }
}

/// A valid registration body for `slug` in `region`.
pub fn tenant_body(slug: &str, region: &str) -> Value {
    json!({
        "slug": slug,
        "display_name": "Acme Corporation",
        "region": region,
        "deployment_model": "hosted_saas",
        "owner_contact": { "name": "Ana Owner", "email": "ana@acme.example", "phone": "+1 555 0100 200" }
    })
}

/// The checklist item `key` of an onboarding or offboarding answer.
pub fn item<'a>(checklist: &'a Value, key: &str) -> &'a Value {
    checklist["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key} in {checklist}"))
}

/// The state of checklist item `key`.
pub fn state<'a>(checklist: &'a Value, key: &str) -> &'a str {
    item(checklist, key)["state"].as_str().unwrap()
}
