//! What a partner reads: every event on a stack's topics, taken from the real broker
//! and decoded with nothing but the released schemas, the way
//! `schemas/asyncapi.yaml` and `docs/partners.md` tell a partner to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use plinth_bus::catalog::event_type;
use plinth_bus::headers::{self, CloudEvent};
use plinth_bus::{Area, Schemas};
use plinth_testkit::test_brokers;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// Reads the partner topics under `prefix` from the beginning to their ends and
/// decodes every event; the number read of each event type. Fails on an event whose
/// type is not in the catalog, whose payload the released schemas do not decode
/// into the catalog's schema, or whose headers break the CloudEvents binding.
pub fn decode_every_event(prefix: &str) -> BTreeMap<String, usize> {
    let released = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/released/avro");
    let schemas = Schemas::from_dir(released).expect("the released schemas parse");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", test_brokers())
        .set("group.id", format!("{prefix}partner"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();

    // Where each partition ends now: reading stops there.
    let mut ends = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for area in [Area::Tenant, Area::Pack, Area::Audit] {
        let topic = format!("{prefix}plinth.{}.v1", area.as_str());
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        for partition in metadata.topics()[0].partitions() {
            let (_, high) = consumer
                .fetch_watermarks(&topic, partition.id(), Duration::from_secs(10))
                .unwrap();
            if high > 0 {
                ends.insert((topic.clone(), partition.id()), high);
                assignment
                    .add_partition_offset(&topic, partition.id(), Offset::Beginning)
                    .unwrap();
            }
        }
    }
    consumer.assign(&assignment).unwrap();

    let mut read = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ends.is_empty() {
        assert!(
            Instant::now() < deadline,
            "partitions not read to the end: {ends:?}"
        );
        let Some(msg) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let msg = msg.unwrap();
        let place = (msg.topic().to_owned(), msg.partition());
        if ends.get(&place).is_some_and(|end| msg.offset() + 1 >= *end) {
            ends.remove(&place);
        }
        let attrs = CloudEvent::from_headers(msg.headers()).expect("CloudEvents headers");
        let hdrs = msg.headers().unwrap();
        assert_eq!(
            headers::header_str(hdrs, headers::CE_SPECVERSION).as_deref(),
            Some("1.0")
        );
        let known = event_type(&attrs.ty).unwrap_or_else(|| {
            panic!("{} is published but has no schema in the catalog", attrs.ty)
        });
        assert_eq!(
            msg.topic(),
            format!("{prefix}plinth.{}.v1", known.area.as_str()),
            "{} on its catalog topic",
            attrs.ty
        );
        assert!(
            msg.key().is_some_and(|k| !k.is_empty()),
            "{} has a key",
            attrs.ty
        );
        let (writer, _) = schemas
            .decode_value(msg.payload().expect("a payload"))
            .unwrap_or_else(|e| {
                panic!(
                    "{} does not decode with the released schemas: {e}",
                    attrs.ty
                )
            });
        assert_eq!(
            writer, known.schema,
            "{} is written with its schema",
            attrs.ty
        );
        *read.entry(attrs.ty).or_insert(0) += 1;
    }
    read
}
