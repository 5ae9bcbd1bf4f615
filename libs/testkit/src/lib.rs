//! What Plinth's service tests share.
//!
//! - [`As`] and [`ServiceClient`]: calling a service under test over HTTP as a
//!   given identity, with an internal token minted as the gateway would.
//! - [`read_outbox`]: what a service wrote to its outbox, decoded.
//! - [`Publisher`]: events sent to the real broker as another service would send
//!   them.
//! - [`wait_until`]: waiting on a condition with a deadline, never a sleep.
//! - [`Idp`]: the dev identity provider, a real one, started for a test.

#![warn(missing_docs)]
// Test support: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bench;
pub mod idp;
pub mod replicas;
pub mod service;

pub use idp::{Idp, SigningKey};
pub use replicas::Replicas;
pub use service::{
    Harness, TestedService, assert_document_current, assert_openapi_current, assert_operable,
    assert_row_secured, assert_schema_current, merge, test_settings,
};

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use base64::Engine as _;
use diesel::QueryableByName;
use diesel::sql_types::{Bytea, Text};
use diesel_async::RunQueryDsl;
use plinth_authz::{Grant, TokenIssuer, keypair};
use plinth_bus::{BusConfig, Event, Schemas};
use plinth_config::BrokerCredentials;
use plinth_core::{Principal, Region, ReqCtx, RequestId, Role, TenantId};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Who calls: roles, a tenant for tenant roles, and the tenants a platform role is
/// bound to (`None`: all).
#[derive(Clone, Debug)]
pub struct As {
    /// The roles held.
    pub roles: Vec<Role>,
    /// The tenant, for tenant roles.
    pub tenant: Option<TenantId>,
    /// The tenants a platform role is bound to (`None`: all).
    pub bound: Option<Vec<TenantId>>,
    /// The principal's subject; `alice@msp.example` unless named.
    pub subject: Option<String>,
}

impl As {
    /// A platform administrator bound to every tenant.
    pub fn platform_admin() -> As {
        As::platform(Role::PlatformAdmin)
    }

    /// A platform role bound to every tenant.
    pub fn platform(role: Role) -> As {
        As {
            roles: vec![role],
            tenant: None,
            bound: None,
            subject: None,
        }
    }

    /// A platform administrator bound to `tenants` only.
    pub fn bound_admin(tenants: &[TenantId]) -> As {
        As {
            roles: vec![Role::PlatformAdmin],
            tenant: None,
            bound: Some(tenants.to_vec()),
            subject: None,
        }
    }

    /// `role` in `tenant`.
    pub fn tenant(role: Role, tenant: TenantId) -> As {
        As {
            roles: vec![role],
            tenant: Some(tenant),
            bound: None,
            subject: None,
        }
    }

    /// Its platform roles, each bound to `bound`'s tenants, as the token carries them.
    pub fn grants(&self) -> Option<Vec<Grant>> {
        let tenants = self.bound.as_ref()?;
        Some(
            self.roles
                .iter()
                .filter(|role| role.is_platform())
                .map(|role| Grant {
                    role: *role,
                    tenants: tenants.clone(),
                })
                .collect(),
        )
    }

    /// The same caller, as the person `subject`.
    pub fn named(mut self, subject: &str) -> As {
        self.subject = Some(subject.to_owned());
        self
    }

    /// The same caller, holding `role` as well.
    pub fn also(mut self, role: Role) -> As {
        self.roles.push(role);
        self
    }
}

/// The key pair of the gateway's internal tokens, for one test: the service is
/// configured with [`TokenKeys::public_base64url`], the client signs with the rest.
#[derive(Debug)]
pub struct TokenKeys {
    private: Vec<u8>,
    public: [u8; 32],
}

impl TokenKeys {
    /// A new Ed25519 key pair.
    pub fn generate() -> TokenKeys {
        let (private, public) = keypair();
        TokenKeys { private, public }
    }

    /// The private key as the gateway reads it (`internal_token.private_key_pem`).
    pub fn private_pem(&self) -> String {
        use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
        ed25519_dalek::SigningKey::from_pkcs8_der(&self.private)
            .expect("the key decodes")
            .to_pkcs8_pem(Default::default())
            .expect("the key encodes")
            .to_string()
    }

    /// As services read it from `auth.internal_token_public_key`.
    pub fn public_base64url(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.public)
    }
}

/// Calls one service under test.
pub struct ServiceClient {
    /// The service's base URL.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The service's operators' listener (metrics, health), when it has one.
    pub ops: Option<String>,
    issuer: TokenIssuer,
    audience: &'static str,
    region: Region,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ServiceClient {
    /// A client of the service at `base`, minting tokens for `audience` in `region` with `keys`.
    pub fn new(base: String, audience: &'static str, region: Region, keys: &TokenKeys) -> Self {
        ServiceClient {
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            ops: None,
            issuer: TokenIssuer::new(&keys.private, Duration::from_secs(60)),
            audience,
            region,
        }
    }

    /// The service's `/metrics`, read on its operators' listener.
    pub async fn metrics(&self) -> String {
        let ops = self
            .ops
            .as_deref()
            .expect("the service serves an internal listener");
        self.http
            .get(format!("{ops}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The region the service serves.
    pub fn region(&self) -> Region {
        self.region
    }

    /// An internal token for `who`, as the gateway would mint it.
    pub fn token(&self, who: &As) -> String {
        let ctx = ReqCtx {
            principal: Principal {
                subject: who
                    .subject
                    .clone()
                    .unwrap_or_else(|| "alice@msp.example".into()),
                display: Some("Alice".into()),
            },
            tenant: who.tenant,
            roles: who.roles.clone(),
            region: self.region,
            request_id: RequestId::new(),
        };
        self.issuer
            .mint(self.audience, &ctx, who.grants().as_deref())
            .expect("tokens mint")
    }

    /// Sends a request as `who`; the status and the body as text.
    pub async fn call_text(
        &self,
        who: Option<&As>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(who) = who {
            req = req.bearer_auth(self.token(who));
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("the service answers");
        let status = res.status().as_u16();
        (status, res.text().await.expect("a body"))
    }

    /// Calls every operation the service's served `/openapi.json` documents without
    /// a token (path parameters filled with well-formed values): those that do not
    /// answer `401`, as `METHOD path status`. Also checks that the document itself
    /// is served without one.
    pub async fn answered_without_a_token(&self) -> Vec<String> {
        let (status, doc) = self
            .call(None, reqwest::Method::GET, "/openapi.json", None)
            .await;
        assert_eq!(status, 200, "/openapi.json is public");
        let tenant = TenantId::new(self.region).to_string();
        let mut open = Vec::new();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            let path = template
                .replace("{tenant_id}", &tenant)
                .replace("{log}", "platform");
            let path: String = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "1"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for method in item.as_object().expect("operations").keys() {
                let method: reqwest::Method = method.to_uppercase().parse().expect("a method");
                let body = (method != reqwest::Method::GET).then(|| json!({}));
                let (status, _) = self.call(None, method.clone(), &path, body).await;
                if status != 401 {
                    open.push(format!("{method} {template} {status}"));
                }
            }
        }
        open
    }

    /// Sends a request as `who`; the status and the JSON body (Null if none).
    pub async fn call(
        &self,
        who: Option<&As>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.call_text(who, method, path, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// One outbox row: its type, key, and decoded payload.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// CloudEvents `type`.
    pub ce_type: String,
    /// The Kafka key.
    pub key: String,
    /// The payload, decoded to JSON.
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

/// Everything a service has put in its outbox (read as `owner_url`), oldest first.
pub async fn read_outbox(owner_url: &str, schemas: &Schemas) -> Vec<Outgoing> {
    let mut conn = plinth_db::connect(owner_url).await.expect("the database");
    let rows: Vec<OutboxRow> =
        diesel::sql_query("SELECT ce_type, msg_key, payload FROM outbox ORDER BY id")
            .load(&mut conn)
            .await
            .expect("the outbox reads");
    rows.into_iter()
        .map(|r| Outgoing {
            ce_type: r.ce_type,
            key: r.msg_key,
            payload: avro_json(schemas.decode_value(&r.payload).expect("Avro payloads").1),
        })
        .collect()
}

/// The number a query `SELECT … AS n` gives, run at `url` (as that role).
pub async fn count(url: &str, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = plinth_db::connect(url).await.expect("the database");
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// Like [`count`], with every tenant in the row-level security scope.
pub async fn count_all_tenants(url: &str, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = plinth_db::connect(url).await.expect("the database");
    plinth_db::scoped_transaction(&mut conn, &plinth_db::TenantScope::All, async |c| {
        diesel::sql_query(sql).get_result::<N>(c).await.map(|n| n.n)
    })
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs `sql` at `url` (as that role): the database's answer.
pub async fn exec(url: &str, sql: &str) -> Result<(), diesel::result::Error> {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = plinth_db::connect(url).await.expect("the database");
    conn.batch_execute(sql).await
}

/// An Avro value as plain JSON: records and maps as objects, unions unwrapped.
pub fn avro_json(value: apache_avro::types::Value) -> Value {
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

/// Sends events to the real broker as the service that owns them would.
pub struct Publisher {
    producer: rdkafka::producer::FutureProducer,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// A producer on `bus`.
    pub fn new(bus: &BusConfig) -> Publisher {
        Publisher {
            producer: bus.producer().expect("a producer"),
        }
    }

    /// Sends `event` to its topic, with its CloudEvents headers.
    pub async fn deliver(&self, event: &Event) {
        event
            .publish(&self.producer, Duration::from_secs(30))
            .await
            .expect("the broker takes the event");
    }
}

/// Polls `check` every 50 ms until it holds, failing after `limit` with `what`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(what, limit, Duration::from_millis(50), check).await;
}

/// Polls `check` every 10 ms until it holds, failing after `limit` with `what`;
/// how long it took: for figures a test reports (a takeover, a rebalance).
pub async fn time_until<F, Fut>(what: &str, limit: Duration, check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(what, limit, Duration::from_millis(10), check).await
}

async fn poll_until<F, Fut>(what: &str, limit: Duration, every: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
    }
}

/// The broker the tests use (`PLINTH_TEST_KAFKA`, the dev broker by default).
pub fn test_brokers() -> String {
    std::env::var("PLINTH_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

/// The credentials of the test broker's principal `name` (`admin`, the broker's
/// super user, or a service's principal such as `pack-service`), from the
/// principals directory the dev broker writes (`PLINTH_TEST_KAFKA_PRINCIPALS`,
/// `<name>.password`); `None` when the broker has no authentication (Tansu).
pub fn test_broker_principal(name: &str) -> Option<BrokerCredentials> {
    let dir = std::env::var_os("PLINTH_TEST_KAFKA_PRINCIPALS")?;
    broker_principal(std::path::Path::new(&dir), name)
}

/// The credentials of principal `name` in a dev broker's principals directory.
pub fn broker_principal(dir: &std::path::Path, name: &str) -> Option<BrokerCredentials> {
    let password = std::fs::read_to_string(dir.join(format!("{name}.password"))).ok()?;
    Some(BrokerCredentials {
        username: name.to_owned(),
        password: password.trim().to_owned().into(),
        mechanism: "SCRAM-SHA-512".to_owned(),
        protocol: "SASL_PLAINTEXT".to_owned(),
    })
}

/// The test broker as its super user, under `prefix`: what tests use to create
/// their topics and read what services wrote.
pub fn test_bus(prefix: impl Into<String>) -> BusConfig {
    BusConfig::new(test_brokers())
        .with_topic_prefix(prefix)
        .with_credentials(test_broker_principal("admin"))
}

/// A service's `bus` settings for the test broker under `prefix`, as JSON
/// overrides: brokers, prefix and the super user's credentials, then the keys of
/// `more` (`partitions`, `relay`, `consumers`).
pub fn test_bus_settings(prefix: &str, more: Value) -> Value {
    let mut bus = json!({ "brokers": test_brokers(), "topic_prefix": prefix });
    if let Value::Object(more) = more {
        for (key, value) in more {
            bus[key] = value;
        }
    }
    if let Some(admin) = test_broker_principal("admin") {
        bus["sasl"] = json!({
            "username": admin.username,
            "password": admin.password.expose_secret(),
            "mechanism": admin.mechanism,
            "protocol": admin.protocol,
        });
    }
    bus
}

/// A topic prefix of its own for one test.
pub fn test_topic_prefix() -> String {
    format!("t{}.", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The value of the first series of `name` in a Prometheus text exposition whose
/// labels include every one of `labels`; `None` if none does.
pub fn sample(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (series_labels, value) = match rest.strip_prefix('{') {
            Some(labelled) => labelled.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        labels
            .iter()
            .all(|(k, v)| {
                series_labels
                    .split(',')
                    .any(|pair| pair == format!("{k}=\"{v}\""))
            })
            .then(|| value.split(' ').next()?.parse().ok())?
    })
}

/// One message as a partner reads it off a topic.
#[derive(Debug, Clone)]
pub struct Read {
    /// The topic.
    pub topic: String,
    /// CloudEvents `id`.
    pub ce_id: String,
    /// CloudEvents `type`.
    pub ce_type: String,
    /// The payload as published.
    pub payload: Vec<u8>,
}

/// Every message on `topics` from the beginning to their ends as of now, read
/// with no consumer group (nothing is committed).
pub async fn read_topics(bus: &BusConfig, topics: &[String]) -> Vec<Read> {
    plinth_bus::dlq::read_to_end(bus, topics, Duration::from_secs(120))
        .await
        .expect("the topics read")
        .into_iter()
        .map(|m| Read {
            ce_id: m.ce_id().unwrap_or_default(),
            ce_type: m.ce_type().unwrap_or_default(),
            topic: m.topic,
            payload: m.payload,
        })
        .collect()
}
