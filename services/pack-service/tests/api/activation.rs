//! Activation: explicit, atomic for the pair, refused with every reason when the
//! pair (or a linked playbook) does not fit — leaving the active configuration
//! as it was; rollback is a new activation of an earlier pair; who and when are
//! recorded.

use plinth_core::{DataMode, Role};
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, admin, example};

fn codes(problem: &Value) -> Vec<String> {
    let mut codes: Vec<String> = problem["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("reasons listed: {problem}"))
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn an_incompatible_pair_is_refused_with_every_reason_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    let (status, active) = app.activate(tenant, "3.2.0", Some("1.4.0")).await;
    assert_eq!(status, 200, "{active}");
    let link = app
        .post(
            &As::tenant(Role::WorkspaceAdmin, tenant),
            &format!("/admin/packs/tenant/{tenant}/playbooks"),
            json!({ "playbook": "invoice-dispute-triage", "version": "1.0.0" }),
        )
        .await;
    assert_eq!(link.0, 200, "{}", link.1);

    // 3.4.0: nothing overridable but the default queue, no credit tool, and no
    // playbooks of its own.
    let mut lean = example("finance-3.2.0.json");
    lean["version"] = json!("3.4.0");
    lean["overridable"] = json!(["/classification/default/queue"]);
    lean["tools"] = json!([{ "id": "erp.lookup_invoice" }, { "id": "email.send" }]);
    lean["playbooks"] = json!([]);
    let (status, body) = app.post(&admin(), "/admin/packs/domain/import", lean).await;
    assert_eq!(status, 201, "{body}");
    // 4.0.0: outside the tenant pack's range.
    let mut four = example("finance-3.2.0.json");
    four["version"] = json!("4.0.0");
    four["playbooks"] = json!([]);
    let (status, body) = app.post(&admin(), "/admin/packs/domain/import", four).await;
    assert_eq!(status, 201, "{body}");

    let outbox_before = app.outbox().await.len();
    let (status, problem) = app.activate(tenant, "3.4.0", Some("1.4.0")).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "activation_incompatible");
    // Both overridden settings, one reason each; the linked playbook's missing
    // tool is not reached while the pair itself does not combine.
    assert_eq!(
        codes(&problem),
        ["override_not_allowed", "override_not_allowed"]
    );
    // Without the tenant pack, the pair combines and the linked playbook is what
    // does not fit.
    let (status, problem) = app.activate(tenant, "3.4.0", None).await;
    assert_eq!(status, 409);
    assert_eq!(codes(&problem), ["tool_not_declared"]);
    let (status, problem) = app.activate(tenant, "4.0.0", Some("1.4.0")).await;
    assert_eq!(status, 409);
    assert_eq!(codes(&problem), ["version_out_of_range"]);
    let (status, problem) = app.activate(tenant, "4.0.0", None).await;
    assert_eq!(status, 409);
    assert_eq!(codes(&problem), ["playbook_incompatible"], "{problem}");

    // Nothing changed: the same activation is active, the packs' statuses stand,
    // and only the refusals' audit events were written.
    let (_, now) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}/active"))
        .await;
    assert_eq!(now["active"]["activation_id"], active["activation_id"]);
    assert_eq!(now["history"].as_array().unwrap().len(), 1);
    let outbox = app.outbox().await;
    let written: Vec<_> = outbox[outbox_before..].iter().collect();
    assert_eq!(written.len(), 4);
    for event in written {
        assert_eq!(event.ce_type, "plinth.audit.event");
        assert_eq!(event.payload["outcome"], "FAILED");
        assert_eq!(event.payload["reason"], "activation_incompatible");
    }
    let (_, domains) = app
        .get(&admin(), "/admin/packs/domain?domain=finance")
        .await;
    let active_versions: Vec<&str> = domains["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "ACTIVE")
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(active_versions, ["3.2.0"]);
}

#[tokio::test]
async fn rollback_is_a_new_activation_and_each_records_who_and_when() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    let bob = As::tenant(Role::WorkspaceAdmin, tenant).named("bob@acme.example");
    let activate = |version: &'static str| {
        let bob = bob.clone();
        let app = &app;
        async move {
            app.post(
                &bob,
                "/admin/packs/activate",
                json!({
                    "tenant_id": tenant.to_string(), "domain_pack_version": version,
                    "tenant_pack_version": "1.4.0"
                }),
            )
            .await
        }
    };
    let (status, first) = activate("3.2.0").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["activated_by"], "bob@acme.example");
    assert_eq!(
        first["domain"], "finance",
        "the tenant pack names the domain"
    );
    let (status, _) = activate("3.3.0").await;
    assert_eq!(status, 200);
    let (status, rollback) = activate("3.2.0").await;
    assert_eq!(status, 200);
    assert_ne!(rollback["activation_id"], first["activation_id"]);

    let (_, active) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}/active"))
        .await;
    assert_eq!(active["active"]["activation_id"], rollback["activation_id"]);
    assert_eq!(active["active"]["domain_pack_version"], "3.2.0");
    assert_eq!(active["generation"], 3);
    let history: Vec<&str> = active["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["domain_pack_version"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["3.2.0", "3.3.0", "3.2.0"]);
    for entry in active["history"].as_array().unwrap() {
        assert_eq!(entry["activated_by"], "bob@acme.example");
        assert!(entry["activated_at"].as_str().unwrap().ends_with('Z'));
    }
    let outbox = app.outbox().await;
    let activated: Vec<_> = outbox
        .iter()
        .filter(|e| e.ce_type == "plinth.pack.activated")
        .collect();
    assert_eq!(activated.len(), 3);
    assert_eq!(activated[2].payload["domain_pack_version"], "3.2.0");
    assert_eq!(activated[2].payload["tenant_pack_version"], "1.4.0");
    assert_eq!(activated[2].key, tenant.to_string());
    let audits = outbox
        .iter()
        .filter(|e| e.payload["action"] == "pack.activate" && e.payload["outcome"] == "ALLOWED")
        .count();
    assert_eq!(audits, 3);

    // A domain named that the tenant pack is not for, a version never imported,
    // another tenant's pack: clear errors, nothing activated.
    let (status, problem) = app
        .post(
            &bob,
            "/admin/packs/activate",
            json!({ "tenant_id": tenant.to_string(), "domain": "itsm",
                    "domain_pack_version": "1.0.0", "tenant_pack_version": "1.4.0" }),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("domain")),
        "{problem}"
    );
    let (status, problem) = activate("3.9.0").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("domain_pack_version"))
    );
    let other = app.tenant(DataMode::MetadataOnly).await;
    let (status, _) = app
        .post(
            &bob,
            "/admin/packs/activate",
            json!({ "tenant_id": other.to_string(), "domain": "finance", "domain_pack_version": "3.2.0" }),
        )
        .await;
    assert_eq!(status, 404, "another tenant answers like none");
    let (status, _) = app
        .post(
            &As::tenant(Role::Operator, tenant),
            "/admin/packs/activate",
            json!({ "tenant_id": tenant.to_string(), "domain": "finance", "domain_pack_version": "3.3.0" }),
        )
        .await;
    assert_eq!(status, 403, "operators do not activate");
    let (_, after) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}/active"))
        .await;
    assert_eq!(after["history"].as_array().unwrap().len(), 3);
}
