//! A tenant's connections: created without a key, with their initial setup
//! request; refused when malformed, named twice, for a tenant leaving, or by
//! someone who may not; never another tenant's.

use plinth_core::{Region, Role, TenantId};
use serde_json::json;

use crate::helpers::{As, TestApp, admin, integrator};

#[tokio::test]
async fn a_connection_is_created_pending_with_its_setup_request_and_no_key() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    let created = app.connection(tenant, app.openai("primary-openai")).await;
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["pooled"], false);
    assert_eq!(created["tenant_id"], tenant.to_string());
    assert_eq!(created["active_version"], json!(null));
    let request = &created["requests"][0];
    assert_eq!(
        (&request["purpose"], &request["status"], &request["note"]),
        (
            &json!("initial"),
            &json!("OPEN"),
            &json!("The ops team's key")
        )
    );

    let base = format!("/admin/providers/tenants/{tenant}/connections");
    let (status, list) = app.get(&As::tenant(Role::Auditor, tenant), &base).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let id = created["connection_id"].as_str().unwrap();
    let (status, one) = app.get(&admin(), &format!("{base}/{id}")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["keys"], json!([]));
    assert_eq!(one["requests"][0]["links"], json!([]));

    // Published (never with a key) and audited in the tenant's log.
    let outbox = app.outbox().await;
    let event = outbox
        .iter()
        .find(|e| e.ce_type == "plinth.provider.connection_created")
        .unwrap();
    assert_eq!(event.key, tenant.to_string());
    assert_eq!(event.payload["name"], "primary-openai");
    assert!(outbox.iter().any(|e| e.ce_type == "plinth.audit.event"
        && e.payload["action"] == "provider.connection_create"
        && e.payload["outcome"] == "ALLOWED"));
}

#[tokio::test]
async fn bad_connections_are_refused_with_the_field_to_blame_and_change_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    let path = format!("/admin/providers/tenants/{tenant}/connections");
    let openai = app.openai("x");
    let cases = [
        (
            json!({ "name": "has space", "kind": "openai", "default_model": "m" }),
            "name",
        ),
        (
            json!({ "name": "a", "kind": "mistral", "default_model": "m" }),
            "kind",
        ),
        (
            json!({ "name": "a", "kind": "openai", "default_model": "" }),
            "default_model",
        ),
        (
            json!({ "name": "a", "kind": "openai", "base_url": "http://api.openai.com/v1", "default_model": "m" }),
            "base_url",
        ),
        (
            json!({ "name": "a", "kind": "openai", "base_url": "https://user@evil.example", "default_model": "m" }),
            "base_url",
        ),
        (
            json!({ "name": "a", "kind": "azure_openai", "default_model": "m" }),
            "base_url",
        ),
        (
            json!({ "name": "a", "kind": "azure_openai", "base_url": "https://acme.openai.azure.com", "default_model": "m", "api_version": "2024-10-21" }),
            "deployment",
        ),
        (
            json!({ "name": "a", "kind": "openai", "deployment": "d", "default_model": "m" }),
            "deployment",
        ),
        (
            json!({ "name": "a", "kind": "openai", "default_model": "m", "key": "sk-nope" }),
            "body",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post(&integrator(tenant), &path, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "invalid_request", "{problem}");
        if field != "body" {
            assert_eq!(problem["field"], field, "{body}: {problem}");
        }
    }
    // The same name twice.
    app.connection(tenant, openai.clone()).await;
    let (status, problem) = app.post(&integrator(tenant), &path, openai).await;
    assert_eq!((status, &problem["code"]), (409, &json!("already_exists")));
    let (_, list) = app.get(&admin(), &path).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // An Azure OpenAI connection names its resource, deployment and version.
    let azure = json!({
        "name": "azure", "kind": "azure_openai", "base_url": app.providers.azure,
        "deployment": "gpt4o-prod", "api_version": "2024-10-21", "default_model": "gpt-4o"
    });
    let created = app.connection(tenant, azure).await;
    assert_eq!(created["deployment"], "gpt4o-prod");
}

#[tokio::test]
async fn only_the_tenants_administrators_create_and_nobody_reaches_another_tenants() {
    let app = TestApp::spawn().await;
    let acme = app.tenant("ACTIVE").await;
    let globex = app.tenant("ACTIVE").await;
    let path = format!("/admin/providers/tenants/{acme}/connections");
    for role in [Role::Operator, Role::Approver, Role::Auditor] {
        let (status, problem) = app
            .post(&As::tenant(role, acme), &path, app.openai("x"))
            .await;
        assert_eq!(status, 403, "{role}: {problem}");
    }
    let (status, _) = app
        .post(
            &As::tenant(Role::WorkspaceAdmin, acme),
            &path,
            app.openai("by-admin"),
        )
        .await;
    assert_eq!(status, 201);
    let created = app.connection(acme, app.openai("by-integrator")).await;
    let id = created["connection_id"].as_str().unwrap();

    // Globex's people do not reach Acme's; on Globex's path, Acme's connection
    // is not found — even for the platform team.
    let (status, _) = app.get(&integrator(globex), &path).await;
    assert_eq!(status, 404);
    for who in [integrator(globex), admin()] {
        let (status, _) = app
            .get(
                &who,
                &format!("/admin/providers/tenants/{globex}/connections/{id}"),
            )
            .await;
        assert_eq!(status, 404);
    }
    let (_, list) = app
        .get(
            &admin(),
            &format!("/admin/providers/tenants/{globex}/connections"),
        )
        .await;
    assert_eq!(list["items"], json!([]));

    // A tenant provider setup never heard of, or another region's.
    for tenant in [TenantId::new(Region::Us), TenantId::new(Region::Eu)] {
        let (status, problem) = app
            .post(
                &admin(),
                &format!("/admin/providers/tenants/{tenant}/connections"),
                app.openai("x"),
            )
            .await;
        assert!([404, 421].contains(&status), "{problem}");
    }
}

#[tokio::test]
async fn a_tenant_leaving_takes_no_new_connections() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    app.set_status(tenant, "OFFBOARDING").await;
    let (status, problem) = app
        .post(
            &admin(),
            &format!("/admin/providers/tenants/{tenant}/connections"),
            app.openai("late"),
        )
        .await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("invalid_transition"))
    );
}
