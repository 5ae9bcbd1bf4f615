//! Playbooks: published versions are immutable; a tenant links a version only
//! when it fits the active configuration, and the link is part of what the
//! runtime reads.

use plinth_core::{DataMode, Role};
use serde_json::json;

use crate::helpers::{As, TestApp, admin, example};

#[tokio::test]
async fn published_versions_are_immutable() {
    let app = TestApp::spawn().await;
    let first = app
        .publish("playbook-invoice-dispute-triage-1.0.0.json")
        .await;
    assert_eq!(first["version"], "1.0.0");
    let (status, again) = app
        .post(
            &admin(),
            "/admin/playbooks",
            example("playbook-invoice-dispute-triage-1.0.0.json"),
        )
        .await;
    assert_eq!(
        status, 200,
        "the same version again answers the published one"
    );
    assert_eq!(again["playbook_version_id"], first["playbook_version_id"]);
    let mut changed = example("playbook-invoice-dispute-triage-1.0.0.json");
    changed["steps"][2]["gate"] = json!("L2");
    let (status, problem) = app.post(&admin(), "/admin/playbooks", changed).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("version_exists"))
    );
    let (status, _) = app
        .post(
            &As::tenant(
                Role::WorkspaceAdmin,
                plinth_core::TenantId::new(plinth_core::Region::Us),
            ),
            "/admin/playbooks",
            example("playbook-password-reset-1.0.0.json"),
        )
        .await;
    assert_eq!(status, 403, "only the platform team publishes");
    for sql in [
        "UPDATE playbook_versions SET name = 'x'",
        "DELETE FROM playbook_versions",
    ] {
        assert!(
            plinth_testkit::exec(&app.db.owner_url(), sql)
                .await
                .is_err(),
            "{sql} is refused"
        );
    }
    let (_, list) = app.get(&admin(), "/admin/playbooks").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, read) = app
        .get(&admin(), "/admin/playbooks/invoice-dispute-triage/1.0.0")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        read["content"],
        example("playbook-invoice-dispute-triage-1.0.0.json")
    );
    assert!(
        app.outbox()
            .await
            .iter()
            .any(|e| e.ce_type == "plinth.playbook.published")
    );
}

#[tokio::test]
async fn a_tenant_links_only_playbooks_that_fit_its_active_configuration() {
    let app = TestApp::spawn().await;
    app.finance().await;
    app.publish("playbook-password-reset-1.0.0.json").await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let admin_of = As::tenant(Role::WorkspaceAdmin, tenant);
    let links = format!("/admin/packs/tenant/{tenant}/playbooks");
    let link = |playbook: &str, version: &str| json!({ "playbook": playbook, "version": version });

    let (status, problem) = app
        .post(&admin_of, &links, link("invoice-dispute-triage", "1.0.0"))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("no_active_config"))
    );
    let (status, _) = app.activate(tenant, "3.2.0", None).await;
    assert_eq!(status, 200);

    let (status, problem) = app
        .post(&admin_of, &links, link("password-reset", "1.0.0"))
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "playbook_incompatible");
    assert_eq!(problem["reasons"][0]["code"], "playbook_other_domain");
    let (status, problem) = app
        .post(&admin_of, &links, link("invoice-dispute-triage", "7.0.0"))
        .await;
    assert_eq!((status, problem["field"].as_str()), (400, Some("version")));
    let (status, _) = app
        .post(
            &As::tenant(Role::Operator, tenant),
            &links,
            link("invoice-dispute-triage", "1.0.0"),
        )
        .await;
    assert_eq!(status, 403);

    let (status, linked) = app
        .post(&admin_of, &links, link("invoice-dispute-triage", "1.0.0"))
        .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked["domain_pack_version"], "3.2.0");
    let (_, list) = app.get(&As::tenant(Role::Auditor, tenant), &links).await;
    assert_eq!(list["items"][0]["playbook"], "invoice-dispute-triage");
    let (_, config) = app
        .get(&admin_of, &format!("/runtime/tenants/{tenant}/config"))
        .await;
    assert_eq!(config["playbooks"][0]["id"], "invoice-dispute-triage");
    assert_eq!(
        config["playbooks"][0]["trigger"]["category"],
        "billing-dispute"
    );

    let (status, _) = app
        .call(
            Some(&admin_of),
            reqwest::Method::DELETE,
            &format!("{links}/invoice-dispute-triage"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, config) = app
        .get(&admin_of, &format!("/runtime/tenants/{tenant}/config"))
        .await;
    assert_eq!(
        config["playbooks"],
        json!([]),
        "unlinked, and the runtime sees it"
    );
    let types: Vec<String> = app.outbox().await.into_iter().map(|e| e.ce_type).collect();
    assert!(types.contains(&"plinth.playbook.linked".to_owned()));
    assert!(types.contains(&"plinth.playbook.unlinked".to_owned()));
}

/// A read-only caller's 1.2 MB playbook name is refused and audited with its name
/// cut short, and the events behind that record still reach the broker: one
/// oversized field cannot stop a service's events.
#[tokio::test]
async fn an_oversized_refused_request_does_not_stop_the_events_behind_it() {
    use plinth_bus::AuditEvent;
    use plinth_bus::headers::CloudEvent;
    use rdkafka::Message;
    use rdkafka::consumer::{Consumer, StreamConsumer};

    let app = TestApp::spawn_configured(|s| s.shared.bus.relay = true).await;
    let tenant = app.tenant(DataMode::MetadataOnly).await;
    let auditor = As::tenant(Role::Auditor, tenant);
    let huge = "p".repeat(1_200_000);
    let (status, _) = app
        .post(
            &auditor,
            &format!("/admin/packs/tenant/{tenant}/playbooks"),
            json!({ "playbook": huge, "version": "1.0.0" }),
        )
        .await;
    assert_eq!(
        status, 400,
        "an id that is not a playbook id is refused first"
    );
    // A normal change after it.
    app.publish("playbook-invoice-dispute-triage-1.0.0.json")
        .await;

    let reader: StreamConsumer = app
        .bus
        .client_config()
        .set("group.id", format!("{}audit-reader", app.bus.topic_prefix))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader
        .subscribe(&[&app.bus.topic(plinth_bus::Area::Audit)])
        .unwrap();
    let (mut refused, mut published) = (None, None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while refused.is_none() || published.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let msg = tokio::time::timeout(left, reader.recv())
            .await
            .expect("both audit events reach the broker")
            .unwrap();
        if CloudEvent::from_headers(msg.headers()).unwrap().ty != plinth_bus::AUDIT_EVENT {
            continue;
        }
        let event: AuditEvent = app
            .schemas
            .decode(AuditEvent::SCHEMA, msg.payload().unwrap())
            .unwrap();
        match event.action.as_str() {
            "playbook.link" => refused = Some(event),
            "playbook.publish" => published = Some(event),
            _ => {}
        }
    }
    let refused = refused.unwrap();
    assert_eq!(refused.outcome, "FAILED");
    assert_eq!(refused.reason.as_deref(), Some("invalid_request"));
    assert_eq!(refused.resource_id, None, "an invalid id is never recorded");
    assert_eq!(published.unwrap().outcome, "ALLOWED");
}
