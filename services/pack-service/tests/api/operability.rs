//! What an SRE sees of the service: health and metrics on its internal listener.

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_metrics_are_served_to_operators_only() {
    let app = TestApp::spawn().await;
    plinth_testkit::assert_operable(&app).await;
}

#[tokio::test]
async fn the_runtime_cache_shows_its_hits_and_misses() {
    use plinth_core::{DataMode, Role};

    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let (status, _) = app.activate(tenant, "3.2.0", None).await;
    assert_eq!(status, 200);
    let operator = crate::helpers::As::tenant(Role::Operator, tenant);
    let path = format!("/runtime/tenants/{tenant}/config");
    for _ in 0..3 {
        let (status, body) = app.get(&operator, &path).await;
        assert_eq!(status, 200, "{body}");
    }
    let metrics = app.client.metrics().await;
    let value = |name: &str| -> u64 {
        plinth_testkit::sample(&metrics, name, &[])
            .unwrap_or_else(|| panic!("no {name} in:\n{metrics}")) as u64
    };
    // The first read loads the tenant's view; the next two find it in memory.
    assert_eq!(value("plinth_pack_runtime_cache_misses_total"), 1);
    assert_eq!(value("plinth_pack_runtime_cache_hits_total"), 2);
    assert_eq!(value("plinth_pack_runtime_cache_entries"), 1);
}
