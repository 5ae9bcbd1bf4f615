//! Run benchmark (docs/PERFORMANCE.md, "Runs through the reference runtime"): a
//! full run of five L0 steps through the reference runtime (`services/runner`)
//! against the whole control plane behind the gateway — the runner takes the
//! ticket Ops classified, reads the configuration, starts the run, and for
//! each step reports it for its gate, has the provider selected and the key
//! released, asks the provider, meters the call on the broker and ends the
//! step; then ends the run — against the sum of its parts measured in the same
//! run: the time each of those calls took, as the runner timed them. What is
//! left is the runner's own work. Target: a run's p50 no more than 1.25 times
//! the sum of its parts at p50.
//!
//! Run with `make bench` (PostgreSQL, the broker and the identity provider
//! from the dev stack). PLINTH_BENCH_CALLS (200) changes the number of runs.
//! Exits non-zero when the target is missed.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/packs.rs"]
#[allow(dead_code, unused_imports)]
mod packs;
#[path = "../tests/api/policy.rs"]
#[allow(dead_code, unused_imports)]
mod policy;
#[path = "../tests/api/proxy.rs"]
#[allow(dead_code, unused_imports)]
mod proxy;
#[path = "../tests/api/runner.rs"]
#[allow(dead_code, unused_imports)]
mod runner;
#[path = "../tests/api/runs.rs"]
#[allow(dead_code, unused_imports)]
mod runs;

use std::time::{Duration, Instant};

use plinth_testkit::Idp;
use plinth_testkit::bench::{self, Against};
use reqwest::Method;
use serde_json::json;

/// A playbook of five L0 steps, each a read of the invoice.
fn five_reads() -> serde_json::Value {
    let steps: Vec<_> = (1..=5)
        .map(|n| json!({ "id": format!("read-{n}"), "tool": "erp.lookup_invoice", "gate": "L0" }))
        .collect();
    json!({
        "kind": "Playbook", "id": "five-reads", "version": "1.0.0", "name": "Five reads",
        "domain": "finance", "domain_versions": ">=3.0.0, <4.0.0",
        "trigger": { "category": "billing-dispute" }, "steps": steps
    })
}

async fn measure(n: u64) -> Against {
    let idp = Idp::start().await;
    let s = proxy::stack_with(
        &idp,
        proxy::Options {
            packs: true,
            providers: true,
            policy: true,
            registry: policy::policy_sagas(),
            // A run is some thirty requests of the runtime's: its allowance
            // at the gateway (50 a second by default) would measure the
            // limiter, not the run.
            gateway: json!({ "rate_limits": { "caller_per_second": 100_000 } }),
            ..proxy::Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let ready = runner::ready_to_run(&s, &idp, &admin, five_reads()).await;
    let operator = idp.access_token("acme-operator").await;
    // The operator's tickets come from the tenant's allowance (10 a second in
    // the test stack's entitlement): raised, so that the runs set the pace.
    let (status, entitled, _) = s
        .call(
            Some(&admin),
            Method::PUT,
            &format!("/admin/tenants/{}/entitlements", ready.acme),
            Some(json!({
                "plan": "standard", "modules": [], "api_rate_per_second": 10_000,
                "max_workspaces": 3, "max_provider_connections": 1,
                "monthly_token_budget": 1_000_000_000
            })),
        )
        .await;
    assert_eq!(status, 200, "{entitled}");
    let listed = format!("/runtime/tenants/{}/classifications", ready.acme);
    plinth_testkit::wait_until(
        "the gateway to apply the tenant's new rate",
        Duration::from_secs(60),
        || async {
            let burst = (0..40).map(|_| s.call(Some(&operator), Method::GET, &listed, None));
            futures_util::future::join_all(burst)
                .await
                .iter()
                .all(|(status, _, _)| *status == 200)
        },
    )
    .await;
    let mut runtime = runner::runner_for(&s, &idp, &ready);
    let classify = format!("/runtime/tenants/{}/classify", ready.acme);
    let ticket = json!({ "ticket": { "fields": {
        "subject": "Invoice 4411 charged twice", "channel": "portal", "amount": 1250
    } } });
    // The first run, once the policy service knows the workspace (until then
    // the runner takes the ticket again in its next pass).
    let (status, classified, _) = s
        .call(
            Some(&operator),
            Method::POST,
            &classify,
            Some(ticket.clone()),
        )
        .await;
    assert_eq!(status, 200, "{classified}");
    runner::passes_until(&mut runtime, |o| {
        matches!(o, ::runner::Outcome::Ended { .. })
    })
    .await;
    let mut rounds = Against::new();
    let mut runs = 0;
    while runs < n + 10 {
        let (status, classified, _) = s
            .call(
                Some(&operator),
                Method::POST,
                &classify,
                Some(ticket.clone()),
            )
            .await;
        assert_eq!(status, 200, "{classified}");
        let in_calls = runtime.time_in_calls();
        let began = Instant::now();
        let outcomes = runtime.pass().await;
        let took = began.elapsed();
        let parts = runtime.time_in_calls() - in_calls;
        match outcomes.as_slice() {
            [::runner::Outcome::Ended { status, .. }] => assert_eq!(status, "SUCCEEDED"),
            other => panic!("{other:?}"),
        }
        // Ten unrecorded runs first: connections and caches warm up.
        if runs >= 10 {
            rounds.record(took, parts);
        }
        runs += 1;
    }
    rounds
}

fn main() -> anyhow::Result<()> {
    let n = bench::calls(200);
    let rounds = bench::run(measure(n))?;
    let parts = |q: f64| rounds.baseline.value_at_quantile(q) as f64 / 1000.0;
    let ratio = rounds.ms(0.5) / parts(0.5);
    println!(
        "5-step L0 run through the reference runtime ({n} runs): p50 {:.2} ms, p99 {:.2} ms; \
         the sum of its parts p50 {:.2} ms, p99 {:.2} ms; p50 ratio {ratio:.2}x (target <= 1.25x), \
         p99 ratio {:.2}x",
        rounds.ms(0.5),
        rounds.ms(0.99),
        parts(0.5),
        parts(0.99),
        rounds.ms(0.99) / parts(0.99),
    );
    if ratio > 1.25 {
        anyhow::bail!("the target was missed");
    }
    Ok(())
}
