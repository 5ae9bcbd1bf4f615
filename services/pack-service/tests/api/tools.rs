//! The tool catalog follows the module catalog's decisions: a tool arrives with
//! an approved release that provides it, stays while the release is deprecated,
//! and leaves when it is revoked; a rejected release offers nothing. Packs and
//! playbooks are checked against it, never against configuration.

use plinth_core::Role;
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, admin, example};

/// Finance 3.2.0 calling one more tool, `crm.lookup_account`.
fn pack_with_crm_tool() -> Value {
    let mut pack = example("finance-3.2.0.json");
    pack["tools"].as_array_mut().unwrap().push(
        json!({ "id": "crm.lookup_account", "description": "Looks up the customer's account." }),
    );
    pack
}

async fn problems(app: &TestApp) -> Vec<(String, String)> {
    let (status, report) = app
        .post(
            &admin(),
            "/admin/packs/validate",
            json!({ "kind": "domain", "pack": pack_with_crm_tool() }),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn tool(app: &TestApp, id: &str) -> Value {
    let (status, listed) = app
        .get(&As::platform(Role::PlatformAuditor), "/admin/packs/tools")
        .await;
    assert_eq!(status, 200, "{listed}");
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_tool_catalog_follows_the_decisions_on_module_releases() {
    let app = TestApp::spawn().await;
    app.publish("playbook-invoice-dispute-triage-1.0.0.json")
        .await;
    let index = pack_with_crm_tool()["tools"].as_array().unwrap().len() - 1;
    let unknown = vec![(format!("/tools/{index}/id"), "unknown_tool".to_owned())];

    // No release provides it: the pack is refused.
    assert_eq!(problems(&app).await, unknown);
    assert_eq!(tool(&app, "crm.lookup_account").await, Value::Null);

    // A rejected release offers nothing.
    app.module_decided(
        "crm-connector",
        "0.1.0",
        "REJECTED",
        &["crm.lookup_account"],
    )
    .await;
    assert_eq!(problems(&app).await, unknown);
    assert_eq!(tool(&app, "crm.lookup_account").await["offered"], false);

    // Approved: the pack is valid; deprecated, it still is.
    app.module_decided(
        "crm-connector",
        "1.0.0",
        "APPROVED",
        &["crm.lookup_account"],
    )
    .await;
    assert_eq!(problems(&app).await, vec![]);
    let listed = tool(&app, "crm.lookup_account").await;
    assert_eq!(listed["offered"], true, "{listed}");
    let releases: Vec<(&str, &str)> = listed["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(releases, [("0.1.0", "REJECTED"), ("1.0.0", "APPROVED")]);
    app.module_decided(
        "crm-connector",
        "1.0.0",
        "DEPRECATED",
        &["crm.lookup_account"],
    )
    .await;
    assert_eq!(problems(&app).await, vec![]);

    // Revoked: refused again, for packs and playbooks alike.
    app.module_decided("crm-connector", "1.0.0", "REVOKED", &["crm.lookup_account"])
        .await;
    assert_eq!(problems(&app).await, unknown);
    assert_eq!(tool(&app, "crm.lookup_account").await["offered"], false);
    let mut playbook = example("playbook-invoice-dispute-triage-1.0.0.json");
    playbook["version"] = json!("1.1.0");
    playbook["steps"][0]["tool"] = json!("crm.lookup_account");
    let (status, refused) = app.post(&admin(), "/admin/playbooks", playbook).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["errors"][0]["code"], "unknown_tool", "{refused}");
    assert_eq!(
        refused["errors"][0]["pointer"], "/steps/0/tool",
        "{refused}"
    );

    // The tools the examples call came from a release too.
    let (_, listed) = app.get(&admin(), "/admin/packs/tools").await;
    let offered: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["offered"] == true)
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        offered.len(),
        crate::helpers::EXAMPLE_TOOLS.len(),
        "{listed}"
    );
}
