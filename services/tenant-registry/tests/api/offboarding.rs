//! Offboarding: a suspended tenant leaves through the cleanup checklist, with the
//! other services played by real events on the real broker.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{As, TestApp, item, state, tenant_body};

#[tokio::test]
async fn a_suspended_tenant_is_offboarded_when_every_cleanup_item_is_satisfied() {
    let app = TestApp::spawn().await;
    let admin = As::platform_admin();
    let (_, t) = app.create(&admin, tenant_body("acme", "us")).await;
    let id = t["tenant_id"].as_str().unwrap().to_owned();
    let base = format!("/admin/tenants/{id}/offboarding");
    let reason = json!({"reason": "contract ended 2026-12-31"});

    // An ACTIVE tenant is suspended first; nothing is opened when it is refused.
    app.force_status(&id, "ACTIVE").await;
    let (status, problem) = app
        .call(Some(&admin), Method::POST, &base, Some(reason.clone()))
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "invalid_transition");
    assert_eq!(problem["allowed"], json!(["SUSPENDED"]));
    let (status, _) = app.call(Some(&admin), Method::GET, &base, None).await;
    assert_eq!(status, 404, "nothing was opened");
    let (status, _) = app
        .call(
            Some(&admin),
            Method::PATCH,
            &format!("/admin/tenants/{id}/status"),
            Some(json!({"status": "SUSPENDED"})),
        )
        .await;
    assert_eq!(status, 200);

    // Bad bodies are refused with the field named.
    for (body, field) in [
        (json!({"reason": "  "}), "reason"),
        (json!({}), "body"),
        (json!({"reason": "x", "purge": true}), "purge"),
    ] {
        let (status, problem) = app
            .call(Some(&admin), Method::POST, &base, Some(body))
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (400, Some(field)),
            "{problem}"
        );
    }
    let tenant_role = As::tenant(plinth_core::Role::WorkspaceAdmin, id.parse().unwrap());
    let (status, _) = app
        .call(
            Some(&tenant_role),
            Method::POST,
            &base,
            Some(reason.clone()),
        )
        .await;
    assert_eq!(status, 403, "a tenant cannot offboard itself");
    let (_, tenant) = app.get(&admin, &id).await;
    assert_eq!(tenant["status"], "SUSPENDED", "no refusal changed anything");

    let (status, opened) = app
        .call(Some(&admin), Method::POST, &base, Some(reason.clone()))
        .await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["status"], "OFFBOARDING");
    assert_eq!(opened["reason"], "contract ended 2026-12-31");
    let guidance: Vec<(&str, &str)> = opened["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap(), i["owner"].as_str().unwrap()))
        .collect();
    assert_eq!(
        guidance,
        [
            ("audit_log_sealed", "audit"),
            ("policy_withdrawn", "policy"),
            ("pack_config_withdrawn", "pack-service"),
            ("modules_disabled", "module-catalog"),
            ("provider_keys_destroyed", "provider-setup"),
            ("provider_keys_revoked", "operator"),
            ("data_handed_over", "operator"),
        ]
    );
    assert!(
        item(&opened, "audit_log_sealed")["description"]
            .as_str()
            .unwrap()
            .contains("retained"),
        "each item says what happens to the tenant's data: {opened}"
    );
    let outbox = app.outbox().await;
    let requested = outbox
        .iter()
        .find(|o| o.ce_type == "plinth.tenant.offboarding_requested")
        .expect("the services are asked to clean up");
    assert_eq!(requested.key, id);
    assert_eq!(requested.payload["reason"], "contract ended 2026-12-31");
    assert_eq!(
        requested.payload["items"],
        json!([
            {"key": "audit_log_sealed", "owner": "audit"},
            {"key": "policy_withdrawn", "owner": "policy"},
            {"key": "pack_config_withdrawn", "owner": "pack-service"},
            {"key": "modules_disabled", "owner": "module-catalog"},
            {"key": "provider_keys_destroyed", "owner": "provider-setup"},
        ])
    );
    let changed = outbox
        .iter()
        .rfind(|o| o.ce_type == "plinth.tenant.status_changed")
        .unwrap();
    assert_eq!(
        (
            &changed.payload["from_status"],
            &changed.payload["to_status"]
        ),
        (&json!("SUSPENDED"), &json!("OFFBOARDING"))
    );

    // No way back, and no second request.
    let (status, problem) = app
        .call(
            Some(&admin),
            Method::PATCH,
            &format!("/admin/tenants/{id}/status"),
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!(
        (status, problem["allowed"].clone()),
        (409, json!(["OFFBOARDED"]))
    );
    let (status, _) = app
        .call(Some(&admin), Method::POST, &base, Some(reason.clone()))
        .await;
    assert_eq!(status, 409);

    // The services answer; the policy service fails first, then succeeds on retry.
    // A late onboarding answer belongs to the other checklist and changes nothing.
    app.answer("plinth.audit.store_provisioned", &id, "audit_store", None)
        .await;
    let sealed = app
        .answer("plinth.audit.deprovisioned", &id, "audit_log_sealed", None)
        .await;
    app.answer(
        "plinth.policy.deprovisioning_failed",
        &id,
        "policy_withdrawn",
        Some("approvals still open"),
    )
    .await;
    app.answer(
        "plinth.pack.deprovisioned",
        &id,
        "pack_config_withdrawn",
        None,
    )
    .await;
    app.answer("plinth.module.deprovisioned", &id, "modules_disabled", None)
        .await;
    app.answer(
        "plinth.provider.deprovisioned",
        &id,
        "provider_keys_destroyed",
        None,
    )
    .await;
    let seen = app
        .wait_for_checklist(&id, "offboarding", "five answers", |o| {
            state(o, "audit_log_sealed") == "satisfied"
                && state(o, "policy_withdrawn") == "failed"
                && state(o, "pack_config_withdrawn") == "satisfied"
                && state(o, "modules_disabled") == "satisfied"
                && state(o, "provider_keys_destroyed") == "satisfied"
        })
        .await;
    assert_eq!(
        item(&seen, "policy_withdrawn")["reason"],
        "approvals still open"
    );
    assert_eq!(seen["status"], "OFFBOARDING");

    let (status, retried) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/policy_withdrawn/retry"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(state(&retried, "policy_withdrawn"), "pending");
    let retry = app
        .outbox()
        .await
        .into_iter()
        .find(|o| o.ce_type == "plinth.tenant.offboarding_item_retry")
        .unwrap();
    assert_eq!(
        retry.payload["items"],
        json!([{"key": "policy_withdrawn", "owner": "policy"}])
    );
    app.answer("plinth.policy.deprovisioned", &id, "policy_withdrawn", None)
        .await;
    app.wait_for_checklist(&id, "offboarding", "the retried item", |o| {
        state(o, "policy_withdrawn") == "satisfied"
    })
    .await;

    // The operator items close the checklist.
    let (status, _) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/audit_log_sealed/confirm"),
            None,
        )
        .await;
    assert_eq!(status, 409, "a service's item is not confirmed by hand");
    let (_, still) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/provider_keys_revoked/confirm"),
            None,
        )
        .await;
    assert_eq!(still["status"], "OFFBOARDING", "one item left");
    let (status, done) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/data_handed_over/confirm"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "OFFBOARDED");
    assert!(done["completed_at"].is_string());
    let (_, tenant) = app.get(&admin, &id).await;
    assert_eq!(tenant["status"], "OFFBOARDED");

    // The end: nothing moves an OFFBOARDED tenant, and a repeated answer changes
    // nothing.
    let (status, problem) = app
        .call(
            Some(&admin),
            Method::PATCH,
            &format!("/admin/tenants/{id}/status"),
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!((status, problem["allowed"].clone()), (409, json!([])));
    let (status, problem) = app
        .call(
            Some(&admin),
            Method::POST,
            &format!("{base}/items/data_handed_over/confirm"),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    let outbox_before = app.outbox().await.len();
    app.deliver(&sealed).await;
    app.answer("plinth.audit.deprovisioned", &id, "audit_log_sealed", None)
        .await;
    // Seven distinct answers reached the consumer: the redelivered one is recognised,
    // not recorded again, and precedes the fresh one on the same partition.
    app.wait_for_inbox(7).await;
    let outbox = app.outbox().await;
    assert_eq!(
        outbox.len(),
        outbox_before,
        "repeated answers publish nothing"
    );
    let offboarded: Vec<_> = outbox
        .iter()
        .filter(|o| o.ce_type == "plinth.tenant.offboarded")
        .collect();
    assert_eq!(offboarded.len(), 1);
    assert_eq!(offboarded[0].key, id);
    let audit_actions: Vec<&str> = outbox
        .iter()
        .filter(|o| o.ce_type == "plinth.audit.event")
        .map(|o| o.payload["action"].as_str().unwrap())
        .filter(|a| a.starts_with("tenant.offboard"))
        .collect();
    assert_eq!(
        audit_actions,
        [
            "tenant.offboarding_request", // refused: ACTIVE
            "tenant.offboarding_request", // refused: blank reason
            "tenant.offboarding_request", // refused: no reason
            "tenant.offboarding_request", // refused: unknown field
            "tenant.offboarding_request", // refused: a tenant role
            "tenant.offboarding_request",
            "tenant.offboarding_request", // refused: already OFFBOARDING
            "tenant.offboarding_item_update",
            "tenant.offboarding_item_update",
            "tenant.offboarding_item_update",
            "tenant.offboarding_item_update",
            "tenant.offboarding_item_update",
            "tenant.offboarding_item_retry",
            "tenant.offboarding_item_update",
            "tenant.offboarding_item_confirm", // refused: a service's item
            "tenant.offboarding_item_confirm",
            "tenant.offboarding_item_confirm",
            "tenant.offboard",
            "tenant.offboarding_item_confirm", // refused: OFFBOARDED
        ]
    );
}
