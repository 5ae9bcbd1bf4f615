//! The merge rules and decisions: examples of each rule with its provenance,
//! each gate level's outcome, the budget's edge, and properties over random
//! records — no tenant or module record ever loosens what the platform's
//! record sets, and a tighter policy never decides more leniently.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use plinth_policy::{
    Bundle, ContentRules, Decided, Effective, Gate, Level, Outcome, OverBudget, ProviderRules,
    Request, Rules, Source, TokenRules, Usage, decide, effective,
};
use proptest::prelude::*;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn platform() -> Rules {
    Rules {
        providers: Some(ProviderRules {
            allow_kinds: Some(set(&["openai", "azure_openai", "anthropic"])),
            deny_models: set(&["gpt-3.5-turbo"]),
            ..ProviderRules::default()
        }),
        content: Some(ContentRules {
            send_to_provider: Some(true),
            redaction_required: Some(true),
        }),
        tokens: Some(TokenRules {
            per_request_ceiling: Some(32_000),
            monthly_budget: Some(5_000_000),
            over_budget: Some(OverBudget::RequireApproval),
        }),
        gates: [("read", Gate::L0), ("ticket_update", Gate::L1)]
            .map(|(c, g)| (c.to_owned(), g))
            .into(),
        default_gate: Some(Gate::L2),
        ..Rules::default()
    }
}

fn source<'a>(id: &'a str, level: Level, rules: &'a Rules) -> Source<'a> {
    Source {
        record_id: id,
        version: 1,
        level,
        rules,
    }
}

fn by(id: &str, level: Level) -> Decided {
    Decided {
        record_id: id.to_owned(),
        version: 1,
        level,
    }
}

#[test]
fn a_tenant_record_tightens_and_provenance_names_who_decided_each_field() {
    let base = platform();
    let tenant = Rules {
        providers: Some(ProviderRules {
            allow_kinds: Some(set(&["anthropic", "openai", "mistral"])),
            deny_kinds: set(&["openai"]),
            ..ProviderRules::default()
        }),
        content: Some(ContentRules {
            send_to_provider: Some(false),
            redaction_required: Some(false),
        }),
        tokens: Some(TokenRules {
            per_request_ceiling: Some(64_000),
            monthly_budget: Some(1_000_000),
            over_budget: Some(OverBudget::Deny),
        }),
        gates: [("ticket_update", Gate::L2), ("read", Gate::L0)]
            .map(|(c, g)| (c.to_owned(), g))
            .into(),
        ..Rules::default()
    };
    let merged = effective(&[
        source("pol_tenant", Level::Tenant, &tenant),
        source("pol_platform", Level::Platform, &base),
    ]);
    // Allow lists narrow; deny lists add up; `mistral` is not let in.
    assert_eq!(merged.allow_kinds, Some(set(&["anthropic", "openai"])));
    assert_eq!(merged.deny_kinds, set(&["openai"]));
    assert_eq!(
        merged.decided_by("providers.allow_kinds"),
        [
            by("pol_platform", Level::Platform),
            by("pol_tenant", Level::Tenant)
        ]
    );
    // Content: the tenant forbids sending; it cannot drop the redaction.
    assert!(!merged.send_content);
    assert!(merged.redaction_required);
    assert_eq!(
        merged.decided_by("content.send_to_provider"),
        [by("pol_tenant", Level::Tenant)]
    );
    assert_eq!(
        merged.decided_by("content.redaction_required"),
        [by("pol_platform", Level::Platform)]
    );
    // The smaller ceiling and budget win; the stricter over-budget action.
    assert_eq!(merged.per_request_ceiling, Some(32_000));
    assert_eq!(merged.monthly_budget, Some(1_000_000));
    assert_eq!(merged.over_budget, OverBudget::Deny);
    assert_eq!(
        merged.decided_by("tokens.per_request_ceiling"),
        [by("pol_platform", Level::Platform)]
    );
    // Gates: the stricter wins; a class the tenant does not name keeps the
    // platform's default.
    assert_eq!(merged.gate("ticket_update"), Gate::L2);
    assert_eq!(merged.gate("read"), Gate::L0);
    assert_eq!(merged.gate("remote_execution"), Gate::L2);
    assert_eq!(
        merged.decided_by("gates.read"),
        [
            by("pol_platform", Level::Platform),
            by("pol_tenant", Level::Tenant)
        ]
    );
    // Nothing decides what no record sets.
    assert!(merged.decided_by("connectors.allow").is_empty());
}

#[test]
fn records_kept_as_json_merge_the_same_and_unreadable_ones_are_left_out() {
    let base = serde_json::to_value(platform()).unwrap();
    let unknown = serde_json::json!({ "colour": "blue" });
    let kept = [
        plinth_policy::Kept {
            record_id: "pol_platform",
            version: 4,
            level: "platform",
            rules: &base,
        },
        plinth_policy::Kept {
            record_id: "pol_future",
            version: 1,
            level: "tenant",
            rules: &unknown,
        },
    ];
    let merged = plinth_policy::effective_of_kept(kept).unwrap();
    assert_eq!(merged.gate("ticket_update"), Gate::L1);
    assert_eq!(
        merged.decided_by("default_gate")[0].to_string(),
        "pol_platform v4"
    );
    assert!(plinth_policy::effective_of_kept([kept[1]]).is_none());
    assert!(plinth_policy::effective_of_kept([]).is_none());
}

#[test]
fn a_records_default_gate_holds_for_the_classes_it_does_not_name() {
    let base = platform();
    let strict = Rules {
        default_gate: Some(Gate::L3),
        ..Rules::default()
    };
    let merged = effective(&[
        source("pol_platform", Level::Platform, &base),
        source("pol_module", Level::Module, &strict),
    ]);
    assert_eq!(merged.gate("read"), Gate::L3);
    assert_eq!(merged.gate("anything"), Gate::L3);
}

fn request(class: &str) -> Request {
    Request {
        action_class: class.to_owned(),
        provider_kind: Some("anthropic".to_owned()),
        model: Some("claude-haiku-4-5".to_owned()),
        estimated_tokens: 1_000,
        ..Request::default()
    }
}

#[test]
fn each_gate_level_decides_its_own_outcome() {
    for (gate, expected) in [
        (Gate::L0, Outcome::Allow),
        (Gate::L1, Outcome::AllowAndNotify),
        (Gate::L2, Outcome::RequireApproval),
        (Gate::L3, Outcome::HumanOnly),
    ] {
        let rules = Rules {
            gates: BTreeMap::from([("ticket_update".to_owned(), gate)]),
            ..Rules::default()
        };
        let merged = effective(&[source("pol", Level::Platform, &rules)]);
        let decision = decide(&merged, &request("ticket_update"), Usage::default());
        assert_eq!((decision.outcome, decision.gate), (expected, gate));
        assert_eq!(decision.reasons[0].code, "gate");
        assert_eq!(decision.reasons[0].field, "gates.ticket_update");
        // The workspace's tier applies when it is stricter.
        let tiered = Request {
            workspace_tier: Some(Gate::L3),
            ..request("ticket_update")
        };
        assert_eq!(
            decide(&merged, &tiered, Usage::default()).outcome,
            Outcome::HumanOnly
        );
    }
}

#[test]
fn providers_models_content_ceilings_and_connectors_deny_with_their_reason() {
    let base = platform();
    let merged = effective(&[source("pol_platform", Level::Platform, &base)]);
    let cases = [
        (
            Request {
                provider_kind: Some("mistral".to_owned()),
                ..request("read")
            },
            "provider_not_allowed",
        ),
        (
            Request {
                model: Some("gpt-3.5-turbo".to_owned()),
                ..request("read")
            },
            "model_denied",
        ),
        (
            Request {
                estimated_tokens: 32_001,
                ..request("read")
            },
            "token_ceiling",
        ),
    ];
    for (asked, code) in cases {
        let decision = decide(&merged, &asked, Usage::default());
        assert_eq!(decision.outcome, Outcome::Deny, "{code}");
        let reason = decision.reasons.iter().find(|r| r.outcome == Outcome::Deny);
        assert_eq!(reason.map(|r| r.code.as_str()), Some(code));
        assert_eq!(
            reason.map(|r| r.decided_by.clone()),
            Some(vec![by("pol_platform", Level::Platform)])
        );
    }
    // Content goes only redacted here: allowed, with the obligation.
    let with_content = Request {
        content_included: true,
        ..request("read")
    };
    let decision = decide(&merged, &with_content, Usage::default());
    assert_eq!(decision.outcome, Outcome::Allow);
    assert_eq!(decision.obligations, ["redact_content"]);
}

#[test]
fn the_request_that_crosses_the_budget_flips_the_decision() {
    let base = platform();
    let merged = effective(&[source("pol_platform", Level::Platform, &base)]);
    let asked = request("read");
    let at = |used: u64| decide(&merged, &asked, Usage { month_tokens: used }).outcome;
    // 5,000,000 tokens a month; 1,000 estimated.
    assert_eq!(at(4_999_000), Outcome::Allow, "exactly at the budget");
    assert_eq!(at(4_999_001), Outcome::RequireApproval, "one token over");
    let deny = Rules {
        tokens: Some(TokenRules {
            over_budget: Some(OverBudget::Deny),
            ..TokenRules::default()
        }),
        ..Rules::default()
    };
    let stricter = effective(&[
        source("pol_platform", Level::Platform, &base),
        source("pol_tenant", Level::Tenant, &deny),
    ]);
    let decision = decide(
        &stricter,
        &asked,
        Usage {
            month_tokens: 4_999_001,
        },
    );
    assert_eq!(decision.outcome, Outcome::Deny);
    // A step that spends no tokens is never held by the budget, even past it.
    let no_tokens = Request {
        estimated_tokens: 0,
        ..asked.clone()
    };
    let past = Usage {
        month_tokens: 6_000_000,
    };
    assert_eq!(decide(&stricter, &no_tokens, past).outcome, Outcome::Allow);
}

#[test]
fn a_bundle_decides_per_module_and_its_tag_follows_its_content() {
    let base = platform();
    let module = Rules {
        default_gate: Some(Gate::L3),
        ..Rules::default()
    };
    let tenant = effective(&[source("pol_platform", Level::Platform, &base)]);
    let strict = effective(&[
        source("pol_platform", Level::Platform, &base),
        source("pol_module", Level::Module, &module),
    ]);
    let bundle = Bundle {
        tenant_id: "ten_us_1".to_owned(),
        tenant: tenant.clone(),
        modules: BTreeMap::from([("itsm-triage-agent".to_owned(), strict)]),
        withdrawn: false,
    };
    let asked = request("ticket_update");
    assert_eq!(
        bundle.decide(None, &asked, Usage::default()).outcome,
        Outcome::AllowAndNotify
    );
    assert_eq!(
        bundle
            .decide(Some("itsm-triage-agent"), &asked, Usage::default())
            .outcome,
        Outcome::HumanOnly
    );
    assert_eq!(
        bundle
            .decide(Some("another-module"), &asked, Usage::default())
            .outcome,
        Outcome::AllowAndNotify
    );
    let same = bundle.clone();
    assert_eq!(bundle.etag(), same.etag());
    let mut changed = bundle.clone();
    changed.tenant.default_gate = Gate::L3;
    assert_ne!(bundle.etag(), changed.etag());
    // A withdrawn tenant's steps are refused, whatever its policy says.
    let withdrawn = Bundle {
        withdrawn: true,
        ..bundle.clone()
    };
    let refused = withdrawn.decide(None, &request("read"), Usage::default());
    assert_eq!(refused.outcome, Outcome::Deny);
    assert_eq!(refused.reasons.last().unwrap().code, "tenant_withdrawn");
    assert_ne!(withdrawn.etag(), bundle.etag());
}

// Properties over random records.

fn names() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(prop::sample::select(vec!["a", "b", "c", "d"]), 0..4)
        .prop_map(|s| s.into_iter().map(str::to_owned).collect())
}

fn gate() -> impl Strategy<Value = Gate> {
    prop::sample::select(Gate::ALL.to_vec())
}

fn rules() -> impl Strategy<Value = Rules> {
    let providers = (
        prop::option::of(names()),
        names(),
        prop::option::of(names()),
        names(),
    )
        .prop_map(
            |(allow_kinds, deny_kinds, allow_models, deny_models)| ProviderRules {
                allow_kinds,
                deny_kinds,
                allow_models,
                deny_models,
            },
        );
    let content = (
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(send_to_provider, redaction_required)| ContentRules {
            send_to_provider,
            redaction_required,
        });
    let tokens = (
        prop::option::of(1u64..100),
        prop::option::of(0u64..1000),
        prop::option::of(prop::sample::select(vec![
            OverBudget::RequireApproval,
            OverBudget::Deny,
        ])),
    )
        .prop_map(
            |(per_request_ceiling, monthly_budget, over_budget)| TokenRules {
                per_request_ceiling,
                monthly_budget,
                over_budget,
            },
        );
    let gates = prop::collection::btree_map(
        prop::sample::select(vec!["read", "notify", "ticket_update", "remote_execution"])
            .prop_map(str::to_owned),
        gate(),
        0..4,
    );
    (
        prop::option::of(providers),
        prop::option::of(content),
        prop::option::of(tokens),
        gates,
        prop::option::of(gate()),
        prop::option::of(names()),
    )
        .prop_map(
            |(providers, content, tokens, gates, default_gate, connectors)| Rules {
                providers,
                content,
                tokens,
                gates,
                default_gate,
                connectors: connectors
                    .map(|allow| plinth_policy::ConnectorRules { allow: Some(allow) }),
                health: None,
            },
        )
}

fn subset(narrow: Option<&BTreeSet<String>>, wide: Option<&BTreeSet<String>>) -> bool {
    match (narrow, wide) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(n), Some(w)) => n.is_subset(w),
    }
}

fn at_most(narrow: Option<u64>, wide: Option<u64>) -> bool {
    match (narrow, wide) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(n), Some(w)) => n <= w,
    }
}

/// Whether `tight` restricts at least everything `loose` does.
fn at_least_as_strict(tight: &Effective, loose: &Effective, classes: &[&str]) -> bool {
    subset(tight.allow_kinds.as_ref(), loose.allow_kinds.as_ref())
        && loose.deny_kinds.is_subset(&tight.deny_kinds)
        && subset(tight.allow_models.as_ref(), loose.allow_models.as_ref())
        && loose.deny_models.is_subset(&tight.deny_models)
        && (tight.send_content <= loose.send_content)
        && (tight.redaction_required >= loose.redaction_required)
        && at_most(tight.per_request_ceiling, loose.per_request_ceiling)
        && at_most(tight.monthly_budget, loose.monthly_budget)
        && tight.over_budget >= loose.over_budget
        && tight.default_gate >= loose.default_gate
        && classes.iter().all(|c| tight.gate(c) >= loose.gate(c))
        && subset(tight.connectors.as_ref(), loose.connectors.as_ref())
}

const CLASSES: [&str; 5] = [
    "read",
    "notify",
    "ticket_update",
    "remote_execution",
    "other",
];

proptest! {
    #[test]
    fn no_lower_record_ever_loosens_a_platform_field(
        base in rules(),
        lower in prop::collection::vec((rules(), prop::sample::select(vec![
            Level::Tenant, Level::Module, Level::TenantModule,
        ])), 0..4),
    ) {
        let ids: Vec<String> = (0..lower.len()).map(|i| format!("pol_{i}")).collect();
        let platform_only = effective(&[source("pol_platform", Level::Platform, &base)]);
        let mut all = vec![source("pol_platform", Level::Platform, &base)];
        all.extend(lower.iter().zip(&ids).map(|((r, level), id)| source(id, *level, r)));
        let merged = effective(&all);
        prop_assert!(at_least_as_strict(&merged, &platform_only, &CLASSES));
        // Order-free: the same records in another order merge the same.
        all.reverse();
        prop_assert_eq!(effective(&all), merged);
    }

    #[test]
    fn a_stricter_policy_never_decides_more_leniently(
        base in rules(),
        extra in rules(),
        class in prop::sample::select(CLASSES.to_vec()),
        kind in prop::option::of(prop::sample::select(vec!["a", "b", "c", "d"])),
        tokens in 0u64..200,
        used in 0u64..2000,
        content in any::<bool>(),
    ) {
        let loose = effective(&[source("pol_platform", Level::Platform, &base)]);
        let tight = effective(&[
            source("pol_platform", Level::Platform, &base),
            source("pol_tenant", Level::Tenant, &extra),
        ]);
        let asked = Request {
            action_class: class.to_owned(),
            provider_kind: kind.map(str::to_owned),
            model: kind.map(str::to_owned),
            estimated_tokens: tokens,
            content_included: content,
            connector: kind.map(str::to_owned),
            workspace_tier: None,
        };
        let usage = Usage { month_tokens: used };
        prop_assert!(decide(&tight, &asked, usage).outcome >= decide(&loose, &asked, usage).outcome);
    }
}

// The JSON Schema of records and the rules this crate reads agree.

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/json/policy-record.schema.json"
    ))
    .unwrap();
    jsonschema::options()
        .build(&serde_json::from_str(&text).unwrap())
        .unwrap()
}

#[test]
fn the_example_records_are_valid_and_read_as_rules() {
    let validator = schema();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/policies");
    let mut read = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        let problems: Vec<String> = validator
            .iter_errors(&record)
            .map(|e| e.to_string())
            .collect();
        assert_eq!(problems, Vec::<String>::new());
        let _: Rules = serde_json::from_value(record["rules"].clone()).unwrap();
        read += 1;
    }
    assert_eq!(read, 3);
    // A rule the schema does not know is refused by both.
    let unknown = serde_json::json!({
        "name": "x", "scope": { "level": "platform" }, "rules": { "colour": "blue" }
    });
    assert!(!validator.is_valid(&unknown));
    assert!(serde_json::from_value::<Rules>(unknown["rules"].clone()).is_err());
    // A tenant record names its tenant.
    let unnamed = serde_json::json!({
        "name": "x", "scope": { "level": "tenant" }, "rules": {}
    });
    assert!(!validator.is_valid(&unnamed));
}

proptest! {
    #[test]
    fn every_rules_this_crate_writes_is_valid_under_the_schema(rules in rules()) {
        let record = serde_json::json!({
            "name": "generated", "scope": { "level": "platform" }, "rules": rules
        });
        prop_assert!(schema().is_valid(&record), "{record}");
    }
}
