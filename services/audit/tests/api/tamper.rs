//! Every tamper class is caught by the service's verification and by the offline
//! verifier reading an export: an edited payload, a deleted row, reordered rows, a
//! cut tail, and a whole history rewritten and re-chained (caught by a checkpoint
//! kept outside). The tampering is done as the database owner with the
//! append-only triggers switched off: the worst an insider with the database could
//! do.

use std::path::PathBuf;
use std::process::Command;

use plinth_auditlog::{Entry, MemoryTree, Record};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, auditor, tenant};

/// Runs `sql` as the owner with the log's triggers off.
async fn tamper(app: &TestApp, sql: &str) {
    app.owner_exec(&format!(
        "ALTER TABLE entries DISABLE TRIGGER USER; \
         ALTER TABLE tree_hashes DISABLE TRIGGER USER; \
         ALTER TABLE checkpoints DISABLE TRIGGER USER; \
         {sql}; \
         ALTER TABLE entries ENABLE TRIGGER USER; \
         ALTER TABLE tree_hashes ENABLE TRIGGER USER; \
         ALTER TABLE checkpoints ENABLE TRIGGER USER;"
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn verify(app: &TestApp, log: &str, kept: Option<&Value>) -> Value {
    let kept: Vec<&str> = kept.iter().map(|c| c["note"].as_str().unwrap()).collect();
    let (status, verdict) = app
        .call(
            Some(&auditor()),
            Method::POST,
            &format!("/admin/audit/logs/{log}/verify"),
            Some(json!({ "checkpoints": kept })),
        )
        .await;
    assert_eq!(status, 200, "{verdict}");
    verdict
}

/// Exports the log through the API and runs `plinth-audit verify` on the file:
/// the exit code and what it printed.
async fn verify_offline(app: &TestApp, log: &str, kept: Option<&Value>) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("plinth-audit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (status, export) = app
        .client
        .call_text(
            Some(&auditor()),
            Method::GET,
            &format!("/admin/audit/logs/{log}/export"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{export}");
    let file: PathBuf = dir.join("export.jsonl");
    std::fs::write(&file, &export).unwrap();
    let key = dir.join("log.pub");
    std::fs::write(&key, &app.verifier_key).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plinth-audit"));
    cmd.arg("verify")
        .arg("--export")
        .arg(&file)
        .arg("--key")
        .arg(&key);
    if let Some(kept) = kept {
        let path = dir.join("kept.json");
        std::fs::write(&path, kept.to_string()).unwrap();
        cmd.arg("--checkpoint").arg(&path);
    }
    let out = cmd.output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces the whole log with another history of `size` entries, re-chained,
/// with its tree recomputed and its checkpoints gone: consistent in itself.
async fn rewrite_history(app: &TestApp, log: &str, size: u64) {
    let mut tree = MemoryTree::new();
    let mut prev = None;
    let mut entries = Vec::new();
    let mut hashes = Vec::new();
    for index in 0..size {
        let entry = Entry {
            log: log.to_owned(),
            index,
            prev,
            event_id: uuid::Uuid::new_v4(),
            recorded_at: time::OffsetDateTime::now_utc(),
            record: Record {
                tenant_id: log.to_owned(),
                region: "us".into(),
                actor: "mallory@msp.example".into(),
                actor_display: None,
                action: format!("nothing.{index}"),
                resource_type: "tenant".into(),
                resource_id: None,
                outcome: "ALLOWED".into(),
                reason: None,
                request_id: None,
                occurred_at: time::OffsetDateTime::now_utc(),
                source_service: "tenant-registry".into(),
                details: Default::default(),
            },
        };
        let leaf = entry.leaf_hash();
        let start = plinth_auditlog::first_stored_index(index);
        for (i, h) in tree.append(leaf).into_iter().enumerate() {
            hashes.push(format!(
                "('{log}', {}, decode('{}', 'hex'))",
                start + i as u64,
                hex(&h.0)
            ));
        }
        entries.push(format!(
            "('{log}', {index}, '{}', $b${}$b$, decode('{}', 'hex'), now(), now(), \
             'mallory@msp.example', 'nothing', 'tenant', NULL, 'ALLOWED')",
            entry.event_id,
            String::from_utf8(entry.canonical()).unwrap(),
            hex(&leaf.0)
        ));
        prev = Some(leaf);
    }
    tamper(
        app,
        &format!(
            "DELETE FROM entries WHERE log_id = '{log}'; \
             DELETE FROM tree_hashes WHERE log_id = '{log}'; \
             DELETE FROM checkpoints WHERE log_id = '{log}'; \
             INSERT INTO entries (log_id, idx, event_id, body, leaf_hash, recorded_at, \
                 occurred_at, actor, action, resource_type, resource_id, outcome) VALUES {}; \
             INSERT INTO tree_hashes (log_id, idx, hash) VALUES {}; \
             UPDATE logs SET size = {size}, head = decode('{}', 'hex'), checkpoint_size = 0 \
                 WHERE log_id = '{log}'",
            entries.join(", "),
            hashes.join(", "),
            hex(&prev.unwrap().0)
        ),
    )
    .await;
}

#[tokio::test]
async fn every_tamper_class_is_caught_online_and_offline() {
    let app = TestApp::spawn_configured(|s| s.log.checkpoint_every_entries = 4).await;
    let logs: Vec<String> = (0..6).map(|_| tenant()).collect();
    for log in &logs {
        for i in 0..10 {
            app.deliver(&app.audit_event(log, &format!("action.{i}"), "ALLOWED"))
                .await;
        }
    }
    let mut kept = Vec::new();
    for log in &logs {
        app.wait_for_entries(log, 11).await;
        // Proving the last entry signs a checkpoint of all eleven: an auditor keeps it.
        let proved = app
            .get(&format!("/admin/audit/logs/{log}/entries/10"))
            .await;
        assert_eq!(proved["checkpoint"]["size"], 11);
        kept.push(proved["checkpoint"].clone());
    }

    // Untouched, the log holds, online and offline.
    let v = verify(&app, &logs[0], Some(&kept[0])).await;
    assert_eq!(
        (v["ok"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(11)),
        "{v}"
    );
    assert_eq!(
        v["checkpoints"], 4,
        "8, 4 and 11 of the log's own, and the kept one"
    );
    let (code, out) = verify_offline(&app, &logs[0], Some(&kept[0])).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: "), "{out}");

    // A payload edited.
    let log = &logs[1];
    tamper(
        &app,
        &format!(
            "UPDATE entries SET body = replace(body, '\"action.4\"', '\"action.x\"') \
             WHERE log_id = '{log}' AND idx = 5"
        ),
    )
    .await;
    let v = verify(&app, log, None).await;
    assert_eq!(
        (v["ok"].as_bool(), v["first_bad_index"].as_u64()),
        (Some(false), Some(5)),
        "{v}"
    );
    let (code, out) = verify_offline(&app, log, None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("first bad entry: 5"), "{out}");

    // A row deleted.
    let log = &logs[2];
    tamper(
        &app,
        &format!("DELETE FROM entries WHERE log_id = '{log}' AND idx = 7"),
    )
    .await;
    let v = verify(&app, log, None).await;
    assert_eq!(
        (v["ok"].as_bool(), v["first_bad_index"].as_u64()),
        (Some(false), Some(7)),
        "{v}"
    );
    let (code, out) = verify_offline(&app, log, None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("first bad entry: 7"), "{out}");

    // Rows reordered.
    let log = &logs[3];
    tamper(
        &app,
        &format!(
            "UPDATE entries e SET body = o.body, leaf_hash = o.leaf_hash FROM entries o \
             WHERE e.log_id = '{log}' AND o.log_id = '{log}' \
             AND ((e.idx = 3 AND o.idx = 4) OR (e.idx = 4 AND o.idx = 3))"
        ),
    )
    .await;
    let v = verify(&app, log, None).await;
    assert_eq!(
        (v["ok"].as_bool(), v["first_bad_index"].as_u64()),
        (Some(false), Some(3)),
        "{v}"
    );
    let (code, out) = verify_offline(&app, log, None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("first bad entry: 3"), "{out}");

    // The tail cut, the head moved back to match.
    let log = &logs[4];
    tamper(
        &app,
        &format!(
            "DELETE FROM entries WHERE log_id = '{log}' AND idx >= 9; \
             UPDATE logs SET size = 9, head = (SELECT leaf_hash FROM entries \
                 WHERE log_id = '{log}' AND idx = 8) WHERE log_id = '{log}'"
        ),
    )
    .await;
    let v = verify(&app, log, None).await;
    assert_eq!(v["ok"], false, "the log's own checkpoint of 11 tells: {v}");
    assert!(
        v["reason"].as_str().unwrap().contains("tail was cut"),
        "{v}"
    );
    // The export stops at nine with the checkpoints it covers; the kept one tells.
    let (code, out) = verify_offline(&app, log, None).await;
    assert_eq!(
        code, 0,
        "without outside evidence the cut looks whole: {out}"
    );
    let (code, out) = verify_offline(&app, log, Some(&kept[4])).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tail was cut"), "{out}");

    // A whole other history, re-chained, its tree recomputed, its checkpoints gone.
    let log = &logs[5];
    rewrite_history(&app, log, 11).await;
    let v = verify(&app, log, None).await;
    assert_eq!(v["ok"], true, "consistent in itself: {v}");
    let v = verify(&app, log, Some(&kept[5])).await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("rewritten"), "{v}");
    let (code, out) = verify_offline(&app, log, Some(&kept[5])).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rewritten"), "{out}");
}
