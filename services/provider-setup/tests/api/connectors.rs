//! Connector installations per workspace: installed by the tenant's
//! integration administrators alone, their credentials entered through the
//! same delegated links and sealed the same way as provider keys, checked for
//! their shape, released to the runtime, never selected as an AI provider, and
//! destroyed with their workspace.

use std::time::Duration;

use plinth_core::{Role, TenantId, WorkspaceId};
use plinth_testkit::wait_until;
use serde_json::{Value, json};

use crate::helpers::{As, GOOD_KEY, TestApp, admin, integrator, token_of};
use crate::links::{everything_stored, hex};

/// A Microsoft Graph app registration's secret, as Entra shows it.
const GRAPH_SECRET: &str = "Qx98Q~connector-canary-3kZ.0aBcDeFgHiJk";

fn connectors(tenant: TenantId) -> String {
    format!("/admin/providers/tenants/{tenant}/connectors")
}

fn graph(workspace: &str) -> Value {
    json!({
        "workspace_id": workspace, "name": "acme-graph", "kind": "microsoft_graph",
        "settings": {
            "directory_tenant_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "client_id": "9a0c0305-e82c-4f89-11d3-3f2504e03301"
        },
        "note": "The service desk's Graph app"
    })
}

/// An active tenant with a workspace: both ids.
async fn tenant_with_workspace(app: &TestApp) -> (TenantId, String) {
    let tenant = app.tenant("ACTIVE").await;
    let workspace = WorkspaceId::new().to_string();
    app.workspace(tenant, &workspace, "created").await;
    (tenant, workspace)
}

/// Installs `body` for `tenant` as its integration administrator and mints the
/// link of its initial request: the connector and the link's URL.
async fn installed(app: &TestApp, tenant: TenantId, body: Value) -> (Value, String) {
    let (status, connector) = app
        .post(&integrator(tenant), &connectors(tenant), body)
        .await;
    assert_eq!(status, 201, "{connector}");
    let request = connector["requests"][0]["request_id"].as_str().unwrap();
    let (status, minted) = app
        .post(
            &integrator(tenant),
            &format!("{}/setup-requests/{request}/links", connectors(tenant)),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{minted}");
    (connector, minted["url"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_connector_is_installed_in_a_workspace_and_its_credentials_entered_through_a_link() {
    let app = TestApp::spawn().await;
    let (tenant, workspace) = tenant_with_workspace(&app).await;

    // Only the tenant's integration administrators install connectors.
    for who in [
        As::tenant(Role::WorkspaceAdmin, tenant),
        As::tenant(Role::Operator, tenant),
        admin(),
    ] {
        let (status, _) = app.post(&who, &connectors(tenant), graph(&workspace)).await;
        assert_eq!(status, 403, "{who:?}");
    }
    let (status, kinds) = app
        .get(
            &As::tenant(Role::Operator, tenant),
            &format!("/admin/providers/tenants/{tenant}/connector-kinds"),
        )
        .await;
    assert_eq!(status, 200, "{kinds}");
    let names: Vec<&str> = kinds["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "connectwise_manage",
            "datto_autotask",
            "halopsa",
            "microsoft_graph"
        ]
    );
    assert_eq!(kinds["items"][3]["credentials"][0]["name"], "client_secret");
    let (connector, url) = installed(&app, tenant, graph(&workspace)).await;
    assert_eq!(connector["status"], "PENDING");
    assert_eq!(connector["workspace_id"], workspace.as_str());
    assert_eq!(connector["base_url"], "https://graph.microsoft.com/v1.0");
    assert_eq!(
        connector["settings"]["client_id"],
        "9a0c0305-e82c-4f89-11d3-3f2504e03301"
    );
    let id = connector["connector_id"].as_str().unwrap();

    // The link says what to enter: the connector's credential fields.
    let (status, facts) = app
        .call(
            None,
            reqwest::Method::POST,
            "/setup/api/link",
            Some(json!({ "token": token_of(&url) })),
        )
        .await;
    assert_eq!(status, 200, "{facts}");
    assert_eq!(facts["kind"], "microsoft_graph");
    assert_eq!(facts["workspace_id"], workspace.as_str());
    assert_eq!(
        facts["fields"],
        json!([{ "name": "client_secret", "label": "Client secret" }])
    );

    // A provider key is not what it takes; credentials of the wrong shape are
    // refused and the link stays usable.
    let (status, problem) = app.redeem(&url, GOOD_KEY).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, problem) = app
        .redeem_credentials(
            &url,
            json!({ "client_secret": GRAPH_SECRET, "password": "x" }),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert!(!problem.to_string().contains(GRAPH_SECRET));

    let (status, redeemed) = app
        .redeem_credentials(&url, json!({ "client_secret": GRAPH_SECRET }))
        .await;
    assert_eq!(status, 200, "{redeemed}");
    assert_eq!(redeemed["version"], 1);
    assert_eq!(redeemed["outcome"], "not_checked");
    let (status, _) = app
        .redeem_credentials(&url, json!({ "client_secret": GRAPH_SECRET }))
        .await;
    assert_eq!(status, 410, "a link is used once");

    let (status, shown) = app
        .get(
            &As::tenant(Role::Auditor, tenant),
            &format!("{}/{id}", connectors(tenant)),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["status"], "ACTIVE");
    assert_eq!(shown["keys"][0]["status"], "ACTIVE");
    assert_eq!(shown["validations"][0]["outcome"], "not_checked");
    assert!(!shown.to_string().contains(GRAPH_SECRET));
    let stored = everything_stored(&app).await;
    for needle in [GRAPH_SECRET.to_owned(), hex(GRAPH_SECRET)] {
        assert!(
            !stored.contains(&needle),
            "the credentials are stored sealed only"
        );
    }
    assert!(
        stored.contains("9a0c0305-e82c-4f89-11d3-3f2504e03301"),
        "the sweep sees the settings"
    );

    // Listed per workspace; never among the tenant's AI provider connections,
    // nor selected for the runtime.
    let (_, listed) = app
        .get(
            &integrator(tenant),
            &format!("{}?workspace_id={workspace}", connectors(tenant)),
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let (_, elsewhere) = app
        .get(
            &integrator(tenant),
            &format!("{}?workspace_id={}", connectors(tenant), WorkspaceId::new()),
        )
        .await;
    assert_eq!(elsewhere["items"], json!([]));
    let (_, connections) = app
        .get(
            &integrator(tenant),
            &format!("/admin/providers/tenants/{tenant}/connections"),
        )
        .await;
    assert_eq!(connections["items"], json!([]));
    let runtime = As::platform(Role::Runtime).named("plinth-runtime");
    let (status, problem) = app
        .get(
            &runtime,
            &format!("/runtime/providers/tenants/{tenant}/selection"),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("no_ready_connection"))
    );
    let (status, _) = app
        .get(
            &integrator(tenant),
            &format!("/admin/providers/tenants/{tenant}/connections/{id}"),
        )
        .await;
    assert_eq!(
        status, 404,
        "a connector is not reached as a provider connection"
    );

    // The runtime gets the credentials, as the one JSON object sealed.
    let (status, released) = app
        .call(
            Some(&runtime),
            reqwest::Method::POST,
            &format!("/runtime/providers/tenants/{tenant}/connections/{id}/key"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{released}");
    let credentials: Value = serde_json::from_str(released["key"].as_str().unwrap()).unwrap();
    assert_eq!(credentials, json!({ "client_secret": GRAPH_SECRET }));

    // Another tenant's integration administrator reaches none of it.
    let other = app.tenant("ACTIVE").await;
    let (status, _) = app
        .get(&integrator(other), &format!("{}/{id}", connectors(other)))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post(&integrator(other), &connectors(other), graph(&workspace))
        .await;
    assert_eq!(status, 404, "another tenant's workspace is not found");
}

#[tokio::test]
async fn settings_and_credentials_are_checked_for_each_kind() {
    let app = TestApp::spawn().await;
    let (tenant, workspace) = tenant_with_workspace(&app).await;
    let manage = |settings: Value| {
        json!({
            "workspace_id": workspace, "name": "acme-manage", "kind": "connectwise_manage",
            "base_url": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
            "settings": settings
        })
    };
    let client = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    let refused = [
        manage(json!({ "company_id": "acme" })),
        manage(json!({ "company_id": "acme", "client_id": "not-a-guid" })),
        manage(json!({ "company_id": "acme", "client_id": client, "colour": "blue" })),
        json!({ "workspace_id": workspace, "name": "acme-halo", "kind": "halopsa",
                "settings": { "client_id": "desk" } }),
        json!({ "workspace_id": workspace, "name": "x", "kind": "servicenow" }),
    ];
    for body in refused {
        let (status, problem) = app
            .post(&integrator(tenant), &connectors(tenant), body)
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("invalid_request")),
            "{problem}"
        );
    }
    let mut unknown = manage(json!({ "company_id": "acme", "client_id": client }));
    unknown["workspace_id"] = json!(WorkspaceId::new().to_string());
    let (status, _) = app
        .post(&integrator(tenant), &connectors(tenant), unknown)
        .await;
    assert_eq!(status, 404);

    let (connector, url) = installed(
        &app,
        tenant,
        manage(json!({ "company_id": "acme", "client_id": client })),
    )
    .await;
    for credentials in [
        json!({ "public_key": "AbCdEf0123456789" }),
        json!({ "public_key": "AbCdEf0123456789", "private_key": "too-short" }),
    ] {
        let (status, _) = app.redeem_credentials(&url, credentials).await;
        assert_eq!(status, 400);
    }
    let id = connector["connector_id"].as_str().unwrap();
    let (_, shown) = app
        .get(&integrator(tenant), &format!("{}/{id}", connectors(tenant)))
        .await;
    assert_eq!(shown["status"], "PENDING", "nothing stored");
    assert_eq!(shown["keys"], json!([]));
    let (status, redeemed) = app
        .redeem_credentials(
            &url,
            json!({ "public_key": "AbCdEf0123456789", "private_key": "ZyXwVu9876543210" }),
        )
        .await;
    assert_eq!(status, 200, "{redeemed}");

    // Rotation: new credentials through a new link, the old ones kept for the
    // grace period.
    let (status, request) = app
        .post(
            &integrator(tenant),
            &format!("{}/{id}/rotate", connectors(tenant)),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["purpose"], "rotation");
}

#[tokio::test]
async fn a_deleted_workspace_takes_its_connectors_credentials_with_it() {
    let app = TestApp::spawn().await;
    let (tenant, workspace) = tenant_with_workspace(&app).await;
    let (connector, url) = installed(&app, tenant, graph(&workspace)).await;
    let (status, _) = app
        .redeem_credentials(&url, json!({ "client_secret": GRAPH_SECRET }))
        .await;
    assert_eq!(status, 200);
    let id = connector["connector_id"].as_str().unwrap().to_owned();

    app.workspace(tenant, &workspace, "deleted").await;
    let path = format!("{}/{id}", connectors(tenant));
    wait_until(
        "the connector destroyed",
        Duration::from_secs(60),
        || async {
            let (_, shown) = app.get(&integrator(tenant), &path).await;
            shown["status"] == "DESTROYED" && shown["keys"][0]["status"] == "DESTROYED"
        },
    )
    .await;
    app.published("plinth.provider.key_destroyed", 1).await;
    let (status, problem) = app
        .post(&integrator(tenant), &connectors(tenant), graph(&workspace))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invalid_transition"))
    );
}
