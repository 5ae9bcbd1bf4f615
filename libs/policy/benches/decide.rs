//! In-process decision benchmark (docs/PERFORMANCE.md): a runtime deciding a
//! step over a tenant's compiled bundle — the platform baseline and a tenant's
//! metadata-only record from `examples/policies/` — against `cedar-policy`
//! deciding the same steps under the same two records written in Cedar, in the
//! same run. Both sides build their request from the same inputs every time
//! and answer the same graded outcome (Cedar's `forbid` policies carry it as
//! an `@outcome` annotation; the strictest one satisfied wins); the run first
//! checks that both agree on every step. Targets: p99 ≤ 20 µs, and faster
//! than Cedar.
//!
//! `make bench` runs it (`cargo bench -p plinth-policy --features cedar-bench
//! --bench decide`); PLINTH_BENCH_CALLS (200000) changes the number of
//! decisions. Exits non-zero when a target is missed.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicySet,
    Request as CedarRequest, RestrictedExpression,
};
use hdrhistogram::Histogram;
use plinth_policy::{Bundle, Level, Outcome, Request, Rules, Source, Usage, effective};

/// The two records, as a policy author writes them in Cedar: everything is
/// permitted unless a `forbid` applies, and each `forbid` says what it leads to.
const CEDAR: &str = r#"
// Platform baseline.
permit (principal, action, resource);
@outcome("allow_and_notify")
forbid (principal, action == Action::"notify", resource);
@outcome("require_approval")
forbid (principal, action in [Action::"ticket_update", Action::"config_change"], resource);
@outcome("human_only")
forbid (principal, action in [Action::"remote_execution", Action::"tenant_admin"], resource);
@outcome("require_approval")
forbid (principal, action, resource)
unless {
  action in [Action::"read", Action::"notify", Action::"ticket_update",
             Action::"config_change", Action::"remote_execution", Action::"tenant_admin"]
};
@outcome("deny")
forbid (principal, action, resource)
when { context has provider_kind && !(["openai", "azure_openai", "anthropic"].contains(context.provider_kind)) };
@outcome("deny")
forbid (principal, action, resource)
when { context has model && ["gpt-3.5-turbo"].contains(context.model) };
@outcome("deny")
forbid (principal, action, resource)
when { context.estimated_tokens > 32000 };
@obligation("redact_content")
permit (principal, action, resource)
when { context.content_included };

// The tenant's record: metadata only, Anthropic only, a budget.
@outcome("deny")
forbid (principal, action, resource)
when { context has provider_kind && !(["anthropic"].contains(context.provider_kind)) };
@outcome("deny")
forbid (principal, action, resource)
when { context.content_included };
@outcome("deny")
forbid (principal, action, resource)
when { context.estimated_tokens > 0 && context.month_tokens + context.estimated_tokens > 1000000 };
@outcome("require_approval")
forbid (principal, action in [Action::"ticket_update", Action::"notify"], resource);
"#;

/// A step as a runtime asks about it.
struct Step {
    action: &'static str,
    provider: Option<&'static str>,
    model: Option<&'static str>,
    tokens: u64,
    content: bool,
}

const fn step(
    action: &'static str,
    provider: Option<&'static str>,
    model: Option<&'static str>,
    tokens: u64,
    content: bool,
) -> Step {
    Step {
        action,
        provider,
        model,
        tokens,
        content,
    }
}

/// Steps meeting every rule: each gate, a provider and a model refused,
/// content refused, the ceiling and the budget crossed.
const STEPS: [Step; 10] = [
    step(
        "read",
        Some("anthropic"),
        Some("claude-3-5-haiku"),
        500,
        false,
    ),
    step("notify", None, None, 0, false),
    step(
        "ticket_update",
        Some("anthropic"),
        Some("claude-3-5-haiku"),
        2000,
        false,
    ),
    step("remote_execution", None, None, 0, false),
    step("read", Some("openai"), Some("gpt-4o-mini"), 500, false),
    step("read", Some("anthropic"), Some("gpt-3.5-turbo"), 500, false),
    step("read", Some("anthropic"), None, 500, true),
    step("billing_export", None, None, 0, false),
    step("read", Some("anthropic"), None, 40_000, false),
    step("config_change", Some("anthropic"), None, 2_500, false),
];

/// This month's spend: the last step crosses the budget (1,000,000), the
/// third reaches it exactly.
const SPENT: u64 = 998_000;

fn example(name: &str) -> Rules {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/policies")
        .join(name);
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(document["rules"].clone()).unwrap()
}

fn bundle() -> Bundle {
    let platform = example("platform-baseline.json");
    let tenant = example("tenant-metadata-only.json");
    let sources = [
        Source {
            record_id: "pol_platform",
            version: 1,
            level: Level::Platform,
            rules: &platform,
        },
        Source {
            record_id: "pol_tenant",
            version: 1,
            level: Level::Tenant,
            rules: &tenant,
        },
    ];
    Bundle {
        tenant_id: "ten_us_00000000000000000000000000000001".to_owned(),
        tenant: effective(&sources),
        modules: Default::default(),
        withdrawn: false,
    }
}

fn ours(bundle: &Bundle, s: &Step) -> Outcome {
    let request = Request {
        action_class: s.action.to_owned(),
        provider_kind: s.provider.map(str::to_owned),
        model: s.model.map(str::to_owned),
        estimated_tokens: s.tokens,
        content_included: s.content,
        connector: None,
        workspace_tier: None,
    };
    bundle
        .decide(
            None,
            &request,
            Usage {
                month_tokens: SPENT,
            },
        )
        .outcome
}

/// Cedar's side: the policies parsed once, the request built for each step.
struct Cedar {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
    action_type: EntityTypeName,
    principal: EntityUid,
    resource: EntityUid,
}

impl Cedar {
    fn new() -> Cedar {
        Cedar {
            policies: PolicySet::from_str(CEDAR).unwrap(),
            entities: Entities::empty(),
            authorizer: Authorizer::new(),
            action_type: EntityTypeName::from_str("Action").unwrap(),
            principal: EntityUid::from_str(r#"Runtime::"us-runtime-1""#).unwrap(),
            resource: EntityUid::from_str(r#"Tenant::"ten_us_00000000000000000000000000000001""#)
                .unwrap(),
        }
    }

    fn decide(&self, s: &Step) -> Outcome {
        let mut pairs = vec![
            (
                "estimated_tokens".to_owned(),
                RestrictedExpression::new_long(i64::try_from(s.tokens).unwrap()),
            ),
            (
                "content_included".to_owned(),
                RestrictedExpression::new_bool(s.content),
            ),
            (
                "month_tokens".to_owned(),
                RestrictedExpression::new_long(i64::try_from(SPENT).unwrap()),
            ),
        ];
        if let Some(provider) = s.provider {
            pairs.push((
                "provider_kind".to_owned(),
                RestrictedExpression::new_string(provider.to_owned()),
            ));
        }
        if let Some(model) = s.model {
            pairs.push((
                "model".to_owned(),
                RestrictedExpression::new_string(model.to_owned()),
            ));
        }
        let action =
            EntityUid::from_type_name_and_id(self.action_type.clone(), EntityId::new(s.action));
        let request = CedarRequest::new(
            self.principal.clone(),
            action,
            self.resource.clone(),
            Context::from_pairs(pairs).unwrap(),
            None,
        )
        .unwrap();
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &self.entities);
        if response.decision() == Decision::Allow {
            return Outcome::Allow;
        }
        response
            .diagnostics()
            .reason()
            .filter_map(|id| self.policies.annotation(id, "outcome"))
            .map(outcome_of)
            .max()
            .unwrap_or(Outcome::Deny)
    }
}

fn outcome_of(text: &str) -> Outcome {
    match text {
        "allow_and_notify" => Outcome::AllowAndNotify,
        "require_approval" => Outcome::RequireApproval,
        "human_only" => Outcome::HumanOnly,
        _ => Outcome::Deny,
    }
}

fn micros(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Nanoseconds of each of `n` decisions by `decide`, over the steps in turn.
fn timed(n: usize, mut decide: impl FnMut(&Step) -> Outcome) -> Histogram<u64> {
    let mut h = Histogram::new(3).unwrap();
    // Unrecorded rounds first: caches and the allocator warm up.
    for s in STEPS.iter().cycle().take(10_000) {
        std::hint::black_box(decide(s));
    }
    for s in STEPS.iter().cycle().take(n) {
        let start = Instant::now();
        std::hint::black_box(decide(std::hint::black_box(s)));
        h.record(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX))
            .unwrap();
    }
    h
}

fn main() -> anyhow::Result<()> {
    let n = std::env::var("PLINTH_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let bundle = bundle();
    let cedar = Cedar::new();
    // The same rules: both sides answer every step alike.
    for s in &STEPS {
        let (a, b) = (ours(&bundle, s), cedar.decide(s));
        anyhow::ensure!(
            a == b,
            "{} {:?}: plinth-policy {a:?}, Cedar {b:?}",
            s.action,
            s.provider
        );
    }
    let outcomes: Vec<&str> = STEPS.iter().map(|s| ours(&bundle, s).as_str()).collect();
    let plinth = timed(n, |s| ours(&bundle, s));
    let baseline = timed(n, |s| cedar.decide(s));
    println!(
        "decision over a compiled bundle, in process ({n} decisions over {} steps: {}): \
         p50 {:.2} µs, p99 {:.2} µs (target <= 20 µs); cedar-policy on the same rules p50 {:.2} µs, p99 {:.2} µs; \
         p99 ratio {:.2}x (target < 1)",
        STEPS.len(),
        outcomes.join(", "),
        micros(&plinth, 0.5),
        micros(&plinth, 0.99),
        micros(&baseline, 0.5),
        micros(&baseline, 0.99),
        micros(&plinth, 0.99) / micros(&baseline, 0.99),
    );
    if micros(&plinth, 0.99) > 20.0 || micros(&plinth, 0.99) >= micros(&baseline, 0.99) {
        anyhow::bail!("a target was missed");
    }
    Ok(())
}
