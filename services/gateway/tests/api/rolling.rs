//! A rolling restart of every service of a region — tenant registry, pack service,
//! audit, and the gateway itself — each a process of its own, under steady API
//! load through the gateway. Each service restarts in place: a new process starts
//! on the same port (`http.reuse_port`), becomes ready, and the old one is sent
//! SIGTERM. No read fails; a write fails only with a retryable problem (`503`),
//! and none is half-applied.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use plinth_core::Region;
use plinth_db::testing::TestDb;
use plinth_testkit::{
    Idp, Replicas, TokenKeys, count_all_tenants, merge, read_topics, test_bus, test_settings,
    test_topic_prefix, wait_until,
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use plinth_testkit::idp::AUDIENCE;

/// A sibling binary of the gateway's in the workspace's target directory (built
/// with the workspace's tests).
fn binary(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_gateway")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is not built: run the workspace's tests (cargo nextest run --workspace)",
        path.display()
    );
    path
}

/// What the load saw.
#[derive(Debug, Default)]
struct Seen {
    reads: usize,
    writes: usize,
    /// Reads that did not answer 200: what they got.
    failed_reads: Vec<String>,
    /// Writes that did not answer 201: what they got.
    failed_writes: Vec<(String, String)>,
    /// Slugs registered (201).
    registered: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_every_service_refuses_no_read_and_half_applies_no_write() {
    let idp = Idp::start().await;
    let keys = TokenKeys::generate();
    let prefix = test_topic_prefix();
    let region = Region::Us;
    let in_place = json!({ "http": { "reuse_port": true, "shutdown_timeout_seconds": 20 } });

    let registry_db = TestDb::create(tenant_registry::AUDIENCE, tenant_registry::all_migrations())
        .await
        .unwrap();
    let mut registry_settings = test_settings(region, &registry_db, &keys, &prefix);
    merge(&mut registry_settings, in_place.clone());
    merge(&mut registry_settings, json!({ "bus": { "relay": true } }));
    let pack_db = TestDb::create(pack_service::AUDIENCE, pack_service::all_migrations())
        .await
        .unwrap();
    let mut pack_settings = test_settings(region, &pack_db, &keys, &prefix);
    merge(&mut pack_settings, in_place.clone());
    merge(&mut pack_settings, json!({ "bus": { "relay": true } }));
    let audit_db = TestDb::create(audit::AUDIENCE, audit::all_migrations())
        .await
        .unwrap();
    let (_, signing_key) =
        plinth_auditlog::LogSigner::generate("plinth-audit-test", "audit.plinth.test/us");
    let mut audit_settings = test_settings(region, &audit_db, &keys, &prefix);
    merge(&mut audit_settings, in_place.clone());
    merge(
        &mut audit_settings,
        json!({
            "bus": { "relay": true },
            "log": { "signing_key": signing_key, "origin_prefix": "audit.plinth.test/us" }
        }),
    );

    let mut services = vec![
        (
            "tenant-registry",
            Replicas::new(binary("tenant-registry"), &registry_settings),
        ),
        (
            "pack-service",
            Replicas::new(binary("pack-service"), &pack_settings),
        ),
        ("audit", Replicas::new(binary("audit"), &audit_settings)),
    ];
    for (_, replicas) in &mut services {
        replicas.start().await;
    }
    let upstream = |i: usize| services[i].1.replica(0).base.clone();
    let mut routes = vec![
        json!({ "prefix": "/admin/tenants", "upstream": upstream(0),
                "audience": "tenant-registry", "create_names_region": true }),
        json!({ "prefix": "/admin/audit", "upstream": upstream(2), "audience": "audit" }),
    ];
    for route in ["/admin/packs", "/admin/playbooks", "/runtime"] {
        routes
            .push(json!({ "prefix": route, "upstream": upstream(1), "audience": "pack-service" }));
    }
    let gateway_settings = json!({
        "region": region,
        "http": {
            "host": "127.0.0.1", "port": 0, "body_limit_bytes": 4194304,
            "upstream_timeout_seconds": 30, "reuse_port": true, "shutdown_timeout_seconds": 20
        },
        "oidc": { "issuer": idp.issuer, "audience": AUDIENCE },
        "internal_token": { "private_key_pem": keys.private_pem() },
        "routes": routes,
        "regions": { "us": "https://us.plinth.example", "eu": "https://eu.plinth.example" },
        "bus": plinth_testkit::test_bus_settings(&prefix, json!({})),
        "rate_limits": {
            "unauthenticated_per_second": 100000, "caller_per_second": 100000
        }
    });
    let mut gateway = Replicas::new(binary("gateway"), &gateway_settings);
    gateway.start().await;
    let base = gateway.replica(0).base.clone();
    let token = idp.access_token("msp-admin").await;

    // Steady load: four callers, each reading tenants and packs and registering a
    // tenant in turn, on keep-alive connections, as an API client does.
    let running = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (running, seen, next, http, base, token) = (
                running.clone(),
                seen.clone(),
                next.clone(),
                http.clone(),
                base.clone(),
                token.clone(),
            );
            tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let call = match n % 3 {
                        0 => http.get(format!("{base}/admin/tenants?limit=5")),
                        1 => http.get(format!("{base}/admin/packs/domain")),
                        _ => http
                            .post(format!("{base}/admin/tenants"))
                            .json(&crate::proxy::tenant(&format!("roll-{n:05}"), "us")),
                    };
                    let answer = call.bearer_auth(&token).send().await;
                    let outcome = match answer {
                        Ok(answer) => {
                            let status = answer.status().as_u16();
                            let body: Value = answer.json().await.unwrap_or(Value::Null);
                            (status, body["code"].as_str().unwrap_or_default().to_owned())
                        }
                        Err(err) => (0, format!("no answer: {err}")),
                    };
                    let mut seen = seen.lock().await;
                    if n % 3 == 2 {
                        seen.writes += 1;
                        match outcome {
                            (201, _) => seen.registered.push(format!("roll-{n:05}")),
                            (status, what) => seen
                                .failed_writes
                                .push((format!("roll-{n:05}"), format!("{status} {what}"))),
                        }
                    } else {
                        seen.reads += 1;
                        if outcome.0 != 200 {
                            seen.failed_reads
                                .push(format!("{} {}", outcome.0, outcome.1));
                        }
                    }
                }
            })
        })
        .collect();

    // Load before, between and after: each service replaced in turn.
    let served = |seen: &Arc<Mutex<Seen>>| {
        let seen = seen.clone();
        async move {
            let s = seen.lock().await;
            s.reads + s.writes
        }
    };
    let mut restarts = Vec::new();
    let mut before = served(&seen).await;
    wait_until(
        "load before the restart",
        Duration::from_secs(30),
        || async { served(&seen).await >= before + 60 },
    )
    .await;
    for (name, replicas) in services
        .iter_mut()
        .map(|(name, replicas)| (*name, replicas))
        .chain([("gateway", &mut gateway)])
    {
        let old = replicas.running()[0];
        let started = Instant::now();
        replicas.start_beside(old).await;
        let ready = started.elapsed();
        let (clean, stopped) = replicas.terminate(old, Duration::from_secs(40)).await;
        assert!(
            clean,
            "{name}'s old process exited with an error:\n{}",
            replicas.logs(old)
        );
        restarts.push(format!(
            "{name}: new ready in {} ms, old stopped in {} ms",
            ready.as_millis(),
            stopped.as_millis()
        ));
        before = served(&seen).await;
        wait_until("load after a restart", Duration::from_secs(30), || async {
            served(&seen).await >= before + 60
        })
        .await;
    }
    running.store(false, Ordering::Relaxed);
    for caller in callers {
        caller.await.unwrap();
    }
    let seen = Arc::try_unwrap(seen).unwrap().into_inner();

    assert!(
        seen.failed_reads.is_empty(),
        "reads failed: {:?}",
        seen.failed_reads
    );
    for (slug, what) in &seen.failed_writes {
        assert!(
            what.starts_with("503 ")
                && (what.ends_with("unavailable") || what.ends_with("upstream_timeout")),
            "{slug} failed with {what}, not a retryable problem"
        );
    }

    // Never half-applied: every tenant registered — answered or not — was
    // published, and every one answered 201 is there.
    let registry = &services[0].1;
    let survivor = registry.running()[0];
    wait_until(
        "the registry's outbox published",
        Duration::from_secs(60),
        || async {
            registry
                .metric(survivor, "plinth_outbox_backlog_rows", &[])
                .await
                == 0.0
        },
    )
    .await;
    let stored =
        count_all_tenants(&registry_db.app_url(), "SELECT count(*) AS n FROM tenants").await;
    let answered_unknown = seen.failed_writes.len() as i64;
    assert!(
        stored >= seen.registered.len() as i64
            && stored <= seen.registered.len() as i64 + answered_unknown,
        "{stored} tenants stored, {} registered, {answered_unknown} unanswered",
        seen.registered.len()
    );
    let schemas =
        plinth_bus::Schemas::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/avro"))
            .unwrap();
    let published: HashSet<String> = read_topics(
        &test_bus(prefix.clone()),
        &[format!("{prefix}plinth.tenant.v1")],
    )
    .await
    .into_iter()
    .filter(|m| m.ce_type == "plinth.tenant.created")
    .map(|m| {
        let (_, value) = schemas.decode_value(&m.payload).unwrap();
        plinth_testkit::avro_json(value)["slug"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    })
    .collect();
    assert_eq!(
        published.len() as i64,
        stored,
        "each stored tenant published once"
    );
    for slug in &seen.registered {
        assert!(
            published.contains(slug),
            "{slug} answered 201 but was not published"
        );
    }

    println!(
        "rolling restart under load: {} reads, 0 failed; {} writes, {} failed with a \
         retryable 503 ({:?}), none half-applied; {}",
        seen.reads,
        seen.writes,
        seen.failed_writes.len(),
        seen.failed_writes
            .iter()
            .map(|(_, w)| w.as_str())
            .collect::<Vec<_>>(),
        restarts.join("; ")
    );
}
