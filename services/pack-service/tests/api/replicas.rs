//! Two processes of the pack service on one database, one relay turn and one
//! consumer group. The relay's holder is killed (SIGKILL) in the middle of 5,000
//! tenant events and 2,000 pack validations (each an import attempt recorded and
//! audited): every tenant is known once, every attempt answered is stored with
//! its audit event published, none half-applied.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use plinth_bus::{Area, Event};
use plinth_core::{Region, TenantId};
use plinth_testkit::replicas::{Balancer, Pair};
use plinth_testkit::{
    Publisher, Replicas, count_all_tenants, read_topics, test_bus, time_until, wait_until,
};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{PackService, example};

const EVENTS: usize = 5_000;
const WRITES: usize = 2_000;
const PARTITIONS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_stream_loses_nothing_and_half_applies_nothing() {
    let Pair {
        mut replicas,
        db,
        keys,
        prefix,
    } = Replicas::pair::<PackService>(env!("CARGO_BIN_EXE_pack-service"), PARTITIONS, json!({}))
        .await;
    let holder = replicas.relay_holder().await;
    let survivor = 1 - holder;
    let balancer = Arc::new(Balancer::new(
        &replicas,
        pack_service::AUDIENCE,
        Region::Us,
        &keys,
    ));

    let bus = test_bus(prefix.clone());
    let schemas =
        plinth_bus::Schemas::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/avro"))
            .unwrap();
    let tenants: Vec<Event> = (0..EVENTS)
        .map(|n| {
            let tenant = TenantId::new(Region::Us).to_string();
            let payload = schemas
                .encode(
                    "plinth.tenant.TenantCreated",
                    &json!({
                        "tenant_id": tenant, "slug": format!("replica-{n:05}"),
                        "display_name": "Replica tenant", "region": "us", "status": "PENDING",
                        "deployment_model": "hosted_saas", "data_mode": "metadata_only",
                        "created_at": 1_790_000_000_000_000i64, "created_by": "alice@msp.example"
                    }),
                )
                .unwrap();
            Event::new(
                bus.topic(Area::Tenant),
                tenant,
                "plinth.tenant.created",
                "/plinth/us/tenant-registry",
                payload,
            )
        })
        .collect();
    let publisher = Publisher::new(&bus);
    let validation = json!({ "kind": "domain", "pack": example("itsm-1.0.0.json") });

    // Writes, eight at a time, and the events, side by side; the relay's holder
    // killed once 40% of the writes are answered.
    let (progress, mut watched) = tokio::sync::watch::channel(0usize);
    let writes = {
        let (balancer, validation) = (balancer.clone(), validation.clone());
        async move {
            let mut answered = 0usize;
            let mut failed = Vec::new();
            let mut done = 0;
            let mut sent = futures_util::stream::iter(0..WRITES)
                .map(|i| {
                    let (balancer, validation) = (balancer.clone(), validation.clone());
                    async move {
                        balancer
                            .send(i, Method::POST, "/admin/packs/validate", Some(validation))
                            .await
                    }
                })
                .buffer_unordered(8);
            while let Some(answer) = sent.next().await {
                if answer.status == 200 && answer.body["attempt_id"].is_string() {
                    answered += 1;
                } else {
                    failed.push(format!("{} {}", answer.status, answer.body));
                }
                done += 1;
                progress.send_replace(done);
            }
            (answered, failed)
        }
    };
    let events = async {
        for event in &tenants {
            publisher.deliver(event).await;
        }
    };
    let killer = async {
        watched
            .wait_for(|done| *done >= WRITES * 2 / 5)
            .await
            .unwrap();
        replicas.kill(holder).await;
        balancer.take_out(holder);
        time_until(
            "the survivor to take the relay's turn",
            Duration::from_secs(60),
            || async { replicas.turns(survivor).await == 1 },
        )
        .await
    };
    let started = Instant::now();
    let ((answered, failed), (), takeover) = tokio::join!(writes, events, killer);
    assert!(failed.is_empty(), "{failed:#?}");

    // Events in: every tenant known once.
    wait_until("every tenant known", Duration::from_secs(120), || async {
        count_all_tenants(&db.app_url(), "SELECT count(*) AS n FROM tenants").await >= EVENTS as i64
    })
    .await;
    assert_eq!(
        count_all_tenants(&db.app_url(), "SELECT count(*) AS n FROM tenants").await,
        EVENTS as i64
    );
    // Each consumer group records a tenant's creation: the projector, and the
    // workspaces' consumer (it adds a tenant it meets first).
    for group in ["projector", "workspaces"] {
        let inbox = plinth_testkit::count(
            &db.owner_url(),
            &format!("SELECT count(*) AS n FROM inbox WHERE consumer LIKE '%.{group}'"),
        )
        .await;
        assert_eq!(
            inbox, EVENTS as i64,
            "events recorded in the {group}'s inbox once each"
        );
    }

    // Writes: every one answered is stored; one whose connection broke under the
    // kill may be stored too (its retry is another attempt); each stored attempt
    // is audited, once, on the topic.
    wait_until("the outbox published", Duration::from_secs(60), || async {
        replicas
            .metric(survivor, "plinth_outbox_backlog_rows", &[])
            .await
            == 0.0
    })
    .await;
    let broken = balancer.retried();
    let attempts =
        count_all_tenants(&db.app_url(), "SELECT count(*) AS n FROM import_attempts").await;
    assert!(
        attempts >= answered as i64 && attempts <= (answered + broken) as i64,
        "{attempts} attempts stored, {answered} answered, {broken} broken under the kill"
    );
    let audited: Vec<String> = read_topics(&bus, &[bus.topic(Area::Audit)])
        .await
        .into_iter()
        .filter_map(|m| {
            let (name, value) = schemas.decode_value(&m.payload).ok()?;
            let event = plinth_testkit::avro_json(value);
            (name == "plinth.audit.AuditEvent" && event["action"] == "pack.domain.validate")
                .then_some(m.ce_id)
        })
        .collect();
    let distinct: HashSet<&String> = audited.iter().collect();
    assert_eq!(distinct.len() as i64, attempts, "each attempt audited");

    println!(
        "pack-service replicas: {EVENTS} tenant events and {WRITES} validations, the relay's \
         holder killed at 40% — survivor took the turn in {} ms; {answered} validations \
         answered ({broken} by the survivor after the killed one's connection broke), \
         {attempts} attempts stored, each audited ({} audit events published again after \
         the kill, recognised by id); every tenant known once; {:.1} s",
        takeover.as_millis(),
        audited.len() - distinct.len(),
        started.elapsed().as_secs_f64()
    );
}
