//! Rate limits: a tenant's own people take from the tenant's allowance (its
//! entitled rate), MSP staff from their own. A tenant far over its limit gets 429
//! with Retry-After and RateLimit headers while another tenant's requests all pass;
//! a platform auditor hammering a tenant is limited without costing the tenant
//! anything; made-up tenant ids create no limiter.

use std::time::Duration;

use futures_util::future::join_all;
use plinth_core::{Region, TenantId};
use plinth_testkit::{Idp, wait_until};
use reqwest::Method;
use serde_json::json;

use crate::proxy::{Options, Stack, stack_with};

/// Gives `subject` the WorkspaceAdmin role in `tenant` and waits until the gateway
/// knows it.
async fn member(s: &Stack, admin: &str, tenant: &str, subject: &str, token: &str) {
    let (status, body, _) = s
        .call(
            Some(admin),
            Method::POST,
            &format!("/admin/tenants/{tenant}/role-bindings"),
            Some(json!({ "subject": subject, "role": "WorkspaceAdmin" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let path = format!("/admin/tenants/{tenant}");
    wait_until(
        "the member's role at the gateway",
        Duration::from_secs(60),
        || async { s.call(Some(token), Method::GET, &path, None).await.0 == 200 },
    )
    .await;
}

#[tokio::test]
async fn a_tenants_allowance_is_spent_only_by_its_own_people() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            gateway: json!({ "rate_limits": { "caller_per_second": 20 } }),
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let auditor = idp.access_token("msp-auditor").await;
    let acme_admin = idp.access_token("acme-admin").await;
    let globex_admin = idp.access_token("globex-admin").await;
    let a = s.register(&admin, "acme").await;
    let b = s.register(&admin, "globex").await;
    member(&s, &admin, &a, "acme-admin", &acme_admin).await;
    member(&s, &admin, &b, "globex-admin", &globex_admin).await;
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
            let (_, _, headers) = s.call(Some(&acme_admin), Method::GET, &a_path, None).await;
            headers.get("ratelimit-limit").is_some_and(|v| v == "5")
        },
    )
    .await;

    // A platform auditor hammering acme is limited at its own rate, and acme's
    // own people do not notice.
    let hammered =
        join_all((0..60).map(|_| s.call(Some(&auditor), Method::GET, &a_path, None))).await;
    let limited = hammered
        .iter()
        .filter(|(status, _, _)| *status == 429)
        .count();
    assert!(limited > 0, "the auditor is limited");
    assert!(
        hammered
            .iter()
            .all(|(_, _, h)| h.get("ratelimit-limit").is_none_or(|v| v == "20")),
        "at the caller's rate"
    );
    let (status, _, _) = s.call(Some(&acme_admin), Method::GET, &a_path, None).await;
    assert_eq!(
        status, 200,
        "acme's own person is not slowed by the auditor"
    );

    // Fifty requests at once by acme's own person (ten times its rate), five by
    // globex's.
    let b_path = format!("/admin/tenants/{b}");
    let flood = join_all((0..50).map(|_| s.call(Some(&acme_admin), Method::GET, &a_path, None)));
    let calm = async {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(
                s.call(Some(&globex_admin), Method::GET, &b_path, None)
                    .await,
            );
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
    // Each refusal counted, by whose allowance was spent (others' refusals of the
    // auditor above count as a caller's).
    assert!(
        s.metric_of(
            "plinth_gateway_rate_limited_total",
            &[("allowance", "tenant")]
        )
        .await
            >= limited.len() as u64
    );
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

    // Made-up tenant ids, from staff and from a tenant's own person, create no
    // limiter: the gauge stays at the callers and tenants above.
    let held = s.metric("plinth_gateway_rate_limiters").await;
    for _ in 0..20 {
        let made_up: Vec<String> = (0..100)
            .map(|_| format!("/admin/tenants/{}", TenantId::new(Region::Us)))
            .collect();
        join_all(made_up.iter().flat_map(|path| {
            [
                s.call(Some(&admin), Method::GET, path, None),
                s.call(Some(&acme_admin), Method::GET, path, None),
            ]
        }))
        .await;
    }
    let after = s.metric("plinth_gateway_rate_limiters").await;
    assert!(
        after <= held + 1,
        "{held} limiters before 2,000 made-up tenants, {after} after"
    );
}
