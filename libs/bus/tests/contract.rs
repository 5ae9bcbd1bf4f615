//! The partner contract holds together: the event catalog, the schema files, their
//! released copies and `schemas/asyncapi.yaml`, validated by the AsyncAPI parser.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use apache_avro::Schema;
use plinth_bus::catalog::EVENT_TYPES;
use plinth_bus::{Schemas, read_avsc_files};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Full name → path (relative to `schemas/`) of every schema file under `dir`.
fn schema_files(dir: &Path) -> BTreeMap<String, String> {
    read_avsc_files(dir)
        .unwrap()
        .into_iter()
        .map(|(path, text)| {
            let schema = Schema::parse_str(&text).unwrap();
            let relative = path.strip_prefix(root().join("schemas")).unwrap();
            (
                schema.name().unwrap().fullname(None),
                relative.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

#[test]
fn every_event_type_has_a_schema_and_every_schema_a_released_copy() {
    let current = schema_files(&root().join("schemas/avro"));
    let released = schema_files(&root().join("schemas/released/avro"));
    for e in EVENT_TYPES {
        assert!(
            current.contains_key(e.schema),
            "{} names {}, which has no file in schemas/avro",
            e.ty,
            e.schema
        );
    }
    let used: BTreeSet<&str> = EVENT_TYPES.iter().map(|e| e.schema).collect();
    for (name, file) in &current {
        assert!(
            used.contains(name.as_str()),
            "{file} ({name}) is no event type's schema"
        );
        assert!(
            released.contains_key(name),
            "{file} ({name}) has no released copy in schemas/released/avro"
        );
    }
    println!(
        "{} event types, {} schemas, each released",
        EVENT_TYPES.len(),
        current.len()
    );
}

#[test]
fn the_asyncapi_document_is_valid_and_lists_exactly_the_catalog() {
    let check = root().join("deploy/dev/asyncapi/check.mjs");
    let out = Command::new("node")
        .arg(&check)
        .arg(root().join("schemas/asyncapi.yaml"))
        .current_dir(check.parent().unwrap())
        .output()
        .expect("node runs the AsyncAPI parser (make test installs it)");
    assert!(
        out.status.success(),
        "the AsyncAPI parser refused schemas/asyncapi.yaml:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let described: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // (topic, event type) → schema file, as the document says and as the catalog does.
    let mut documented = BTreeMap::new();
    let mut fields = BTreeMap::new();
    for channel in described["channels"].as_array().unwrap() {
        let address = channel["address"].as_str().unwrap().to_owned();
        for message in channel["messages"].as_array().unwrap() {
            let name = message["name"].as_str().unwrap().to_owned();
            let headers: Vec<&str> = message["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap())
                .collect();
            for h in ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion"] {
                assert!(headers.contains(&h), "{name} documents the {h} header");
            }
            fields.insert(name.clone(), message["fields"].clone());
            documented.insert(
                (address.clone(), name),
                message["schemaFile"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    let files = schema_files(&root().join("schemas/avro"));
    let catalog: BTreeMap<(String, String), String> = EVENT_TYPES
        .iter()
        .map(|e| {
            (
                (format!("plinth.{}.v1", e.area.as_str()), e.ty.to_owned()),
                files[e.schema].clone(),
            )
        })
        .collect();
    assert_eq!(
        documented, catalog,
        "schemas/asyncapi.yaml against the catalog"
    );

    // The parser read each payload's Avro record: its fields are the schema's.
    let schemas = Schemas::from_dir(root().join("schemas/avro")).unwrap();
    for e in EVENT_TYPES {
        let Some(Schema::Record(record)) = schemas.get(e.schema) else {
            panic!("{} is a record", e.schema);
        };
        let expected: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(fields[e.ty], serde_json::json!(expected), "{}", e.ty);
    }
    println!(
        "schemas/asyncapi.yaml: {} messages on {} topics, valid",
        documented.len(),
        documented
            .keys()
            .map(|(t, _)| t)
            .collect::<BTreeSet<_>>()
            .len()
    );
}
