//! Every request the gateway refuses (401, 403, 421 wrong region, 429) becomes an
//! audit event, published straight to `plinth.audit.v1`: the gateway has no
//! business database, so no outbox. Refusals wait in a bounded buffer and an
//! idempotent producer sends them, retrying with backoff; what cannot be buffered
//! or delivered is counted (`plinth_gateway_audit_undelivered_total`) and logged,
//! never blocking a request.
//!
//! Refusals of nobody in particular — no valid credentials, so no actor — are
//! folded: the first of a kind (reason and method) in an interval is recorded at
//! once, the rest of the interval's are counted and recorded as one event with the
//! count (`repeated`) when the interval ends. So garbage traffic grows the
//! platform's log by a few records an interval however much of it comes, and it
//! never takes the buffer's room from the refusals of known callers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::time::Duration;

use plinth_bus::{
    AUDIT_EVENT, Area, AuditEvent, BusConfig, Event, PLATFORM_KEY, Schemas, capped, limits,
};
use plinth_core::{ApiError, Region, RequestId, TenantId};
use rdkafka::producer::FutureProducer;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Refusals waiting to be published, at most.
const BUFFER: usize = 10_000;
/// Attempts to publish one refusal before it is counted as undelivered.
const ATTEMPTS: u32 = 8;
/// How long anonymous refusals of one kind are folded into one record.
const FOLD_INTERVAL: Duration = Duration::from_secs(10);
/// Kinds of anonymous refusal folded at once, at most; beyond, they are counted
/// under one more.
const FOLD_KINDS: usize = 64;

/// Anonymous refusals of one kind in the current interval: the first, and how
/// many more came.
#[derive(Debug)]
struct Folded {
    first: Refusal,
    status: u16,
    more: u64,
}

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
    /// Anonymous refusals of this interval, by (reason, method).
    folding: Arc<Mutex<HashMap<(String, String), Folded>>>,
    /// Anonymous refusals recorded only as part of a count.
    folded: Arc<AtomicU64>,
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
        let denials = Denials {
            queue,
            undelivered: Arc::new(AtomicU64::new(0)),
            folding: Arc::default(),
            folded: Arc::new(AtomicU64::new(0)),
            schemas,
            topic: bus.topic(Area::Audit),
            source: format!("/plinth/{region}/gateway"),
            region,
        };
        let task = tokio::spawn(send(producer, receiver, denials.clone(), stop));
        Ok((denials, task))
    }

    /// Anonymous refusals recorded only as part of a folded count.
    pub fn folded(&self) -> u64 {
        self.folded.load(Ordering::Relaxed)
    }

    /// Refusals that could not be buffered or delivered.
    pub fn undelivered(&self) -> u64 {
        self.undelivered.load(Ordering::Relaxed)
    }

    /// Records the refusal of `req` with `error`: by `actor` (none when the
    /// credentials were the problem), in `tenant` (none: the platform's log).
    pub fn record_request(
        &self,
        req: &actix_web::HttpRequest,
        actor: Option<String>,
        tenant: Option<TenantId>,
        error: &ApiError,
    ) {
        use actix_web::HttpMessage as _;
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .copied()
            .unwrap_or_else(RequestId::new);
        self.record(
            Refusal {
                actor,
                tenant,
                method: req.method().to_string(),
                path: req.path().to_owned(),
                request_id,
            },
            error,
        );
    }

    /// Records `refusal`, refused with `error`; never waits. An anonymous one is
    /// folded with the others of its kind.
    pub fn record(&self, refusal: Refusal, error: &ApiError) {
        let status = actix_web::ResponseError::status_code(error).as_u16();
        if refusal.actor.is_none() {
            self.fold(refusal, error.code().as_str(), status);
            return;
        }
        self.publish(refusal, error.code().as_str(), status, None);
    }

    fn fold(&self, refusal: Refusal, reason: &str, status: u16) {
        let mut folding = self.folding.lock();
        let kind = if folding.len() < FOLD_KINDS {
            (reason.to_owned(), refusal.method.clone())
        } else {
            ("other".to_owned(), "other".to_owned())
        };
        match folding.get_mut(&kind) {
            Some(folded) => {
                folded.more += 1;
                self.folded.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                folding.insert(
                    kind,
                    Folded {
                        first: refusal.clone(),
                        status,
                        more: 0,
                    },
                );
                drop(folding);
                self.publish(refusal, reason, status, None);
            }
        }
    }

    /// Ends the folding interval: one record for each kind that came again, with
    /// how many more times.
    fn flush_folded(&self) {
        let ended: Vec<((String, String), Folded)> = self.folding.lock().drain().collect();
        for ((reason, _), folded) in ended {
            if folded.more > 0 {
                self.publish(folded.first, &reason, folded.status, Some(folded.more));
            }
        }
    }

    fn publish(&self, refusal: Refusal, reason: &str, status: u16, repeated: Option<u64>) {
        let key = refusal
            .tenant
            .map_or_else(|| PLATFORM_KEY.to_owned(), |t| t.to_string());
        let event = AuditEvent {
            tenant_id: key.clone(),
            region: self.region.as_str().to_owned(),
            actor: refusal.actor.unwrap_or_else(|| "anonymous".to_owned()),
            actor_display: None,
            action: format!("http.{}", capped(&refusal.method, 16).to_ascii_lowercase()),
            resource_type: "route".to_owned(),
            resource_id: Some(capped(&refusal.path, limits::ID)),
            outcome: "DENIED".to_owned(),
            reason: Some(reason.to_owned()),
            request_id: Some(refusal.request_id.to_string()),
            occurred_at: plinth_bus::micros(OffsetDateTime::now_utc()),
            source_service: "gateway".to_owned(),
            details: BTreeMap::from([
                ("method".to_owned(), capped(&refusal.method, 16)),
                ("status".to_owned(), status.to_string()),
            ]),
        };
        let mut event = event;
        if let Some(more) = repeated {
            event
                .details
                .insert("repeated".to_owned(), more.to_string());
            event.details.insert(
                "interval_seconds".to_owned(),
                FOLD_INTERVAL.as_secs().to_string(),
            );
        }
        let payload = match self.schemas.encode(AuditEvent::SCHEMA, &event) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "encoding a refusal's audit event failed");
                self.undelivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let event = Event::new(&self.topic, key, AUDIT_EVENT, &self.source, payload)
            .with_subject(capped(&refusal.path, limits::ID));
        if self.queue.try_send(event).is_err() {
            self.undelivered.fetch_add(1, Ordering::Relaxed);
            tracing::error!("the refusals' buffer is full; an audit event was dropped");
        }
    }
}

async fn send(
    producer: FutureProducer,
    mut receiver: mpsc::Receiver<Event>,
    denials: Denials,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let undelivered = denials.undelivered.clone();
    let mut fold_ends = tokio::time::interval(FOLD_INTERVAL);
    fold_ends.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => {
                // What is folded and buffered goes out before the gateway stops.
                denials.flush_folded();
                while let Ok(event) = receiver.try_recv() {
                    if event.publish(&producer, Duration::from_secs(5)).await.is_err() {
                        undelivered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                return Ok(());
            }
            _ = fold_ends.tick() => {
                denials.flush_folded();
                continue;
            }
            event = receiver.recv() => match event {
                Some(event) => event,
                None => return Ok(()),
            },
        };
        let mut backoff = Duration::from_millis(100);
        let mut delivered = false;
        for _ in 0..ATTEMPTS {
            match event.publish(&producer, Duration::from_secs(10)).await {
                Ok(()) => {
                    delivered = true;
                    break;
                }
                Err(e) => {
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
