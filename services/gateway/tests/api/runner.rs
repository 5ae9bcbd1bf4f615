//! The reference runtime against the whole control plane, through the gateway
//! with real tokens: an operator's ticket, classified in Ops, becomes a run of the
//! playbook its category links; the runner reports each step, calls the tenant's
//! own AI provider with the key provider setup releases, stops at the L2 step
//! until the tenant's approver agrees (the operator may not), and completes the
//! run; every provider call is metered, and the policy service counts it.

use std::time::Duration;

use plinth_providers::ProviderKind;
use plinth_testkit::{Idp, wait_until};
use reqwest::Method;
use runner::{Outcome, Runner, Settings};
use serde_json::{Value, json};

use crate::packs::example;
use crate::policy::policy_sagas;
use crate::proxy::{Options, Stack, call_as as call, repo, stack_with};
use crate::runs::{active_tenant, wait_for_roles};

/// The key [`own_key`] enters.
pub const OWN_KEY: &str = "sk-test-good-RUNNER-7c1d";

/// The tenant's own OpenAI connection, its key entered through a delegated link
/// at the stack's gateway: the connection's id and the link's address.
pub async fn own_key(s: &Stack, admin: &str, tenant: &str) -> (String, String) {
    let providers = s.providers.clone().unwrap();
    let connections = format!("/admin/providers/tenants/{tenant}/connections");
    let created = std::sync::Mutex::new(Value::Null);
    wait_until(
        "provider setup to hear of the tenant",
        Duration::from_secs(60),
        || async {
            let (status, answer) = call(
                s,
                admin,
                Method::POST,
                &connections,
                Some(json!({
                    "name": "acme-openai", "kind": "openai", "base_url": providers.openai,
                    "default_model": "gpt-4o-mini", "note": "The tenant's own key"
                })),
            )
            .await;
            *created.lock().unwrap() = answer;
            status == 201
        },
    )
    .await;
    let created = created.into_inner().unwrap();
    let request = created["requests"][0]["request_id"].as_str().unwrap();
    let (status, minted) = call(
        s,
        admin,
        Method::POST,
        &format!("/admin/providers/tenants/{tenant}/setup-requests/{request}/links"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{minted}");
    let url = minted["url"].as_str().unwrap().to_owned();
    let token = url.split_once('#').unwrap().1;
    let (status, redeemed, _) = s
        .call(
            None,
            Method::POST,
            "/setup/api/redeem",
            Some(json!({ "token": token, "key": OWN_KEY })),
        )
        .await;
    assert_eq!(status, 200, "{redeemed}");
    (created["connection_id"].as_str().unwrap().to_owned(), url)
}

/// Passes of `runner` until one gives an outcome `done` accepts (a minute at
/// most); the outcomes of every pass.
pub async fn passes_until(runner: &mut Runner, done: impl Fn(&Outcome) -> bool) -> Vec<Outcome> {
    let held = tokio::sync::Mutex::new((runner, Vec::new()));
    wait_until("the runner's outcome", Duration::from_secs(60), || async {
        let mut held = held.lock().await;
        let outcomes = held.0.pass().await;
        let finished = outcomes.iter().any(&done);
        held.1.extend(outcomes);
        finished
    })
    .await;
    held.into_inner().1
}

/// What [`ready_to_run`] set up.
pub struct Ready {
    pub acme: String,
    /// Another tenant, whose approver has a role there and none in acme.
    pub globex: String,
    /// acme's workspace at L0, where the runner runs its tickets.
    pub workspace: String,
}

/// Two ACTIVE tenants with their people's roles; acme runs Finance 3.2.0 with
/// `playbook` (a Finance one) published and linked (the stack approved the example modules),
/// has its own OpenAI key, and a workspace at L0 its administrator created.
pub async fn ready_to_run(s: &Stack, idp: &Idp, admin: &str, playbook: Value) -> Ready {
    let acme = active_tenant(
        s,
        admin,
        "runnerco",
        &[
            ("acme-workspace-admins", "WorkspaceAdmin"),
            ("acme-operators", "Operator"),
            ("acme-approvers", "Approver"),
        ],
    )
    .await;
    let globex = active_tenant(s, admin, "strangerco", &[("globex-approvers", "Approver")]).await;
    for (user, tenant, role) in [
        ("acme-admin", &acme, "WorkspaceAdmin"),
        ("acme-operator", &acme, "Operator"),
        ("acme-approver", &acme, "Approver"),
        ("globex-approver", &globex, "Approver"),
    ] {
        let token = idp.access_token(user).await;
        wait_for_roles(s, &token, tenant, json!([role])).await;
    }
    let acme_admin = idp.access_token("acme-admin").await;
    s.wait_for_pack_service(admin, &acme).await;
    let link = json!({ "playbook": playbook["id"], "version": playbook["version"] });
    for (path, body) in [
        // The playbook Finance 3.2.0 names, then the one to link.
        (
            "/admin/playbooks".to_owned(),
            example("playbook-invoice-dispute-triage-1.1.0.json"),
        ),
        ("/admin/playbooks".to_owned(), playbook),
        (
            "/admin/packs/domain/import".to_owned(),
            example("finance-3.2.0.json"),
        ),
        (
            "/admin/packs/activate".to_owned(),
            json!({ "tenant_id": acme, "domain": "finance", "domain_pack_version": "3.2.0" }),
        ),
        (format!("/admin/packs/tenant/{acme}/playbooks"), link),
    ] {
        let (status, answer) = call(s, admin, Method::POST, &path, Some(body)).await;
        assert!(status == 200 || status == 201, "{path}: {status} {answer}");
    }
    own_key(s, admin, &acme).await;
    let (status, workspace) = call(
        s,
        &acme_admin,
        Method::POST,
        &format!("/admin/tenants/{acme}/workspaces"),
        Some(json!({ "name": "Accounts payable", "approval_tier": "L0" })),
    )
    .await;
    assert_eq!(status, 201, "{workspace}");
    Ready {
        acme,
        globex,
        workspace: workspace["workspace_id"].as_str().unwrap().to_owned(),
    }
}

/// A runner serving `ready`'s acme through the stack's gateway, metering on the
/// stack's topics.
pub fn runner_for(s: &Stack, idp: &Idp, ready: &Ready) -> Runner {
    Runner::new(
        Settings::with_overrides(json!({
            "gateway_url": s.gateway, "issuer": idp.issuer, "poll_interval_ms": 200,
            "modules_dir": repo().join("examples/modules"),
            "tenants": [{ "tenant_id": ready.acme, "workspace_id": ready.workspace }],
            "bus": plinth_testkit::test_bus_settings(&s.prefix, json!({ "partitions": 1 }))
        }))
        .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn an_ops_ticket_runs_its_playbook_waits_for_the_approver_and_completes() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            packs: true,
            providers: true,
            policy: true,
            registry: policy_sagas(),
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let ready = ready_to_run(
        &s,
        &idp,
        &admin,
        example("playbook-invoice-dispute-triage-1.1.0.json"),
    )
    .await;
    let acme = ready.acme.clone();
    let operator = idp.access_token("acme-operator").await;
    let approver = idp.access_token("acme-approver").await;
    let mut runner = runner_for(&s, &idp, &ready);
    assert_eq!(runner.pass().await, vec![], "nothing classified yet");

    // Ops: the operator submits a ticket.
    let (status, classified) = call(
        &s,
        &operator,
        Method::POST,
        &format!("/runtime/tenants/{acme}/classify"),
        Some(json!({ "ticket": { "id": "AP-2207", "fields": {
            "subject": "Invoice 4411 charged twice", "channel": "portal", "amount": 1250
        } } })),
    )
    .await;
    assert_eq!(status, 200, "{classified}");
    assert_eq!(classified["category"], "billing-dispute");

    // The lookup (L0) and the acknowledgement (L1) run; the credit waits. Until
    // the policy service knows the workspace, a pass fails and is tried again.
    let calls_before = s.providers.as_ref().unwrap().calls(ProviderKind::OpenAi);
    let outcomes = passes_until(&mut runner, |o| matches!(o, Outcome::Waiting { .. })).await;
    let Some(Outcome::Waiting { run_id, seq, .. }) = outcomes.last().cloned() else {
        panic!("{outcomes:?}");
    };
    assert_eq!(seq, 3, "{outcomes:?}");
    let detail = format!("/admin/policies/tenants/{acme}/runs/{run_id}");
    let (status, run) = call(&s, &operator, Method::GET, &detail, None).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "WAITING_APPROVAL");
    assert_eq!(
        (&run["trigger"]["ticket_id"], &run["requested_by"]),
        (&json!("AP-2207"), &json!("acme-operator"))
    );
    let steps = run["steps"].as_array().unwrap();
    let summary: Vec<(&Value, &Value, &Value)> = steps
        .iter()
        .map(|s| (&s["step_key"], &s["gate"], &s["status"]))
        .collect();
    assert_eq!(
        summary,
        vec![
            (&json!("lookup"), &json!("L0"), &json!("DONE")),
            (&json!("acknowledge"), &json!("L1"), &json!("DONE")),
            (&json!("credit"), &json!("L2"), &json!("WAITING_APPROVAL")),
        ]
    );
    for step in &steps[..2] {
        assert_eq!(
            (&step["provider_kind"], &step["model"]),
            (&json!("openai"), &json!("gpt-4o-mini"))
        );
        assert!(step["tokens_in"].as_i64().unwrap() > 0, "{step}");
        assert!(step["connection_id"].is_string(), "{step}");
    }
    assert_eq!(
        s.providers.as_ref().unwrap().calls(ProviderKind::OpenAi),
        calls_before + 2,
        "one provider call a step that ran"
    );
    // Waiting, it stays waiting however often the runner looks.
    assert!(matches!(
        runner.pass().await.as_slice(),
        [Outcome::Waiting { seq: 3, .. }]
    ));

    // The operator who submitted the ticket may not approve; the approver does.
    let request = steps[2]["approval"]["request_id"].as_str().unwrap();
    let decide = format!("/admin/policies/tenants/{acme}/approvals/{request}/decision");
    let approve = json!({ "decision": "approve", "reason": "Billed twice for March" });
    let (status, refused) = call(&s, &operator, Method::POST, &decide, Some(approve.clone())).await;
    assert_eq!(status, 403, "{refused}");
    let (status, decided) = call(&s, &approver, Method::POST, &decide, Some(approve)).await;
    assert_eq!(status, 200, "{decided}");

    let outcomes = passes_until(&mut runner, |o| matches!(o, Outcome::Ended { .. })).await;
    assert_eq!(
        outcomes.last(),
        Some(&Outcome::Ended {
            tenant: acme.clone(),
            run_id: run_id.clone(),
            status: "SUCCEEDED".to_owned()
        })
    );
    let (_, run) = call(&s, &operator, Method::GET, &detail, None).await;
    assert_eq!(run["status"], "SUCCEEDED");
    let credit = &run["steps"][2];
    assert_eq!(
        (
            &credit["status"],
            &credit["approval"]["decided_by"],
            &credit["provider_kind"]
        ),
        (&json!("DONE"), &json!("acme-approver"), &json!("openai"))
    );
    assert_eq!(
        s.providers.as_ref().unwrap().calls(ProviderKind::OpenAi),
        calls_before + 3
    );
    assert_eq!(runner.pass().await, vec![], "the run is over");

    // Every provider call metered once: the policy service counts what the
    // steps report.
    let steps = run["steps"].as_array().unwrap();
    let spent = |field: &str| {
        steps
            .iter()
            .map(|s| s[field].as_i64().unwrap())
            .sum::<i64>()
    };
    let (tokens_in, tokens_out) = (spent("tokens_in"), spent("tokens_out"));
    assert!(tokens_in > 0 && tokens_out > 0);
    let usage = format!("/admin/policies/tenants/{acme}/usage");
    wait_until(
        "the policy service to count the runner's usage",
        Duration::from_secs(60),
        || async {
            let (status, view) = call(&s, &admin, Method::GET, &usage, None).await;
            status == 200 && view["tokens_in"] == tokens_in && view["tokens_out"] == tokens_out
        },
    )
    .await;
    // The metering events, as a partner reads them (fastavro included): one a
    // provider call.
    let read = crate::partner::decode_every_event(
        &s.prefix,
        &[plinth_bus::Area::Metering],
        &["plinth.metering.usage_recorded"],
    );
    assert_eq!(read["plinth.metering.usage_recorded"], 3, "{read:?}");
}
