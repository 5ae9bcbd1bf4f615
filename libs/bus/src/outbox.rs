//! Writing events in the caller's business transaction.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::headers::CloudEvent;
use crate::schema::outbox;

/// An event on its way out: its CloudEvents attributes, its Kafka topic and key, and
/// its Avro single-object payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// CloudEvents `id`.
    pub id: Uuid,
    /// The Kafka topic.
    pub topic: String,
    /// The Kafka key: the tenant id, or [`crate::PLATFORM_KEY`].
    pub key: String,
    /// CloudEvents `type`, e.g. `plinth.tenant.created`.
    pub ty: String,
    /// CloudEvents `source`, e.g. `/plinth/us/tenant-registry`.
    pub source: String,
    /// CloudEvents `subject`: the resource the event is about.
    pub subject: Option<String>,
    /// When it happened.
    pub time: OffsetDateTime,
    /// The Avro single-object payload.
    pub payload: Vec<u8>,
    /// The trace this event continues; taken from the current span.
    pub traceparent: Option<String>,
}

impl Event {
    /// A new event with a fresh id, the current time and the current trace context.
    pub fn new(
        topic: impl Into<String>,
        key: impl Into<String>,
        ty: impl Into<String>,
        source: impl Into<String>,
        payload: Vec<u8>,
    ) -> Self {
        Event {
            id: Uuid::new_v4(),
            topic: topic.into(),
            key: key.into(),
            ty: ty.into(),
            source: source.into(),
            subject: None,
            time: OffsetDateTime::now_utc(),
            payload,
            traceparent: plinth_telemetry::current_traceparent(),
        }
    }

    /// Names the resource the event is about (CloudEvents `subject`).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The event's CloudEvents attributes.
    pub fn cloud_event(&self) -> CloudEvent {
        CloudEvent {
            id: self.id,
            ty: self.ty.clone(),
            source: self.source.clone(),
            time: self.time,
            subject: self.subject.clone(),
            traceparent: self.traceparent.clone(),
        }
    }

    /// Sends the event straight to its topic with its CloudEvents headers, waiting
    /// up to `timeout` for the broker to take it: for a publisher without an
    /// outbox (the gateway, tests). A service's own events go through the outbox.
    pub async fn publish(
        &self,
        producer: &FutureProducer,
        timeout: Duration,
    ) -> Result<(), KafkaError> {
        let record = FutureRecord::to(&self.topic)
            .key(self.key.as_str())
            .payload(self.payload.as_slice())
            .headers(self.cloud_event().to_headers());
        producer
            .send(record, timeout)
            .await
            .map(drop)
            .map_err(|(e, _)| e)
    }
}

/// An event as the outbox stores it. Owned, and with no column left to its
/// default (a missing subject or trace parent is NULL), so that an insert of
/// one or two rows has a fixed shape whose prepared statement the connection
/// caches.
#[derive(Insertable)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
struct NewOutboxRow {
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

impl From<&Event> for NewOutboxRow {
    fn from(e: &Event) -> Self {
        NewOutboxRow {
            event_id: e.id,
            topic: e.topic.clone(),
            msg_key: e.key.clone(),
            ce_type: e.ty.clone(),
            ce_source: e.source.clone(),
            ce_subject: e.subject.clone(),
            ce_time: e.time,
            traceparent: e.traceparent.clone(),
            payload: e.payload.clone(),
        }
    }
}

/// The outbox table of the service's database.
#[derive(Debug, Clone, Copy)]
pub struct Outbox;

impl Outbox {
    /// Adds `events` to the outbox. Call it inside the transaction that makes the
    /// change the events describe: both commit, or neither does.
    ///
    /// One or two events (what almost every change publishes: its event and
    /// its audit event) are inserted by a statement of fixed shape, whose
    /// prepared form the connection caches: one round trip, not two.
    pub async fn enqueue(conn: &mut AsyncPgConnection, events: &[Event]) -> QueryResult<()> {
        let row = NewOutboxRow::from;
        let insert = diesel::insert_into(outbox::table);
        match events {
            [] => Ok(0),
            [a] => insert.values([row(a)]).execute(conn).await,
            [a, b] => insert.values([row(a), row(b)]).execute(conn).await,
            _ => {
                let rows: Vec<NewOutboxRow> = events.iter().map(row).collect();
                insert.values(&rows).execute(conn).await
            }
        }
        .map(drop)
    }

    /// How many committed events the relay has not published yet.
    pub async fn pending(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        outbox::table.count().get_result(conn).await
    }
}
