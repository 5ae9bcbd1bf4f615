//! JSON documents as the services take them — packs, playbooks, module
//! manifests: every problem found is an [`Issue`] at a JSON pointer into the
//! submitted document, with a stable code and a message for the person who wrote
//! it; a JSON Schema's findings become such issues ([`schema_issues`]); and a
//! document's identity is the checksum of its canonical JSON ([`checksum`]).

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

/// One problem with a document: where (a JSON pointer into the submitted
/// document), what (a stable snake_case code), and a message for the person who
/// wrote it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct Issue {
    #[schema(example = "/classification/rules/0/when/all/0/field")]
    pub pointer: String,
    #[schema(example = "unknown_field")]
    pub code: String,
    pub message: String,
}

impl Issue {
    pub fn new(pointer: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Issue {
            pointer: pointer.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// `base` with `segment` appended as a JSON pointer segment (RFC 6901 escaping).
pub fn pointer(base: &str, segment: impl std::fmt::Display) -> String {
    let segment = segment.to_string().replace('~', "~0").replace('/', "~1");
    format!("{base}/{segment}")
}

/// SHA-256 of the RFC 8785 canonical JSON of `value`, hex: the identity of a
/// document's content whatever its key order or whitespace.
#[expect(clippy::expect_used, reason = "JSON values serialize")]
pub fn checksum(value: &Value) -> String {
    let canonical = serde_json_canonicalizer::to_vec(value).expect("JSON values serialize");
    hex(&Sha256::digest(canonical))
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Whether `digest` is an OCI content digest by SHA-256: `sha256:` and 64
/// lower-case hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What `validator` says of `doc`, as issues, sorted: a missing field at the
/// pointer it is missing from, an unsupported key at the key itself, anything
/// else where the schema found it.
pub fn schema_issues(validator: &Validator, doc: &Value) -> Vec<Issue> {
    // Most documents are valid: asking yes or no is several times cheaper than
    // collecting every error.
    if validator.is_valid(doc) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for error in validator.iter_errors(doc) {
        let at = error.instance_path().as_str().to_owned();
        match error.kind() {
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                found.push(Issue::new(
                    pointer(&at, name),
                    "required",
                    format!("`{name}` is required"),
                ));
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    found.push(Issue::new(
                        pointer(&at, key),
                        "unsupported_key",
                        format!("`{key}` is not a key the format supports here"),
                    ));
                }
            }
            kind => {
                let code = match kind {
                    ValidationErrorKind::Type { .. } => "wrong_type",
                    ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => {
                        "not_allowed"
                    }
                    ValidationErrorKind::Pattern { .. } => "bad_format",
                    ValidationErrorKind::MinLength { .. }
                    | ValidationErrorKind::MaxLength { .. }
                    | ValidationErrorKind::MinItems { .. }
                    | ValidationErrorKind::MaxItems { .. }
                    | ValidationErrorKind::MinProperties { .. }
                    | ValidationErrorKind::MaxProperties { .. } => "out_of_bounds",
                    _ => "invalid",
                };
                found.push(Issue::new(at, code, error.to_string()));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_digest_is_sha256_and_64_lower_case_hex_digits() {
        let hex = "a".repeat(64);
        assert!(is_sha256_digest(&format!("sha256:{hex}")));
        for bad in [
            hex.clone(),
            format!("sha512:{hex}"),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}g", "a".repeat(63)),
        ] {
            assert!(!is_sha256_digest(&bad), "{bad}");
        }
    }

    #[test]
    fn pointers_escape_their_segments() {
        assert_eq!(pointer("/a", "b/c~d"), "/a/b~1c~0d");
        assert_eq!(pointer("", 3), "/3");
    }

    #[test]
    fn the_checksum_ignores_key_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1, 2]}"#).unwrap();
        assert_eq!(checksum(&a), checksum(&json!({"a": [1, 2], "b": 1})));
        assert_ne!(checksum(&a), checksum(&json!({"a": [2, 1], "b": 1})));
    }

    #[test]
    fn a_schema_names_each_problem_where_it_is() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["id", "size"],
            "properties": {
                "id": { "type": "string", "pattern": "^[a-z]+$" },
                "size": { "type": "integer" }
            }
        });
        let validator = jsonschema::options().build(&schema).unwrap();
        let found = schema_issues(&validator, &json!({ "id": "A1", "extra": true }));
        let at: Vec<(&str, &str)> = found
            .iter()
            .map(|i| (i.pointer.as_str(), i.code.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                ("/extra", "unsupported_key"),
                ("/id", "bad_format"),
                ("/size", "required")
            ]
        );
        assert!(schema_issues(&validator, &json!({ "id": "a", "size": 1 })).is_empty());
    }
}
