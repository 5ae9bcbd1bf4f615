//! Classification: a ticket's fields against the rules of a tenant's effective
//! configuration — the tenant's own rules first, then the domain's, in order; the
//! first whose tests hold decides, else the default.
//!
//! Strings compare without regard to case. On a `string[]` field, `equals`,
//! `contains` and `in` ask whether the list holds the value (any of the values,
//! for `in`). A field the ticket lacks fails every test but `not_equals` and
//! `not_contains`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::format::{Entity, FieldType, Op, Outcome, Rule, Test};

/// Where the deciding rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    Tenant,
    Domain,
    Default,
}

impl RuleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSource::Tenant => "tenant",
            RuleSource::Domain => "domain",
            RuleSource::Default => "default",
        }
    }
}

/// What classifying a ticket decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision<'a> {
    /// The rule that fired; `None` when the default applied.
    pub rule: Option<&'a str>,
    pub source: RuleSource,
    pub outcome: &'a Outcome,
}

/// A ticket that does not fit the entity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TicketError {
    /// The offending field's name.
    pub field: String,
    pub message: String,
}

/// A field value, ready for tests.
#[derive(Debug)]
enum Prepared {
    Text(String),
    Number(f64),
    Flag(bool),
    List(Vec<String>),
}

/// A value a test compares with.
#[derive(Debug, Clone)]
enum Needle {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl Needle {
    fn of(value: &Value) -> Option<Needle> {
        match value {
            Value::String(s) => Some(Needle::Text(s.to_lowercase())),
            Value::Number(n) => n.as_f64().map(Needle::Number),
            Value::Bool(b) => Some(Needle::Flag(*b)),
            _ => None,
        }
    }

    fn matches(&self, value: &Prepared) -> bool {
        match (self, value) {
            (Needle::Text(n), Prepared::Text(v)) => n == v,
            (Needle::Text(n), Prepared::List(items)) => items.iter().any(|i| i == n),
            (Needle::Number(n), Prepared::Number(v)) => n == v,
            (Needle::Flag(n), Prepared::Flag(v)) => n == v,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
enum Check {
    Exists,
    Equals(Needle),
    NotEquals(Needle),
    Contains(String),
    NotContains(String),
    StartsWith(String),
    In(Vec<Needle>),
    Compare(Op, f64),
}

#[derive(Debug, Clone)]
struct Compiled {
    field: String,
    check: Check,
}

impl Compiled {
    fn new(test: &Test) -> Compiled {
        let needle = || test.value.as_ref().and_then(Needle::of);
        let text = || {
            test.value
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_lowercase()
        };
        // The checks admitted only well-typed tests; a test that still does not
        // fit compares with nothing and fails.
        let never = || Check::In(Vec::new());
        let check = match test.op {
            Op::Exists => Check::Exists,
            Op::Equals => needle().map_or_else(never, Check::Equals),
            Op::NotEquals => needle().map_or_else(never, Check::NotEquals),
            Op::Contains => Check::Contains(text()),
            Op::NotContains => Check::NotContains(text()),
            Op::StartsWith => Check::StartsWith(text()),
            Op::In => Check::In(
                test.value
                    .as_ref()
                    .and_then(Value::as_array)
                    .map(|items| items.iter().filter_map(Needle::of).collect())
                    .unwrap_or_default(),
            ),
            op @ (Op::Gt | Op::Gte | Op::Lt | Op::Lte) => test
                .value
                .as_ref()
                .and_then(Value::as_f64)
                .map_or_else(never, |n| Check::Compare(op, n)),
        };
        Compiled {
            field: test.field.clone(),
            check,
        }
    }

    fn holds(&self, ticket: &BTreeMap<&str, Prepared>) -> bool {
        let Some(value) = ticket.get(self.field.as_str()) else {
            return matches!(self.check, Check::NotEquals(_) | Check::NotContains(_));
        };
        match &self.check {
            Check::Exists => true,
            Check::Equals(n) => n.matches(value),
            Check::NotEquals(n) => !n.matches(value),
            Check::Contains(s) => contains(value, s),
            Check::NotContains(s) => !contains(value, s),
            Check::StartsWith(s) => matches!(value, Prepared::Text(v) if v.starts_with(s.as_str())),
            Check::In(needles) => needles.iter().any(|n| n.matches(value)),
            Check::Compare(op, n) => match value {
                Prepared::Number(v) => match op {
                    Op::Gt => v > n,
                    Op::Gte => v >= n,
                    Op::Lt => v < n,
                    _ => v <= n,
                },
                _ => false,
            },
        }
    }
}

fn contains(value: &Prepared, needle: &str) -> bool {
    match value {
        Prepared::Text(v) => v.contains(needle),
        Prepared::List(items) => items.iter().any(|i| i == needle),
        _ => false,
    }
}

#[derive(Debug, Clone)]
struct CompiledRule {
    id: String,
    source: RuleSource,
    all: Vec<Compiled>,
    any: Vec<Compiled>,
    then: Outcome,
}

/// A tenant's rules, compiled for its entity.
#[derive(Debug, Clone)]
pub struct Classifier {
    fields: BTreeMap<String, FieldType>,
    rules: Vec<CompiledRule>,
    default: Outcome,
}

impl Classifier {
    /// The tenant's rules (tried first), then the domain's, then `default`.
    pub fn new(entity: &Entity, tenant: &[Rule], domain: &[Rule], default: &Outcome) -> Self {
        let compile = |source| {
            move |rule: &Rule| CompiledRule {
                id: rule.id.clone(),
                source,
                all: rule.when.all.iter().map(Compiled::new).collect(),
                any: rule.when.any.iter().map(Compiled::new).collect(),
                then: rule.then.clone(),
            }
        };
        Classifier {
            fields: entity
                .fields
                .iter()
                .map(|(name, field)| (name.clone(), field.ty))
                .collect(),
            rules: tenant
                .iter()
                .map(compile(RuleSource::Tenant))
                .chain(domain.iter().map(compile(RuleSource::Domain)))
                .collect(),
            default: default.clone(),
        }
    }

    /// Classifies a ticket given as its fields; a field the entity does not have,
    /// or a value of the wrong type, is refused.
    pub fn classify(&self, ticket: &Map<String, Value>) -> Result<Decision<'_>, TicketError> {
        let mut prepared = BTreeMap::new();
        for (name, value) in ticket {
            let Some(ty) = self.fields.get(name) else {
                return Err(TicketError {
                    field: name.clone(),
                    message: "the entity has no such field".to_owned(),
                });
            };
            if value.is_null() {
                continue;
            }
            let wrong = || TicketError {
                field: name.clone(),
                message: format!("expected a {}", ty.as_str()),
            };
            let value = match ty {
                FieldType::String => {
                    Prepared::Text(value.as_str().ok_or_else(wrong)?.to_lowercase())
                }
                FieldType::Number => Prepared::Number(value.as_f64().ok_or_else(wrong)?),
                FieldType::Boolean => Prepared::Flag(value.as_bool().ok_or_else(wrong)?),
                FieldType::StringList => Prepared::List(
                    value
                        .as_array()
                        .ok_or_else(wrong)?
                        .iter()
                        .map(|v| v.as_str().map(str::to_lowercase).ok_or_else(wrong))
                        .collect::<Result<_, _>>()?,
                ),
            };
            prepared.insert(name.as_str(), value);
        }
        for rule in &self.rules {
            if rule.all.iter().all(|t| t.holds(&prepared))
                && (rule.any.is_empty() || rule.any.iter().any(|t| t.holds(&prepared)))
            {
                return Ok(Decision {
                    rule: Some(&rule.id),
                    source: rule.source,
                    outcome: &rule.then,
                });
            }
        }
        Ok(Decision {
            rule: None,
            source: RuleSource::Default,
            outcome: &self.default,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn classifier() -> Classifier {
        let entity: Entity = serde_json::from_value(json!({ "fields": {
            "subject": { "type": "string" }, "amount": { "type": "number" },
            "urgent": { "type": "boolean" }, "tags": { "type": "string[]" }
        }}))
        .unwrap();
        let rules: Vec<Rule> = serde_json::from_value(json!([
            { "id": "big-dispute",
              "when": { "all": [
                  { "field": "subject", "op": "contains", "value": "Invoice" },
                  { "field": "amount", "op": "gte", "value": 10000 } ] },
              "then": { "category": "dispute", "priority": "P1", "queue": "senior" } },
            { "id": "dispute",
              "when": { "any": [
                  { "field": "subject", "op": "contains", "value": "invoice" },
                  { "field": "tags", "op": "in", "value": ["billing", "refund"] } ] },
              "then": { "category": "dispute", "priority": "P3", "queue": "ap" } }
        ]))
        .unwrap();
        let tenant: Vec<Rule> = serde_json::from_value(json!([
            { "id": "vip", "when": { "all": [ { "field": "urgent", "op": "equals", "value": true } ] },
              "then": { "category": "vip", "priority": "P1", "queue": "vip" } }
        ]))
        .unwrap();
        let default: Outcome = serde_json::from_value(
            json!({ "category": "general", "priority": "P4", "queue": "triage" }),
        )
        .unwrap();
        Classifier::new(&entity, &tenant, &rules, &default)
    }

    fn ticket(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_first_rule_that_holds_decides_tenant_rules_first() {
        let c = classifier();
        let d = c
            .classify(&ticket(
                json!({ "subject": "INVOICE 42 wrong", "amount": 12000 }),
            ))
            .unwrap();
        assert_eq!(
            (d.rule, d.source, d.outcome.priority.as_str()),
            (Some("big-dispute"), RuleSource::Domain, "P1")
        );
        let d = c
            .classify(&ticket(
                json!({ "subject": "invoice", "amount": 10, "urgent": true }),
            ))
            .unwrap();
        assert_eq!((d.rule, d.source), (Some("vip"), RuleSource::Tenant));
        let d = c.classify(&ticket(json!({ "tags": ["Refund"] }))).unwrap();
        assert_eq!(d.rule, Some("dispute"));
        let d = c
            .classify(&ticket(json!({ "subject": "password reset" })))
            .unwrap();
        assert_eq!(
            (d.rule, d.source, d.outcome.queue.as_str()),
            (None, RuleSource::Default, "triage")
        );
    }

    #[test]
    fn tickets_that_do_not_fit_the_entity_are_refused() {
        let c = classifier();
        assert_eq!(
            c.classify(&ticket(json!({ "colour": "red" })))
                .unwrap_err()
                .field,
            "colour"
        );
        assert_eq!(
            c.classify(&ticket(json!({ "amount": "12" })))
                .unwrap_err()
                .field,
            "amount"
        );
    }
}
