//! The effective policy of a tenant (and module): the published records of the
//! four scopes merged so that every record can only tighten — deny lists add
//! up, allow lists narrow, the smaller ceiling and budget win, content is sent
//! only when no record forbids it, the stricter gate and over-budget action
//! win. Merging is order-free; provenance names, for every field a record set,
//! the records whose setting the result is.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::rules::{Gate, OverBudget, Rules};

/// A record's scope, in the order records are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Level {
    Platform,
    Tenant,
    Module,
    TenantModule,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Platform => "platform",
            Level::Tenant => "tenant",
            Level::Module => "module",
            Level::TenantModule => "tenant_module",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        [
            Level::Platform,
            Level::Tenant,
            Level::Module,
            Level::TenantModule,
        ]
        .into_iter()
        .find(|l| l.as_str() == text)
    }
}

/// A published record version, as the merge takes it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub record_id: &'a str,
    pub version: u32,
    pub level: Level,
    pub rules: &'a Rules,
}

/// A record version that decided a field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decided {
    pub record_id: String,
    pub version: u32,
    pub level: Level,
}

impl std::fmt::Display for Decided {
    /// `pol_… v3`, as a refusal names it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.record_id, self.version)
    }
}

impl Decided {
    fn of(source: &Source<'_>) -> Decided {
        Decided {
            record_id: source.record_id.to_owned(),
            version: source.version,
            level: source.level,
        }
    }
}

/// A tenant's (or a tenant's module's) policy in force. A field no record
/// sets restricts nothing: no allow list (anything), no ceiling, content may
/// be sent, gate `L0`. The platform's baseline record sets what a deployment
/// starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Effective {
    /// Null: every provider kind.
    pub allow_kinds: Option<BTreeSet<String>>,
    pub deny_kinds: BTreeSet<String>,
    /// Null: every model.
    pub allow_models: Option<BTreeSet<String>>,
    pub deny_models: BTreeSet<String>,
    /// Whether content may be sent to a provider.
    pub send_content: bool,
    /// Whether content sent must be redacted first.
    pub redaction_required: bool,
    pub per_request_ceiling: Option<u64>,
    pub monthly_budget: Option<u64>,
    pub over_budget: OverBudget,
    /// The gate of each action class a record names.
    pub gates: BTreeMap<String, Gate>,
    /// The gate of every other action class.
    pub default_gate: Gate,
    /// Null: every connector.
    pub connectors: Option<BTreeSet<String>>,
    /// Null: every role's health results (the service's gate still asks
    /// for a role that may submit them).
    pub health_submitters: Option<BTreeSet<String>>,
    pub health_max_age_seconds: Option<u64>,
    /// For every field a record set (`tokens.monthly_budget`,
    /// `gates.ticket_update`, …): the records whose setting it is.
    pub provenance: BTreeMap<String, Vec<Decided>>,
}

impl Default for Effective {
    fn default() -> Self {
        Effective {
            allow_kinds: None,
            deny_kinds: BTreeSet::new(),
            allow_models: None,
            deny_models: BTreeSet::new(),
            send_content: true,
            redaction_required: false,
            per_request_ceiling: None,
            monthly_budget: None,
            over_budget: OverBudget::RequireApproval,
            gates: BTreeMap::new(),
            default_gate: Gate::L0,
            connectors: None,
            health_submitters: None,
            health_max_age_seconds: None,
            provenance: BTreeMap::new(),
        }
    }
}

impl Effective {
    /// The gate of `class`.
    pub fn gate(&self, class: &str) -> Gate {
        self.gates.get(class).copied().unwrap_or(self.default_gate)
    }

    /// The field path deciding the gate of `class`.
    pub fn gate_field(&self, class: &str) -> String {
        if self.gates.contains_key(class) {
            format!("gates.{class}")
        } else {
            "default_gate".to_owned()
        }
    }

    /// Who decided `field`; empty when no record restricts it.
    pub fn decided_by(&self, field: &str) -> &[Decided] {
        self.provenance.get(field).map_or(&[], Vec::as_slice)
    }
}

/// One field's candidates: each record's setting of it.
struct Field<'s, 'a, T> {
    set: Vec<(&'s Source<'a>, T)>,
}

impl<'s, 'a, T: Clone + PartialEq> Field<'s, 'a, T> {
    fn collect(sources: &'s [Source<'a>], pick: impl Fn(&Rules) -> Option<T>) -> Self {
        Field {
            set: sources
                .iter()
                .filter_map(|s| pick(s.rules).map(|v| (s, v)))
                .collect(),
        }
    }

    /// The strictest setting (by `stricter`), with the records that set it.
    fn strictest(
        &self,
        path: &str,
        stricter: impl Fn(&T, &T) -> bool,
        provenance: &mut BTreeMap<String, Vec<Decided>>,
    ) -> Option<T> {
        let mut best: Option<&T> = None;
        for (_, value) in &self.set {
            if best.is_none_or(|b| stricter(value, b)) {
                best = Some(value);
            }
        }
        let best = best?.clone();
        let winners = self
            .set
            .iter()
            .filter(|(_, v)| *v == best)
            .map(|(s, _)| Decided::of(s))
            .collect();
        provenance.insert(path.to_owned(), winners);
        Some(best)
    }

    /// Every setting combined by `combine`, each record that set one named.
    fn combined(
        &self,
        path: &str,
        combine: impl Fn(T, &T) -> T,
        provenance: &mut BTreeMap<String, Vec<Decided>>,
    ) -> Option<T> {
        let mut all = self.set.iter();
        let (_, first) = all.next()?;
        let value = all.fold(first.clone(), |acc, (_, v)| combine(acc, v));
        provenance.insert(
            path.to_owned(),
            self.set.iter().map(|(s, _)| Decided::of(s)).collect(),
        );
        Some(value)
    }
}

fn intersect(a: BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    a.intersection(b).cloned().collect()
}

fn union(a: BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    a.union(b).cloned().collect()
}

/// Merges the published record versions `sources` (any order) into the
/// effective policy.
pub fn effective(sources: &[Source<'_>]) -> Effective {
    let mut sorted = sources.to_vec();
    sorted.sort_by(|a, b| (a.level, a.record_id).cmp(&(b.level, b.record_id)));
    let sources = sorted.as_slice();
    let mut p = BTreeMap::new();
    let providers = |r: &Rules| r.providers.clone();
    let non_empty = |set: BTreeSet<String>| (!set.is_empty()).then_some(set);
    let mut out = Effective {
        allow_kinds: Field::collect(sources, |r| providers(r)?.allow_kinds).combined(
            "providers.allow_kinds",
            intersect,
            &mut p,
        ),
        deny_kinds: Field::collect(sources, |r| non_empty(providers(r)?.deny_kinds))
            .combined("providers.deny_kinds", union, &mut p)
            .unwrap_or_default(),
        allow_models: Field::collect(sources, |r| providers(r)?.allow_models).combined(
            "providers.allow_models",
            intersect,
            &mut p,
        ),
        deny_models: Field::collect(sources, |r| non_empty(providers(r)?.deny_models))
            .combined("providers.deny_models", union, &mut p)
            .unwrap_or_default(),
        send_content: Field::collect(sources, |r| r.content.as_ref()?.send_to_provider)
            .strictest("content.send_to_provider", |a, b| !a & b, &mut p)
            .unwrap_or(true),
        redaction_required: Field::collect(sources, |r| r.content.as_ref()?.redaction_required)
            .strictest("content.redaction_required", |a, b| a & !b, &mut p)
            .unwrap_or(false),
        per_request_ceiling: Field::collect(sources, |r| r.tokens.as_ref()?.per_request_ceiling)
            .strictest("tokens.per_request_ceiling", |a, b| a < b, &mut p),
        monthly_budget: Field::collect(sources, |r| r.tokens.as_ref()?.monthly_budget).strictest(
            "tokens.monthly_budget",
            |a, b| a < b,
            &mut p,
        ),
        over_budget: Field::collect(sources, |r| r.tokens.as_ref()?.over_budget)
            .strictest("tokens.over_budget", |a, b| a > b, &mut p)
            .unwrap_or(OverBudget::RequireApproval),
        gates: BTreeMap::new(),
        default_gate: Field::collect(sources, |r| r.default_gate)
            .strictest("default_gate", |a, b| a > b, &mut p)
            .unwrap_or(Gate::L0),
        connectors: Field::collect(sources, |r| r.connectors.as_ref()?.allow.clone()).combined(
            "connectors.allow",
            intersect,
            &mut p,
        ),
        health_submitters: Field::collect(sources, |r| r.health.as_ref()?.submitters.clone())
            .combined("health.submitters", intersect, &mut p),
        health_max_age_seconds: Field::collect(sources, |r| r.health.as_ref()?.max_age_seconds)
            .strictest("health.max_age_seconds", |a, b| a < b, &mut p),
        provenance: BTreeMap::new(),
    };
    // A class a record names is at least that record's gate for it, and at
    // least every other record's default.
    let classes: BTreeSet<&String> = sources.iter().flat_map(|s| s.rules.gates.keys()).collect();
    for class in classes {
        let gate = Field::collect(sources, |r| r.gates.get(class).copied().or(r.default_gate))
            .strictest(&format!("gates.{class}"), |a, b| a > b, &mut p);
        if let Some(gate) = gate {
            out.gates.insert(class.clone(), gate);
        }
    }
    out.provenance = p;
    out
}

/// A published record version as another service keeps it from the policy
/// service's events (`plinth.policy.record_published`): its rules as JSON.
#[derive(Debug, Clone, Copy)]
pub struct Kept<'a> {
    pub record_id: &'a str,
    pub version: i32,
    /// `platform`, `tenant`, `module` or `tenant_module`.
    pub level: &'a str,
    pub rules: &'a serde_json::Value,
}

/// The effective policy the kept records make; none when none of them reads
/// (no record known, or none in a form this version understands).
pub fn effective_of_kept<'a>(kept: impl IntoIterator<Item = Kept<'a>>) -> Option<Effective> {
    let read: Vec<(Kept<'a>, Rules)> = kept
        .into_iter()
        .filter_map(|k| Some((k, serde_json::from_value(k.rules.clone()).ok()?)))
        .collect();
    let sources: Vec<Source<'_>> = read
        .iter()
        .filter_map(|(k, rules)| {
            Some(Source {
                record_id: k.record_id,
                version: u32::try_from(k.version).ok()?,
                level: Level::parse(k.level)?,
                rules,
            })
        })
        .collect();
    (!sources.is_empty()).then(|| effective(&sources))
}
