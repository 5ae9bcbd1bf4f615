//! Reading topics to their end, and replaying what a consumer dead-lettered: the
//! message goes back to the topic it came from with its key, payload and
//! CloudEvents headers, without the dead-letter headers. The consumer's inbox
//! recognises it if it was applied after all. `plinth-dlq` is the command.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};

use crate::BusConfig;
use crate::headers::{CE_ID, CE_TYPE, DLQ_ERROR, DLQ_ORIGIN};

/// One message as stored on a topic.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The key.
    pub key: Option<Vec<u8>>,
    /// The payload.
    pub payload: Vec<u8>,
    /// Every header, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Stored {
    /// The value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// CloudEvents `id`.
    pub fn ce_id(&self) -> Option<String> {
        self.header(CE_ID)
    }

    /// CloudEvents `type`.
    pub fn ce_type(&self) -> Option<String> {
        self.header(CE_TYPE)
    }

    /// Why a consumer gave up on it (dead letters only).
    pub fn reason(&self) -> Option<String> {
        self.header(DLQ_ERROR)
    }

    /// Where a dead letter came from: `topic/partition/offset`.
    pub fn origin(&self) -> Option<String> {
        self.header(DLQ_ORIGIN)
    }
}

/// A topic that could not be read, or a dead letter that could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The broker failed.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// The thread reading the topic ended without an answer.
    #[error("the reading thread failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
    /// Nothing is stored at that partition and offset.
    #[error("no message at {0}")]
    NotFound(String),
    /// The message has no origin header: it is not a dead letter.
    #[error("the message at {0} is not a dead letter (no {DLQ_ORIGIN} header)")]
    NotADeadLetter(String),
}

/// Every message on `topics` from their beginnings to their ends as of now,
/// read without a consumer group (nothing is committed), at most `limit` long.
pub async fn read_to_end(
    bus: &BusConfig,
    topics: &[String],
    limit: Duration,
) -> Result<Vec<Stored>, ReplayError> {
    let consumer = reader(bus)?;
    let topics = topics.to_vec();
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<Stored>, KafkaError> {
        let timeout = Duration::from_secs(10);
        let mut assignment = TopicPartitionList::new();
        let mut ends = BTreeMap::new();
        for topic in &topics {
            let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
            for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
                let (low, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
                if high > low {
                    assignment.add_partition_offset(topic, partition.id(), Offset::Beginning)?;
                    ends.insert((topic.clone(), partition.id()), high);
                }
            }
        }
        let mut read = Vec::new();
        if ends.is_empty() {
            return Ok(read);
        }
        consumer.assign(&assignment)?;
        let deadline = Instant::now() + limit;
        while !ends.is_empty() && Instant::now() < deadline {
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let stored = stored(&message?);
            let key = (stored.topic.clone(), stored.partition);
            if ends.get(&key).is_some_and(|end| stored.offset + 1 >= *end) {
                ends.remove(&key);
            }
            read.push(stored);
        }
        Ok(read)
    })
    .await??;
    Ok(read)
}

/// Sends the dead letter at `partition`/`offset` of `dlq_topic` back to the
/// topic it came from; that topic's name.
pub async fn replay(
    bus: &BusConfig,
    dlq_topic: &str,
    partition: i32,
    offset: i64,
) -> Result<String, ReplayError> {
    let at = format!("{dlq_topic}/{partition}/{offset}");
    let consumer = reader(bus)?;
    let letter = {
        let dlq_topic = dlq_topic.to_owned();
        tokio::task::spawn_blocking(move || -> Result<Option<Stored>, KafkaError> {
            let mut assignment = TopicPartitionList::new();
            assignment.add_partition_offset(&dlq_topic, partition, Offset::Offset(offset))?;
            consumer.assign(&assignment)?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                    let message = stored(&message?);
                    return Ok((message.offset == offset).then_some(message));
                }
            }
            Ok(None)
        })
        .await??
    };
    let letter = letter.ok_or_else(|| ReplayError::NotFound(at.clone()))?;
    let origin = letter
        .origin()
        .ok_or_else(|| ReplayError::NotADeadLetter(at.clone()))?;
    // `topic/partition/offset`; topic names hold no `/`.
    let topic = origin
        .split('/')
        .next()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ReplayError::NotADeadLetter(at.clone()))?
        .to_owned();
    let mut headers = OwnedHeaders::new();
    for (name, value) in &letter.headers {
        if name != DLQ_ERROR && name != DLQ_ORIGIN {
            headers = headers.insert(Header {
                key: name,
                value: Some(value),
            });
        }
    }
    let mut record = FutureRecord::<[u8], [u8]>::to(&topic)
        .headers(headers)
        .payload(&letter.payload);
    if let Some(key) = &letter.key {
        record = record.key(key);
    }
    bus.producer()?
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(err, _)| err)?;
    Ok(topic)
}

fn reader(bus: &BusConfig) -> Result<BaseConsumer, KafkaError> {
    bus.client_config()
        .set("group.id", format!("plinth-dlq-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
}

fn stored(message: &rdkafka::message::BorrowedMessage<'_>) -> Stored {
    Stored {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        payload: message.payload().unwrap_or_default().to_vec(),
        headers: message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}
