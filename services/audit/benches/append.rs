//! Audit append benchmark (docs/PERFORMANCE.md). In one run, against the same
//! database and broker:
//!
//! 1. the sustained append rate into one tenant's log: audit events for one tenant
//!    published all at once on the real topic, consumed by the running service and
//!    appended (entry, tree hashes, head, a signed checkpoint every 1,000);
//! 2. the baseline: the same events consumed by the same consumer machinery with a
//!    handler that does nothing (inbox records and offsets only);
//! 3. the service's verification of the whole log (`POST …/verify`).
//!
//! Run with `make bench`. PLINTH_BENCH_AUDIT_EVENTS (50,000) sets the size.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::{Duration, Instant};

use diesel_async::AsyncPgConnection;
use futures_util::future::join_all;
use helpers::{TestApp, auditor, tenant};
use plinth_bus::{Area, Consumer, ConsumerConfig, Handler, HandlerError, Received};
use plinth_db::connect_pool;
use plinth_testkit::wait_until;
use tokio_util::sync::CancellationToken;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Records the inbox row and nothing else: the consumer's own cost.
struct Nothing;

impl Handler for Nothing {
    async fn handle(
        &self,
        _conn: &mut AsyncPgConnection,
        _event: &Received,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events = env_or("PLINTH_BENCH_AUDIT_EVENTS", 50_000);
    let app = TestApp::spawn_configured(|s| {
        s.shared.bus.relay = true;
    })
    .await;
    let t = tenant();

    // Warm-up: the log exists, the consumer has joined.
    let warm = 1_000;
    let warm_up: Vec<_> = (0..warm)
        .map(|i| app.audit_event(&t, &format!("warm.{i}"), "ALLOWED"))
        .collect();
    join_all(warm_up.iter().map(|e| app.deliver(e))).await;
    app.wait_for_entries(&t, warm as i64 + 1).await;

    // 1. Appends: every event published at once, timed until the last is appended.
    let batch: Vec<_> = (0..events)
        .map(|i| app.audit_event(&t, &format!("action.{}", i % 50), "ALLOWED"))
        .collect();
    let start = Instant::now();
    join_all(batch.iter().map(|e| app.deliver(e))).await;
    let published = start.elapsed();
    let total = (warm + events + 1) as i64;
    let limit = Duration::from_secs(events / 500 + 120);
    wait_until("every event appended", limit, || async {
        app.entries(&t).await >= total
    })
    .await;
    let appended = events as f64 / start.elapsed().as_secs_f64();

    // 2. The baseline: the same events through the consumer with a handler that
    // does nothing, from the start of the topic.
    let pool = connect_pool(&app.db.app_url(), 4)?;
    let group = format!("{}bench.baseline", app.bus.topic_prefix);
    let consumer = Consumer::new(
        pool,
        app.bus.clone(),
        ConsumerConfig::new(group, vec![app.bus.topic(Area::Audit)]),
        Nothing,
    );
    let stats = consumer.stats();
    let stop = CancellationToken::new();
    let task = tokio::spawn(consumer.run(stop.clone()));
    wait_until(
        "the baseline consumer joined",
        Duration::from_secs(60),
        || async { stats.applied() > 0 },
    )
    .await;
    let joined_at = stats.applied();
    let start = Instant::now();
    wait_until("the baseline consumed everything", limit, || async {
        stats.applied() >= warm + events
    })
    .await;
    let baseline = (warm + events - joined_at) as f64 / start.elapsed().as_secs_f64();
    stop.cancel();
    task.await??;

    // 3. The service verifies the whole log.
    let start = Instant::now();
    let (status, verdict) = app
        .call(
            Some(&auditor()),
            reqwest::Method::POST,
            &format!("/admin/audit/logs/{t}/verify"),
            Some(serde_json::json!({})),
        )
        .await;
    let verified = start.elapsed();
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["ok"], true, "{verdict}");

    println!("audit append benchmark ({events} events for one tenant)");
    println!(
        "  published in                     {:>8.2} s",
        published.as_secs_f64()
    );
    println!("  consumer with a no-op handler    {baseline:>8.0} events/s  (baseline)");
    println!(
        "  appended to the tenant's log     {appended:>8.0} entries/s  ({:.2}x baseline; target >= 5,000/s)",
        appended / baseline
    );
    println!(
        "  POST …/verify of {} entries   {:>8.2} s  ({} checkpoints)",
        verdict["entries"],
        verified.as_secs_f64(),
        verdict["checkpoints"]
    );
    Ok(())
}
