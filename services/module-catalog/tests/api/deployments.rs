//! Approved manifests beside deployed image tags: what the deployment system
//! reports is matched with the approved releases' digests, and drift — a
//! deployed digest no approved release has — is flagged and published, on a
//! report (a digest swapped under a tag) and on a decision (a release revoked).

use plinth_core::{Region, Role, TenantId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{As, Key, TestApp, admin};

const TAG: &str = "registry.plinth.example/modules/itsm-triage-agent:stable";

/// An operator of some tenant: every role reads what runs.
fn operator() -> As {
    As::tenant(Role::Operator, TenantId::new(Region::Us))
}

/// The digest a release pins.
fn digest_of(release: &Value) -> String {
    release["image_digest"].as_str().unwrap().to_owned()
}

async fn report(app: &TestApp, who: &As, region: &str, images: Value) -> (u16, Value) {
    app.call(
        Some(who),
        Method::PUT,
        &format!("/admin/deployments/{region}/itsm-triage-agent"),
        Some(json!({ "images": images })),
    )
    .await
}

async fn decide(app: &TestApp, version: &str, decision: &str) {
    let (status, body) = app
        .post(
            &admin(),
            &format!("/admin/modules/itsm-triage-agent/{version}/{decision}"),
            json!({ "reason": "release review" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The drift events published so far: (type, image digest, version).
async fn drift_events(app: &TestApp) -> Vec<(String, String, Value)> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type.starts_with("plinth.module.drift_"))
        .map(|e| {
            (
                e.ce_type.trim_start_matches("plinth.module.").to_owned(),
                e.payload["image_digest"].as_str().unwrap().to_owned(),
                e.payload["version"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_digest_swapped_under_a_tag_drifts_until_approved_and_drifts_again_when_revoked() {
    let app = TestApp::spawn().await;
    let key = Key::new(7);
    app.trust(&key).await;
    let (_, first) = app
        .import_signed("itsm-triage-agent-1.0.0.json", &key)
        .await;
    let (_, second) = app
        .import_signed("itsm-triage-agent-1.1.0.json", &key)
        .await;
    let (old, new) = (digest_of(&first), digest_of(&second));
    decide(&app, "1.0.0", "approve").await;

    // The tag runs the approved digest: no drift.
    let (status, module) = report(
        &app,
        &admin(),
        "us",
        json!([{ "image": TAG, "digest": old }]),
    )
    .await;
    assert_eq!(status, 200, "{module}");
    assert_eq!(module["drift"], false);
    assert_eq!(module["deployed"][0]["version"], "1.0.0");
    assert_eq!(module["approved"][0]["version"], "1.0.0");
    assert!(drift_events(&app).await.is_empty());

    // The same tag now resolves to 1.1.0's digest, imported but not approved.
    let (_, module) = report(
        &app,
        &admin(),
        "us",
        json!([{ "image": TAG, "digest": new }]),
    )
    .await;
    assert_eq!(module["drift"], true, "{module}");
    assert_eq!(module["deployed"][0]["version"], Value::Null);
    // Reported again unchanged: still drifting, announced once.
    report(
        &app,
        &admin(),
        "us",
        json!([{ "image": TAG, "digest": new }]),
    )
    .await;
    assert_eq!(
        drift_events(&app).await,
        [("drift_detected".to_owned(), new.clone(), Value::Null)]
    );

    // Approving 1.1.0 resolves it; revoking it drifts again.
    decide(&app, "1.1.0", "approve").await;
    let (status, listed) = app.get(&operator(), "/admin/deployments").await;
    assert_eq!(status, 200, "{listed}");
    let item = &listed["items"][0];
    assert_eq!(item["module_id"], "itsm-triage-agent");
    assert_eq!(item["region"], "us");
    assert_eq!(item["drift"], false);
    assert_eq!(item["deployed"][0]["version"], "1.1.0");
    let versions: Vec<&str> = item["approved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.1.0", "1.0.0"]);
    decide(&app, "1.1.0", "revoke").await;
    let (_, listed) = app.get(&admin(), "/admin/deployments").await;
    assert_eq!(listed["items"][0]["drift"], true);

    // Removed: nothing runs, nothing drifts.
    let (_, module) = report(&app, &admin(), "us", json!([])).await;
    assert_eq!(module["deployed"], json!([]));
    assert_eq!(module["drift"], false);
    assert_eq!(
        drift_events(&app).await,
        [
            ("drift_detected".to_owned(), new.clone(), Value::Null),
            ("drift_resolved".to_owned(), new.clone(), json!("1.1.0")),
            ("drift_detected".to_owned(), new.clone(), Value::Null),
            ("drift_resolved".to_owned(), new.clone(), Value::Null),
        ]
    );
    // A report is published when what runs changed: three of four.
    let reports: Vec<usize> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type == "plinth.module.deployment_reported")
        .map(|e| e.payload["images"].as_array().unwrap().len())
        .collect();
    assert_eq!(reports, [1, 1, 0]);
}

#[tokio::test]
async fn a_module_the_catalog_never_approved_drifts_from_its_first_report() {
    let app = TestApp::spawn().await;
    let digest = format!("sha256:{}", "c".repeat(64));
    let (status, module) = report(
        &app,
        &admin(),
        "us",
        json!([{ "image": format!("{TAG}@{digest}"), "digest": digest }]),
    )
    .await;
    assert_eq!(status, 200, "{module}");
    assert_eq!(module["approved"], json!([]));
    assert_eq!(module["deployed"][0]["image"], TAG);
    assert_eq!(module["drift"], true);
    assert_eq!(drift_events(&app).await.len(), 1);
}

#[tokio::test]
async fn a_bad_report_is_refused_with_its_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let digest = format!("sha256:{}", "d".repeat(64));
    let cases = [
        (
            json!([{ "image": TAG, "digest": "sha256:abc" }]),
            "images/0/digest",
        ),
        (
            json!([{ "image": "itsm-triage-agent", "digest": digest }]),
            "images/0/image",
        ),
        (
            json!([
                { "image": TAG, "digest": digest },
                { "image": TAG, "digest": digest }
            ]),
            "images/1/image",
        ),
        (
            json!([{ "image": format!("{TAG}@sha256:{}", "e".repeat(64)), "digest": digest }]),
            "images/0/image",
        ),
    ];
    for (images, field) in cases {
        let (status, problem) = report(&app, &admin(), "us", images).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["code"], "invalid_request");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let one = json!([{ "image": TAG, "digest": digest }]);
    // Another region's deployments are reported to that region's catalog.
    let (status, problem) = report(&app, &admin(), "eu", one.clone()).await;
    assert_eq!(status, 421, "{problem}");
    assert_eq!(problem["code"], "wrong_region");
    // Only the platform team's clients report what runs.
    let (status, _) = report(
        &app,
        &As::platform(Role::PlatformAuditor),
        "us",
        one.clone(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = report(&app, &operator(), "us", one).await;
    assert_eq!(status, 403);
    let (_, listed) = app.get(&admin(), "/admin/deployments").await;
    assert_eq!(listed["items"], json!([]));
    assert!(
        app.outbox()
            .await
            .iter()
            .all(|e| !e.ce_type.starts_with("plinth.module.d"))
    );
}
