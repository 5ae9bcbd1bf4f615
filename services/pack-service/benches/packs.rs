//! Pack-service benchmark (docs/PERFORMANCE.md). In one run:
//!
//! 1. validating a Domain Pack of a megabyte (schema and checks, in process),
//!    against parsing the same bytes as JSON (the baseline): p50 and p99;
//! 2. fetching a tenant's effective configuration over HTTP from the running
//!    service (token, cache, answer), against a request the same server answers
//!    without any work (the baseline): p50 and p99;
//! 3. classifying tickets in process on one thread, against copying each
//!    ticket's fields (the baseline): tickets a second.
//!
//! Run with `make bench` (PostgreSQL and the broker from the dev stack).
//! PLINTH_BENCH_VALIDATIONS (200), PLINTH_BENCH_FETCHES (5,000) and
//! PLINTH_BENCH_TICKETS (200,000) change the sizes. Exits non-zero when a target
//! is missed: validation p99 ≤ 50 ms, fetch p99 ≤ 2 ms, ≥ 20,000 tickets/s.

// A benchmark: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use helpers::{As, TestApp, example};
use pack_service::classify::Classifier;
use pack_service::domain::PackVersion;
use pack_service::format::checks::Published;
use pack_service::format::{DomainPackDoc, Rule, TenantPackDoc, validate_domain_pack};
use plinth_core::{DataMode, Role};
use serde_json::{Map, Value, json};

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

/// The Finance pack grown to at least `bytes`: two hundred more fields, and
/// rules over them until it is that large.
fn big_pack(bytes: usize) -> Value {
    let mut pack = example("finance-3.2.0.json");
    pack["version"] = json!("3.9.9");
    let fields = pack["entities"]["ticket"]["fields"]
        .as_object_mut()
        .unwrap();
    for i in 0..200 {
        let ty = if i % 3 == 0 { "number" } else { "string" };
        fields.insert(
            format!("f{i}"),
            json!({ "type": ty, "description": format!("Field {i} of the ledger export") }),
        );
    }
    let mut i = 0;
    while serde_json::to_vec(&pack).unwrap().len() < bytes {
        let rules = pack["classification"]["rules"].as_array_mut().unwrap();
        for _ in 0..100 {
            let a = i % 200;
            let b = (i * 7 + 1) % 200;
            let test = |f: usize| {
                if f.is_multiple_of(3) {
                    json!({ "field": format!("f{f}"), "op": "gte", "value": f * 10 })
                } else {
                    json!({ "field": format!("f{f}"), "op": "contains", "value": format!("marker {f}") })
                }
            };
            rules.push(json!({
                "id": format!("generated-{i}"),
                "description": "A generated rule for the size benchmark.",
                "when": { "all": [test(a), test(b)], "any": [test((a + 3) % 200), test((b + 5) % 200)] },
                "then": { "category": "billing-dispute", "priority": "P3", "queue": format!("q{}", i % 40) }
            }));
            i += 1;
        }
    }
    pack
}

fn validation(runs: u64) -> (Histogram<u64>, Histogram<u64>, usize) {
    let pack = big_pack(1024 * 1024);
    let bytes = serde_json::to_vec(&pack).unwrap();
    // Every tool the pack lists is offered (as the module catalog's approvals make it).
    let catalog: BTreeSet<String> = pack["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let playbook = example("playbook-invoice-dispute-triage-1.0.0.json");
    let published = vec![(
        "invoice-dispute-triage".to_owned(),
        vec![Published {
            version: PackVersion::parse("1.0.0").unwrap(),
            doc: serde_json::from_value(playbook).unwrap(),
        }],
    )];
    let mut valid = Histogram::<u64>::new(3).unwrap();
    let mut parse = Histogram::<u64>::new(3).unwrap();
    // A warm-up (the schemas compile on first use, the thread pool starts),
    // then each measures from the bytes to its answer; what it built is dropped
    // after.
    for _ in 0..10 {
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(validate_domain_pack(&parsed, &catalog, &published).is_ok());
    }
    for _ in 0..runs {
        let start = Instant::now();
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        parse.record(start.elapsed().as_micros() as u64).unwrap();
        drop(parsed);
        let start = Instant::now();
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        let doc = validate_domain_pack(&parsed, &catalog, &published);
        valid.record(start.elapsed().as_micros() as u64).unwrap();
        assert!(doc.is_ok(), "the big pack is valid: {:?}", doc.err());
    }
    (valid, parse, bytes.len())
}

async fn fetches(n: u64) -> (Histogram<u64>, Histogram<u64>) {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    let (status, _) = app.activate(tenant, "3.2.0", Some("1.4.0")).await;
    assert_eq!(status, 200);
    let token = app.client.token(&As::tenant(Role::Operator, tenant));
    let http = reqwest::Client::new();
    let config = format!("{}/runtime/tenants/{tenant}/config", app.client.base);
    // A path no route serves: the server answers 404 without any work of ours.
    let nothing = format!("{}/nothing", app.client.base);
    for _ in 0..200 {
        http.get(&config)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        http.get(&nothing)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let mut fetch = Histogram::<u64>::new(3).unwrap();
    let mut baseline = Histogram::<u64>::new(3).unwrap();
    for _ in 0..n {
        let start = Instant::now();
        let res = http.get(&config).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        fetch.record(start.elapsed().as_micros() as u64).unwrap();
        let start = Instant::now();
        http.get(&nothing)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        baseline.record(start.elapsed().as_micros() as u64).unwrap();
    }
    (fetch, baseline)
}

fn tickets(n: usize) -> Vec<Map<String, Value>> {
    let subjects = [
        "Invoice 4411 charged twice",
        "Password reset for the ERP",
        "Payment to Globex is late",
        "Vendor onboarding question",
        "INVOICE dispute: wrong amount",
    ];
    let channels = ["email", "portal", "phone"];
    (0..n)
        .map(|i| {
            json!({
                "subject": subjects[i % subjects.len()],
                "body": "Please look into this at your earliest convenience.",
                "amount": (i % 20_000) as f64,
                "vendor": if i % 11 == 0 { "Globex" } else { "Initech" },
                "channel": channels[i % 3],
                "tags": if i % 4 == 0 { json!(["dispute"]) } else { json!([]) },
                "overdue": i % 7 == 0,
            })
            .as_object()
            .unwrap()
            .clone()
        })
        .collect()
}

fn classification(n: usize) -> (f64, f64) {
    let mut domain: Value = example("finance-3.3.0.json");
    let tenant: TenantPackDoc = serde_json::from_value(example("acme-finance-1.4.0.json")).unwrap();
    json_patch::merge(&mut domain, &Value::Object(tenant.overrides.clone()));
    let pack: DomainPackDoc = serde_json::from_value(domain).unwrap();
    let tenant_rules: Vec<Rule> = tenant.rules.clone();
    let classifier = Classifier::new(
        &pack.entities["ticket"],
        &tenant_rules,
        &pack.classification.rules,
        &pack.classification.default,
    );
    let tickets = tickets(n);
    let start = Instant::now();
    let mut fired = 0usize;
    for ticket in &tickets {
        if classifier.classify(ticket).unwrap().rule.is_some() {
            fired += 1;
        }
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    assert!(fired > 0);
    let start = Instant::now();
    let mut copied = 0usize;
    for ticket in &tickets {
        copied += std::hint::black_box(ticket.clone()).len();
    }
    assert!(copied > 0);
    let baseline = n as f64 / start.elapsed().as_secs_f64();
    (rate, baseline)
}

fn main() -> anyhow::Result<()> {
    let runs = env_or("PLINTH_BENCH_VALIDATIONS", 200);
    let n_fetch = env_or("PLINTH_BENCH_FETCHES", 5_000);
    let n_tickets = env_or("PLINTH_BENCH_TICKETS", 200_000) as usize;

    let (valid, parse, size) = validation(runs);
    println!(
        "validation of a {:.2} MB Domain Pack ({runs} runs): p50 {:.2} ms, p99 {:.2} ms (target <= 50 ms); \
         JSON parse alone p50 {:.2} ms, p99 {:.2} ms; p99 ratio {:.1}x",
        size as f64 / 1e6,
        ms(&valid, 0.5),
        ms(&valid, 0.99),
        ms(&parse, 0.5),
        ms(&parse, 0.99),
        ms(&valid, 0.99) / ms(&parse, 0.99)
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (fetch, baseline) = runtime.block_on(fetches(n_fetch));
    println!(
        "effective-config fetch over HTTP ({n_fetch} requests): p50 {:.3} ms, p99 {:.3} ms (target <= 2 ms); \
         an answer of no work p50 {:.3} ms, p99 {:.3} ms; p99 ratio {:.1}x",
        ms(&fetch, 0.5),
        ms(&fetch, 0.99),
        ms(&baseline, 0.5),
        ms(&baseline, 0.99),
        ms(&fetch, 0.99) / ms(&baseline, 0.99)
    );

    let (rate, copy) = classification(n_tickets);
    println!(
        "classification in process, one thread ({n_tickets} tickets): {rate:.0} tickets/s (target >= 20,000); \
         copying each ticket's fields alone {copy:.0}/s; ratio {:.2}",
        rate / copy
    );

    let met = ms(&valid, 0.99) <= 50.0 && ms(&fetch, 0.99) <= 2.0 && rate >= 20_000.0;
    runtime.shutdown_timeout(Duration::from_secs(5));
    if !met {
        anyhow::bail!("a target was missed");
    }
    Ok(())
}
