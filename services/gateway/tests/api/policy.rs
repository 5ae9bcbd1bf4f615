//! The policy service end to end through the gateway, with real tokens from
//! the identity provider and the real registry's sagas: a tenant entitled to a
//! monthly token budget is onboarded (enrolled with the baseline) and becomes
//! ACTIVE; the platform team publishes a tenant record; the runtime decides
//! through the gateway, keeps the bundle current by its entity tag, and
//! reports usage on the metering topic, which moves the decision past the
//! entitled budget; the record is retired; offboarding withdraws the tenant's
//! policies and every decision is refused. Then every policy, metering and
//! tenant event is read back as a partner would, fastavro included.

use std::path::PathBuf;
use std::time::Duration;

use plinth_bus::{Area, Event, Schemas};
use plinth_testkit::{Idp, Publisher, test_bus, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

use crate::proxy::{Options, Stack, call_as as call, stack_with};

/// Tenant registry settings whose sagas have the policy service's items alone
/// (its consumers on).
pub fn policy_sagas() -> Value {
    json!({
        "bus": { "consumers": true },
        "onboarding": { "items": [{
            "key": "policy_registry", "owner": "policy",
            "description": "The tenant is enrolled in the policy registry with the default policies",
            "satisfied_by": "plinth.policy.registry_enrolled",
            "failed_by": "plinth.policy.registry_enrollment_failed"
        }] },
        "offboarding": { "items": [{
            "key": "policy_withdrawn", "owner": "policy",
            "description": "The tenant's policies are withdrawn",
            "satisfied_by": "plinth.policy.deprovisioned",
            "failed_by": "plinth.policy.deprovisioning_failed"
        }] }
    })
}

/// Usage events of `tenant` this month, as a runtime publishes them on the
/// stack's metering topic: Anthropic tokens, (in, out) each.
pub async fn runtime_spends(s: &Stack, tenant: &str, spent: &[(i64, i64)]) {
    let bus = test_bus(s.prefix.clone());
    let publisher = Publisher::new(&bus);
    let schemas =
        Schemas::from_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro"))
            .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    for (tokens_in, tokens_out) in spent {
        let payload = schemas
            .encode(
                "plinth.metering.UsageRecorded",
                &json!({
                    "tenant_id": tenant, "workspace_id": null, "module_id": null, "run_id": null,
                    "provider_kind": "anthropic", "model": "claude-3-5-haiku",
                    "tokens_in": tokens_in, "tokens_out": tokens_out,
                    "connector": null, "connector_operations": 0,
                    "occurred_at": i64::try_from(now).unwrap()
                }),
            )
            .unwrap();
        publisher
            .deliver(&Event::new(
                bus.topic(Area::Metering),
                tenant.to_owned(),
                "plinth.metering.usage_recorded",
                "/plinth/us/runtime",
                payload,
            ))
            .await;
    }
}

#[tokio::test]
async fn a_tenants_policy_runs_from_enrollment_to_withdrawal_through_the_gateway_and_partners_read_every_event()
 {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            policy: true,
            registry: policy_sagas(),
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let runtime = idp.runtime_token().await;

    // 1. Entitled to a million tokens a month, onboarded: enrolled, ACTIVE.
    let tenant = s.register(&admin, "polco").await;
    s.entitle(&admin, &tenant, &[]).await;
    let (status, body) = call(
        &s,
        &admin,
        Method::POST,
        &format!("/admin/tenants/{tenant}/onboarding"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    s.wait_for_status(&admin, &tenant, "ACTIVE").await;

    // 2. The runtime decides through the gateway and keeps the bundle.
    let decide = format!("/runtime/policy/tenants/{tenant}/decisions");
    let notify = json!({ "action_class": "notify" });
    let (status, decided) = call(&s, &runtime, Method::POST, &decide, Some(notify.clone())).await;
    assert_eq!(
        (status, &decided["decision"]),
        (200, &json!("allow_and_notify")),
        "{decided}"
    );
    let bundle_path = format!("/runtime/policy/tenants/{tenant}/bundle");
    let http = reqwest::Client::new();
    let bundle = http
        .get(format!("{}{bundle_path}", s.gateway))
        .bearer_auth(&runtime)
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    let etag = bundle.headers()["etag"].to_str().unwrap().to_owned();
    let bundle: Value = bundle.json().await.unwrap();
    assert_eq!(
        bundle["tenant"]["monthly_budget"], 1_000_000,
        "the entitlement's budget: {bundle}"
    );
    let unchanged = http
        .get(format!("{}{bundle_path}", s.gateway))
        .bearer_auth(&runtime)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304, "the runtime's bundle is current");

    // 3. A tenant record published: the decision and the bundle's tag change.
    let records = format!("/admin/policies/tenants/{tenant}/records");
    let (status, created) = call(
        &s,
        &admin,
        Method::POST,
        &records,
        Some(json!({
            "name": "Notifications approved",
            "scope": { "level": "tenant", "tenant_id": tenant },
            "rules": { "gates": { "notify": "L2" } }
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let record = created["record_id"].as_str().unwrap().to_owned();
    let (status, published) = call(
        &s,
        &admin,
        Method::POST,
        &format!("{records}/{record}/publish"),
        Some(json!({ "reason": "approvals for notifications" })),
    )
    .await;
    assert_eq!(
        (status, &published["published_version"]),
        (200, &json!(1)),
        "{published}"
    );
    let (_, decided) = call(&s, &runtime, Method::POST, &decide, Some(notify.clone())).await;
    assert_eq!(decided["decision"], "require_approval", "{decided}");
    assert_ne!(decided["policy_etag"].as_str(), Some(etag.as_str()));

    // 4. Usage reported (980,000 tokens): the step that reaches the entitled
    // budget proceeds, the one that would cross it needs an approver.
    runtime_spends(&s, &tenant, &[(500_000, 200_000), (200_000, 80_000)]).await;
    let usage = format!("/admin/policies/tenants/{tenant}/usage");
    wait_until(
        "the policy service to count the runtime's usage",
        Duration::from_secs(60),
        || async {
            let (status, view) = call(&s, &admin, Method::GET, &usage, None).await;
            status == 200 && view["tokens_in"] == 700_000 && view["tokens_out"] == 280_000
        },
    )
    .await;
    let read =
        json!({ "action_class": "read", "provider_kind": "anthropic", "estimated_tokens": 20_000 });
    let (_, within) = call(&s, &runtime, Method::POST, &decide, Some(read)).await;
    assert_eq!(within["decision"], "allow", "{within}");
    let read =
        json!({ "action_class": "read", "provider_kind": "anthropic", "estimated_tokens": 20_001 });
    let (_, over) = call(&s, &runtime, Method::POST, &decide, Some(read)).await;
    assert_eq!(over["decision"], "require_approval", "{over}");
    let reason = over["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "over_budget")
        .unwrap_or_else(|| panic!("{over}"));
    assert_eq!(
        reason["decided_by"][0]["record_id"], "entitlement",
        "{over}"
    );

    // 5. Retired: the platform's gate is back.
    let (status, retired) = call(
        &s,
        &admin,
        Method::POST,
        &format!("{records}/{record}/retire"),
        Some(json!({ "reason": "workflows gate notifications" })),
    )
    .await;
    assert_eq!(
        (status, &retired["status"]),
        (200, &json!("RETIRED")),
        "{retired}"
    );
    let (_, decided) = call(&s, &runtime, Method::POST, &decide, Some(notify.clone())).await;
    assert_eq!(decided["decision"], "allow_and_notify", "{decided}");

    // 6. Offboarded: the policies withdrawn, every decision refused.
    s.offboard(&admin, &tenant).await;
    let (_, decided) = call(
        &s,
        &runtime,
        Method::POST,
        &decide,
        Some(json!({ "action_class": "read" })),
    )
    .await;
    assert_eq!(decided["decision"], "deny", "{decided}");

    // Everything, read back as a partner would.
    let read = crate::partner::decode_every_event(
        &s.prefix,
        &[Area::Tenant, Area::Policy, Area::Metering],
        &[
            "plinth.policy.registry_enrolled",
            "plinth.policy.record_published",
            "plinth.policy.record_retired",
            "plinth.policy.deprovisioned",
            "plinth.metering.usage_recorded",
            "plinth.tenant.activated",
            "plinth.tenant.offboarded",
        ],
    );
    println!("events read as a partner: {read:?}");
    assert_eq!(read["plinth.metering.usage_recorded"], 2, "{read:?}");
}
