//! The trusted signer list: added, expired and revoked by the platform's
//! administrators, read by the platform team only; a signer's end reaches the
//! next review of every release it signed.

use plinth_core::Role;
use serde_json::json;

use crate::helpers::{As, Key, TestApp, admin};

#[tokio::test]
async fn a_revoked_or_expired_signer_vouches_for_nothing_in_the_next_review() {
    let app = TestApp::spawn().await;
    let key = Key::new(1);
    let signer = app.trust(&key).await;
    let (status, release) = app
        .import_signed("itsm-triage-agent-1.1.0.json", &key)
        .await;
    assert_eq!(status, 201, "{release}");
    assert_eq!(release["review_passed"], true);

    let path = "/admin/modules/itsm-triage-agent/1.1.0/review";
    let (status, problem) = app
        .post(
            &admin(),
            &format!("/admin/trust/signers/{signer}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    let (status, revoked) = app
        .post(
            &admin(),
            &format!("/admin/trust/signers/{signer}/revoke"),
            json!({ "reason": "the pipeline's key leaked" }),
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    let (_, reviewed) = app.post(&admin(), path, json!({})).await;
    assert_eq!(reviewed["review_passed"], false);
    assert_eq!(
        reviewed["review"]["checks"][5]["problems"][0]["code"],
        "signer_revoked"
    );

    // Another key, trusted then expired.
    let other = Key::new(2);
    let second = app.trust(&other).await;
    let (status, _) = app
        .import_signed("knowledge-summarizer-0.9.0.json", &other)
        .await;
    assert_eq!(status, 201);
    let (status, expired) = app
        .post(
            &admin(),
            &format!("/admin/trust/signers/{second}/expire"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{expired}");
    let (_, reviewed) = app
        .post(
            &admin(),
            "/admin/modules/knowledge-summarizer/0.9.0/review",
            json!({}),
        )
        .await;
    assert_eq!(
        reviewed["review"]["checks"][5]["problems"][0]["code"],
        "signer_not_valid_now"
    );
    let (_, listed) = app.get(&admin(), "/admin/trust/signers").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    // Each change of the list is published.
    let changes: Vec<(String, bool)> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type.starts_with("plinth.module.signer_"))
        .map(|e| (e.ce_type, e.payload["revoked"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("plinth.module.signer_added".to_owned(), false),
            ("plinth.module.signer_revoked".to_owned(), true),
            ("plinth.module.signer_added".to_owned(), false),
            ("plinth.module.signer_expired".to_owned(), false),
        ]
    );
}

#[tokio::test]
async fn a_signer_needs_a_real_key_sources_and_a_window_and_is_the_platforms_to_see() {
    let app = TestApp::spawn().await;
    let key = Key::new(1);
    for (field, change) in [
        ("algorithm", json!({ "algorithm": "rsa" })),
        ("public_key", json!({ "public_key": "not a key" })),
        ("sources", json!({ "sources": [] })),
        ("not_after", json!({ "not_after": "yesterday" })),
        ("not_after", json!({ "not_before": "2099-06-01T00:00:00Z" })),
    ] {
        let mut body = key.signer_body(&["github.com/plinth-modules"]);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, problem) = app.post(&admin(), "/admin/trust/signers", body).await;
        assert_eq!(status, 400, "{field}: {problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    app.trust(&key).await;
    // The key id is the signer's: once.
    let (status, problem) = app
        .post(
            &admin(),
            "/admin/trust/signers",
            key.signer_body(&["gitlab.com"]),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    // The platform's auditors read the list; a tenant's people do not.
    let (status, _) = app
        .get(&As::platform(Role::PlatformAuditor), "/admin/trust/signers")
        .await;
    assert_eq!(status, 200);
    let tenant = plinth_core::TenantId::new(plinth_core::Region::Us);
    let (status, _) = app
        .get(
            &As::tenant(Role::WorkspaceAdmin, tenant),
            "/admin/trust/signers",
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .post(
            &As::platform(Role::PlatformAuditor),
            "/admin/trust/signers",
            Key::new(9).signer_body(&["gitlab.com"]),
        )
        .await;
    assert_eq!(status, 403);
}
