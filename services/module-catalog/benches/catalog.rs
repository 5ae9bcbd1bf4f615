//! Module catalog benchmark (docs/PERFORMANCE.md). In one run:
//!
//! 1. importing a signed release over HTTP — the full trust review (schema,
//!    source, digest, runtime, references, DSSE signature against the trusted
//!    signers) and its storage with the review, events and audit event — against
//!    a request the same server answers without any work (the baseline): p50 and
//!    p99, with the review alone in process beside them;
//! 2. hashing an image artifact the way an import with an upload does (SHA-256
//!    of the bytes), against `sha256sum` on the same file: MB a second each.
//!
//! Run with `make bench` (PostgreSQL and the broker from the dev stack).
//! PLINTH_BENCH_IMPORTS (500) and PLINTH_BENCH_ARTIFACT_MB (256) change the
//! sizes. Exits non-zero when the target is missed: import p99 ≤ 20 ms.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::Write as _;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use helpers::{Key, TestApp, admin, example};
use module_catalog::review::{Context, Policy, Submission, review};
use plinth_service::ServiceSettings as _;
use serde_json::{Value, json};

/// The service's allocator (`main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Release `i` of the ITSM triage agent: the 1.1.0 example as version 2.0.`i`.
fn manifest(i: u64) -> Vec<u8> {
    let mut m: Value = serde_json::from_slice(&example("itsm-triage-agent-1.1.0.json")).unwrap();
    m["version"] = json!(format!("2.0.{i}"));
    serde_json::to_vec_pretty(&m).unwrap()
}

/// Imports `n` signed releases one at a time over HTTP, each followed by a
/// request no route serves; the two histograms (µs), and the review alone in
/// process over the same envelopes.
async fn imports(n: u64) -> (Histogram<u64>, Histogram<u64>, Histogram<u64>) {
    let app = TestApp::spawn().await;
    let key = Key::new(3);
    app.trust(&key).await;
    let envelopes: Vec<Value> = (0..n + 10).map(|i| key.sign(&manifest(i))).collect();
    let (mut import, mut baseline) = (
        Histogram::<u64>::new(3).unwrap(),
        Histogram::<u64>::new(3).unwrap(),
    );
    for (i, envelope) in envelopes.iter().enumerate() {
        let start = Instant::now();
        let (status, release) = app
            .post(
                &admin(),
                "/admin/modules/import",
                json!({ "envelope": envelope }),
            )
            .await;
        let took = start.elapsed();
        assert_eq!(status, 201, "{release}");
        assert_eq!(release["review_passed"], true, "{release}");
        let start = Instant::now();
        let (status, _) = app.get(&admin(), "/admin/no-such-route").await;
        let nothing = start.elapsed();
        assert_eq!(status, 404);
        // Ten unrecorded runs first: the schema compiles on first use.
        if i >= 10 {
            import.record(took.as_micros() as u64).unwrap();
            baseline.record(nothing.as_micros() as u64).unwrap();
        }
    }
    // The review alone, in process, with the key the catalog trusts.
    let signer = key.trusted();
    let settings = module_catalog::Settings::with_overrides(json!({})).unwrap();
    let policy = Policy::of(&settings).unwrap();
    let taken = Default::default();
    let mut alone = Histogram::<u64>::new(3).unwrap();
    for (i, envelope) in envelopes.iter().enumerate() {
        let envelope = serde_json::from_value(envelope.clone()).unwrap();
        let body = manifest(i as u64);
        let start = Instant::now();
        let reviewed = review(
            &Submission {
                body: &body,
                envelope: Some(&envelope),
                artifact_sha256: None,
            },
            &Context {
                policy: &policy,
                signers: std::slice::from_ref(&signer),
                taken_tools: &taken,
                now: time::OffsetDateTime::now_utc(),
            },
        );
        alone.record(start.elapsed().as_micros() as u64).unwrap();
        assert!(reviewed.passed());
    }
    (import, baseline, alone)
}

/// SHA-256 of a file of `mb` MiB of random-looking bytes, as an import hashes an
/// upload and as `sha256sum` does: MB/s each, best of three.
fn hashing(mb: usize) -> (f64, f64) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("module-artifact.bin");
    let mut bytes = vec![0u8; mb << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for chunk in bytes.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    let size = bytes.len() as f64 / 1e6;
    let (mut ours, mut theirs) = (0f64, 0f64);
    for _ in 0..3 {
        let start = Instant::now();
        let digest = plinth_documents::sha256_hex(&bytes);
        ours = ours.max(size / start.elapsed().as_secs_f64());
        let start = Instant::now();
        let out = std::process::Command::new("sha256sum")
            .arg(&path)
            .output()
            .expect("sha256sum runs");
        theirs = theirs.max(size / start.elapsed().as_secs_f64());
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(&digest));
    }
    std::fs::remove_file(&path).ok();
    (ours, theirs)
}

fn main() -> anyhow::Result<()> {
    let n = env_or("PLINTH_BENCH_IMPORTS", 500);
    let mb = env_or("PLINTH_BENCH_ARTIFACT_MB", 256) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (import, baseline, alone) = runtime.block_on(imports(n));
    println!(
        "import + trust review of a signed release over HTTP ({n} imports): p50 {:.2} ms, p99 {:.2} ms (target <= 20 ms); \
         an answer of no work p50 {:.3} ms, p99 {:.3} ms; p99 ratio {:.1}x; the review alone in process p50 {:.3} ms, p99 {:.3} ms",
        ms(&import, 0.5),
        ms(&import, 0.99),
        ms(&baseline, 0.5),
        ms(&baseline, 0.99),
        ms(&import, 0.99) / ms(&baseline, 0.99),
        ms(&alone, 0.5),
        ms(&alone, 0.99),
    );
    let (ours, theirs) = hashing(mb);
    println!(
        "artifact hashing, SHA-256 of {mb} MiB: {ours:.0} MB/s in the import path; sha256sum on the same file {theirs:.0} MB/s; ratio {:.2}",
        ours / theirs
    );
    runtime.shutdown_timeout(Duration::from_secs(5));
    if ms(&import, 0.99) > 20.0 {
        anyhow::bail!("the import target was missed");
    }
    Ok(())
}
