//! Policy records: the platform's baseline published on the first start;
//! drafts, publishing with a reason (immutable from then on, in the database
//! too), new versions superseding, retiring; who may write which scope; bad
//! documents refused with their problems, changing nothing.

use plinth_core::{Role, TenantId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{As, PLATFORM, TestApp, admin, records_of, tenant_admin, tenant_record};

#[tokio::test]
async fn the_platform_baseline_is_published_once_with_who_when_and_why() {
    let app = TestApp::spawn().await;
    let (status, listed) = app.get(&admin(), PLATFORM).await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        (
            &items[0]["level"],
            &items[0]["name"],
            &items[0]["published_version"]
        ),
        (&json!("platform"), &json!("Platform baseline"), &json!(1))
    );
    let id = items[0]["record_id"].as_str().unwrap();
    let (_, record) = app.get(&admin(), &format!("{PLATFORM}/{id}")).await;
    let version = &record["versions"][0];
    assert_eq!(version["status"], "PUBLISHED");
    assert_eq!(version["published_by"], "service:policy");
    assert!(version["reason"].as_str().unwrap().contains("baseline"));
    let published = app.published("plinth.policy.record_published", 1).await;
    assert_eq!(published[0]["level"], "platform");
    // Every role reads the platform's records: they are part of its policy.
    let tenant = app.tenant().await;
    let (status, _) = app.get(&As::tenant(Role::Operator, tenant), PLATFORM).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_draft_is_published_then_immutable_and_the_next_version_supersedes_it() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    let base = records_of(tenant);
    let who = tenant_admin(tenant);
    let first = tenant_record(
        tenant,
        "Tighter tickets",
        json!({ "gates": { "ticket_update": "L2" } }),
    );
    let (status, created) = app.post(&who, &base, first).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["versions"][0]["status"], "DRAFT");
    assert_eq!(created["published_version"], Value::Null);
    let id = created["record_id"].as_str().unwrap().to_owned();
    let path = format!("{base}/{id}");

    // Publishing needs a reason.
    let (status, problem) = app
        .post(&who, &format!("{path}/publish"), json!({ "reason": " " }))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, published) = app
        .post(
            &who,
            &format!("{path}/publish"),
            json!({ "reason": "Quarterly review" }),
        )
        .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["published_version"], 1);
    let v1 = &published["versions"][0];
    assert_eq!(
        (&v1["status"], &v1["reason"]),
        (&json!("PUBLISHED"), &json!("Quarterly review"))
    );
    assert_eq!(v1["published_by"], "ana@acme.example");
    let (status, problem) = app
        .post(
            &who,
            &format!("{path}/publish"),
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invalid_transition"))
    );

    // A change is a new version; the published one stays as it was.
    let second = tenant_record(
        tenant,
        "Tighter tickets",
        json!({ "gates": { "ticket_update": "L3" } }),
    );
    let (status, drafted) = app
        .call(
            Some(&who),
            Method::PUT,
            &format!("{path}/draft"),
            Some(second),
        )
        .await;
    assert_eq!(status, 200, "{drafted}");
    assert_eq!(drafted["versions"][0]["version"], 2);
    assert_eq!(
        drafted["published_version"], 1,
        "still in force until published"
    );
    let (_, published) = app
        .post(
            &who,
            &format!("{path}/publish"),
            json!({ "reason": "Changes by people" }),
        )
        .await;
    let statuses: Vec<&str> = published["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PUBLISHED", "SUPERSEDED"]);
    assert_eq!(
        published["versions"][1]["document"]["rules"]["gates"]["ticket_update"],
        "L2"
    );

    // The database keeps a published version as it is, whoever asks.
    let mut conn = plinth_db::connect(&app.db.owner_url()).await.unwrap();
    use diesel_async::SimpleAsyncConnection as _;
    conn.batch_execute("SET plinth.tenant_scope = '*'")
        .await
        .unwrap();
    let changed = conn
        .batch_execute(&format!(
            "UPDATE record_versions SET document = '{{}}' WHERE record_id = '{id}' AND version = 1"
        ))
        .await;
    assert!(changed.is_err(), "a published version is immutable");

    // Retired: in force no more; retiring twice is refused.
    let (status, retired) = app
        .post(
            &who,
            &format!("{path}/retire"),
            json!({ "reason": "Superseded by the MSP's" }),
        )
        .await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(
        (&retired["status"], &retired["published_version"]),
        (&json!("RETIRED"), &Value::Null)
    );
    assert_eq!(retired["retired_by"], "ana@acme.example");
    let (status, _) = app
        .post(
            &who,
            &format!("{path}/retire"),
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(status, 409);
    let events = app.published("plinth.policy.record_retired", 1).await;
    assert_eq!(events[0]["tenant_id"], tenant.to_string());
}

#[tokio::test]
async fn each_scope_is_written_by_its_owners_only() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    let other = app.tenant().await;
    let module = json!({
        "name": "Triage agent", "scope": { "level": "module", "module_id": "itsm-triage-agent" },
        "rules": { "default_gate": "L2" }
    });
    // The platform's and modules' records are the platform team's.
    for who in [tenant_admin(tenant), As::platform(Role::PlatformAuditor)] {
        let (status, _) = app.post(&who, PLATFORM, module.clone()).await;
        assert_eq!(status, 403, "{who:?}");
    }
    let (status, created) = app.post(&admin(), PLATFORM, module.clone()).await;
    assert_eq!(status, 201, "{created}");
    // A tenant's records: its administrators and the platform team; not its
    // operators, and never for another tenant.
    let record = tenant_record(tenant, "Ours", json!({ "default_gate": "L3" }));
    let (status, _) = app
        .post(
            &As::tenant(Role::Operator, tenant),
            &records_of(tenant),
            record.clone(),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .post(&tenant_admin(other), &records_of(tenant), record.clone())
        .await;
    assert_eq!(status, 404, "another tenant is not found");
    let (status, created) = app.post(&admin(), &records_of(tenant), record).await;
    assert_eq!(status, 201, "{created}");
    let id = created["record_id"].as_str().unwrap();
    let (status, _) = app
        .get(&tenant_admin(other), &format!("{}/{id}", records_of(other)))
        .await;
    assert_eq!(status, 404, "another tenant's record is not found");
    let (_, listed) = app.get(&tenant_admin(other), &records_of(other)).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn a_bad_record_is_refused_with_its_problems_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant().await;
    let other: TenantId = app.tenant().await;
    let who = tenant_admin(tenant);
    let cases = [
        (
            json!({ "name": "x", "scope": { "level": "tenant", "tenant_id": tenant.to_string() },
                 "rules": { "gates": { "ticket_update": "L9" } } }),
            "/rules/gates/ticket_update",
        ),
        (
            json!({ "name": "x", "scope": { "level": "tenant", "tenant_id": tenant.to_string() },
                 "rules": { "tokens": { "per_request_ceiling": 0 } } }),
            "/rules/tokens/per_request_ceiling",
        ),
        (
            json!({ "name": "x", "scope": { "level": "platform" }, "rules": {} }),
            "/scope/level",
        ),
        (
            json!({ "name": "x", "scope": { "level": "tenant", "tenant_id": other.to_string() },
                 "rules": {} }),
            "/scope/tenant_id",
        ),
    ];
    for (document, pointer) in cases {
        let (status, problem) = app.post(&who, &records_of(tenant), document).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("policy_invalid")),
            "{problem}"
        );
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["pointer"].as_str().unwrap().starts_with(pointer)),
            "{pointer}: {problem}"
        );
    }
    let (_, listed) = app.get(&who, &records_of(tenant)).await;
    assert_eq!(listed["items"], json!([]));
}
