//! The pack format: Domain Packs, Tenant Packs and playbooks as JSON documents
//! checked against the JSON Schemas in `schemas/json/` ([`schemas`]), read into
//! typed documents, and checked for what a schema cannot say ([`checks`]): rules
//! naming fields their entity has, tools the catalog knows, playbooks that exist
//! and fit, overrides only where the Domain Pack allows them ([`merge`]). Every
//! problem found is an [`Issue`] with a JSON pointer, a stable code and a message.

pub mod checks;
pub mod merge;
pub mod schemas;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use plinth_documents::{Issue, checksum, pointer};

/// Validates a submitted Domain Pack: its schema, and the checks on what the
/// schema admits, given the tool catalog and the published versions of the
/// playbooks it names. The typed pack when there is no problem.
///
/// The schema's findings come first: when it has any, they are the answer. The
/// schema and the reading and checking of the typed pack are independent, so
/// they run side by side (a pack of a megabyte takes about as long to check as
/// to read as JSON, and each half about as long as the other).
pub fn validate_domain_pack(
    content: &Value,
    catalog: &checks::Catalog,
    playbooks: &[(String, Vec<checks::Published>)],
) -> Result<DomainPackDoc, Vec<Issue>> {
    let (schema, typed) = rayon::join(
        || schemas::domain_pack(content),
        || {
            let doc = DomainPackDoc::deserialize(content)?;
            let issues = checks::domain_pack(&doc, content, catalog, playbooks);
            Ok::<_, serde_json::Error>((doc, issues))
        },
    );
    if !schema.is_empty() {
        return Err(schema);
    }
    match typed {
        Ok((doc, issues)) if issues.is_empty() => Ok(doc),
        Ok((_, issues)) => Err(issues),
        // The schema admits only what reads as a pack.
        Err(e) => Err(vec![Issue::new(
            "",
            "invalid",
            format!("the pack does not read: {e}"),
        )]),
    }
}

/// The playbooks a Domain Pack names, if it reads as one: what its checks need
/// loaded.
pub fn named_playbooks(content: &Value) -> Vec<String> {
    content["playbooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect()
}

/// A Domain Pack, as its schema admits it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DomainPackDoc {
    pub kind: String,
    pub domain: String,
    pub version: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub entities: BTreeMap<String, Entity>,
    pub classification: Classification,
    #[serde(default)]
    pub tools: Vec<Tool>,
    #[serde(default)]
    pub playbooks: Vec<PlaybookRef>,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub overridable: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Entity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Field {
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum FieldType {
    #[serde(rename = "string")]
    String,
    #[serde(rename = "number")]
    Number,
    #[serde(rename = "boolean")]
    Boolean,
    #[serde(rename = "string[]")]
    StringList,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::StringList => "string[]",
        }
    }

    /// Whether `value` is a value of this type.
    pub fn holds(self, value: &Value) -> bool {
        match self {
            FieldType::String => value.is_string(),
            FieldType::Number => value.is_number(),
            FieldType::Boolean => value.is_boolean(),
            FieldType::StringList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Classification {
    pub entity: String,
    pub rules: Vec<Rule>,
    pub default: Outcome,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub when: When,
    pub then: Outcome,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct When {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<Test>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<Test>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Test {
    pub field: String,
    pub op: Op,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    In,
    Gt,
    Gte,
    Lt,
    Lte,
    Exists,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Equals => "equals",
            Op::NotEquals => "not_equals",
            Op::Contains => "contains",
            Op::NotContains => "not_contains",
            Op::StartsWith => "starts_with",
            Op::In => "in",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Exists => "exists",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub struct Outcome {
    #[schema(example = "billing-dispute")]
    pub category: String,
    #[schema(example = "P2")]
    pub priority: String,
    #[schema(example = "ap-disputes")]
    pub queue: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Tool {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PlaybookRef {
    pub id: String,
    pub versions: String,
}

/// A Tenant Pack, as its schema admits it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TenantPackDoc {
    pub kind: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub domain: String,
    pub domain_versions: String,
    #[serde(default)]
    pub overrides: Map<String, Value>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A playbook version, as its schema admits it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PlaybookDoc {
    pub kind: String,
    pub id: String,
    pub version: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub domain: String,
    pub domain_versions: String,
    pub trigger: Trigger,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Trigger {
    pub category: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Step {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub tool: String,
    pub gate: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_checksum_ignores_key_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":[1,2],"b":1}"#).unwrap();
        assert_eq!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a), checksum(&json!({"a": [2, 1], "b": 1})));
        assert_eq!(checksum(&a).len(), 64);
    }

    #[test]
    fn pointer_segments_are_escaped() {
        assert_eq!(pointer("/settings", "a/b~c"), "/settings/a~1b~0c");
    }
}
