//! Publishing committed outbox rows.
//!
//! The relay wakes on `NOTIFY plinth_outbox` (sent by a trigger when rows are
//! inserted), and also polls, so a lost notification delays an event by at most one
//! poll interval.
//!
//! **Batches.** A batch is a transaction of its own on a pooled connection. One
//! statement claims the oldest outbox rows `FOR UPDATE SKIP LOCKED` and deletes
//! them, a second records the batch in `outbox_sent` (the mark that its events were
//! sent: when, the id range, the event ids); every row is
//! handed to the idempotent producer (key = tenant); when every acknowledgement is
//! in, the transaction commits. If anything fails the transaction rolls back and the
//! rows are published again after a backoff; consumers drop the duplicates by event
//! id. Up to [`RelayConfig::batches_in_flight`] batches are open at once: while the
//! broker acknowledges batch *n*, batch *n + 1* is claimed (`SKIP LOCKED` passes over
//! batch *n*'s rows) and sent behind it. Batches commit in claim order, and a failure
//! rolls back every open batch, so no row leaves the outbox unless it was
//! acknowledged.
//!
//! **Order.** The producer keeps send order per partition and never leaves a gap
//! ([`BusConfig::ordered_producer`]), every tenant's rows are sent in id order, and
//! a failed batch is sent again together with every batch behind it, so the first
//! copy of each event a consumer sees arrives in order. Relays of several replicas
//! take turns: only the holder of a session-level advisory lock on the relay's own
//! connection claims rows, and every claim checks that the lock is still held. Every
//! batch also holds a second advisory lock shared; a new holder takes it exclusively
//! once before its first claim, which waits until every batch the previous holder
//! left open has ended, so its claims never skip past rows still in flight.
//!
//! **Poison rows.** A row the client or the broker refuses for good (larger than the
//! broker takes, an invalid record) would otherwise fail its batch forever and stall
//! every row behind it. The client's refusal comes at once and names the row: it
//! moves to `outbox_dead_letter`, with the reason, in the batch's own transaction.
//! The broker's refusal comes with the acknowledgement of a whole record batch, so
//! the relay rolls back, then publishes one row per transaction up to the refused
//! row: the row the broker refuses alone is dead-lettered, and normal batches resume
//! behind it. Rows published before the refusal are published again (consumers drop
//! the duplicates by event id).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Bytea, Integer, Nullable, Text, Timestamptz};
use diesel_async::pooled_connection::deadpool;
use diesel_async::{
    AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection, TransactionManager,
};
use futures_util::{FutureExt, StreamExt};
use plinth_db::{Pool, PooledConn};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::BusConfig;
use crate::counter::Counter;
use crate::headers::CloudEvent;
use crate::schema::outbox_sent;

/// The channel the outbox trigger notifies.
const CHANNEL: &str = "plinth_outbox";

/// The advisory lock relays of one database take turns with: two keys, so that
/// `pg_locks` shows them as `classid` and `objid` with `objsubid = 2`.
const TAKE_TURN_SQL: &str = "SELECT pg_try_advisory_lock(1886154356, 1869968482) AS flag";
/// Hands the turn over at shutdown, and wakes the relays waiting for it.
const RELEASE_TURN_SQL: &str = "SELECT pg_advisory_unlock(1886154356, 1869968482); \
     NOTIFY plinth_outbox, 'turn'";
/// Every batch holds this lock shared for its whole transaction; a relay that takes
/// the turn takes it exclusively once, which waits until every batch the previous
/// holder left open has committed or rolled back.
const BATCH_SHARED_SQL: &str = "SELECT pg_advisory_xact_lock_shared(1886154356, 1869968483)";
const PREDECESSOR_SQL: &str = "SELECT pg_advisory_xact_lock(1886154356, 1869968483)";
const HOLDS_TURN_SQL: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks \
     WHERE locktype = 'advisory' AND classid = 1886154356 AND objid = 1869968482 \
     AND objsubid = 2 AND granted AND pid = $1) AS flag";

/// Claims the oldest unsent rows in the open transaction and takes them out of the
/// outbox. `SKIP LOCKED` passes over the rows of this relay's batches in flight.
const CLAIM_SQL: &str = "DELETE FROM outbox WHERE id = ANY(ARRAY( \
       SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)) \
     RETURNING id, event_id, topic, msg_key, ce_type, ce_source, ce_subject, ce_time, \
       traceparent, payload, created_at";
/// Keeps a refused row, with the reason, in the batch's transaction.
const DEAD_LETTER_SQL: &str = "INSERT INTO outbox_dead_letter (id, event_id, topic, msg_key, \
       ce_type, ce_source, ce_subject, ce_time, traceparent, payload, created_at, reason) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
/// How often expired records are looked for, at most.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

type Tx = <AsyncPgConnection as AsyncConnection>::TransactionManager;

/// How the relay batches, polls, backs off and cleans up.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows published per transaction.
    pub batch_size: i64,
    /// Batches open at once: claimed and sent, not yet acknowledged and committed.
    /// Each holds a pooled connection while it is open.
    pub batches_in_flight: usize,
    /// Longest wait between two looks at the outbox when no notification arrives.
    pub poll_interval: Duration,
    /// Records of published batches (`outbox_sent`) are kept this long.
    pub retention: Duration,
    /// First and longest wait after a failed batch.
    pub min_backoff: Duration,
    /// Longest wait, the backoff doubling up to it.
    pub max_backoff: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch_size: 2000,
            batches_in_flight: 2,
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
    turns: Counter,
    dead_lettered: Counter,
}

impl RelayStats {
    /// Events acknowledged by the broker and marked sent.
    pub fn published(&self) -> u64 {
        self.0.published.get()
    }
    /// Batches published.
    pub fn batches(&self) -> u64 {
        self.0.batches.get()
    }
    /// Batches rolled back because publishing or the database failed.
    pub fn failed_batches(&self) -> u64 {
        self.0.failed_batches.get()
    }
    /// How often this relay took its turn (the advisory lock) to publish.
    pub fn turns(&self) -> u64 {
        self.0.turns.get()
    }
    /// Rows refused for good and moved to `outbox_dead_letter`.
    pub fn dead_lettered(&self) -> u64 {
        self.0.dead_lettered.get()
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
    #[error("the producer dropped a message before its acknowledgement")]
    Dropped,
    #[error("this relay no longer holds its turn")]
    TurnLost,
    #[error("the broker refused outbox row {id} for good: {reason}")]
    Refused { id: i64, reason: KafkaError },
    /// Not a failure: a row the broker refused alone was dead-lettered, and the
    /// producer that sent it starts over (a refusal ends an ordered producer).
    #[error("a refused row was dead-lettered")]
    Isolated,
}

#[derive(QueryableByName)]
struct OutboxRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    topic: String,
    #[diesel(sql_type = Text)]
    msg_key: String,
    #[diesel(sql_type = Text)]
    ce_type: String,
    #[diesel(sql_type = Text)]
    ce_source: String,
    #[diesel(sql_type = Nullable<Text>)]
    ce_subject: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    ce_time: OffsetDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    traceparent: Option<String>,
    #[diesel(sql_type = Bytea)]
    payload: Vec<u8>,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

#[derive(QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// The relay's own connection, outside the pool: it listens for notifications and
/// holds the turn (the session-level advisory lock) while the relay publishes.
struct Own {
    conn: AsyncPgConnection,
    pid: i32,
    has_turn: bool,
    /// Whether the batches the previous holder left open have ended (this turn's
    /// claims may skip locked rows only then).
    caught_up: bool,
}

/// A batch claimed and sent, waiting for its acknowledgements and its commit.
///
/// It holds its rows locked in an open transaction. Dropped unfinished (the relay
/// task aborted), it closes its connection rather than return it to the pool, so the
/// transaction ends and the rows are free for the next relay at once.
struct InFlight {
    conn: Option<PooledConn>,
    rows: Vec<OutboxRow>,
    /// The acknowledgement of each row handed to the producer, by row index.
    acks: Vec<(usize, DeliveryFuture)>,
    /// Rows of a batch of one, published up to a row the broker refused: a refusal
    /// of such a batch is the row's own.
    isolating: bool,
    /// Rows moved to `outbox_dead_letter` in this batch's transaction.
    dead_lettered: usize,
}

impl InFlight {
    fn new(conn: PooledConn, isolating: bool) -> Self {
        InFlight {
            conn: Some(conn),
            rows: Vec::new(),
            acks: Vec::new(),
            isolating,
            dead_lettered: 0,
        }
    }

    #[expect(clippy::expect_used, reason = "an open batch has its connection")]
    fn conn(&mut self) -> &mut AsyncPgConnection {
        self.conn
            .as_mut()
            .expect("an open batch has its connection")
    }

    /// Commits and hands the connection back to the pool.
    async fn commit(mut self) -> QueryResult<()> {
        Tx::commit_transaction(self.conn()).await?;
        drop(self.conn.take());
        Ok(())
    }

    /// Rolls back and hands the connection back to the pool, or closes it if the
    /// rollback failed.
    async fn roll_back(mut self) {
        match Tx::rollback_transaction(self.conn()).await {
            Ok(()) => drop(self.conn.take()),
            Err(err) => tracing::debug!(error = %err, "rolling back an outbox batch failed"),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(deadpool::Object::take(conn));
        }
    }
}

/// Publishes a service's outbox to Kafka.
pub struct Relay {
    pool: Pool,
    own_url: String,
    bus: BusConfig,
    config: RelayConfig,
    stats: RelayStats,
    /// After the broker refused a row of a batch: rows up to this id are published
    /// one per batch, so the row it refuses alone can be dead-lettered.
    isolate_until: AtomicI64,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// `pool` and `own_url` reach the service's database; the relay keeps one
    /// connection of its own to `own_url`, outside the pool, for notifications and
    /// its turn, and takes `batches_in_flight` connections from the pool while it
    /// publishes.
    pub fn new(pool: Pool, own_url: &str, bus: BusConfig, config: RelayConfig) -> Self {
        Relay {
            pool,
            own_url: own_url.to_owned(),
            bus,
            config,
            stats: RelayStats::default(),
            isolate_until: AtomicI64::new(0),
        }
    }

    /// Its counters, shared with the running relay.
    pub fn stats(&self) -> RelayStats {
        self.stats.clone()
    }

    /// Runs until `shutdown` is cancelled, then flushes what is in flight.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), KafkaError> {
        let mut producer = self.bus.ordered_producer()?;
        let mut own: Option<Own> = None;
        let mut backoff = self.config.min_backoff;
        let mut last_purge = Instant::now();
        loop {
            let mut failed = false;
            if own.is_none() {
                match self.connect().await {
                    Ok(conn) => own = Some(conn),
                    Err(err) => {
                        tracing::warn!(error = %err, "relay cannot reach its database");
                        failed = true;
                    }
                }
            }
            if let Some(o) = own.as_mut().filter(|o| !o.has_turn) {
                match take_turn(&mut o.conn).await {
                    Ok(true) => {
                        tracing::info!("relay takes its turn to publish the outbox");
                        self.stats.0.turns.add(1);
                        o.has_turn = true;
                        o.caught_up = false;
                    }
                    Ok(false) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "relay lost its database connection");
                        own = None;
                        failed = true;
                    }
                }
            }

            if let Some(o) = own.as_mut().filter(|o| o.has_turn) {
                match self.drain(&producer, o).await {
                    Ok(()) => backoff = self.config.min_backoff,
                    Err(RelayError::TurnLost) => {
                        tracing::warn!("relay lost its turn; reconnecting");
                        own = None;
                    }
                    Err(RelayError::Isolated) => {
                        self.renew(&mut producer)?;
                        continue;
                    }
                    Err(RelayError::Refused { id, reason }) => {
                        // Not a failure to back off from: the rows up to the refused
                        // one go again at once, one per batch.
                        tracing::warn!(outbox_id = id, %reason, "the broker refused an outbox row; isolating it");
                        self.isolate_until.store(id, Ordering::Relaxed);
                        self.renew(&mut producer)?;
                        continue;
                    }
                    Err(err) => {
                        self.stats.0.failed_batches.add(1);
                        tracing::warn!(error = %err, retry_in = ?backoff, "outbox batch failed");
                        if matches!(err, RelayError::Publish(_) | RelayError::Dropped) {
                            self.renew(&mut producer)?;
                        }
                        failed = true;
                    }
                }
                if last_purge.elapsed() >= self.config.retention.min(PURGE_INTERVAL) {
                    last_purge = Instant::now();
                    if let Err(err) = self.purge().await {
                        tracing::warn!(error = %err, "purging published outbox rows failed");
                    }
                }
            }

            let wait = if failed {
                backoff
            } else {
                self.config.poll_interval
            };
            // The holder wakes for new rows; a relay waiting for its turn wakes
            // on the same notifications (and on a turn handed over), to try again.
            let listening = !failed && own.is_some();
            let woken = tokio::select! {
                _ = shutdown.cancelled() => {
                    // Nothing is in flight here: every batch has ended. What the
                    // producer still holds is delivered, then the turn handed over.
                    let _ = producer.flush(Timeout::After(Duration::from_secs(5)));
                    if let Some(o) = own.as_mut().filter(|o| o.has_turn) {
                        match o.conn.batch_execute(RELEASE_TURN_SQL).await {
                            Ok(()) => tracing::info!("relay handed over its turn"),
                            Err(err) => tracing::warn!(error = %err, "handing over the turn; it ends with the connection"),
                        }
                    }
                    return Ok(());
                }
                _ = tokio::time::sleep(wait) => false,
                () = next_notification(&mut own), if listening => true,
            };
            if failed {
                backoff = (backoff * 2).min(self.config.max_backoff);
            }
            // One pass drains the outbox however many inserts woke the relay; a
            // connection found closed is opened again on the next pass.
            if let Some(o) = own.as_mut()
                && !discard_notifications(&mut o.conn)
            {
                tracing::warn!(woken, "relay's own database connection closed");
                own = None;
            }
        }
    }

    /// Replaces the producer after a failure or a refusal: a fresh producer starts
    /// a new idempotent session, so no stale epoch or sequence survives a broker
    /// restart or a refused record. The old one is dropped off the async threads
    /// (its drop waits briefly).
    fn renew(&self, producer: &mut FutureProducer) -> Result<(), KafkaError> {
        let old = std::mem::replace(producer, self.bus.ordered_producer()?);
        tokio::task::spawn_blocking(move || drop(old));
        Ok(())
    }

    async fn connect(&self) -> Result<Own, Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = AsyncPgConnection::establish(&self.own_url).await?;
        diesel::sql_query(format!("LISTEN {CHANNEL}"))
            .execute(&mut conn)
            .await?;
        let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<BackendPid>(&mut conn)
            .await?
            .pid;
        Ok(Own {
            conn,
            pid,
            has_turn: false,
            caught_up: false,
        })
    }

    /// Publishes batches, `batches_in_flight` at a time, until the outbox has no
    /// unsent rows left. On failure every open batch is rolled back.
    async fn drain(&self, producer: &FutureProducer, own: &mut Own) -> Result<(), RelayError> {
        if !own.caught_up {
            wait_for_predecessor(&mut own.conn).await?;
            own.caught_up = true;
        }
        let mut in_flight = VecDeque::with_capacity(self.config.batches_in_flight);
        let mut more = true;
        // A failed claim changed nothing: the batches already open still complete,
        // in order, and the claim's error is reported after them.
        let mut claim_error = None;
        let result = loop {
            // While a refused row is isolated, one batch of one row at a time.
            let cap = if self.isolating() {
                1
            } else {
                self.config.batches_in_flight.max(1)
            };
            while more && in_flight.len() < cap {
                match self.claim(producer, own).await {
                    Ok(Some((batch, full))) => {
                        in_flight.push_back(batch);
                        more = full;
                    }
                    Ok(None) => more = false,
                    Err(err) => {
                        more = false;
                        claim_error = Some(err);
                    }
                }
            }
            let Some(batch) = in_flight.pop_front() else {
                break claim_error.map_or(Ok(()), Err);
            };
            if let Err(err) = self.complete(batch).await {
                break Err(err);
            }
        };
        if result.is_err() {
            for batch in in_flight {
                batch.roll_back().await;
            }
        }
        result
    }

    /// Opens a batch: claims rows in a new transaction and hands them to the
    /// producer. `None` when there is nothing to publish; otherwise the batch and
    /// whether it was full (more rows may be waiting).
    async fn claim(
        &self,
        producer: &FutureProducer,
        own: &mut Own,
    ) -> Result<Option<(InFlight, bool)>, RelayError> {
        let conn = self
            .pool
            .get()
            .await
            .map_err(|e| RelayError::Pool(e.to_string()))?;
        let t0 = Instant::now();
        let mut batch = InFlight::new(conn, self.isolating());
        Tx::begin_transaction(batch.conn()).await?;
        let limit = if batch.isolating {
            1
        } else {
            self.config.batch_size
        };
        let rows = match self.claim_on_conn(batch.conn(), own, limit).await {
            Ok(rows) => rows,
            Err(err) => {
                batch.roll_back().await;
                return Err(err);
            }
        };
        if rows.is_empty() {
            batch.roll_back().await;
            return Ok(None);
        }
        // A batch of one is awaited before the next is claimed.
        let full = !batch.isolating && rows.len() as i64 >= limit;
        let claimed = t0.elapsed();
        batch.rows = rows;
        let sent = match send(producer, &mut batch).await {
            Ok(refused) => self.dead_letter(&mut batch, refused).await,
            Err(err) => Err(err),
        };
        tracing::debug!(rows = batch.rows.len(), ?claimed, sent = ?t0.elapsed() - claimed, "batch claimed");
        match sent {
            Ok(()) => {
                let more = full || batch.isolating;
                Ok(Some((batch, more)))
            }
            Err(err) => {
                batch.roll_back().await;
                Err(err)
            }
        }
    }

    /// Moves refused rows of `batch` (index and reason) to `outbox_dead_letter` in the
    /// batch's transaction.
    #[expect(clippy::expect_used, reason = "an open batch has its connection")]
    async fn dead_letter(
        &self,
        batch: &mut InFlight,
        refused: Vec<(usize, String)>,
    ) -> Result<(), RelayError> {
        for (index, reason) in &refused {
            let conn = batch
                .conn
                .as_mut()
                .expect("an open batch has its connection");
            let row = &batch.rows[*index];
            tracing::error!(outbox_id = row.id, event_id = %row.event_id, ce_type = %row.ce_type,
                topic = %row.topic, %reason, "outbox row refused for good; moved to outbox_dead_letter");
            diesel::sql_query(DEAD_LETTER_SQL)
                .bind::<BigInt, _>(row.id)
                .bind::<diesel::sql_types::Uuid, _>(row.event_id)
                .bind::<Text, _>(&row.topic)
                .bind::<Text, _>(&row.msg_key)
                .bind::<Text, _>(&row.ce_type)
                .bind::<Text, _>(&row.ce_source)
                .bind::<Nullable<Text>, _>(row.ce_subject.as_deref())
                .bind::<Timestamptz, _>(row.ce_time)
                .bind::<Nullable<Text>, _>(row.traceparent.as_deref())
                .bind::<Bytea, _>(row.payload.as_slice())
                .bind::<Timestamptz, _>(row.created_at)
                .bind::<Text, _>(reason)
                .execute(&mut **conn)
                .await?;
        }
        batch.dead_lettered += refused.len();
        Ok(())
    }

    /// The database part of a claim, in the batch's open transaction: the turn is
    /// still this relay's, then the rows, in id order.
    async fn claim_on_conn(
        &self,
        conn: &mut AsyncPgConnection,
        own: &Own,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, RelayError> {
        // Losing the mark of a published batch only means publishing it again, so
        // the batch's commit need not wait for the disk.
        diesel::sql_query("SET LOCAL synchronous_commit = off")
            .execute(conn)
            .await?;
        // Taken before the turn is checked: a relay that takes the turn after this
        // check waits for this batch to end before it claims anything.
        diesel::sql_query(BATCH_SHARED_SQL).execute(conn).await?;
        let holds = diesel::sql_query(HOLDS_TURN_SQL)
            .bind::<Integer, _>(own.pid)
            .get_result::<Flag>(conn)
            .await?;
        if !holds.flag {
            return Err(RelayError::TurnLost);
        }
        let mut rows: Vec<OutboxRow> = diesel::sql_query(CLAIM_SQL)
            .bind::<BigInt, _>(limit)
            .load(conn)
            .await?;
        rows.sort_unstable_by_key(|r| r.id);
        if let (Some(first), Some(last)) = (rows.as_slice().first(), rows.as_slice().last()) {
            diesel::insert_into(outbox_sent::table)
                .values((
                    outbox_sent::sent_at.eq(diesel::dsl::now),
                    outbox_sent::first_id.eq(first.id),
                    outbox_sent::last_id.eq(last.id),
                    outbox_sent::event_ids.eq(rows.iter().map(|r| r.event_id).collect::<Vec<_>>()),
                ))
                .execute(conn)
                .await?;
        }
        Ok(rows)
    }

    /// Waits for every acknowledgement of `batch`, then commits it.
    async fn complete(&self, mut batch: InFlight) -> Result<(), RelayError> {
        let n = batch.acks.len();
        let t0 = Instant::now();
        let mut failure = None;
        let mut refused = Vec::new();
        for (index, ack) in std::mem::take(&mut batch.acks) {
            match ack.await {
                Ok(Ok(_)) => {}
                Ok(Err((err, _))) if refused_for_good(&err) && batch.isolating => {
                    refused.push((index, err.to_string()));
                }
                Ok(Err((err, _))) if refused_for_good(&err) => {
                    // The broker refuses a whole record batch at once: every row up
                    // to the last refused one is published alone next.
                    let id = batch.rows[index].id;
                    match &mut failure {
                        Some(RelayError::Refused { id: last, .. }) => *last = id.max(*last),
                        None => failure = Some(RelayError::Refused { id, reason: err }),
                        Some(_) => {}
                    }
                }
                Ok(Err((err, _))) => {
                    failure.get_or_insert(RelayError::Publish(err));
                }
                Err(_) => {
                    failure.get_or_insert(RelayError::Dropped);
                }
            }
        }
        let isolated = !refused.is_empty();
        let published = n - refused.len();
        if failure.is_none()
            && isolated
            && let Err(err) = self.dead_letter(&mut batch, refused).await
        {
            failure = Some(err);
        }
        if let Some(err) = failure {
            batch.roll_back().await;
            return Err(err);
        }
        // The isolation ends with the batch of the row the broker refused.
        let isolation_done = batch.isolating
            && batch
                .rows
                .last()
                .is_some_and(|r| r.id >= AtomicI64::load(&self.isolate_until, Ordering::Relaxed));
        let dead_lettered = batch.dead_lettered;
        let acknowledged = t0.elapsed();
        batch.commit().await?;
        tracing::debug!(rows = n, ?acknowledged, committed = ?t0.elapsed() - acknowledged, "batch done");
        self.stats.0.published.add(published as u64);
        self.stats.0.dead_lettered.add(dead_lettered as u64);
        self.stats.0.batches.add(1);
        if isolation_done {
            self.isolate_until.store(0, Ordering::Relaxed);
        }
        if isolated {
            return Err(RelayError::Isolated);
        }
        Ok(())
    }

    fn isolating(&self) -> bool {
        AtomicI64::load(&self.isolate_until, Ordering::Relaxed) > 0
    }

    async fn purge(&self) -> Result<(), RelayError> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| RelayError::Pool(e.to_string()))?;
        let cutoff = OffsetDateTime::now_utc() - self.config.retention;
        let purged = diesel::delete(outbox_sent::table.filter(outbox_sent::sent_at.lt(cutoff)))
            .execute(&mut conn)
            .await?;
        if purged > 0 {
            tracing::debug!(purged, "deleted records of published batches");
        }
        Ok(())
    }
}

/// Waits until every batch another relay left open has ended: committed, or rolled
/// back when its connection closed. Its rows are then either gone or free again, so
/// claims that skip locked rows cannot overtake them.
async fn wait_for_predecessor(conn: &mut AsyncPgConnection) -> Result<(), RelayError> {
    conn.transaction(async |conn| {
        diesel::sql_query("SET LOCAL lock_timeout = '60s'")
            .execute(conn)
            .await?;
        diesel::sql_query(PREDECESSOR_SQL).execute(conn).await?;
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    Ok(())
}

/// Takes the turn on the relay's own connection if no other relay holds it.
async fn take_turn(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    Ok(diesel::sql_query(TAKE_TURN_SQL)
        .get_result::<Flag>(conn)
        .await?
        .flag)
}

/// Whether the client or the broker refused a message for good: sending it again
/// cannot succeed.
fn refused_for_good(err: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        err.rdkafka_error_code(),
        Some(
            MessageSizeTooLarge
                | InvalidMessageSize
                | InvalidMessage
                | InvalidRecord
                | InvalidTimestamp
        )
    )
}

/// Hands every row of `batch` to the producer in order; the acknowledgements are
/// awaited later. The rows the client refuses for good come back, with the reason.
async fn send(
    producer: &FutureProducer,
    batch: &mut InFlight,
) -> Result<Vec<(usize, String)>, RelayError> {
    let mut refused = Vec::new();
    batch.acks.reserve(batch.rows.len());
    for (index, row) in batch.rows.iter().enumerate() {
        let headers = CloudEvent {
            id: row.event_id,
            ty: row.ce_type.clone(),
            source: row.ce_source.clone(),
            time: row.ce_time,
            subject: row.ce_subject.clone(),
            traceparent: row.traceparent.clone(),
        }
        .to_headers();
        let mut record = FutureRecord::to(&row.topic)
            .key(row.msg_key.as_str())
            .payload(row.payload.as_slice())
            .headers(headers);
        loop {
            match producer.send_result(record) {
                Ok(ack) => {
                    batch.acks.push((index, ack));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The producer's queue drains as the broker acknowledges.
                    record = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((err, _)) if refused_for_good(&err) => {
                    refused.push((index, err.to_string()));
                    break;
                }
                Err((err, _)) => return Err(RelayError::Publish(err)),
            }
        }
    }
    Ok(refused)
}

/// Waits for the next notification on the relay's own connection, or for that
/// connection to close.
async fn next_notification(own: &mut Option<Own>) {
    match own {
        Some(o) => {
            let stream = o.conn.notifications_stream();
            let _ = std::pin::pin!(stream).next().await;
        }
        None => std::future::pending().await,
    }
}

/// Takes the notifications already received; `false` when the connection is closed.
fn discard_notifications(conn: &mut AsyncPgConnection) -> bool {
    let stream = conn.notifications_stream();
    let mut stream = std::pin::pin!(stream);
    loop {
        match stream.next().now_or_never() {
            Some(Some(Ok(_))) => {}
            Some(Some(Err(_)) | None) => return false,
            None => return true,
        }
    }
}
