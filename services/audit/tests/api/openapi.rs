//! The checked-in OpenAPI document matches the one the code generates.

use std::path::PathBuf;

#[test]
fn the_checked_in_openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/openapi/audit.json");
    let generated = audit::http::openapi::document().unwrap();
    if std::env::var_os("PLINTH_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date: run `PLINTH_UPDATE_SNAPSHOTS=1 cargo nextest run -p audit openapi` \
         and review the diff",
        path.display()
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for (path, method) in [
        ("/admin/audit/key", "get"),
        ("/admin/audit/logs/{log}/entries", "get"),
        ("/admin/audit/logs/{log}/entries/{index}", "get"),
        ("/admin/audit/logs/{log}/checkpoints/latest", "get"),
        ("/admin/audit/logs/{log}/checkpoints/{size}", "get"),
        ("/admin/audit/logs/{log}/consistency", "get"),
        ("/admin/audit/logs/{log}/verify", "post"),
        ("/admin/audit/logs/{log}/export", "get"),
        ("/admin/audit/logs/{log}/export/oscal", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, 9, "one documented operation per route");
}

#[tokio::test]
async fn only_the_openapi_document_is_served_without_a_token() {
    let app = crate::helpers::TestApp::spawn().await;
    let open = app.client.answered_without_a_token().await;
    assert!(open.is_empty(), "answered without a token: {open:?}");
}
