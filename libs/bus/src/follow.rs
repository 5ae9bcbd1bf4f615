//! Following topics into memory: every process reads every event of the topics
//! from their beginning, under a consumer group of its own, and commits nothing.
//! For what each replica holds whole — the gateway's roles, a service's cache —
//! where applying an event twice changes nothing. Effects in a database go
//! through the [`crate::Consumer`] instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
/// (`<prefix><who>.<random>`); the group is the process's own. `caught_up`, if
/// given, turns true once everything the topics held when the follower started
/// has been read (at once for empty topics): what a replica's readiness waits on.
pub async fn follow(
    bus: &BusConfig,
    topics: &[String],
    who: &str,
    stop: CancellationToken,
    caught_up: Option<&AtomicBool>,
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
    let consumer: Arc<StreamConsumer> = Arc::new(config.create()?);
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    let ends = {
        let (consumer, topics) = (consumer.clone(), topics.to_vec());
        tokio::task::spawn_blocking(move || ends_of(&consumer, &topics)).await
    };
    // Where the ends cannot be learned, the follower reads on but never says it
    // caught up: a replica that cannot tell stays out of rotation.
    let (mut behind, known) = match ends
        .map_err(|e| e.to_string())
        .and_then(|found| found.map_err(|e| e.to_string()))
    {
        Ok(ends) => (ends, true),
        Err(error) => {
            tracing::warn!(%error, who, "the followed topics' ends are unknown");
            (HashMap::new(), false)
        }
    };
    let mark = |behind: &HashMap<(String, i32), i64>| {
        if known
            && behind.is_empty()
            && let Some(flag) = caught_up
        {
            flag.store(true, Ordering::Relaxed);
        }
    };
    mark(&behind);
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            message = consumer.recv() => message,
        };
        match message {
            Ok(message) => {
                let at = (message.topic().to_owned(), message.partition());
                if behind
                    .get(&at)
                    .is_some_and(|end| message.offset() + 1 >= *end)
                {
                    behind.remove(&at);
                    mark(&behind);
                }
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

/// The end of every partition of `topics` that holds anything: where a follower
/// starting now has read all there was.
fn ends_of(
    consumer: &StreamConsumer,
    topics: &[String],
) -> Result<HashMap<(String, i32), i64>, rdkafka::error::KafkaError> {
    let timeout = Duration::from_secs(10);
    let mut ends = HashMap::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
            if high > low {
                ends.insert((topic.clone(), partition.id()), high);
            }
        }
    }
    Ok(ends)
}
