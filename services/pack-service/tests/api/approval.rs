//! Optional approval: with it on, an activation becomes a change request that an
//! approver of the tenant — not the person who asked — approves (activating the
//! pair) or rejects (changing nothing).

use plinth_core::{DataMode, Role};
use serde_json::json;

use crate::helpers::{As, TestApp, admin};

#[tokio::test]
async fn an_approver_other_than_the_requester_decides_and_only_approval_activates() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let admin_of = As::tenant(Role::WorkspaceAdmin, tenant).named("dana@acme.example");
    let (status, first) = app.activate(tenant, "3.2.0", None).await;
    assert_eq!(status, 200, "{first}");

    // Only the tenant's administrators turn approval on.
    let settings = format!("/admin/packs/tenant/{tenant}/settings");
    let (status, _) = app
        .call(
            Some(&As::tenant(Role::Operator, tenant)),
            reqwest::Method::PUT,
            &settings,
            Some(json!({ "approval_required": true })),
        )
        .await;
    assert_eq!(status, 403);
    let (status, on) = app
        .call(
            Some(&admin_of),
            reqwest::Method::PUT,
            &settings,
            Some(json!({ "approval_required": true })),
        )
        .await;
    assert_eq!(status, 200, "{on}");
    assert_eq!(on["approval_required"], true);

    // Requesting: a pending change, nothing activated yet.
    let request = json!({
        "tenant_id": tenant.to_string(), "domain": "finance", "domain_pack_version": "3.3.0"
    });
    // The requester is an approver too: that still does not let them decide.
    let requester = admin_of.clone().also(Role::Approver);
    let (status, change) = app
        .post(&requester, "/admin/packs/activate", request.clone())
        .await;
    assert_eq!(status, 202, "{change}");
    assert_eq!(change["status"], "PENDING");
    assert_eq!(change["requested_by"], "dana@acme.example");
    let change_id = change["change_id"].as_str().unwrap().to_owned();
    let active = format!("/admin/packs/tenant/{tenant}/active");
    let (_, now) = app.get(&admin(), &active).await;
    assert_eq!(now["active"]["domain_pack_version"], "3.2.0");
    assert_eq!(now["approval_required"], true);

    let approve = format!("/admin/packs/tenant/{tenant}/changes/{change_id}/approve");
    let reject = format!("/admin/packs/tenant/{tenant}/changes/{change_id}/reject");
    let (status, problem) = app.post(&requester, &approve, json!({})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("own_change")),
        "{problem}"
    );
    // Not an approver: the platform team, the tenant's admin, an operator.
    for who in [
        admin(),
        As::tenant(Role::WorkspaceAdmin, tenant).named("erin@acme.example"),
        As::tenant(Role::Operator, tenant).named("erin@acme.example"),
    ] {
        let (status, problem) = app.post(&who, &approve, json!({})).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("forbidden")),
            "{who:?}"
        );
    }
    // Another tenant's approver: no such tenant for them.
    let other = app.tenant(DataMode::MetadataOnly).await;
    let (status, _) = app
        .post(
            &As::tenant(Role::Approver, other).named("finn@globex.example"),
            &approve,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);

    // Rejected: the active configuration is as it was, and the change is closed.
    let approver = As::tenant(Role::Approver, tenant).named("gus@acme.example");
    let (status, rejected) = app
        .post(
            &approver,
            &reject,
            json!({ "note": "wait for the quarter's close" }),
        )
        .await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["decided_by"], "gus@acme.example");
    let (_, now) = app.get(&admin(), &active).await;
    assert_eq!(now["active"]["activation_id"], first["activation_id"]);
    let (status, problem) = app.post(&approver, &approve, json!({})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("change_decided"))
    );

    // Asked again and approved: now it is active, by way of the change.
    let (status, change) = app.post(&requester, "/admin/packs/activate", request).await;
    assert_eq!(status, 202);
    let change_id = change["change_id"].as_str().unwrap();
    let (status, approved) = app
        .post(
            &approver,
            &format!("/admin/packs/tenant/{tenant}/changes/{change_id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "APPROVED");
    let (_, now) = app.get(&admin(), &active).await;
    assert_eq!(now["active"]["domain_pack_version"], "3.3.0");
    assert_eq!(now["active"]["change_id"], change_id);
    assert_eq!(now["active"]["reason"], "approval");
    let (_, changes) = app
        .get(&approver, &format!("/admin/packs/tenant/{tenant}/changes"))
        .await;
    let statuses: Vec<&str> = changes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["APPROVED", "REJECTED"]);
    let types: Vec<String> = app.outbox().await.into_iter().map(|e| e.ce_type).collect();
    for ty in [
        "plinth.config_change.requested",
        "plinth.config_change.rejected",
        "plinth.config_change.approved",
    ] {
        assert!(types.iter().any(|t| t == ty), "{ty}");
    }
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "plinth.pack.activated")
            .count(),
        2,
        "the first activation and the approved one"
    );
}

#[tokio::test]
async fn approval_is_switched_off_only_by_an_approver_who_then_does_not_activate_alone() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let settings = format!("/admin/packs/tenant/{tenant}/settings");
    let put = |who: As, on: bool| {
        let (app, settings) = (&app, &settings);
        async move {
            app.call(
                Some(&who),
                reqwest::Method::PUT,
                settings,
                Some(json!({ "approval_required": on })),
            )
            .await
        }
    };
    let dana = As::tenant(Role::WorkspaceAdmin, tenant).named("dana@acme.example");
    let ari = As::tenant(Role::WorkspaceAdmin, tenant)
        .also(Role::Approver)
        .named("ari@acme.example");
    assert_eq!(put(dana.clone(), true).await.0, 200);

    // The administrator alone cannot switch it off again.
    let (status, refused) = put(dana.clone(), false).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("approver_required"))
    );
    let (_, now) = app.get(&admin(), &settings).await;
    assert_eq!(now["approval_required"], true, "nothing changed");

    // An approver can, and the waiver is audited as one.
    let (status, off) = put(ari.clone(), false).await;
    assert_eq!(status, 200, "{off}");
    let waiver = app
        .outbox()
        .await
        .into_iter()
        .rfind(|e| e.payload["action"] == "pack.settings.update")
        .unwrap();
    assert_eq!(waiver.payload["details"]["waived"], "true");
    assert_eq!(waiver.payload["actor"], "ari@acme.example");

    // The approver who waived it does not activate without approval; someone
    // else does.
    let request = json!({
        "tenant_id": tenant.to_string(), "domain": "finance", "domain_pack_version": "3.2.0"
    });
    let (status, refused) = app
        .post(&ari, "/admin/packs/activate", request.clone())
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("approval_waived_by_activator")),
        "{refused}"
    );
    let (status, activated) = app.post(&dana, "/admin/packs/activate", request).await;
    assert_eq!(status, 200, "{activated}");
}
