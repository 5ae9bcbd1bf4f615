//! The published event schemas in `schemas/avro/`: they parse, round-trip, and stay
//! backward compatible with their released copies in `schemas/released/avro/`.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use apache_avro::Schema;
use apache_avro::schema::{RecordField, UnionSchema};
use apache_avro::types::Value;
use plinth_bus::{Schemas, check_compatible, read_avsc_files};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn avsc_files(dir: &Path) -> Vec<PathBuf> {
    read_avsc_files(dir)
        .unwrap()
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// A value of every shape the schema allows, taking the non-null branch of unions.
fn sample(schema: &Schema) -> Value {
    match schema {
        Schema::Null => Value::Null,
        Schema::Boolean => Value::Boolean(true),
        Schema::Int => Value::Int(7),
        Schema::Long => Value::Long(7),
        Schema::Float => Value::Float(1.5),
        Schema::Double => Value::Double(2.5),
        Schema::Bytes => Value::Bytes(vec![1, 2, 3]),
        Schema::String => Value::String("sample".into()),
        Schema::TimestampMicros => Value::TimestampMicros(1_790_000_000_000_000),
        Schema::TimestampMillis => Value::TimestampMillis(1_790_000_000_000),
        Schema::Date => Value::Date(20_000),
        Schema::Uuid => Value::Uuid(uuid::Uuid::nil()),
        Schema::Array(array) => Value::Array(vec![sample(&array.items)]),
        Schema::Map(map) => Value::Map([("key".to_owned(), sample(&map.types))].into()),
        Schema::Enum(e) => Value::Enum(0, e.symbols[0].clone()),
        Schema::Union(union) => union_sample(union),
        Schema::Record(record) => Value::Record(
            record
                .fields
                .iter()
                .map(|f: &RecordField| (f.name.clone(), sample(&f.schema)))
                .collect(),
        ),
        other => panic!("add a sample for {other:?}"),
    }
}

fn union_sample(union: &UnionSchema) -> Value {
    let variants = union.variants();
    let index = variants
        .iter()
        .position(|v| *v != Schema::Null)
        .unwrap_or(0);
    Value::Union(index as u32, Box::new(sample(&variants[index])))
}

#[test]
fn every_published_schema_parses_and_round_trips() {
    let files = avsc_files(&schemas_dir().join("avro"));
    assert!(
        !files.is_empty(),
        "schemas/avro holds the published event schemas"
    );
    let schemas = Schemas::from_dir(schemas_dir().join("avro")).unwrap();
    let names = schemas.names();
    println!("{} schema files, records: {names:?}", files.len());
    for name in names {
        let schema = schemas.get(name).unwrap();
        let value = sample(schema);
        let bytes = schemas.encode_value(name, value.clone()).unwrap();
        let (decoded_name, decoded) = schemas.decode_value(&bytes).unwrap();
        assert_eq!(decoded_name, name);
        assert_eq!(decoded, value, "{name} round-trips");
    }
}

#[test]
fn published_schemas_stay_compatible_with_their_released_copies() {
    let current = Schemas::from_dir(schemas_dir().join("avro")).unwrap();
    let released_files = avsc_files(&schemas_dir().join("released/avro"));
    assert!(!released_files.is_empty());
    for file in released_files {
        let released = Schema::parse_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = released.name().unwrap().fullname(None);
        let now = current
            .get(&name)
            .unwrap_or_else(|| panic!("{name} was released and may not be removed"));
        if let Err(why) = check_compatible(&released, now) {
            panic!("{name} no longer reads data written with its released copy: {why}");
        }
    }
    // Data written with a released copy still decodes with the current schemas.
    let with_history = current
        .clone()
        .with_history_dir(schemas_dir().join("released/avro"))
        .unwrap();
    assert_eq!(with_history.names(), current.names());
}

#[test]
fn the_compatibility_check_refuses_a_breaking_change() {
    let file = schemas_dir().join("released/avro/audit/audit_event.avsc");
    let released = Schema::parse_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut json: serde_json::Value =
        serde_json::to_value(&released).expect("schemas serialize back to JSON");
    // A new required field without a default breaks every reader of old data.
    json["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "name": "mandatory_new_field", "type": "string"
        }));
    let broken = Schema::parse(&json).unwrap();
    assert!(check_compatible(&released, &broken).is_err());
    // Removing an enum symbol breaks readers too.
    let mut json: serde_json::Value = serde_json::to_value(&released).unwrap();
    for field in json["fields"].as_array_mut().unwrap() {
        if field["name"] == "outcome" {
            field["type"]["symbols"] = serde_json::json!(["ALLOWED", "DENIED"]);
        }
    }
    let narrowed = Schema::parse(&json).unwrap();
    assert!(check_compatible(&released, &narrowed).is_err());
}

/// The tests' Python, with fastavro (deploy/dev/tools.sh).
fn test_python() -> String {
    std::env::var("PLINTH_TEST_PYTHON").unwrap_or_else(|_| {
        schemas_dir()
            .join("../.dev-state/python-venv/bin/python")
            .to_string_lossy()
            .into_owned()
    })
}

#[test]
fn fingerprints_agree_with_an_independent_avro_implementation() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let files = avsc_files(&schemas_dir().join("avro"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/partner/fingerprints.py");
    let mut child = Command::new(test_python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tests' Python runs (make test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&files).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "fastavro failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(theirs.len(), files.len(), "one answer per schema file");

    let ours = Schemas::from_dir(schemas_dir().join("avro")).unwrap();
    for answer in &theirs {
        let name = answer["name"].as_str().unwrap();
        let hex = |fp: [u8; 8]| fp.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            ours.canonical_form(name),
            answer["canonical_form"].as_str(),
            "{name}: canonical form"
        );
        assert_eq!(
            hex(ours.fingerprint(name).unwrap()),
            answer["fingerprint"].as_str().unwrap(),
            "{name}: fingerprint"
        );
        println!("{name:<45} {}", answer["fingerprint"].as_str().unwrap());
    }
    // TenantCreated, whose timestamp the apache-avro crate's own canonical form
    // fingerprinted as 582ef9f378af1991, which no other library computes.
    let tenant_created = theirs
        .iter()
        .find(|a| a["name"] == "plinth.tenant.TenantCreated")
        .unwrap();
    assert_eq!(tenant_created["fingerprint"], "5ef59f77ed1697b1");
    let with_logical_types = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("logicalType"))
        .count();
    assert!(with_logical_types > 0, "the check covers logical types");
}
