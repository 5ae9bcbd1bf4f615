//! Provider setup benchmark (docs/PERFORMANCE.md). In one run, against a
//! request the same server answers without any work (the baseline), p50 and
//! p99 of:
//!
//! 1. runtime selection over HTTP (the tenant's connections read, the choice
//!    and its reason made) — target p99 ≤ 2 ms;
//! 2. a key released over HTTP: the sealed version read, its data key
//!    unwrapped and the key decrypted, the release audited in the same
//!    transaction; and the decryption alone in process (unwrap and decrypt) —
//!    target p99 ≤ 1 ms.
//!
//! Run with `make bench` (PostgreSQL and the broker from the dev stack).
//! PLINTH_BENCH_CALLS (2000) changes the number of calls. Exits non-zero when a
//! target is missed.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use helpers::{As, GOOD_KEY, KEK, TestApp};
use plinth_core::Role;
use plinth_secrets::{Binding, EnvelopeStore, Kek, SecretStore as _};
use secrecy::SecretString;
use serde_json::json;

/// The service's allocator (`main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

struct Figures {
    selection: Histogram<u64>,
    release: Histogram<u64>,
    baseline: Histogram<u64>,
    /// Nanoseconds.
    decrypt: Histogram<u64>,
}

async fn run(n: u64) -> Figures {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("ACTIVE").await;
    // A tenant with a few connections, one of them active.
    for name in ["first-pending", "second-pending"] {
        app.connection(tenant, app.openai(name)).await;
    }
    let created = app.connection(tenant, app.openai("primary")).await;
    let minted = app
        .mint(
            tenant,
            created["requests"][0]["request_id"].as_str().unwrap(),
        )
        .await;
    let (status, _) = app.redeem(minted["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!(status, 200);
    let runtime = As::platform(Role::Runtime);
    let selection_path = format!("/runtime/providers/tenants/{tenant}/selection");
    let release_path = format!(
        "/runtime/providers/tenants/{tenant}/connections/{}/key",
        created["connection_id"].as_str().unwrap()
    );
    let mut figures = Figures {
        selection: Histogram::new(3).unwrap(),
        release: Histogram::new(3).unwrap(),
        baseline: Histogram::new(3).unwrap(),
        decrypt: Histogram::new(3).unwrap(),
    };
    for i in 0..n + 20 {
        let start = Instant::now();
        let (status, chosen) = app.get(&runtime, &selection_path).await;
        let selection = start.elapsed();
        assert_eq!((status, chosen["name"].as_str()), (200, Some("primary")));
        let start = Instant::now();
        let (status, released) = app.post(&runtime, &release_path, json!({})).await;
        let release = start.elapsed();
        assert_eq!((status, released["key"].as_str()), (200, Some(GOOD_KEY)));
        let start = Instant::now();
        let (status, _) = app.get(&runtime, "/runtime/providers/no-such-route").await;
        let nothing = start.elapsed();
        assert_eq!(status, 404);
        // Twenty unrecorded rounds first: connections and caches warm up.
        if i >= 20 {
            figures.selection.record(micros(selection)).unwrap();
            figures.release.record(micros(release)).unwrap();
            figures.baseline.record(micros(nothing)).unwrap();
        }
    }
    // The decryption alone: the release's unwrap and decrypt, in process.
    let store = EnvelopeStore::new(Kek::parse(KEK).unwrap(), Vec::new());
    let tenant_text = tenant.to_string();
    let binding = Binding {
        tenant: &tenant_text,
        owner: "pcn_bench",
        version: 1,
    };
    let sealed = store
        .seal(&binding, &SecretString::from(GOOD_KEY.to_owned()))
        .await
        .unwrap();
    for _ in 0..n {
        let start = Instant::now();
        let opened = store.open(&binding, &sealed).await.unwrap();
        let took = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        figures.decrypt.record(took).unwrap();
        drop(opened);
    }
    figures
}

fn main() -> anyhow::Result<()> {
    let n = std::env::var("PLINTH_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let f = runtime.block_on(run(n));
    let base99 = ms(&f.baseline, 0.99);
    println!(
        "provider selection over HTTP ({n} calls): p50 {:.3} ms, p99 {:.3} ms (target <= 2 ms); \
         an answer of no work p50 {:.3} ms, p99 {:.3} ms; p99 ratio {:.1}x",
        ms(&f.selection, 0.5),
        ms(&f.selection, 0.99),
        ms(&f.baseline, 0.5),
        base99,
        ms(&f.selection, 0.99) / base99,
    );
    println!(
        "key release over HTTP (read, unwrap, decrypt, audited): p50 {:.3} ms, p99 {:.3} ms; p99 ratio to no work {:.1}x; \
         the decryption alone (unwrap the data key, decrypt the key) p50 {:.4} ms, p99 {:.4} ms (target <= 1 ms)",
        ms(&f.release, 0.5),
        ms(&f.release, 0.99),
        ms(&f.release, 0.99) / base99,
        ms(&f.decrypt, 0.5) / 1000.0,
        ms(&f.decrypt, 0.99) / 1000.0,
    );
    runtime.shutdown_timeout(Duration::from_secs(5));
    if ms(&f.selection, 0.99) > 2.0 || ms(&f.decrypt, 0.99) / 1000.0 > 1.0 {
        anyhow::bail!("a target was missed");
    }
    Ok(())
}
