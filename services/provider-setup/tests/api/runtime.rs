//! The runtime's side: selection among the tenant's own and shared pooled
//! connections (never another tenant's), the key released to the runtime's
//! identity alone and audited per release, and a rotation the runtime rides
//! through without one failed call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use plinth_core::{Role, TenantId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{As, GOOD_KEY, TestApp, admin, integrator};

fn runtime() -> As {
    As::platform(Role::Runtime).named("plinth-runtime")
}

fn selection(tenant: TenantId) -> String {
    format!("/runtime/providers/tenants/{tenant}/selection")
}

fn key_path(tenant: TenantId, connection: &Value) -> String {
    format!(
        "/runtime/providers/tenants/{tenant}/connections/{}/key",
        connection["connection_id"].as_str().unwrap()
    )
}

#[tokio::test]
async fn selection_prefers_the_tenants_own_ready_connection_then_a_shared_pooled_one() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("ACTIVE").await;
    let globex = app.tenant("ACTIVE").await;
    app.keyed(globex, "globex-openai", GOOD_KEY).await;

    // Nothing of Acme's is ready: Globex's connection is never a candidate.
    let (status, problem) = app.get(&runtime(), &selection(acme)).await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("no_ready_connection")),
        "{problem}"
    );
    assert_eq!(problem["considered"], json!([]));
    let pending = app.connection(acme, app.openai("acme-pending")).await;
    let (_, problem) = app.get(&runtime(), &selection(acme)).await;
    assert_eq!(problem["considered"][0]["name"], "acme-pending");
    assert_eq!(
        problem["considered"][0]["reason"],
        "PENDING (no active key)"
    );

    // A pooled connection shared with Acme.
    let (_, pooled) = app
        .post(
            &admin(),
            "/admin/providers/pooled",
            json!({ "name": "msp-pool", "kind": "anthropic", "base_url": app.providers.anthropic, "default_model": "claude-haiku-4-5" }),
        )
        .await;
    let request = pooled["requests"][0]["request_id"].as_str().unwrap();
    let (_, minted) = app
        .post(
            &admin(),
            &format!("/admin/providers/pooled/setup-requests/{request}/links"),
            json!({}),
        )
        .await;
    let (status, _) = app.redeem(minted["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!(status, 200);
    let (status, _) = app.get(&runtime(), &selection(acme)).await;
    assert_eq!(status, 409, "not shared yet");
    let pool_id = pooled["connection_id"].as_str().unwrap();
    let (status, _) = app
        .call(
            Some(&admin()),
            Method::PUT,
            &format!("/admin/providers/pooled/{pool_id}/grants/{acme}"),
            Some(json!({ "requests_per_minute": 30, "tokens_per_month": 500_000 })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, chosen) = app
        .get(
            &runtime(),
            &format!("{}?module=itsm-triage-agent", selection(acme)),
        )
        .await;
    assert_eq!(status, 200, "{chosen}");
    assert_eq!(
        (&chosen["name"], &chosen["pooled"]),
        (&json!("msp-pool"), &json!(true))
    );
    assert_eq!(chosen["requests_per_minute"], 30);
    assert!(
        chosen["reason"]
            .as_str()
            .unwrap()
            .contains("pooled connection msp-pool is shared"),
        "{chosen}"
    );

    // Acme's own key arrives: it comes first.
    let minted = app
        .mint(acme, pending["requests"][0]["request_id"].as_str().unwrap())
        .await;
    app.redeem(minted["url"].as_str().unwrap(), GOOD_KEY).await;
    let (_, chosen) = app
        .get(&runtime(), &format!("{}?model=gpt-4o", selection(acme)))
        .await;
    assert_eq!(
        (&chosen["name"], &chosen["pooled"], &chosen["model"]),
        (&json!("acme-pending"), &json!(false), &json!("gpt-4o"))
    );
    assert_eq!(chosen["base_url"], app.providers.openai.as_str());
    // Asked for a kind: only connections of that kind.
    let (_, chosen) = app
        .get(&runtime(), &format!("{}?kind=anthropic", selection(acme)))
        .await;
    assert_eq!(chosen["name"], "msp-pool");
    assert_eq!(
        chosen["considered"][0]["reason"],
        "a openai connection, not anthropic"
    );
    let (status, _) = app
        .get(
            &runtime(),
            &format!("{}?kind=azure_openai", selection(acme)),
        )
        .await;
    assert_eq!(status, 409);

    // The tenant's people may see the answer; a tenant never another's.
    let (status, _) = app
        .get(&As::tenant(Role::Operator, acme), &selection(acme))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .get(&As::tenant(Role::Operator, globex), &selection(acme))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn keys_are_released_to_the_runtime_alone_and_every_release_is_audited() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("ACTIVE").await;
    let globex = app.tenant("ACTIVE").await;
    let connection = app.keyed(acme, "primary", GOOD_KEY).await;
    let theirs = app.keyed(globex, "theirs", "sk-test-good-globex").await;

    let answer = app
        .client
        .http
        .post(format!(
            "{}{}",
            app.client.base,
            key_path(acme, &connection)
        ))
        .bearer_auth(app.client.token(&runtime()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let released: Value = answer.json().await.unwrap();
    assert_eq!(
        (&released["key"], &released["version"]),
        (&json!(GOOD_KEY), &json!(1))
    );
    assert_eq!(released["base_url"], app.providers.openai.as_str());

    // Nobody else, however high.
    for who in [
        admin(),
        integrator(acme),
        As::platform(Role::PlatformAuditor),
        As::tenant(Role::WorkspaceAdmin, acme),
    ] {
        let (status, body) = app
            .post(&who, &key_path(acme, &connection), json!({}))
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(!body.to_string().contains(GOOD_KEY));
    }
    // Never another tenant's key through this tenant, nor a pooled one not shared.
    let (status, _) = app
        .post(&runtime(), &key_path(acme, &theirs), json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, released) = app
        .post(&runtime(), &key_path(globex, &theirs), json!({}))
        .await;
    assert_eq!(
        (status, &released["key"]),
        (200, &json!("sk-test-good-globex"))
    );
    let (status, _) = app
        .post(
            &runtime(),
            &key_path(acme, &connection),
            json!({ "version": 7 }),
        )
        .await;
    assert_eq!(status, 410);

    let outbox = app.outbox().await;
    let releases: Vec<&Value> = outbox
        .iter()
        .filter(|e| {
            e.ce_type == "plinth.audit.event" && e.payload["action"] == "provider.key_release"
        })
        .map(|e| &e.payload)
        .collect();
    let allowed: Vec<&&Value> = releases
        .iter()
        .filter(|r| r["outcome"] == "ALLOWED")
        .collect();
    assert_eq!(allowed.len(), 2, "one audit entry per release");
    assert_eq!(allowed[0]["actor"], "plinth-runtime");
    assert_eq!(allowed[0]["tenant_id"], acme.to_string());
    assert!(releases.iter().filter(|r| r["outcome"] == "DENIED").count() >= 4);
    for event in &outbox {
        assert!(
            !event.payload.to_string().contains(GOOD_KEY),
            "{}",
            event.ce_type
        );
    }
}

#[tokio::test]
async fn a_runtime_calling_all_through_a_rotation_never_fails() {
    let app = Arc::new(TestApp::spawn().await);
    let acme = app.tenant("ACTIVE").await;
    let connection = app.keyed(acme, "primary", GOOD_KEY).await;
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let newest = Arc::new(AtomicI64::new(0));
    let caller = {
        let (app, stop, calls, newest) = (app.clone(), stop.clone(), calls.clone(), newest.clone());
        tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (status, chosen) = app.get(&runtime(), &selection(acme)).await;
                if status != 200 {
                    failures.push(format!("selection {status} {chosen}"));
                    continue;
                }
                let path = format!(
                    "/runtime/providers/tenants/{acme}/connections/{}/key",
                    chosen["connection_id"].as_str().unwrap()
                );
                let (status, key) = app.post(&runtime(), &path, json!({})).await;
                calls.fetch_add(1, Ordering::Relaxed);
                if status == 200 {
                    newest.fetch_max(key["version"].as_i64().unwrap(), Ordering::Relaxed);
                } else {
                    failures.push(format!("release {status} {key}"));
                }
            }
            failures
        })
    };
    let at_least = |n: usize| {
        let calls = calls.clone();
        async move {
            plinth_testkit::wait_until(
                "the runtime's calls",
                std::time::Duration::from_secs(60),
                || async { calls.load(Ordering::Relaxed) >= n },
            )
            .await;
        }
    };
    at_least(20).await;
    assert_eq!(newest.load(Ordering::Relaxed), 1);
    let path = format!(
        "/admin/providers/tenants/{acme}/connections/{}",
        connection["connection_id"].as_str().unwrap()
    );
    let (status, request) = app
        .post(&integrator(acme), &format!("{path}/rotate"), json!({}))
        .await;
    assert_eq!(status, 201);
    let minted = app
        .mint(acme, request["request_id"].as_str().unwrap())
        .await;
    let (status, _) = app
        .redeem(minted["url"].as_str().unwrap(), "sk-test-good-next")
        .await;
    assert_eq!(status, 200);
    let rotated_at = calls.load(Ordering::Relaxed);
    at_least(rotated_at + 20).await;
    stop.store(true, Ordering::Relaxed);
    let failures = caller.await.unwrap();
    let total = calls.load(Ordering::Relaxed);
    println!("{total} selections and releases, {rotated_at} before the new key was active");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        newest.load(Ordering::Relaxed),
        2,
        "the runtime moved to the new key"
    );
}
