//! The event path end to end, against the real PostgreSQL and the real broker:
//! business transaction → outbox → relay → Kafka → consumer → effect with inbox dedupe.
//!
//! Every test counts what it wrote and what was applied, and prints the figures.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use plinth_bus::headers::{self, CloudEvent};
use plinth_bus::{
    BusConfig, Consumer, ConsumerConfig, ConsumerStats, Event, Handler, HandlerError, Outbox,
    Received, Relay, RelayConfig, RelayStats, Schemas, TopicSpec, dlq_topic, ensure_topics,
};
use plinth_config::BrokerCredentials;
use plinth_core::{Region, TenantId};
use plinth_db::testing::TestDb;
use plinth_db::{MigrationSet, Pool, connect_pool, tenant_transaction};
use plinth_telemetry::{TelemetryConfig, TelemetryGuard};
use rdkafka::Message;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Spans need trace ids for trace context to travel; kept for the whole process.
static TELEMETRY: OnceLock<TelemetryGuard> = OnceLock::new();

const TEST_MIGRATIONS: EmbeddedMigrations = embed_migrations!("tests/migrations");
const ORDER_PLACED: &str = "plinth.test.OrderPlaced";

#[derive(Debug, Serialize, Deserialize)]
struct OrderPlaced {
    order_id: String,
    tenant_id: String,
    amount: i64,
    note: Option<String>,
}

fn schemas() -> Schemas {
    Schemas::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/avro")).unwrap()
}

/// Polls `check` until it holds, failing the test after `limit`.
async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    loop {
        tick.tick().await;
        if check().await {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
    }
}

/// A test database with the outbox, the inbox and the stand-in business tables, and
/// topics of its own on a broker.
struct Harness {
    pool: Pool,
    bus: BusConfig,
    topic: String,
    schemas: Arc<Schemas>,
    tenants: Vec<TenantId>,
    // Last, so it is dropped after the pool's connections.
    db: TestDb,
}

impl Harness {
    async fn new() -> Harness {
        Harness::on(
            &plinth_testkit::test_brokers(),
            plinth_testkit::test_broker_principal("admin"),
        )
        .await
    }

    /// On the broker at `brokers`, as `admin`.
    async fn on(brokers: &str, admin: Option<BrokerCredentials>) -> Harness {
        TELEMETRY.get_or_init(|| {
            let mut config = TelemetryConfig::new("event-path-test");
            config.filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
            plinth_telemetry::init(&config).unwrap()
        });
        let db = TestDb::create(
            "bus_event_path",
            MigrationSet([plinth_bus::MIGRATIONS, TEST_MIGRATIONS]),
        )
        .await
        .unwrap();
        let pool = connect_pool(&db.app_url(), 16).unwrap();
        let prefix = format!("t{}.", &Uuid::new_v4().simple().to_string()[..12]);
        let bus = BusConfig::new(brokers)
            .with_topic_prefix(prefix)
            .with_credentials(admin);
        let topic = bus.topic(plinth_bus::Area::Tenant);
        let spec = TopicSpec::new(&topic, 3);
        ensure_topics(&bus, &[spec.clone(), spec.dlq()])
            .await
            .unwrap();
        let tenants = (0..8)
            .map(|i| TenantId::new(if i % 2 == 0 { Region::Us } else { Region::Eu }))
            .collect();
        Harness {
            db,
            pool,
            bus,
            topic,
            schemas: Arc::new(schemas()),
            tenants,
        }
    }

    fn relay(&self, config: RelayConfig) -> (Relay, RelayStats) {
        let relay = Relay::new(
            self.pool.clone(),
            &self.db.app_url(),
            self.bus.clone(),
            config,
        );
        let stats = relay.stats();
        (relay, stats)
    }

    fn consumer(&self, config: ConsumerConfig) -> (Consumer<RecordEffect>, ConsumerStats) {
        self.consumer_of(config, None)
    }

    /// A consumer whose handler wants only events of type `only`, if given.
    fn consumer_of(
        &self,
        config: ConsumerConfig,
        only: Option<&'static str>,
    ) -> (Consumer<RecordEffect>, ConsumerStats) {
        let handler = RecordEffect {
            schemas: self.schemas.clone(),
            only,
        };
        let consumer = Consumer::new(self.pool.clone(), self.bus.clone(), config, handler);
        let stats = consumer.stats();
        (consumer, stats)
    }

    fn consumer_config(&self) -> ConsumerConfig {
        let group = format!("{}consumer", self.bus.topic_prefix);
        ConsumerConfig::new(group, vec![self.topic.clone()])
    }

    /// One business transaction: an order row and its event, committed together.
    async fn place_order(&self, n: u64) -> QueryResult<()> {
        let tenant = self.tenants[(n as usize) % self.tenants.len()];
        let order_id = Uuid::new_v4();
        let span = tracing::info_span!("place_order", %tenant);
        let _entered = span.enter();
        let payload = self
            .schemas
            .encode(
                ORDER_PLACED,
                &OrderPlaced {
                    order_id: order_id.to_string(),
                    tenant_id: tenant.to_string(),
                    amount: n as i64,
                    note: None,
                },
            )
            .unwrap();
        let event = Event::new(
            &self.topic,
            tenant.to_string(),
            "plinth.test.order_placed",
            "/plinth/test",
            payload,
        )
        .with_subject(order_id.to_string());
        let traceparent = event.traceparent.clone();
        drop(_entered);
        let mut conn = self.pool.get().await.unwrap();
        tenant_transaction(&mut conn, tenant, async |conn| {
            diesel::sql_query(
                "INSERT INTO orders (id, tenant_id, amount, traceparent) VALUES ($1, $2, $3, $4)",
            )
            .bind::<diesel::sql_types::Uuid, _>(order_id)
            .bind::<Text, _>(tenant.to_string())
            .bind::<BigInt, _>(n as i64)
            .bind::<diesel::sql_types::Nullable<Text>, _>(traceparent)
            .execute(conn)
            .await?;
            Outbox::enqueue(conn, &[event]).await
        })
        .await
    }

    /// Places `count` orders from `workers` concurrent writers; returns how many
    /// committed.
    fn place_orders(self: &Arc<Self>, count: u64, workers: u64) -> JoinHandle<u64> {
        let harness = self.clone();
        tokio::spawn(async move {
            let next = Arc::new(AtomicU64::new(0));
            let mut tasks = Vec::new();
            for _ in 0..workers {
                let (h, next) = (harness.clone(), next.clone());
                tasks.push(tokio::spawn(async move {
                    let mut done = 0;
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= count {
                            return done;
                        }
                        h.place_order(n).await.expect("business writes never fail");
                        done += 1;
                    }
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            total
        })
    }

    async fn scalar(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = plinth_db::connect(&self.db.owner_url()).await.unwrap();
        diesel::sql_query(sql)
            .get_result::<N>(&mut conn)
            .await
            .unwrap()
            .n
    }

    async fn effects(&self) -> i64 {
        self.scalar("SELECT count(*) AS n FROM effects").await
    }

    /// (rows, distinct events, events the relay did not record as published)
    async fn effect_figures(&self) -> (i64, i64, i64) {
        (
            self.effects().await,
            self.scalar("SELECT count(DISTINCT event_id) AS n FROM effects")
                .await,
            self.scalar(
                "SELECT count(*) AS n FROM effects \
                 WHERE event_id NOT IN (SELECT unnest(event_ids) FROM outbox_sent)",
            )
            .await,
        )
    }

    /// Effects whose trace continues their order's trace, and effects whose message
    /// key is their order's tenant, read tenant by tenant (orders are under
    /// row-level security).
    async fn matching_orders(&self) -> (i64, i64) {
        #[derive(QueryableByName)]
        struct Matching {
            #[diesel(sql_type = BigInt)]
            traced: i64,
            #[diesel(sql_type = BigInt)]
            keyed: i64,
        }
        let mut conn = self.pool.get().await.unwrap();
        let (mut traced, mut keyed) = (0, 0);
        for tenant in &self.tenants {
            let m = tenant_transaction(&mut conn, *tenant, async |conn| {
                diesel::sql_query(
                    "SELECT count(*) FILTER (WHERE split_part(e.traceparent, '-', 2) \
                       = split_part(o.traceparent, '-', 2)) AS traced, \
                     count(*) FILTER (WHERE e.msg_key = o.tenant_id) AS keyed \
                     FROM effects e JOIN orders o ON o.id = e.order_id",
                )
                .get_result::<Matching>(conn)
                .await
            })
            .await
            .unwrap();
            traced += m.traced;
            keyed += m.keyed;
        }
        (traced, keyed)
    }

    /// Prints the effects applied before an earlier event of their tenant.
    async fn print_out_of_order(&self) {
        #[derive(QueryableByName)]
        struct Late {
            #[diesel(sql_type = Text)]
            msg_key: String,
            #[diesel(sql_type = BigInt)]
            seq: i64,
            #[diesel(sql_type = BigInt)]
            amount: i64,
            #[diesel(sql_type = BigInt)]
            prev: i64,
        }
        let mut conn = plinth_db::connect(&self.db.owner_url()).await.unwrap();
        let late: Vec<Late> = diesel::sql_query(
            "SELECT msg_key, seq, amount, prev FROM (SELECT msg_key, seq, amount, lag(amount) \
             OVER (PARTITION BY msg_key ORDER BY seq) AS prev FROM effects) e \
             WHERE amount <= prev ORDER BY seq LIMIT 20",
        )
        .load(&mut conn)
        .await
        .unwrap();
        for l in late {
            println!(
                "   out of order: {} applied #{} amount {} after {}",
                l.msg_key, l.seq, l.amount, l.prev
            );
        }
    }

    async fn unsent(&self) -> i64 {
        self.scalar("SELECT count(*) AS n FROM outbox").await
    }
}

/// The effect under test: one row per applied event, in the consumer's transaction.
struct RecordEffect {
    schemas: Arc<Schemas>,
    /// The one event type it wants, if not all.
    only: Option<&'static str>,
}

impl Handler for RecordEffect {
    fn wants(&self, ty: &str) -> bool {
        self.only.is_none_or(|only| only == ty)
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &Received,
    ) -> Result<(), HandlerError> {
        let order: OrderPlaced = event.decode(&self.schemas, ORDER_PLACED)?;
        let order_id = Uuid::parse_str(&order.order_id)
            .map_err(|e| HandlerError::Permanent(format!("order id: {e}")))?;
        if order.note.as_deref() == Some("always-fails") {
            return Err(HandlerError::Transient(
                "the downstream is unavailable".into(),
            ));
        }
        diesel::sql_query(
            "INSERT INTO effects (event_id, order_id, msg_key, traceparent, amount) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind::<diesel::sql_types::Uuid, _>(event.event.id)
        .bind::<diesel::sql_types::Uuid, _>(order_id)
        .bind::<diesel::sql_types::Nullable<Text>, _>(event.key.clone())
        .bind::<diesel::sql_types::Nullable<Text>, _>(event.event.traceparent.clone())
        .bind::<BigInt, _>(order.amount)
        .execute(conn)
        .await?;
        Ok(())
    }
}

fn spawn<F>(f: impl FnOnce(CancellationToken) -> F) -> (CancellationToken, JoinHandle<()>)
where
    F: Future<Output = Result<(), rdkafka::error::KafkaError>> + Send + 'static,
{
    let token = CancellationToken::new();
    let fut = f(token.clone());
    (
        token,
        tokio::spawn(async move { fut.await.expect("task failed") }),
    )
}

fn report(name: &str, lines: &[(&str, String)]) {
    println!("== {name}");
    for (k, v) in lines {
        println!("   {k:<34} {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_arrive_exactly_once() {
    const TOTAL: u64 = 10_000;
    let h = Arc::new(Harness::new().await);
    let (relay, relay_stats) = h.relay(RelayConfig::default());
    let (consumer, consumer_stats) = h.consumer(h.consumer_config());
    let (stop_relay, relay_task) = spawn(|t| relay.run(t));
    let (stop_consumer, consumer_task) = spawn(|t| consumer.run(t));

    let start = Instant::now();
    let committed = h.place_orders(TOTAL, 8).await.unwrap();
    let write_time = start.elapsed();
    wait_until("every event applied", Duration::from_secs(240), || async {
        h.effects().await >= TOTAL as i64
    })
    .await;
    let total_time = start.elapsed();
    // Anything still in flight would show up as a second application now.
    wait_until("the outbox drained", Duration::from_secs(30), || async {
        h.unsent().await == 0
    })
    .await;

    let (rows, distinct, unknown) = h.effect_figures().await;
    let (traced, keyed) = h.matching_orders().await;
    report(
        "10,000 events: business transaction → outbox → relay → broker → consumer",
        &[
            ("business transactions committed", committed.to_string()),
            ("effects applied (rows)", rows.to_string()),
            ("distinct events applied", distinct.to_string()),
            ("lost", (TOTAL as i64 - distinct).to_string()),
            ("applied twice", (rows - distinct).to_string()),
            (
                "redeliveries skipped by inbox",
                consumer_stats.duplicates().to_string(),
            ),
            ("relay batches", relay_stats.batches().to_string()),
            ("writes took", format!("{write_time:.2?}")),
            ("last effect after first write", format!("{total_time:.2?}")),
            (
                "end-to-end rate",
                format!("{:.0} events/s", TOTAL as f64 / total_time.as_secs_f64()),
            ),
            ("trace context carried", format!("{traced}/{rows}")),
            ("key = tenant id", format!("{keyed}/{rows}")),
        ],
    );
    assert_eq!(committed, TOTAL);
    assert_eq!(rows, TOTAL as i64, "every event applied exactly once");
    assert_eq!(distinct, TOTAL as i64);
    assert_eq!(unknown, 0);
    assert_eq!(traced, rows, "the consumer continues the producer's trace");
    assert_eq!(keyed, rows, "messages are keyed by tenant");
    assert_eq!(consumer_stats.dead_lettered(), 0);

    stop_relay.cancel();
    stop_consumer.cancel();
    relay_task.await.unwrap();
    consumer_task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_aborted_mid_burst_loses_nothing() {
    const TOTAL: u64 = 3_000;
    let h = Arc::new(Harness::new().await);
    let committed = h.place_orders(TOTAL, 8).await.unwrap();
    let (consumer, consumer_stats) = h.consumer(h.consumer_config());
    let (stop_consumer, consumer_task) = spawn(|t| consumer.run(t));

    let small_batches = RelayConfig {
        batch_size: 50,
        ..RelayConfig::default()
    };
    let (relay, first_stats) = h.relay(small_batches.clone());
    let (_token, first) = spawn(|t| relay.run(t));
    wait_until(
        "the first relay to publish",
        Duration::from_secs(60),
        || async { first_stats.published() >= 200 },
    )
    .await;
    first.abort();
    let _ = first.await;
    let published_before_abort = first_stats.published();
    let unsent_at_abort = h.unsent().await;

    let (relay, second_stats) = h.relay(small_batches);
    let (stop_relay, second) = spawn(|t| relay.run(t));
    wait_until("every event applied", Duration::from_secs(180), || async {
        h.effects().await >= TOTAL as i64 && h.unsent().await == 0
    })
    .await;
    let (rows, distinct, _) = h.effect_figures().await;
    report(
        "relay aborted mid-burst and restarted",
        &[
            ("events committed", committed.to_string()),
            (
                "published before the abort",
                published_before_abort.to_string(),
            ),
            ("unsent when aborted", unsent_at_abort.to_string()),
            (
                "published after the restart",
                second_stats.published().to_string(),
            ),
            ("distinct events applied", distinct.to_string()),
            ("lost", (TOTAL as i64 - distinct).to_string()),
            ("applied twice", (rows - distinct).to_string()),
            (
                "redeliveries skipped by inbox",
                consumer_stats.duplicates().to_string(),
            ),
        ],
    );
    assert!(
        unsent_at_abort > 0,
        "the relay must be stopped mid-burst for this test to mean anything"
    );
    assert_eq!(distinct, TOTAL as i64, "nothing lost");
    assert_eq!(rows, distinct, "nothing applied twice");

    stop_relay.cancel();
    stop_consumer.cancel();
    second.await.unwrap();
    consumer_task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_replicas_keep_each_tenants_order() {
    const PER_TENANT: u64 = 400;
    let h = Arc::new(Harness::new().await);
    let total = PER_TENANT * h.tenants.len() as u64;
    let (consumer, consumer_stats) = h.consumer(h.consumer_config());
    let (stop_consumer, consumer_task) = spawn(|t| consumer.run(t));
    // Three replicas of one service, small batches, several in flight each.
    let config = RelayConfig {
        batch_size: 40,
        batches_in_flight: 3,
        poll_interval: Duration::from_millis(100),
        ..RelayConfig::default()
    };
    let relays: Vec<_> = (0..3)
        .map(|_| {
            let (relay, stats) = h.relay(config.clone());
            let (token, task) = spawn(|t| relay.run(t));
            (token, task, stats)
        })
        .collect();

    // Each tenant writes its orders one after another: amount 0, 1, 2, …
    let writers: Vec<_> = (0..h.tenants.len() as u64)
        .map(|tenant| {
            let h = h.clone();
            tokio::spawn(async move {
                for i in 0..PER_TENANT {
                    let n = tenant + i * h.tenants.len() as u64;
                    h.place_order(n).await.expect("business writes never fail");
                }
            })
        })
        .collect();

    // Mid-burst, the relay whose turn it is stops without a word, batches open.
    let published = |relays: &[(CancellationToken, JoinHandle<()>, RelayStats)]| {
        relays.iter().map(|r| r.2.published()).sum::<u64>()
    };
    wait_until(
        "a third of the events published",
        Duration::from_secs(120),
        || {
            let p = published(&relays);
            async move { p >= total / 3 }
        },
    )
    .await;
    let holder = relays
        .iter()
        .position(|r| r.2.turns() > 0)
        .expect("one relay has the turn");
    relays[holder].1.abort();
    let unsent_at_abort = h.unsent().await;
    for w in writers {
        w.await.unwrap();
    }
    wait_until("every event applied", Duration::from_secs(240), || async {
        h.effects().await >= total as i64 && h.unsent().await == 0
    })
    .await;

    let (rows, distinct, _) = h.effect_figures().await;
    // Each tenant's amounts, in the order they were applied, must only grow.
    let out_of_order = h
        .scalar(
            "SELECT count(*) AS n FROM (SELECT amount, lag(amount) OVER \
             (PARTITION BY msg_key ORDER BY seq) AS prev FROM effects) e WHERE amount <= prev",
        )
        .await;
    if out_of_order > 0 {
        h.print_out_of_order().await;
    }
    let turns: Vec<String> = relays
        .iter()
        .map(|r| {
            let s = &r.2;
            format!("{}/{}/{}", s.turns(), s.published(), s.failed_batches())
        })
        .collect();
    report(
        "three relay replicas, the one publishing stopped mid-burst",
        &[
            ("events committed", total.to_string()),
            ("unsent when it stopped", unsent_at_abort.to_string()),
            ("turns/published/failed batches", turns.join(", ")),
            ("distinct events applied", distinct.to_string()),
            ("lost", (total as i64 - distinct).to_string()),
            ("applied twice", (rows - distinct).to_string()),
            (
                "redeliveries skipped by inbox",
                consumer_stats.duplicates().to_string(),
            ),
            ("applied out of a tenant's order", out_of_order.to_string()),
        ],
    );
    assert!(
        unsent_at_abort > 0,
        "the relay must be stopped mid-burst for this test to mean anything"
    );
    assert!(
        relays
            .iter()
            .enumerate()
            .any(|(i, r)| i != holder && r.2.turns() > 0),
        "another replica took over"
    );
    assert_eq!(distinct, total as i64, "nothing lost");
    assert_eq!(rows, distinct, "nothing applied twice");
    assert_eq!(out_of_order, 0, "each tenant's events applied in order");

    for (i, (token, task, _)) in relays.into_iter().enumerate() {
        token.cancel();
        if i != holder {
            task.await.unwrap();
        }
    }
    stop_consumer.cancel();
    consumer_task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_restarted_before_committing_applies_nothing_twice() {
    const TOTAL: u64 = 2_000;
    let h = Arc::new(Harness::new().await);
    let committed = h.place_orders(TOTAL, 8).await.unwrap();
    let (relay, _) = h.relay(RelayConfig::default());
    let (stop_relay, relay_task) = spawn(|t| relay.run(t));

    // Offsets are stored but never committed, as if the process died before its next
    // commit: the restarted member starts again from the beginning.
    let config = h
        .consumer_config()
        .with_property("enable.auto.commit", "false");
    let (first, first_stats) = h.consumer(config.clone());
    let (_token, first_task) = spawn(|t| first.run(t));
    wait_until(
        "the first consumer to apply everything",
        Duration::from_secs(120),
        || async { h.effects().await >= TOTAL as i64 },
    )
    .await;
    first_task.abort();
    let _ = first_task.await;

    let (second, second_stats) = h.consumer(config);
    let (stop_second, second_task) = spawn(|t| second.run(t));
    wait_until(
        "the redelivered events to be recognised",
        Duration::from_secs(120),
        || async { second_stats.duplicates() >= TOTAL },
    )
    .await;
    let (rows, distinct, _) = h.effect_figures().await;
    report(
        "consumer stopped before committing offsets, then restarted",
        &[
            ("events committed", committed.to_string()),
            (
                "applied by the first consumer",
                first_stats.applied().to_string(),
            ),
            (
                "redelivered to the second",
                second_stats.duplicates().to_string(),
            ),
            ("applied by the second", second_stats.applied().to_string()),
            ("applied twice", (rows - distinct).to_string()),
        ],
    );
    assert_eq!(distinct, TOTAL as i64);
    assert_eq!(rows, distinct, "redelivery applied nothing twice");
    assert_eq!(second_stats.applied(), 0);

    stop_relay.cancel();
    stop_second.cancel();
    relay_task.await.unwrap();
    second_task.await.unwrap();
}

/// A broker of the test's own, started and stopped by the dev stack's script
/// (`deploy/dev/broker.sh`: Apache Kafka, or whatever `PLINTH_BROKER` names), with
/// its data in a directory of its own that survives a restart.
struct OwnBroker {
    dir: PathBuf,
    port: u16,
    controller_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OwnBroker {
    fn start() -> OwnBroker {
        let dir = std::env::temp_dir().join(format!("plinth-broker-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let broker = OwnBroker {
            dir,
            port: free_port(),
            controller_port: free_port(),
        };
        broker.spawn();
        broker
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its super user, from the principals directory `broker.sh` wrote.
    fn admin(&self) -> Option<BrokerCredentials> {
        plinth_testkit::broker_principal(&self.dir.join("principals"), "admin")
    }

    /// Runs `broker.sh <verb>` for this broker; `up` returns once it serves.
    fn script(&self, verb: &str) -> bool {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/dev/broker.sh");
        let status = Command::new("bash")
            .arg(script)
            .arg(verb)
            .env("PLINTH_BROKER_DIR", &self.dir)
            .env("PLINTH_KAFKA_PORT", self.port.to_string())
            .env(
                "PLINTH_KAFKA_CONTROLLER_PORT",
                self.controller_port.to_string(),
            )
            .env("PLINTH_KAFKA_BROKERS", self.addr())
            .stdout(Stdio::null())
            .status()
            .expect("bash runs deploy/dev/broker.sh");
        status.success()
    }

    fn spawn(&self) {
        assert!(
            self.script("up"),
            "the broker did not start; see {}",
            self.dir.join("broker.log").display()
        );
    }

    /// Stops the broker the way an operator would (SIGTERM) and waits for it to exit.
    fn stop(&self) {
        assert!(self.script("down"), "broker.sh down failed");
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.script("down");
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_stopped_mid_burst_loses_nothing() {
    const BEFORE: u64 = 1_500;
    const DURING: u64 = 1_000;
    let broker = OwnBroker::start();
    let h = Arc::new(Harness::on(&broker.addr(), broker.admin()).await);
    let (relay, relay_stats) = h.relay(RelayConfig {
        batch_size: 100,
        ..RelayConfig::default()
    });
    let (consumer, consumer_stats) = h.consumer(h.consumer_config());
    let (stop_relay, relay_task) = spawn(|t| relay.run(t));
    let (stop_consumer, consumer_task) = spawn(|t| consumer.run(t));

    let first_burst = h.place_orders(BEFORE, 4);
    wait_until("some events to flow", Duration::from_secs(60), || async {
        relay_stats.published() >= 100
    })
    .await;
    broker.stop();
    let committed_before = first_burst.await.unwrap();

    // With the broker gone, business writes still commit: the outbox absorbs them.
    let outage = Instant::now();
    let during = h.place_orders(DURING, 4).await.unwrap();
    let outage_writes = outage.elapsed();
    let unsent_during_outage = h.unsent().await;

    broker.spawn();
    let total = (BEFORE + DURING) as i64;
    wait_until(
        "every event applied after the restart",
        Duration::from_secs(240),
        || async { h.effects().await >= total && h.unsent().await == 0 },
    )
    .await;
    let (rows, distinct, _) = h.effect_figures().await;
    report(
        "broker stopped mid-burst and restarted",
        &[
            (
                "committed before/while stopping",
                committed_before.to_string(),
            ),
            ("committed while the broker was down", during.to_string()),
            ("time for those writes", format!("{outage_writes:.2?}")),
            (
                "unsent in the outbox during outage",
                unsent_during_outage.to_string(),
            ),
            (
                "failed relay batches (retried)",
                relay_stats.failed_batches().to_string(),
            ),
            ("distinct events applied", distinct.to_string()),
            ("lost", (total - distinct).to_string()),
            ("applied twice", (rows - distinct).to_string()),
            (
                "redeliveries skipped by inbox",
                consumer_stats.duplicates().to_string(),
            ),
        ],
    );
    assert_eq!(
        during, DURING,
        "business writes keep succeeding while the broker is down"
    );
    assert!(
        unsent_during_outage > 0,
        "the outbox held events while the broker was down"
    );
    assert_eq!(distinct, total, "nothing lost");
    assert_eq!(rows, distinct, "nothing applied twice");

    stop_relay.cancel();
    stop_consumer.cancel();
    relay_task.await.unwrap();
    consumer_task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_dead_lettered_and_the_rest_flows() {
    let h = Arc::new(Harness::new().await);
    let producer: FutureProducer = h.bus.producer().unwrap();
    let tenant = h.tenants[0].to_string();
    let send = |payload: Vec<u8>, headers: Option<OwnedHeaders>| {
        let (producer, topic, tenant) = (producer.clone(), h.topic.clone(), tenant.clone());
        async move {
            let mut record = FutureRecord::to(&topic).key(&tenant).payload(&payload);
            if let Some(headers) = headers {
                record = record.headers(headers);
            }
            producer
                .send(record, Duration::from_secs(10))
                .await
                .map_err(|(e, _)| e)
                .unwrap();
        }
    };
    let attrs = |ty: &str| CloudEvent {
        id: Uuid::new_v4(),
        ty: ty.to_owned(),
        source: "/plinth/test".into(),
        time: time::OffsetDateTime::now_utc(),
        subject: None,
        traceparent: None,
    };
    // 1. no CloudEvents headers at all
    send(b"hello".to_vec(), None).await;
    // 2. headers, but a payload that is not Avro
    send(
        b"{\"json\":true}".to_vec(),
        Some(attrs("plinth.test.order_placed").to_headers()),
    )
    .await;
    // 3. a valid event that its handler keeps failing on
    let failing = h
        .schemas
        .encode(
            ORDER_PLACED,
            &OrderPlaced {
                order_id: Uuid::new_v4().to_string(),
                tenant_id: tenant.clone(),
                amount: 1,
                note: Some("always-fails".into()),
            },
        )
        .unwrap();
    send(
        failing,
        Some(attrs("plinth.test.order_placed").to_headers()),
    )
    .await;
    // 4. then ordinary events through the outbox
    let committed = h.place_orders(20, 2).await.unwrap();

    let (relay, _) = h.relay(RelayConfig::default());
    let mut config = h.consumer_config();
    config.max_attempts = 3;
    config.min_backoff = Duration::from_millis(10);
    let (consumer, stats) = h.consumer(config);
    let (stop_relay, relay_task) = spawn(|t| relay.run(t));
    let (stop_consumer, consumer_task) = spawn(|t| consumer.run(t));
    wait_until(
        "the good events applied",
        Duration::from_secs(60),
        || async { h.effects().await >= committed as i64 && stats.dead_lettered() >= 3 },
    )
    .await;

    // The dead-letter topic holds the three, each with its reason and origin.
    let reader: StreamConsumer = h
        .bus
        .client_config()
        .set("group.id", format!("{}dlq-reader", h.bus.topic_prefix))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&[&dlq_topic(&h.topic)]).unwrap();
    let mut reasons = Vec::new();
    while reasons.len() < 3 {
        let msg = tokio::time::timeout(Duration::from_secs(30), reader.recv())
            .await
            .expect("dead-lettered messages arrive")
            .unwrap();
        let hdrs = msg.headers().expect("dead letters carry headers");
        let reason = headers::header_str(hdrs, headers::DLQ_ERROR).expect("a reason header");
        let origin = headers::header_str(hdrs, headers::DLQ_ORIGIN).expect("an origin header");
        assert!(origin.starts_with(&h.topic), "{origin}");
        assert_eq!(msg.key(), Some(tenant.as_bytes()));
        reasons.push(reason);
    }
    report(
        "poison messages",
        &[
            ("dead-lettered", stats.dead_lettered().to_string()),
            ("retries before giving up", stats.retries().to_string()),
            ("good events applied", h.effects().await.to_string()),
        ],
    );
    assert!(
        reasons[0].contains("missing header ce_specversion"),
        "{}",
        reasons[0]
    );
    assert!(reasons[1].contains("permanent"), "{}", reasons[1]);
    assert!(reasons[2].contains("after 3 attempt"), "{}", reasons[2]);
    assert_eq!(
        stats.retries(),
        2,
        "a transient failure is retried max_attempts - 1 times"
    );
    assert_eq!(h.effects().await, committed as i64);

    // The third, replayed (`plinth-dlq replay`): back on its topic with its
    // key, payload and CloudEvents headers, without the dead-letter ones; its
    // handler fails on it again, so it is dead-lettered again.
    let dlq = dlq_topic(&h.topic);
    let letters =
        plinth_bus::dlq::read_to_end(&h.bus, std::slice::from_ref(&dlq), Duration::from_secs(30))
            .await
            .unwrap();
    assert_eq!(letters.len(), 3);
    let third = &letters[2];
    let replayed_to = plinth_bus::dlq::replay(&h.bus, &dlq, third.partition, third.offset)
        .await
        .unwrap();
    assert_eq!(replayed_to, h.topic);
    wait_until(
        "the replayed letter dead-lettered again",
        Duration::from_secs(60),
        || async { stats.dead_lettered() >= 4 },
    )
    .await;
    let on_topic = plinth_bus::dlq::read_to_end(
        &h.bus,
        std::slice::from_ref(&h.topic),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let copies: Vec<_> = on_topic
        .iter()
        .filter(|m| m.ce_id().is_some() && m.ce_id() == third.ce_id())
        .collect();
    assert_eq!(copies.len(), 2, "the original and the replay");
    let replay = copies[1];
    assert_eq!(replay.payload, third.payload);
    assert_eq!(replay.key, third.key);
    assert!(replay.reason().is_none() && replay.origin().is_none());
    let without_dlq: Vec<_> = third
        .headers
        .iter()
        .filter(|(k, _)| k != headers::DLQ_ERROR && k != headers::DLQ_ORIGIN)
        .cloned()
        .collect();
    assert_eq!(replay.headers, without_dlq);
    // A message of the topic itself (where the first poison message still is)
    // is not a dead letter: nothing is replayed.
    let origin = letters[0].origin().unwrap();
    let mut at = origin.rsplitn(3, '/');
    let (offset, partition) = (at.next().unwrap(), at.next().unwrap());
    assert!(matches!(
        plinth_bus::dlq::replay(
            &h.bus,
            &h.topic,
            partition.parse().unwrap(),
            offset.parse().unwrap()
        )
        .await,
        Err(plinth_bus::dlq::ReplayError::NotADeadLetter(_))
    ));

    stop_relay.cancel();
    stop_consumer.cancel();
    relay_task.await.unwrap();
    consumer_task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_the_handler_does_not_want_are_passed_over() {
    let h = Arc::new(Harness::new().await);
    let producer: FutureProducer = h.bus.producer().unwrap();
    // Events of another type, ahead of the orders on every tenant's partition, with
    // a payload the handler could not decode: handled, they would be dead-lettered.
    for tenant in &h.tenants {
        let tenant = tenant.to_string();
        let attrs = CloudEvent {
            id: Uuid::new_v4(),
            ty: "plinth.test.order_shipped".into(),
            source: "/plinth/test".into(),
            time: time::OffsetDateTime::now_utc(),
            subject: None,
            traceparent: None,
        };
        producer
            .send(
                FutureRecord::to(&h.topic)
                    .key(&tenant)
                    .payload(b"not avro".as_slice())
                    .headers(attrs.to_headers()),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    let committed = h.place_orders(20, 2).await.unwrap();
    let (relay, _) = h.relay(RelayConfig::default());
    let mut config = h.consumer_config();
    config.lag_interval = Duration::from_millis(200);
    let (consumer, stats) = h.consumer_of(config, Some("plinth.test.order_placed"));
    let (stop_relay, relay_task) = spawn(|t| relay.run(t));
    let (stop_consumer, consumer_task) = spawn(|t| consumer.run(t));
    wait_until("the orders applied", Duration::from_secs(60), || async {
        h.effects().await >= committed as i64
    })
    .await;
    // Once what it took is committed, the group is behind on no partition of the
    // topic, and says so for each.
    wait_until(
        "the lag reported as none",
        Duration::from_secs(30),
        || async {
            let lag = stats.lag();
            !lag.is_empty() && lag.iter().all(|p| p.topic == h.topic && p.messages == 0)
        },
    )
    .await;
    stop_relay.cancel();
    stop_consumer.cancel();
    relay_task.await.unwrap();
    consumer_task.await.unwrap();

    assert_eq!(h.effects().await, committed as i64);
    assert_eq!(stats.passed_over(), h.tenants.len() as u64);
    assert_eq!(stats.dead_lettered(), 0);
    assert_eq!(
        h.scalar("SELECT count(*) AS n FROM inbox").await,
        committed as i64,
        "only the wanted events are recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_messages_follow_the_cloudevents_kafka_binding() {
    let h = Arc::new(Harness::new().await);
    h.place_orders(1, 1).await.unwrap();
    // Records of published events are kept for two seconds here.
    let (relay, _) = h.relay(RelayConfig {
        retention: Duration::from_secs(2),
        ..RelayConfig::default()
    });
    let (stop_relay, relay_task) = spawn(|t| relay.run(t));

    let reader: StreamConsumer = h
        .bus
        .client_config()
        .set("group.id", format!("{}raw-reader", h.bus.topic_prefix))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&[&h.topic]).unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(30), reader.recv())
        .await
        .expect("the event is published")
        .unwrap();
    let hdrs = msg.headers().unwrap();
    let get = |name| headers::header_str(hdrs, name);
    assert_eq!(get(headers::CE_SPECVERSION).as_deref(), Some("1.0"));
    assert_eq!(
        get(headers::CE_TYPE).as_deref(),
        Some("plinth.test.order_placed")
    );
    assert_eq!(get(headers::CE_SOURCE).as_deref(), Some("/plinth/test"));
    assert_eq!(
        get(headers::CONTENT_TYPE).as_deref(),
        Some(headers::AVRO_CONTENT_TYPE)
    );
    assert!(get(headers::CE_SUBJECT).is_some());
    assert!(get(headers::TRACEPARENT).is_some_and(|t| t.starts_with("00-")));
    let attrs = CloudEvent::from_headers(Some(hdrs)).unwrap();
    let key = std::str::from_utf8(msg.key().unwrap()).unwrap();
    assert_eq!(key, h.tenants[0].to_string());
    // A partner decodes the payload with nothing but the published schema.
    let payload = msg.payload().unwrap();
    assert_eq!(&payload[..2], &[0xC3, 0x01]);
    let order: OrderPlaced = schemas().decode(ORDER_PLACED, payload).unwrap();
    assert_eq!(order.tenant_id, key);
    assert_eq!(attrs.subject.as_deref(), Some(order.order_id.as_str()));

    let recorded = h
        .scalar(&format!(
            "SELECT count(*) AS n FROM outbox_sent WHERE '{}' = ANY(event_ids)",
            attrs.id
        ))
        .await;
    assert_eq!(recorded, 1, "the relay records what it published");
    assert_eq!(h.unsent().await, 0);
    wait_until("the record to expire", Duration::from_secs(30), || async {
        h.scalar("SELECT count(*) AS n FROM outbox_sent").await == 0
    })
    .await;

    stop_relay.cancel();
    relay_task.await.unwrap();
}

/// Three outbox rows on `topic`, the middle one with a payload of `bad_len` bytes;
/// returns the event ids in order.
async fn good_bad_good(h: &Harness, topic: &str, bad_len: usize) -> [Uuid; 3] {
    let tenant = h.tenants[0];
    let events: Vec<Event> = [16, bad_len, 16]
        .into_iter()
        .map(|len| {
            Event::new(
                topic,
                tenant.to_string(),
                "plinth.test.order_placed",
                "/plinth/test",
                vec![7u8; len],
            )
        })
        .collect();
    let ids = [events[0].id, events[1].id, events[2].id];
    let mut conn = h.pool.get().await.unwrap();
    // One row per transaction, in order, as three business changes would write them.
    for event in events {
        tenant_transaction(&mut conn, tenant, async |conn| {
            Outbox::enqueue(conn, std::slice::from_ref(&event)).await
        })
        .await
        .unwrap();
    }
    ids
}

/// The event ids on `topic`, read from the beginning until `want` are seen.
async fn read_ids(h: &Harness, topic: &str, want: &[Uuid]) -> Vec<Uuid> {
    let reader: StreamConsumer = h
        .bus
        .client_config()
        .set("group.id", format!("{}reader-{topic}", h.bus.topic_prefix))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&[topic]).unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !want.iter().all(|id| seen.contains(id)) {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, reader.recv())
            .await
            .unwrap_or_else(|_| panic!("only {seen:?} of {want:?} arrived on {topic}"))
            .unwrap();
        seen.push(CloudEvent::from_headers(msg.headers()).unwrap().id);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_refused_for_good_are_dead_lettered_and_the_rows_behind_them_flow() {
    let h = Arc::new(Harness::new().await);
    // The client refuses a message over its `message.max.bytes` (1,000,000) at once.
    let client_refused = good_bad_good(&h, &h.topic, 1_500_000).await;
    // A topic that takes at most 4 KiB a record batch: the broker refuses 20 KB.
    let small = format!("{}small", h.bus.topic_prefix);
    ensure_topics(
        &h.bus,
        &[TopicSpec::new(&small, 1).with_config("max.message.bytes", "4096")],
    )
    .await
    .unwrap();
    let broker_refused = good_bad_good(&h, &small, 20_000).await;
    let after = good_bad_good(&h, &h.topic, 16).await;

    let (relay, relay_stats) = h.relay(RelayConfig::default());
    let (stop_relay, relay_task) = spawn(|t| relay.run(t));
    wait_until("the outbox to drain", Duration::from_secs(60), || async {
        h.unsent().await == 0
    })
    .await;

    let on_main = read_ids(
        &h,
        &h.topic,
        &[
            client_refused[0],
            client_refused[2],
            after[0],
            after[1],
            after[2],
        ],
    )
    .await;
    let on_small = read_ids(&h, &small, &[broker_refused[0], broker_refused[2]]).await;
    assert!(!on_main.contains(&client_refused[1]));
    assert!(!on_small.contains(&broker_refused[1]));

    #[derive(QueryableByName, Debug)]
    struct Dead {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        event_id: Uuid,
        #[diesel(sql_type = Text)]
        reason: String,
        #[diesel(sql_type = BigInt)]
        len: i64,
    }
    let mut conn = plinth_db::connect(&h.db.owner_url()).await.unwrap();
    let dead: Vec<Dead> = diesel::sql_query(
        "SELECT event_id, reason, length(payload)::int8 AS len FROM outbox_dead_letter ORDER BY id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    report(
        "rows refused for good",
        &[
            ("published", relay_stats.published().to_string()),
            ("dead-lettered", relay_stats.dead_lettered().to_string()),
            ("failed batches", relay_stats.failed_batches().to_string()),
            (
                "reasons",
                format!("{:?}", dead.iter().map(|d| &d.reason).collect::<Vec<_>>()),
            ),
        ],
    );
    assert_eq!(
        dead.iter().map(|d| d.event_id).collect::<Vec<_>>(),
        vec![client_refused[1], broker_refused[1]],
        "exactly the two refused rows are kept, whole"
    );
    assert_eq!(dead[0].len, 1_500_000);
    assert_eq!(dead[1].len, 20_000);
    assert!(
        dead.iter()
            .all(|d| d.reason.to_lowercase().contains("too large")),
        "{dead:?}"
    );
    assert_eq!(relay_stats.dead_lettered(), 2);

    stop_relay.cancel();
    relay_task.await.unwrap();
}
