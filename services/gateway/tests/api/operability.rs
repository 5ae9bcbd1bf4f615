//! What an SRE sees of the gateway: health and its counters on its operators'
//! listener, none of it on the public one, and readiness only once the
//! projections a request is decided with have caught up.

use std::time::Duration;

use plinth_testkit::{Idp, wait_until};
use serde_json::Value;

use crate::proxy::stack;

#[tokio::test]
async fn the_gateway_is_ready_once_its_projections_caught_up_and_says_so_to_operators_only() {
    let idp = Idp::start().await;
    let stack = stack(&idp).await;
    let http = reqwest::Client::new();
    let ops = &stack.gateway_ops;

    let live = http.get(format!("{ops}/livez")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    wait_until("the gateway ready", Duration::from_secs(30), || async {
        http.get(format!("{ops}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let ready: Value = http
        .get(format!("{ops}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let checks: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == true)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        checks,
        ["tenants projection", "sessions projection"],
        "{ready}"
    );
    assert!(stack.metric("plinth_gateway_rate_limiters").await < 1_000);

    for path in ["/metrics", "/livez", "/readyz"] {
        let public = http
            .get(format!("{}{path}", stack.gateway))
            .send()
            .await
            .unwrap();
        assert_eq!(public.status(), 404, "{path} on the public listener");
    }
}
