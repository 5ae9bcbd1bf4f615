//! The runtime's side: the effective configuration (merge semantics, ETag and
//! 304, served from memory and dropped when another process activates), ticket
//! classification, and metadata-only mode keeping nothing of a ticket's content
//! in the database or the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plinth_core::{DataMode, Role};
use plinth_testkit::wait_until;
use serde_json::{Value, json};

use crate::helpers::{As, TestApp};

#[tokio::test]
async fn the_effective_configuration_merges_overrides_and_puts_the_tenants_rules_first() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    let path = format!("/runtime/tenants/{tenant}/config");
    let operator = As::tenant(Role::Operator, tenant);
    let (status, problem) = app.get(&operator, &path).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("not_found")),
        "nothing active yet"
    );
    let (status, _) = app.activate(tenant, "3.2.0", Some("1.4.0")).await;
    assert_eq!(status, 200);

    let res = app
        .client
        .http
        .get(format!("{}{path}", app.client.base))
        .bearer_auth(app.client.token(&operator))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let config: Value = res.json().await.unwrap();
    assert_eq!(
        etag,
        format!("\"{}\"", config["checksum"].as_str().unwrap())
    );
    assert_eq!(config["domain_pack_version"], "3.2.0");
    assert_eq!(config["tenant_pack_version"], "1.4.0");
    let pack = &config["config"];
    // Merge Patch: overridden values replaced, the rest kept.
    assert_eq!(
        pack["settings"],
        json!({ "sla_hours": 8, "currency": "EUR", "credit_limit": 500 })
    );
    assert_eq!(pack["classification"]["default"]["queue"], "acme-finance");
    assert_eq!(pack["classification"]["default"]["priority"], "P4");
    let rules: Vec<(&str, &str)> = pack["classification"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("acme-key-vendor", "tenant"),
            ("large-dispute", "domain"),
            ("invoice-dispute", "domain"),
            ("payment-overdue", "domain")
        ]
    );

    // The same ETag: 304 and no body; a stale one: the document.
    let conditional = |tag: String| {
        let app = &app;
        let operator = operator.clone();
        let path = path.clone();
        async move {
            app.client
                .http
                .get(format!("{}{path}", app.client.base))
                .bearer_auth(app.client.token(&operator))
                .header("if-none-match", tag)
                .send()
                .await
                .unwrap()
        }
    };
    let res = conditional(etag.clone()).await;
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert!(res.bytes().await.unwrap().is_empty());
    assert_eq!(conditional("\"stale\"".into()).await.status(), 200);

    // A new activation is a new document and a new ETag.
    let (status, _) = app.activate(tenant, "3.3.0", Some("1.4.0")).await;
    assert_eq!(status, 200);
    let res = conditional(etag.clone()).await;
    assert_eq!(res.status(), 200);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    let config: Value = res.json().await.unwrap();
    assert_eq!(config["domain_pack_version"], "3.3.0");
}

fn ticket(subject: &str, channel: &str) -> Value {
    json!({ "ticket": { "id": "INC-1", "fields": {
        "subject": subject, "channel": channel, "amount": 1250, "vendor": "Initech"
    } } })
}

#[tokio::test]
async fn another_process_drops_its_cached_configuration_when_the_activation_event_arrives() {
    let app = TestApp::spawn_configured(|s| s.shared.bus.relay = true).await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let (status, _) = app.activate(tenant, "3.2.0", None).await;
    assert_eq!(status, 200);
    let other = app.replica().await;
    let operator = As::tenant(Role::Operator, tenant);
    let path = format!("/runtime/tenants/{tenant}/config");
    // The other process loads and keeps 3.2.0 …
    let (status, config) = other
        .call(Some(&operator), reqwest::Method::GET, &path, None)
        .await;
    assert_eq!(
        (status, config["domain_pack_version"].as_str()),
        (200, Some("3.2.0"))
    );
    let classify = format!("/runtime/tenants/{tenant}/classify");
    let (_, decided) = other
        .call(
            Some(&operator),
            reqwest::Method::POST,
            &classify,
            Some(ticket("Invoice 4411 twice", "portal")),
        )
        .await;
    assert_eq!(decided["rule"]["id"], "invoice-dispute");
    // … this one activates 3.3.0; the other follows once `pack.activated` reaches it.
    let (status, _) = app.activate(tenant, "3.3.0", None).await;
    assert_eq!(status, 200);
    wait_until(
        "the other process to serve 3.3.0",
        Duration::from_secs(60),
        || async {
            let (_, config) = other
                .call(Some(&operator), reqwest::Method::GET, &path, None)
                .await;
            config["domain_pack_version"] == "3.3.0"
        },
    )
    .await;
    let (_, decided) = other
        .call(
            Some(&operator),
            reqwest::Method::POST,
            &classify,
            Some(ticket("Invoice 4411 twice", "portal")),
        )
        .await;
    assert_eq!(decided["rule"]["id"], "portal-dispute", "no restart");
    assert_eq!(decided["config"]["domain_pack_version"], "3.3.0");
}

#[tokio::test]
async fn classification_names_the_rule_and_the_configuration_and_refuses_what_does_not_fit() {
    let app = TestApp::spawn().await;
    app.finance().await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    app.import_tenant(tenant, "acme-finance-1.4.0.json").await;
    app.activate(tenant, "3.2.0", Some("1.4.0")).await;
    let operator = As::tenant(Role::Operator, tenant);
    let classify = format!("/runtime/tenants/{tenant}/classify");
    let (status, decided) = app
        .post(
            &operator,
            &classify,
            ticket("Invoice 4411 charged twice", "email"),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["category"], "billing-dispute");
    assert_eq!(decided["priority"], "P3");
    assert_eq!(decided["queue"], "ap-disputes");
    assert_eq!(
        decided["rule"],
        json!({ "id": "invoice-dispute", "source": "domain" })
    );
    assert_eq!(decided["config"]["domain_pack_version"], "3.2.0");
    assert_eq!(decided["config"]["tenant_pack_version"], "1.4.0");
    let mut vendor = ticket("Invoice 4411 charged twice", "email");
    vendor["ticket"]["fields"]["vendor"] = json!("globex");
    let (_, decided) = app.post(&operator, &classify, vendor).await;
    assert_eq!(
        decided["rule"],
        json!({ "id": "acme-key-vendor", "source": "tenant" })
    );
    let (_, decided) = app
        .post(&operator, &classify, ticket("New starter laptop", "email"))
        .await;
    assert_eq!(decided["rule"], json!({ "id": null, "source": "default" }));
    assert_eq!(
        decided["queue"], "acme-finance",
        "the tenant's default queue"
    );

    let mut unknown = ticket("x", "email");
    unknown["ticket"]["fields"]["colour"] = json!("red");
    let (status, problem) = app.post(&operator, &classify, unknown).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("/ticket/fields/colour"))
    );
    let mut wrong = ticket("x", "email");
    wrong["ticket"]["fields"]["amount"] = json!("a lot");
    let (status, problem) = app.post(&operator, &classify, wrong).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("/ticket/fields/amount"))
    );
    let (status, _) = app
        .post(
            &As::tenant(Role::Auditor, tenant),
            &classify,
            ticket("x", "email"),
        )
        .await;
    assert_eq!(status, 403, "auditors read, never classify");
    let (_, recorded) = app
        .get(
            &As::tenant(Role::Auditor, tenant),
            &format!("/runtime/tenants/{tenant}/classifications"),
        )
        .await;
    assert_eq!(recorded["items"].as_array().unwrap().len(), 3);

    // A suspended tenant's tickets are not classified.
    app.set_status(tenant, "ACTIVE", "SUSPENDED").await;
    wait_until(
        "the suspension at the runtime",
        Duration::from_secs(30),
        || async { app.post(&operator, &classify, ticket("x", "email")).await.0 == 409 },
    )
    .await;
    let (_, problem) = app.post(&operator, &classify, ticket("x", "email")).await;
    assert_eq!(problem["code"], "tenant_not_active");
}

/// Log lines of this test process, as written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rows anywhere in the database (as the owner) whose text holds `needle`, and
/// outbox payloads whose bytes do: `table` → count.
async fn found_in_database(owner_url: &str, needle: &str) -> Vec<(String, i64)> {
    let tables = [
        "tenants",
        "domain_packs",
        "tenant_packs",
        "import_attempts",
        "tenant_active_config",
        "activations",
        "tenant_pack_settings",
        "config_change_requests",
        "playbook_versions",
        "playbook_links",
        "classifications",
        "inbox",
        "outbox_sent",
    ];
    let mut found = Vec::new();
    for table in tables {
        let n = plinth_testkit::count_all_tenants(
            owner_url,
            &format!("SELECT count(*) AS n FROM {table} t WHERE t::text LIKE '%{needle}%'"),
        )
        .await;
        found.push((table.to_owned(), n));
    }
    let n = plinth_testkit::count(
        owner_url,
        &format!(
            "SELECT count(*) AS n FROM outbox WHERE position(convert_to('{needle}', 'UTF8') in payload) > 0"
        ),
    )
    .await;
    found.push(("outbox".to_owned(), n));
    found.retain(|(_, n)| *n > 0);
    found
}

#[tokio::test]
async fn in_metadata_only_mode_nothing_of_a_ticket_is_stored_or_logged() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let app = TestApp::spawn().await;
    app.finance().await;
    let quiet = app.tenant(DataMode::MetadataOnly).await;
    let keeping = app.tenant(DataMode::Content).await;
    for tenant in [quiet, keeping] {
        let (status, _) = app.activate(tenant, "3.2.0", None).await;
        assert_eq!(status, 200);
    }
    let canary = |tenant: &str| format!("canary-{}", &tenant[7..19]);
    for tenant in [quiet, keeping] {
        let words = canary(&tenant.to_string());
        let (status, decided) = app
            .post(
                &As::tenant(Role::Operator, tenant),
                &format!("/runtime/tenants/{tenant}/classify"),
                json!({ "ticket": { "id": "INC-7", "fields": {
                    "subject": format!("Invoice dispute {words}"),
                    "body": format!("Please call me about {words}, it is urgent"),
                    "vendor": words, "tags": [words.clone()], "amount": 99
                } } }),
            )
            .await;
        assert_eq!(status, 200, "{decided}");
        assert_eq!(decided["rule"]["id"], "invoice-dispute");
    }
    // The logs — everything the service wrote, at every level — hold neither
    // ticket; they do hold what is logged (the capture works).
    let quiet_canary = canary(&quiet.to_string());
    tracing::info!(marker = %format!("{quiet_canary}-marker"), "capture check");
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains(&format!("{quiet_canary}-marker")));
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&quiet_canary)).collect();
    assert_eq!(lines.len(), 1, "only the marker: {lines:#?}");
    assert!(!text.contains(&canary(&keeping.to_string())));
    let owner = app.db.owner_url();
    // The content-mode tenant's ticket is kept: the search finds what is there …
    let kept = found_in_database(&owner, &canary(&keeping.to_string())).await;
    assert_eq!(
        kept,
        [("classifications".to_owned(), 1)],
        "content mode keeps the ticket"
    );
    let (_, recorded) = app
        .get(
            &As::tenant(Role::Auditor, keeping),
            &format!("/runtime/tenants/{keeping}/classifications"),
        )
        .await;
    assert!(
        recorded["items"][0]["content"]["body"]
            .as_str()
            .unwrap()
            .contains("call me")
    );
    // … and finds nothing of the metadata-only tenant's, in any table or event.
    assert_eq!(found_in_database(&owner, &quiet_canary).await, []);
    let (_, recorded) = app
        .get(
            &As::tenant(Role::Auditor, quiet),
            &format!("/runtime/tenants/{quiet}/classifications"),
        )
        .await;
    assert_eq!(recorded["items"][0]["content"], Value::Null);
    assert_eq!(
        recorded["items"][0]["ticket_ref"], "INC-7",
        "metadata is kept"
    );
}
