//! Pooled connections: the platform's keys, created and keyed by the unbound
//! platform team through the same delegated links, shared with chosen tenants
//! under limits; a tenant sees a pooled connection only while it is shared
//! with it, and never its workings.

use plinth_core::Role;
use plinth_providers::ProviderKind;
use serde_json::json;

use crate::helpers::{As, GOOD_KEY, TestApp, admin, integrator};

#[tokio::test]
async fn a_pooled_connection_is_keyed_by_the_platform_and_shared_under_limits() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("ACTIVE").await;
    let globex = app.tenant("ACTIVE").await;
    let body = json!({
        "name": "msp-anthropic", "kind": "anthropic", "base_url": app.providers.anthropic,
        "default_model": "claude-haiku-4-5"
    });
    // The platform team's alone, unbound.
    for who in [
        integrator(acme),
        As::platform(Role::PlatformAuditor),
        As::bound_admin(&[acme]),
    ] {
        let (status, _) = app
            .post(&who, "/admin/providers/pooled", body.clone())
            .await;
        assert_eq!(status, 403);
    }
    let (status, created) = app.post(&admin(), "/admin/providers/pooled", body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (&created["pooled"], &created["tenant_id"]),
        (&json!(true), &json!(null))
    );
    let id = created["connection_id"].as_str().unwrap();
    let request = created["requests"][0]["request_id"].as_str().unwrap();
    let (status, minted) = app
        .post(
            &admin(),
            &format!("/admin/providers/pooled/setup-requests/{request}/links"),
            json!({ "minutes": 10 }),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    let (status, redeemed) = app.redeem(minted["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!(status, 200, "{redeemed}");
    assert_eq!(app.providers.calls(ProviderKind::Anthropic), 1);

    // Not a tenant's until shared.
    let list = |tenant| format!("/admin/providers/tenants/{tenant}/connections");
    let (_, seen) = app.get(&integrator(acme), &list(acme)).await;
    assert_eq!(seen["items"], json!([]));
    let grant = format!("/admin/providers/pooled/{id}/grants/{acme}");
    let limits = json!({ "requests_per_minute": 60, "tokens_per_month": 2_000_000 });
    let (status, _) = app
        .call(
            Some(&integrator(acme)),
            reqwest::Method::PUT,
            &grant,
            Some(limits.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let (status, bad) = app
        .call(
            Some(&admin()),
            reqwest::Method::PUT,
            &grant,
            Some(json!({ "requests_per_minute": 0, "tokens_per_month": 1 })),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let (status, granted) = app
        .call(Some(&admin()), reqwest::Method::PUT, &grant, Some(limits))
        .await;
    assert_eq!(status, 200, "{granted}");

    // Acme sees it with its limits, not its keys or requests; Globex does not.
    let (_, seen) = app.get(&integrator(acme), &list(acme)).await;
    let items = seen["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{seen}");
    assert_eq!(items[0]["grant"]["requests_per_minute"], 60);
    assert_eq!(items[0]["status"], "ACTIVE");
    let (status, one) = app
        .get(
            &integrator(acme),
            &format!("/admin/providers/tenants/{acme}/connections/{id}"),
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert!(
        one.get("keys").is_none() && one.get("requests").is_none(),
        "{one}"
    );
    let (_, seen) = app.get(&integrator(globex), &list(globex)).await;
    assert_eq!(seen["items"], json!([]));
    let (status, _) = app
        .get(
            &integrator(globex),
            &format!("/admin/providers/tenants/{globex}/connections/{id}"),
        )
        .await;
    assert_eq!(status, 404);
    // A tenant's administrators cannot rotate or mint for it.
    let (status, _) = app
        .post(
            &integrator(acme),
            &format!("/admin/providers/tenants/{acme}/connections/{id}/rotate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);

    let (_, grants) = app
        .get(&admin(), &format!("/admin/providers/pooled/{id}/grants"))
        .await;
    assert_eq!(grants["items"].as_array().unwrap().len(), 1);
    let (status, _) = app
        .call(Some(&admin()), reqwest::Method::DELETE, &grant, None)
        .await;
    assert_eq!(status, 204);
    let (_, seen) = app.get(&integrator(acme), &list(acme)).await;
    assert_eq!(seen["items"], json!([]));
    let (status, _) = app
        .call(Some(&admin()), reqwest::Method::DELETE, &grant, None)
        .await;
    assert_eq!(status, 404);

    let types: Vec<String> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type.starts_with("plinth.provider.pool_"))
        .map(|e| format!("{} {}", e.ce_type, e.key))
        .collect();
    assert_eq!(
        types,
        [
            format!("plinth.provider.pool_granted {acme}"),
            format!("plinth.provider.pool_withdrawn {acme}")
        ]
    );
}
