//! Avro single-object encoding with schemas from `schemas/avro/`.
//!
//! An encoded event is `C3 01`, the 8-byte little-endian CRC-64-AVRO (Rabin)
//! fingerprint of the writer schema's Parsing Canonical Form ([`crate::canonical`],
//! to the letter of the specification, so any Avro library computes the same), then
//! the Avro binary datum. A reader finds the writer schema by fingerprint — among the
//! current schemas and the released copies kept for history — and resolves it against
//! the schema it reads with, so an event written with an older schema version still
//! decodes. Events written before the fingerprints followed the specification (with
//! the `apache-avro` crate's own canonical form) are found by that fingerprint too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use apache_avro::rabin::Rabin;
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;
use apache_avro::{Schema, from_avro_datum, from_value, to_avro_datum, to_value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::canonical::{self, NamedTypes};

const MARKER: [u8; 2] = [0xC3, 0x01];
const HEADER_LEN: usize = 10;

/// Why a schema set could not be loaded or a payload not encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    #[error("reading {path}: {source}")]
    /// A schema file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    #[error("parsing schemas: {0}")]
    /// A schema does not parse.
    Parse(String),
    #[error("unknown schema `{0}`")]
    /// No schema of that full name is known.
    UnknownSchema(String),
    #[error("not an Avro single-object message (missing C3 01 marker)")]
    /// The payload is not in Avro's single-object encoding.
    NotSingleObject,
    #[error("no known schema has fingerprint {0}")]
    /// The payload's schema fingerprint is of no known schema.
    UnknownFingerprint(String),
    #[error("encoding with `{schema}`: {message}")]
    /// A value does not fit its schema.
    Encode {
        /// The schema's full name.
        schema: String,
        /// What the Avro library said.
        message: String,
    },
    #[error("decoding as `{schema}`: {message}")]
    /// A payload does not decode with its schema.
    Decode {
        /// The schema's full name.
        schema: String,
        /// What the Avro library said.
        message: String,
    },
}

/// The fingerprint this service wrote before it followed the specification: the
/// `apache-avro` crate's canonical form, which keeps logical types. Only read.
#[expect(clippy::expect_used, reason = "a Rabin fingerprint is 8 bytes")]
fn legacy_fingerprint(schema: &Schema) -> [u8; 8] {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    bytes.try_into().expect("a Rabin fingerprint is 8 bytes")
}

/// Whether data written with `old` can be read with `new` (backward compatibility).
pub fn check_compatible(old: &Schema, new: &Schema) -> Result<(), String> {
    SchemaCompatibility::can_read(old, new).map_err(|e| e.to_string())
}

/// A schema a process writes with, and the fingerprint it writes.
#[derive(Debug, Clone)]
struct Current {
    schema: Arc<Schema>,
    fingerprint: [u8; 8],
    canonical_form: String,
}

/// The named schemas a process writes and reads with.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    current: HashMap<String, Current>,
    writers: HashMap<[u8; 8], Arc<Schema>>,
}

impl Schemas {
    /// Every `*.avsc` under `dir` (recursively); files may refer to each other's types.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, AvroError> {
        let sources = read_avsc_files(dir.as_ref())?;
        Self::from_sources(sources.iter().map(|(_, s)| s.as_str()))
    }

    /// Schemas given as JSON texts.
    pub fn from_sources<'a>(sources: impl IntoIterator<Item = &'a str>) -> Result<Self, AvroError> {
        let mut schemas = Schemas::default();
        for (schema, canonical_form) in parse_all(sources)? {
            let Some(name) = schema.name().map(|n| n.fullname(None)) else {
                continue;
            };
            let schema = Arc::new(schema);
            let fingerprint = canonical::fingerprint(&canonical_form);
            schemas.writers.insert(fingerprint, schema.clone());
            schemas
                .writers
                .entry(legacy_fingerprint(&schema))
                .or_insert_with(|| schema.clone());
            schemas.current.insert(
                name,
                Current {
                    schema,
                    fingerprint,
                    canonical_form,
                },
            );
        }
        Ok(schemas)
    }

    /// Adds older versions (the released copies) as schemas that can be decoded from,
    /// never written with.
    pub fn with_history_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, AvroError> {
        let dir = dir.as_ref();
        if !dir.exists() {
            return Ok(self);
        }
        let sources = read_avsc_files(dir)?;
        for (schema, canonical_form) in parse_all(sources.iter().map(|(_, s)| s.as_str()))? {
            if schema.name().is_some() {
                let schema = Arc::new(schema);
                for fingerprint in [
                    canonical::fingerprint(&canonical_form),
                    legacy_fingerprint(&schema),
                ] {
                    self.writers
                        .entry(fingerprint)
                        .or_insert_with(|| schema.clone());
                }
            }
        }
        Ok(self)
    }

    /// The current schema called `name` (full name, e.g. `plinth.audit.AuditEvent`).
    pub fn get(&self, name: &str) -> Option<&Schema> {
        self.current.get(name).map(|c| c.schema.as_ref())
    }

    /// The single-object fingerprint events of the current schema `name` carry.
    pub fn fingerprint(&self, name: &str) -> Option<[u8; 8]> {
        self.current.get(name).map(|c| c.fingerprint)
    }

    /// The Parsing Canonical Form of the current schema `name`.
    pub fn canonical_form(&self, name: &str) -> Option<&str> {
        self.current.get(name).map(|c| c.canonical_form.as_str())
    }

    /// Full names of the current schemas, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.current.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Encodes `value` with the schema `name`.
    pub fn encode<T: Serialize>(&self, name: &str, value: &T) -> Result<Vec<u8>, AvroError> {
        let err = |message: String| AvroError::Encode {
            schema: name.to_owned(),
            message,
        };
        let value = to_value(value).map_err(|e| err(e.to_string()))?;
        self.encode_value(name, value)
    }

    /// Encodes an Avro value with the schema `name`.
    pub fn encode_value(&self, name: &str, value: Value) -> Result<Vec<u8>, AvroError> {
        let current = self
            .current
            .get(name)
            .ok_or_else(|| AvroError::UnknownSchema(name.into()))?;
        let schema = current.schema.as_ref();
        let err = |message: String| AvroError::Encode {
            schema: name.to_owned(),
            message,
        };
        let value = value.resolve(schema).map_err(|e| err(e.to_string()))?;
        let datum = to_avro_datum(schema, value).map_err(|e| err(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + datum.len());
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&current.fingerprint);
        out.extend_from_slice(&datum);
        Ok(out)
    }

    /// The writer schema of an encoded message and its datum.
    #[expect(clippy::expect_used, reason = "8 bytes")]
    fn split<'b>(&self, bytes: &'b [u8]) -> Result<(&Schema, &'b [u8]), AvroError> {
        if bytes.len() < HEADER_LEN || bytes[..2] != MARKER {
            return Err(AvroError::NotSingleObject);
        }
        let fingerprint: [u8; 8] = bytes[2..HEADER_LEN].try_into().expect("8 bytes");
        let writer = self.writers.get(&fingerprint).ok_or_else(|| {
            AvroError::UnknownFingerprint(fingerprint.iter().map(|b| format!("{b:02x}")).collect())
        })?;
        Ok((writer, &bytes[HEADER_LEN..]))
    }

    /// Decodes a message with the writer schema's own shape.
    pub fn decode_value(&self, bytes: &[u8]) -> Result<(String, Value), AvroError> {
        let (writer, mut datum) = self.split(bytes)?;
        let name = writer.name().map(|n| n.fullname(None)).unwrap_or_default();
        let value = from_avro_datum(writer, &mut datum, None).map_err(|e| AvroError::Decode {
            schema: name.clone(),
            message: e.to_string(),
        })?;
        Ok((name, value))
    }

    /// Decodes a message as the current schema `name` (resolving an older writer
    /// schema against it) into `T`.
    pub fn decode<T: DeserializeOwned>(&self, name: &str, bytes: &[u8]) -> Result<T, AvroError> {
        let reader = self
            .current
            .get(name)
            .map(|c| c.schema.as_ref())
            .ok_or_else(|| AvroError::UnknownSchema(name.into()))?;
        let (writer, mut datum) = self.split(bytes)?;
        let err = |message: String| AvroError::Decode {
            schema: name.to_owned(),
            message,
        };
        let value =
            from_avro_datum(writer, &mut datum, Some(reader)).map_err(|e| err(e.to_string()))?;
        if !datum.is_empty() {
            return Err(err(format!(
                "{} bytes left over after the datum",
                datum.len()
            )));
        }
        from_value::<T>(&value).map_err(|e| err(e.to_string()))
    }
}

/// Parses schema texts that may refer to each other's types; each named schema comes
/// with its Parsing Canonical Form.
fn parse_all<'a>(
    sources: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(Schema, String)>, AvroError> {
    let sources: Vec<&str> = sources.into_iter().collect();
    let mut named = NamedTypes::default();
    for source in &sources {
        let json: serde_json::Value =
            serde_json::from_str(source).map_err(|e| AvroError::Parse(e.to_string()))?;
        named.add(&json);
    }
    let parsed = Schema::parse_list(sources).map_err(|e| AvroError::Parse(e.to_string()))?;
    parsed
        .into_iter()
        .map(|schema| {
            let form = match schema.name() {
                Some(name) => named
                    .canonical_form(&name.fullname(None))
                    .map_err(|e| AvroError::Parse(e.to_string()))?,
                None => String::new(),
            };
            Ok((schema, form))
        })
        .collect()
}

/// Every `*.avsc` file under `dir` (recursively) with its text, sorted by path.
pub fn read_avsc_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, AvroError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| AvroError::Io { path, source }
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let path = entry.map_err(io(&d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "avsc") {
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                out.push((path, text));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    const V1: &str = r#"{"type":"record","name":"Thing","namespace":"plinth.test","fields":[
        {"name":"id","type":"string"},
        {"name":"count","type":"long"}]}"#;
    const V2: &str = r#"{"type":"record","name":"Thing","namespace":"plinth.test","fields":[
        {"name":"id","type":"string"},
        {"name":"count","type":"long"},
        {"name":"note","type":["null","string"],"default":null}]}"#;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct ThingV1 {
        id: String,
        count: i64,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct ThingV2 {
        id: String,
        count: i64,
        note: Option<String>,
    }

    #[test]
    fn events_written_with_the_crates_fingerprint_still_decode() {
        const STAMPED: &str = r#"{"type":"record","name":"Stamped","namespace":"plinth.test",
            "fields":[{"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}}]}"#;
        let schemas = Schemas::from_sources([STAMPED]).unwrap();
        let name = "plinth.test.Stamped";
        let schema = schemas.get(name).unwrap();
        let legacy = legacy_fingerprint(schema);
        assert_ne!(schemas.fingerprint(name).unwrap(), legacy);
        let value = Value::Record(vec![("at".into(), Value::TimestampMicros(5))]);
        let mut bytes = schemas.encode_value(name, value.clone()).unwrap();
        bytes[2..HEADER_LEN].copy_from_slice(&legacy);
        assert_eq!(
            schemas.decode_value(&bytes).unwrap(),
            (name.to_owned(), value)
        );
    }

    #[test]
    fn single_object_round_trip() {
        let schemas = Schemas::from_sources([V2]).unwrap();
        let thing = ThingV2 {
            id: "a".into(),
            count: 3,
            note: Some("n".into()),
        };
        let bytes = schemas.encode("plinth.test.Thing", &thing).unwrap();
        assert_eq!(&bytes[..2], &[0xC3, 0x01]);
        let fp = schemas.fingerprint("plinth.test.Thing").unwrap();
        assert_eq!(&bytes[2..10], &fp);
        let back: ThingV2 = schemas.decode("plinth.test.Thing", &bytes).unwrap();
        assert_eq!(back, thing);

        let none = ThingV2 {
            id: "b".into(),
            count: -1,
            note: None,
        };
        let bytes = schemas.encode("plinth.test.Thing", &none).unwrap();
        assert_eq!(
            schemas
                .decode::<ThingV2>("plinth.test.Thing", &bytes)
                .unwrap(),
            none
        );
    }

    #[test]
    fn old_writer_schemas_decode_through_history() {
        let old = Schemas::from_sources([V1]).unwrap();
        let bytes = old
            .encode(
                "plinth.test.Thing",
                &ThingV1 {
                    id: "x".into(),
                    count: 1,
                },
            )
            .unwrap();

        let dir = std::env::temp_dir().join(format!("plinth-avro-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("thing.avsc"), V1).unwrap();
        let new_without_history = Schemas::from_sources([V2]).unwrap();
        assert!(matches!(
            new_without_history.decode::<ThingV2>("plinth.test.Thing", &bytes),
            Err(AvroError::UnknownFingerprint(_))
        ));
        let new = Schemas::from_sources([V2])
            .unwrap()
            .with_history_dir(&dir)
            .unwrap();
        let back: ThingV2 = new.decode("plinth.test.Thing", &bytes).unwrap();
        assert_eq!(
            back,
            ThingV2 {
                id: "x".into(),
                count: 1,
                note: None
            }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_messages_are_refused() {
        let schemas = Schemas::from_sources([V2]).unwrap();
        assert!(matches!(
            schemas.decode_value(b"{}"),
            Err(AvroError::NotSingleObject)
        ));
        assert!(matches!(
            schemas.decode_value(&[0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0]),
            Err(AvroError::UnknownFingerprint(_))
        ));
        let mut bytes = schemas
            .encode(
                "plinth.test.Thing",
                &ThingV2 {
                    id: "a".into(),
                    count: 3,
                    note: None,
                },
            )
            .unwrap();
        bytes.truncate(11); // the header and the first byte of the datum
        assert!(
            schemas
                .decode::<ThingV2>("plinth.test.Thing", &bytes)
                .is_err()
        );
        assert!(matches!(
            schemas.encode("plinth.test.Nope", &1),
            Err(AvroError::UnknownSchema(_))
        ));
    }

    #[test]
    fn compatibility_check_catches_breaking_changes() {
        let v1 = Schema::parse_str(V1).unwrap();
        let v2 = Schema::parse_str(V2).unwrap();
        assert!(
            check_compatible(&v1, &v2).is_ok(),
            "adding an optional field is fine"
        );
        let required = Schema::parse_str(
            r#"{"type":"record","name":"Thing","namespace":"plinth.test","fields":[
            {"name":"id","type":"string"},{"name":"count","type":"long"},
            {"name":"note","type":"string"}]}"#,
        )
        .unwrap();
        assert!(
            check_compatible(&v1, &required).is_err(),
            "a new field needs a default"
        );
        let retyped = Schema::parse_str(
            r#"{"type":"record","name":"Thing","namespace":"plinth.test","fields":[
            {"name":"id","type":"string"},{"name":"count","type":"string"}]}"#,
        )
        .unwrap();
        assert!(
            check_compatible(&v1, &retyped).is_err(),
            "long to string breaks readers"
        );
    }
}
