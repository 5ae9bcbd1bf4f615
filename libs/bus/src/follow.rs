//! Following topics into memory: every process reads every event of the topics
//! from their beginning, under a consumer group of its own, and commits nothing.
//! For what each replica holds whole — the gateway's roles, a service's cache —
//! where applying an event twice changes nothing. Effects in a database go
//! through the [`crate::Consumer`] instead.

use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use tokio_util::sync::CancellationToken;

use crate::{BusConfig, headers};

/// One event as a follower sees it.
#[derive(Debug)]
pub struct Followed<'a> {
    /// The CloudEvents type (`ce_type`).
    pub ty: &'a str,
    /// The message key: the tenant id, or `platform`.
    pub key: Option<&'a str>,
    /// The Avro payload, single-object encoded.
    pub payload: &'a [u8],
}

/// Reads `topics` from their beginning until `stop`, calling `apply` for every
/// event that has a type and a payload. `who` names the follower in its group id
/// (`<prefix><who>.<random>`); the group is the process's own.
pub async fn follow(
    bus: &BusConfig,
    topics: &[String],
    who: &str,
    stop: CancellationToken,
    mut apply: impl FnMut(Followed<'_>),
) -> Result<(), rdkafka::error::KafkaError> {
    let mut config = bus.client_config();
    config
        .set(
            "group.id",
            format!(
                "{}{who}.{}",
                bus.topic_prefix,
                uuid::Uuid::new_v4().simple()
            ),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    let consumer: StreamConsumer = config.create()?;
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            message = consumer.recv() => message,
        };
        match message {
            Ok(message) => {
                let ty = message
                    .headers()
                    .and_then(|h| headers::header_str(h, headers::CE_TYPE));
                if let (Some(ty), Some(payload)) = (ty, message.payload()) {
                    let key = message.key().and_then(|k| std::str::from_utf8(k).ok());
                    apply(Followed {
                        ty: &ty,
                        key,
                        payload,
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, who, "reading followed topics failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}
