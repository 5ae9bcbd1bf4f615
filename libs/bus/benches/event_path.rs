//! Event-path benchmark: in one run, against the same broker and database,
//!
//! 1. the raw rdkafka producer rate (the baseline),
//! 2. the relay's rate from committed outbox rows, and its ratio to the baseline,
//! 3. commit → consume latency (p50, p99) with business writes paced at a fixed rate,
//!    beside the broker's own produce → consume latency at the same rate (a plain
//!    librdkafka producer and consumer, no database), its baseline.
//!
//! Run with `make bench` (or `cargo bench -p plinth-bus --bench event_path` with the
//! dev stack up). Sizes can be changed with PLINTH_BENCH_EVENTS and PLINTH_BENCH_RATE.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use hdrhistogram::Histogram;
use plinth_bus::{
    Area, BusConfig, Consumer, ConsumerConfig, Event, Handler, HandlerError, Outbox, Received,
    Relay, RelayConfig, TopicSpec, ensure_topics,
};
use plinth_core::{Region, TenantId};
use plinth_db::testing::TestDb;
use plinth_db::{MigrationSet, connect_pool};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TEST_MIGRATIONS: EmbeddedMigrations = embed_migrations!("tests/migrations");
const PAYLOAD: [u8; 160] = [7; 160];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(topic: &str, tenant: &TenantId) -> Event {
    Event::new(
        topic,
        tenant.to_string(),
        "plinth.bench.tick",
        "/plinth/bench",
        PAYLOAD.to_vec(),
    )
}

/// Raw producer: `n` keyed messages, all in flight at once, carrying the same
/// CloudEvents headers and payload size as the relay's; messages per second.
async fn raw_producer_rate(
    producer: &FutureProducer,
    topic: &str,
    tenants: &[TenantId],
    n: u64,
) -> f64 {
    let keys: Vec<String> = tenants.iter().map(ToString::to_string).collect();
    let start = Instant::now();
    let sends = (0..n).map(|i| {
        let key = &keys[i as usize % keys.len()];
        let headers = event(topic, &tenants[i as usize % tenants.len()])
            .cloud_event()
            .to_headers();
        producer.send(
            FutureRecord::to(topic)
                .key(key.as_str())
                .payload(&PAYLOAD[..])
                .headers(headers),
            Duration::from_secs(30),
        )
    });
    for result in futures_util::future::join_all(sends).await {
        result.map_err(|(e, _)| e).expect("raw produce");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// A plain librdkafka consumer reading `topic` from the start for at most `limit`:
/// how many of `n` messages arrived, and the rate. Tells Plinth's consumer apart from
/// the broker's fetch path.
async fn raw_consumer_rate(
    bus: &BusConfig,
    topic: &str,
    n: u64,
    limit: Duration,
) -> anyhow::Result<(u64, f64)> {
    use rdkafka::consumer::{Consumer as _, StreamConsumer};
    let consumer: StreamConsumer = bus
        .client_config()
        .set("group.id", format!("{topic}.raw-reader"))
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[topic])?;
    let start = Instant::now();
    let mut got = 0;
    while got < n {
        let Some(left) = limit.checked_sub(start.elapsed()) else {
            break;
        };
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(message) => {
                message?;
                got += 1;
            }
            Err(_) => break,
        }
    }
    Ok((got, got as f64 / start.elapsed().as_secs_f64()))
}

/// The broker's own latency: a plain producer (the bus's settings) sends `total`
/// keyed messages at `rate` per second and a plain consumer reads them; the
/// histogram of send → receive in microseconds.
async fn raw_latency(
    bus: &BusConfig,
    topic: &str,
    tenants: &[TenantId],
    rate: u64,
    total: u64,
) -> anyhow::Result<Histogram<u64>> {
    use rdkafka::Message;
    use rdkafka::consumer::{Consumer as _, StreamConsumer};
    let consumer: StreamConsumer = bus
        .client_config()
        .set("group.id", format!("{topic}.latency"))
        .set("auto.offset.reset", "latest")
        .create()?;
    consumer.subscribe(&[topic])?;
    let producer = bus.producer()?;
    // Sent until the consumer has its partitions and reads them.
    let keys: Vec<String> = tenants.iter().map(ToString::to_string).collect();
    let joined = Instant::now();
    loop {
        producer
            .send(
                FutureRecord::to(topic)
                    .key(&keys[0])
                    .payload(&u64::MAX.to_le_bytes()[..]),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)?;
        if tokio::time::timeout(Duration::from_millis(200), consumer.recv())
            .await
            .is_ok()
        {
            break;
        }
        anyhow::ensure!(
            joined.elapsed() < Duration::from_secs(60),
            "raw consumer did not join"
        );
    }
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let reader = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3).unwrap();
            while h.len() < total {
                let Ok(Ok(message)) =
                    tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await
                else {
                    break;
                };
                let now = Instant::now();
                let seq = u64::from_le_bytes(
                    message.payload().unwrap_or(&[0; 8])[..8]
                        .try_into()
                        .unwrap(),
                );
                if let Some(at) = sent.lock().unwrap().remove(&seq) {
                    h.record(now.duration_since(at).as_micros() as u64).unwrap();
                }
            }
            h
        })
    };
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut acks = Vec::with_capacity(total as usize);
    for seq in 0..total {
        pace.tick().await;
        sent.lock().unwrap().insert(seq, Instant::now());
        let bytes = seq.to_le_bytes();
        let record = FutureRecord::to(topic)
            .key(&keys[seq as usize % keys.len()])
            .payload(&bytes[..]);
        acks.push(producer.send_result(record).map_err(|(e, _)| e)?);
    }
    for ack in acks {
        ack.await?.map_err(|(e, _)| e)?;
    }
    Ok(reader.await?)
}

/// Commit → consume latency recorder.
#[derive(Clone, Default)]
struct Latency {
    committed: Arc<Mutex<HashMap<Uuid, Instant>>>,
    histogram: Arc<Mutex<Option<Histogram<u64>>>>,
}

impl Handler for Latency {
    async fn handle(
        &self,
        _conn: &mut AsyncPgConnection,
        event: &Received,
    ) -> Result<(), HandlerError> {
        let now = Instant::now();
        if let Some(at) = self.committed.lock().unwrap().remove(&event.event.id) {
            let micros = now.duration_since(at).as_micros() as u64;
            let mut h = self.histogram.lock().unwrap();
            h.get_or_insert_with(|| Histogram::new(3).unwrap())
                .record(micros)
                .unwrap();
        }
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo test --benches` lists benchmarks; this one has no cases.
    }
    let events = env_or("PLINTH_BENCH_EVENTS", 20_000);
    let rate = env_or("PLINTH_BENCH_RATE", 1_000);
    let seconds = env_or("PLINTH_BENCH_SECONDS", 15);
    let partitions = env_or("PLINTH_BENCH_PARTITIONS", 3) as i32;

    let db = TestDb::create(
        "bus_bench",
        MigrationSet([plinth_bus::MIGRATIONS, TEST_MIGRATIONS]),
    )
    .await?;
    let pool = connect_pool(&db.app_url(), 8)?;
    let prefix = format!("b{}.", &Uuid::new_v4().simple().to_string()[..12]);
    let bus = plinth_testkit::test_bus(prefix.clone());
    let raw_topic = format!("{prefix}bench.raw");
    let latency_topic = format!("{prefix}bench.latency");
    let topic = bus.topic(Area::Tenant);
    let paced_topic = bus.topic(Area::Audit);
    let specs = [
        TopicSpec::new(&raw_topic, partitions),
        TopicSpec::new(&latency_topic, partitions),
        TopicSpec::new(&topic, partitions),
        TopicSpec::new(&paced_topic, partitions),
        TopicSpec::new(&paced_topic, partitions).dlq(),
    ];
    ensure_topics(&bus, &specs).await?;
    let tenants: Vec<TenantId> = (0..8).map(|_| TenantId::new(Region::Us)).collect();

    // 1. baseline
    let producer = bus.producer()?;
    raw_producer_rate(&producer, &raw_topic, &tenants, 1_000).await; // warm-up
    let raw = raw_producer_rate(&producer, &raw_topic, &tenants, events).await;
    eprintln!("raw producer: {raw:.0} msg/s");
    let raw_limit = Duration::from_secs(30);
    let (raw_got, raw_consumed) =
        raw_consumer_rate(&bus, &raw_topic, events + 1_000, raw_limit).await?;
    eprintln!("raw consumer: {raw_got} messages, {raw_consumed:.0} msg/s");

    // 2. relay from committed rows. The relay starts first and publishes one event, so
    // its producer is connected like the warmed-up baseline's; then all rows commit
    // at once and the clock runs until the last is acknowledged.
    let defaults = RelayConfig::default();
    let relay_config = RelayConfig {
        batch_size: env_or("PLINTH_BENCH_RELAY_BATCH", defaults.batch_size as u64) as i64,
        batches_in_flight: env_or(
            "PLINTH_BENCH_RELAY_IN_FLIGHT",
            defaults.batches_in_flight as u64,
        ) as usize,
        ..defaults
    };
    let relay = Relay::new(
        pool.clone(),
        &db.app_url(),
        bus.clone(),
        relay_config.clone(),
    );
    let relay_stats = relay.stats();
    let stop = CancellationToken::new();
    let relay_task = tokio::spawn(relay.run(stop.clone()));
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut conn = pool.get().await?;
    Outbox::enqueue(&mut conn, &[event(&topic, &tenants[0])]).await?;
    let warm = Instant::now();
    while relay_stats.published() < 1 {
        tick.tick().await;
        anyhow::ensure!(
            warm.elapsed() < Duration::from_secs(60),
            "relay did not start"
        );
    }
    let rows: Vec<Event> = (0..events)
        .map(|i| event(&topic, &tenants[i as usize % 8]))
        .collect();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        for chunk in rows.chunks(1_000) {
            Outbox::enqueue(conn, chunk).await?;
        }
        Ok(())
    })
    .await?;
    drop(conn);
    let start = Instant::now();
    while relay_stats.published() < events + 1 {
        tick.tick().await;
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(600),
            "relay did not finish"
        );
    }
    let relayed = events as f64 / start.elapsed().as_secs_f64();
    eprintln!("relay: {relayed:.0} msg/s");

    // 3. latency at a fixed rate: first the broker's own (the baseline), then Plinth's
    // with the relay and a consumer running, each on a topic of its own
    let raw_h = raw_latency(&bus, &latency_topic, &tenants, rate, rate * seconds).await?;
    let latency = Latency::default();
    let config = ConsumerConfig::new(format!("{prefix}bench"), vec![paced_topic.clone()]);
    let consumer = Consumer::new(pool.clone(), bus.clone(), config, latency.clone());
    let consumer_stats = consumer.stats();
    let consumer_task = tokio::spawn(consumer.run(stop.clone()));
    // Latency is measured at steady state: the consumer has joined its group and
    // applied a few warm-up events before the paced writes begin.
    const WARM_UP: u64 = 100;
    {
        let mut conn = pool.get().await?;
        let warm: Vec<Event> = (0..WARM_UP)
            .map(|i| event(&paced_topic, &tenants[i as usize % 8]))
            .collect();
        Outbox::enqueue(&mut conn, &warm).await?;
    }
    let joined = Instant::now();
    while consumer_stats.applied() < WARM_UP {
        tick.tick().await;
        anyhow::ensure!(
            joined.elapsed() < Duration::from_secs(120),
            "consumer did not start"
        );
    }
    let join_time = joined.elapsed();
    let total = rate * seconds;
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let writers = Arc::new(tokio::sync::Semaphore::new(16));
    let started = Instant::now();
    for i in 0..total {
        pace.tick().await;
        let permit = writers.clone().acquire_owned().await?;
        let (pool, latency, e) = (
            pool.clone(),
            latency.clone(),
            event(&paced_topic, &tenants[i as usize % 8]),
        );
        tokio::spawn(async move {
            let mut conn = pool.get().await.expect("connection");
            let id = e.id;
            Outbox::enqueue(&mut conn, &[e]).await.expect("enqueue");
            latency.committed.lock().unwrap().insert(id, Instant::now());
            drop(permit);
        });
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    // Wait for the last event, but not forever: what has not arrived by then is
    // reported as late.
    let limit = Duration::from_secs(seconds + 120);
    while consumer_stats.applied() < WARM_UP + total && started.elapsed() < limit {
        tick.tick().await;
    }
    let late = latency.committed.lock().unwrap().len();
    stop.cancel();
    relay_task.await??;
    consumer_task.await??;

    let h = latency
        .histogram
        .lock()
        .unwrap()
        .take()
        .expect("latencies recorded");
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "event-path benchmark ({events} events, {} B payload, 3 partitions)",
        PAYLOAD.len()
    );
    println!("  raw producer rate          {raw:>10.0} msg/s  (baseline)");
    println!(
        "  relay rate                 {relayed:>10.0} msg/s  ({:.2}x baseline; target >= 0.5x)",
        relayed / raw
    );
    println!(
        "  paced business writes      {offered:>10.0} events/s over {seconds} s ({} samples)",
        h.len()
    );
    let raw_ms = |q: f64| raw_h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "  broker alone: produce -> consume p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  ({} samples; baseline)",
        raw_ms(0.50),
        raw_ms(0.99),
        raw_h.max() as f64 / 1000.0,
        raw_h.len()
    );
    println!(
        "  commit -> consume p50      {:>10.1} ms  ({:.2}x the broker alone)",
        ms(0.50),
        ms(0.50) / raw_ms(0.50)
    );
    println!(
        "  commit -> consume p99      {:>10.1} ms  (target <= 50 ms; {:.2}x the broker alone)",
        ms(0.99),
        ms(0.99) / raw_ms(0.99)
    );
    println!(
        "  commit -> consume max      {:>10.1} ms",
        h.max() as f64 / 1000.0
    );
    println!(
        "  consumer start (join + warm-up) {:>5.1} s",
        join_time.as_secs_f64()
    );
    println!(
        "  consumer transactions      {:>10}  (mean batch {:.1} events)",
        consumer_stats.transactions(),
        consumer_stats.applied() as f64 / consumer_stats.transactions().max(1) as f64
    );
    println!(
        "  not consumed {:>3} s after   {late:>10} events",
        limit.as_secs()
    );
    Ok(())
}
