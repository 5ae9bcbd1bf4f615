//! What a partner reads: every event on a stack's topics, taken from the real broker
//! and decoded with nothing but the published schemas (and their released copies
//! as older writer versions), the way
//! `schemas/asyncapi.yaml` and `docs/partners.md` tell a partner to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use plinth_bus::catalog::event_type;
use plinth_bus::headers::{self, CloudEvent};
use plinth_bus::{Area, Schemas};
use plinth_testkit::test_bus;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers as _};
use rdkafka::{Message, Offset, TopicPartitionList};

/// Reads the partner topics of `areas` under `prefix` from the beginning to their ends and
/// decodes every event; the number read of each event type. One payload of each
/// type is decoded again by fastavro, following `docs/partners.md` to the letter. Fails on an event whose
/// type is not in the catalog, whose payload the published schemas do not decode
/// into the catalog's schema, or whose headers break the CloudEvents binding.
///
/// An event committed a moment ago may still be on its way from the outbox:
/// past the ends, reading goes on, waiting for each new event, until every type
/// in `expected` is there (a minute at most).
pub fn decode_every_event(
    prefix: &str,
    areas: &[Area],
    expected: &[&str],
) -> BTreeMap<String, usize> {
    read_to_the_ends(prefix, areas, expected)
}

/// Every message on the topics of `areas` under `prefix`, from the beginning to
/// where each partition ends now, handed to `visit`; past the ends, each new
/// message too while `visit` last said it waits for more (`waiting` before the
/// first), a minute at most.
fn each_message(
    prefix: &str,
    areas: &[Area],
    mut waiting: bool,
    mut visit: impl FnMut(&BorrowedMessage<'_>) -> bool,
) {
    let consumer: BaseConsumer = test_bus(prefix)
        .client_config()
        .set("group.id", format!("{prefix}partner"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();

    // Where each partition ends now: reading stops there.
    let mut ends = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for area in areas {
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ends.is_empty() || waiting {
        assert!(
            Instant::now() < deadline,
            "partitions not read to the end ({ends:?}), or what was waited for never came"
        );
        let Some(msg) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let msg = msg.unwrap();
        let place = (msg.topic().to_owned(), msg.partition());
        if ends.get(&place).is_some_and(|end| msg.offset() + 1 >= *end) {
            ends.remove(&place);
        }
        waiting = visit(&msg);
    }
}

/// Every message's key, header values and payload on the topics of `areas`
/// under `prefix`, as bytes: what a sweep for a secret searches.
pub fn raw_payloads(prefix: &str, areas: &[Area]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    each_message(prefix, areas, false, |msg| {
        let mut bytes = msg.key().unwrap_or_default().to_vec();
        if let Some(hdrs) = msg.headers() {
            for header in hdrs.iter() {
                bytes.extend_from_slice(header.value.unwrap_or_default());
            }
        }
        bytes.extend_from_slice(msg.payload().unwrap_or_default());
        all.push(bytes);
        false
    });
    all
}

fn read_to_the_ends(prefix: &str, areas: &[Area], expected: &[&str]) -> BTreeMap<String, usize> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let schemas = Schemas::from_dir(dir.join("avro"))
        .and_then(|s| s.with_history_dir(dir.join("released/avro")))
        .expect("the published and released schemas parse");
    let mut read = BTreeMap::new();
    let mut samples: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    each_message(prefix, areas, !expected.is_empty(), |msg| {
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
                    "{} does not decode with the published schemas: {e}",
                    attrs.ty
                )
            });
        assert_eq!(
            writer, known.schema,
            "{} is written with its schema",
            attrs.ty
        );
        samples
            .entry(known.schema)
            .or_insert_with(|| msg.payload().unwrap().to_vec());
        *read.entry(attrs.ty).or_insert(0) += 1;
        expected.iter().any(|ty| !read.contains_key(*ty))
    });
    decode_with_fastavro(&samples);
    read
}

/// Decodes each sample (schema full name → payload) with fastavro and the schema
/// files alone, as `docs/partners.md` shows, and checks the record it names.
fn decode_with_fastavro(samples: &BTreeMap<&str, Vec<u8>>) {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var("PLINTH_TEST_PYTHON").unwrap_or_else(|_| {
        root.join(".dev-state/python-venv/bin/python")
            .to_string_lossy()
            .into_owned()
    });
    let mut child = Command::new(python)
        .arg(root.join("libs/bus/tests/partner/decode.py"))
        .arg(root.join("schemas/avro"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tests' Python runs (make test installs it)");
    let input: String = samples
        .values()
        .map(|payload| {
            let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
            hex + "\n"
        })
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "fastavro could not decode an event: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let decoded: serde_json::Value = serde_json::from_str(line).unwrap();
            decoded["name"].as_str().unwrap().to_owned()
        })
        .collect();
    let expected: Vec<&str> = samples.keys().copied().collect();
    assert_eq!(names, expected, "fastavro decodes each event as its schema");
    println!("decoded by fastavro as a partner: {expected:?}");
}
