//! Every refusal at the gateway — no valid token, no role, another region, over
//! the rate — reaches `plinth.audit.v1` as an audit event, published by the
//! gateway itself.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use plinth_bus::Schemas;
use plinth_core::{Region, TenantId};
use plinth_testkit::{Idp, avro_json, test_bus};
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use reqwest::Method;

use crate::proxy::stack;

/// A consumer of the stack's audit topic from its beginning, and the schema to
/// read it with.
fn audit_reader(prefix: &str, group: &str) -> (StreamConsumer, Schemas) {
    let consumer: StreamConsumer = test_bus(prefix)
        .client_config()
        .set("group.id", format!("{prefix}{group}"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&format!("{prefix}plinth.audit.v1")])
        .unwrap();
    let schemas = Schemas::from_sources([include_str!(
        "../../../../schemas/avro/audit/audit_event.avsc"
    )])
    .unwrap();
    (consumer, schemas)
}

#[tokio::test]
async fn every_refusal_is_audited() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let nobody = idp.access_token("acme-operator").await;
    let acme = s.register(&admin, "acme").await;

    assert_eq!(
        s.call(None, Method::GET, "/admin/tenants", None).await.0,
        401
    );
    assert_eq!(
        s.call(Some(&nobody), Method::GET, "/admin/tenants", None)
            .await
            .0,
        403
    );
    let eu = TenantId::new(Region::Eu);
    let eu_path = format!("/admin/tenants/{eu}");
    assert_eq!(
        s.call(Some(&admin), Method::GET, &eu_path, None).await.0,
        421
    );
    let acme_path = format!("/admin/tenants/{acme}");
    let flood =
        join_all((0..150).map(|_| s.call(Some(&admin), Method::GET, &acme_path, None))).await;
    let limited = flood.iter().filter(|(status, _, _)| *status == 429).count();
    assert!(limited > 0);

    // Read the audit topic until every kind of refusal has arrived.
    let (consumer, schemas) = audit_reader(&s.prefix, "denials-reader");
    let mut seen: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let start = Instant::now();
    while seen.len() < 4 || seen.get("too_many_requests").map_or(0, Vec::len) < limited {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "refusals seen: {seen:?}"
        );
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .expect("the refusals arrive")
            .unwrap();
        let event = avro_json(schemas.decode_value(message.payload().unwrap()).unwrap().1);
        if event["source_service"] == "gateway" {
            let key = String::from_utf8_lossy(message.key().unwrap()).into_owned();
            let mut event = event;
            event["key"] = key.into();
            seen.entry(event["reason"].as_str().unwrap().to_owned())
                .or_default()
                .push(event);
        }
    }
    let first = |reason: &str| seen[reason][0].clone();
    let unauthenticated = first("unauthenticated");
    assert_eq!(unauthenticated["actor"], "anonymous");
    assert_eq!(unauthenticated["outcome"], "DENIED");
    assert_eq!(unauthenticated["action"], "http.get");
    assert_eq!(unauthenticated["resource_id"], "/admin/tenants");
    assert_eq!(first("forbidden")["actor"], "acme-operator");
    let wrong = first("wrong_region");
    assert_eq!(wrong["actor"], "msp-admin");
    assert_eq!(
        wrong["key"], "platform",
        "another region's tenant has no log here"
    );
    // The platform admin named acme but holds no role in it: the refusal is the
    // platform's record, the path naming acme.
    let limited_event = first("too_many_requests");
    assert_eq!(limited_event["key"], "platform");
    assert_eq!(limited_event["resource_id"], acme_path.as_str());
    assert_eq!(
        seen["too_many_requests"].len(),
        limited,
        "one event per refusal"
    );

    assert_eq!(s.metric("plinth_gateway_audit_undelivered_total").await, 0);
}

#[tokio::test]
async fn garbage_traffic_is_folded_and_a_real_refusal_in_the_middle_is_recorded() {
    use futures_util::StreamExt as _;

    let idp = Idp::start().await;
    let s = crate::proxy::stack_with(
        &idp,
        crate::proxy::Options {
            gateway: serde_json::json!({ "rate_limits": { "unauthenticated_per_second": 50 } }),
            ..Default::default()
        },
    )
    .await;
    let nobody = idp.access_token("acme-operator").await;
    // The flood comes from another address than the real caller's.
    let flooder = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    const FLOOD: usize = 20_000;
    let send = |n: usize| {
        let mut req = flooder.get(format!(
            "{}/admin/tenants/{}",
            s.gateway,
            "x".repeat(n % 3000)
        ));
        if n.is_multiple_of(2) {
            req = req.bearer_auth(format!("garbage-{n}"));
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let first: Vec<u16> = futures_util::stream::iter(0..FLOOD / 2)
        .map(send)
        .buffer_unordered(32)
        .collect()
        .await;
    // A real caller's refusal in the middle of it.
    assert_eq!(
        s.call(Some(&nobody), Method::GET, "/admin/tenants", None)
            .await
            .0,
        403
    );
    let second: Vec<u16> = futures_util::stream::iter(FLOOD / 2..FLOOD)
        .map(send)
        .buffer_unordered(32)
        .collect()
        .await;
    let statuses: Vec<u16> = first.into_iter().chain(second).collect();
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429));
    assert!(
        statuses.iter().filter(|s| **s == 429).count() > FLOOD / 2,
        "the flooding address is refused before authentication"
    );

    // Every garbage request is accounted for in a handful of records; the real
    // refusal is one of its own.
    let (consumer, schemas) = audit_reader(&s.prefix, "fold-reader");
    let (mut anonymous_records, mut accounted, mut repeated, mut real) =
        (0usize, 0u64, 0u64, false);
    let deadline = Instant::now() + Duration::from_secs(60);
    while accounted < FLOOD as u64 || !real {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("{accounted} of {FLOOD} accounted for in {anonymous_records} records, real: {real}")
            })
            .unwrap();
        let event = avro_json(schemas.decode_value(message.payload().unwrap()).unwrap().1);
        if event["source_service"] != "gateway" {
            continue;
        }
        if event["actor"] == "acme-operator" {
            assert_eq!(event["reason"], "forbidden");
            real = true;
            continue;
        }
        assert_eq!(event["actor"], "anonymous");
        assert!(event["resource_id"].as_str().unwrap().len() <= 256);
        anonymous_records += 1;
        match event["details"]["repeated"].as_str() {
            Some(n) => {
                let n: u64 = n.parse().unwrap();
                repeated += n;
                accounted += n;
            }
            None => accounted += 1,
        }
    }
    assert_eq!(accounted, FLOOD as u64);
    assert!(
        anonymous_records <= 24,
        "{FLOOD} garbage requests became {anonymous_records} records"
    );
    let folded = s.metric("plinth_gateway_refusals_folded_total").await;
    assert_eq!(folded, repeated, "the folded ones are counted at /metrics");
    println!("{FLOOD} garbage requests: {anonymous_records} audit records, {folded} folded");
}

/// One trace from the caller to the events its request causes: the `traceparent`
/// a client sends reaches the service through the gateway, the service's request
/// span continues it, and the audit event the service's outbox publishes carries
/// the same trace id in its headers.
#[tokio::test]
async fn a_requests_trace_reaches_the_audit_event_it_causes() {
    let _telemetry =
        plinth_telemetry::init(&plinth_telemetry::TelemetryConfig::new("gateway-test")).unwrap();
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let response = reqwest::Client::new()
        .post(format!("{}/admin/tenants", s.gateway))
        .bearer_auth(&admin)
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&crate::proxy::tenant("traced", "us"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();

    let (consumer, schemas) = audit_reader(&s.prefix, "trace-reader");
    let start = Instant::now();
    let traceparent = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no audit event of the registration arrived"
        );
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .expect("the audit event arrives")
            .unwrap();
        let event = avro_json(schemas.decode_value(message.payload().unwrap()).unwrap().1);
        if event["source_service"] == "tenant-registry" && event["resource_id"] == tenant.as_str() {
            break plinth_bus::headers::header_str(
                message.headers().unwrap(),
                plinth_telemetry::TRACEPARENT,
            );
        }
    };
    let traceparent = traceparent.expect("the audit event carries a traceparent");
    assert_eq!(
        plinth_telemetry::trace_id_of(&traceparent),
        Some(trace.as_str()),
        "{traceparent}"
    );
}
