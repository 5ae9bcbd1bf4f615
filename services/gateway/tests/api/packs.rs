//! The demo of "Tenant & Domain Pack onboarding", end to end through the gateway
//! with real tokens from the identity provider: create a tenant, import the
//! Finance Domain Pack, validate it (and see a broken one's results), import a
//! Tenant Pack override, activate both, link a playbook, classify a ticket and see
//! the active rules — then activate a new version and see classification change,
//! with no restart.

use plinth_testkit::Idp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::proxy::{Options, stack_with};

pub fn example(name: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/packs")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_pack_onboarding_demo_runs_through_the_gateway() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            packs: true,
            audit: true,
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let call = |method: Method, path: String, body: Option<Value>| {
        let (s, admin) = (&s, &admin);
        async move {
            let (status, answer, _) = s.call(Some(admin), method, &path, body).await;
            (status, answer)
        }
    };

    // 1. A new tenant, which the pack service hears of from the registry.
    let tenant = s.register(&admin, "finco").await;
    s.wait_for_pack_service(&admin, &tenant).await;

    // 2. The Finance Domain Pack (and the playbook it references), validated first.
    let (status, published) = call(
        Method::POST,
        "/admin/playbooks".into(),
        Some(example("playbook-invoice-dispute-triage-1.0.0.json")),
    )
    .await;
    assert_eq!(status, 201, "{published}");
    let (status, report) = call(
        Method::POST,
        "/admin/packs/validate".into(),
        Some(json!({ "kind": "domain", "pack": example("finance-3.2.0.json") })),
    )
    .await;
    assert_eq!((status, &report["valid"]), (200, &json!(true)), "{report}");
    let mut broken = example("finance-3.2.0.json");
    broken["classification"]["rules"][0]["when"]["all"][0]["field"] = json!("title");
    let (_, report) = call(
        Method::POST,
        "/admin/packs/validate".into(),
        Some(json!({ "kind": "domain", "pack": broken })),
    )
    .await;
    assert_eq!(report["valid"], false);
    assert_eq!(
        report["errors"][0]["pointer"],
        "/classification/rules/0/when/all/0/field"
    );
    assert_eq!(report["errors"][0]["code"], "unknown_field");
    let (status, imported) = call(
        Method::POST,
        "/admin/packs/domain/import".into(),
        Some(example("finance-3.2.0.json")),
    )
    .await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["pack"]["status"], "DRAFT");

    // 3. The tenant's override.
    let (status, tenant_pack) = call(
        Method::POST,
        "/admin/packs/tenant/import".into(),
        Some(json!({ "tenant_id": tenant, "pack": example("acme-finance-1.4.0.json") })),
    )
    .await;
    assert_eq!(status, 201, "{tenant_pack}");

    // 4. Activate both.
    let (status, activation) = call(
        Method::POST,
        "/admin/packs/activate".into(),
        Some(json!({
            "tenant_id": tenant, "domain_pack_version": "3.2.0", "tenant_pack_version": "1.4.0"
        })),
    )
    .await;
    assert_eq!(status, 200, "{activation}");
    assert_eq!(activation["activated_by"], "msp-admin");

    // 5. Link the playbook.
    let (status, link) = call(
        Method::POST,
        format!("/admin/packs/tenant/{tenant}/playbooks"),
        Some(json!({ "playbook": "invoice-dispute-triage", "version": "1.0.0" })),
    )
    .await;
    assert_eq!(status, 200, "{link}");

    // 6. Ops: live behaviour from the active configuration.
    let ticket = json!({ "ticket": { "id": "AP-1001", "fields": {
        "subject": "Invoice 4411 charged twice", "channel": "portal", "amount": 1250
    } } });
    let classify = format!("/runtime/tenants/{tenant}/classify");
    let (status, decided) = call(Method::POST, classify.clone(), Some(ticket.clone())).await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["rule"]["id"], "invoice-dispute");
    assert_eq!(
        (decided["priority"].as_str(), decided["queue"].as_str()),
        (Some("P3"), Some("ap-disputes"))
    );
    assert_eq!(decided["config"]["domain_pack_version"], "3.2.0");
    let (status, config) = call(
        Method::GET,
        format!("/runtime/tenants/{tenant}/config"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        config["config"]["settings"]["sla_hours"], 8,
        "the tenant's override"
    );
    assert_eq!(config["playbooks"][0]["id"], "invoice-dispute-triage");

    // 7. A new version, activated explicitly: classification changes, no restart.
    let (status, _) = call(
        Method::POST,
        "/admin/packs/domain/import".into(),
        Some(example("finance-3.3.0.json")),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        Method::POST,
        "/admin/packs/activate".into(),
        Some(json!({
            "tenant_id": tenant, "domain_pack_version": "3.3.0", "tenant_pack_version": "1.4.0"
        })),
    )
    .await;
    assert_eq!(status, 200);
    let (_, decided) = call(Method::POST, classify, Some(ticket)).await;
    assert_eq!(decided["rule"]["id"], "portal-dispute");
    assert_eq!(
        (decided["priority"].as_str(), decided["queue"].as_str()),
        (Some("P2"), Some("ap-portal"))
    );
    assert_eq!(decided["config"]["domain_pack_version"], "3.3.0");

    // What the packs screens show: ACTIVE and DRAFT side by side, and the history.
    let (_, domains) = call(
        Method::GET,
        "/admin/packs/domain?domain=finance".into(),
        None,
    )
    .await;
    let statuses: Vec<(&str, &str)> = domains["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["version"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("3.3.0", "ACTIVE"), ("3.2.0", "DRAFT")]);
    let (_, active) = call(
        Method::GET,
        format!("/admin/packs/tenant/{tenant}/active"),
        None,
    )
    .await;
    assert_eq!(active["history"].as_array().unwrap().len(), 2);

    // The tenant's own people: its auditor reads, and may not activate.
    let auditor = idp.access_token("msp-auditor").await;
    let (status, problem, _) = s
        .call(
            Some(&auditor),
            Method::POST,
            "/admin/packs/activate",
            Some(json!({ "tenant_id": tenant, "domain_pack_version": "3.2.0", "tenant_pack_version": "1.4.0" })),
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    let (status, _, _) = s
        .call(
            Some(&auditor),
            Method::GET,
            &format!("/admin/packs/tenant/{tenant}/active"),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Everything the demo published, read back as a partner would: every event's
    // type is in the catalog and decodes with the released schemas alone.
    let read = crate::partner::decode_every_event(
        &s.prefix,
        &[
            plinth_bus::Area::Tenant,
            plinth_bus::Area::Pack,
            plinth_bus::Area::Audit,
        ],
        &[
            "plinth.tenant.created",
            "plinth.pack.imported",
            "plinth.pack.validation_failed",
            "plinth.pack.activated",
            "plinth.playbook.published",
            "plinth.playbook.linked",
            "plinth.audit.event",
        ],
    );
    println!("events read as a partner: {read:?}");
}
