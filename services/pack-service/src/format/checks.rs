//! What the schemas cannot say: rules that name fields their entity has, with
//! operators and values that fit the fields' types; rule, tool and step ids used
//! once; tools the catalog knows; referenced playbooks that exist and fit the
//! pack; overrides only where the Domain Pack allows them, leaving a valid pack.

use std::collections::BTreeSet;

use serde_json::Value;

use super::merge;
use super::schemas;
use super::{
    DomainPackDoc, Entity, FieldType, Issue, Op, PlaybookDoc, Rule, TenantPackDoc, Test, pointer,
};
use crate::domain::{PackVersion, VersionRange};

/// The tools modules provide, by id.
pub type Catalog = BTreeSet<String>;

/// A published playbook version, as the checks need it.
#[derive(Debug, Clone)]
pub struct Published {
    pub version: PackVersion,
    pub doc: PlaybookDoc,
}

/// Pointers a Tenant Pack may never override: what identifies the pack.
const FIXED: [&str; 4] = ["/kind", "/domain", "/version", "/overridable"];

/// Checks a Domain Pack that passed its schema. `playbooks` holds the published
/// versions of the playbooks it names.
pub fn domain_pack(
    doc: &DomainPackDoc,
    raw: &Value,
    catalog: &Catalog,
    playbooks: &[(String, Vec<Published>)],
) -> Vec<Issue> {
    let mut found = Vec::new();
    let version = PackVersion::parse(&doc.version);
    if let Err(message) = &version {
        found.push(Issue::new("/version", "bad_version", message.clone()));
    }
    let entity = match doc.entities.get(&doc.classification.entity) {
        Some(entity) => Some(entity),
        None => {
            found.push(Issue::new(
                "/classification/entity",
                "unknown_entity",
                format!(
                    "the classification names entity `{}`, which the pack does not declare",
                    doc.classification.entity
                ),
            ));
            None
        }
    };
    if let Some(entity) = entity {
        let mut ids = BTreeSet::new();
        found.extend(rules(
            &doc.classification.rules,
            "/classification/rules",
            entity,
            &mut ids,
        ));
    }
    let mut tools = BTreeSet::new();
    for (i, tool) in doc.tools.iter().enumerate() {
        let at = pointer(&pointer("/tools", i), "id");
        if !tools.insert(tool.id.as_str()) {
            found.push(Issue::new(
                at,
                "duplicate_tool",
                format!("tool `{}` is listed twice", tool.id),
            ));
        } else if !catalog.contains(&tool.id) {
            found.push(Issue::new(
                at,
                "unknown_tool",
                format!("no module provides tool `{}`", tool.id),
            ));
        }
    }
    for (i, reference) in doc.playbooks.iter().enumerate() {
        let at = pointer("/playbooks", i);
        let range = match VersionRange::parse(&reference.versions) {
            Ok(range) => range,
            Err(message) => {
                found.push(Issue::new(
                    pointer(&at, "versions"),
                    "invalid_version_range",
                    message,
                ));
                continue;
            }
        };
        let newest = playbooks
            .iter()
            .filter(|(id, _)| *id == reference.id)
            .flat_map(|(_, versions)| versions)
            .filter(|p| range.admits(&p.version))
            .max_by(|a, b| a.version.cmp(&b.version));
        let Some(published) = newest else {
            found.push(Issue::new(
                pointer(&at, "id"),
                "playbook_not_found",
                format!(
                    "no published version of playbook `{}` is in {}",
                    reference.id, reference.versions
                ),
            ));
            continue;
        };
        if let Ok(version) = &version {
            for problem in playbook_fit(&published.doc, doc, version) {
                found.push(Issue::new(at.clone(), problem.code, problem.message));
            }
        }
    }
    for (i, path) in doc.overridable.iter().enumerate() {
        let at = pointer("/overridable", i);
        if FIXED
            .iter()
            .any(|f| path == f || path.starts_with(&format!("{f}/")))
        {
            found.push(Issue::new(
                at,
                "override_not_allowed_here",
                format!("`{path}` identifies the pack and cannot be overridable"),
            ));
        } else if raw.pointer(path).is_none() {
            found.push(Issue::new(
                at,
                "unknown_override_path",
                format!("`{path}` names nothing in the pack"),
            ));
        }
    }
    found
}

/// Checks rules against their entity; `ids` holds the rule ids already taken
/// (a tenant's rules may not reuse the domain's).
pub fn rules(
    rules: &[Rule],
    base: &str,
    entity: &Entity,
    ids: &mut BTreeSet<String>,
) -> Vec<Issue> {
    let mut found = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        // Pointers are written only for a problem: a valid pack of thousands of
        // rules builds none.
        let at = || pointer(base, i);
        if !ids.insert(rule.id.clone()) {
            found.push(Issue::new(
                pointer(&at(), "id"),
                "duplicate_rule_id",
                format!("rule id `{}` is used more than once", rule.id),
            ));
        }
        for (list, tests) in [("all", &rule.when.all), ("any", &rule.when.any)] {
            for (j, t) in tests.iter().enumerate() {
                if let Some(problem) = test(t, entity) {
                    let at = pointer(&pointer(&pointer(&at(), "when"), list), j);
                    found.push(Issue::new(
                        pointer(&at, problem.key),
                        problem.code,
                        problem.message,
                    ));
                }
            }
        }
    }
    found
}

/// What is wrong with one test: the key of the test it is at, a code and a
/// message.
struct TestProblem {
    key: &'static str,
    code: &'static str,
    message: String,
}

fn test(t: &Test, entity: &Entity) -> Option<TestProblem> {
    let problem = |key, code, message| Some(TestProblem { key, code, message });
    let Some(field) = entity.fields.get(&t.field) else {
        return problem(
            "field",
            "unknown_field",
            format!("the entity has no field `{}`", t.field),
        );
    };
    let ty = field.ty;
    let fits = match t.op {
        Op::Exists => true,
        Op::Equals | Op::NotEquals | Op::In => true,
        Op::Contains | Op::NotContains => matches!(ty, FieldType::String | FieldType::StringList),
        Op::StartsWith => ty == FieldType::String,
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => ty == FieldType::Number,
    };
    if !fits {
        return problem(
            "op",
            "op_not_for_type",
            format!(
                "`{}` does not apply to `{}`, a {} field",
                t.op.as_str(),
                t.field,
                ty.as_str()
            ),
        );
    }
    match (t.op, &t.value) {
        (Op::Exists, None) => None,
        (Op::Exists, Some(_)) => problem(
            "value",
            "unsupported_key",
            "`exists` takes no value".to_owned(),
        ),
        (_, None) => problem(
            "value",
            "required",
            format!("`{}` needs a value", t.op.as_str()),
        ),
        (op, Some(value)) => {
            // What the value must be: a list of the field's values for `in`, a
            // single string for `contains` on a list, else a value of the field.
            let ok = match op {
                Op::In => value.as_array().is_some_and(|items| {
                    !items.is_empty() && items.iter().all(|v| scalar_of(ty, v))
                }),
                Op::Contains | Op::NotContains => value.is_string(),
                _ => scalar_of(ty, value),
            };
            if ok {
                None
            } else {
                problem(
                    "value",
                    "wrong_value_type",
                    format!(
                        "the value does not fit `{}` on `{}`, a {} field",
                        op.as_str(),
                        t.field,
                        ty.as_str()
                    ),
                )
            }
        }
    }
}

/// Whether `value` is one value of a field of type `ty` (a string, for a list).
fn scalar_of(ty: FieldType, value: &Value) -> bool {
    match ty {
        FieldType::StringList => value.is_string(),
        ty => ty.holds(value),
    }
}

/// A reason a playbook version does not fit a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub code: &'static str,
    pub message: String,
}

/// Why `playbook` does not fit the Domain Pack `pack` (as the tenant runs it,
/// overrides merged) at `version`: another domain, a version outside its range, a
/// tool the pack does not list, or a trigger category the pack never produces.
pub fn playbook_fit(
    playbook: &PlaybookDoc,
    pack: &DomainPackDoc,
    version: &PackVersion,
) -> Vec<Misfit> {
    let name = format!("playbook {} {}", playbook.id, playbook.version);
    let mut found = Vec::new();
    if playbook.domain != pack.domain {
        found.push(Misfit {
            code: "playbook_other_domain",
            message: format!(
                "{name} is for domain {}, not {}",
                playbook.domain, pack.domain
            ),
        });
        return found;
    }
    match VersionRange::parse(&playbook.domain_versions) {
        Ok(range) if !range.admits(version) => found.push(Misfit {
            code: "playbook_incompatible",
            message: format!(
                "{name} supports {} {}, not {version}",
                pack.domain, playbook.domain_versions
            ),
        }),
        Ok(_) => {}
        Err(message) => found.push(Misfit {
            code: "invalid_version_range",
            message,
        }),
    }
    let tools: BTreeSet<&str> = pack.tools.iter().map(|t| t.id.as_str()).collect();
    for step in &playbook.steps {
        if !tools.contains(step.tool.as_str()) {
            found.push(Misfit {
                code: "tool_not_declared",
                message: format!(
                    "{name} step `{}` calls `{}`, which the pack does not list",
                    step.id, step.tool
                ),
            });
        }
    }
    let produced = pack
        .classification
        .rules
        .iter()
        .map(|r| &r.then.category)
        .chain(std::iter::once(&pack.classification.default.category));
    if !produced
        .into_iter()
        .any(|c| *c == playbook.trigger.category)
    {
        found.push(Misfit {
            code: "trigger_unreachable",
            message: format!(
                "{name} starts on category `{}`, which no rule of the pack produces",
                playbook.trigger.category
            ),
        });
    }
    found
}

/// Checks a playbook version that passed its schema.
pub fn playbook(doc: &PlaybookDoc, catalog: &Catalog) -> Vec<Issue> {
    let mut found = Vec::new();
    if let Err(message) = PackVersion::parse(&doc.version) {
        found.push(Issue::new("/version", "bad_version", message));
    }
    if let Err(message) = VersionRange::parse(&doc.domain_versions) {
        found.push(Issue::new(
            "/domain_versions",
            "invalid_version_range",
            message,
        ));
    }
    let mut ids = BTreeSet::new();
    for (i, step) in doc.steps.iter().enumerate() {
        let at = pointer("/steps", i);
        if !ids.insert(step.id.as_str()) {
            found.push(Issue::new(
                pointer(&at, "id"),
                "duplicate_step_id",
                format!("step id `{}` is used more than once", step.id),
            ));
        }
        if !catalog.contains(&step.tool) {
            found.push(Issue::new(
                pointer(&at, "tool"),
                "unknown_tool",
                format!("no module provides tool `{}`", step.tool),
            ));
        }
    }
    found
}

/// Checks a Tenant Pack that passed its schema against one Domain Pack version it
/// targets: overrides only where allowed, a valid pack after merging them, and
/// the tenant's rules against the domain's entity. Each issue names the domain
/// version it concerns.
pub fn tenant_pack_against(
    doc: &TenantPackDoc,
    domain: &DomainPackDoc,
    domain_raw: &Value,
    domain_version: &PackVersion,
) -> Vec<Issue> {
    let against = format!("{} {domain_version}", domain.domain);
    let mut found = Vec::new();
    for leaf in merge::refused(&doc.overrides, &domain.overridable) {
        found.push(Issue::new(
            format!("/overrides{leaf}"),
            "override_not_allowed",
            format!("{against} does not allow overriding `{leaf}`"),
        ));
    }
    if !found.is_empty() {
        return found;
    }
    let merged = merge::merged(domain_raw, &doc.overrides);
    for issue in schemas::domain_pack(&merged) {
        found.push(Issue::new(
            format!("/overrides{}", issue.pointer),
            "override_breaks_pack",
            format!(
                "with these overrides, {against} is no longer valid: {}",
                issue.message
            ),
        ));
    }
    if !found.is_empty() {
        return found;
    }
    let Ok(effective) = serde_json::from_value::<DomainPackDoc>(merged) else {
        return vec![Issue::new(
            "/overrides",
            "override_breaks_pack",
            format!("with these overrides, {against} no longer reads as a pack"),
        )];
    };
    let Some(entity) = effective.entities.get(&effective.classification.entity) else {
        return vec![Issue::new(
            "/overrides",
            "override_breaks_pack",
            format!("with these overrides, {against} classifies an entity it does not declare"),
        )];
    };
    let mut ids: BTreeSet<String> = effective
        .classification
        .rules
        .iter()
        .map(|r| r.id.clone())
        .collect();
    for issue in rules(&doc.rules, "/rules", entity, &mut ids) {
        found.push(Issue::new(
            issue.pointer,
            &issue.code,
            format!("{} (against {against})", issue.message),
        ));
    }
    found
}
