//! Inclusion and consistency proofs from the API verify against signed
//! checkpoints, checked the way an auditor's own tools would.

use plinth_auditlog::{ConsistencyProof, InclusionProof, open_checkpoint};
use reqwest::Method;

use crate::helpers::{TestApp, auditor, tenant};

#[tokio::test]
async fn entries_are_proved_in_signed_checkpoints_and_checkpoints_extend_each_other() {
    let app = TestApp::spawn_configured(|s| s.log.checkpoint_every_entries = 4).await;
    let t = tenant();
    for i in 0..10 {
        app.deliver(&app.audit_event(&t, &format!("action.{i}"), "ALLOWED"))
            .await;
    }
    app.wait_for_entries(&t, 11).await;

    // Entry 9 is newer than the last checkpoint (8): a checkpoint is signed for it.
    for index in [0u64, 3, 4, 9, 10] {
        let proved = app
            .get(&format!("/admin/audit/logs/{t}/entries/{index}"))
            .await;
        let checkpoint = &proved["checkpoint"];
        let opened =
            open_checkpoint(checkpoint["note"].as_str().unwrap(), &app.verifier_key, &t).unwrap();
        let proof: InclusionProof = serde_json::from_value(proved["proof"].clone()).unwrap();
        proof
            .verify(opened.size, &opened.root_hash)
            .unwrap_or_else(|e| panic!("entry {index}: {e}"));
        assert_eq!(proof.index, index);
        assert_eq!(proved["leaf_hash"], proved["proof"]["leaf_hash"]);
        // The proof is of this entry: its canonical JSON hashes to the leaf.
        let leaf = plinth_auditlog::entry::leaf_hash_of(&proved["entry"]);
        assert_eq!(leaf, proof.leaf_hash);
    }
    let at_four = app
        .get(&format!("/admin/audit/logs/{t}/entries/2?tree_size=4"))
        .await;
    assert_eq!(at_four["checkpoint"]["size"], 4);

    let (status, problem) = app
        .call(
            Some(&auditor()),
            Method::GET,
            &format!("/admin/audit/logs/{t}/entries/6?tree_size=4"),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("tree_size"))
    );
    let (status, _) = app
        .call(
            Some(&auditor()),
            Method::GET,
            &format!("/admin/audit/logs/{t}/entries/11"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Every checkpoint extends the one before it.
    let c4 = app
        .get(&format!("/admin/audit/logs/{t}/checkpoints/4"))
        .await;
    let c8 = app
        .get(&format!("/admin/audit/logs/{t}/checkpoints/8"))
        .await;
    let old = open_checkpoint(c4["note"].as_str().unwrap(), &app.verifier_key, &t).unwrap();
    let new = open_checkpoint(c8["note"].as_str().unwrap(), &app.verifier_key, &t).unwrap();
    let body = app
        .get(&format!("/admin/audit/logs/{t}/consistency?from=4&to=8"))
        .await;
    let proof: ConsistencyProof = serde_json::from_value(body["proof"].clone()).unwrap();
    proof
        .verify((4, &old.root_hash), (8, &new.root_hash))
        .unwrap();
    for bad in ["from=8&to=4", "from=4&to=99", "from=4", "from=a&to=8"] {
        let (status, _) = app
            .call(
                Some(&auditor()),
                Method::GET,
                &format!("/admin/audit/logs/{t}/consistency?{bad}"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{bad}");
    }
}
