//! CloudEvents Kafka protocol binding, binary mode: the event's attributes travel as
//! `ce_*` headers, the payload is the Avro single-object message, and W3C trace
//! context rides along in `traceparent`.

use rdkafka::message::{Header, Headers, OwnedHeaders};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// CloudEvents `id`.
pub const CE_ID: &str = "ce_id";
/// CloudEvents `type`.
pub const CE_TYPE: &str = "ce_type";
/// CloudEvents `source`.
pub const CE_SOURCE: &str = "ce_source";
/// CloudEvents `time` (RFC 3339).
pub const CE_TIME: &str = "ce_time";
/// CloudEvents `subject`.
pub const CE_SUBJECT: &str = "ce_subject";
/// CloudEvents `specversion` (`1.0`).
pub const CE_SPECVERSION: &str = "ce_specversion";
/// The payload's content type.
pub const CONTENT_TYPE: &str = "content-type";
/// Media type of a single-object encoded Avro payload.
pub const AVRO_CONTENT_TYPE: &str = "application/avro";
/// W3C trace context of the request that caused the event.
pub const TRACEPARENT: &str = plinth_telemetry::TRACEPARENT;
/// On a dead-lettered message: why it could not be applied.
pub const DLQ_ERROR: &str = "plinth_dlq_error";
/// On a dead-lettered message: `<topic>/<partition>/<offset>` it came from.
pub const DLQ_ORIGIN: &str = "plinth_dlq_origin";

/// The CloudEvents attributes Plinth sets on every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEvent {
    /// CloudEvents `id`: unique per event, the consumers' deduplication key.
    pub id: Uuid,
    /// e.g. `plinth.tenant.created`.
    pub ty: String,
    /// The producing service, e.g. `/plinth/us/tenant-registry`.
    pub source: String,
    /// When it happened.
    pub time: OffsetDateTime,
    /// The resource the event is about, e.g. a tenant or pack id.
    pub subject: Option<String>,
    /// W3C trace context of the request that caused it.
    pub traceparent: Option<String>,
}

impl CloudEvent {
    /// The headers of a message carrying this event.
    #[expect(clippy::expect_used, reason = "event times format as RFC 3339")]
    pub fn to_headers(&self) -> OwnedHeaders {
        let id = self.id.to_string();
        let time = self
            .time
            .format(&Rfc3339)
            .expect("event times format as RFC 3339");
        let mut headers = OwnedHeaders::new_with_capacity(8)
            .insert(header(CE_SPECVERSION, "1.0"))
            .insert(header(CE_ID, &id))
            .insert(header(CE_TYPE, &self.ty))
            .insert(header(CE_SOURCE, &self.source))
            .insert(header(CE_TIME, &time))
            .insert(header(CONTENT_TYPE, AVRO_CONTENT_TYPE));
        if let Some(subject) = &self.subject {
            headers = headers.insert(header(CE_SUBJECT, subject));
        }
        if let Some(tp) = &self.traceparent {
            headers = headers.insert(header(TRACEPARENT, tp));
        }
        headers
    }

    /// Reads the attributes back; a message without the required ones is refused.
    pub fn from_headers(headers: Option<&impl Headers>) -> Result<Self, String> {
        let get = |name: &str| headers.and_then(|h| header_str(h, name));
        let require = |name: &str| get(name).ok_or_else(|| format!("missing header {name}"));
        let spec = require(CE_SPECVERSION)?;
        if spec != "1.0" {
            return Err(format!("unsupported CloudEvents specversion {spec}"));
        }
        let id = require(CE_ID)?;
        let id = Uuid::parse_str(&id).map_err(|e| format!("ce_id `{id}` is not a UUID: {e}"))?;
        let time = require(CE_TIME)?;
        let time = OffsetDateTime::parse(&time, &Rfc3339)
            .map_err(|e| format!("ce_time `{time}` is not RFC 3339: {e}"))?;
        Ok(CloudEvent {
            id,
            ty: require(CE_TYPE)?,
            source: require(CE_SOURCE)?,
            time,
            subject: get(CE_SUBJECT),
            traceparent: get(TRACEPARENT),
        })
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// The last value of header `name` as UTF-8 text.
pub fn header_str(headers: &impl Headers, name: &str) -> Option<String> {
    headers
        .iter()
        .filter(|h| h.key == name)
        .last()
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip_through_headers() {
        let event = CloudEvent {
            id: Uuid::new_v4(),
            ty: "plinth.tenant.created".into(),
            source: "/plinth/us/tenant-registry".into(),
            time: OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap(),
            subject: Some("ten_us_0123".into()),
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        };
        let headers = event.to_headers();
        assert_eq!(header_str(&headers, CE_SPECVERSION).as_deref(), Some("1.0"));
        assert_eq!(
            header_str(&headers, CE_TIME).as_deref(),
            Some("2026-09-21T14:13:20Z")
        );
        assert_eq!(CloudEvent::from_headers(Some(&headers)).unwrap(), event);
    }

    #[test]
    fn messages_without_attributes_are_refused() {
        let none: Option<&OwnedHeaders> = None;
        assert!(
            CloudEvent::from_headers(none)
                .unwrap_err()
                .contains("ce_specversion")
        );
        let partial = OwnedHeaders::new().insert(header(CE_SPECVERSION, "1.0"));
        assert!(
            CloudEvent::from_headers(Some(&partial))
                .unwrap_err()
                .contains("ce_id")
        );
    }
}
