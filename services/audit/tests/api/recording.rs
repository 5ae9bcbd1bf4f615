//! Audit events join their tenant's log (or the platform's) once each, in order,
//! chained, and only the tenant's administrators, auditors and the platform team
//! read them.

use plinth_core::{Role, TenantId};
use reqwest::Method;

use crate::helpers::{As, TestApp, auditor, tenant};

#[tokio::test]
async fn audit_events_join_their_log_once_each_allowed_or_denied() {
    let app = TestApp::spawn().await;
    let t = tenant();
    app.deliver(&app.tenant_created(&t)).await;
    let created = app.audit_event(&t, "tenant.create", "ALLOWED");
    app.deliver(&created).await;
    app.deliver(&app.audit_event(&t, "workspace.create", "DENIED"))
        .await;
    app.deliver(&app.audit_event("platform", "tenant.create", "DENIED"))
        .await;
    // The same event again, then a fresh one behind it on the same partition.
    app.deliver(&created).await;
    app.deliver(&app.audit_event(&t, "tenant.status_set", "ALLOWED"))
        .await;
    app.wait_for_entries(&t, 4).await;
    app.wait_for_entries("platform", 2).await;
    assert_eq!(
        app.entries(&t).await,
        4,
        "genesis and three events, the repeat once"
    );
    assert_eq!(
        app.inbox().await,
        5,
        "the tenant's announcement and four distinct events; the repeat was recognised"
    );

    let page = app.get(&format!("/admin/audit/logs/{t}/entries")).await;
    let items = page["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|i| i["entry"]["record"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "audit.log_created",
            "tenant.create",
            "workspace.create",
            "tenant.status_set"
        ]
    );
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["index"], i as u64);
        assert_eq!(item["entry"]["index"], i as u64);
        let prev = &item["entry"]["prev"];
        if i == 0 {
            assert!(prev.is_null());
        } else {
            assert_eq!(
                *prev,
                items[i - 1]["leaf_hash"],
                "entry {i} chains to {}",
                i - 1
            );
        }
    }
    assert_eq!(items[1]["entry"]["event_id"], created.id.to_string());
    assert_eq!(items[2]["entry"]["record"]["outcome"], "DENIED");
    assert_eq!(items[2]["entry"]["record"]["reason"], "forbidden");

    // Filters and pages.
    let denied = app
        .get(&format!("/admin/audit/logs/{t}/entries?outcome=DENIED"))
        .await;
    assert_eq!(denied["items"].as_array().unwrap().len(), 1);
    let by_action = app
        .get(&format!(
            "/admin/audit/logs/{t}/entries?action=tenant.create&actor=alice@msp.example"
        ))
        .await;
    assert_eq!(by_action["items"].as_array().unwrap().len(), 1);
    let none = app
        .get(&format!(
            "/admin/audit/logs/{t}/entries?to=2020-01-01T00:00:00Z"
        ))
        .await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let first = app
        .get(&format!("/admin/audit/logs/{t}/entries?limit=3"))
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!(
            "/admin/audit/logs/{t}/entries?limit=3&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["items"][0]["index"], 3);
    assert!(rest["next_cursor"].is_null());
    for bad in [
        "outcome=MAYBE",
        "from=yesterday",
        "colour=blue",
        "cursor=xyz",
    ] {
        let (status, problem) = app
            .call(
                Some(&auditor()),
                Method::GET,
                &format!("/admin/audit/logs/{t}/entries?{bad}"),
                None,
            )
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }

    let platform = app.get("/admin/audit/logs/platform/entries").await;
    assert_eq!(platform["items"][1]["entry"]["record"]["outcome"], "DENIED");
}

#[tokio::test]
async fn a_log_is_read_only_by_those_who_reach_it() {
    let app = TestApp::spawn().await;
    let (t, other) = (tenant(), tenant());
    app.deliver(&app.audit_event(&t, "tenant.create", "ALLOWED"))
        .await;
    app.deliver(&app.audit_event(&other, "tenant.create", "ALLOWED"))
        .await;
    app.wait_for_entries(&t, 2).await;
    app.wait_for_entries(&other, 2).await;
    let id: TenantId = t.parse().unwrap();
    let other_id: TenantId = other.parse().unwrap();
    let path = format!("/admin/audit/logs/{t}/entries");
    let cases = [
        (As::tenant(Role::Auditor, id), 200),
        (As::tenant(Role::WorkspaceAdmin, id), 200),
        (As::platform(Role::PlatformAdmin), 200),
        (As::bound_admin(&[id]), 200),
        (As::tenant(Role::Operator, id), 403),
        (As::tenant(Role::Approver, id), 403),
        (As::tenant(Role::Auditor, other_id), 404),
        (As::bound_admin(&[other_id]), 404),
    ];
    for (who, expected) in cases {
        let (status, body) = app.call(Some(&who), Method::GET, &path, None).await;
        assert_eq!(status, expected, "{who:?}: {body}");
    }
    let (status, _) = app.call(None, Method::GET, &path, None).await;
    assert_eq!(status, 401);
    // Another tenant's log answers exactly like one that does not exist.
    let unknown = format!("/admin/audit/logs/{}/entries", tenant());
    let (s1, b1) = app
        .call(
            Some(&As::tenant(Role::Auditor, other_id)),
            Method::GET,
            &path,
            None,
        )
        .await;
    let (s2, b2) = app
        .call(
            Some(&As::tenant(Role::Auditor, other_id)),
            Method::GET,
            &unknown,
            None,
        )
        .await;
    assert_eq!(
        (s1, &b1["code"], &b1["title"]),
        (s2, &b2["code"], &b2["title"])
    );
    // The platform log is the platform team's, bound to every tenant.
    for who in [As::tenant(Role::Auditor, id), As::bound_admin(&[id])] {
        let (status, _) = app
            .call(
                Some(&who),
                Method::GET,
                "/admin/audit/logs/platform/entries",
                None,
            )
            .await;
        assert_eq!(status, 404, "{who:?}");
    }

    // Every refusal above is on the record, in the platform log: who, what, why.
    let platform = app
        .get("/admin/audit/logs/platform/entries?limit=200")
        .await;
    let denied: Vec<(String, String, String)> = platform["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["entry"]["record"])
        .filter(|r| r["outcome"] == "DENIED" && r["source_service"] == "audit")
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["resource_id"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let refused = |log: &str, reason: &str| {
        (
            "audit_log.entries".to_owned(),
            log.to_owned(),
            reason.to_owned(),
        )
    };
    assert_eq!(
        denied,
        vec![
            refused(&t, "forbidden"),
            refused(&t, "forbidden"),
            refused(&t, "not_found"),
            refused(&t, "not_found"),
            refused(&t, "not_found"),
            refused(unknown.split('/').nth(4).unwrap(), "not_found"),
            refused("platform", "not_found"),
            refused("platform", "not_found"),
        ],
        "{platform}"
    );
}

#[tokio::test]
async fn a_refusal_naming_a_tenant_the_registry_never_announced_opens_no_log() {
    let app = TestApp::spawn().await;
    let made_up = tenant();
    app.deliver(&app.audit_event(&made_up, "workspace.create", "DENIED"))
        .await;
    app.wait_for_entries("platform", 2).await;
    assert_eq!(
        app.entries(&made_up).await,
        0,
        "no log for a made-up tenant"
    );
    let page = app.get("/admin/audit/logs/platform/entries").await;
    let last = page["items"].as_array().unwrap().last().unwrap().clone();
    let record = &last["entry"]["record"];
    assert_eq!(record["action"], "workspace.create");
    assert_eq!(record["tenant_id"], "platform");
    assert_eq!(record["details"]["named_tenant"], made_up.as_str());
    // Once the registry announces it, its refusals go to its own log.
    app.deliver(&app.tenant_created(&made_up)).await;
    app.deliver(&app.audit_event(&made_up, "workspace.create", "DENIED"))
        .await;
    app.wait_for_entries(&made_up, 2).await;
}
