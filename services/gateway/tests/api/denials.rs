//! Every refusal at the gateway — no valid token, no role, another region, over
//! the rate — reaches `plinth.audit.v1` as an audit event, published by the
//! gateway itself.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use plinth_bus::Schemas;
use plinth_core::{Region, TenantId};
use plinth_testkit::{Idp, avro_json, test_brokers};
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use reqwest::Method;

use crate::proxy::stack;

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
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", test_brokers())
        .set("group.id", format!("{}denials-reader", s.prefix))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&format!("{}plinth.audit.v1", s.prefix)])
        .unwrap();
    let schemas = Schemas::from_sources([include_str!(
        "../../../../schemas/avro/audit/audit_event.avsc"
    )])
    .unwrap();
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

    let metrics = reqwest::get(format!("{}/metrics", s.gateway))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("plinth_gateway_audit_undelivered_total 0"),
        "{metrics}"
    );
}
