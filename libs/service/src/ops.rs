//! What operators see of a service, on its internal listener (which no gateway
//! routes): `/metrics` in the text format Prometheus scrapes, `/livez` and
//! `/readyz`.
//!
//! Request metrics carry the route's template, never the path (which names
//! tenants), so their labels are bounded by the service's routes. The outbox
//! backlog and the pool are read at each scrape; the relay's and the consumers'
//! counters are theirs, read as they are.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use diesel::sql_types::{BigInt, Double};
use diesel_async::RunQueryDsl;
use plinth_bus::{ConsumerStats, RelayStats};
use plinth_core::service::{Observed, Observer, Stopping, TaskWatch};
use plinth_db::Pool;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;

/// The labels of a request metric, named as OpenTelemetry's HTTP semantic
/// conventions name them.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    http_request_method: String,
    /// The route's template; `unmatched` for a path no route serves.
    http_route: String,
    http_response_status_code: u16,
}

/// The buckets of `http.server.request.duration` that OpenTelemetry advises, in
/// seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// A registry whose every series carries `service="<service>"`.
pub fn registry(service: &str) -> Registry {
    Registry::with_labels(
        [(
            std::borrow::Cow::Borrowed("service"),
            std::borrow::Cow::Owned(service.to_owned()),
        )]
        .into_iter(),
    )
}

/// `http.server.request.duration` (`http_server_request_duration_seconds`): the
/// requests a server answered, by method, route template and status; its count
/// is the request rate, its `5xx` part the error rate.
#[derive(Debug, Clone)]
pub struct RequestMetrics(Family<RequestLabels, Histogram, fn() -> Histogram>);

impl RequestMetrics {
    /// Registers the histogram in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let requests: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP requests, by method, route template and status",
            Unit::Seconds,
            requests.clone(),
        );
        RequestMetrics(requests)
    }

    /// Records a request answered.
    pub fn observe(&self, request: Observed<'_>) {
        self.0
            .get_or_create(&RequestLabels {
                http_request_method: request.method.to_owned(),
                http_route: request.route.unwrap_or("unmatched").to_owned(),
                http_response_status_code: request.status,
            })
            .observe(request.elapsed.as_secs_f64());
    }
}

/// `registry` in the text format Prometheus scrapes, as an answer.
pub fn exposition(registry: &Registry) -> HttpResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, registry) {
        Ok(()) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// A figure a service reads from its own tables at each scrape: `sql` answers
/// rows of `label` (text) and `value` (double precision), read across every
/// tenant (row-level security scoped to all), one series per label value.
#[derive(Debug, Clone)]
pub struct ScrapedGauge {
    /// The metric's name.
    pub name: &'static str,
    /// What it measures.
    pub help: &'static str,
    /// The name of its one label (bounded: a state, a flow).
    pub label: &'static str,
    /// The query.
    pub sql: &'static str,
}

/// One scraped gauge registered: its query and its series.
struct Scraped {
    gauge: ScrapedGauge,
    family: Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>,
}

#[derive(diesel::QueryableByName)]
struct LabelledValue {
    #[diesel(sql_type = diesel::sql_types::Text)]
    label: String,
    #[diesel(sql_type = Double)]
    value: f64,
}

/// A service's metrics, and the checks its readiness is made of.
pub struct Ops {
    registry: Registry,
    requests: RequestMetrics,
    pool: Pool,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_waiting: Gauge,
    outbox_rows: Gauge,
    outbox_oldest: Gauge<f64, AtomicU64>,
    scraped: Vec<Scraped>,
    tasks: Vec<TaskWatch>,
    consumers: Vec<(String, ConsumerStats)>,
    migrations: Vec<String>,
    stopping: Stopping,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

/// What a service's metrics and readiness are read from.
pub struct Sources {
    /// The service's name (every series' `service` label).
    pub service: &'static str,
    /// The app role's pool.
    pub pool: Pool,
    /// The relay's counters, if this process runs the relay.
    pub relay: Option<RelayStats>,
    /// Each consumer's group and counters.
    pub consumers: Vec<(String, ConsumerStats)>,
    /// The service's own collectors.
    pub collectors: Vec<Box<dyn Collector>>,
    /// Figures read from its tables at each scrape.
    pub scraped: Vec<ScrapedGauge>,
    /// The tasks beside its server.
    pub tasks: Vec<TaskWatch>,
    /// The versions of every migration the service's code expects applied.
    pub migrations: Vec<String>,
    /// Whether the service has begun to stop.
    pub stopping: Stopping,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("service", &self.service)
            .field("consumers", &self.consumers)
            .field("tasks", &self.tasks)
            .field("migrations", &self.migrations)
            .finish_non_exhaustive()
    }
}

impl Ops {
    /// The metrics and readiness of a service.
    pub fn new(sources: Sources) -> Self {
        let Sources {
            service,
            pool,
            relay,
            consumers,
            collectors,
            scraped,
            tasks,
            migrations,
            stopping,
        } = sources;
        let consumer_stats = consumers.clone();
        let mut registry = registry(service);
        let requests = RequestMetrics::register(&mut registry);
        let (pool_connections, pool_idle, pool_waiting) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "db_client_connection_count",
            "Connections the app role's pool holds",
            pool_connections.clone(),
        );
        registry.register(
            "db_client_connection_idle",
            "Connections of the pool not in use",
            pool_idle.clone(),
        );
        registry.register(
            "db_client_connection_pending_requests",
            "Requests waiting for a connection of the pool",
            pool_waiting.clone(),
        );
        let (outbox_rows, outbox_oldest) = (Gauge::default(), Gauge::<f64, AtomicU64>::default());
        registry.register(
            "plinth_outbox_backlog_rows",
            "Events committed to the outbox and not yet published",
            outbox_rows.clone(),
        );
        registry.register_with_unit(
            "plinth_outbox_oldest_age",
            "Age of the oldest event not yet published (0 with none)",
            Unit::Seconds,
            outbox_oldest.clone(),
        );
        registry.register_collector(Box::new(BusCounters { relay, consumers }));
        for collector in collectors {
            registry.register_collector(collector);
        }
        let scraped = scraped
            .into_iter()
            .map(|gauge| {
                let family = Family::default();
                registry.register(gauge.name, gauge.help, family.clone());
                Scraped { gauge, family }
            })
            .collect();
        Ops {
            registry,
            requests,
            pool,
            pool_connections,
            pool_idle,
            pool_waiting,
            outbox_rows,
            outbox_oldest,
            scraped,
            tasks,
            consumers: consumer_stats,
            migrations,
            stopping,
        }
    }

    /// Records a request the service answered.
    pub fn observe(&self, request: Observed<'_>) {
        self.requests.observe(request);
    }

    /// An observer recording into these metrics, for the server.
    pub fn observer(self: &Arc<Self>) -> Observer {
        let ops = self.clone();
        Arc::new(move |request| ops.observe(request))
    }

    /// Reads what is read at each scrape: the pool, the outbox, the scraped gauges.
    async fn refresh(&self) {
        let status = self.pool.status();
        self.pool_connections.set(status.size as i64);
        self.pool_idle.set(status.available as i64);
        self.pool_waiting.set(status.waiting as i64);
        match outbox_backlog(&self.pool).await {
            Ok(backlog) => {
                self.outbox_rows.set(backlog.rows);
                self.outbox_oldest.set(backlog.oldest_seconds);
            }
            Err(err) => tracing::warn!(error = %err, "reading the outbox backlog for metrics"),
        }
        for scraped in &self.scraped {
            match scrape(&self.pool, scraped.gauge.sql).await {
                Ok(rows) => {
                    scraped.family.clear();
                    for row in rows {
                        scraped
                            .family
                            .get_or_create(&vec![(scraped.gauge.label.to_owned(), row.label)])
                            .set(row.value);
                    }
                }
                Err(err) => tracing::warn!(error = %err, metric = scraped.gauge.name, "scraping"),
            }
        }
    }

    /// Whether the service can take requests: it is not stopping, its database answers with every
    /// migration its code expects applied, the tasks beside its server (relay,
    /// consumers, timers) still run, and each consumer has joined its group.
    /// (The token key is loaded before the service binds at all.)
    pub async fn readiness(&self) -> Readiness {
        let mut checks = Vec::with_capacity(self.tasks.len() + self.consumers.len() + 3);
        let accepting = if self.stopping.is_stopping() {
            Err("stopping: finishing the requests in flight".to_owned())
        } else {
            Ok(())
        };
        checks.push(Check::of("accepting requests", accepting));
        let database = within(database_answers(&self.pool)).await;
        let reachable = database.is_ok();
        checks.push(Check::of("database", database));
        let migrations = if reachable {
            within(missing_migrations(&self.pool, &self.migrations)).await
        } else {
            Err("the database does not answer".to_owned())
        };
        checks.push(Check::of("migrations", migrations));
        for (group, stats) in &self.consumers {
            let joined = if stats.joined() {
                Ok(())
            } else {
                Err("no assignment from the group yet".to_owned())
            };
            checks.push(Check::of(&format!("consumer group {group}"), joined));
        }
        for task in &self.tasks {
            let running = if task.is_running() {
                Ok(())
            } else {
                Err("ended".to_owned())
            };
            checks.push(Check::of(&task.name, running));
        }
        Readiness {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }
}

/// `check`'s answer, or a failure if it takes more than two seconds.
async fn within(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(Duration::from_secs(2), check)
        .await
        .unwrap_or_else(|_| Err("no answer within 2 s".to_owned()))
}

/// The answer of `/readyz`.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// Whether every check passes.
    pub ready: bool,
    /// Each check, in order.
    pub checks: Vec<Check>,
}

/// One check of readiness.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked: `database`, or a task's name.
    pub name: String,
    /// Whether it passes.
    pub ok: bool,
    /// Why not, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Check {
    fn of(name: &str, outcome: Result<(), String>) -> Check {
        Check {
            name: name.to_owned(),
            ok: outcome.is_ok(),
            reason: outcome.err(),
        }
    }
}

/// A connection, or why there is none, for a metric or a check.
async fn checkout(pool: &Pool) -> Result<plinth_db::PooledConn, String> {
    plinth_db::checkout(pool)
        .await
        .map_err(|e| e.internal_message().unwrap_or("unavailable").to_owned())
}

async fn database_answers(pool: &Pool) -> Result<(), String> {
    let mut conn = checkout(pool).await?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// Every version in `expected` recorded as applied, or the ones that are not.
async fn missing_migrations(pool: &Pool, expected: &[String]) -> Result<(), String> {
    let mut conn = checkout(pool).await?;
    let applied: std::collections::HashSet<String> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<Version>(&mut conn)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|v| v.version)
            .collect();
    let missing: Vec<&str> = expected
        .iter()
        .filter(|v| !applied.contains(*v))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("not applied: {}", missing.join(", ")))
    }
}

#[derive(diesel::QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = Double)]
    oldest_seconds: f64,
}

/// The outbox holds only what is still to be published.
async fn outbox_backlog(pool: &Pool) -> Result<Backlog, String> {
    let mut conn = checkout(pool).await?;
    diesel::sql_query(
        "SELECT count(*) AS rows,
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
         FROM outbox",
    )
    .get_result::<Backlog>(&mut conn)
    .await
    .map_err(|e| e.to_string())
}

async fn scrape(pool: &Pool, sql: &'static str) -> Result<Vec<LabelledValue>, String> {
    let mut conn = checkout(pool).await?;
    plinth_db::scoped_transaction(&mut conn, &plinth_db::TenantScope::All, async |conn| {
        diesel::sql_query(sql).load::<LabelledValue>(conn).await
    })
    .await
    .map_err(|e: diesel::result::Error| e.to_string())
}

/// The relay's and the consumers' own counters, read at each scrape.
#[derive(Debug)]
struct BusCounters {
    relay: Option<RelayStats>,
    consumers: Vec<(String, ConsumerStats)>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabel {
    consumer_group: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    consumer_group: String,
    topic: String,
    partition: i32,
}

impl Collector for BusCounters {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        if let Some(relay) = &self.relay {
            let counters = [
                (
                    "plinth_relay_published",
                    "Events the relay published",
                    relay.published(),
                ),
                (
                    "plinth_relay_batches",
                    "Batches the relay published",
                    relay.batches(),
                ),
                (
                    "plinth_relay_failed_batches",
                    "Batches rolled back because publishing or the database failed",
                    relay.failed_batches(),
                ),
                (
                    "plinth_relay_dead_lettered",
                    "Outbox rows the broker refused for good, moved aside",
                    relay.dead_lettered(),
                ),
                (
                    "plinth_relay_turns",
                    "Times this relay took its turn to publish",
                    relay.turns(),
                ),
            ];
            encode_counters(&mut encoder, &counters)?;
        }
        if self.consumers.is_empty() {
            return Ok(());
        }
        type Read = fn(&ConsumerStats) -> u64;
        let families: [(&str, &str, Read); 5] = [
            (
                "plinth_consumer_applied",
                "Events whose effect was committed",
                ConsumerStats::applied,
            ),
            (
                "plinth_consumer_duplicates",
                "Redelivered events recognised and skipped",
                ConsumerStats::duplicates,
            ),
            (
                "plinth_consumer_retries",
                "Handler failures retried",
                ConsumerStats::retries,
            ),
            (
                "plinth_consumer_dead_lettered",
                "Messages given up on and sent to the dead-letter topic",
                ConsumerStats::dead_lettered,
            ),
            (
                "plinth_consumer_rebalances",
                "Assignments the group gave this consumer, one per rebalance",
                ConsumerStats::rebalances,
            ),
        ];
        for (name, help, read) in families {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (group, stats) in &self.consumers {
                let labels = GroupLabel {
                    consumer_group: group.clone(),
                };
                ConstCounter::new(read(stats)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut assigned = encoder.encode_descriptor(
            "plinth_consumer_assigned_partitions",
            "Partitions the group assigns this consumer now",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (group, stats) in &self.consumers {
            let labels = GroupLabel {
                consumer_group: group.clone(),
            };
            ConstGauge::new(stats.assigned_partitions() as i64)
                .encode(assigned.encode_family(&labels)?)?;
        }
        // One series per partition a group fetches: bounded by the topics'
        // partition counts, which configuration sets.
        let mut lag = encoder.encode_descriptor(
            "plinth_consumer_lag",
            "Messages a consumer group has not taken yet, per partition it fetches",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (group, stats) in &self.consumers {
            for partition in stats.lag() {
                let labels = PartitionLabels {
                    consumer_group: group.clone(),
                    topic: partition.topic,
                    partition: partition.partition,
                };
                ConstGauge::new(partition.messages).encode(lag.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Writes each `(name, help, value)` as a counter, read now: for collectors of
/// counts kept elsewhere.
pub fn encode_counters(
    encoder: &mut DescriptorEncoder<'_>,
    counters: &[(&str, &str, u64)],
) -> Result<(), std::fmt::Error> {
    for &(name, help, value) in counters {
        let counter = ConstCounter::new(value);
        counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
    }
    Ok(())
}

/// The internal listener's routes: `/metrics`, `/livez`, `/readyz`.
pub fn routes(ops: web::Data<Ops>) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |config: &mut web::ServiceConfig| {
        config
            .app_data(ops.clone())
            .route("/metrics", web::get().to(metrics))
            .route("/livez", web::get().to(livez))
            .route("/readyz", web::get().to(readyz));
    }
}

async fn metrics(ops: web::Data<Ops>) -> HttpResponse {
    ops.refresh().await;
    exposition(&ops.registry)
}

/// The process runs and answers.
async fn livez() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn readyz(ops: web::Data<Ops>) -> HttpResponse {
    let readiness = ops.readiness().await;
    if readiness.ready {
        HttpResponse::Ok().json(readiness)
    } else {
        HttpResponse::ServiceUnavailable().json(readiness)
    }
}
