//! What an SRE sees of the gateway: health and its counters on its operators'
//! listener, none of it on the public one, and readiness only once the
//! projections a request is decided with have caught up.

use std::time::Duration;

use plinth_testkit::{Idp, wait_until};
use serde_json::Value;

use reqwest::Method;

use crate::proxy::{Options, stack, stack_with};

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
        [
            "accepting requests",
            "tenants projection",
            "sessions projection"
        ],
        "{ready}"
    );
    assert!(stack.metric("plinth_gateway_rate_limiters").await < 1_000);

    // Requests counted by the route they took: a forwarded one by its service
    // route's prefix, never its path with a tenant in it.
    let admin = idp.access_token("msp-admin").await;
    let (status, _, _) = stack
        .call(Some(&admin), Method::GET, "/admin/tenants", None)
        .await;
    assert_eq!(status, 200);
    let tenant = plinth_core::TenantId::new(plinth_core::Region::Us);
    let (status, _, _) = stack
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/tenants/{tenant}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let routed = |status: &'static str| {
        [
            ("http_request_method", "GET"),
            ("http_route", "/admin/tenants"),
            ("http_response_status_code", status),
        ]
    };
    let count = "http_server_request_duration_seconds_count";
    assert!(stack.metric_of(count, &routed("200")).await >= 1);
    assert_eq!(stack.metric_of(count, &routed("404")).await, 1);
    let text = reqwest::get(format!("{ops}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&tenant.to_string()), "{text}");

    for path in ["/metrics", "/livez", "/readyz"] {
        let public = http
            .get(format!("{}{path}", stack.gateway))
            .send()
            .await
            .unwrap();
        assert_eq!(public.status(), 404, "{path} on the public listener");
    }
}

#[tokio::test]
async fn the_platform_team_reads_the_regions_readiness_and_nobody_else_does() {
    let idp = Idp::start().await;
    let stack = stack_with(
        &idp,
        Options {
            audit: true,
            packs: true,
            modules: true,
            providers: true,
            policy: true,
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    wait_until("the region ready", Duration::from_secs(30), || async {
        let (status, report, _) = stack
            .call(Some(&admin), Method::GET, "/admin/readiness", None)
            .await;
        status == 200 && report["ready"] == true
    })
    .await;
    let (_, report, _) = stack
        .call(Some(&admin), Method::GET, "/admin/readiness", None)
        .await;
    let services: Vec<(&str, bool)> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["service"].as_str().unwrap(), s["ready"] == true))
        .collect();
    assert_eq!(
        services,
        [
            ("audit", true),
            ("module-catalog", true),
            ("pack-service", true),
            ("policy", true),
            ("provider-setup", true),
            ("tenant-registry", true)
        ],
        "{report}"
    );
    assert_eq!(report["region"], "us");
    assert_eq!(report["gateway"]["ready"], true);
    assert!(
        report["services"][4]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "database" && c["ok"] == true),
        "{report}"
    );

    let auditor = idp.access_token("msp-auditor").await;
    let (status, _, _) = stack
        .call(Some(&auditor), Method::GET, "/admin/readiness", None)
        .await;
    assert_eq!(status, 200, "platform auditors read it too");
    for who in ["msp-operator", "acme-admin"] {
        let token = idp.access_token(who).await;
        let (status, problem, _) = stack
            .call(Some(&token), Method::GET, "/admin/readiness", None)
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("forbidden")),
            "{who}"
        );
    }
    let (status, problem, _) = stack
        .call(None, Method::GET, "/admin/readiness", None)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("unauthenticated"))
    );
}
