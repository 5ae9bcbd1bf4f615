//! Publishing committed outbox rows.
//!
//! The relay wakes on `NOTIFY plinth_outbox` (sent by a trigger when rows are
//! inserted), and also polls, so a lost notification or a dropped listener delays an
//! event by at most one poll interval. Each batch is one transaction of its own:
//! take unsent rows in id order with `FOR UPDATE SKIP LOCKED`, publish them with the
//! idempotent producer (key = tenant), wait for every acknowledgement, mark them
//! sent, commit. If anything fails the transaction rolls back and the batch is
//! published again after a backoff; consumers drop the duplicates by event id.
//!
//! Relays of several replicas of a service take turns through a transaction-scoped
//! advisory lock, so a tenant's events leave in the order they were written.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::{FutureExt, StreamExt};
use plinth_db::Pool;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::BusConfig;
use crate::counter::Counter;
use crate::headers::CloudEvent;
use crate::schema::outbox;

/// The channel the outbox trigger notifies.
const CHANNEL: &str = "plinth_outbox";
/// Serializes relays of one database.
const LOCK_SQL: &str =
    "SELECT pg_try_advisory_xact_lock(hashtext('plinth_outbox_relay')) AS locked";

/// How the relay batches, polls, backs off and cleans up.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows published per transaction.
    pub batch_size: i64,
    /// Longest wait between two looks at the outbox when no notification arrives.
    pub poll_interval: Duration,
    /// Published rows are deleted after this long.
    pub retention: Duration,
    /// First and longest wait after a failed batch.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch_size: 2000,
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(3600),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Counters a relay keeps while it runs.
#[derive(Debug, Clone, Default)]
pub struct RelayStats(Arc<RelayCounters>);

#[derive(Debug, Default)]
struct RelayCounters {
    published: Counter,
    batches: Counter,
    failed_batches: Counter,
}

impl RelayStats {
    /// Events acknowledged by the broker and marked sent.
    pub fn published(&self) -> u64 {
        self.0.published.get()
    }
    pub fn batches(&self) -> u64 {
        self.0.batches.get()
    }
    /// Batches rolled back because publishing or the database failed.
    pub fn failed_batches(&self) -> u64 {
        self.0.failed_batches.get()
    }
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("connection pool: {0}")]
    Pool(String),
    #[error("publishing: {0}")]
    Publish(KafkaError),
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox)]
struct OutboxRow {
    id: i64,
    event_id: Uuid,
    topic: String,
    msg_key: String,
    ce_type: String,
    ce_source: String,
    ce_subject: Option<String>,
    ce_time: OffsetDateTime,
    traceparent: Option<String>,
    payload: Vec<u8>,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Publishes a service's outbox to Kafka.
pub struct Relay {
    pool: Pool,
    listen_url: String,
    bus: BusConfig,
    config: RelayConfig,
    stats: RelayStats,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// `pool` and `listen_url` reach the service's database; the listener uses a
    /// connection of its own, outside the pool.
    pub fn new(pool: Pool, listen_url: &str, bus: BusConfig, config: RelayConfig) -> Self {
        Relay {
            pool,
            listen_url: listen_url.to_owned(),
            bus,
            config,
            stats: RelayStats::default(),
        }
    }

    pub fn stats(&self) -> RelayStats {
        self.stats.clone()
    }

    /// Runs until `shutdown` is cancelled, then flushes what is in flight.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut producer = self.bus.producer()?;
        let mut listener: Option<AsyncPgConnection> = None;
        let mut backoff = self.config.min_backoff;
        let mut last_purge = Instant::now();
        loop {
            if listener.is_none() {
                listener = match self.listen().await {
                    Ok(conn) => Some(conn),
                    Err(err) => {
                        tracing::warn!(error = %err, "outbox listener unavailable; polling");
                        None
                    }
                };
            }

            let failed = match self.drain(&producer).await {
                Ok(()) => {
                    backoff = self.config.min_backoff;
                    false
                }
                Err(err) => {
                    self.stats.0.failed_batches.add(1);
                    tracing::warn!(error = %err, retry_in = ?backoff, "outbox batch failed");
                    if matches!(err, RelayError::Publish(_)) {
                        // A fresh producer starts a new idempotent session, so no stale
                        // producer epoch or sequence survives a broker restart; the old
                        // one is dropped off the async threads (its drop waits briefly).
                        let old = std::mem::replace(&mut producer, self.bus.producer()?);
                        tokio::task::spawn_blocking(move || drop(old));
                    }
                    true
                }
            };

            if last_purge.elapsed() >= Duration::from_secs(60) {
                last_purge = Instant::now();
                if let Err(err) = self.purge().await {
                    tracing::warn!(error = %err, "purging published outbox rows failed");
                }
            }

            let wait = if failed {
                backoff
            } else {
                self.config.poll_interval
            };
            let alive = tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = producer.flush(Timeout::After(Duration::from_secs(5)));
                    return Ok(());
                }
                _ = tokio::time::sleep(wait) => true,
                alive = next_notification(&mut listener), if !failed => alive,
            };
            if failed {
                backoff = (backoff * 2).min(self.config.max_backoff);
            }
            match (&mut listener, alive) {
                (Some(conn), true) => {
                    // One pass drains the outbox however many inserts woke us.
                    let stream = conn.notifications_stream();
                    let mut stream = std::pin::pin!(stream);
                    while let Some(Some(Ok(_))) = stream.next().now_or_never() {}
                }
                (Some(_), false) => listener = None,
                (None, _) => {}
            }
        }
    }

    async fn listen(&self) -> Result<AsyncPgConnection, anyhow::Error> {
        let mut conn = AsyncPgConnection::establish(&self.listen_url).await?;
        diesel::sql_query(format!("LISTEN {CHANNEL}"))
            .execute(&mut conn)
            .await?;
        Ok(conn)
    }

    /// Publishes batches until the outbox has no unsent rows left.
    async fn drain(&self, producer: &FutureProducer) -> Result<(), RelayError> {
        loop {
            let n = self.publish_batch(producer).await?;
            if n < self.config.batch_size as usize {
                return Ok(());
            }
        }
    }

    async fn publish_batch(&self, producer: &FutureProducer) -> Result<usize, RelayError> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| RelayError::Pool(e.to_string()))?;
        let batch_size = self.config.batch_size;
        let n = conn
            .transaction(async |conn| {
                let lock = diesel::sql_query(LOCK_SQL)
                    .get_result::<Locked>(conn)
                    .await?;
                if !lock.locked {
                    return Ok(0);
                }
                let rows: Vec<OutboxRow> = outbox::table
                    .filter(outbox::sent_at.is_null())
                    .order(outbox::id.asc())
                    .limit(batch_size)
                    .for_update()
                    .skip_locked()
                    .select(OutboxRow::as_select())
                    .load(conn)
                    .await?;
                if rows.is_empty() {
                    return Ok(0);
                }
                publish(producer, &rows).await?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                    .set(outbox::sent_at.eq(OffsetDateTime::now_utc()))
                    .execute(conn)
                    .await?;
                Ok::<_, RelayError>(rows.len())
            })
            .await?;
        if n > 0 {
            self.stats.0.published.add(n as u64);
            self.stats.0.batches.add(1);
        }
        Ok(n)
    }

    async fn purge(&self) -> Result<(), RelayError> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| RelayError::Pool(e.to_string()))?;
        let cutoff = OffsetDateTime::now_utc() - self.config.retention;
        let purged = diesel::delete(outbox::table.filter(outbox::sent_at.lt(cutoff)))
            .execute(&mut conn)
            .await?;
        if purged > 0 {
            tracing::debug!(purged, "deleted published outbox rows");
        }
        Ok(())
    }
}

/// Sends every row and waits for every acknowledgement; the first failure fails all.
async fn publish(producer: &FutureProducer, rows: &[OutboxRow]) -> Result<(), RelayError> {
    let sends = rows.iter().map(|row| {
        let headers = CloudEvent {
            id: row.event_id,
            ty: row.ce_type.clone(),
            source: row.ce_source.clone(),
            time: row.ce_time,
            subject: row.ce_subject.clone(),
            traceparent: row.traceparent.clone(),
        }
        .to_headers();
        let record = FutureRecord::to(&row.topic)
            .key(row.msg_key.as_str())
            .payload(row.payload.as_slice())
            .headers(headers);
        producer.send(record, Timeout::After(Duration::from_secs(30)))
    });
    for result in futures_util::future::join_all(sends).await {
        if let Err((err, _)) = result {
            return Err(RelayError::Publish(err));
        }
    }
    Ok(())
}

/// Waits for the next notification; `false` when the listener connection is gone.
async fn next_notification(listener: &mut Option<AsyncPgConnection>) -> bool {
    match listener {
        Some(conn) => {
            let stream = conn.notifications_stream();
            matches!(std::pin::pin!(stream).next().await, Some(Ok(_)))
        }
        None => std::future::pending().await,
    }
}
