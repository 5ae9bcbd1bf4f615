//! Metering and budgets: the runtimes' usage counted once per event id and
//! summed by month; the entitlement's budget merged into the policy with its
//! provenance; the event that crosses the budget flips the decision.

use std::time::Duration;

use plinth_bus::{Area, Event};
use plinth_core::{Role, TenantId};
use plinth_testkit::wait_until;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{As, TestApp};

fn runtime() -> As {
    As::platform(Role::Runtime).named("plinth-runtime")
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap()
}

/// A usage event of `tenant`, as a runtime publishes it.
fn usage(
    app: &TestApp,
    tenant: TenantId,
    model: &str,
    tokens: (i64, i64),
    at: OffsetDateTime,
) -> Event {
    let payload = app
        .schemas
        .encode(
            "plinth.metering.UsageRecorded",
            &json!({
                "tenant_id": tenant.to_string(), "workspace_id": "wsp_desk",
                "module_id": "itsm-triage-agent", "run_id": null,
                "provider_kind": "anthropic", "model": model,
                "tokens_in": tokens.0, "tokens_out": tokens.1,
                "connector": null, "connector_operations": 0,
                "occurred_at": micros(at)
            }),
        )
        .unwrap();
    Event::new(
        app.bus.topic(Area::Metering),
        tenant.to_string(),
        "plinth.metering.usage_recorded",
        "/plinth/us/runtime",
        payload,
    )
}

async fn usage_of(app: &TestApp, tenant: TenantId, month: Option<&str>) -> Value {
    let query = month.map(|m| format!("?month={m}")).unwrap_or_default();
    let (status, view) = app
        .get(
            &As::tenant(Role::Auditor, tenant),
            &format!("/admin/policies/tenants/{tenant}/usage{query}"),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    view
}

/// Waits until the tenant's usage this month counts `events` events.
async fn counted(app: &TestApp, tenant: TenantId, events: i64) -> Value {
    let total = |view: &Value| -> i64 {
        view["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["events"].as_i64().unwrap())
            .sum()
    };
    wait_until("the usage counted", Duration::from_secs(60), || async {
        total(&usage_of(app, tenant, None).await) >= events
    })
    .await;
    usage_of(app, tenant, None).await
}

#[tokio::test]
async fn each_usage_event_counts_once_and_months_are_apart() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    let now = OffsetDateTime::now_utc();
    let first = usage(&app, tenant, "claude-haiku-4-5", (300, 200), now);
    // Delivered twice (a redelivery), then another model's, then last month's.
    app.deliver(&first).await;
    app.deliver(&first).await;
    app.deliver(&usage(&app, tenant, "claude-sonnet-4-5", (40, 10), now))
        .await;
    let last_month = now - time::Duration::days(40);
    app.deliver(&usage(&app, tenant, "claude-haiku-4-5", (7, 0), last_month))
        .await;
    let view = counted(&app, tenant, 2).await;
    assert_eq!(
        (&view["tokens_in"], &view["tokens_out"]),
        (&json!(340), &json!(210)),
        "{view}"
    );
    let items = view["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{view}");
    assert_eq!(items[0]["model"], "claude-haiku-4-5");
    assert_eq!(items[0]["events"], 1, "the redelivery counts once");
    assert_eq!(items[0]["workspace_id"], "wsp_desk");
    let month = format!(
        "{:04}-{:02}",
        last_month.year(),
        u8::from(last_month.month())
    );
    // That month's event may be applied after this month's: wait for it.
    wait_until("last month's usage", Duration::from_secs(60), || async {
        usage_of(&app, tenant, Some(&month)).await["tokens_in"] == 7
    })
    .await;
    let before = usage_of(&app, tenant, Some(&month)).await;
    assert_eq!(before["items"].as_array().unwrap().len(), 1);
    let (status, problem) = app
        .get(
            &admin_of(tenant),
            &format!("/admin/policies/tenants/{tenant}/usage?month=2026-13"),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid_request"))
    );
}

fn admin_of(tenant: TenantId) -> As {
    As::tenant(Role::WorkspaceAdmin, tenant)
}

#[tokio::test]
async fn the_event_that_crosses_the_entitled_budget_flips_the_decision() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    app.announce(
        "plinth.entitlement.changed",
        "plinth.tenant.EntitlementChanged",
        tenant,
        &json!({
            "tenant_id": tenant.to_string(), "plan": "standard", "modules": [],
            "api_rate_per_second": 10, "max_workspaces": 5, "max_provider_connections": 2,
            "monthly_token_budget": 1000,
            "changed_at": 1_790_000_000_000_000i64, "changed_by": "alice@msp.example"
        }),
    )
    .await;
    let step =
        json!({ "action_class": "read", "provider_kind": "anthropic", "estimated_tokens": 100 });
    let decide = || async {
        let (status, decision) = app
            .post(
                &runtime(),
                &format!("/runtime/policy/tenants/{tenant}/decisions"),
                step.clone(),
            )
            .await;
        assert_eq!(status, 200, "{decision}");
        decision
    };
    wait_until(
        "the entitlement applied",
        Duration::from_secs(60),
        || async { usage_of(&app, tenant, None).await["monthly_budget"] == 1000 },
    )
    .await;

    let now = OffsetDateTime::now_utc();
    app.deliver(&usage(&app, tenant, "claude-haiku-4-5", (600, 300), now))
        .await;
    counted(&app, tenant, 1).await;
    // 900 spent, 100 estimated: exactly the budget.
    assert_eq!(decide().await["decision"], "allow");

    app.deliver(&usage(&app, tenant, "claude-haiku-4-5", (1, 0), now))
        .await;
    counted(&app, tenant, 2).await;
    let over = decide().await;
    assert_eq!(over["decision"], "require_approval", "{over}");
    let reason = over["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "over_budget")
        .unwrap();
    assert_eq!(reason["decided_by"][0]["record_id"], "entitlement");

    // A tenant record may make it a refusal.
    let record = crate::helpers::tenant_record(
        tenant,
        "Refuse past the budget",
        json!({ "tokens": { "over_budget": "deny" } }),
    );
    app.publish_record(
        &admin_of(tenant),
        &crate::helpers::records_of(tenant),
        record,
    )
    .await;
    assert_eq!(decide().await["decision"], "deny");
}
