//! The policy in force: a tenant's effective policy merges the platform's
//! baseline with its own records (never looser), with the provenance of every
//! field; decisions follow each change; the runtime decides with a bundle it
//! refetches only when its entity tag changed.

use plinth_core::{Role, TenantId};
use reqwest::header;
use serde_json::{Value, json};

use crate::helpers::{As, PLATFORM, TestApp, admin, records_of, tenant_admin, tenant_record};

fn runtime() -> As {
    As::platform(Role::Runtime).named("plinth-runtime")
}

fn decide_path(tenant: TenantId) -> String {
    format!("/runtime/policy/tenants/{tenant}/decisions")
}

async fn decide(app: &TestApp, tenant: TenantId, body: Value) -> Value {
    let (status, decision) = app.post(&runtime(), &decide_path(tenant), body).await;
    assert_eq!(status, 200, "{decision}");
    decision
}

#[tokio::test]
async fn a_tenant_record_tightens_the_baseline_and_decisions_follow_with_provenance() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    let step = json!({
        "action_class": "notify", "provider_kind": "openai", "model": "gpt-4o-mini",
        "estimated_tokens": 500
    });
    // The baseline: notifying is announced.
    let before = decide(&app, tenant, step.clone()).await;
    assert_eq!(
        (&before["decision"], &before["gate"]),
        (&json!("allow_and_notify"), &json!("L1"))
    );
    let baseline = before["reasons"][0]["decided_by"][0]["record_id"].clone();
    assert_eq!(before["reasons"][0]["decided_by"][0]["level"], "platform");

    // The tenant needs approval to notify, keeps to Anthropic, and tries to
    // loosen remote execution (which stays human only).
    let record = tenant_record(
        tenant,
        "Acme",
        json!({
            "providers": { "allow_kinds": ["anthropic"] },
            "gates": { "notify": "L2", "remote_execution": "L0" }
        }),
    );
    let published = app
        .publish_record(&tenant_admin(tenant), &records_of(tenant), record)
        .await;
    let ours = published["record_id"].clone();
    let after = decide(&app, tenant, step.clone()).await;
    assert_eq!(after["decision"], "deny", "{after}");
    assert_eq!(after["gate"], "L2");
    let codes: Vec<&str> = after["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["gate", "provider_not_allowed"]);
    assert_eq!(after["reasons"][0]["decided_by"][0]["record_id"], ours);
    assert_ne!(after["policy_etag"], before["policy_etag"]);
    let remote = decide(&app, tenant, json!({ "action_class": "remote_execution" })).await;
    assert_eq!(remote["decision"], "human_only", "never loosened: {remote}");

    // The effective policy shows who decided each field.
    let (status, effective) = app
        .get(
            &As::tenant(Role::Auditor, tenant),
            &format!("/admin/policies/tenants/{tenant}/effective"),
        )
        .await;
    assert_eq!(status, 200, "{effective}");
    let policy = &effective["policy"];
    assert_eq!(policy["allow_kinds"], json!(["anthropic"]));
    assert_eq!(policy["gates"]["notify"], "L2");
    assert_eq!(policy["gates"]["remote_execution"], "L3");
    assert_eq!(policy["provenance"]["gates.notify"][0]["record_id"], ours);
    assert_eq!(
        policy["provenance"]["gates.remote_execution"][0]["record_id"],
        baseline
    );
    let deciders: Vec<&Value> = policy["provenance"]["providers.allow_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["record_id"])
        .collect();
    assert_eq!(deciders, [&baseline, &ours]);
    assert_eq!(effective["etag"], after["policy_etag"]);

    // Another tenant is untouched by it.
    let other = app.tenant().await;
    assert_eq!(
        decide(&app, other, step).await["decision"],
        "allow_and_notify"
    );
}

#[tokio::test]
async fn a_module_runs_under_its_own_records_and_the_tenants() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    app.publish_record(
        &admin(),
        PLATFORM,
        json!({
            "name": "Triage agent", "scope": { "level": "module", "module_id": "itsm-triage-agent" },
            "rules": { "gates": { "read": "L1" }, "connectors": { "allow": ["halopsa"] } }
        }),
    )
    .await;
    let step = |module: Option<&str>, connector: &str| json!({ "module_id": module, "action_class": "read", "connector": connector });
    let tenant_wide = decide(&app, tenant, step(None, "connectwise_manage")).await;
    assert_eq!(tenant_wide["decision"], "allow");
    let triage = decide(&app, tenant, step(Some("itsm-triage-agent"), "halopsa")).await;
    assert_eq!(triage["decision"], "allow_and_notify");
    let elsewhere = decide(
        &app,
        tenant,
        step(Some("itsm-triage-agent"), "connectwise_manage"),
    )
    .await;
    assert_eq!(elsewhere["decision"], "deny");
    assert_eq!(elsewhere["reasons"][1]["code"], "connector_not_allowed");
    // Content is sent only redacted under the baseline.
    let content = decide(
        &app,
        tenant,
        json!({ "action_class": "read", "provider_kind": "anthropic", "content_included": true }),
    )
    .await;
    assert_eq!(content["obligations"], json!(["redact_content"]));
    // The workspace's tier applies when it is stricter.
    let tiered = decide(
        &app,
        tenant,
        json!({ "action_class": "read", "workspace_tier": "L3" }),
    )
    .await;
    assert_eq!(tiered["decision"], "human_only");
}

#[tokio::test]
async fn the_runtime_refetches_the_bundle_only_when_its_tag_changed() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    let url = format!("{}/runtime/policy/tenants/{tenant}/bundle", app.client.base);
    let fetch = |tag: Option<String>| {
        let mut req = app
            .client
            .http
            .get(&url)
            .bearer_auth(app.client.token(&runtime()));
        if let Some(tag) = tag {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        async move { req.send().await.unwrap() }
    };
    let first = fetch(None).await;
    assert_eq!(first.status(), 200);
    let tag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let bundle: Value = first.json().await.unwrap();
    assert_eq!(bundle["tenant_id"], tenant.to_string());
    assert_eq!(bundle["tenant"]["default_gate"], "L2");
    assert_eq!(fetch(Some(tag.clone())).await.status(), 304);

    app.publish_record(
        &tenant_admin(tenant),
        &records_of(tenant),
        tenant_record(
            tenant,
            "Budget",
            json!({ "tokens": { "monthly_budget": 1000 } }),
        ),
    )
    .await;
    let changed = fetch(Some(tag.clone())).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()[header::ETAG].to_str().unwrap(), tag);
    let bundle: Value = changed.json().await.unwrap();
    assert_eq!(bundle["tenant"]["monthly_budget"], 1000);

    // Another tenant's bundle is not found from this tenant's people.
    let other = app.tenant().await;
    let (status, _) = app
        .get(
            &As::tenant(Role::Operator, tenant),
            &format!("/runtime/policy/tenants/{other}/bundle"),
        )
        .await;
    assert_eq!(status, 404);
}
