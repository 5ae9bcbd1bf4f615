//! Per-tenant rate limits from the tenants' entitlements: a tenant far over its
//! limit gets 429 with Retry-After and RateLimit headers, and another tenant's
//! requests at the same time all pass.

use std::time::Duration;

use futures_util::future::join_all;
use plinth_testkit::{Idp, wait_until};
use reqwest::Method;
use serde_json::json;

use crate::proxy::stack;

#[tokio::test]
async fn a_tenant_flooding_at_ten_times_its_limit_does_not_slow_another() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let a = s.register(&admin, "acme").await;
    let b = s.register(&admin, "globex").await;
    let (status, body, _) = s
        .call(
            Some(&admin),
            Method::PUT,
            &format!("/admin/tenants/{a}/entitlements"),
            Some(json!({
                "plan": "starter", "modules": [], "api_rate_per_second": 5,
                "max_workspaces": 3, "max_provider_connections": 1, "monthly_token_budget": 1000
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The gateway learns the new rate from the registry's event.
    let a_path = format!("/admin/tenants/{a}");
    wait_until(
        "acme's rate at the gateway",
        Duration::from_secs(60),
        || async {
            let (_, _, headers) = s.call(Some(&admin), Method::GET, &a_path, None).await;
            headers.get("ratelimit-limit").is_some_and(|v| v == "5")
        },
    )
    .await;

    // Fifty requests at once for acme (ten times its rate), five for globex.
    let b_path = format!("/admin/tenants/{b}");
    let flood = join_all((0..50).map(|_| s.call(Some(&admin), Method::GET, &a_path, None)));
    let calm = async {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(s.call(Some(&admin), Method::GET, &b_path, None).await);
        }
        statuses
    };
    let started = std::time::Instant::now();
    let (flooded, calm) = tokio::join!(flood, calm);
    // At most the burst of five, and five more for every second the flood took.
    let allowed = 5 + (started.elapsed().as_secs_f64() * 5.0).ceil() as usize;
    let limited: Vec<_> = flooded
        .iter()
        .filter(|(status, _, _)| *status == 429)
        .collect();
    let passed = flooded
        .iter()
        .filter(|(status, _, _)| *status == 200)
        .count();
    assert_eq!(passed + limited.len(), 50);
    assert!(passed <= allowed, "{passed} passed, {allowed} allowed");
    assert!(!limited.is_empty());
    let (_, problem, headers) = limited[0];
    assert_eq!(problem["code"], "too_many_requests");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(headers["ratelimit-limit"], "5");
    assert_eq!(headers["ratelimit-remaining"], "0");
    for (status, body, headers) in &calm {
        assert_eq!(*status, 200, "globex is not slowed: {body}");
        assert_eq!(
            headers["ratelimit-limit"], "10",
            "globex keeps the default rate"
        );
    }
}
