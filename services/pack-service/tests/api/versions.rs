//! Versions are immutable: the same version again with the same content (in any
//! key order) answers the stored record, with other content `409`; the
//! checksum is SHA-256 of the RFC 8785 canonical JSON; listings show each
//! version's status; the database refuses to change a stored version.

use plinth_core::DataMode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, admin, example};

/// The same document with its keys in reverse order, at every level.
fn reordered(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reordered(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reordered).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn the_same_version_is_imported_once_and_never_changed() {
    let app = TestApp::spawn().await;
    app.publish("playbook-invoice-dispute-triage-1.0.0.json")
        .await;
    let pack = example("finance-3.2.0.json");
    let (status, first) = app
        .post(&admin(), "/admin/packs/domain/import", pack.clone())
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["outcome"], "imported");
    let expected: String = Sha256::digest(serde_json_canonicalizer::to_vec(&pack).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(first["pack"]["checksum"], expected);
    assert_eq!(first["pack"]["status"], "DRAFT");

    // Same content, other key order and whitespace: the stored record.
    let text = serde_json::to_string_pretty(&reordered(&pack)).unwrap();
    let res = app
        .client
        .http
        .post(format!("{}/admin/packs/domain/import", app.client.base))
        .bearer_auth(app.client.token(&admin()))
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(again["pack"]["pack_id"], first["pack"]["pack_id"]);

    // Other content under the same version: refused, the stored one untouched.
    let mut changed = pack.clone();
    changed["settings"]["sla_hours"] = json!(12);
    let (status, problem) = app
        .post(&admin(), "/admin/packs/domain/import", changed)
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "version_exists");
    let (_, stored) = app.get(&admin(), "/admin/packs/domain/finance/3.2.0").await;
    assert_eq!(stored["content"], pack);
    assert_eq!(stored["checksum"], expected);

    // Not even the owner role changes a stored version's content.
    let refused = plinth_testkit::exec(
        &app.db.owner_url(),
        "UPDATE domain_packs SET content_json = '{}'::jsonb",
    )
    .await;
    assert!(refused.is_err(), "the trigger refuses");

    // A new version is a new record; the listing shows both, newest first.
    let mut newer = pack.clone();
    newer["version"] = json!("3.10.0");
    let (status, _) = app
        .post(&admin(), "/admin/packs/domain/import", newer)
        .await;
    assert_eq!(status, 201);
    let (_, list) = app
        .get(&admin(), "/admin/packs/domain?domain=finance")
        .await;
    let versions: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["3.10.0", "3.2.0"], "semantic, not text, order");
    assert!(
        list["items"][0].get("content").is_none(),
        "listings leave content out"
    );
}

#[tokio::test]
async fn tenant_pack_versions_are_immutable_and_show_active_and_draft() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let first = app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    assert_eq!(first["outcome"], "imported");
    let again = app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(again["pack"]["pack_id"], first["pack"]["pack_id"]);
    let mut changed = example("acme-finance-1.4.0.json");
    changed["overrides"]["settings"]["sla_hours"] = json!(4);
    let (status, problem) = app
        .post(
            &admin(),
            "/admin/packs/tenant/import",
            json!({ "tenant_id": tenant.to_string(), "pack": changed.clone() }),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("version_exists"))
    );
    changed["version"] = json!("1.5.0");
    let (status, _) = app
        .post(
            &admin(),
            "/admin/packs/tenant/import",
            json!({ "tenant_id": tenant.to_string(), "pack": changed }),
        )
        .await;
    assert_eq!(status, 201);

    let (status, _) = app.activate(tenant, "3.2.0", Some("1.4.0")).await;
    assert_eq!(status, 200);
    let (_, list) = app
        .get(&admin(), &format!("/admin/packs/tenant/{tenant}"))
        .await;
    let statuses: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["version"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("1.5.0", "DRAFT"), ("1.4.0", "ACTIVE")]);
    let (_, domains) = app
        .get(&admin(), "/admin/packs/domain?domain=finance")
        .await;
    let domain_statuses: Vec<(&str, &str)> = domains["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["version"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(domain_statuses, [("3.3.0", "DRAFT"), ("3.2.0", "ACTIVE")]);

    // The active version is not deprecated; another one is, and is never
    // activated again.
    let (status, problem) = app
        .post(
            &admin(),
            &format!("/admin/packs/tenant/{tenant}/1.4.0/deprecate"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("pack_in_use"))
    );
    let (status, deprecated) = app
        .post(
            &admin(),
            &format!("/admin/packs/tenant/{tenant}/1.5.0/deprecate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(deprecated["status"], "DEPRECATED");
    let (status, problem) = app.activate(tenant, "3.2.0", Some("1.5.0")).await;
    assert_eq!(status, 409);
    assert_eq!(problem["reasons"][0]["code"], "pack_deprecated");
    assert!(
        app.outbox()
            .await
            .iter()
            .any(|e| e.ce_type == "plinth.pack.deprecated")
    );
}
