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

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewOutboxRow<'a> {
    event_id: Uuid,
    topic: &'a str,
    msg_key: &'a str,
    ce_type: &'a str,
    ce_source: &'a str,
    ce_subject: Option<&'a str>,
    ce_time: OffsetDateTime,
    traceparent: Option<&'a str>,
    payload: &'a [u8],
}

impl<'a> From<&'a Event> for NewOutboxRow<'a> {
    fn from(e: &'a Event) -> Self {
        NewOutboxRow {
            event_id: e.id,
            topic: &e.topic,
            msg_key: &e.key,
            ce_type: &e.ty,
            ce_source: &e.source,
            ce_subject: e.subject.as_deref(),
            ce_time: e.time,
            traceparent: e.traceparent.as_deref(),
            payload: &e.payload,
        }
    }
}

/// The outbox table of the service's database.
#[derive(Debug, Clone, Copy)]
pub struct Outbox;

impl Outbox {
    /// Adds `events` to the outbox. Call it inside the transaction that makes the
    /// change the events describe: both commit, or neither does.
    pub async fn enqueue(conn: &mut AsyncPgConnection, events: &[Event]) -> QueryResult<()> {
        let rows: Vec<NewOutboxRow<'_>> = events.iter().map(NewOutboxRow::from).collect();
        diesel::insert_into(outbox::table)
            .values(&rows)
            .execute(conn)
            .await
            .map(drop)
    }

    /// How many committed events the relay has not published yet.
    pub async fn pending(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        outbox::table.count().get_result(conn).await
    }
}
