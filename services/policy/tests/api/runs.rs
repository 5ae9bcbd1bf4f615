//! Runs through the human-in-the-loop gates: each step decided before it runs
//! by the stricter of the policy and the workspace's tier — L0 proceeds, L1
//! notifies, L2 waits for an approver, L3 for a person — with the run's whole
//! story in events and in the audit trail; approval races decided once; expiry
//! judged by a clock the test moves.

use std::time::Duration;

use plinth_core::{Role, TenantId};
use plinth_testkit::count_all_tenants;
use serde_json::{Value, json};

use crate::helpers::{As, TestApp, runtime};

const WS: &str = "wsp_desk";
const CREATED: &str = "plinth.workspace.created";

fn runs(tenant: TenantId) -> String {
    format!("/runtime/policy/tenants/{tenant}/runs")
}

fn admin_base(tenant: TenantId) -> String {
    format!("/admin/policies/tenants/{tenant}")
}

fn approver(tenant: TenantId, name: &str) -> As {
    As::tenant(Role::Approver, tenant).named(name)
}

fn operator(tenant: TenantId) -> As {
    As::tenant(Role::Operator, tenant).named("omar@acme.example")
}

/// A run of the invoice-dispute workflow, for Olivia.
fn run_body(workspace: &str) -> Value {
    json!({
        "workspace_id": workspace,
        "subject": { "kind": "workflow", "id": "invoice-dispute-triage", "version": "1.2.0" },
        "config_version": "acme-msp-ops@2.1.0",
        "trigger": {
            "source": "psa", "ticket_id": "T-10442", "event_type": "ticket.created",
            "category": "billing_dispute", "priority": "P2"
        },
        "requested_by": "olivia@acme.example"
    })
}

/// A tenant with a workspace at `tier` in `data_mode`.
async fn tenant_with(app: &TestApp, tier: &str, data_mode: &str) -> TenantId {
    let tenant = app.tenant().await;
    app.workspace(tenant, WS, tier, data_mode, CREATED).await;
    tenant
}

async fn start(app: &TestApp, tenant: TenantId) -> String {
    let (status, run) = app.post(&runtime(), &runs(tenant), run_body(WS)).await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "RUNNING");
    run["run_id"].as_str().unwrap().to_owned()
}

async fn step(app: &TestApp, tenant: TenantId, run: &str, body: Value) -> (u16, Value) {
    app.post(&runtime(), &format!("{}/{run}/steps", runs(tenant)), body)
        .await
}

async fn end_step(
    app: &TestApp,
    tenant: TenantId,
    run: &str,
    seq: i64,
    body: Value,
) -> (u16, Value) {
    app.post(
        &runtime(),
        &format!("{}/{run}/steps/{seq}/end", runs(tenant)),
        body,
    )
    .await
}

/// A step the baseline gates at L2, with the AI's decision support.
fn credit_step() -> Value {
    json!({
        "step_key": "issue_credit", "action_class": "ticket_update", "tool": "psa.ticket.update",
        "provider_kind": "openai", "model": "gpt-4o-mini", "estimated_tokens": 900,
        "support": {
            "change": "Issue a credit of 120 EUR on invoice INV-2207",
            "recommendation": "Approve: the customer was billed twice for March",
            "risk": "medium", "confidence": 0.82
        }
    })
}

/// The audit events of the service with `outcome`, oldest first.
async fn audits(app: &TestApp, outcome: &str) -> Vec<Value> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.ce_type == "plinth.audit.event" && e.payload["outcome"] == outcome)
        .map(|e| e.payload)
        .collect()
}

fn count_of(events: &[String], ty: &str) -> usize {
    events.iter().filter(|t| *t == ty).count()
}

#[tokio::test]
async fn a_run_passes_every_gate_and_its_audit_trail_tells_it_entry_by_entry() {
    let app = TestApp::spawn().await;
    let tenant = tenant_with(&app, "L0", "content").await;
    let run = start(&app, tenant).await;

    // L0: a read proceeds, logged.
    let (status, read) = step(
        &app,
        tenant,
        &run,
        json!({ "step_key": "classify", "action_class": "read", "provider_kind": "openai",
                "model": "gpt-4o-mini", "estimated_tokens": 400 }),
    )
    .await;
    assert_eq!(status, 201, "{read}");
    assert_eq!(
        (
            &read["seq"],
            &read["gate"],
            &read["decision"],
            &read["status"],
            &read["proceed"]
        ),
        (
            &json!(1),
            &json!("L0"),
            &json!("allow"),
            &json!("PROCEEDING"),
            &json!(true)
        )
    );
    assert!(read["policy_etag"].as_str().unwrap().len() > 10);
    assert!(
        read["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "gate" && !r["decided_by"].as_array().unwrap().is_empty()),
        "the gate's reason names the record that decided it: {read}"
    );
    let (status, ended) = end_step(
        &app,
        tenant,
        &run,
        1,
        json!({ "status": "done", "outcome": "classified as billing_dispute",
                "provider_kind": "openai", "model": "gpt-4o-mini",
                "connection_id": "pcn_1", "tokens_in": 380, "tokens_out": 42 }),
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(
        (&ended["status"], &ended["tokens_in"]),
        (&json!("DONE"), &json!(380))
    );

    // L1: a notification proceeds, and the operators are told.
    let (status, notify) = step(
        &app,
        tenant,
        &run,
        json!({ "step_key": "tell_customer", "action_class": "notify" }),
    )
    .await;
    assert_eq!(status, 201, "{notify}");
    assert_eq!(
        (&notify["gate"], &notify["decision"], &notify["proceed"]),
        (&json!("L1"), &json!("allow_and_notify"), &json!(true))
    );
    let (status, inbox) = app
        .get(
            &operator(tenant),
            &format!("{}/notifications", admin_base(tenant)),
        )
        .await;
    assert_eq!(status, 200, "{inbox}");
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{inbox}");
    assert_eq!(
        (&items[0]["run_id"], &items[0]["seq"]),
        (&json!(run), &json!(2))
    );
    // Notifications are for the roles named: not an approver's.
    let (_, theirs) = app
        .get(
            &approver(tenant, "ava@acme.example"),
            &format!("{}/notifications", admin_base(tenant)),
        )
        .await;
    assert_eq!(theirs["items"], json!([]));
    end_step(&app, tenant, &run, 2, json!({ "status": "done" })).await;

    // L2: a ticket update waits for an approver.
    let (status, credit) = step(&app, tenant, &run, credit_step()).await;
    assert_eq!(status, 201, "{credit}");
    assert_eq!(
        (&credit["gate"], &credit["status"], &credit["proceed"]),
        (&json!("L2"), &json!("WAITING_APPROVAL"), &json!(false))
    );
    assert_eq!(
        credit["support"]["recommendation"],
        "Approve: the customer was billed twice for March"
    );
    let request = credit["approval"]["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(credit["approval"]["requested_by"], "olivia@acme.example");
    // The run waits: no next step, and this one does not end before a decision.
    let (status, problem) = step(
        &app,
        tenant,
        &run,
        json!({ "step_key": "x", "action_class": "read" }),
    )
    .await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("invalid_transition")),
        "{problem}"
    );
    let (status, problem) = end_step(&app, tenant, &run, 3, json!({ "status": "done" })).await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("invalid_transition")),
        "{problem}"
    );
    let (_, waiting) = app
        .get(&runtime(), &format!("{}/{run}", runs(tenant)))
        .await;
    assert_eq!(waiting["status"], "WAITING_APPROVAL");

    // The inbox shows it with what the approver decides on.
    let ava = approver(tenant, "ava@acme.example");
    let (status, pending) = app
        .get(
            &ava,
            &format!("{}/approvals?status=PENDING", admin_base(tenant)),
        )
        .await;
    assert_eq!(status, 200, "{pending}");
    let items = pending["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            &items[0]["request_id"],
            &items[0]["run"]["subject"]["id"],
            &items[0]["step"]["support"]["risk"]
        ),
        (
            &json!(request),
            &json!("invoice-dispute-triage"),
            &json!("medium")
        )
    );
    let (status, decided) = app
        .post(
            &ava,
            &format!("{}/approvals/{request}/decision", admin_base(tenant)),
            json!({ "decision": "approve", "reason": "Billed twice: the credit is due" }),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(
        (&decided["status"], &decided["decided_by"]),
        (&json!("APPROVED"), &json!("ava@acme.example"))
    );
    let (_, polled) = app
        .get(&runtime(), &format!("{}/{run}/steps/3", runs(tenant)))
        .await;
    assert_eq!(
        (&polled["status"], &polled["proceed"]),
        (&json!("APPROVED"), &json!(true))
    );
    let (status, _) = end_step(
        &app,
        tenant,
        &run,
        3,
        json!({ "status": "rolled_back", "outcome": "the PSA refused the credit note",
                "rollback": "credit note CN-2207 voided" }),
    )
    .await;
    assert_eq!(status, 200);

    // L3: remote execution is a person's, with the AI's support attached.
    let (status, remote) = step(
        &app,
        tenant,
        &run,
        json!({ "step_key": "reset_mfa", "action_class": "remote_execution",
                "support": { "change": "Reset the user's MFA device", "risk": "high" } }),
    )
    .await;
    assert_eq!(status, 201, "{remote}");
    assert_eq!(
        (
            &remote["gate"],
            &remote["decision"],
            &remote["status"],
            &remote["proceed"]
        ),
        (
            &json!("L3"),
            &json!("human_only"),
            &json!("WAITING_HUMAN"),
            &json!(false)
        )
    );
    let (status, problem) = end_step(&app, tenant, &run, 4, json!({ "status": "done" })).await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("invalid_transition"))
    );
    // An approver does not do operations; an operator does.
    let done = format!("{}/runs/{run}/steps/4/done", admin_base(tenant));
    let note =
        json!({ "status": "done", "note": "Reset after a call-back to the user's desk phone" });
    let (status, _) = app.post(&ava, &done, note.clone()).await;
    assert_eq!(status, 403);
    let (status, human) = app.post(&operator(tenant), &done, note).await;
    assert_eq!(status, 200, "{human}");
    assert_eq!(
        (&human["status"], &human["ended_by"]),
        (&json!("DONE"), &json!("omar@acme.example"))
    );

    // Denied: a model the platform refuses never runs.
    let (status, denied) = step(
        &app,
        tenant,
        &run,
        json!({ "step_key": "summarize", "action_class": "read", "provider_kind": "openai",
                "model": "gpt-3.5-turbo" }),
    )
    .await;
    assert_eq!(status, 201, "{denied}");
    assert_eq!(
        (&denied["decision"], &denied["status"], &denied["proceed"]),
        (&json!("deny"), &json!("DENIED"), &json!(false))
    );

    let (status, ended) = app
        .post(
            &runtime(),
            &format!("{}/{run}/end", runs(tenant)),
            json!({ "status": "succeeded" }),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["status"], "SUCCEEDED");
    let statuses: Vec<&str> = ended["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["DONE", "DONE", "ROLLED_BACK", "DONE", "DENIED"]);

    // Every reader of the tenant sees the run in its list and detail.
    let (_, list) = app
        .get(
            &As::tenant(Role::Auditor, tenant),
            &format!("{}/runs?status=SUCCEEDED", admin_base(tenant)),
        )
        .await;
    assert_eq!(list["items"][0]["run_id"], json!(run));
    assert_eq!(list["items"][0]["step_count"], 5);

    // Events: one for every change of state.
    let types: Vec<String> = app.outbox().await.into_iter().map(|e| e.ce_type).collect();
    for (ty, n) in [
        ("plinth.run.started", 1),
        ("plinth.run.step_decided", 5),
        ("plinth.run.step_ended", 4),
        ("plinth.notification.created", 1),
        ("plinth.approval.requested", 1),
        ("plinth.approval.approved", 1),
        ("plinth.run.waiting", 2),
        ("plinth.run.resumed", 2),
        ("plinth.run.ended", 1),
    ] {
        assert_eq!(count_of(&types, ty), n, "{ty} in {types:?}");
    }

    // The audit trail, entry by entry: the trigger, the AI's analysis, each
    // gate's decision, who approved and when, the outcomes and the rollback.
    let trail: Vec<Value> = audits(&app, "ALLOWED")
        .await
        .into_iter()
        .filter(|a| a["resource_id"] == json!(run) || a["resource_id"] == json!(request))
        .collect();
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("run.start", "plinth-runtime"),
            ("run.step_decide", "plinth-runtime"),
            ("run.step_end", "plinth-runtime"),
            ("run.step_decide", "plinth-runtime"),
            ("run.step_end", "plinth-runtime"),
            ("run.step_decide", "plinth-runtime"),
            ("approval.decide", "ava@acme.example"),
            ("run.step_end", "plinth-runtime"),
            ("run.step_decide", "plinth-runtime"),
            ("run.human_step_done", "omar@acme.example"),
            ("run.step_decide", "plinth-runtime"),
            ("run.end", "plinth-runtime"),
        ]
    );
    let d = |i: usize, key: &str| trail[i]["details"][key].clone();
    assert_eq!(
        d(0, "trigger"),
        "psa T-10442 ticket.created billing_dispute P2"
    );
    assert_eq!(d(0, "workflow"), "invoice-dispute-triage@1.2.0");
    assert_eq!(d(0, "requested_by"), "olivia@acme.example");
    assert_eq!(
        (d(1, "gate"), d(1, "decision")),
        (json!("L0"), json!("allow"))
    );
    assert_eq!(
        (d(2, "status"), d(2, "tokens")),
        (json!("DONE"), json!("422"))
    );
    assert!(
        d(3, "notification_id")
            .as_str()
            .unwrap()
            .starts_with("ntf_")
    );
    assert_eq!(
        (
            d(5, "gate"),
            d(5, "decision"),
            d(5, "risk"),
            d(5, "confidence"),
            d(5, "approval_request")
        ),
        (
            json!("L2"),
            json!("require_approval"),
            json!("medium"),
            json!("0.82"),
            json!(request)
        )
    );
    assert_eq!(
        (d(6, "decision"), d(6, "requested_by"), d(6, "reason")),
        (
            json!("APPROVED"),
            json!("olivia@acme.example"),
            json!("Billed twice: the credit is due")
        )
    );
    assert_eq!(
        (d(7, "status"), d(7, "rollback")),
        (json!("ROLLED_BACK"), json!("credit note CN-2207 voided"))
    );
    assert_eq!((d(8, "gate"), d(8, "risk")), (json!("L3"), json!("high")));
    assert_eq!(d(9, "status"), "DONE");
    assert_eq!(d(10, "decision"), "deny");
    assert_eq!(d(11, "status"), "SUCCEEDED");
    for entry in &trail {
        assert_eq!(entry["tenant_id"], json!(tenant.to_string()), "{entry}");
    }
    // The refused attempts are in the trail too.
    let refused = audits(&app, "DENIED").await;
    assert!(
        refused
            .iter()
            .any(|a| a["action"] == "run.human_step_done" && a["actor"] == "ava@acme.example"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn racing_approvers_get_one_decision_and_nobody_else_decides() {
    let app = TestApp::spawn().await;
    let tenant = tenant_with(&app, "L0", "content").await;
    let other = app.tenant().await;
    let decision_of =
        |request: &str, t: TenantId| format!("{}/approvals/{request}/decision", admin_base(t));
    let approve = json!({ "decision": "approve", "reason": "fine" });

    for round in 0..3 {
        let run = start(&app, tenant).await;
        let (_, credit) = step(&app, tenant, &run, credit_step()).await;
        let request = credit["approval"]["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = decision_of(&request, tenant);

        if round == 0 {
            // The person the run acts for, even as an approver.
            let (status, problem) = app
                .post(
                    &approver(tenant, "olivia@acme.example"),
                    &path,
                    approve.clone(),
                )
                .await;
            assert_eq!(
                (status, &problem["code"]),
                (403, &json!("own_request")),
                "{problem}"
            );
            // Neither an operator, nor the platform team, nor the runtime.
            for who in [operator(tenant), As::platform_admin(), runtime()] {
                let (status, problem) = app.post(&who, &path, approve.clone()).await;
                assert_eq!(
                    (status, &problem["code"]),
                    (403, &json!("forbidden")),
                    "{problem}"
                );
            }
            // Another tenant's approver finds no such request, in either tenant.
            let stranger = approver(other, "sam@other.example");
            let (status, _) = app
                .post(&stranger, &decision_of(&request, other), approve.clone())
                .await;
            assert_eq!(status, 404);
            let (status, _) = app.post(&stranger, &path, approve.clone()).await;
            assert_eq!(status, 404);
            let (_, theirs) = app
                .get(&stranger, &format!("{}/approvals", admin_base(other)))
                .await;
            assert_eq!(theirs["items"], json!([]));
            // A bad decision changes nothing.
            let (status, _) = app
                .post(
                    &approver(tenant, "ava@acme.example"),
                    &path,
                    json!({ "decision": "maybe", "reason": "?" }),
                )
                .await;
            assert_eq!(status, 400);
        }

        let ava = approver(tenant, "ava@acme.example");
        let ben = approver(tenant, "ben@acme.example");
        let reject = json!({ "decision": "reject", "reason": "not without the contract" });
        let (a, b) = tokio::join!(
            app.post(&ava, &path, approve.clone()),
            app.post(&ben, &path, reject)
        );
        let mut answers = [a, b];
        answers.sort_by_key(|(status, _)| *status);
        assert_eq!(answers[0].0, 200, "{answers:?}");
        assert_eq!(
            (answers[1].0, &answers[1].1["code"]),
            (409, &json!("already_decided")),
            "{answers:?}"
        );
        let recorded = answers[0].1["status"].clone();
        assert_eq!(
            answers[1].1["decision"], recorded,
            "the loser is told what was decided"
        );
        let (_, run_now) = app
            .get(&ava, &format!("{}/runs/{run}", admin_base(tenant)))
            .await;
        assert_eq!(run_now["steps"][0]["approval"]["status"], recorded);
        assert_eq!(run_now["status"], "RUNNING");
    }
    let types: Vec<String> = app.outbox().await.into_iter().map(|e| e.ce_type).collect();
    assert_eq!(
        count_of(&types, "plinth.approval.approved") + count_of(&types, "plinth.approval.rejected"),
        3,
        "{types:?}"
    );
    let decided = audits(&app, "ALLOWED")
        .await
        .into_iter()
        .filter(|a| a["action"] == "approval.decide")
        .count();
    assert_eq!(decided, 3);
}

#[tokio::test]
async fn an_expired_request_counts_as_rejected_by_the_clock_the_test_moves() {
    let app = TestApp::spawn().await;
    let tenant = tenant_with(&app, "L0", "content").await;
    let run = start(&app, tenant).await;
    let mut body = credit_step();
    body["approval_expires_in"] = json!(600);
    let (_, credit) = step(&app, tenant, &run, body).await;
    let request = credit["approval"]["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let poll = format!("{}/{run}/steps/1", runs(tenant));

    // Just short of its expiry, it still waits.
    plinth_db::advance_clock(Duration::from_secs(590));
    let (_, polled) = app.get(&runtime(), &poll).await;
    assert_eq!(
        (&polled["status"], &polled["approval"]["status"]),
        (&json!("WAITING_APPROVAL"), &json!("PENDING"))
    );

    plinth_db::advance_clock(Duration::from_secs(11));
    let (_, polled) = app.get(&runtime(), &poll).await;
    assert_eq!(
        (
            &polled["status"],
            &polled["proceed"],
            &polled["approval"]["status"]
        ),
        (&json!("EXPIRED"), &json!(false), &json!("EXPIRED"))
    );
    assert_eq!(polled["ended_by"], "service:policy");
    let (status, problem) = app
        .post(
            &approver(tenant, "ava@acme.example"),
            &format!("{}/approvals/{request}/decision", admin_base(tenant)),
            json!({ "decision": "approve", "reason": "late" }),
        )
        .await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("approval_expired")),
        "{problem}"
    );
    // The run goes on (or ends) without the step.
    let (status, ended) = app
        .post(
            &runtime(),
            &format!("{}/{run}/end", runs(tenant)),
            json!({ "status": "failed" }),
        )
        .await;
    assert_eq!(
        (status, &ended["status"]),
        (200, &json!("FAILED")),
        "{ended}"
    );

    let expired = app.published("plinth.approval.expired", 1).await;
    assert_eq!(expired.len(), 1, "expired once, however often it was read");
    assert_eq!(expired[0]["occurred_by"], "service:policy");
    let trail = audits(&app, "ALLOWED").await;
    let entry = trail
        .iter()
        .find(|a| a["action"] == "approval.expire")
        .unwrap();
    assert_eq!(
        (&entry["actor"], &entry["resource_id"]),
        (&json!("service:policy"), &json!(request))
    );
}

#[tokio::test]
async fn the_workspace_tier_is_the_least_gate_and_metadata_only_keeps_no_text() {
    let app = TestApp::spawn().await;
    let tenant = tenant_with(&app, "L2", "metadata_only").await;
    let run = start(&app, tenant).await;
    // A read is L0 by policy, L2 by the workspace: the stricter wins.
    let (_, read) = step(
        &app,
        tenant,
        &run,
        json!({ "step_key": "classify", "action_class": "read",
                "support": { "change": "nothing: reads ticket T-10442's text", "recommendation": "secret plan", "risk": "low", "confidence": 0.9 } }),
    )
    .await;
    assert_eq!(
        (&read["gate"], &read["workspace_tier"], &read["decision"]),
        (&json!("L2"), &json!("L2"), &json!("require_approval"))
    );
    // Metadata only: the texts are not kept, the risk and confidence are.
    assert_eq!(
        read["support"],
        json!({ "change": null, "recommendation": null, "risk": "low", "confidence": 0.9, "withheld": true })
    );
    let db = app.db.owner_url();
    let stored = count_all_tenants(
        &db,
        "SELECT count(*) AS n FROM run_steps WHERE support::text LIKE '%secret plan%' OR support::text LIKE '%T-10442%'",
    )
    .await;
    assert_eq!(stored, 0);

    // The tier lowered: the next run's read is L0 again.
    app.workspace(
        tenant,
        WS,
        "L0",
        "metadata_only",
        "plinth.workspace.updated",
    )
    .await;
    let next = start(&app, tenant).await;
    let (_, read) = step(
        &app,
        tenant,
        &next,
        json!({ "step_key": "classify", "action_class": "read" }),
    )
    .await;
    assert_eq!(
        (&read["gate"], &read["status"]),
        (&json!("L0"), &json!("PROCEEDING"))
    );

    // The step's own gate (the workflow's) counts too: stricter, it wins;
    // looser, it lowers nothing.
    let (status, _) = end_step(&app, tenant, &next, 1, json!({ "status": "done" })).await;
    assert_eq!(status, 200);
    let (_, human) = step(
        &app,
        tenant,
        &next,
        json!({ "step_key": "check", "action_class": "read", "step_gate": "L3" }),
    )
    .await;
    assert_eq!(
        (&human["gate"], &human["decision"], &human["status"]),
        (&json!("L3"), &json!("human_only"), &json!("WAITING_HUMAN")),
        "{human}"
    );
    let third = start(&app, tenant).await;
    let (_, update) = step(
        &app,
        tenant,
        &third,
        json!({ "step_key": "credit", "action_class": "ticket_update", "step_gate": "L0" }),
    )
    .await;
    assert_eq!(
        (&update["gate"], &update["decision"]),
        (&json!("L2"), &json!("require_approval")),
        "{update}"
    );

    // A deleted workspace runs nothing new; an unknown one is not found.
    app.workspace(
        tenant,
        WS,
        "L0",
        "metadata_only",
        "plinth.workspace.deleted",
    )
    .await;
    let (status, problem) = app.post(&runtime(), &runs(tenant), run_body(WS)).await;
    assert_eq!(
        (status, &problem["code"]),
        (410, &json!("gone")),
        "{problem}"
    );
    let (status, _) = app
        .post(&runtime(), &runs(tenant), run_body("wsp_nowhere"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_reports_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let tenant = tenant_with(&app, "L0", "content").await;
    let other = app.tenant().await;
    let mut bad_runs = Vec::new();
    for (path, value) in [
        ("/subject/kind", json!("script")),
        ("/trigger/source", json!("Ticket Text")),
        ("/trigger/description", json!("the customer wrote: …")),
        ("/requested_by", json!("")),
        ("/config_version", json!("x".repeat(200))),
    ] {
        let mut body = run_body(WS);
        let (parent, key) = path.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            &mut body
        } else {
            body.pointer_mut(parent).unwrap()
        };
        target[key] = value;
        bad_runs.push(body);
    }
    for body in bad_runs {
        let (status, problem) = app.post(&runtime(), &runs(tenant), body.clone()).await;
        assert_eq!(status, 400, "{body} → {problem}");
    }
    // Only the runtime reports runs.
    let (status, _) = app
        .post(&operator(tenant), &runs(tenant), run_body(WS))
        .await;
    assert_eq!(status, 403);
    let db = app.db.owner_url();
    assert_eq!(
        count_all_tenants(&db, "SELECT count(*) AS n FROM runs").await,
        0
    );

    let run = start(&app, tenant).await;
    for body in [
        json!({ "step_key": "a", "action_class": "Ticket Update" }),
        json!({ "step_key": "a", "action_class": "read", "support": { "risk": "extreme" } }),
        json!({ "step_key": "a", "action_class": "read", "support": { "confidence": 1.5 } }),
        json!({ "step_key": "a", "action_class": "read", "approval_expires_in": 5 }),
        json!({ "step_key": "", "action_class": "read" }),
        json!({ "step_key": "a", "action_class": "read", "prompt": "…" }),
    ] {
        let (status, problem) = step(&app, tenant, &run, body.clone()).await;
        assert_eq!(status, 400, "{body} → {problem}");
    }
    assert_eq!(
        count_all_tenants(&db, "SELECT count(*) AS n FROM run_steps").await,
        0
    );
    // Another tenant's path finds no such run; a step number names a step or nothing.
    let (status, _) = step(
        &app,
        other,
        &run,
        json!({ "step_key": "a", "action_class": "read" }),
    )
    .await;
    assert_eq!(status, 404);
    for seq in ["0", "-1", "x", "1"] {
        let (status, _) = app
            .get(&runtime(), &format!("{}/{run}/steps/{seq}", runs(tenant)))
            .await;
        assert_eq!(status, 404, "step {seq}");
    }
    let (status, problem) = app
        .post(
            &runtime(),
            &format!("{}/{run}/end", runs(tenant)),
            json!({ "status": "done" }),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    // Ended, a run takes no step and no second end.
    app.post(
        &runtime(),
        &format!("{}/{run}/end", runs(tenant)),
        json!({ "status": "cancelled" }),
    )
    .await;
    let (status, problem) = step(
        &app,
        tenant,
        &run,
        json!({ "step_key": "a", "action_class": "read" }),
    )
    .await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("invalid_transition"))
    );
    let (status, _) = app
        .post(
            &runtime(),
            &format!("{}/{run}/end", runs(tenant)),
            json!({ "status": "failed" }),
        )
        .await;
    assert_eq!(status, 409);
}

/// On a deployment upgraded from a version that did not keep workspaces, the
/// projector's group has passed the workspaces the registry announced before:
/// the workspaces' consumer, a group of its own, reads them from the topic's start,
/// and a run there is gated by that workspace's tier.
#[tokio::test]
async fn workspaces_announced_before_the_upgrade_are_read_from_the_start() {
    let app = TestApp::spawn_with(json!({ "bus": { "consumers": false } })).await;
    let tenant = TenantId::new(plinth_core::Region::Us);
    app.announce_tenant(tenant).await;
    app.announce_workspace(tenant, WS, "L2", "metadata_only", CREATED)
        .await;
    app.pass_over_registry_events("projector").await;
    let upgraded = app
        .process_with(json!({ "bus": { "consumers": true } }))
        .await;

    let db = app.db.owner_url();
    let query = format!(
        "SELECT count(*) AS n FROM workspaces w JOIN tenants t USING (tenant_id) \
         WHERE w.workspace_id = '{WS}' AND w.tenant_id = '{tenant}' AND w.approval_tier = 'L2'"
    );
    plinth_testkit::wait_until(
        "the workspace announced before the upgrade",
        Duration::from_secs(60),
        || async { count_all_tenants(&db, &query).await == 1 },
    )
    .await;
    let (status, run) = upgraded
        .call(
            Some(&runtime()),
            reqwest::Method::POST,
            &runs(tenant),
            Some(run_body(WS)),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let run = run["run_id"].as_str().unwrap();
    let read = json!({ "step_key": "classify", "action_class": "read" });
    let (status, step) = upgraded
        .call(
            Some(&runtime()),
            reqwest::Method::POST,
            &format!("{}/{run}/steps", runs(tenant)),
            Some(read),
        )
        .await;
    assert_eq!(status, 201, "{step}");
    assert_eq!(
        (&step["gate"], &step["workspace_tier"]),
        (&json!("L2"), &json!("L2")),
        "{step}"
    );
}
