//! Policy service benchmark (docs/PERFORMANCE.md): a runtime's decision over
//! HTTP — the tenant's records in force, its month's spend and its
//! entitlement read, merged and decided, the answer with its reasons — against
//! a request the same server answers without any work (the baseline), in one
//! run. Target: p99 ≤ 2 ms.
//!
//! Run with `make bench` (PostgreSQL and the broker from the dev stack).
//! PLINTH_BENCH_CALLS (2000) changes the number of calls. Exits non-zero when
//! the target is missed.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::Instant;

use helpers::{As, TestApp, records_of, tenant_admin, tenant_record};
use plinth_core::Role;
use plinth_testkit::bench::{self, Against};
use serde_json::json;

/// The service's allocator (`main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn run(n: u64) -> Against {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    // The platform's baseline (published on the first start) and a tenant
    // record tightening it.
    app.publish_record(
        &tenant_admin(tenant),
        &records_of(tenant),
        tenant_record(
            tenant,
            "Metadata only",
            json!({
                "providers": { "allow_kinds": ["anthropic"] },
                "content": { "send_to_provider": false },
                "tokens": { "monthly_budget": 1_000_000, "over_budget": "deny" },
                "gates": { "notify": "L2" }
            }),
        ),
    )
    .await;
    let runtime = As::platform(Role::Runtime);
    let path = format!("/runtime/policy/tenants/{tenant}/decisions");
    let step = json!({
        "action_class": "ticket_update", "module_id": "itsm-triage-agent",
        "workspace_id": "wsp_desk", "provider_kind": "anthropic",
        "model": "claude-3-5-haiku", "estimated_tokens": 1200, "content_included": false
    });
    let mut rounds = Against::new();
    for i in 0..n + 20 {
        let start = Instant::now();
        let (status, decided) = app.post(&runtime, &path, step.clone()).await;
        let took = start.elapsed();
        assert_eq!(
            (status, decided["decision"].as_str()),
            (200, Some("require_approval")),
            "{decided}"
        );
        let start = Instant::now();
        let (status, _) = app.get(&runtime, "/runtime/policy/no-such-route").await;
        let nothing = start.elapsed();
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
    if !rounds.report("policy decision over HTTP", n, 2.0) {
        anyhow::bail!("the target was missed");
    }
    Ok(())
}
