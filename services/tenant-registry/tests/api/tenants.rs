//! `/admin/tenants`: registration, reading, listing, status, and every refusal.

use plinth_core::{Region, Role, TenantId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, tenant_body};

fn admin() -> As {
    As::platform_admin()
}

fn audits(app_outbox: &[plinth_testkit::Outgoing]) -> Vec<&Value> {
    app_outbox
        .iter()
        .filter(|o| o.ce_type == "plinth.audit.event")
        .map(|o| &o.payload)
        .collect()
}

#[tokio::test]
async fn a_registered_tenant_is_pending_in_its_region_with_its_events() {
    let app = TestApp::spawn().await;
    let (status, tenant) = app.create(&admin(), tenant_body("acme", "us")).await;
    assert_eq!(status, 201, "{tenant}");
    let id = tenant["tenant_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ten_us_"), "{id}");
    assert_eq!(tenant["status"], "PENDING");
    assert_eq!(tenant["region"], "us");
    assert_eq!(
        tenant["data_mode"], "metadata_only",
        "metadata-only by default"
    );
    assert_eq!(tenant["deployment_model"], "hosted_saas");
    assert_eq!(tenant["owner_contact"]["email"], "ana@acme.example");
    assert_eq!(tenant["created_by"], "alice@msp.example");

    let (status, read) = app.get(&admin(), &id).await;
    assert_eq!(status, 200);
    assert_eq!(read, tenant);

    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    assert_eq!(outbox[0].ce_type, "plinth.tenant.created");
    assert_eq!(outbox[0].key, id);
    assert_eq!(outbox[0].payload["slug"], "acme");
    assert_eq!(outbox[0].payload["region"], "us");
    let created = serde_json::to_string(&outbox[0].payload).unwrap();
    assert!(
        !created.contains("ana@acme.example"),
        "no contact details in events"
    );
    let audit = audits(&outbox);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["action"], "tenant.create");
    assert_eq!(audit[0]["outcome"], "ALLOWED");
    assert_eq!(audit[0]["tenant_id"], id.as_str());
    assert_eq!(audit[0]["actor"], "alice@msp.example");
    assert_eq!(
        audit[0]["details"]["after_sha256"].as_str().unwrap().len(),
        64
    );
    assert!(
        !serde_json::to_string(audit[0])
            .unwrap()
            .contains("Acme Corporation")
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (status, _) = app.create(&admin(), tenant_body("taken", "us")).await;
    assert_eq!(status, 201);
    let before = app.outbox().await.len();

    let mut no_region = tenant_body("acme", "us");
    no_region.as_object_mut().unwrap().remove("region");
    let mut unknown_field = tenant_body("acme", "us");
    unknown_field["colour"] = json!("blue");
    let mut bad_email = tenant_body("acme", "us");
    bad_email["owner_contact"]["email"] = json!("not-an-address");
    let mut bad_model = tenant_body("acme", "us");
    bad_model["deployment_model"] = json!("on_a_boat");
    let huge = tenant_body(&"a".repeat(20_000), "us");
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "region missing",
            no_region,
            400,
            "invalid_request",
            Some("region"),
        ),
        (
            "region unknown",
            tenant_body("acme", "mars"),
            400,
            "invalid_request",
            Some("region"),
        ),
        (
            "slug rules",
            tenant_body("Acme!", "us"),
            400,
            "invalid_request",
            Some("slug"),
        ),
        (
            "unknown field",
            unknown_field,
            400,
            "invalid_request",
            Some("colour"),
        ),
        (
            "bad e-mail",
            bad_email,
            400,
            "invalid_request",
            Some("owner_contact.email"),
        ),
        (
            "bad model",
            bad_model,
            400,
            "invalid_request",
            Some("deployment_model"),
        ),
        (
            "duplicate slug",
            tenant_body("taken", "us"),
            409,
            "already_exists",
            None,
        ),
        (
            "other region",
            tenant_body("acme", "eu"),
            421,
            "wrong_region",
            None,
        ),
        ("too large", huge, 413, "payload_too_large", None),
    ];
    for (case, body, want_status, want_code, want_field) in &cases {
        let (status, problem) = app.create(&admin(), body.clone()).await;
        assert_eq!(status, *want_status, "{case}: {problem}");
        assert_eq!(problem["code"], *want_code, "{case}: {problem}");
        assert!(
            problem["request_id"].as_str().is_some(),
            "{case}: {problem}"
        );
        if let Some(field) = want_field {
            assert_eq!(problem["field"], *field, "{case}: {problem}");
        }
    }
    assert_eq!(app.tenant_rows().await, 1, "nothing was written");
    let outbox = app.outbox().await;
    let refusals: Vec<_> = audits(&outbox[before..]).into_iter().collect();
    assert_eq!(
        refusals.len(),
        cases.len(),
        "one audit event per refusal, nothing else"
    );
    assert!(refusals.iter().all(|a| a["outcome"] == "FAILED"));
    assert_eq!(refusals[0]["reason"], "invalid_request");
    assert_eq!(refusals[6]["reason"], "already_exists");
}

#[tokio::test]
async fn only_the_platform_team_registers_and_tokens_are_required() {
    let app = TestApp::spawn().await;
    let (_, tenant) = app.create(&admin(), tenant_body("acme", "us")).await;
    let id: TenantId = serde_json::from_value(tenant["tenant_id"].clone()).unwrap();

    let (status, problem) = app
        .create(
            &As::tenant(Role::WorkspaceAdmin, id),
            tenant_body("other", "us"),
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = app
        .create(&As::bound_admin(&[id]), tenant_body("other", "us"))
        .await;
    assert_eq!(
        status, 403,
        "an admin bound to chosen tenants does not register new ones"
    );
    let (status, problem) = app
        .call(
            None,
            Method::POST,
            "/admin/tenants",
            Some(tenant_body("other", "us")),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("unauthenticated"))
    );

    assert_eq!(app.tenant_rows().await, 1);
    let outbox = app.outbox().await;
    let denied: Vec<_> = audits(&outbox)
        .into_iter()
        .filter(|a| a["outcome"] == "DENIED")
        .collect();
    assert_eq!(denied.len(), 2, "refusals of a known caller are audited");

    // Read-only roles read their own tenant.
    let (status, _) = app
        .get(&As::tenant(Role::Auditor, id), &id.to_string())
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn another_tenants_id_answers_like_one_that_does_not_exist() {
    let app = TestApp::spawn().await;
    let (_, a) = app.create(&admin(), tenant_body("alpha", "us")).await;
    let (_, b) = app.create(&admin(), tenant_body("beta", "us")).await;
    let a: TenantId = serde_json::from_value(a["tenant_id"].clone()).unwrap();
    let b = b["tenant_id"].as_str().unwrap().to_owned();
    let operator = As::tenant(Role::Operator, a);

    let (other_status, mut other) = app.get(&operator, &b).await;
    let (random_status, mut random) = app
        .get(&operator, &TenantId::new(Region::Us).to_string())
        .await;
    let (garbage_status, mut garbage) = app.get(&operator, "not-an-id").await;
    for p in [&mut other, &mut random, &mut garbage] {
        p.as_object_mut().unwrap().remove("request_id");
    }
    assert_eq!(
        (other_status, random_status, garbage_status),
        (404, 404, 404)
    );
    assert_eq!(other, random);
    assert_eq!(other, garbage);
    // A bound administrator reaches only its tenants.
    let (status, _) = app.get(&As::bound_admin(&[a]), &b).await;
    assert_eq!(status, 404);
    // Another region's tenant is named as such.
    let (status, problem) = app
        .get(&admin(), &TenantId::new(Region::Eu).to_string())
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (421, Some("wrong_region"))
    );
}

#[tokio::test]
async fn listings_show_the_tenants_a_caller_reaches_page_by_page() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for slug in ["t-one", "t-two", "t-three", "t-four", "t-five"] {
        let (_, t) = app.create(&admin(), tenant_body(slug, "us")).await;
        ids.push(serde_json::from_value::<TenantId>(t["tenant_id"].clone()).unwrap());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/tenants?limit=2&cursor={c}"),
            None => "/admin/tenants?limit=2".to_owned(),
        };
        let (status, page) = app.call(Some(&admin()), Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|t| t["tenant_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut want: Vec<String> = ids.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!(seen, want, "every tenant once, in id order");

    let (_, bound) = app
        .call(
            Some(&As::bound_admin(&ids[..2])),
            Method::GET,
            "/admin/tenants",
            None,
        )
        .await;
    assert_eq!(bound["items"].as_array().unwrap().len(), 2);
    let (_, own) = app
        .call(
            Some(&As::tenant(Role::Auditor, ids[3])),
            Method::GET,
            "/admin/tenants",
            None,
        )
        .await;
    let own = own["items"].as_array().unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["tenant_id"], ids[3].to_string());
}

#[tokio::test]
async fn listings_filter_by_status_deployment_model_and_data_mode_page_by_page() {
    let app = TestApp::spawn().await;
    let mut hybrid = Vec::new();
    for (slug, model, mode) in [
        ("f-one", "hybrid", "metadata_only"),
        ("f-two", "hosted_saas", "content"),
        ("f-three", "hybrid", "content"),
        ("f-four", "hybrid", "metadata_only"),
    ] {
        let mut body = tenant_body(slug, "us");
        body["deployment_model"] = json!(model);
        body["data_mode"] = json!(mode);
        let (status, t) = app.create(&admin(), body).await;
        assert_eq!(status, 201, "{t}");
        if model == "hybrid" {
            hybrid.push(t["tenant_id"].as_str().unwrap().to_owned());
        }
    }
    let onboarding = hybrid[1].clone();
    let (status, answer) = app
        .call(
            Some(&admin()),
            Method::POST,
            &format!("/admin/tenants/{onboarding}/onboarding"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");

    let slugs = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |query: String| {
        let app = &app;
        async move {
            let (status, page) = app
                .call(
                    Some(&admin()),
                    Method::GET,
                    &format!("/admin/tenants?{query}"),
                    None,
                )
                .await;
            (status, page)
        }
    };
    let (_, page) = list("status=ONBOARDING".into()).await;
    assert_eq!(slugs(&page), ["f-three"]);
    let (_, page) = list("deployment_model=hybrid&data_mode=metadata_only".into()).await;
    let mut found = slugs(&page);
    found.sort();
    assert_eq!(found, ["f-four", "f-one"]);
    // A filtered listing pages like any other: every match once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = list(format!("deployment_model=hybrid&limit=1{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["tenant_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    hybrid.sort();
    assert_eq!(seen, hybrid);
    // An unknown value names its parameter.
    for (query, field) in [
        ("status=LIVE", "status"),
        ("deployment_model=mainframe", "deployment_model"),
        ("data_mode=everything", "data_mode"),
    ] {
        let (status, problem) = list(query.into()).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
}

#[tokio::test]
async fn the_lifecycle_refuses_other_transitions_and_publishes_each_change() {
    let app = TestApp::spawn().await;
    let (_, t) = app.create(&admin(), tenant_body("acme", "us")).await;
    let id = t["tenant_id"].as_str().unwrap().to_owned();
    let path = format!("/admin/tenants/{id}/status");

    let (status, problem) = app
        .call(
            Some(&admin()),
            Method::PATCH,
            &path,
            Some(json!({"status": "SUSPENDED"})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "invalid_transition");
    assert_eq!(problem["allowed"], json!(["ONBOARDING"]));
    let (status, problem) = app
        .call(
            Some(&admin()),
            Method::PATCH,
            &path,
            Some(json!({"status": "DELETED"})),
        )
        .await;
    assert_eq!((status, problem["field"].as_str()), (400, Some("status")));

    // While onboarding, only the readiness checklist makes the tenant ACTIVE.
    app.force_status(&id, "ONBOARDING").await;
    let (status, problem) = app
        .call(
            Some(&admin()),
            Method::PATCH,
            &path,
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "invalid_transition");
    let (_, tenant) = app.get(&admin(), &id).await;
    assert_eq!(tenant["status"], "ONBOARDING");

    // The tenant finished onboarding (that flow sets ACTIVE): suspend and resume it.
    app.force_status(&id, "ACTIVE").await;
    let before = app.outbox().await.len();
    let (status, suspended) = app
        .call(
            Some(&admin()),
            Method::PATCH,
            &path,
            Some(json!({"status": "SUSPENDED", "reason": "unpaid invoice"})),
        )
        .await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["status"], "SUSPENDED");
    let (status, _) = app
        .call(
            Some(&As::tenant(
                Role::WorkspaceAdmin,
                serde_json::from_value(json!(id)).unwrap(),
            )),
            Method::PATCH,
            &path,
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!(
        status, 403,
        "a tenant's own admin does not lift a suspension"
    );
    let (status, active) = app
        .call(
            Some(&admin()),
            Method::PATCH,
            &path,
            Some(json!({"status": "ACTIVE"})),
        )
        .await;
    assert_eq!((status, active["status"].as_str()), (200, Some("ACTIVE")));

    let outbox = app.outbox().await;
    let types: Vec<&str> = outbox[before..]
        .iter()
        .map(|o| o.ce_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "plinth.tenant.status_changed",
            "plinth.tenant.suspended",
            "plinth.audit.event",
            "plinth.audit.event",
            "plinth.tenant.status_changed",
            "plinth.tenant.activated",
            "plinth.audit.event",
        ]
    );
    assert_eq!(outbox[before].payload["from_status"], "ACTIVE");
    assert_eq!(outbox[before].payload["to_status"], "SUSPENDED");
    assert_eq!(outbox[before].payload["reason"], "unpaid invoice");
    let audit = &outbox[before + 2].payload;
    assert_eq!(audit["outcome"], "ALLOWED");
    assert_ne!(
        audit["details"]["before_sha256"],
        audit["details"]["after_sha256"]
    );
    assert_eq!(outbox[before + 3].payload["outcome"], "DENIED");
}

#[tokio::test]
async fn the_region_never_changes_and_row_security_backs_up_every_query() {
    let app = TestApp::spawn().await;
    let (_, t) = app.create(&admin(), tenant_body("acme", "us")).await;
    let id = t["tenant_id"].as_str().unwrap().to_owned();

    let moved = app
        .owner_exec(&format!(
            "SELECT set_config('plinth.tenant_scope', '*', false); \
             UPDATE tenants SET region = 'eu', tenant_id = replace(tenant_id, 'ten_us_', 'ten_eu_') \
             WHERE tenant_id = '{id}'"
        ))
        .await;
    let refusal = moved.expect_err("even the owner cannot move a tenant to another region");
    assert!(refusal.to_string().contains("never change"), "{refusal}");
    let (_, read) = app.get(&admin(), &id).await;
    assert_eq!(read["region"], "us");

    // The app role without a scope sees no tenant at all.
    assert_eq!(app.app_count("SELECT count(*) AS n FROM tenants").await, 0);
    assert_eq!(app.tenant_rows().await, 1);
}
