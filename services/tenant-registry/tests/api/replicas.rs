//! Two processes of the tenant registry on one database, one relay turn and one
//! consumer group, as an SRE scales it. The relay's holder is killed (SIGKILL) in
//! the middle of 2,000 API writes and 5,000 events (3,000 answers to checklist
//! items and 2,000 redeliveries of them): no write is lost or half-applied, no
//! event is lost or applied twice, the survivor takes the relay's turn and every
//! partition.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use plinth_core::Region;
use plinth_testkit::replicas::{Balancer, Pair};
use plinth_testkit::{
    Publisher, Replicas, count_all_tenants, read_topics, test_bus, time_until, wait_until,
};
use reqwest::Method;
use serde_json::json;
use tokio::sync::watch;

use crate::helpers::{TenantRegistry, answer_event, tenant_body};

/// Tenants registered; each is two writes (registration, activation request).
const TENANTS: usize = 1_000;
/// The registry's items another service answers, by the event that satisfies each.
const ANSWERED: [(&str, &str); 5] = [
    ("plinth.audit.store_provisioned", "audit_store"),
    ("plinth.policy.registry_enrolled", "policy_registry"),
    ("plinth.pack.defaults_assigned", "pack_defaults"),
    ("plinth.module.defaults_enabled", "module_defaults"),
    ("plinth.provider.setup_ready", "provider_setup"),
];
/// Partitions of each topic; the saga reads four.
const PARTITIONS: usize = 4;

/// What the writers saw.
#[derive(Default)]
struct Written {
    /// Tenants registered and onboarding, by id.
    onboarding: Vec<String>,
    /// Registrations the killed replica committed without answering: the
    /// survivor refused them again as taken (`409`).
    committed_unanswered: usize,
    /// Activation requests likewise.
    activation_unanswered: usize,
    /// Requests that failed (none allowed).
    failed: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_stream_loses_nothing_and_applies_nothing_twice() {
    let Pair {
        mut replicas,
        db,
        keys,
        prefix,
    } = Replicas::pair::<TenantRegistry>(
        env!("CARGO_BIN_EXE_tenant-registry"),
        PARTITIONS,
        json!({}),
    )
    .await;
    // One group over the saga's four topics: sixteen partitions between them.
    let all_partitions = ANSWERED.len() * PARTITIONS;
    replicas.wait_assigned(all_partitions).await;
    let holder = replicas.relay_holder().await;
    let survivor = 1 - holder;

    let fleet = Arc::new(Balancer::new(
        &replicas,
        tenant_registry::AUDIENCE,
        Region::Us,
        &keys,
    ));
    let bus = test_bus(prefix.clone());
    let publisher = Arc::new(Publisher::new(&bus));
    let schemas =
        plinth_bus::Schemas::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/avro"))
            .unwrap();
    let schemas = Arc::new(schemas);
    let (progress, mut watched) = watch::channel(0usize);
    let mut watched_for_lag = watched.clone();

    // Eight writers; each tenant: registration, activation request, its four
    // answers and two of them delivered again.
    let writers = {
        let (fleet, publisher, schemas, prefix) = (
            fleet.clone(),
            publisher.clone(),
            schemas.clone(),
            prefix.clone(),
        );
        async move {
            let mut written = Written::default();
            let mut done = 0;
            let mut tenants = futures_util::stream::iter(0..TENANTS)
                .map(|i| {
                    let (fleet, publisher, schemas, prefix) = (
                        fleet.clone(),
                        publisher.clone(),
                        schemas.clone(),
                        prefix.clone(),
                    );
                    async move { onboard(i, &fleet, &publisher, &schemas, &prefix).await }
                })
                .buffer_unordered(8);
            while let Some(outcome) = tenants.next().await {
                match outcome {
                    Outcome::Onboarding {
                        tenant,
                        activation_unanswered,
                    } => {
                        written.onboarding.push(tenant);
                        written.activation_unanswered += usize::from(activation_unanswered);
                    }
                    Outcome::CommittedUnanswered => written.committed_unanswered += 1,
                    Outcome::Failed(why) => written.failed.push(why),
                }
                done += 1;
                progress.send_replace(done);
            }
            written
        }
    };
    // The relay's holder killed once 40% of the tenants are through.
    let killer = async {
        watched
            .wait_for(|done| *done >= TENANTS * 2 / 5)
            .await
            .unwrap();
        replicas.kill(holder).await;
        fleet.take_out(holder);
        let limit = Duration::from_secs(60);
        tokio::join!(
            time_until("the survivor to take the relay's turn", limit, || async {
                replicas.turns(survivor).await == 1
            }),
            time_until("the survivor to take every partition", limit, || async {
                replicas.assigned(survivor).await == all_partitions
            }),
        )
    };
    // The most the group was behind, summed over its partitions, on either
    // replica (as their statistics report it every five seconds).
    let lag = async {
        let mut most = 0.0f64;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = watched_for_lag.wait_for(|done| *done == TENANTS) => return most,
                _ = tick.tick() => {}
            }
            for i in fleet.in_rotation() {
                let text = fleet.metrics(i).await;
                let sum: f64 = text
                    .lines()
                    .filter(|l| l.starts_with("plinth_consumer_lag{"))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum();
                most = most.max(sum);
            }
        }
    };
    let started = Instant::now();
    let (written, (takeover, rebalanced), most_lag) = tokio::join!(writers, killer, lag);
    let elapsed = started.elapsed();
    assert!(written.failed.is_empty(), "{:#?}", written.failed);

    // Everything settles on the survivor: the outbox published, the answers
    // applied.
    let app_url = db.app_url();
    let onboarding = written.onboarding.len() as i64;
    wait_until("every answer applied", Duration::from_secs(120), || async {
        count_all_tenants(
            &app_url,
            "SELECT count(*) AS n FROM checklist_items \
             WHERE flow = 'onboarding' AND state = 'satisfied'",
        )
        .await
            == ANSWERED.len() as i64 * onboarding
    })
    .await;
    wait_until("the outbox published", Duration::from_secs(60), || async {
        replicas
            .metric(survivor, "plinth_outbox_backlog_rows", &[])
            .await
            == 0.0
    })
    .await;

    // Writes: every registration answered 201 is there once, with the ones the
    // killed replica committed without answering; none is there twice.
    let registered = count_all_tenants(&app_url, "SELECT count(*) AS n FROM tenants").await;
    assert_eq!(
        registered,
        onboarding + written.committed_unanswered as i64,
        "registrations"
    );
    let requested =
        count_all_tenants(&app_url, "SELECT count(*) AS n FROM onboarding_requests").await;
    assert_eq!(requested, onboarding, "activation requests");

    // Events in: each answer applied once; the redeliveries recognised.
    let inbox = plinth_testkit::count(&db.owner_url(), "SELECT count(*) AS n FROM inbox").await;
    assert_eq!(
        inbox,
        ANSWERED.len() as i64 * onboarding,
        "answers recorded in the inbox"
    );

    // Events out: every event the registry committed is on its topics (0 lost);
    // each answer's effect (its audit event) is there once.
    let committed: HashSet<String> = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        let mut conn = plinth_db::connect(&db.owner_url()).await.unwrap();
        diesel_async::RunQueryDsl::load::<Id>(
            diesel::sql_query("SELECT unnest(event_ids)::text AS id FROM outbox_sent"),
            &mut conn,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
    };
    let topics = [
        format!("{prefix}plinth.tenant.v1"),
        format!("{prefix}plinth.audit.v1"),
    ];
    let read = read_topics(&bus, &topics).await;
    let ours: Vec<_> = read
        .iter()
        .filter(|m| committed.contains(&m.ce_id))
        .collect();
    let seen: HashSet<&str> = ours.iter().map(|m| m.ce_id.as_str()).collect();
    let lost = committed.len() - seen.len();
    let published_again = ours.len() - seen.len();
    assert_eq!(lost, 0, "events committed and never published");
    let mut item_updates: HashMap<(String, String), HashSet<&str>> = HashMap::new();
    for message in &ours {
        let (name, value) = schemas.decode_value(&message.payload).unwrap();
        if name != "plinth.audit.AuditEvent" {
            continue;
        }
        let event = plinth_testkit::avro_json(value);
        if event["resource_type"] == "checklist_item" && event["outcome"] == "ALLOWED" {
            item_updates
                .entry((
                    event["tenant_id"].as_str().unwrap_or_default().to_owned(),
                    event["resource_id"].as_str().unwrap_or_default().to_owned(),
                ))
                .or_default()
                .insert(message.ce_id.as_str());
        }
    }
    assert_eq!(
        item_updates.len() as i64,
        ANSWERED.len() as i64 * onboarding,
        "items answered"
    );
    let applied_twice = item_updates.values().filter(|ids| ids.len() > 1).count();
    assert_eq!(applied_twice, 0, "answers applied twice");

    println!(
        "replicas: {TENANTS} tenants ({} API writes, {} answered by the survivor after the \
         killed replica's connection failed), {} events in ({} answers, {} redeliveries), \
         {} events out; relay holder killed at {}% — survivor took the turn in {} ms, every \
         partition in {} ms; most consumer lag {most_lag} messages; {} registrations and {} \
         activation requests committed unanswered (refused on retry as done); 0 lost, 0 \
         applied twice, {published_again} published again after the kill (recognised by id); \
         {:.1} s",
        2 * TENANTS,
        fleet.retried(),
        (ANSWERED.len() as i64 + 2) * onboarding,
        ANSWERED.len() as i64 * onboarding,
        2 * onboarding,
        committed.len(),
        40,
        takeover.as_millis(),
        rebalanced.as_millis(),
        written.committed_unanswered,
        written.activation_unanswered,
        elapsed.as_secs_f64(),
    );
}

enum Outcome {
    Onboarding {
        tenant: String,
        activation_unanswered: bool,
    },
    CommittedUnanswered,
    Failed(String),
}

/// Registers tenant `i`, requests its activation, and publishes the answers of
/// its four service items (two of them twice).
async fn onboard(
    i: usize,
    fleet: &Balancer,
    publisher: &Publisher,
    schemas: &plinth_bus::Schemas,
    prefix: &str,
) -> Outcome {
    let slug = format!("replica-{i:04}");
    let registered = fleet
        .send(
            i,
            Method::POST,
            "/admin/tenants",
            Some(tenant_body(&slug, "us")),
        )
        .await;
    let tenant = match registered.status {
        201 => registered.body["tenant_id"].as_str().unwrap().to_owned(),
        409 if registered.retried => return Outcome::CommittedUnanswered,
        status => {
            return Outcome::Failed(format!("registering {slug}: {status} {}", registered.body));
        }
    };
    let path = format!("/admin/tenants/{tenant}/onboarding");
    let requested = fleet.send(i, Method::POST, &path, Some(json!({}))).await;
    let activation_unanswered = match requested.status {
        201 => false,
        409 if requested.retried && requested.body["code"] == "invalid_transition" => true,
        status => {
            return Outcome::Failed(format!("activating {slug}: {status} {}", requested.body));
        }
    };
    for (n, (ty, item)) in ANSWERED.iter().enumerate() {
        let event = answer_event(schemas, prefix, ty, &tenant, item, None);
        publisher.deliver(&event).await;
        if n < 2 {
            publisher.deliver(&event).await;
        }
    }
    Outcome::Onboarding {
        tenant,
        activation_unanswered,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stopped_with_sigterm_hands_over_its_turn_and_partitions() {
    // The database lives as long as the test (`_db`): dropping it drops it.
    let Pair {
        mut replicas,
        keys,
        db: _db,
        ..
    } = Replicas::pair::<TenantRegistry>(
        env!("CARGO_BIN_EXE_tenant-registry"),
        PARTITIONS,
        json!({}),
    )
    .await;
    let all_partitions = ANSWERED.len() * PARTITIONS;
    replicas.wait_assigned(all_partitions).await;
    let holder = replicas.relay_holder().await;
    let survivor = 1 - holder;

    // SIGTERM: the holder drains, hands its turn over and leaves the group.
    let watcher = Balancer::new(&replicas, tenant_registry::AUDIENCE, Region::Us, &keys);
    let limit = Duration::from_secs(60);
    let watch = async {
        tokio::join!(
            time_until("the survivor to take the relay's turn", limit, || async {
                watcher.metric(survivor, "plinth_relay_turns_total").await == 1.0
            }),
            time_until("the survivor to take every partition", limit, || async {
                watcher
                    .metric(survivor, "plinth_consumer_assigned_partitions")
                    .await as usize
                    == all_partitions
            }),
        )
    };
    let ((clean, stopped), (took_turn, took_partitions)) =
        tokio::join!(replicas.terminate(holder, Duration::from_secs(40)), watch);
    assert!(clean, "the stopped replica exited with an error");
    println!(
        "replica stopped with SIGTERM: exited cleanly in {} ms; the survivor took the \
         relay's turn {} ms and every partition {} ms after the signal",
        stopped.as_millis(),
        took_turn.as_millis(),
        took_partitions.as_millis()
    );
}
