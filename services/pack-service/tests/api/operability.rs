//! What an SRE sees of the service: health and metrics on its internal listener.

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_metrics_are_served_to_operators_only() {
    let app = TestApp::spawn().await;
    plinth_testkit::assert_operable(&app).await;
}
