//! The audit service beside the real tenant registry, over the real broker: a
//! registry's allowed and refused requests reach the audit logs, and the
//! onboarding saga completes with the audit service answering its item.

use std::time::Duration;

use plinth_core::{Region, Role};
use plinth_db::testing::{TEST_APP_ROLE, TestDb};
use plinth_testkit::{As, ServiceClient, TokenKeys, test_bus_settings, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use plinth_service::ServiceSettings as _;

fn actions(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let r = &i["entry"]["record"];
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_registrys_audit_events_and_onboarding_reach_the_audit_service() {
    // Both relays run: each service's events reach the other over the broker.
    let audit = TestApp::spawn_configured(|s| s.shared.bus.relay = true).await;
    let db = TestDb::create("tenant_registry", tenant_registry::all_migrations())
        .await
        .unwrap();
    let keys = TokenKeys::generate();
    let settings = tenant_registry::Settings::with_overrides(json!({
        "http": { "port": 0 },
        "database": {
            "app_url": db.app_url(), "owner_url": db.owner_url(),
            "app_role": TEST_APP_ROLE, "pool_size": 4
        },
        "bus": test_bus_settings(&audit.bus.topic_prefix, json!({ "partitions": 1, "relay": true, "consumers": true })),
        "auth": { "internal_token_public_key": keys.public_base64url() },
        "onboarding": {
            "offered_deployment_models": ["hosted_saas"],
            "items": [{
                "key": "audit_store", "owner": "audit",
                "description": "The tenant's audit log exists and its genesis is signed",
                "satisfied_by": "plinth.audit.store_provisioned",
                "failed_by": "plinth.audit.store_provisioning_failed"
            }]
        }
    }))
    .unwrap();
    let registry = tenant_registry::Application::build(settings).await.unwrap();
    let registry_client = ServiceClient::new(
        format!("http://127.0.0.1:{}", registry.port()),
        tenant_registry::AUDIENCE,
        Region::Us,
        &keys,
    );
    tokio::spawn(registry.run_until_stopped());

    let body = json!({
        "slug": "acme", "display_name": "Acme", "region": "us",
        "deployment_model": "hosted_saas",
        "owner_contact": { "name": "Ana Owner", "email": "ana@acme.example" }
    });
    let (status, _) = registry_client
        .call(
            Some(&As::platform(Role::PlatformAuditor)),
            Method::POST,
            "/admin/tenants",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 403);
    let admin = As::platform_admin();
    let (status, tenant) = registry_client
        .call(Some(&admin), Method::POST, "/admin/tenants", Some(body))
        .await;
    assert_eq!(status, 201, "{tenant}");
    let id = tenant["tenant_id"].as_str().unwrap().to_owned();
    let (status, _) = registry_client
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/tenants/{id}/onboarding"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201);

    // The audit service answers its item; the registry activates the tenant.
    wait_until("the tenant ACTIVE", Duration::from_secs(90), || async {
        let (_, t) = registry_client
            .call(
                Some(&admin),
                Method::GET,
                &format!("/admin/tenants/{id}"),
                None,
            )
            .await;
        t["status"] == "ACTIVE"
    })
    .await;

    // Everything the registry audited for the tenant is in the tenant's log, and
    // the refused registration (no tenant yet) in the platform log.
    wait_until(
        "the activation audited",
        Duration::from_secs(90),
        || async {
            let (status, page) = audit
                .call(
                    Some(&crate::helpers::auditor()),
                    Method::GET,
                    &format!("/admin/audit/logs/{id}/entries?action=tenant.activate"),
                    None,
                )
                .await;
            status == 200 && !page["items"].as_array().unwrap().is_empty()
        },
    )
    .await;
    let log = actions(&audit.get(&format!("/admin/audit/logs/{id}/entries")).await);
    for expected in [
        ("audit.log_created", "ALLOWED"),
        ("tenant.create", "ALLOWED"),
        ("tenant.onboarding_request", "ALLOWED"),
        ("tenant.onboarding_item_update", "ALLOWED"),
        ("tenant.activate", "ALLOWED"),
    ] {
        assert!(
            log.iter()
                .any(|(a, o)| (a.as_str(), o.as_str()) == expected),
            "{expected:?} in {log:?}"
        );
    }
    let platform = actions(&audit.get("/admin/audit/logs/platform/entries").await);
    assert!(
        platform.contains(&("tenant.create".to_owned(), "DENIED".to_owned())),
        "{platform:?}"
    );
    let verdict = audit
        .call(
            Some(&crate::helpers::auditor()),
            Method::POST,
            &format!("/admin/audit/logs/{id}/verify"),
            Some(json!({})),
        )
        .await
        .1;
    assert_eq!(verdict["ok"], true, "{verdict}");
}
