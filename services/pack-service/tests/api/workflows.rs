//! Workflows: playbooks at a workspace's scope. A tenant's workspace
//! administrator publishes them into one of its workspaces — checked like
//! playbooks — each version immutable; every role of the tenant reads them;
//! another tenant, another tenant's workspace and a deleted workspace are kept
//! apart.

use std::time::Duration;

use plinth_core::{DataMode, Region, Role, TenantId};
use plinth_testkit::wait_until;
use serde_json::json;

use crate::helpers::{As, TestApp, admin, example};

const WORKFLOW: &str = "playbook-invoice-dispute-triage-1.0.0.json";

/// The registry's announcement of workspace `name` of `tenant` (`ty`:
/// created, updated or deleted), once the service applied it.
async fn workspace(app: &TestApp, tenant: TenantId, ty: &str, id: &str, name: &str) {
    announce_workspace(app, tenant, ty, id, name).await;
    let db = app.db.owner_url();
    let deleted = ty == "deleted";
    let query = format!(
        "SELECT count(*) AS n FROM workspaces WHERE workspace_id = '{id}' AND name = '{name}' \
         AND (deleted_at IS NOT NULL) = {deleted}"
    );
    wait_until(
        "the service to apply the workspace event",
        Duration::from_secs(60),
        || async { plinth_testkit::count_all_tenants(&db, &query).await == 1 },
    )
    .await;
}

/// The registry's announcement of workspace `name` of `tenant`.
async fn announce_workspace(app: &TestApp, tenant: TenantId, ty: &str, id: &str, name: &str) {
    app.announce(
        &format!("plinth.workspace.{ty}"),
        "plinth.tenant.WorkspaceChanged",
        tenant,
        &json!({
            "tenant_id": tenant.to_string(), "workspace_id": id, "name": name,
            "data_mode": "metadata_only", "retention_days": 90, "write_cap_per_day": null,
            "approval_tier": "L1",
            "changed_at": 1_790_000_000_000_000i64, "changed_by": "ana@acme.example"
        }),
    )
    .await;
}

fn workflows(tenant: TenantId, workspace: &str) -> String {
    format!("/admin/packs/tenant/{tenant}/workspaces/{workspace}/workflows")
}

fn workspace_admin(tenant: TenantId) -> As {
    As::tenant(Role::WorkspaceAdmin, tenant).named("ana@acme.example")
}

#[tokio::test]
async fn a_workspace_admin_publishes_immutable_workflow_versions_into_a_workspace() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    workspace(&app, tenant, "created", "wsp_desk", "Service desk").await;
    workspace(&app, tenant, "created", "wsp_billing", "Billing").await;
    let admin_of = workspace_admin(tenant);
    let desk = workflows(tenant, "wsp_desk");

    let (status, first) = app.post(&admin_of, &desk, example(WORKFLOW)).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (
            &first["workspace_id"],
            &first["workflow"],
            &first["version"],
            &first["published_by"]
        ),
        (
            &json!("wsp_desk"),
            &json!("invoice-dispute-triage"),
            &json!("1.0.0"),
            &json!("ana@acme.example")
        )
    );
    assert!(
        first["workflow_version_id"]
            .as_str()
            .unwrap()
            .starts_with("wfv_")
    );
    // The same version again answers the published one; other content is refused.
    let (status, again) = app.post(&admin_of, &desk, example(WORKFLOW)).await;
    assert_eq!(
        (status, &again["workflow_version_id"]),
        (200, &first["workflow_version_id"])
    );
    let mut changed = example(WORKFLOW);
    changed["steps"][2]["gate"] = json!("L2");
    let (status, problem) = app.post(&admin_of, &desk, changed.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("version_exists")),
        "{problem}"
    );
    // One event for the version published, keyed by the tenant: none for the
    // same version again, none for the refusal.
    let outbox = app.outbox().await;
    let events: Vec<_> = outbox
        .iter()
        .filter(|e| e.ce_type == "plinth.workflow.published")
        .collect();
    assert_eq!(events.len(), 1, "{outbox:?}");
    assert_eq!(events[0].key, tenant.to_string());
    assert_eq!(
        (
            &events[0].payload["workspace_id"],
            &events[0].payload["workflow"],
            &events[0].payload["workflow_version_id"],
            &events[0].payload["published_by"]
        ),
        (
            &json!("wsp_desk"),
            &json!("invoice-dispute-triage"),
            &first["workflow_version_id"],
            &json!("ana@acme.example")
        )
    );
    changed["version"] = json!("1.1.0");
    let (status, newer) = app.post(&admin_of, &desk, changed).await;
    assert_eq!(status, 201, "{newer}");
    // The database refuses a change to a published version, even from its owner.
    let mut conn = plinth_db::connect(&app.db.owner_url()).await.unwrap();
    use diesel_async::SimpleAsyncConnection as _;
    conn.batch_execute("SET plinth.tenant_scope = '*'")
        .await
        .unwrap();
    let changed = conn
        .batch_execute("UPDATE workflow_versions SET name = 'changed'")
        .await;
    assert!(changed.is_err(), "a published version changed");

    // Listed in its workspace only, newest first; read with its document.
    let (status, listed) = app.get(&As::tenant(Role::Operator, tenant), &desk).await;
    assert_eq!(status, 200, "{listed}");
    let versions: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.1.0", "1.0.0"]);
    assert!(
        listed["items"][0].get("content").is_none(),
        "lists carry no documents"
    );
    let (_, billing) = app.get(&admin_of, &workflows(tenant, "wsp_billing")).await;
    assert_eq!(billing["items"], json!([]), "another workspace has none");
    let (status, one) = app
        .get(
            &As::tenant(Role::Auditor, tenant),
            &format!("{desk}/invoice-dispute-triage/1.1.0"),
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["content"]["steps"][2]["gate"], "L2");
    let (status, _) = app
        .get(&admin_of, &format!("{desk}/invoice-dispute-triage/9.9.9"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_workflow_is_checked_like_a_playbook_and_only_its_administrators_publish() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    workspace(&app, tenant, "created", "wsp_desk", "Service desk").await;
    let desk = workflows(tenant, "wsp_desk");

    // Every problem at its place, nothing published.
    let mut broken = example(WORKFLOW);
    broken["steps"][0]["tool"] = json!("no.such_tool");
    broken["steps"][1]["gate"] = json!("L9");
    let (status, problem) = app.post(&workspace_admin(tenant), &desk, broken).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("playbook_invalid")),
        "{problem}"
    );
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/steps/1/gate"),
        "{problem}"
    );
    let mut unknown_tool = example(WORKFLOW);
    unknown_tool["steps"][0]["tool"] = json!("erp.no_such_tool");
    let (status, problem) = app
        .post(&workspace_admin(tenant), &desk, unknown_tool)
        .await;
    assert_eq!(status, 400, "a tool no approved release offers: {problem}");
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/steps/0/tool"),
        "{problem}"
    );
    // Roles that read only.
    for role in [
        Role::Operator,
        Role::Approver,
        Role::Auditor,
        Role::IntegrationAdmin,
    ] {
        let (status, _) = app
            .post(&As::tenant(role, tenant), &desk, example(WORKFLOW))
            .await;
        assert_eq!(status, 403, "{role:?} may not publish");
    }
    let (_, listed) = app.get(&admin(), &desk).await;
    assert_eq!(listed["items"], json!([]), "nothing was published");
    // The platform team may.
    let (status, published) = app.post(&admin(), &desk, example(WORKFLOW)).await;
    assert_eq!(status, 201, "{published}");
}

#[tokio::test]
async fn other_tenants_and_deleted_workspaces_are_kept_apart() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let other = app.tenant(DataMode::MetadataOnly).await;
    workspace(&app, tenant, "created", "wsp_desk", "Service desk").await;
    workspace(&app, other, "created", "wsp_other", "Other desk").await;
    let desk = workflows(tenant, "wsp_desk");
    let (status, _) = app
        .post(&workspace_admin(tenant), &desk, example(WORKFLOW))
        .await;
    assert_eq!(status, 201);

    // Another tenant's administrator: neither the tenant nor its workspace.
    let outsider = workspace_admin(other);
    let (status, _) = app.get(&outsider, &desk).await;
    assert_eq!(status, 404);
    let (status, _) = app.post(&outsider, &desk, example(WORKFLOW)).await;
    assert_eq!(status, 404);
    // A workspace of another tenant under this tenant's path is no workspace of it.
    let (status, _) = app
        .post(
            &workspace_admin(tenant),
            &workflows(tenant, "wsp_other"),
            example(WORKFLOW),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.get(&admin(), &workflows(tenant, "wsp_other")).await;
    assert_eq!(status, 404);
    // Another region's tenant id is not found either.
    let (status, _) = app
        .get(&admin(), &workflows(TenantId::new(Region::Eu), "wsp_desk"))
        .await;
    assert_ne!(status, 200);

    // A deleted workspace keeps its workflows and takes no new version.
    workspace(&app, tenant, "deleted", "wsp_desk", "Service desk").await;
    let (status, listed) = app.get(&workspace_admin(tenant), &desk).await;
    assert_eq!(
        (status, listed["items"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let mut newer = example(WORKFLOW);
    newer["version"] = json!("2.0.0");
    let (status, problem) = app.post(&workspace_admin(tenant), &desk, newer).await;
    assert_eq!(status, 409, "{problem}");
}

/// On a deployment upgraded from a version that did not keep workspaces, the
/// projector's group has passed the workspaces the registry announced before:
/// the workspaces' consumer, a group of its own, reads them from the topic's
/// start (the tenant with them), and workflows are published there.
#[tokio::test]
async fn workspaces_announced_before_the_upgrade_are_read_from_the_start() {
    let app = TestApp::spawn_deaf().await;
    let tenant = TenantId::new(Region::Us);
    app.announce_tenant(tenant, DataMode::MetadataOnly).await;
    announce_workspace(&app, tenant, "created", "wsp_desk", "Service desk").await;
    app.pass_over_registry_events("projector").await;
    let upgraded = app
        .process_with(json!({ "bus": { "consumers": true } }))
        .await;

    let db = app.db.owner_url();
    let query = format!(
        "SELECT count(*) AS n FROM workspaces w JOIN tenants t USING (tenant_id) \
         WHERE w.workspace_id = 'wsp_desk' AND w.tenant_id = '{tenant}' AND w.deleted_at IS NULL"
    );
    wait_until(
        "the workspace announced before the upgrade",
        Duration::from_secs(60),
        || async { plinth_testkit::count_all_tenants(&db, &query).await == 1 },
    )
    .await;
    let (status, listed) = upgraded
        .call(
            Some(&workspace_admin(tenant)),
            reqwest::Method::GET,
            &workflows(tenant, "wsp_desk"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"], json!([]));
}
