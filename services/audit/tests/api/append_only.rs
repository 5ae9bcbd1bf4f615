//! Append-only for real: the service's role cannot change or remove what was
//! recorded, and neither can the owner: a trigger refuses it.

use crate::helpers::{TestApp, tenant};

#[tokio::test]
async fn recorded_entries_cannot_be_changed_or_removed_by_anyone() {
    let app = TestApp::spawn().await;
    let t = tenant();
    app.deliver(&app.audit_event(&t, "tenant.create", "ALLOWED"))
        .await;
    app.wait_for_entries(&t, 2).await;
    app.owner_exec(&format!(
        "INSERT INTO checkpoints (log_id, size, root_hash, signed_at, note) \
         VALUES ('{t}', 2, decode(repeat('00', 32), 'hex'), now(), 'test')"
    ))
    .await
    .unwrap();
    for table in ["entries", "tree_hashes", "checkpoints"] {
        for sql in [
            format!("UPDATE {table} SET log_id = log_id WHERE log_id = '{t}'"),
            format!("DELETE FROM {table} WHERE log_id = '{t}'"),
            format!("TRUNCATE {table}"),
        ] {
            let as_app = app.app_exec(&sql).await.unwrap_err().to_string();
            assert!(
                as_app.contains("permission denied"),
                "app role, {sql}: {as_app}"
            );
            let as_owner = app.owner_exec(&sql).await.unwrap_err().to_string();
            assert!(as_owner.contains("append-only"), "owner, {sql}: {as_owner}");
        }
    }
    assert_eq!(app.entries(&t).await, 2);
    // Adding is what the service does.
    app.deliver(&app.audit_event(&t, "tenant.status_set", "ALLOWED"))
        .await;
    app.wait_for_entries(&t, 3).await;
}
