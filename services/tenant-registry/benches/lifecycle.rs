//! Tenant-registry benchmark (docs/PERFORMANCE.md). In one run, against the same
//! database and broker, with the service's relay and saga consumer running:
//!
//! 1. tenant registration throughput through the API (HTTP, token, checks, the
//!    tenant row, `tenant.created` and the audit event committed), against the same
//!    writes made directly with the service's store and event builders (the
//!    baseline);
//! 2. the onboarding saga's latency, activation request → `tenant.activated`
//!    consumed from the broker, with the owning services answering the moment they
//!    see `tenant.onboarding_requested`, against one hop (registration →
//!    `tenant.created` consumed) measured on the same tenants.
//!
//! Run with `make bench`. PLINTH_BENCH_TENANTS (2,000), PLINTH_BENCH_CLIENTS (16),
//! PLINTH_BENCH_SAGAS (300) and PLINTH_BENCH_SAGA_RATE (20 per second) change the
//! sizes. Consumers keep librdkafka's default `fetch.wait.max.ms`.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use helpers::{As, TestApp, tenant_body};
use plinth_bus::Outbox;
use plinth_core::{Principal, Region, ReqCtx, RequestId, Role, TenantId};
use plinth_db::{TenantScope, connect_pool, scoped_transaction};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use reqwest::Method;
use tenant_registry::events::{Audited, Events, Outcome};
use tenant_registry::settings::{ChecklistItemSpec, OnboardingSettings};
use tenant_registry::store::tenants::{TenantRow, tenant_insert_on_conn};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The owning services' items only: every answer arrives the moment it is asked for.
fn service_items_only() -> OnboardingSettings {
    let mut onboarding = OnboardingSettings::dev_default();
    onboarding
        .items
        .retain(|i: &ChecklistItemSpec| i.satisfied_by.is_some());
    onboarding
}

/// Registrations per second through the API: `clients` callers sharing `n`.
async fn api_rate(app: &Arc<TestApp>, prefix: &str, n: u64, clients: u64) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut callers = JoinSet::new();
    for _ in 0..clients {
        let (app, next, prefix) = (app.clone(), next.clone(), prefix.to_owned());
        callers.spawn(async move {
            let admin = As::platform_admin();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let (status, body) = app
                    .create(&admin, tenant_body(&format!("{prefix}-{i}"), "us"))
                    .await;
                assert_eq!(status, 201, "{body}");
            }
        });
    }
    while let Some(done) = callers.join_next().await {
        done?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Registrations per second written directly: the same tenant row and the same two
/// events in one scoped transaction, over a pool of `clients` connections.
async fn direct_rate(app: &TestApp, prefix: &str, n: u64, clients: u64) -> anyhow::Result<f64> {
    let pool = connect_pool(&app.db.app_url(), clients as usize)?;
    let events = Arc::new(Events::new(&app.bus, Region::Us));
    let ctx = ReqCtx {
        principal: Principal {
            subject: "alice@msp.example".into(),
            display: None,
        },
        tenant: None,
        roles: vec![Role::PlatformAdmin],
        region: Region::Us,
        request_id: RequestId::new(),
    };
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut writers = JoinSet::new();
    for _ in 0..clients {
        let (pool, events, ctx, next) = (pool.clone(), events.clone(), ctx.clone(), next.clone());
        let prefix = prefix.to_owned();
        writers.spawn(async move {
            let mut conn = pool.get().await.unwrap();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let id = TenantId::new(Region::Us);
                let now = time::OffsetDateTime::now_utc();
                let row = TenantRow {
                    tenant_id: id.to_string(),
                    slug: format!("{prefix}-{i}"),
                    display_name: "Acme Corporation".into(),
                    region: "us".into(),
                    status: "PENDING".into(),
                    deployment_model: "hosted_saas".into(),
                    data_mode: "metadata_only".into(),
                    owner_name: "Ana Owner".into(),
                    owner_email: "ana@acme.example".into(),
                    owner_phone: None,
                    created_at: now,
                    created_by: ctx.principal.subject.clone(),
                    updated_at: now,
                };
                let audited = Audited::new("tenant.create", "tenant")
                    .on_tenant(id)
                    .with_hash("after", &row.slug);
                let batch = [
                    events.tenant_created(&row).unwrap(),
                    events
                        .audit(&ctx, &audited, Outcome::Allowed, None)
                        .unwrap(),
                ];
                scoped_transaction(&mut conn, &TenantScope::All, async |conn| {
                    tenant_insert_on_conn(conn, &row).await?;
                    Outbox::enqueue(conn, &batch).await?;
                    Ok::<_, anyhow::Error>(())
                })
                .await
                .unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// When each tenant's events were seen on the tenant topic, by type.
#[derive(Default)]
struct Seen {
    at: HashMap<(String, String), Instant>,
}

/// Reads the tenant topic; answers every onboarding request as the three owning
/// services would, the moment it arrives, and notes when each event was seen.
async fn watch_tenant_topic(app: Arc<TestApp>, seen: Arc<Mutex<Seen>>) -> anyhow::Result<()> {
    let topic = format!("{}plinth.tenant.v1", app.bus.topic_prefix);
    let consumer: StreamConsumer = app
        .bus
        .client_config()
        .set("group.id", format!("{topic}.bench"))
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[&topic])?;
    loop {
        let message = consumer.recv().await?;
        let at = Instant::now();
        let Some(key) = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
        else {
            continue;
        };
        let ty = message
            .headers()
            .and_then(|h| {
                h.iter()
                    .find(|h| h.key == plinth_bus::headers::CE_TYPE)
                    .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
            })
            .unwrap_or_default();
        if ty == "plinth.tenant.onboarding_requested" {
            let app = app.clone();
            let tenant = key.clone();
            tokio::spawn(async move {
                tokio::join!(
                    app.answer(
                        "plinth.audit.store_provisioned",
                        &tenant,
                        "audit_store",
                        None
                    ),
                    app.answer(
                        "plinth.policy.registry_enrolled",
                        &tenant,
                        "policy_registry",
                        None
                    ),
                    app.answer(
                        "plinth.pack.defaults_assigned",
                        &tenant,
                        "pack_defaults",
                        None
                    ),
                    app.answer(
                        "plinth.module.defaults_enabled",
                        &tenant,
                        "module_defaults",
                        None
                    ),
                    app.answer(
                        "plinth.provider.setup_ready",
                        &tenant,
                        "provider_setup",
                        None
                    ),
                );
            });
        }
        seen.lock().await.at.insert((key, ty), at);
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tenants = env_or("PLINTH_BENCH_TENANTS", 2_000);
    let clients = env_or("PLINTH_BENCH_CLIENTS", 16);
    let sagas = env_or("PLINTH_BENCH_SAGAS", 300);
    let saga_rate = env_or("PLINTH_BENCH_SAGA_RATE", 20);

    let app = Arc::new(
        TestApp::spawn_configured(Region::Us, |settings| {
            settings.shared.bus.relay = true;
            settings.shared.bus.partitions = 3;
            settings.shared.database.pool_size = clients as usize + 4;
            settings.onboarding = service_items_only();
        })
        .await,
    );

    // 1. Registration throughput: a warm-up, then the baseline and the API in turn.
    api_rate(&app, "warm", 200, clients).await?;
    let direct = direct_rate(&app, "direct", tenants, clients).await?;
    let api = api_rate(&app, "api", tenants, clients).await?;

    // 2. The saga, paced, each tenant registered then onboarded.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let watcher = tokio::spawn(watch_tenant_topic(app.clone(), seen.clone()));
    let started: Arc<Mutex<Vec<(String, Instant, Instant)>>> = Arc::default();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / saga_rate));
    let mut requests = Vec::new();
    for i in 0..sagas {
        tick.tick().await;
        let (app, started) = (app.clone(), started.clone());
        requests.push(tokio::spawn(async move {
            let admin = As::platform_admin();
            let created_at = Instant::now();
            let (status, tenant) = app
                .create(&admin, tenant_body(&format!("saga-{i}"), "us"))
                .await;
            assert_eq!(status, 201, "{tenant}");
            let id = tenant["tenant_id"].as_str().unwrap().to_owned();
            let requested_at = Instant::now();
            let (status, body) = app
                .call(
                    Some(&admin),
                    Method::POST,
                    &format!("/admin/tenants/{id}/onboarding"),
                    Some(serde_json::json!({})),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            started.lock().await.push((id, created_at, requested_at));
        }));
    }
    for request in requests {
        request.await?;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    let (one_hop, saga, missing) = loop {
        poll.tick().await;
        let started = started.lock().await;
        let seen = seen.lock().await;
        let at = |id: &str, ty: &str| seen.at.get(&(id.to_owned(), ty.to_owned())).copied();
        let missing = started
            .iter()
            .filter(|(id, _, _)| at(id, "plinth.tenant.activated").is_none())
            .count();
        if missing == 0 || Instant::now() > deadline {
            let (mut one_hop, mut saga) = (histogram(), histogram());
            for (id, created_at, requested_at) in started.iter() {
                if let Some(t) = at(id, "plinth.tenant.created") {
                    one_hop.record((t - *created_at).as_micros() as u64)?;
                }
                if let Some(t) = at(id, "plinth.tenant.activated") {
                    saga.record((t - *requested_at).as_micros() as u64)?;
                }
            }
            break (one_hop, saga, missing);
        }
    };
    watcher.abort();

    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!("tenant-registry benchmark ({clients} clients, relay and saga consumer running)");
    println!("  direct writes (baseline)      {direct:>8.0} tenants/s  ({tenants} tenants)");
    println!(
        "  registration through the API  {api:>8.0} tenants/s  ({:.2}x baseline)",
        api / direct
    );
    println!(
        "  one hop: register -> tenant.created consumed     p50 {:>7.1} ms  p99 {:>7.1} ms",
        ms(&one_hop, 0.5),
        ms(&one_hop, 0.99)
    );
    println!(
        "  saga: request -> tenant.activated consumed        p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  (target p99 <= 500 ms)",
        ms(&saga, 0.5),
        ms(&saga, 0.99),
        saga.max() as f64 / 1000.0
    );
    println!(
        "  saga p50 / one hop p50        {:>8.2}x  ({} sagas at {saga_rate}/s, {missing} not active after 120 s)",
        ms(&saga, 0.5) / ms(&one_hop, 0.5),
        saga.len()
    );
    Ok(())
}
