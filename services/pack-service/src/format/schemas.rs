//! The JSON Schemas of `schemas/json/`, compiled once, and their findings as
//! [`Issue`]s: a missing field at the pointer it is missing from, an unsupported
//! key at the key itself.

use std::sync::LazyLock;

use jsonschema::{Registry, Validator};
use serde_json::Value;

use super::Issue;

pub const DOMAIN_PACK: &str = include_str!("../../../../schemas/json/domain-pack.schema.json");
pub const TENANT_PACK: &str = include_str!("../../../../schemas/json/tenant-pack.schema.json");
pub const PLAYBOOK: &str = include_str!("../../../../schemas/json/playbook.schema.json");

/// The three validators.
struct Validators {
    domain: Validator,
    tenant: Validator,
    playbook: Validator,
}

#[expect(clippy::expect_used, reason = "the schemas parse")]
static VALIDATORS: LazyLock<Validators> = LazyLock::new(|| {
    let parse = |text: &str| -> Value { serde_json::from_str(text).expect("the schemas parse") };
    let domain = parse(DOMAIN_PACK);
    let id = domain["$id"]
        .as_str()
        .expect("the domain schema has an $id")
        .to_owned();
    let registry = Registry::new()
        .add(&id, domain.clone())
        .and_then(|r| r.prepare())
        .expect("the domain schema registers");
    let build = |schema: &Value| {
        jsonschema::options()
            .offline()
            .with_registry(&registry)
            .build(schema)
            .expect("the schemas compile")
    };
    Validators {
        domain: build(&domain),
        tenant: build(&parse(TENANT_PACK)),
        playbook: build(&parse(PLAYBOOK)),
    }
});

/// What the Domain Pack schema says of `doc`.
pub fn domain_pack(doc: &Value) -> Vec<Issue> {
    issues(&VALIDATORS.domain, doc)
}

/// What the Tenant Pack schema says of `doc`.
pub fn tenant_pack(doc: &Value) -> Vec<Issue> {
    issues(&VALIDATORS.tenant, doc)
}

/// What the playbook schema says of `doc`.
pub fn playbook(doc: &Value) -> Vec<Issue> {
    issues(&VALIDATORS.playbook, doc)
}

fn issues(validator: &Validator, doc: &Value) -> Vec<Issue> {
    plinth_documents::schema_issues(validator, doc)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn missing_fields_and_unsupported_keys_are_named_where_they_are() {
        let found = domain_pack(&json!({
            "kind": "DomainPack", "domain": "finance", "version": "1.0.0",
            "entities": { "ticket": { "fields": { "subject": { "type": "string" } } } },
            "classification": {
                "entity": "ticket", "rules": [],
                "default": { "category": "general", "priority": "P9", "queue": "q" }
            },
            "colour": "blue"
        }));
        let at: Vec<(&str, &str)> = found
            .iter()
            .map(|i| (i.pointer.as_str(), i.code.as_str()))
            .collect();
        assert!(at.contains(&("/name", "required")), "{found:?}");
        assert!(at.contains(&("/colour", "unsupported_key")), "{found:?}");
        assert!(
            at.contains(&("/classification/default/priority", "not_allowed")),
            "{found:?}"
        );
    }

    #[test]
    fn a_tenant_pack_uses_the_domain_packs_definitions() {
        let found = tenant_pack(&json!({
            "kind": "TenantPack", "version": "1.0", "domain": "finance",
            "domain_versions": "^1"
        }));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/version");
        assert_eq!(found[0].code, "bad_format");
    }
}
