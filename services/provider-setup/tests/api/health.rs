//! Normalized health: checks provider setup makes itself (on demand and
//! periodically) with a minimal completion, results others submit through the
//! platform's gate, a change of status published, and selection passing over
//! an unhealthy connection.

use std::time::Duration;

use plinth_core::{Role, TenantId};
use plinth_providers::ProviderKind;
use plinth_providers::fake::Behavior;
use serde_json::{Value, json};

use crate::helpers::{As, GOOD_KEY, TestApp, admin, integrator};

/// A tenant's active connection keyed with `key`: its admin path.
async fn active(app: &TestApp, tenant: TenantId, key: &str) -> String {
    let created = app.keyed(tenant, "primary", key).await;
    format!(
        "/admin/providers/tenants/{tenant}/connections/{}",
        created["connection_id"].as_str().unwrap()
    )
}

async fn selection(app: &TestApp, tenant: TenantId) -> (u16, Value) {
    app.get(
        &As::platform(Role::Runtime),
        &format!("/runtime/providers/tenants/{tenant}/selection"),
    )
    .await
}

fn changes(outbox: &[plinth_testkit::Outgoing]) -> Vec<(String, String)> {
    outbox
        .iter()
        .filter(|e| e.ce_type == "plinth.provider.health_changed")
        .map(|e| {
            (
                e.payload["previous_status"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
                e.payload["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_check_records_normalized_health_and_selection_follows_it() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    let key = "sk-test-good-health";
    let path = active(&app, tenant, key).await;
    let check = format!("{path}/health/check");

    let (status, record) = app.post(&integrator(tenant), &check, json!({})).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        (&record["status"], &record["source"]),
        (&json!("ready"), &json!("probe"))
    );
    assert_eq!(
        app.providers.calls(ProviderKind::OpenAi),
        2,
        "the validation, then one completion"
    );
    let (status, _) = app
        .post(&As::tenant(Role::Operator, tenant), &check, json!({}))
        .await;
    assert_eq!(status, 403);

    app.providers.set(key, Behavior::RateLimited(9));
    let (_, record) = app.post(&integrator(tenant), &check, json!({})).await;
    assert_eq!(
        (&record["status"], &record["http_status"]),
        (&json!("rate_limited"), &json!(429))
    );
    let (status, problem) = selection(&app, tenant).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["considered"][0]["reason"],
        "unhealthy: rate_limited"
    );

    app.providers.set(key, Behavior::ServerError);
    let (_, record) = app.post(&integrator(tenant), &check, json!({})).await;
    assert_eq!(
        (&record["status"], &record["error_class"]),
        (&json!("degraded"), &json!("provider_error"))
    );
    let (status, _) = selection(&app, tenant).await;
    assert_eq!(status, 200, "a degraded connection is still used");
    app.post(&integrator(tenant), &check, json!({})).await;

    let (_, one) = app.get(&admin(), &path).await;
    assert_eq!(one["health_status"], "degraded");
    assert_eq!(one["health"].as_array().unwrap().len(), 4);
    assert_eq!(
        changes(&app.outbox().await),
        [
            ("-".to_owned(), "ready".to_owned()),
            ("ready".to_owned(), "rate_limited".to_owned()),
            ("rate_limited".to_owned(), "degraded".to_owned()),
        ],
        "published on every change, not on every check"
    );
}

#[tokio::test]
async fn submitted_results_pass_the_platforms_gate_first() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    let path = active(&app, tenant, GOOD_KEY).await;
    let submit = format!("{path}/health");
    let result = json!({ "status": "auth_failed", "latency_ms": 120, "http_status": 401, "error_class": "auth_failed" });

    // Not a writer of health results at all.
    let (status, problem) = app
        .post(&As::tenant(Role::Operator, tenant), &submit, result.clone())
        .await;
    assert_eq!((status, &problem["code"]), (403, &json!("forbidden")));
    // A writer the gate does not take results from.
    let (status, problem) = app
        .post(
            &As::tenant(Role::WorkspaceAdmin, tenant),
            &submit,
            result.clone(),
        )
        .await;
    assert_eq!(
        (status, &problem["code"], &problem["rule"]),
        (
            403,
            &json!("policy_refused"),
            &json!("health.gate.submitters")
        )
    );
    // Stale, or from the future.
    let stale = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    let future = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    for (when, rule) in [
        (stale, "health.gate.max_age_seconds"),
        (future, "health.gate.observed_at"),
    ] {
        let mut late = result.clone();
        late["observed_at"] = json!(
            when.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        );
        let (status, problem) = app.post(&As::platform(Role::Runtime), &submit, late).await;
        assert_eq!((status, &problem["rule"]), (403, &json!(rule)), "{problem}");
    }
    let (status, problem) = app
        .post(
            &As::platform(Role::Runtime),
            &submit,
            json!({ "status": "fine", "latency_ms": 1 }),
        )
        .await;
    assert_eq!((status, &problem["field"]), (400, &json!("status")));
    let (_, one) = app.get(&admin(), &path).await;
    assert_eq!(one["health"], json!([]), "nothing refused was recorded");

    // The runtime's observation is recorded; selection passes the connection over.
    let (status, record) = app
        .post(
            &As::platform(Role::Runtime).named("plinth-runtime"),
            &submit,
            result,
        )
        .await;
    assert_eq!(status, 201, "{record}");
    assert_eq!(
        (&record["source"], &record["recorded_by"]),
        (&json!("submitted"), &json!("plinth-runtime"))
    );
    let (status, problem) = selection(&app, tenant).await;
    assert_eq!(
        (status, &problem["considered"][0]["reason"]),
        (409, &json!("unhealthy: auth_failed"))
    );
    // The integration administrator fixes it, and says so.
    let (status, _) = app
        .post(
            &integrator(tenant),
            &submit,
            json!({ "status": "ready", "latency_ms": 300 }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = selection(&app, tenant).await;
    assert_eq!(status, 200);
    let audits = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| {
            e.ce_type == "plinth.audit.event" && e.payload["action"] == "provider.health_submit"
        })
        .count();
    assert!(
        audits >= 7,
        "every submission, refused or not, is audited: {audits}"
    );
}

#[tokio::test]
async fn every_active_connection_is_checked_periodically() {
    let app = TestApp::spawn_with(json!({ "health": { "every_seconds": 1 } })).await;
    let tenant = app.tenant("ACTIVE").await;
    let path = active(&app, tenant, GOOD_KEY).await;
    let pending = app.connection(tenant, app.openai("pending")).await;
    plinth_testkit::wait_until("a periodic check", Duration::from_secs(30), || async {
        app.get(&admin(), &path).await.1["health"]
            .as_array()
            .is_some_and(|h| h.len() >= 2)
    })
    .await;
    let (_, one) = app.get(&admin(), &path).await;
    assert_eq!(one["health_status"], "ready");
    assert!(
        one["health"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["source"] == "probe")
    );
    let pending = format!(
        "/admin/providers/tenants/{tenant}/connections/{}",
        pending["connection_id"].as_str().unwrap()
    );
    let (_, pending) = app.get(&admin(), &pending).await;
    assert_eq!(
        pending["health"],
        json!([]),
        "a connection without a key is not checked"
    );
}

/// `plinth.policy.record_published` of a record with `rules`, as the policy
/// service publishes it.
async fn policy_published(app: &TestApp, id: &str, tenant: Option<TenantId>, rules: Value) {
    let level = if tenant.is_some() {
        "tenant"
    } else {
        "platform"
    };
    let payload = app
        .schemas
        .encode(
            "plinth.policy.PolicyRecordChanged",
            &json!({
                "record_id": id, "version": 1, "level": level,
                "tenant_id": tenant.map(|t| t.to_string()), "module_id": null,
                "name": "health", "reason": "for the test", "rules": rules.to_string(),
                "occurred_at": 1_790_000_000_000_000i64, "occurred_by": "alice@msp.example"
            }),
        )
        .unwrap();
    let key = tenant.map_or("platform".to_owned(), |t| t.to_string());
    app.deliver(&plinth_bus::Event::new(
        app.bus.topic(plinth_bus::Area::Policy),
        key,
        "plinth.policy.record_published",
        "/plinth/us/policy",
        payload,
    ))
    .await;
    let db = app.db.owner_url();
    let query = format!("SELECT count(*) AS n FROM policy_records WHERE record_id = '{id}'");
    plinth_testkit::wait_until(
        "the policy record kept",
        Duration::from_secs(60),
        || async { plinth_testkit::count_all_tenants(&db, &query).await == 1 },
    )
    .await;
}

#[tokio::test]
async fn the_policy_in_force_narrows_the_gate_and_names_the_record_that_did() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    let other = app.tenant("ACTIVE").await;
    let path = active(&app, tenant, GOOD_KEY).await;
    let elsewhere = active(&app, other, GOOD_KEY).await;
    let result = json!({ "status": "ready", "latency_ms": 90 });
    // The platform's record takes results from the runtime and integration
    // administrators; this tenant's, from the runtime alone.
    policy_published(
        &app,
        "pol_platform",
        None,
        json!({ "health": { "submitters": ["Runtime", "IntegrationAdmin"], "max_age_seconds": 60 } }),
    )
    .await;
    policy_published(
        &app,
        "pol_tenant",
        Some(tenant),
        json!({ "health": { "submitters": ["Runtime"] } }),
    )
    .await;
    let (status, problem) = app
        .post(
            &integrator(tenant),
            &format!("{path}/health"),
            result.clone(),
        )
        .await;
    assert_eq!(
        (status, &problem["code"], &problem["rule"]),
        (
            403,
            &json!("policy_refused"),
            &json!("policy:health.submitters")
        ),
        "{problem}"
    );
    assert_eq!(
        problem["decided_by"],
        json!(["pol_platform v1", "pol_tenant v1"])
    );
    let (status, _) = app
        .post(
            &As::platform(Role::Runtime),
            &format!("{path}/health"),
            result.clone(),
        )
        .await;
    assert_eq!(status, 201);
    // The other tenant keeps to the platform's record only.
    let (status, _) = app
        .post(
            &integrator(other),
            &format!("{elsewhere}/health"),
            result.clone(),
        )
        .await;
    assert_eq!(status, 201);
    // The platform's record is stricter on age than the configured gate.
    let mut old = result;
    old["observed_at"] = json!(
        (time::OffsetDateTime::now_utc() - time::Duration::minutes(5))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    let (status, problem) = app
        .post(
            &As::platform(Role::Runtime),
            &format!("{elsewhere}/health"),
            old,
        )
        .await;
    assert_eq!(
        (status, &problem["rule"]),
        (403, &json!("policy:health.max_age_seconds")),
        "{problem}"
    );
}
