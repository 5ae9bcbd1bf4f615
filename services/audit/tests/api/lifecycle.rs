//! The audit service's part of the lifecycle sagas, played by real events: an
//! onboarding request opens the tenant's log with a signed genesis and answers
//! `audit.store_provisioned`; an offboarding request seals it with a final signed
//! checkpoint and answers `audit.deprovisioned`; the log stays readable.

use std::time::Duration;

use plinth_auditlog::open_checkpoint;
use plinth_testkit::wait_until;

use crate::helpers::{TestApp, tenant};

#[tokio::test]
async fn onboarding_opens_a_signed_log_and_offboarding_seals_it() {
    let app = TestApp::spawn().await;
    let t = tenant();
    let request = app.lifecycle_request("plinth.tenant.onboarding_requested", &t, "audit_store");
    app.deliver(&request).await;
    wait_until("the store provisioned", Duration::from_secs(60), || async {
        app.outbox()
            .await
            .iter()
            .any(|o| o.ce_type == "plinth.audit.store_provisioned")
    })
    .await;
    let outbox = app.outbox().await;
    let answers: Vec<_> = outbox
        .iter()
        .filter(|o| o.ce_type == "plinth.audit.store_provisioned")
        .collect();
    assert_eq!(
        answers.len(),
        1,
        "only the audit service's item is answered"
    );
    assert_eq!(answers[0].key, t);
    assert_eq!(answers[0].payload["item"], "audit_store");
    assert_eq!(answers[0].payload["service"], "audit");
    let signed = outbox
        .iter()
        .find(|o| o.ce_type == "plinth.audit.checkpoint_signed")
        .expect("the genesis is signed");
    assert_eq!(signed.payload["size"], 1);
    let note = signed.payload["note"].as_str().unwrap();
    let opened = open_checkpoint(note, &app.verifier_key, &t).unwrap();
    assert_eq!(opened.size, 1);
    let genesis = app.get(&format!("/admin/audit/logs/{t}/entries")).await;
    assert_eq!(
        genesis["items"][0]["entry"]["record"]["action"],
        "audit.log_created"
    );

    // Asked again (a retry), it answers again without a second genesis.
    app.deliver(&app.lifecycle_request("plinth.tenant.onboarding_item_retry", &t, "audit_store"))
        .await;
    wait_until("the second answer", Duration::from_secs(60), || async {
        app.outbox()
            .await
            .iter()
            .filter(|o| o.ce_type == "plinth.audit.store_provisioned")
            .count()
            == 2
    })
    .await;
    assert_eq!(app.entries(&t).await, 1);

    app.deliver(&app.audit_event(&t, "tenant.status_set", "ALLOWED"))
        .await;
    app.wait_for_entries(&t, 2).await;
    app.deliver(&app.lifecycle_request(
        "plinth.tenant.offboarding_requested",
        &t,
        "audit_log_sealed",
    ))
    .await;
    wait_until("the log sealed", Duration::from_secs(60), || async {
        app.outbox()
            .await
            .iter()
            .any(|o| o.ce_type == "plinth.audit.deprovisioned")
    })
    .await;
    let outbox = app.outbox().await;
    let answer = outbox
        .iter()
        .find(|o| o.ce_type == "plinth.audit.deprovisioned")
        .unwrap();
    assert_eq!(answer.payload["item"], "audit_log_sealed");
    let last = outbox
        .iter()
        .rfind(|o| o.ce_type == "plinth.audit.checkpoint_signed")
        .unwrap();
    assert_eq!(last.payload["sealed"], true);
    assert_eq!(
        last.payload["size"], 3,
        "genesis, the status change, the seal"
    );
    let entries = app.get(&format!("/admin/audit/logs/{t}/entries")).await;
    assert_eq!(
        entries["items"][2]["entry"]["record"]["action"],
        "audit.log_sealed"
    );

    // What arrives after the seal goes to the platform log, naming the sealed log.
    app.deliver(&app.audit_event(&t, "tenant.create", "DENIED"))
        .await;
    app.wait_for_entries("platform", 2).await;
    assert_eq!(
        app.entries(&t).await,
        3,
        "the sealed log takes nothing more"
    );
    let platform = app.get("/admin/audit/logs/platform/entries").await;
    assert_eq!(
        platform["items"][1]["entry"]["record"]["details"]["sealed_log"],
        t.as_str()
    );
    let latest = app
        .get(&format!("/admin/audit/logs/{t}/checkpoints/latest"))
        .await;
    assert_eq!(latest["size"], 3, "the seal is the last checkpoint");
}

async fn checkpoint_sizes(app: &TestApp, log: &str) -> Vec<i64> {
    let sizes: Vec<i64> = app
        .outbox()
        .await
        .iter()
        .filter(|o| o.ce_type == "plinth.audit.checkpoint_signed" && o.key == log)
        .map(|o| o.payload["size"].as_i64().unwrap())
        .collect();
    for size in &sizes {
        let cp = app
            .get(&format!("/admin/audit/logs/{log}/checkpoints/{size}"))
            .await;
        let opened = open_checkpoint(cp["note"].as_str().unwrap(), &app.verifier_key, log).unwrap();
        assert_eq!(opened.size as i64, *size);
    }
    sizes
}

#[tokio::test]
async fn logs_are_checkpointed_every_n_entries() {
    let app = TestApp::spawn_configured(|s| s.log.checkpoint_every_entries = 3).await;
    let t = tenant();
    for i in 0..4 {
        app.deliver(&app.audit_event(&t, &format!("action.{i}"), "ALLOWED"))
            .await;
    }
    app.wait_for_entries(&t, 5).await;
    assert_eq!(
        checkpoint_sizes(&app, &t).await,
        [3],
        "the third entry, not the fifth"
    );
}

#[tokio::test]
async fn logs_with_new_entries_are_checkpointed_after_t_seconds() {
    let app = TestApp::spawn_configured(|s| s.log.checkpoint_every_seconds = 1).await;
    let t = tenant();
    for i in 0..2 {
        app.deliver(&app.audit_event(&t, &format!("action.{i}"), "ALLOWED"))
            .await;
    }
    app.wait_for_entries(&t, 3).await;
    wait_until(
        "a checkpoint of all three",
        Duration::from_secs(30),
        || async { checkpoint_sizes(&app, &t).await.last() == Some(&3) },
    )
    .await;
    let sizes = checkpoint_sizes(&app, &t).await;
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
}
