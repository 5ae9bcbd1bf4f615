//! Validation: every rule has a broken example (`examples/packs/invalid/`) that
//! must be refused with exactly the problems it names; a dry run stores the
//! attempt and what it found; an invalid import stores nothing but the attempt.

use std::collections::BTreeSet;

use plinth_core::{DataMode, Role};
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, admin, example, invalid_examples};

fn found(errors: &Value) -> BTreeSet<(String, String)> {
    errors
        .as_array()
        .unwrap_or_else(|| panic!("errors is a list: {errors}"))
        .iter()
        .map(|e| {
            assert!(
                !e["message"].as_str().unwrap_or_default().is_empty(),
                "every problem says what is wrong: {e}"
            );
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_validation_rule_refuses_its_broken_example_with_pointer_and_code() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let examples = invalid_examples();
    assert!(examples.len() >= 30, "{} examples", examples.len());
    let mut codes = BTreeSet::new();
    for (name, example) in &examples {
        let expected: BTreeSet<(String, String)> = example["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["pointer"].as_str().unwrap().to_owned(),
                    e["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let pack = example["pack"].clone();
        let errors = match example["kind"].as_str().unwrap() {
            "playbook" => {
                let (status, body) = app.post(&admin(), "/admin/playbooks", pack).await;
                assert_eq!(status, 400, "{name}: {body}");
                assert_eq!(body["code"], "playbook_invalid", "{name}");
                body["errors"].clone()
            }
            kind => {
                let mut request = json!({ "kind": kind, "pack": pack });
                if kind == "tenant" {
                    request["tenant_id"] = json!(tenant.to_string());
                }
                let (status, report) = app.post(&admin(), "/admin/packs/validate", request).await;
                assert_eq!(status, 200, "{name}: {report}");
                assert_eq!(report["valid"], false, "{name}: {report}");
                report["errors"].clone()
            }
        };
        assert_eq!(found(&errors), expected, "{name}: {errors:#}");
        codes.extend(expected.into_iter().map(|(_, code)| code));
    }
    // The codes the examples cover: every rule of the format.
    for code in [
        "required",
        "unsupported_key",
        "not_allowed",
        "bad_format",
        "wrong_type",
        "out_of_bounds",
        "unknown_entity",
        "duplicate_rule_id",
        "unknown_field",
        "op_not_for_type",
        "wrong_value_type",
        "duplicate_tool",
        "unknown_tool",
        "invalid_version_range",
        "playbook_not_found",
        "tool_not_declared",
        "playbook_incompatible",
        "trigger_unreachable",
        "override_not_allowed_here",
        "unknown_override_path",
        "no_matching_domain_pack",
        "override_not_allowed",
        "override_breaks_pack",
        "duplicate_step_id",
    ] {
        assert!(codes.contains(code), "no example for {code}");
    }
}

#[tokio::test]
async fn the_valid_examples_validate_clean() {
    let app = TestApp::spawn().await;
    app.finance().await;
    app.publish("playbook-password-reset-1.0.0.json").await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    for (kind, file) in [
        ("domain", "finance-3.2.0.json"),
        ("domain", "itsm-1.0.0.json"),
        ("tenant", "acme-finance-1.4.0.json"),
    ] {
        let mut request = json!({ "kind": kind, "pack": example(file) });
        if kind == "tenant" {
            request["tenant_id"] = json!(tenant.to_string());
        }
        let (status, report) = app.post(&admin(), "/admin/packs/validate", request).await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(report["valid"], true, "{file}: {report}");
        assert_eq!(report["checksum"].as_str().unwrap().len(), 64);
    }
}

#[tokio::test]
async fn results_are_stored_with_the_attempt_and_an_invalid_import_stores_nothing_else() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let mut broken = example("finance-3.2.0.json");
    broken["version"] = json!("5.0.0");
    broken["colour"] = json!("blue");
    let (status, problem) = app
        .post(&admin(), "/admin/packs/domain/import", broken)
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["code"], "pack_invalid");
    assert_eq!(
        found(&problem["errors"]),
        BTreeSet::from([("/colour".to_owned(), "unsupported_key".to_owned())])
    );
    let attempt = problem["attempt_id"].as_str().unwrap();
    // Nothing stored but the attempt, which keeps what was found.
    let (status, _) = app.get(&admin(), "/admin/packs/domain/finance/5.0.0").await;
    assert_eq!(status, 404);
    let (status, stored) = app
        .get(&admin(), &format!("/admin/packs/attempts/{attempt}"))
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["outcome"], "invalid");
    assert_eq!(stored["dry_run"], false);
    assert_eq!(stored["errors"], problem["errors"]);
    assert_eq!(stored["version"], "5.0.0");
    // The platform's attempts list it, newest first; the failure is published.
    let (_, attempts) = app.get(&admin(), "/admin/packs/attempts").await;
    assert_eq!(attempts["items"][0]["attempt_id"], attempt);
    let outbox = app.outbox().await;
    let failed: Vec<_> = outbox
        .iter()
        .filter(|e| e.ce_type == "plinth.pack.validation_failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].payload["attempt_id"], attempt);
    assert_eq!(failed[0].payload["errors"][0]["code"], "unsupported_key");
    assert_eq!(failed[0].key, "platform");
    let audit = outbox
        .iter()
        .find(|e| {
            e.ce_type == "plinth.audit.event"
                && e.payload["action"] == "pack.domain.import"
                && e.payload["outcome"] == "FAILED"
        })
        .expect("the refused import is audited");
    assert_eq!(audit.payload["reason"], "pack_invalid");

    // A dry run stores its attempt too, and nothing else.
    let (_, report) = app
        .post(
            &admin(),
            "/admin/packs/validate",
            json!({ "kind": "domain", "pack": example("itsm-1.0.0.json") }),
        )
        .await;
    assert_eq!(report["valid"], true);
    let (_, stored) = app
        .get(
            &admin(),
            &format!(
                "/admin/packs/attempts/{}",
                report["attempt_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(stored["outcome"], "valid");
    assert_eq!(stored["dry_run"], true);
    let (status, _) = app.get(&admin(), "/admin/packs/domain/itsm/1.0.0").await;
    assert_eq!(status, 404, "a dry run imports nothing");
}

#[tokio::test]
async fn a_pack_with_many_long_problems_is_published_with_the_first_hundred_each_capped() {
    let app = TestApp::spawn().await;
    let mut broken = example("finance-3.2.0.json");
    broken["domain"] = json!("D".repeat(5_000));
    for n in 0..150 {
        broken[format!("{n:03}{}", "k".repeat(2_000))] = json!(n);
    }
    let (status, problem) = app
        .post(&admin(), "/admin/packs/domain/import", broken)
        .await;
    assert_eq!(status, 400);
    let listed = problem["errors"].as_array().unwrap().len();
    assert!(listed > 150, "the answer lists every problem: {listed}");
    let attempt = problem["attempt_id"].as_str().unwrap();

    let outbox = app.outbox().await;
    let failed = outbox
        .iter()
        .find(|e| e.ce_type == "plinth.pack.validation_failed")
        .unwrap();
    assert_eq!(failed.payload["attempt_id"], attempt);
    let errors = failed.payload["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 100);
    assert_eq!(failed.payload["errors_omitted"], listed as i64 - 100);
    for issue in errors {
        assert!(issue["pointer"].as_str().unwrap().len() <= 1024, "{issue}");
        assert!(issue["message"].as_str().unwrap().len() <= 1024, "{issue}");
    }
    assert_eq!(
        failed.payload["domain"],
        Value::Null,
        "an invalid domain is not its identity"
    );
    assert_eq!(failed.payload["version"], "3.2.0");
    let audit = outbox
        .iter()
        .find(|e| e.ce_type == "plinth.audit.event" && e.payload["action"] == "pack.domain.import")
        .unwrap();
    assert_eq!(audit.payload["resource_id"], Value::Null);
}

#[tokio::test]
async fn only_platform_admins_import_domain_packs_and_tenant_admins_their_tenant_packs() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let other = app.tenant(DataMode::MetadataOnly).await;
    let mut pack = example("finance-3.2.0.json");
    pack["version"] = json!("6.0.0");
    for who in [
        As::tenant(Role::WorkspaceAdmin, tenant),
        As::tenant(Role::Operator, tenant),
        As::platform(Role::PlatformAuditor),
        // MSP staff bound to chosen tenants change those tenants, not the platform.
        As::bound_admin(&[tenant]),
    ] {
        let (status, body) = app
            .post(&who, "/admin/packs/domain/import", pack.clone())
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{who:?}"
        );
    }
    let tenant_pack = |t: plinth_core::TenantId| json!({ "tenant_id": t.to_string(), "pack": example("acme-finance-1.4.0.json") });
    for who in [
        As::tenant(Role::Operator, tenant),
        As::tenant(Role::Auditor, tenant),
    ] {
        let (status, _) = app
            .post(&who, "/admin/packs/tenant/import", tenant_pack(tenant))
            .await;
        assert_eq!(status, 403, "{who:?}");
    }
    let (status, _) = app
        .post(
            &As::bound_admin(&[other]),
            "/admin/packs/tenant/import",
            tenant_pack(tenant),
        )
        .await;
    assert_eq!(status, 404, "bound staff reach their tenants only");
    // Another tenant's admin: that tenant does not exist for them.
    let (status, body) = app
        .post(
            &As::tenant(Role::WorkspaceAdmin, other),
            "/admin/packs/tenant/import",
            tenant_pack(tenant),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = app
        .post(
            &As::tenant(Role::WorkspaceAdmin, tenant),
            "/admin/packs/tenant/import",
            tenant_pack(tenant),
        )
        .await;
    assert_eq!(status, 201);
    // Readers read.
    for who in [
        As::tenant(Role::Operator, tenant),
        As::tenant(Role::Auditor, tenant),
    ] {
        let (status, list) = app
            .get(&who, &format!("/admin/packs/tenant/{tenant}"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let (status, _) = app.get(&who, "/admin/packs/domain").await;
        assert_eq!(status, 200);
    }
    let (status, _) = app
        .get(
            &As::tenant(Role::Operator, other),
            &format!("/admin/packs/tenant/{tenant}"),
        )
        .await;
    assert_eq!(status, 404, "another tenant's packs answer like no tenant");
    assert!(
        app.outbox()
            .await
            .iter()
            .any(|e| e.ce_type == "plinth.pack.imported" && e.key == tenant.to_string())
    );
}
