//! Delegated links: minted for a setup request, redeemed once by whoever holds
//! them on the setup surface — the key validated with the provider, sealed, and
//! activated atomically — and refused when expired, revoked, used, unknown,
//! over their rate, or raced by a simultaneous redemption.

use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::sql_types::{Binary, Integer, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection as _};
use plinth_core::{Role, TenantId};
use plinth_providers::ProviderKind;
use plinth_providers::fake::Behavior;
use plinth_secrets::{Binding, EnvelopeStore, Kek, Sealed, SecretStore as _};
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::helpers::{As, GOOD_KEY, KEK, TestApp, admin, integrator, token_of};

/// A tenant with a pending OpenAI connection and a live link for its key: the
/// connection and the minted link.
async fn pending(app: &TestApp) -> (TenantId, Value, Value) {
    let tenant = app.tenant("ACTIVE").await;
    let created = app.connection(tenant, app.openai("primary-openai")).await;
    let request = created["requests"][0]["request_id"].as_str().unwrap();
    let minted = app.mint(tenant, request).await;
    (tenant, created, minted)
}

fn connection_path(tenant: TenantId, connection: &Value) -> String {
    format!(
        "/admin/providers/tenants/{tenant}/connections/{}",
        connection["connection_id"].as_str().unwrap()
    )
}

#[derive(QueryableByName)]
struct SealedRow {
    #[diesel(sql_type = Text)]
    backend: String,
    #[diesel(sql_type = Text)]
    key_id: String,
    #[diesel(sql_type = Binary)]
    wrapped_key: Vec<u8>,
    #[diesel(sql_type = Binary)]
    nonce: Vec<u8>,
    #[diesel(sql_type = Binary)]
    ciphertext: Vec<u8>,
    #[diesel(sql_type = Integer)]
    version: i32,
}

/// The sealed key versions of `connection`, as stored.
async fn sealed_rows(app: &TestApp, connection: &str) -> Vec<SealedRow> {
    let mut conn = plinth_db::connect(&app.db.owner_url()).await.unwrap();
    conn.batch_execute("SET plinth.tenant_scope = '*'")
        .await
        .unwrap();
    diesel::sql_query(format!(
        "SELECT backend, key_id, wrapped_key, nonce, ciphertext, version FROM key_versions \
         WHERE connection_id = '{connection}' AND wrapped_key IS NOT NULL ORDER BY version"
    ))
    .load(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_key_entered_through_the_link_is_validated_sealed_and_activated() {
    let app = TestApp::spawn().await;
    let (tenant, created, minted) = pending(&app).await;
    let url = minted["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:8080/setup#pst_"),
        "the region's setup surface, the token in the fragment: {url}"
    );

    // The holder reads what the link is for, with the link's token only.
    let token = token_of(url);
    let (status, facts) = app
        .call(
            None,
            Method::POST,
            "/setup/api/link",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(status, 200, "{facts}");
    assert_eq!(facts["connection_name"], "primary-openai");
    assert_eq!(facts["kind"], "openai");
    assert_eq!(facts["purpose"], "initial");
    assert_eq!(facts["note"], "The ops team's key");
    assert_eq!(facts["tenant_id"], tenant.to_string());

    let (status, redeemed) = app.redeem(url, &format!("  {GOOD_KEY}\n")).await;
    assert_eq!(status, 200, "{redeemed}");
    assert_eq!(redeemed["version"], 1);
    assert_eq!(redeemed["models"], 2);
    assert_eq!(app.providers.calls(ProviderKind::OpenAi), 1);

    let (_, one) = app.get(&admin(), &connection_path(tenant, &created)).await;
    assert_eq!(
        (&one["status"], &one["active_version"]),
        (&json!("ACTIVE"), &json!(1))
    );
    let key = &one["keys"][0];
    assert_eq!(
        (&key["version"], &key["status"], &key["backend"]),
        (&json!(1), &json!("ACTIVE"), &json!("envelope"))
    );
    assert!(key["key_id"].as_str().unwrap().starts_with("kek-"), "{key}");
    assert_eq!(one["requests"][0]["status"], "COMPLETED");
    assert_eq!(one["requests"][0]["links"][0]["state"], "redeemed");
    assert_eq!(one["requests"][0]["links"][0]["attempts"], 1);
    let validation = &one["validations"][0];
    assert_eq!(
        (&validation["outcome"], &validation["activated"]),
        (&json!("ok"), &json!(true))
    );

    // Stored sealed for this tenant, connection and version: the region's
    // key-encryption key opens it there, and only there.
    let id = created["connection_id"].as_str().unwrap();
    let rows = sealed_rows(&app, id).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.version, 1);
    let sealed = Sealed {
        backend: row.backend.clone(),
        key_id: row.key_id.clone(),
        wrapped_key: row.wrapped_key.clone(),
        nonce: row.nonce.clone(),
        ciphertext: row.ciphertext.clone(),
    };
    let store = EnvelopeStore::new(Kek::parse(KEK).unwrap(), Vec::new());
    let tenant_text = tenant.to_string();
    let binding = Binding {
        tenant: &tenant_text,
        owner: id,
        version: 1,
    };
    let opened = store.open(&binding, &sealed).await.unwrap();
    assert_eq!(
        opened.expose_secret(),
        GOOD_KEY,
        "entered trimmed, sealed whole"
    );
    let elsewhere = Binding {
        version: 2,
        ..binding
    };
    assert!(store.open(&elsewhere, &sealed).await.is_err());

    // The link is spent.
    let (status, problem) = app.redeem(url, GOOD_KEY).await;
    assert_eq!((status, &problem["code"]), (410, &json!("link_used")));
    assert_eq!(app.providers.calls(ProviderKind::OpenAi), 1);

    // Published and audited, the holder named by the link alone.
    let outbox = app.outbox().await;
    let types: Vec<&str> = outbox
        .iter()
        .filter(|e| e.ce_type.starts_with("plinth.provider."))
        .map(|e| e.ce_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "plinth.provider.connection_created",
            "plinth.provider.link_minted",
            "plinth.provider.key_validated",
            "plinth.provider.link_redeemed",
            "plinth.provider.key_activated"
        ]
    );
    let activated = outbox
        .iter()
        .find(|e| e.ce_type == "plinth.provider.key_activated")
        .unwrap();
    assert_eq!(
        (
            &activated.payload["active_version"],
            &activated.payload["previous_version"]
        ),
        (&json!(1), &json!(null))
    );
    let entered: Vec<&Value> = outbox
        .iter()
        .filter(|e| {
            e.ce_type == "plinth.audit.event" && e.payload["action"] == "provider.key_enter"
        })
        .map(|e| &e.payload)
        .collect();
    assert_eq!(entered.len(), 2, "the entry, and the refused second one");
    assert_eq!(entered[0]["outcome"], "ALLOWED");
    assert_eq!(
        entered[1]["outcome"], "FAILED",
        "a spent link is no permission question"
    );
    assert_eq!(entered[0]["tenant_id"], tenant.to_string());
    let holder = format!("link-holder:{}", minted["link_id"].as_str().unwrap());
    assert_eq!(entered[0]["actor"], holder, "{}", entered[0]);
}

#[tokio::test]
async fn a_key_the_provider_refuses_is_stored_nowhere_and_the_link_stays_usable() {
    let app = TestApp::spawn().await;
    let (tenant, created, minted) = pending(&app).await;
    let url = minted["url"].as_str().unwrap();
    app.providers.set("sk-wrong", Behavior::Unauthorized);
    app.providers.set("sk-busy", Behavior::RateLimited(7));
    app.providers.set("sk-down", Behavior::ServerError);

    for (key, outcome) in [
        ("sk-wrong", "auth_failed"),
        ("sk-busy", "rate_limited"),
        ("sk-down", "provider_error"),
    ] {
        let (status, problem) = app.redeem(url, key).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            (&problem["code"], &problem["outcome"]),
            (&json!("key_rejected"), &json!(outcome))
        );
        assert!(!problem.to_string().contains(key), "{problem}");
    }
    let (_, problem) = app.redeem(url, "sk-busy").await;
    assert_eq!(problem["retry_after"], 7);

    let (_, one) = app.get(&admin(), &connection_path(tenant, &created)).await;
    assert_eq!(one["status"], "PENDING");
    assert_eq!(one["keys"], json!([]));
    let outcomes: Vec<&str> = one["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.len(), 4);
    assert!(
        one["validations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["activated"] == false)
    );
    assert!(
        sealed_rows(&app, created["connection_id"].as_str().unwrap())
            .await
            .is_empty()
    );

    // A connection whose provider does not answer at all.
    let (_, unreachable) = app
        .post(
            &integrator(tenant),
            &format!("/admin/providers/tenants/{tenant}/connections"),
            json!({ "name": "gone", "kind": "anthropic", "base_url": "http://127.0.0.1:9/v1", "default_model": "claude-haiku-4-5" }),
        )
        .await;
    let other = app
        .mint(
            tenant,
            unreachable["requests"][0]["request_id"].as_str().unwrap(),
        )
        .await;
    let (status, problem) = app.redeem(other["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!((status, &problem["outcome"]), (422, &json!("unreachable")));

    // The holder corrects the key: the same link takes it.
    let (status, redeemed) = app.redeem(url, GOOD_KEY).await;
    assert_eq!(status, 200, "{redeemed}");
    let (_, one) = app.get(&admin(), &connection_path(tenant, &created)).await;
    assert_eq!(one["requests"][0]["links"][0]["attempts"], 5);
}

#[tokio::test]
async fn fifty_simultaneous_redemptions_of_one_link_activate_exactly_one_key() {
    let app = TestApp::spawn_with(json!({
        "validation": { "per_tenant_per_minute": 1000, "per_link_per_minute": 1000 }
    }))
    .await;
    let (tenant, created, minted) = pending(&app).await;
    let url = minted["url"].as_str().unwrap();
    let attempts = (0..50).map(|i| {
        let app = &app;
        async move { app.redeem(url, &format!("{GOOD_KEY}-{i}")).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (status, body) in &answers {
        *by_status.entry(*status).or_default() += 1;
        if *status != 200 {
            assert!(
                ["link_busy", "link_used"].contains(&body["code"].as_str().unwrap()),
                "{body}"
            );
        }
    }
    println!("50 simultaneous redemptions: {by_status:?}");
    assert_eq!(by_status.get(&200), Some(&1), "{by_status:?}");
    assert_eq!(by_status.values().sum::<usize>(), 50);

    let id = created["connection_id"].as_str().unwrap();
    assert_eq!(sealed_rows(&app, id).await.len(), 1);
    assert_eq!(
        app.providers.calls(ProviderKind::OpenAi),
        1,
        "one validation ran"
    );
    let (_, one) = app.get(&admin(), &connection_path(tenant, &created)).await;
    assert_eq!(one["active_version"], 1);
    let activated = app
        .outbox()
        .await
        .iter()
        .filter(|e| e.ce_type == "plinth.provider.key_activated")
        .count();
    assert_eq!(activated, 1);
}

#[tokio::test]
async fn expired_revoked_unknown_and_other_tenants_links_are_refused() {
    let app = TestApp::spawn().await;
    let (tenant, created, first) = pending(&app).await;
    let request = created["requests"][0]["request_id"].as_str().unwrap();

    // A new link for the request revokes the unused one.
    let second = app.mint(tenant, request).await;
    let (status, problem) = app.redeem(first["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!((status, &problem["code"]), (410, &json!("link_revoked")));

    // Revoked by an administrator.
    let revoke = |link: &Value, on: TenantId| {
        format!(
            "/admin/providers/tenants/{on}/links/{}/revoke",
            link["link_id"].as_str().unwrap()
        )
    };
    let other = app.tenant("ACTIVE").await;
    let (status, _) = app.post(&admin(), &revoke(&second, other), json!({})).await;
    assert_eq!(status, 404, "not on another tenant's path");
    let (status, _) = app
        .post(
            &As::tenant(Role::Operator, tenant),
            &revoke(&second, tenant),
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, link) = app
        .post(&integrator(tenant), &revoke(&second, tenant), json!({}))
        .await;
    assert_eq!((status, &link["state"]), (200, &json!("revoked")));
    let (status, problem) = app
        .post(&integrator(tenant), &revoke(&second, tenant), json!({}))
        .await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("invalid_transition"))
    );
    let (status, problem) = app.redeem(second["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!((status, &problem["code"]), (410, &json!("link_revoked")));

    // Expired.
    let third = app.mint(tenant, request).await;
    plinth_testkit::exec(
        &app.db.owner_url(),
        &format!(
            "SET plinth.tenant_scope = '*'; UPDATE setup_links SET expires_at = now() - interval '1 second' \
             WHERE link_id = '{}'",
            third["link_id"].as_str().unwrap()
        ),
    )
    .await
    .unwrap();
    let (status, problem) = app.redeem(third["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!((status, &problem["code"]), (410, &json!("link_expired")));
    let (status, problem) = app
        .call(
            None,
            Method::POST,
            "/setup/api/link",
            Some(json!({ "token": token_of(third["url"].as_str().unwrap()) })),
        )
        .await;
    assert_eq!((status, &problem["code"]), (410, &json!("link_expired")));

    // Unknown and malformed tokens; a link's life out of bounds.
    for token in [
        "pst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x",
        "",
        "pst_../../etc",
    ] {
        let (status, problem) = app
            .call(
                None,
                Method::POST,
                "/setup/api/redeem",
                Some(json!({ "token": token, "key": GOOD_KEY })),
            )
            .await;
        assert_eq!(
            (status, &problem["code"]),
            (404, &json!("not_found")),
            "{token}"
        );
    }
    for minutes in [0, 100_000] {
        let (status, problem) = app
            .post(
                &integrator(tenant),
                &format!("/admin/providers/tenants/{tenant}/setup-requests/{request}/links"),
                json!({ "minutes": minutes }),
            )
            .await;
        assert_eq!((status, &problem["field"]), (400, &json!("minutes")));
    }
    // Nothing was ever validated, nothing stored.
    assert_eq!(app.providers.calls(ProviderKind::OpenAi), 0);

    // A cancelled request takes no more links, and its live one is revoked.
    let fourth = app.mint(tenant, request).await;
    let (status, cancelled) = app
        .post(
            &integrator(tenant),
            &format!("/admin/providers/tenants/{tenant}/setup-requests/{request}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!((status, &cancelled["status"]), (200, &json!("CANCELLED")));
    let (status, problem) = app.redeem(fourth["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!((status, &problem["code"]), (410, &json!("link_revoked")));
    let (status, _) = app
        .post(
            &integrator(tenant),
            &format!("/admin/providers/tenants/{tenant}/setup-requests/{request}/links"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn key_entries_are_rate_limited_per_link_and_per_tenant() {
    let app = TestApp::spawn_with(json!({
        "validation": { "per_tenant_per_minute": 5, "per_link_per_minute": 3 }
    }))
    .await;
    let (tenant, _, minted) = pending(&app).await;
    app.providers.set("sk-wrong", Behavior::Unauthorized);
    let url = minted["url"].as_str().unwrap();
    for _ in 0..3 {
        let (status, _) = app.redeem(url, "sk-wrong").await;
        assert_eq!(status, 422);
    }
    let (status, problem) = app.redeem(url, GOOD_KEY).await;
    assert_eq!(
        (status, &problem["code"]),
        (429, &json!("too_many_requests"))
    );
    assert!(problem["retry_after"].as_u64().unwrap() >= 1, "{problem}");

    // The tenant's other link has its own allowance, within the tenant's.
    let other = app.connection(tenant, app.openai("second")).await;
    let second = app
        .mint(tenant, other["requests"][0]["request_id"].as_str().unwrap())
        .await;
    let second = second["url"].as_str().unwrap();
    for _ in 0..2 {
        let (status, _) = app.redeem(second, "sk-wrong").await;
        assert_eq!(status, 422);
    }
    let (status, _) = app.redeem(second, "sk-wrong").await;
    assert_eq!(status, 429, "the tenant's five entries are spent");
    assert_eq!(app.providers.calls(ProviderKind::OpenAi), 5);

    // Another tenant is not held back.
    let (_, _, elsewhere) = pending(&app).await;
    let (status, _) = app
        .redeem(elsewhere["url"].as_str().unwrap(), GOOD_KEY)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_rotation_activates_the_new_key_and_keeps_the_previous_for_the_grace_period() {
    let app = TestApp::spawn_with(json!({ "setup": { "shred_every_seconds": 1 } })).await;
    let (tenant, created, minted) = pending(&app).await;
    let path = connection_path(tenant, &created);
    let (status, problem) = app
        .post(&integrator(tenant), &format!("{path}/rotate"), json!({}))
        .await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("invalid_transition")),
        "a pending connection has nothing to rotate"
    );
    let (status, _) = app.redeem(minted["url"].as_str().unwrap(), GOOD_KEY).await;
    assert_eq!(status, 200);

    let (status, request) = app
        .post(
            &integrator(tenant),
            &format!("{path}/rotate"),
            json!({ "note": "quarterly rotation" }),
        )
        .await;
    assert_eq!(
        (status, &request["purpose"]),
        (201, &json!("rotation")),
        "{request}"
    );
    let (status, _) = app
        .post(&integrator(tenant), &format!("{path}/rotate"), json!({}))
        .await;
    assert_eq!(status, 409, "one open request at a time");
    let link = app
        .mint(tenant, request["request_id"].as_str().unwrap())
        .await;
    let url = link["url"].as_str().unwrap();
    let (_, facts) = app
        .call(
            None,
            Method::POST,
            "/setup/api/link",
            Some(json!({ "token": token_of(url) })),
        )
        .await;
    assert_eq!(
        (&facts["purpose"], &facts["note"]),
        (&json!("rotation"), &json!("quarterly rotation"))
    );
    let rotated_key = "sk-test-good-rotated";
    let (status, redeemed) = app.redeem(url, rotated_key).await;
    assert_eq!(
        (status, &redeemed["version"]),
        (200, &json!(2)),
        "{redeemed}"
    );

    let (_, one) = app.get(&admin(), &path).await;
    assert_eq!(one["active_version"], 2);
    let keys = one["keys"].as_array().unwrap();
    assert_eq!(
        (&keys[0]["version"], &keys[0]["status"]),
        (&json!(2), &json!("ACTIVE"))
    );
    assert_eq!(
        (&keys[1]["version"], &keys[1]["status"]),
        (&json!(1), &json!("PREVIOUS"))
    );
    let until = time::OffsetDateTime::parse(
        keys[1]["usable_until"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let grace = until - time::OffsetDateTime::now_utc();
    assert!(
        grace > time::Duration::minutes(59) && grace <= time::Duration::minutes(60),
        "the previous key stays usable for the grace period: {grace}"
    );
    let activated: Vec<Value> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type == "plinth.provider.key_activated")
        .map(|e| e.payload)
        .collect();
    assert_eq!(activated.len(), 2);
    assert_eq!(
        (
            &activated[1]["active_version"],
            &activated[1]["previous_version"]
        ),
        (&json!(2), &json!(1))
    );
    assert!(activated[1]["previous_usable_until"].as_i64().is_some());

    // Within its grace period the previous key is kept; once it ends, its data
    // key is deleted: nothing can decrypt it again.
    let id = created["connection_id"].as_str().unwrap();
    assert_eq!(sealed_rows(&app, id).await.len(), 2);
    plinth_testkit::exec(
        &app.db.owner_url(),
        &format!(
            "SET plinth.tenant_scope = '*'; UPDATE key_versions SET usable_until = now() \
             WHERE connection_id = '{id}' AND version = 1"
        ),
    )
    .await
    .unwrap();
    plinth_testkit::wait_until(
        "the previous key destroyed",
        std::time::Duration::from_secs(30),
        || async { app.get(&admin(), &path).await.1["keys"][1]["status"] == "DESTROYED" },
    )
    .await;
    let rows = sealed_rows(&app, id).await;
    assert_eq!(rows.iter().map(|r| r.version).collect::<Vec<_>>(), [2]);
    let (_, one) = app.get(&admin(), &path).await;
    assert!(one["keys"][1]["destroyed_at"].is_string(), "{one}");
    assert_eq!(one["keys"][0]["status"], "ACTIVE");
    let destroyed: Vec<Value> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type == "plinth.provider.key_destroyed")
        .map(|e| e.payload)
        .collect();
    assert_eq!(destroyed.len(), 1);
    assert_eq!(
        (&destroyed[0]["version"], &destroyed[0]["reason"]),
        (&json!(1), &json!("rotated"))
    );
}

/// Every row of every table of the service's database, as text.
pub(crate) async fn everything_stored(app: &TestApp) -> String {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Dump {
        #[diesel(sql_type = Text)]
        text: String,
    }
    let mut conn = plinth_db::connect(&app.db.owner_url()).await.unwrap();
    conn.batch_execute("SET plinth.tenant_scope = '*'")
        .await
        .unwrap();
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut all = String::new();
    for table in tables {
        let dump: Dump = diesel::sql_query(format!(
            "SELECT coalesce(string_agg(t::text, E'\\n'), '') AS text FROM \"{}\" t",
            table.name
        ))
        .get_result(&mut conn)
        .await
        .unwrap();
        all.push_str(&dump.text);
        all.push('\n');
    }
    all
}

pub(crate) fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn an_entered_key_appears_in_no_table_event_or_answer() {
    let app = TestApp::spawn().await;
    let (tenant, created, minted) = pending(&app).await;
    let canary = "sk-test-good-CANARY-5e0c2b7d";
    let refused = "sk-CANARY-refused-91aa";
    app.providers.set(refused, Behavior::Unauthorized);
    let url = minted["url"].as_str().unwrap();
    let (status, refusal) = app.redeem(url, refused).await;
    assert_eq!(status, 422);
    let (status, redeemed) = app.redeem(url, canary).await;
    assert_eq!(status, 200);
    let (_, one) = app.get(&admin(), &connection_path(tenant, &created)).await;

    let stored = everything_stored(&app).await;
    let answers = format!("{refusal}{redeemed}{one}");
    for key in [canary, refused] {
        for (form, needle) in [("text", key.to_owned()), ("hex", hex(key))] {
            assert!(!stored.contains(&needle), "{key} stored ({form})");
        }
        assert!(!answers.contains(key), "{key} in an answer");
    }
    // Nor the link's token: only its hash.
    assert!(!stored.contains(&token_of(url)));

    // The sweep sees what is there: the request's note in its table, the
    // connection's name inside the outbox's Avro payloads.
    assert!(stored.contains("The ops team's key"));
    let name_in_payload = hex("primary-openai");
    assert!(
        stored.contains(&name_in_payload),
        "outbox payloads are searched"
    );
}

/// Every log line the process writes, kept for a test to search.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_entered_key_appears_in_no_log_line_even_at_trace_level() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::spawn().await;
    let (tenant, created, minted) = pending(&app).await;
    let canary = "sk-test-good-LOGCANARY-0b9e";
    let refused = "sk-LOGCANARY-refused-77c1";
    app.providers.set(refused, Behavior::Unauthorized);
    let url = minted["url"].as_str().unwrap();
    let (status, _) = app.redeem(url, refused).await;
    assert_eq!(status, 422);
    let (status, _) = app.redeem(url, canary).await;
    assert_eq!(status, 200);
    let (status, released) = app
        .post(
            &As::platform(Role::Runtime),
            &format!(
                "/runtime/providers/tenants/{tenant}/connections/{}/key",
                created["connection_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!((status, &released["key"]), (200, &json!(canary)));
    // A malformed entry, whose body might be echoed in a parse error.
    app.call(
        None,
        Method::POST,
        "/setup/api/redeem",
        Some(json!({ "token": token_of(url), "key": 12, "note": canary })),
    )
    .await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for key in [canary, refused] {
        assert!(!logs.contains(key), "{key} is in a log line");
    }
    assert!(
        !logs.contains(&token_of(url)),
        "the link's token is in a log line"
    );
    // The sweep reads the service's lines: its start, and the refusal of the
    // key the provider did not take (logged with its code).
    assert!(logs.contains("provider-setup listening"), "{logs}");
    assert!(logs.contains("key_rejected"), "{logs}");
}
