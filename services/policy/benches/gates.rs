//! Gate benchmark (docs/PERFORMANCE.md): the round trip of an L0 step's gate
//! decision over HTTP — the runtime reports the step of a run and gets its
//! decision back, recorded with its events and audit entry in one transaction
//! — against a request the same server answers without any work (the
//! baseline), in one run. Runs of five steps, each step ended before the next.
//! Target: p99 ≤ 5 ms.
//!
//! Run with `make bench` (PostgreSQL and the broker from the dev stack).
//! PLINTH_BENCH_CALLS (2000) changes the number of steps. Exits non-zero when
//! the target is missed.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::Instant;

use helpers::{TestApp, runtime};
use plinth_testkit::bench::{self, Against};
use serde_json::json;

/// The service's allocator (`main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn run(n: u64) -> Against {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    app.workspace(
        tenant,
        "wsp_desk",
        "L0",
        "metadata_only",
        "plinth.workspace.created",
    )
    .await;
    let runtime = runtime();
    let runs = format!("/runtime/policy/tenants/{tenant}/runs");
    let start_body = json!({
        "workspace_id": "wsp_desk",
        "subject": { "kind": "playbook", "id": "invoice-dispute-triage", "version": "1.0.0" },
        "trigger": { "source": "psa", "ticket_id": "T-1" }
    });
    let step = json!({
        "step_key": "classify", "action_class": "read", "provider_kind": "openai",
        "model": "gpt-4o-mini", "estimated_tokens": 400
    });
    let mut rounds = Against::new();
    let mut run_id = String::new();
    for i in 0..n + 20 {
        if i % 5 == 0 {
            if !run_id.is_empty() {
                let (status, _) = app
                    .post(
                        &runtime,
                        &format!("{runs}/{run_id}/end"),
                        json!({ "status": "succeeded" }),
                    )
                    .await;
                assert_eq!(status, 200);
            }
            let (status, started) = app.post(&runtime, &runs, start_body.clone()).await;
            assert_eq!(status, 201, "{started}");
            run_id = started["run_id"].as_str().unwrap().to_owned();
        }
        let begin = Instant::now();
        let (status, decided) = app
            .post(&runtime, &format!("{runs}/{run_id}/steps"), step.clone())
            .await;
        let took = begin.elapsed();
        assert_eq!(
            (
                status,
                decided["gate"].as_str(),
                decided["proceed"].as_bool()
            ),
            (201, Some("L0"), Some(true)),
            "{decided}"
        );
        let seq = decided["seq"].as_i64().unwrap();
        let (status, _) = app
            .post(
                &runtime,
                &format!("{runs}/{run_id}/steps/{seq}/end"),
                json!({ "status": "done", "tokens_in": 380, "tokens_out": 40 }),
            )
            .await;
        assert_eq!(status, 200);
        let begin = Instant::now();
        let (status, _) = app.get(&runtime, "/runtime/policy/no-such-route").await;
        let nothing = begin.elapsed();
        assert_eq!(status, 404);
        // Twenty unrecorded rounds first: connections and caches warm up.
        if i >= 20 {
            rounds.record(took, nothing);
        }
    }
    rounds
}

fn main() -> anyhow::Result<()> {
    let n = bench::calls(2000);
    let rounds = bench::run(run(n))?;
    if !rounds.report("L0 gate decision over HTTP", n, 5.0) {
        anyhow::bail!("the target was missed");
    }
    Ok(())
}
