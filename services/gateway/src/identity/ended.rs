//! Sessions ended before their deadlines. A session lives in its encrypted cookie,
//! so a copy of the cookie would outlive a logout; each session therefore carries
//! a random id, and a logout publishes that id on `plinth.session.v1`. Every gateway
//! of the region follows the topic from its beginning (a process-own consumer
//! group, like the role projection) and refuses a cookie whose session it names.
//! The gateway that handled the logout refuses it before it answers, and answers
//! only once the broker has the record, so the other gateways follow within their
//! consumers' lag.
//!
//! A record matters only until the session's absolute deadline, after which the
//! cookie is refused anyway: the topic keeps a day, and memory keeps what has not
//! expired.

use std::sync::atomic::AtomicBool;

use parking_lot::RwLock;
use std::collections::HashMap;
use std::time::Duration;

use plinth_bus::catalog::{SESSION_ENDED, SESSION_ENDED_TYPE};
use plinth_bus::{Area, BusConfig, Event, PLATFORM_KEY, Schemas, TopicSpec, micros};
use plinth_core::{ApiError, Region};
use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// How long the topic keeps a record: longer than any session lives.
const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How long a logout waits for the broker to take its record.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize, Deserialize)]
struct SessionEnded {
    session_id: String,
    subject: String,
    ended_at: i64,
    expires_at: i64,
}

/// The ended sessions this gateway knows of, and how it tells the others.
pub struct EndedSessions {
    /// Session id → its absolute deadline (Unix seconds).
    ended: RwLock<HashMap<String, i64>>,
    producer: FutureProducer,
    schemas: Schemas,
    topic: String,
    source: String,
}

impl std::fmt::Debug for EndedSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndedSessions")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

fn schemas() -> anyhow::Result<Schemas> {
    Ok(Schemas::from_sources([include_str!(
        "../../../../schemas/avro/session/session_ended.avsc"
    )])?)
}

impl EndedSessions {
    pub fn new(bus: &BusConfig, region: Region) -> anyhow::Result<Self> {
        Ok(EndedSessions {
            ended: RwLock::new(HashMap::new()),
            producer: bus.producer()?,
            schemas: schemas()?,
            topic: bus.topic(Area::Session),
            source: format!("/plinth/{region}/gateway"),
        })
    }

    /// The topic the gateway creates at start-up.
    pub fn topic_spec(bus: &BusConfig, partitions: i32) -> TopicSpec {
        let mut spec = TopicSpec::new(bus.topic(Area::Session), partitions);
        spec.retention = Some(RETENTION);
        spec
    }

    /// Whether the session `id` was ended.
    pub fn contains(&self, id: &str) -> bool {
        self.ended.read().contains_key(id)
    }

    fn remember(&self, id: String, expires_at: i64) {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if expires_at <= now {
            return;
        }
        let mut ended = self.ended.write();
        // Drop what has expired whenever the map doubles, so it holds about the
        // sessions ended within one absolute timeout.
        if ended.len() >= 1024 && ended.len().is_power_of_two() {
            ended.retain(|_, deadline| *deadline > now);
        }
        ended.insert(id, expires_at);
    }

    /// Ends the session `id` of `subject` (deadline `expires_at`, Unix seconds):
    /// refused here at once, and everywhere once the broker has the record, which
    /// this waits for.
    pub async fn end(&self, id: &str, subject: &str, expires_at: i64) -> Result<(), ApiError> {
        self.remember(id.to_owned(), expires_at);
        let record = SessionEnded {
            session_id: id.to_owned(),
            subject: subject.to_owned(),
            ended_at: micros(OffsetDateTime::now_utc()),
            expires_at: expires_at * 1_000_000,
        };
        let payload = self
            .schemas
            .encode(SESSION_ENDED, &record)
            .map_err(ApiError::internal)?;
        let event = Event::new(
            &self.topic,
            PLATFORM_KEY.to_owned(),
            SESSION_ENDED_TYPE,
            &self.source,
            payload,
        )
        .with_subject(subject.to_owned());
        event
            .publish(&self.producer, DELIVERY_TIMEOUT)
            .await
            .map_err(|e| {
                ApiError::unavailable(
                    "the session ended at this gateway, but the other gateways could not be told: log out again",
                )
                .with_internal(e)
            })?;
        Ok(())
    }

    /// Takes one record read from the topic.
    fn apply(&self, payload: &[u8]) {
        match self.schemas.decode::<SessionEnded>(SESSION_ENDED, payload) {
            Ok(record) => self.remember(record.session_id, record.expires_at / 1_000_000),
            Err(e) => tracing::warn!(error = %e, "an unreadable record on the session topic"),
        }
    }
}

/// Keeps `ended` from the session topic until `stop`.
pub async fn follow(
    ended: &EndedSessions,
    bus: BusConfig,
    stop: CancellationToken,
    caught_up: &AtomicBool,
) -> anyhow::Result<()> {
    let topics = [bus.topic(Area::Session)];
    Ok(plinth_bus::follow(
        &bus,
        &topics,
        "gateway.sessions",
        stop,
        Some(caught_up),
        |event| {
            if event.ty == SESSION_ENDED_TYPE {
                ended.apply(event.payload);
            }
        },
    )
    .await?)
}
