//! Every request the gateway refuses (401, 403, 421 wrong region, 429) becomes an
//! audit event, published straight to `plinth.audit.v1`: the gateway has no
//! business database, so no outbox. Refusals wait in a bounded buffer and an
//! idempotent producer sends them, retrying with backoff; what cannot be buffered
//! or delivered is counted (`plinth_gateway_audit_undelivered_total`) and logged,
//! never blocking a request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use plinth_bus::{AUDIT_EVENT, Area, AuditEvent, BusConfig, Event, PLATFORM_KEY, Schemas};
use plinth_core::{ApiError, Region, RequestId, TenantId};
use rdkafka::producer::{FutureProducer, FutureRecord};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Refusals waiting to be published, at most.
const BUFFER: usize = 10_000;
/// Attempts to publish one refusal before it is counted as undelivered.
const ATTEMPTS: u32 = 8;

/// A refused request, as the gateway saw it.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The verified subject, or none when the token was the problem.
    pub actor: Option<String>,
    pub tenant: Option<TenantId>,
    pub method: String,
    pub path: String,
    pub request_id: RequestId,
}

/// Publishes refusals; cheap to clone.
#[derive(Debug, Clone)]
pub struct Denials {
    queue: mpsc::Sender<Event>,
    undelivered: Arc<AtomicU64>,
    schemas: Arc<Schemas>,
    topic: String,
    source: String,
    region: Region,
}

impl Denials {
    /// The publisher, and the task that sends what it buffers until `stop`.
    pub fn start(
        bus: &BusConfig,
        region: Region,
        stop: CancellationToken,
    ) -> anyhow::Result<(Denials, tokio::task::JoinHandle<anyhow::Result<()>>)> {
        let schemas = Arc::new(Schemas::from_sources([include_str!(
            "../../../schemas/avro/audit/audit_event.avsc"
        )])?);
        let producer = bus.producer()?;
        let (queue, receiver) = mpsc::channel(BUFFER);
        let undelivered = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(send(producer, receiver, undelivered.clone(), stop));
        Ok((
            Denials {
                queue,
                undelivered,
                schemas,
                topic: bus.topic(Area::Audit),
                source: format!("/plinth/{region}/gateway"),
                region,
            },
            task,
        ))
    }

    /// Refusals that could not be buffered or delivered.
    pub fn undelivered(&self) -> u64 {
        self.undelivered.load(Ordering::Relaxed)
    }

    /// Records `refusal`, refused with `error`; never waits.
    pub fn record(&self, refusal: Refusal, error: &ApiError) {
        let key = refusal
            .tenant
            .map_or_else(|| PLATFORM_KEY.to_owned(), |t| t.to_string());
        let event = AuditEvent {
            tenant_id: key.clone(),
            region: self.region.as_str().to_owned(),
            actor: refusal.actor.unwrap_or_else(|| "anonymous".to_owned()),
            actor_display: None,
            action: format!("http.{}", refusal.method.to_ascii_lowercase()),
            resource_type: "route".to_owned(),
            resource_id: Some(refusal.path.clone()),
            outcome: "DENIED".to_owned(),
            reason: Some(error.code().to_owned()),
            request_id: Some(refusal.request_id.to_string()),
            occurred_at: plinth_bus::micros(OffsetDateTime::now_utc()),
            source_service: "gateway".to_owned(),
            details: BTreeMap::from([
                ("method".to_owned(), refusal.method),
                (
                    "status".to_owned(),
                    actix_web::ResponseError::status_code(error)
                        .as_u16()
                        .to_string(),
                ),
            ]),
        };
        let payload = match self.schemas.encode(AuditEvent::SCHEMA, &event) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "encoding a refusal's audit event failed");
                self.undelivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let event = Event::new(&self.topic, key, AUDIT_EVENT, &self.source, payload)
            .with_subject(refusal.path);
        if self.queue.try_send(event).is_err() {
            self.undelivered.fetch_add(1, Ordering::Relaxed);
            tracing::error!("the refusals' buffer is full; an audit event was dropped");
        }
    }
}

async fn send(
    producer: FutureProducer,
    mut receiver: mpsc::Receiver<Event>,
    undelivered: Arc<AtomicU64>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            event = receiver.recv() => match event {
                Some(event) => event,
                None => return Ok(()),
            },
        };
        let headers = event.cloud_event().to_headers();
        let mut backoff = Duration::from_millis(100);
        let mut delivered = false;
        for _ in 0..ATTEMPTS {
            let record = FutureRecord::to(&event.topic)
                .key(event.key.as_str())
                .payload(event.payload.as_slice())
                .headers(headers.clone());
            match producer.send(record, Duration::from_secs(10)).await {
                Ok(_) => {
                    delivered = true;
                    break;
                }
                Err((e, _)) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "publishing a refusal failed");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        if !delivered {
            undelivered.fetch_add(1, Ordering::Relaxed);
            tracing::error!(event = %event.id, "a refusal's audit event was not delivered");
        }
    }
}
