//! Releases through the API: imported with their review stored, decided by the
//! platform team with a reason, immutable; a refused import changes nothing but
//! keeps its review; every action is audited.

use plinth_core::Role;
use serde_json::{Value, json};

use crate::helpers::{As, Key, TestApp, admin, example, states};

const ALL_PASSED: [(&str, &str); 6] = [
    ("schema", "passed"),
    ("source", "passed"),
    ("digest", "passed"),
    ("runtime", "passed"),
    ("references", "passed"),
    ("signature", "passed"),
];

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_signed_release_is_imported_reviewed_approved_deprecated_and_revoked() {
    let app = TestApp::spawn().await;
    let key = Key::new(1);
    let signer = app.trust(&key).await;

    let (status, release) = app
        .import_signed("itsm-triage-agent-1.0.0.json", &key)
        .await;
    assert_eq!(status, 201, "{release}");
    assert_eq!(release["status"], "IMPORTED");
    assert_eq!(release["review_passed"], true);
    assert_eq!(release["signer_id"], signer);
    assert_eq!(states(&release), expected(&ALL_PASSED));
    assert!(
        release["image_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // The same release again is the stored one.
    let (status, again) = app
        .import_signed("itsm-triage-agent-1.0.0.json", &key)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["version_id"], release["version_id"]);

    let path = "/admin/modules/itsm-triage-agent/1.0.0";
    // Every decision needs a reason.
    let (status, problem) = app
        .post(&admin(), &format!("{path}/approve"), json!({}))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "reason");
    // Only an approved release is deprecated.
    let (status, problem) = app
        .post(
            &admin(),
            &format!("{path}/deprecate"),
            json!({ "reason": "old" }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "invalid_transition");
    assert_eq!(problem["allowed"], json!(["APPROVED", "REJECTED"]));

    for (decision, status_after) in [
        ("approve", "APPROVED"),
        ("deprecate", "DEPRECATED"),
        ("revoke", "REVOKED"),
    ] {
        let (status, decided) = app
            .post(
                &admin(),
                &format!("{path}/{decision}"),
                json!({ "reason": format!("{decision}: reviewed by the platform team") }),
            )
            .await;
        assert_eq!(status, 200, "{decided}");
        assert_eq!(decided["status"], status_after);
        assert_eq!(decided["decided_by"], "alice@msp.example");
    }
    let (_, listed) = app
        .get(
            &As::tenant(
                Role::Operator,
                plinth_core::TenantId::new(plinth_core::Region::Us),
            ),
            "/admin/modules",
        )
        .await;
    assert_eq!(listed["items"][0]["status"], "REVOKED", "{listed}");

    // Partners read each step on plinth.module.v1, keyed `platform`.
    let outbox = app.outbox().await;
    let published: Vec<(String, String, Value)> = outbox
        .iter()
        .filter(|e| e.ce_type.starts_with("plinth.module."))
        .map(|e| (e.ce_type.clone(), e.key.clone(), e.payload.clone()))
        .collect();
    let types: Vec<&str> = published.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "plinth.module.signer_added",
            "plinth.module.imported",
            "plinth.module.approved",
            "plinth.module.deprecated",
            "plinth.module.revoked"
        ]
    );
    assert!(published.iter().all(|(_, key, _)| key == "platform"));
    let imported = &published[1].2;
    assert_eq!(imported["module_id"], "itsm-triage-agent");
    assert_eq!(imported["review_passed"], true);
    assert_eq!(imported["image_digest"], release["image_digest"]);
    let revoked = &published[4].2;
    assert_eq!(revoked["status"], "REVOKED");
    assert_eq!(revoked["reason"], "revoke: reviewed by the platform team");

    // Each action is in the platform's audit trail.
    let actions: Vec<String> = outbox
        .into_iter()
        .filter(|e| e.ce_type == "plinth.audit.event")
        .map(|e| e.payload["action"].as_str().unwrap().to_owned())
        .collect();
    for action in [
        "module.signer_add",
        "module.import",
        "module.approve",
        "module.deprecate",
        "module.revoke",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn an_unsigned_or_untrusted_release_cannot_be_approved_until_a_trusted_signer_vouches() {
    let app = TestApp::spawn().await;
    let key = Key::new(3);
    // Signed, but by a key nobody trusts yet: imported, its signature check failed.
    let (status, release) = app
        .import_signed("finance-dispute-assistant-2.3.0.json", &key)
        .await;
    assert_eq!(status, 201, "{release}");
    assert_eq!(release["review_passed"], false);
    let signature = &release["review"]["checks"][5];
    assert_eq!(signature["state"], "failed");
    assert_eq!(signature["problems"][0]["code"], "signer_unknown");
    let path = "/admin/modules/finance-dispute-assistant/2.3.0";
    let (status, problem) = app
        .post(
            &admin(),
            &format!("{path}/approve"),
            json!({ "reason": "looks fine" }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "review_failed");

    // Once the key is trusted, a review again passes, and approval follows.
    app.trust(&key).await;
    let (status, reviewed) = app
        .post(&admin(), &format!("{path}/review"), json!({}))
        .await;
    assert_eq!(status, 200, "{reviewed}");
    assert_eq!(reviewed["review_passed"], true);
    let (status, approved) = app
        .post(
            &admin(),
            &format!("{path}/approve"),
            json!({ "reason": "signed by the release pipeline" }),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "APPROVED");

    // An unsigned manifest is imported with the signature check failed.
    let manifest: Value =
        serde_json::from_slice(&example("knowledge-summarizer-0.9.0.json")).unwrap();
    let (status, unsigned) = app
        .post(
            &admin(),
            "/admin/modules/import",
            json!({ "manifest": manifest }),
        )
        .await;
    assert_eq!(status, 201, "{unsigned}");
    assert_eq!(
        unsigned["review"]["checks"][5]["problems"][0]["code"],
        "unsigned"
    );
}

#[tokio::test]
async fn a_manifest_the_schema_refuses_is_no_release_but_its_review_is_kept() {
    let app = TestApp::spawn().await;
    let mut manifest: Value =
        serde_json::from_slice(&example("itsm-triage-agent-1.0.0.json")).unwrap();
    manifest.as_object_mut().unwrap().remove("image");
    let (status, problem) = app
        .post(
            &admin(),
            "/admin/modules/import",
            json!({ "manifest": manifest }),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["code"], "manifest_invalid");
    assert_eq!(problem["errors"][0]["pointer"], "/image");
    let (status, review) = app
        .get(
            &admin(),
            &format!(
                "/admin/trust/reviews/{}",
                problem["attempt_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, 200, "{review}");
    assert_eq!(review["passed"], false);
    assert_eq!(review["checks"][1]["state"], "skipped");
    let (_, listed) = app.get(&admin(), "/admin/modules").await;
    assert_eq!(listed["items"], json!([]));

    // A version is immutable: other content under it is refused.
    let key = Key::new(1);
    app.trust(&key).await;
    let (status, _) = app
        .import_signed("itsm-triage-agent-1.0.0.json", &key)
        .await;
    assert_eq!(status, 201);
    let mut changed: Value =
        serde_json::from_slice(&example("itsm-triage-agent-1.0.0.json")).unwrap();
    changed["description"] = json!("Quietly changed.");
    let (status, problem) = app
        .post(
            &admin(),
            "/admin/modules/import",
            json!({ "envelope": key.sign(&serde_json::to_vec(&changed).unwrap()) }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "version_exists");
}

#[tokio::test]
async fn an_uploaded_artifact_must_be_the_image_the_digest_names() {
    use base64::Engine as _;
    let app = TestApp::spawn().await;
    let key = Key::new(1);
    app.trust(&key).await;
    let body = example("itsm-triage-agent-1.1.0.json");
    let (status, release) = app
        .post(
            &admin(),
            "/admin/modules/import",
            json!({
                "envelope": key.sign(&body),
                "artifact_base64": base64::engine::general_purpose::STANDARD.encode(b"not the image"),
            }),
        )
        .await;
    assert_eq!(status, 201, "{release}");
    let digest = &release["review"]["checks"][2];
    assert_eq!(digest["state"], "failed", "{release}");
    assert_eq!(digest["problems"][0]["code"], "digest_mismatch");
}

#[tokio::test]
async fn only_the_platform_team_over_every_tenant_imports_and_decides() {
    let app = TestApp::spawn().await;
    let key = Key::new(1);
    let body = json!({ "envelope": key.sign(&example("itsm-triage-agent-1.0.0.json")) });
    let tenant = plinth_core::TenantId::new(plinth_core::Region::Us);
    for who in [
        As::platform(Role::PlatformAuditor),
        As::bound_admin(&[tenant]),
        As::tenant(Role::WorkspaceAdmin, tenant),
    ] {
        let (status, problem) = app.post(&who, "/admin/modules/import", body.clone()).await;
        assert_eq!(status, 403, "{who:?}: {problem}");
    }
    let (_, listed) = app.get(&admin(), "/admin/modules").await;
    assert_eq!(listed["items"], json!([]));
}
