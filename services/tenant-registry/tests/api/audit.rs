//! Every mutation, allowed or refused, leaves exactly one audit event in the outbox.
//! The walk calls every mutating operation of the OpenAPI document at least once
//! allowed and once refused, and fails when an operation is left out.

use std::collections::{BTreeMap, BTreeSet};

use plinth_core::{Role, TenantId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, state, tenant_body};

/// Calls operations and checks the audit event each one leaves.
struct Walk<'a> {
    app: &'a TestApp,
    /// (method, path template) → the outcomes seen.
    seen: BTreeMap<(String, String), BTreeSet<String>>,
}

/// One call: who, which operation with which path values, and what must follow.
struct Call<'a> {
    who: &'a As,
    method: Method,
    template: &'static str,
    values: &'a [(&'static str, &'a str)],
    body: Option<Value>,
    status: u16,
    action: &'static str,
}

impl Walk<'_> {
    async fn call(&mut self, call: Call<'_>) -> Value {
        let mut path = call.template.to_owned();
        for (name, value) in call.values {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        let before = self.app.outbox().await.len();
        let (status, answer) = self
            .app
            .call(Some(call.who), call.method.clone(), &path, call.body)
            .await;
        let what = format!("{} {path}", call.method);
        assert_eq!(status, call.status, "{what}: {answer}");
        let audits: Vec<Value> = self.app.outbox().await[before..]
            .iter()
            .filter(|o| o.ce_type == "plinth.audit.event")
            .map(|o| o.payload.clone())
            .collect();
        assert_eq!(audits.len(), 1, "{what} → {status}: {audits:?}");
        let audit = &audits[0];
        assert_eq!(audit["action"], call.action, "{what}");
        let outcome = match status {
            200..=299 => "ALLOWED",
            401 | 403 => "DENIED",
            _ => "FAILED",
        };
        assert_eq!(audit["outcome"], outcome, "{what}: {audit}");
        assert_eq!(audit["actor"], "alice@msp.example");
        assert!(audit["request_id"].is_string(), "{audit}");
        if outcome == "ALLOWED" {
            assert_eq!(audit["reason"], Value::Null);
        } else {
            assert_eq!(
                audit["reason"], answer["code"],
                "the refusal's code: {audit}"
            );
        }
        self.seen
            .entry((
                call.method.as_str().to_lowercase(),
                call.template.to_owned(),
            ))
            .or_default()
            .insert(outcome.to_owned());
        answer
    }
}

fn platform(role: Role) -> As {
    As::platform(role)
}

fn id_of(answer: &Value, field: &str) -> String {
    answer[field].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_mutation_allowed_or_refused_leaves_exactly_one_audit_event() {
    let app = TestApp::spawn().await;
    let admin = As::platform_admin();
    let auditor = platform(Role::PlatformAuditor);
    let mut walk = Walk {
        app: &app,
        seen: BTreeMap::new(),
    };
    use Method as M;
    let tenants = "/admin/tenants";

    let one = walk
        .call(Call {
            who: &admin,
            method: M::POST,
            template: tenants,
            values: &[],
            body: Some(tenant_body("walk-one", "us")),
            status: 201,
            action: "tenant.create",
        })
        .await;
    let one = id_of(&one, "tenant_id");
    walk.call(Call {
        who: &auditor,
        method: M::POST,
        template: tenants,
        values: &[],
        body: Some(tenant_body("walk-two", "us")),
        status: 403,
        action: "tenant.create",
    })
    .await;
    let (_, two) = app.create(&admin, tenant_body("walk-two", "us")).await;
    let two = id_of(&two, "tenant_id");
    let t1: TenantId = one.parse().unwrap();
    let (tenant_admin, operator) = (
        As::tenant(Role::WorkspaceAdmin, t1),
        As::tenant(Role::Operator, t1),
    );

    // Status.
    let status = "/admin/tenants/{tenant_id}/status";
    walk.call(Call {
        who: &admin,
        method: M::PATCH,
        template: status,
        values: &[("tenant_id", &one)],
        body: Some(json!({"status": "SUSPENDED"})),
        status: 409,
        action: "tenant.status_set",
    })
    .await;
    app.force_status(&two, "ACTIVE").await;
    walk.call(Call {
        who: &admin,
        method: M::PATCH,
        template: status,
        values: &[("tenant_id", &two)],
        body: Some(json!({"status": "SUSPENDED"})),
        status: 200,
        action: "tenant.status_set",
    })
    .await;

    // Workspaces.
    let workspaces = "/admin/tenants/{tenant_id}/workspaces";
    let workspace = "/admin/tenants/{tenant_id}/workspaces/{workspace_id}";
    walk.call(Call {
        who: &operator,
        method: M::POST,
        template: workspaces,
        values: &[("tenant_id", &one)],
        body: Some(json!({"name": "Service desk"})),
        status: 403,
        action: "workspace.create",
    })
    .await;
    let ws = walk
        .call(Call {
            who: &tenant_admin,
            method: M::POST,
            template: workspaces,
            values: &[("tenant_id", &one)],
            body: Some(json!({"name": "Service desk"})),
            status: 201,
            action: "workspace.create",
        })
        .await;
    let ws = id_of(&ws, "workspace_id");
    let at_ws: &[(&str, &str)] = &[("tenant_id", &one), ("workspace_id", &ws)];
    walk.call(Call {
        who: &tenant_admin,
        method: M::PATCH,
        template: workspace,
        values: at_ws,
        body: Some(json!({"retention_days": 30})),
        status: 200,
        action: "workspace.update",
    })
    .await;
    walk.call(Call {
        who: &tenant_admin,
        method: M::PATCH,
        template: workspace,
        values: at_ws,
        body: Some(json!({"retention": 30})),
        status: 400,
        action: "workspace.update",
    })
    .await;
    walk.call(Call {
        who: &operator,
        method: M::DELETE,
        template: workspace,
        values: at_ws,
        body: None,
        status: 403,
        action: "workspace.delete",
    })
    .await;
    walk.call(Call {
        who: &tenant_admin,
        method: M::DELETE,
        template: workspace,
        values: at_ws,
        body: None,
        status: 204,
        action: "workspace.delete",
    })
    .await;

    // Role bindings and group mappings.
    for (list, single, body, kind) in [
        (
            "/admin/tenants/{tenant_id}/role-bindings",
            "/admin/tenants/{tenant_id}/role-bindings/{binding_id}",
            json!({"subject": "bob@acme.example", "role": "Operator"}),
            "role_binding",
        ),
        (
            "/admin/tenants/{tenant_id}/group-mappings",
            "/admin/tenants/{tenant_id}/group-mappings/{binding_id}",
            json!({"idp_group": "acme-desk", "role": "Operator"}),
            "group_mapping",
        ),
    ] {
        let (create, delete) = match kind {
            "role_binding" => ("role_binding.create", "role_binding.delete"),
            _ => ("group_mapping.create", "group_mapping.delete"),
        };
        walk.call(Call {
            who: &operator,
            method: M::POST,
            template: list,
            values: &[("tenant_id", &one)],
            body: Some(body.clone()),
            status: 403,
            action: create,
        })
        .await;
        let binding = walk
            .call(Call {
                who: &tenant_admin,
                method: M::POST,
                template: list,
                values: &[("tenant_id", &one)],
                body: Some(body),
                status: 201,
                action: create,
            })
            .await;
        let binding = id_of(&binding, "binding_id");
        for (who, status) in [(&operator, 403), (&tenant_admin, 204)] {
            walk.call(Call {
                who,
                method: M::DELETE,
                template: single,
                values: &[("tenant_id", &one), ("binding_id", &binding)],
                body: None,
                status,
                action: delete,
            })
            .await;
        }
    }

    // Entitlements.
    let plan = json!({
        "plan": "standard", "modules": ["ticket-triage"], "api_rate_per_second": 50,
        "max_workspaces": 5, "max_provider_connections": 3, "monthly_token_budget": 1000
    });
    for (who, status) in [(&tenant_admin, 403), (&admin, 200)] {
        walk.call(Call {
            who,
            method: M::PUT,
            template: "/admin/tenants/{tenant_id}/entitlements",
            values: &[("tenant_id", &one)],
            body: Some(plan.clone()),
            status,
            action: "entitlement.set",
        })
        .await;
    }

    // Onboarding (tenant one) and offboarding (tenant two), with a failed item each
    // to retry.
    for (flow, tenant, body, operator_item, service_item, failure) in [
        (
            "onboarding",
            &one,
            json!({}),
            "sso_mapping",
            "audit_store",
            ("plinth.pack.defaults_assignment_failed", "pack_defaults"),
        ),
        (
            "offboarding",
            &two,
            json!({"reason": "contract ended"}),
            "provider_keys_revoked",
            "audit_log_sealed",
            ("plinth.policy.deprovisioning_failed", "policy_withdrawn"),
        ),
    ] {
        let (request, confirm, retry) = match flow {
            "onboarding" => (
                "tenant.onboarding_request",
                "tenant.onboarding_item_confirm",
                "tenant.onboarding_item_retry",
            ),
            _ => (
                "tenant.offboarding_request",
                "tenant.offboarding_item_confirm",
                "tenant.offboarding_item_retry",
            ),
        };
        let tenant_role = As::tenant(Role::WorkspaceAdmin, tenant.parse().unwrap());
        let (start, confirm_path, retry_path) = match flow {
            "onboarding" => (
                "/admin/tenants/{tenant_id}/onboarding",
                "/admin/tenants/{tenant_id}/onboarding/items/{key}/confirm",
                "/admin/tenants/{tenant_id}/onboarding/items/{key}/retry",
            ),
            _ => (
                "/admin/tenants/{tenant_id}/offboarding",
                "/admin/tenants/{tenant_id}/offboarding/items/{key}/confirm",
                "/admin/tenants/{tenant_id}/offboarding/items/{key}/retry",
            ),
        };
        for (who, status) in [(&tenant_role, 403), (&admin, 201), (&admin, 409)] {
            walk.call(Call {
                who,
                method: M::POST,
                template: start,
                values: &[("tenant_id", tenant)],
                body: Some(body.clone()),
                status,
                action: request,
            })
            .await;
        }
        for (key, status) in [(service_item, 409), (operator_item, 200)] {
            walk.call(Call {
                who: &admin,
                method: M::POST,
                template: confirm_path,
                values: &[("tenant_id", tenant), ("key", key)],
                body: None,
                status,
                action: confirm,
            })
            .await;
        }
        let (answer, failed_item) = failure;
        app.answer(answer, tenant, failed_item, Some("not today"))
            .await;
        app.wait_for_checklist(tenant, flow, "the failure", |c| {
            state(c, failed_item) == "failed"
        })
        .await;
        for (key, status) in [(service_item, 409), (failed_item, 200)] {
            walk.call(Call {
                who: &admin,
                method: M::POST,
                template: retry_path,
                values: &[("tenant_id", tenant), ("key", key)],
                body: None,
                status,
                action: retry,
            })
            .await;
        }
    }

    // Every mutating operation was called, allowed and refused.
    let doc: Value =
        serde_json::from_str(&tenant_registry::http::openapi::document().unwrap()).unwrap();
    let mutating: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .filter(|method| *method != "get")
                .map(|method| (method.clone(), path.clone()))
        })
        .collect();
    let covered: BTreeSet<(String, String)> = walk.seen.keys().cloned().collect();
    assert_eq!(
        covered, mutating,
        "the walk covers exactly the mutating operations"
    );
    for (operation, outcomes) in &walk.seen {
        assert!(
            outcomes.contains("ALLOWED") && outcomes.len() >= 2,
            "{operation:?} was called allowed and refused: {outcomes:?}"
        );
    }
}

#[tokio::test]
async fn a_refusal_in_a_tenant_the_caller_does_not_reach_goes_to_the_platform_log() {
    let app = TestApp::spawn().await;
    let (_, mine) = app
        .create(&As::platform_admin(), tenant_body("mine", "us"))
        .await;
    let (_, theirs) = app
        .create(&As::platform_admin(), tenant_body("theirs", "us"))
        .await;
    let mine: TenantId = mine["tenant_id"].as_str().unwrap().parse().unwrap();
    let theirs = theirs["tenant_id"].as_str().unwrap().to_owned();
    let made_up = TenantId::new(plinth_core::Region::Us).to_string();
    let operator = As::tenant(Role::WorkspaceAdmin, mine);
    for named in [&theirs, &made_up] {
        let before = app.outbox().await.len();
        let (status, _) = app
            .call(
                Some(&operator),
                Method::POST,
                &format!("/admin/tenants/{named}/workspaces"),
                Some(json!({ "name": "Ops" })),
            )
            .await;
        assert_eq!(status, 404, "{named}");
        let outbox = app.outbox().await;
        let refusal = outbox[before..]
            .iter()
            .find(|o| o.ce_type == "plinth.audit.event")
            .expect("the refusal is recorded");
        assert_eq!(refusal.key, "platform", "not in {named}'s trail");
        assert_eq!(refusal.payload["tenant_id"], "platform");
        assert_eq!(refusal.payload["details"]["named_tenant"], named.as_str());
    }
    // A refusal in the caller's own tenant stays in its trail.
    let before = app.outbox().await.len();
    let (status, _) = app
        .call(
            Some(&As::tenant(Role::Auditor, mine)),
            Method::POST,
            &format!("/admin/tenants/{mine}/workspaces"),
            Some(json!({ "name": "Ops" })),
        )
        .await;
    assert_eq!(status, 403);
    let outbox = app.outbox().await;
    let refusal = outbox[before..]
        .iter()
        .find(|o| o.ce_type == "plinth.audit.event")
        .unwrap();
    assert_eq!(refusal.key, mine.to_string());
}
