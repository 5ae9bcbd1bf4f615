//! Applying events exactly once.
//!
//! For each message the consumer opens a database transaction, records the event id
//! in `inbox` (a second delivery finds it there and is skipped), runs the handler,
//! and commits. Only then is the message's offset stored for the next commit, so a
//! crash at any point leads to redelivery, never to a lost or doubled effect.
//!
//! A message without valid CloudEvents headers, or one its handler rejects as
//! permanent, or one that still fails after `max_attempts`, is copied to
//! `<topic>.dlq` with the reason in the `plinth_dlq_error` header, and the consumer
//! moves on. When the database itself is unreachable the consumer waits and retries
//! the same message for as long as it takes: no message is skipped for that.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use plinth_db::Pool;
use rdkafka::ClientContext;
use rdkafka::consumer::{CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::util::Timeout;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::counter::Counter;
use crate::headers::{self, CloudEvent};
use crate::schema::inbox;
use crate::{AvroError, BusConfig, Schemas, dlq_topic};

/// An event as a handler sees it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The event's CloudEvents attributes.
    pub event: CloudEvent,
    /// The topic it was read from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// The Kafka key: tenant id or `platform`.
    pub key: Option<String>,
    /// The Avro single-object payload.
    pub payload: Vec<u8>,
}

impl Received {
    /// Decodes the payload as the current schema `name`.
    pub fn decode<T: DeserializeOwned>(
        &self,
        schemas: &Schemas,
        name: &str,
    ) -> Result<T, AvroError> {
        schemas.decode(name, &self.payload)
    }
}

/// Why a handler could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retrying cannot help (malformed payload, unknown type): dead-letter now.
    #[error("permanent: {0}")]
    Permanent(String),
    /// Might succeed later: retried up to `max_attempts`, then dead-lettered.
    #[error("transient: {0}")]
    Transient(String),
    /// The database failed; the same message is retried until it succeeds.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

impl From<AvroError> for HandlerError {
    fn from(err: AvroError) -> Self {
        HandlerError::Permanent(err.to_string())
    }
}

/// What a service does with an event, inside the transaction that also records it in
/// the inbox. Everything it writes must go through `conn`.
pub trait Handler: Send + Sync + 'static {
    /// Whether events of type `ty` concern this handler. The others on its topics
    /// (a topic carries every event of its area) are passed over without touching
    /// the database: neither recorded in the inbox nor handled. All, unless a
    /// handler says otherwise.
    fn wants(&self, _ty: &str) -> bool {
        true
    }

    /// Applies `event` in the open transaction on `conn`, which also records it in the inbox; an error rolls both back.
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a Received,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;

    /// Handles one transaction's new events, in order. One by one by default
    /// ([`Handler::handle`], each in its own span); a handler that can do a batch's
    /// work together (one statement for many rows) overrides it.
    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: &'a [&'a Received],
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        async move {
            for received in events {
                self.handle(conn, received)
                    .instrument(consume_span(received))
                    .await?;
            }
            Ok(())
        }
    }
}

/// The span of one consumed event, child of the trace its producer started.
pub fn consume_span(received: &Received) -> tracing::Span {
    let span = tracing::info_span!(
        "consume",
        ce_type = %received.event.ty,
        topic = %received.topic,
        partition = received.partition,
        offset = received.offset,
    );
    let traceparent = received.event.traceparent.clone();
    plinth_telemetry::set_parent(&span, |name| {
        (name == headers::TRACEPARENT)
            .then(|| traceparent.clone())
            .flatten()
    });
    span
}

/// Settings of one consumer group member.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Kafka consumer group; also the consumer's name in the inbox.
    pub group_id: String,
    /// The topics the group reads.
    pub topics: Vec<String>,
    /// Most messages applied in one database transaction. Messages already waiting
    /// are taken together; a failing batch is retried one message at a time.
    pub max_batch: usize,
    /// Handler attempts before a message is dead-lettered.
    pub max_attempts: u32,
    /// First wait after a failure to receive or a retryable handler failure.
    pub min_backoff: Duration,
    /// Longest wait, the backoff doubling up to it.
    pub max_backoff: Duration,
    /// Extra librdkafka properties for this consumer only.
    pub properties: Vec<(String, String)>,
    /// How often the consumer looks at how far behind it is ([`ConsumerStats::lag`]).
    pub lag_interval: Duration,
}

impl ConsumerConfig {
    /// The group `group_id` reading `topics`, with the default batch size and backoff.
    pub fn new(group_id: impl Into<String>, topics: Vec<String>) -> Self {
        ConsumerConfig {
            group_id: group_id.into(),
            topics,
            max_batch: 500,
            max_attempts: 5,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            properties: Vec::new(),
            lag_interval: Duration::from_secs(5),
        }
    }

    /// Sets a librdkafka property of this consumer only.
    pub fn with_property(mut self, key: &str, value: &str) -> Self {
        self.properties.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// Counters a consumer keeps while it runs.
#[derive(Debug, Clone, Default)]
pub struct ConsumerStats(Arc<ConsumerCounters>);

#[derive(Debug, Default)]
struct ConsumerCounters {
    applied: Counter,
    duplicates: Counter,
    passed_over: Counter,
    dead_lettered: Counter,
    retries: Counter,
    transactions: Counter,
    lag: parking_lot::Mutex<Vec<PartitionLag>>,
    /// Whether the group has given this consumer an assignment yet (possibly
    /// empty, with more members than partitions).
    joined: std::sync::atomic::AtomicBool,
    /// The partitions of its current assignment.
    assigned: std::sync::atomic::AtomicUsize,
    /// Assignments received: one per rebalance it took part in.
    rebalances: Counter,
    /// Whether the coordinator failed to give the committed offsets of
    /// partitions just assigned, which librdkafka then never fetches.
    offsets_unfetched: std::sync::atomic::AtomicBool,
}

/// How far a consumer is behind on one partition assigned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Messages on the partition the consumer has not taken yet: the high
    /// watermark less its committed position.
    pub messages: i64,
}

impl ConsumerStats {
    /// Events whose effect was committed.
    pub fn applied(&self) -> u64 {
        self.0.applied.get()
    }
    /// Redelivered events recognised in the inbox and skipped.
    pub fn duplicates(&self) -> u64 {
        self.0.duplicates.get()
    }
    /// Events of types the handler does not want ([`Handler::wants`]).
    pub fn passed_over(&self) -> u64 {
        self.0.passed_over.get()
    }
    /// Messages given up on and sent to the dead-letter topic.
    pub fn dead_lettered(&self) -> u64 {
        self.0.dead_lettered.get()
    }
    /// Handler failures retried.
    pub fn retries(&self) -> u64 {
        self.0.retries.get()
    }
    /// Database transactions committed; `applied / transactions` is the mean batch.
    pub fn transactions(&self) -> u64 {
        self.0.transactions.get()
    }
    /// How far behind the consumer was on each partition it fetches, as of the
    /// client's last statistics (every [`ConsumerConfig::lag_interval`]); none
    /// before the first.
    pub fn lag(&self) -> Vec<PartitionLag> {
        self.0.lag.lock().clone()
    }
    /// Whether it has joined its group: the group gave it an assignment, possibly
    /// of no partition.
    pub fn joined(&self) -> bool {
        std::sync::atomic::AtomicBool::load(&self.0.joined, std::sync::atomic::Ordering::Relaxed)
    }
    /// How many partitions are assigned to it now.
    pub fn assigned_partitions(&self) -> usize {
        std::sync::atomic::AtomicUsize::load(&self.0.assigned, std::sync::atomic::Ordering::Relaxed)
    }
    /// How many assignments it has received (one per rebalance).
    pub fn rebalances(&self) -> u64 {
        self.0.rebalances.get()
    }
}

/// The client context of a consumer: librdkafka's statistics, every
/// [`ConsumerConfig::lag_interval`], give the lag of each partition it fetches.
struct LagContext(ConsumerStats);

impl ClientContext for LagContext {
    /// Logs as librdkafka's default does; notes a failure to fetch committed
    /// offsets, the one error after which librdkafka leaves partitions assigned
    /// but never fetched until they are assigned again.
    fn error(&self, error: KafkaError, reason: &str) {
        if reason.contains("Failed to fetch committed offsets") {
            self.0
                .0
                .offsets_unfetched
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::error!(target: "librdkafka", "librdkafka: {error}: {reason}");
    }

    fn stats(&self, statistics: Statistics) {
        let mut lag: Vec<PartitionLag> = statistics
            .topics
            .into_iter()
            .flat_map(|(topic, t)| {
                t.partitions
                    .into_values()
                    .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
                    .map(move |p| PartitionLag {
                        topic: topic.clone(),
                        partition: p.partition,
                        messages: p.consumer_lag,
                    })
            })
            .collect();
        lag.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        *self.0.0.lag.lock() = lag;
    }
}

impl ConsumerContext for LagContext {
    fn post_rebalance(&self, _: &rdkafka::consumer::BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        use std::sync::atomic::Ordering::Relaxed;
        let counters = &self.0.0;
        match rebalance {
            Rebalance::Assign(partitions) => {
                counters.assigned.store(partitions.count(), Relaxed);
                counters.rebalances.add(1);
                counters.joined.store(true, Relaxed);
                tracing::info!(partitions = partitions.count(), "consumer assigned");
            }
            Rebalance::Revoke(_) => counters.assigned.store(0, Relaxed),
            Rebalance::Error(err) => tracing::warn!(error = %err, "rebalancing failed"),
        }
    }
}

/// Consumes topics into a handler with exactly-once effect.
pub struct Consumer<H> {
    pool: Pool,
    bus: BusConfig,
    config: ConsumerConfig,
    handler: Arc<H>,
    stats: ConsumerStats,
}

impl<H> std::fmt::Debug for Consumer<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Consumer<H> {
    /// A consumer applying `handler` to what `config`'s group reads, recording each event in `pool`'s inbox.
    pub fn new(pool: Pool, bus: BusConfig, config: ConsumerConfig, handler: H) -> Self {
        Consumer {
            pool,
            bus,
            config,
            handler: Arc::new(handler),
            stats: ConsumerStats::default(),
        }
    }

    /// Its counters, shared with the running consumer.
    pub fn stats(&self) -> ConsumerStats {
        self.stats.clone()
    }

    /// Runs until `shutdown` is cancelled, then commits the stored offsets.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), KafkaError> {
        let mut cfg = self.bus.client_config();
        cfg.set("group.id", &self.config.group_id)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // A replica that dies without leaving its group (SIGKILL, a lost host)
            // has its partitions handed to the others after 10 s, not the
            // client's default 45 s; one that stops cleanly leaves at once.
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "2000");
        for (k, v) in &self.config.properties {
            cfg.set(k, v);
        }
        cfg.set(
            "statistics.interval.ms",
            self.config.lag_interval.as_millis().max(1).to_string(),
        );
        let consumer: Arc<StreamConsumer<LagContext>> =
            Arc::new(cfg.create_with_context(LagContext(self.stats.clone()))?);
        let topics: Vec<&str> = self.config.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let dlq = self.bus.producer()?;

        let mut backoff = self.config.min_backoff;
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => break,
                message = consumer.recv() => message,
            };
            let first = match first {
                Ok(m) => {
                    backoff = self.config.min_backoff;
                    m
                }
                Err(err) if reconnecting(&err) => {
                    // The client reports each failed attempt to reach a broker and
                    // paces its own reconnects; waiting here would only leave these
                    // reports queued up behind the messages once the broker is back.
                    tracing::warn!(error = %err, "the broker is out of reach");
                    continue;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "receiving from the broker failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                    if self
                        .stats
                        .0
                        .offsets_unfetched
                        .swap(false, std::sync::atomic::Ordering::Relaxed)
                    {
                        assign_again(&consumer);
                    }
                    continue;
                }
            };
            // Take whatever else is already waiting, without blocking.
            let mut batch = vec![first];
            while batch.len() < self.config.max_batch {
                match consumer.recv().now_or_never() {
                    Some(Ok(m)) => batch.push(m),
                    _ => break,
                }
            }
            if !self.process_batch(&batch, &dlq, &shutdown).await {
                break; // shut down before the batch was settled: it will be redelivered
            }
            for message in &batch {
                consumer.store_offset_from_message(message)?;
            }
        }
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(())
            | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(err) => tracing::warn!(error = %err, "committing offsets at shutdown failed"),
        }
        Ok(())
    }

    /// Applies or dead-letters every message of a batch; `false` if shutdown came
    /// first. The whole batch goes in one transaction; if that fails, each message is
    /// retried on its own so one bad message cannot hold back the others.
    async fn process_batch(
        &self,
        batch: &[BorrowedMessage<'_>],
        dlq: &FutureProducer,
        shutdown: &CancellationToken,
    ) -> bool {
        if batch.len() > 1 {
            let parsed: Vec<Result<Received, String>> = batch.iter().map(received).collect();
            let valid: Vec<&Received> = parsed.iter().filter_map(|r| r.as_ref().ok()).collect();
            let started = std::time::Instant::now();
            match self.apply(&valid).await {
                Ok(()) => {
                    tracing::debug!(size = batch.len(), took = ?started.elapsed(), "batch applied");
                    for (message, parsed) in batch.iter().zip(&parsed) {
                        if let Err(reason) = parsed
                            && !self.dead_letter(message, dlq, reason, shutdown).await
                        {
                            return false;
                        }
                    }
                    return true;
                }
                Err(err) => {
                    tracing::debug!(error = %err, size = batch.len(), "batch failed; one by one");
                }
            }
        }
        for message in batch {
            if !self.process(message, dlq, shutdown).await {
                return false;
            }
        }
        true
    }

    /// Applies or dead-letters one message; `false` if shutdown came first.
    async fn process(
        &self,
        message: &BorrowedMessage<'_>,
        dlq: &FutureProducer,
        shutdown: &CancellationToken,
    ) -> bool {
        let received = match received(message) {
            Ok(received) => received,
            Err(reason) => return self.dead_letter(message, dlq, &reason, shutdown).await,
        };
        let mut attempts = 0;
        let mut backoff = self.config.min_backoff;
        loop {
            let failure = match self.apply(&[&received]).await {
                Ok(()) => return true,
                Err(err) => err,
            };
            attempts += 1;
            let give_up = match &failure {
                HandlerError::Permanent(_) => true,
                HandlerError::Transient(_) => attempts >= self.config.max_attempts,
                HandlerError::Database(_) => false,
            };
            if give_up {
                let reason = format!("{failure} (after {attempts} attempt(s))");
                return self.dead_letter(message, dlq, &reason, shutdown).await;
            }
            self.stats.0.retries.add(1);
            tracing::warn!(error = %failure, attempts, retry_in = ?backoff, "handler failed");
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    /// One attempt: for each event the handler wants, its inbox record and its
    /// effect, all in one transaction. Counts what was applied, recognised as a
    /// duplicate, and passed over.
    async fn apply(&self, events: &[&Received]) -> Result<(), HandlerError> {
        let handler = self.handler.as_ref();
        let (events, passed_over): (Vec<&Received>, Vec<&Received>) = events
            .iter()
            .copied()
            .partition(|r| handler.wants(&r.event.ty));
        let counted = |(applied, duplicates): (u64, u64)| {
            self.stats.0.applied.add(applied);
            self.stats.0.duplicates.add(duplicates);
            self.stats.0.passed_over.add(passed_over.len() as u64);
        };
        if events.is_empty() {
            counted((0, 0));
            return Ok(());
        }
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| HandlerError::Database(pool_error(e)))?;
        let consumer = self.config.group_id.as_str();
        conn.transaction(async |conn| {
            // One statement records the batch; what it did not insert was recorded
            // before (or twice in this batch).
            let rows: Vec<_> = events
                .iter()
                .map(|r| {
                    (
                        inbox::consumer.eq(consumer),
                        inbox::event_id.eq(r.event.id),
                        inbox::topic.eq(&r.topic),
                    )
                })
                .collect();
            let mut inserted: std::collections::HashSet<uuid::Uuid> =
                diesel::insert_into(inbox::table)
                    .values(&rows)
                    .on_conflict_do_nothing()
                    .returning(inbox::event_id)
                    .get_results(conn)
                    .await?
                    .into_iter()
                    .collect();
            let fresh: Vec<&Received> = events
                .iter()
                .copied()
                .filter(|r| inserted.remove(&r.event.id))
                .collect();
            handler.handle_batch(conn, &fresh).await?;
            let (applied, duplicates) = (fresh.len() as u64, (events.len() - fresh.len()) as u64);
            Ok::<_, HandlerError>((applied, duplicates))
        })
        .await
        .map(|applied_and_duplicates| {
            self.stats.0.transactions.add(1);
            counted(applied_and_duplicates);
        })
    }

    /// Copies the message to the dead-letter topic, retrying until the broker takes
    /// it; `false` if shutdown came first.
    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        dlq: &FutureProducer,
        reason: &str,
        shutdown: &CancellationToken,
    ) -> bool {
        let topic = dlq_topic(message.topic());
        let origin = format!(
            "{}/{}/{}",
            message.topic(),
            message.partition(),
            message.offset()
        );
        tracing::error!(%reason, %origin, %topic, "dead-lettering message");
        let mut backoff = self.config.min_backoff;
        loop {
            let headers = message
                .headers()
                .map(|h| h.detach())
                .unwrap_or_default()
                .insert(Header {
                    key: headers::DLQ_ERROR,
                    value: Some(reason),
                })
                .insert(Header {
                    key: headers::DLQ_ORIGIN,
                    value: Some(origin.as_str()),
                });
            let mut record = FutureRecord::<[u8], [u8]>::to(&topic).headers(headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            match dlq
                .send(record, Timeout::After(Duration::from_secs(30)))
                .await
            {
                Ok(_) => {
                    self.stats.0.dead_lettered.add(1);
                    return true;
                }
                Err((err, _)) => {
                    tracing::warn!(error = %err, %topic, "dead-letter publish failed; retrying");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }
}

/// The event a message carries, or why it carries none.
fn received(message: &BorrowedMessage<'_>) -> Result<Received, String> {
    Ok(Received {
        event: CloudEvent::from_headers(message.headers())?,
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message
            .key()
            .and_then(|k| std::str::from_utf8(k).ok())
            .map(str::to_owned),
        payload: message.payload().unwrap_or_default().to_vec(),
    })
}

fn pool_error(err: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::ClosedConnection,
        Box::new(err.to_string()),
    )
}

/// Assigns the consumer's partitions to it again, each from its committed offset, so
/// that librdkafka asks the coordinator for those offsets once more: after it
/// failed to, librdkafka leaves the partitions assigned but never fetched (a broker
/// restarting while a consumer joins would stop that consumer for good). Stored
/// offsets not yet committed are given up: their messages come again and the
/// inbox skips them. librdkafka's assignment calls wait for its own thread, so they
/// run on a blocking thread of their own and the consumer goes on polling.
fn assign_again<C: ConsumerContext + 'static>(consumer: &Arc<StreamConsumer<C>>) {
    let consumer = consumer.clone();
    tokio::task::spawn_blocking(move || {
        let assigned = match consumer.assignment() {
            Ok(assigned) if assigned.count() > 0 => assigned,
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, "reading the consumer's assignment failed");
                return;
            }
        };
        match consumer.assign(&assigned) {
            Ok(()) => tracing::info!(
                partitions = assigned.count(),
                "partitions assigned again to fetch their committed offsets"
            ),
            Err(err) => tracing::warn!(error = %err, "assigning the partitions again failed"),
        }
    });
}

/// Whether a receive error only reports that the client is reaching for a broker
/// again.
fn reconnecting(err: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode::{AllBrokersDown, BrokerTransportFailure};
    matches!(
        err.rdkafka_error_code(),
        Some(AllBrokersDown | BrokerTransportFailure)
    )
}
