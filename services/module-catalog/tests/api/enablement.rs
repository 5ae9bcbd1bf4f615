//! The tenant side: readiness of an approved release for a tenant, every check
//! with its state (what this deployment cannot tell is unknown, never ready);
//! enabling only when ready (unknowns acknowledged); upgrading; disabling with
//! the manifest's cleanup steps as a checklist; revocation reaching every tenant
//! that runs the release; each tenant seeing its own modules only.

use plinth_core::{Region, Role, TenantId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{As, Key, NewTenant, TestApp, admin};

const UNKNOWNS: [&str; 3] = ["connectors", "ai_providers", "policy"];

/// The catalog with itsm-triage-agent 1.0.0 and 1.1.0 imported signed, approved
/// (those named) and deployed in the region (those named).
async fn catalog(approved: &[&str], deployed: &[&str]) -> TestApp {
    let app = TestApp::spawn().await;
    let key = Key::new(9);
    app.trust(&key).await;
    let mut images = Vec::new();
    for version in ["1.0.0", "1.1.0"] {
        let (status, release) = app
            .import_signed(&format!("itsm-triage-agent-{version}.json"), &key)
            .await;
        assert_eq!(status, 201, "{release}");
        if approved.contains(&version) {
            let (status, body) = app
                .post(
                    &admin(),
                    &format!("/admin/modules/itsm-triage-agent/{version}/approve"),
                    json!({ "reason": "reviewed" }),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        if deployed.contains(&version) {
            images.push(json!({
                "image": format!("registry.plinth.example/modules/itsm-triage-agent:{version}"),
                "digest": release["image_digest"],
            }));
        }
    }
    let (status, body) = app
        .call(
            Some(&admin()),
            Method::PUT,
            "/admin/deployments/us/itsm-triage-agent",
            Some(json!({ "images": images })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app
}

fn active() -> NewTenant<'static> {
    NewTenant {
        status: "ACTIVE",
        data_mode: "metadata_only",
        modules: &["itsm-triage-agent"],
    }
}

fn tenant_admin(tenant: TenantId) -> As {
    As::tenant(Role::WorkspaceAdmin, tenant).named("wendy@client.example")
}

async fn readiness(app: &TestApp, tenant: TenantId, query: &str) -> (u16, Value) {
    app.get(
        &admin(),
        &format!("/admin/tenant-modules/{tenant}/readiness?{query}"),
    )
    .await
}

fn states(readiness: &Value) -> Vec<(String, String)> {
    readiness["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The names of the checks a refusal lists.
fn blocking(problem: &Value) -> Vec<&str> {
    problem["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{problem}"))
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect()
}

async fn enable(app: &TestApp, who: &As, tenant: TenantId, body: Value) -> (u16, Value) {
    app.post(who, &format!("/admin/tenant-modules/{tenant}/enable"), body)
        .await
}

#[tokio::test]
async fn a_ready_release_is_enabled_upgraded_and_disabled_with_its_cleanup_checklist() {
    let app = catalog(&["1.0.0", "1.1.0"], &["1.0.0", "1.1.0"]).await;
    let tenant = app.tenant(active()).await;
    let who = tenant_admin(tenant);

    let (status, ready) =
        readiness(&app, tenant, "module_id=itsm-triage-agent&version=1.0.0").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["ready"], false);
    let expected: Vec<(String, String)> = [
        ("release_approved", "ready"),
        ("tenant_active", "ready"),
        ("entitled", "ready"),
        ("deployed", "ready"),
        ("data_mode", "ready"),
        ("connectors", "unknown"),
        ("ai_providers", "unknown"),
        ("policy", "unknown"),
    ]
    .map(|(c, s)| (c.to_owned(), s.to_owned()))
    .to_vec();
    assert_eq!(states(&ready), expected);

    // Unknown is not ready: enabling over it takes an acknowledgement.
    let body = json!({ "module_id": "itsm-triage-agent", "version": "1.0.0" });
    let (status, problem) = enable(&app, &who, tenant, body.clone()).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "module_not_ready");
    assert_eq!(blocking(&problem), UNKNOWNS);
    let mut acknowledged = body.clone();
    acknowledged["acknowledge"] = json!(UNKNOWNS);
    let (status, enabled) = enable(&app, &who, tenant, acknowledged.clone()).await;
    assert_eq!(status, 201, "{enabled}");
    assert_eq!(enabled["status"], "ENABLED");
    assert_eq!(enabled["acknowledged"], json!(UNKNOWNS));
    assert_eq!(enabled["enabled_by"], "wendy@client.example");
    let id = enabled["enablement_id"].as_str().unwrap().to_owned();
    // The same release again: the stored enablement.
    let (status, again) = enable(&app, &who, tenant, acknowledged).await;
    assert_eq!(
        (status, &again["enablement_id"]),
        (200, &enabled["enablement_id"])
    );

    // An upgrade moves forward only, to a ready release.
    let path = format!("/admin/tenant-modules/{tenant}/{id}");
    let (status, problem) = app
        .post(
            &who,
            &format!("{path}/upgrade"),
            json!({ "version": "1.0.0" }),
        )
        .await;
    assert_eq!((status, problem["field"].as_str()), (400, Some("version")));
    let (status, upgraded) = app
        .post(
            &who,
            &format!("{path}/upgrade"),
            json!({ "version": "1.1.0", "acknowledge": UNKNOWNS }),
        )
        .await;
    assert_eq!(status, 200, "{upgraded}");
    assert_eq!(upgraded["version"], "1.1.0");

    // Disabled: kept, with 1.1.0's cleanup steps to follow through.
    let (status, disabled) = app.post(&who, &format!("{path}/disable"), json!({})).await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["status"], "DISABLED");
    assert_eq!(disabled["cleanup_complete"], false);
    let steps: Vec<&str> = disabled["cleanup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "purge-triage-history",
            "remove-servicenow-webhook",
            "stop-sla-sweep",
            "remove-slack-app"
        ]
    );
    let (status, _) = app
        .post(&who, &format!("{path}/cleanup/no-such-step"), json!({}))
        .await;
    assert_eq!(status, 404);
    let mut last = Value::Null;
    for step in &steps {
        let (status, body) = app
            .post(&who, &format!("{path}/cleanup/{step}"), json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        last = body;
    }
    assert_eq!(last["cleanup_complete"], true);
    assert_eq!(last["cleanup"][0]["done_by"], "wendy@client.example");
    let (_, listed) = app
        .get(
            &As::tenant(Role::Auditor, tenant),
            &format!("/admin/tenant-modules/{tenant}"),
        )
        .await;
    assert_eq!(listed["items"][0]["status"], "DISABLED");

    // Each change is published under the tenant's key, with the release's tools.
    let changes: Vec<(String, String, String, usize, usize)> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.key == tenant.to_string())
        .map(|e| {
            (
                e.ce_type.trim_start_matches("plinth.module.").to_owned(),
                e.payload["version"].as_str().unwrap().to_owned(),
                e.payload["status"].as_str().unwrap().to_owned(),
                e.payload["tools"].as_array().unwrap().len(),
                e.payload["cleanup"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("enabled".into(), "1.0.0".into(), "ENABLED".into(), 4, 0),
            ("upgraded".into(), "1.1.0".into(), "ENABLED".into(), 5, 0),
            ("disabled".into(), "1.1.0".into(), "DISABLED".into(), 5, 4),
        ]
    );
}

#[tokio::test]
async fn each_fact_out_of_place_blocks_enabling_whatever_is_acknowledged() {
    // 1.1.0 imported but not approved; only 1.0.0 deployed.
    let app = catalog(&["1.0.0"], &["1.0.0"]).await;
    let body = json!({
        "module_id": "itsm-triage-agent", "version": "1.0.0", "acknowledge": UNKNOWNS
    });
    let not_entitled = app
        .tenant(NewTenant {
            modules: &[],
            ..active()
        })
        .await;
    let suspended = app
        .tenant(NewTenant {
            status: "SUSPENDED",
            ..active()
        })
        .await;
    let ready = app.tenant(active()).await;
    for (tenant, check) in [(not_entitled, "entitled"), (suspended, "tenant_active")] {
        let (status, problem) = enable(&app, &admin(), tenant, body.clone()).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(blocking(&problem), [check]);
    }
    // Not approved, and not deployed either.
    let (status, problem) = enable(
        &app,
        &admin(),
        ready,
        json!({ "module_id": "itsm-triage-agent", "version": "1.1.0", "acknowledge": UNKNOWNS }),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(blocking(&problem), ["release_approved", "deployed"]);
    // Unknown checks alone are acknowledged; a failed one never is.
    let (status, problem) = enable(
        &app,
        &admin(),
        ready,
        json!({ "module_id": "itsm-triage-agent", "version": "1.0.0", "acknowledge": ["deployed"] }),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("acknowledge"))
    );
    // A module needing content, in a metadata-only workspace of a content tenant.
    let key = Key::new(9);
    let (_, summarizer) = app
        .import_signed("knowledge-summarizer-0.9.0.json", &key)
        .await;
    app.post(
        &admin(),
        "/admin/modules/knowledge-summarizer/0.9.0/approve",
        json!({ "reason": "reviewed" }),
    )
    .await;
    app.call(
        Some(&admin()),
        Method::PUT,
        "/admin/deployments/us/knowledge-summarizer",
        Some(json!({ "images": [{
            "image": "registry.plinth.example/modules/knowledge-summarizer:0.9.0",
            "digest": summarizer["image_digest"]
        }] })),
    )
    .await;
    let content = app
        .tenant(NewTenant {
            data_mode: "content",
            modules: &["knowledge-summarizer"],
            ..active()
        })
        .await;
    let quiet = app
        .workspace(content, "Service desk", "metadata_only")
        .await;
    let loud = app.workspace(content, "Knowledge", "content").await;
    for (workspace, refused) in [(&quiet, true), (&loud, false)] {
        let (status, body) = enable(
            &app,
            &admin(),
            content,
            json!({
                "module_id": "knowledge-summarizer", "version": "0.9.0",
                "workspace_id": workspace, "acknowledge": UNKNOWNS
            }),
        )
        .await;
        if refused {
            assert_eq!(status, 409, "{body}");
            assert_eq!(blocking(&body), ["data_mode"]);
            assert!(
                body["checks"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("workspace Service desk")
            );
        } else {
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["workspace_id"], json!(workspace));
        }
    }
    // Nothing was enabled but the one that was ready.
    let enabled = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type == "plinth.module.enabled")
        .count();
    assert_eq!(enabled, 1);
}

#[tokio::test]
async fn revoking_a_release_flags_every_tenant_that_runs_it_until_it_upgrades() {
    let app = catalog(&["1.0.0", "1.1.0"], &["1.0.0", "1.1.0"]).await;
    let first = app.tenant(active()).await;
    let second = app.tenant(active()).await;
    let mut ids = Vec::new();
    for tenant in [first, second] {
        let (status, enabled) = enable(
            &app,
            &admin(),
            tenant,
            json!({ "module_id": "itsm-triage-agent", "version": "1.0.0", "acknowledge": UNKNOWNS }),
        )
        .await;
        assert_eq!(status, 201, "{enabled}");
        ids.push(enabled["enablement_id"].as_str().unwrap().to_owned());
    }
    let (status, _) = app
        .post(
            &admin(),
            "/admin/modules/itsm-triage-agent/1.0.0/revoke",
            json!({ "reason": "a prompt-injection flaw" }),
        )
        .await;
    assert_eq!(status, 200);
    let flagged: Vec<String> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type == "plinth.module.enablement_revoked")
        .map(|e| e.key)
        .collect();
    assert_eq!(flagged.len(), 2);
    assert!(flagged.contains(&first.to_string()) && flagged.contains(&second.to_string()));
    for (tenant, id) in [(first, &ids[0]), (second, &ids[1])] {
        let (_, row) = app
            .get(&admin(), &format!("/admin/tenant-modules/{tenant}/{id}"))
            .await;
        assert!(row["revoked_at"].is_string(), "{row}");
    }
    // The revoked release cannot be enabled anew; an upgrade clears the flag.
    let (status, _) = readiness(&app, first, "module_id=itsm-triage-agent&version=1.0.0").await;
    assert_eq!(status, 200);
    let (status, upgraded) = app
        .post(
            &admin(),
            &format!("/admin/tenant-modules/{first}/{}/upgrade", ids[0]),
            json!({ "version": "1.1.0", "acknowledge": UNKNOWNS }),
        )
        .await;
    assert_eq!(status, 200, "{upgraded}");
    assert_eq!(upgraded["revoked_at"], Value::Null);
}

#[tokio::test]
async fn a_tenant_sees_its_own_modules_only_and_its_administrators_enable_them() {
    let app = catalog(&["1.0.0"], &["1.0.0"]).await;
    let tenant = app.tenant(active()).await;
    let other = app.tenant(active()).await;
    let body =
        json!({ "module_id": "itsm-triage-agent", "version": "1.0.0", "acknowledge": UNKNOWNS });
    for role in [Role::Operator, Role::Approver, Role::Auditor] {
        let (status, _) = enable(&app, &As::tenant(role, tenant), tenant, body.clone()).await;
        assert_eq!(status, 403, "{role:?}");
    }
    let (status, _) = enable(
        &app,
        &As::platform(Role::PlatformAuditor),
        tenant,
        body.clone(),
    )
    .await;
    assert_eq!(status, 403);
    // Another tenant's administrator: as if it did not exist.
    let (status, _) = enable(&app, &tenant_admin(other), tenant, body.clone()).await;
    assert_eq!(status, 404);
    let (status, enabled) = enable(&app, &tenant_admin(tenant), tenant, body).await;
    assert_eq!(status, 201, "{enabled}");
    let id = enabled["enablement_id"].as_str().unwrap();
    let (status, _) = app
        .get(
            &tenant_admin(other),
            &format!("/admin/tenant-modules/{tenant}/{id}"),
        )
        .await;
    assert_eq!(status, 404);
    // The other tenant's own path does not reach it either.
    let (status, _) = app
        .get(
            &tenant_admin(other),
            &format!("/admin/tenant-modules/{other}/{id}"),
        )
        .await;
    assert_eq!(status, 404);
    let (_, listed) = app
        .get(
            &tenant_admin(other),
            &format!("/admin/tenant-modules/{other}"),
        )
        .await;
    assert_eq!(listed["items"], json!([]));
    // A tenant the catalog never heard of.
    let unknown = TenantId::new(Region::Us);
    let (status, _) = app
        .get(&admin(), &format!("/admin/tenant-modules/{unknown}"))
        .await;
    assert_eq!(status, 404);
}

/// `plinth.policy.record_published` of a record with `rules`, as the policy
/// service publishes it, once the catalog keeps it.
async fn policy_published(app: &TestApp, id: &str, tenant: TenantId, rules: Value) {
    let payload = app
        .schemas
        .encode(
            "plinth.policy.PolicyRecordChanged",
            &json!({
                "record_id": id, "version": 3, "level": "tenant_module",
                "tenant_id": tenant.to_string(), "module_id": "itsm-triage-agent",
                "name": "triage", "reason": "for the test", "rules": rules.to_string(),
                "occurred_at": 1_790_000_000_000_000i64, "occurred_by": "alice@msp.example"
            }),
        )
        .unwrap();
    app.deliver(&plinth_bus::Event::new(
        app.bus.topic(plinth_bus::Area::Policy),
        tenant.to_string(),
        "plinth.policy.record_published",
        "/plinth/us/policy",
        payload,
    ))
    .await;
    let db = app.db.owner_url();
    let query = format!("SELECT count(*) AS n FROM policy_records WHERE record_id = '{id}'");
    plinth_testkit::wait_until(
        "the policy record kept",
        std::time::Duration::from_secs(60),
        || async { plinth_testkit::count_all_tenants(&db, &query).await == 1 },
    )
    .await;
}

#[tokio::test]
async fn the_tenants_ai_policy_in_force_decides_the_policy_check() {
    let app = catalog(&["1.1.0"], &["1.1.0"]).await;
    let tenant = app.tenant(active()).await;
    let query = "module_id=itsm-triage-agent&version=1.1.0";
    let policy_state = |r: &Value| {
        states(r)
            .into_iter()
            .find(|(c, _)| c == "policy")
            .unwrap()
            .1
    };
    // No record known here: the policy service decides, so unknown.
    let (_, before) = readiness(&app, tenant, query).await;
    assert_eq!(policy_state(&before), "unknown");
    // The tenant's record for the module refuses one of its providers and one
    // of its connectors.
    policy_published(
        &app,
        "pol_triage",
        tenant,
        json!({
            "providers": { "deny_kinds": ["azure_openai"] },
            "connectors": { "allow": ["servicenow"] }
        }),
    )
    .await;
    let (_, refused) = readiness(&app, tenant, query).await;
    assert_eq!(policy_state(&refused), "not_ready", "{refused}");
    let check = refused["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "policy")
        .unwrap();
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("azure_openai is denied (pol_triage v3)"),
        "{message}"
    );
    assert!(message.contains("slack is not allowed"), "{message}");
    // A record that lets it all run: ready.
    policy_published(
        &app,
        "pol_triage",
        tenant,
        json!({ "gates": { "read": "L0" } }),
    )
    .await;
    let db = app.db.owner_url();
    plinth_testkit::wait_until(
        "the record's new rules kept",
        std::time::Duration::from_secs(60),
        || async {
            plinth_testkit::count_all_tenants(
                &db,
                "SELECT count(*) AS n FROM policy_records WHERE rules ? 'gates'",
            )
            .await
                == 1
        },
    )
    .await;
    let (_, allowed) = readiness(&app, tenant, query).await;
    assert_eq!(policy_state(&allowed), "ready", "{allowed}");
}
