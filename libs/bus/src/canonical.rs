//! The Parsing Canonical Form of Avro schemas, to the letter of the specification.
//!
//! Single-object encoding puts the CRC-64-AVRO fingerprint of the writer schema's
//! canonical form in every message, and a partner's Avro library finds the schema
//! by recomputing it. The `apache-avro` crate keeps a logical-typed primitive as
//! `{"type":"long"}` where the specification (and Java's `SchemaNormalization`,
//! `fastavro`, the Go libraries) strips it to `"long"`, so its fingerprints of
//! schemas with timestamps match nobody else's. This module writes the form from the
//! schema's JSON, following the specification's transformations: primitives in
//! simple form, full names, only the attributes that matter for parsing (`name`,
//! `type`, `fields`, `symbols`, `items`, `values`, `size`) in that order, strings
//! unescaped where JSON allows, no whitespace; a named type is written out where it
//! first appears and by its full name after that.

use std::collections::{HashMap, HashSet};

use apache_avro::rabin::Rabin;
use digest::Digest;
use serde_json::Value;

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Why a schema's canonical form could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    #[error("`{0}` is not a JSON object, array or string an Avro schema can be")]
    /// The JSON is not a schema.
    NotASchema(String),
    #[error("a {0} has no `{1}`")]
    /// A schema of some type lacks an attribute that type needs: (type, attribute).
    Missing(&'static str, &'static str),
    #[error("unknown type `{0}`")]
    /// A type name that is neither primitive nor defined before its use.
    UnknownType(String),
}

/// Named types (records, enums, fixed) by full name, each with its JSON and the
/// namespace it was defined in: what a reference from another schema file expands to.
#[derive(Debug, Default, Clone)]
pub struct NamedTypes {
    defs: HashMap<String, (Value, Option<String>)>,
}

impl NamedTypes {
    /// Records every named type defined anywhere in `schema`.
    pub fn add(&mut self, schema: &Value) {
        self.collect(schema, None);
    }

    fn collect(&mut self, schema: &Value, ns: Option<&str>) {
        match schema {
            Value::Array(branches) => branches.iter().for_each(|b| self.collect(b, ns)),
            Value::Object(obj) => {
                let ty = obj.get("type");
                let mut inner_ns = ns.map(str::to_owned);
                if let (Some(Value::String(kind)), Some(Value::String(name))) =
                    (ty, obj.get("name"))
                    && matches!(kind.as_str(), "record" | "error" | "enum" | "fixed")
                {
                    let (full, own_ns) = full_name(name, obj.get("namespace"), ns);
                    self.defs
                        .entry(full)
                        .or_insert_with(|| (schema.clone(), ns.map(str::to_owned)));
                    inner_ns = own_ns;
                }
                if let Some(ty @ (Value::Object(_) | Value::Array(_))) = ty {
                    self.collect(ty, inner_ns.as_deref());
                }
                for key in ["items", "values"] {
                    if let Some(inner) = obj.get(key) {
                        self.collect(inner, inner_ns.as_deref());
                    }
                }
                if let Some(Value::Array(fields)) = obj.get("fields") {
                    for field in fields {
                        if let Some(ty) = field.get("type") {
                            self.collect(ty, inner_ns.as_deref());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The Parsing Canonical Form of the named type `full_name`.
    pub fn canonical_form(&self, full_name: &str) -> Result<String, CanonicalError> {
        let mut out = String::new();
        Writer {
            named: self,
            seen: HashSet::new(),
            out: &mut out,
        }
        .reference(full_name)?;
        Ok(out)
    }
}

/// The CRC-64-AVRO fingerprint of a canonical form, as single-object encoding writes
/// it (little-endian).
#[expect(clippy::expect_used, reason = "a Rabin fingerprint is 8 bytes")]
pub fn fingerprint(canonical_form: &str) -> [u8; 8] {
    let digest = Rabin::digest(canonical_form.as_bytes());
    digest
        .as_slice()
        .try_into()
        .expect("a Rabin fingerprint is 8 bytes")
}

/// The full name of `name` and the namespace its nested types inherit.
fn full_name(
    name: &str,
    namespace: Option<&Value>,
    enclosing: Option<&str>,
) -> (String, Option<String>) {
    if let Some((ns, _)) = name.rsplit_once('.') {
        return (name.to_owned(), Some(ns.to_owned()));
    }
    let ns = match namespace {
        Some(Value::String(ns)) => (!ns.is_empty()).then(|| ns.clone()),
        _ => enclosing.map(str::to_owned),
    };
    match ns {
        Some(ns) => (format!("{ns}.{name}"), Some(ns)),
        None => (name.to_owned(), None),
    }
}

struct Writer<'a> {
    named: &'a NamedTypes,
    seen: HashSet<String>,
    out: &'a mut String,
}

impl Writer<'_> {
    #[expect(clippy::expect_used, reason = "a string serializes")]
    fn string(&mut self, s: &str) {
        self.out
            .push_str(&serde_json::to_string(s).expect("a string serializes"));
    }

    fn schema(&mut self, schema: &Value, ns: Option<&str>) -> Result<(), CanonicalError> {
        match schema {
            Value::String(name) => self.named_or_primitive(name, ns),
            Value::Array(branches) => {
                self.out.push('[');
                for (i, branch) in branches.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.schema(branch, ns)?;
                }
                self.out.push(']');
                Ok(())
            }
            Value::Object(obj) => {
                let ty = obj
                    .get("type")
                    .ok_or(CanonicalError::Missing("schema", "type"))?;
                let kind = match ty {
                    Value::String(kind) => kind.as_str(),
                    // `{"type": {...}}` or `{"type": [...]}`: the attributes around it
                    // matter for nothing.
                    nested => return self.schema(nested, ns),
                };
                match kind {
                    "record" | "error" => self.record(obj, ns),
                    "enum" => self.enumeration(obj, ns),
                    "fixed" => self.fixed(obj, ns),
                    "array" => {
                        let items = obj
                            .get("items")
                            .ok_or(CanonicalError::Missing("array", "items"))?;
                        self.out.push_str(r#"{"type":"array","items":"#);
                        self.schema(items, ns)?;
                        self.out.push('}');
                        Ok(())
                    }
                    "map" => {
                        let values = obj
                            .get("values")
                            .ok_or(CanonicalError::Missing("map", "values"))?;
                        self.out.push_str(r#"{"type":"map","values":"#);
                        self.schema(values, ns)?;
                        self.out.push('}');
                        Ok(())
                    }
                    // A primitive, perhaps with a logical type: its simple form.
                    other => self.named_or_primitive(other, ns),
                }
            }
            other => Err(CanonicalError::NotASchema(other.to_string())),
        }
    }

    fn named_or_primitive(&mut self, name: &str, ns: Option<&str>) -> Result<(), CanonicalError> {
        if PRIMITIVES.contains(&name) {
            self.string(name);
            return Ok(());
        }
        let (full, _) = full_name(name, None, ns);
        let full = if self.seen.contains(&full) || self.named.defs.contains_key(&full) {
            full
        } else {
            // A dotless name outside the enclosing namespace.
            name.to_owned()
        };
        self.reference(&full)
    }

    /// A named type: its full name if already written, its definition otherwise.
    fn reference(&mut self, full: &str) -> Result<(), CanonicalError> {
        if self.seen.contains(full) {
            self.string(full);
            return Ok(());
        }
        let (def, def_ns) = self
            .named
            .defs
            .get(full)
            .ok_or_else(|| CanonicalError::UnknownType(full.to_owned()))?;
        self.schema(def, def_ns.as_deref())
    }

    /// Writes `{"name":"<full name>","type":"<kind>"` and marks the name seen;
    /// returns the namespace nested types inherit.
    fn named_head(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        kind: &'static str,
        ns: Option<&str>,
    ) -> Result<Option<String>, CanonicalError> {
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or(CanonicalError::Missing(kind, "name"))?;
        let (full, inner_ns) = full_name(name, obj.get("namespace"), ns);
        self.out.push_str(r#"{"name":"#);
        self.string(&full);
        self.out.push_str(r#","type":"#);
        self.string(kind);
        self.seen.insert(full);
        Ok(inner_ns)
    }

    fn record(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        ns: Option<&str>,
    ) -> Result<(), CanonicalError> {
        let kind = if obj.get("type").and_then(Value::as_str) == Some("error") {
            "error"
        } else {
            "record"
        };
        let inner_ns = self.named_head(obj, kind, ns)?;
        let fields = obj
            .get("fields")
            .and_then(Value::as_array)
            .ok_or(CanonicalError::Missing("record", "fields"))?;
        self.out.push_str(r#","fields":["#);
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let name = field
                .get("name")
                .and_then(Value::as_str)
                .ok_or(CanonicalError::Missing("field", "name"))?;
            let ty = field
                .get("type")
                .ok_or(CanonicalError::Missing("field", "type"))?;
            self.out.push_str(r#"{"name":"#);
            self.string(name);
            self.out.push_str(r#","type":"#);
            self.schema(ty, inner_ns.as_deref())?;
            self.out.push('}');
        }
        self.out.push_str("]}");
        Ok(())
    }

    fn enumeration(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        ns: Option<&str>,
    ) -> Result<(), CanonicalError> {
        self.named_head(obj, "enum", ns)?;
        let symbols = obj
            .get("symbols")
            .and_then(Value::as_array)
            .ok_or(CanonicalError::Missing("enum", "symbols"))?;
        self.out.push_str(r#","symbols":["#);
        for (i, symbol) in symbols.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.string(symbol.as_str().unwrap_or_default());
        }
        self.out.push_str("]}");
        Ok(())
    }

    fn fixed(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        ns: Option<&str>,
    ) -> Result<(), CanonicalError> {
        self.named_head(obj, "fixed", ns)?;
        let size = match obj.get("size") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim_start_matches('0').parse().ok().or(Some(0)),
            _ => None,
        }
        .ok_or(CanonicalError::Missing("fixed", "size"))?;
        self.out.push_str(&format!(r#","size":{size}}}"#));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The Parsing Canonical Form of a self-contained schema.
    fn canonical_form(schema: &Value) -> Result<String, CanonicalError> {
        let named = NamedTypes::default();
        let mut out = String::new();
        Writer {
            named: &named,
            seen: HashSet::new(),
            out: &mut out,
        }
        .schema(schema, None)?;
        Ok(out)
    }

    #[test]
    fn primitives_and_logical_types_take_their_simple_form() {
        assert_eq!(canonical_form(&json!("int")).unwrap(), r#""int""#);
        assert_eq!(canonical_form(&json!({"type": "int"})).unwrap(), r#""int""#);
        assert_eq!(
            canonical_form(&json!({"type": "long", "logicalType": "timestamp-micros"})).unwrap(),
            r#""long""#
        );
        assert_eq!(
            canonical_form(&json!({"type": "string", "logicalType": "uuid"})).unwrap(),
            r#""string""#
        );
    }

    #[test]
    fn names_are_full_attributes_stripped_and_ordered() {
        let schema = json!({
            "doc": "ignored",
            "fields": [
                {"type": {"type": "enum", "symbols": ["A", "B"], "name": "Kind", "aliases": ["K"]},
                 "name": "kind", "default": "A", "doc": "x"},
                {"name": "again", "type": "Kind"},
                {"name": "digest", "type": {"type": "fixed", "size": 16, "name": "other.Md5"}},
                {"name": "tags", "type": {"type": "map", "values": {"type": "array", "items": "string"}}},
                {"name": "when", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]}
            ],
            "name": "Thing",
            "namespace": "plinth.test",
            "type": "record"
        });
        assert_eq!(
            canonical_form(&schema).unwrap(),
            concat!(
                r#"{"name":"plinth.test.Thing","type":"record","fields":["#,
                r#"{"name":"kind","type":{"name":"plinth.test.Kind","type":"enum","symbols":["A","B"]}},"#,
                r#"{"name":"again","type":"plinth.test.Kind"},"#,
                r#"{"name":"digest","type":{"name":"other.Md5","type":"fixed","size":16}},"#,
                r#"{"name":"tags","type":{"type":"map","values":{"type":"array","items":"string"}}},"#,
                r#"{"name":"when","type":["null","long"]}]}"#
            )
        );
    }

    #[test]
    fn a_type_from_another_file_is_written_out_where_it_first_appears() {
        let mut named = NamedTypes::default();
        named.add(&json!({"type": "enum", "name": "Outcome", "namespace": "a", "symbols": ["OK"]}));
        named.add(
            &json!({"type": "record", "name": "Event", "namespace": "a", "fields": [
                {"name": "first", "type": "Outcome"},
                {"name": "second", "type": "a.Outcome"}
            ]}),
        );
        assert_eq!(
            named.canonical_form("a.Event").unwrap(),
            r#"{"name":"a.Event","type":"record","fields":[{"name":"first","type":{"name":"a.Outcome","type":"enum","symbols":["OK"]}},{"name":"second","type":"a.Outcome"}]}"#
        );
    }

    #[test]
    fn fingerprints_are_the_specifications() {
        // CRC-64-AVRO of `"int"` is 0x7275d51a3f395c8f (the specification's table),
        // written little-endian.
        assert_eq!(
            fingerprint(r#""int""#),
            0x7275_d51a_3f39_5c8f_u64.to_le_bytes()
        );
    }
}
