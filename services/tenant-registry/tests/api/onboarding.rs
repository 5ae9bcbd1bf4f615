//! The onboarding contract and its saga, with the other services played by real
//! events on the real broker.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{As, TestApp, item, state, tenant_body};

#[tokio::test]
async fn a_tenant_becomes_active_when_every_readiness_item_is_satisfied() {
    let app = TestApp::spawn().await;
    let admin = As::platform_admin();
    let (_, t) = app.create(&admin, tenant_body("acme", "us")).await;
    let id = t["tenant_id"].as_str().unwrap().to_owned();
    let base = format!("/admin/tenants/{id}/onboarding");

    let (status, opened) = app
        .call(
            Some(&admin),
            Method::POST,
            &base,
            Some(json!({"requested_modules": ["ticket-triage"]})),
        )
        .await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["status"], "ONBOARDING");
    let keys: Vec<&str> = opened["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "audit_store",
            "policy_registry",
            "pack_defaults",
            "module_defaults",
            "provider_setup",
            "owner_contact_confirmed",
            "sso_mapping"
        ]
    );
    assert!(
        opened["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "pending")
    );
    let outbox = app.outbox().await;
    let requested = outbox
        .iter()
        .find(|o| o.ce_type == "plinth.tenant.onboarding_requested")
        .unwrap();
    assert_eq!(requested.key, id);
    let asked: Vec<&str> = requested.payload["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        asked,
        [
            "audit_store",
            "policy_registry",
            "pack_defaults",
            "module_defaults",
            "provider_setup"
        ],
        "services are asked for theirs"
    );
    assert_eq!(
        requested.payload["requested_modules"],
        json!(["ticket-triage"])
    );

    // The services answer; the pack service fails first, then succeeds on retry.
    let stored = app
        .answer("plinth.audit.store_provisioned", &id, "audit_store", None)
        .await;
    app.answer(
        "plinth.policy.registry_enrolled",
        &id,
        "policy_registry",
        None,
    )
    .await;
    app.answer(
        "plinth.pack.defaults_assignment_failed",
        &id,
        "pack_defaults",
        Some("no default pack for this domain"),
    )
    .await;
    app.answer(
        "plinth.module.defaults_enabled",
        &id,
        "module_defaults",
        None,
    )
    .await;
    app.answer("plinth.provider.setup_ready", &id, "provider_setup", None)
        .await;
    let seen = app
        .wait_for_checklist(&id, "onboarding", "five answers", |o| {
            state(o, "audit_store") == "satisfied"
                && state(o, "policy_registry") == "satisfied"
                && state(o, "pack_defaults") == "failed"
                && state(o, "module_defaults") == "satisfied"
                && state(o, "provider_setup") == "satisfied"
        })
        .await;
    assert_eq!(
        item(&seen, "pack_defaults")["reason"],
        "no default pack for this domain"
    );
    assert_eq!(seen["status"], "ONBOARDING");

    let (status, problem) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/audit_store/retry"),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invalid_transition")),
        "only failed items are retried"
    );
    let (status, retried) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/pack_defaults/retry"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(state(&retried, "pack_defaults"), "pending");
    let retry = app
        .outbox()
        .await
        .into_iter()
        .find(|o| o.ce_type == "plinth.tenant.onboarding_item_retry")
        .unwrap();
    assert_eq!(
        retry.payload["items"],
        json!([{"key": "pack_defaults", "owner": "pack-service"}])
    );
    app.answer("plinth.pack.defaults_assigned", &id, "pack_defaults", None)
        .await;
    app.wait_for_checklist(&id, "onboarding", "the retried item", |o| {
        state(o, "pack_defaults") == "satisfied"
    })
    .await;

    // A service cannot be confirmed by hand; the operator items can.
    let (status, _) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/audit_store/confirm"),
            None,
        )
        .await;
    assert_eq!(status, 409);
    let (_, still) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/owner_contact_confirmed/confirm"),
            None,
        )
        .await;
    assert_eq!(still["status"], "ONBOARDING", "one item left");
    let (status, done) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/sso_mapping/confirm"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "ACTIVE");
    assert!(done["completed_at"].is_string());
    let (_, tenant) = app.get(&admin, &id).await;
    assert_eq!(tenant["status"], "ACTIVE");

    // The same answer delivered again, and a fresh one for a satisfied item, change
    // nothing.
    app.deliver(&stored).await;
    app.answer("plinth.audit.store_provisioned", &id, "audit_store", None)
        .await;
    app.answer(
        "plinth.policy.registry_enrolled",
        &id,
        "policy_registry",
        None,
    )
    .await;
    let outbox_before = app.outbox().await.len();
    // Repeated answers change nothing visible, so wait on the consumer's inbox: seven
    // distinct events (the redelivered one is recognised, not recorded again; it
    // precedes the fresh audit answer on the same partition).
    app.wait_for_inbox(7).await;
    assert_eq!(
        app.outbox().await.len(),
        outbox_before,
        "no new events from repeated answers"
    );

    let outbox = app.outbox().await;
    let types: Vec<&str> = outbox.iter().map(|o| o.ce_type.as_str()).collect();
    let activated = types
        .iter()
        .filter(|t| **t == "plinth.tenant.activated")
        .count();
    assert_eq!(activated, 1);
    let item_updates = outbox
        .iter()
        .filter(|o| {
            o.ce_type == "plinth.audit.event"
                && o.payload["action"] == "tenant.onboarding_item_update"
        })
        .count();
    assert_eq!(
        item_updates, 6,
        "one audit event per answer that changed something"
    );
}

#[tokio::test]
async fn activation_is_refused_clearly_when_it_cannot_start() {
    let app = TestApp::spawn().await;
    let admin = As::platform_admin();
    let (_, t) = app.create(&admin, tenant_body("acme", "us")).await;
    let id = t["tenant_id"].as_str().unwrap().to_owned();
    let base = format!("/admin/tenants/{id}/onboarding");

    let (status, problem) = app
        .call(
            Some(&admin),
            Method::POST,
            &base,
            Some(json!({"deployment_model": "self_hosted_enterprise"})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "deployment_model_not_offered");
    assert_eq!(problem["available"], json!(["hosted_saas", "hybrid"]));
    assert!(
        problem["remedy"]
            .as_str()
            .unwrap()
            .contains("self_hosted_enterprise")
    );
    let (status, _) = app.call(Some(&admin), Method::GET, &base, None).await;
    assert_eq!(status, 404, "nothing was opened");

    let (status, _) = app
        .call(Some(&admin), Method::POST, &base, Some(json!({})))
        .await;
    assert_eq!(status, 201);
    let (status, problem) = app
        .call(Some(&admin), Method::POST, &base, Some(json!({})))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    let (status, problem) = app
        .call(
            Some(&As::tenant(
                plinth_core::Role::WorkspaceAdmin,
                serde_json::from_value(json!(id)).unwrap(),
            )),
            Method::POST,
            &format!("{base}/items/sso_mapping/confirm"),
            None,
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
}
