//! A run through the gateway with real tokens from the identity provider: the
//! runtime (client credentials) reports a run in a workspace the tenant's
//! administrator created through the registry; a step the policy gates at L2
//! waits for an approver; the person the run acts for cannot approve it, even
//! as an approver, an operator cannot, and another tenant's approver neither
//! sees nor decides it; the tenant's approver approves, and the run completes.

use std::time::Duration;

use plinth_bus::Area;
use reqwest::Method;
use serde_json::{Value, json};

use crate::policy::policy_sagas;
use crate::proxy::{Options, Stack, call_as as call, stack_with};
use plinth_testkit::{Idp, wait_until};

/// An ACTIVE tenant `slug` with `groups` mapped to roles.
pub async fn active_tenant(s: &Stack, admin: &str, slug: &str, groups: &[(&str, &str)]) -> String {
    let tenant = s.register(admin, slug).await;
    s.entitle(admin, &tenant, &[]).await;
    let (status, body) = call(
        s,
        admin,
        Method::POST,
        &format!("/admin/tenants/{tenant}/onboarding"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    s.wait_for_status(admin, &tenant, "ACTIVE").await;
    for (group, role) in groups {
        let (status, body) = call(
            s,
            admin,
            Method::POST,
            &format!("/admin/tenants/{tenant}/group-mappings"),
            Some(json!({ "idp_group": group, "role": role })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    tenant
}

/// Waits until `user` holds exactly `roles` in `tenant` at the gateway.
pub async fn wait_for_roles(s: &Stack, token: &str, tenant: &str, roles: Value) {
    wait_until(
        "the person's roles at the gateway",
        Duration::from_secs(60),
        || async {
            let (_, answer) = call(
                s,
                token,
                Method::GET,
                &format!("/auth/permissions?tenant_id={tenant}"),
                None,
            )
            .await;
            answer["roles"] == roles
        },
    )
    .await;
}

/// What [`waiting_run`] set up: two ACTIVE tenants with their people's roles,
/// and a run of the first waiting at an L2 step for an approver.
pub struct Waiting {
    pub acme: String,
    pub globex: String,
    /// `/runtime/policy/tenants/{acme}/runs`.
    pub runs: String,
    pub run: String,
    pub request: String,
}

/// Two tenants onboarded (the first with its administrators, operators and
/// approvers; the second with its approvers), a workspace at L0 created by the
/// first's administrator through the registry, and a run the runtime reports
/// there whose ticket update the baseline gates at L2.
pub async fn waiting_run(s: &Stack, idp: &Idp, admin: &str) -> Waiting {
    let runtime = idp.runtime_token().await;
    let acme = active_tenant(
        s,
        admin,
        "runco",
        &[
            ("acme-workspace-admins", "WorkspaceAdmin"),
            ("acme-operators", "Operator"),
            ("acme-approvers", "Approver"),
        ],
    )
    .await;
    let globex = active_tenant(s, admin, "otherco", &[("globex-approvers", "Approver")]).await;
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

    // The tenant's administrator creates a workspace at L0 through the
    // registry; the policy service learns its tier from the registry's event.
    let (status, workspace) = call(
        s,
        &acme_admin,
        Method::POST,
        &format!("/admin/tenants/{acme}/workspaces"),
        Some(json!({ "name": "Service desk", "approval_tier": "L0" })),
    )
    .await;
    assert_eq!(status, 201, "{workspace}");
    let workspace = workspace["workspace_id"].as_str().unwrap().to_owned();
    let runs = format!("/runtime/policy/tenants/{acme}/runs");
    let body = json!({
        "workspace_id": workspace,
        "subject": { "kind": "playbook", "id": "invoice-dispute-triage", "version": "1.0.0" },
        "trigger": { "source": "ops", "ticket_id": "T-77", "category": "billing_dispute" },
        "requested_by": "acme-operator"
    });
    // The registry's event may still be on its way: the run is refused as of
    // an unknown workspace until it lands.
    let started = std::sync::Mutex::new(Value::Null);
    wait_until(
        "the policy service to know the workspace",
        Duration::from_secs(60),
        || async {
            let (status, answer) = call(s, &runtime, Method::POST, &runs, Some(body.clone())).await;
            assert!(status == 201 || status == 404, "{status} {answer}");
            *started.lock().unwrap() = answer;
            status == 201
        },
    )
    .await;
    let run = started.into_inner().unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // L0 by the workspace, L2 by the baseline for a ticket update.
    let (status, credit) = call(
        s,
        &runtime,
        Method::POST,
        &format!("{runs}/{run}/steps"),
        Some(json!({
            "step_key": "issue_credit", "action_class": "ticket_update",
            "support": { "risk": "medium", "confidence": 0.8 }
        })),
    )
    .await;
    assert_eq!(status, 201, "{credit}");
    assert_eq!(
        (
            &credit["gate"],
            &credit["workspace_tier"],
            &credit["status"]
        ),
        (&json!("L2"), &json!("L0"), &json!("WAITING_APPROVAL"))
    );
    let request = credit["approval"]["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    Waiting {
        acme,
        globex,
        runs,
        run,
        request,
    }
}

#[tokio::test]
async fn a_step_at_l2_waits_for_the_tenants_approver_and_nobody_else_decides_it() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            policy: true,
            registry: policy_sagas(),
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let Waiting {
        acme,
        globex,
        runs,
        run,
        request,
    } = waiting_run(&s, &idp, &admin).await;
    let runtime = idp.runtime_token().await;
    let operator = idp.access_token("acme-operator").await;
    let approver = idp.access_token("acme-approver").await;
    let stranger = idp.access_token("globex-approver").await;
    let decide = format!("/admin/policies/tenants/{acme}/approvals/{request}/decision");
    let approve = json!({ "decision": "approve", "reason": "within the contract's terms" });

    // An operator does not decide; nor does the platform team.
    for token in [&operator, &admin] {
        let (status, problem) = call(&s, token, Method::POST, &decide, Some(approve.clone())).await;
        assert_eq!(
            (status, &problem["code"]),
            (403, &json!("forbidden")),
            "{problem}"
        );
    }
    // Another tenant's approver neither sees the request nor decides it.
    let (status, _) = call(
        &s,
        &stranger,
        Method::GET,
        &format!("/admin/policies/tenants/{acme}/approvals"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(&s, &stranger, Method::POST, &decide, Some(approve.clone())).await;
    assert_eq!(status, 403);
    let (status, theirs) = call(
        &s,
        &stranger,
        Method::GET,
        &format!("/admin/policies/tenants/{globex}/approvals"),
        None,
    )
    .await;
    assert_eq!((status, &theirs["items"]), (200, &json!([])), "{theirs}");
    // The person the run acts for, made an approver too, still cannot.
    let (status, body) = call(
        &s,
        &admin,
        Method::POST,
        &format!("/admin/tenants/{acme}/role-bindings"),
        Some(json!({ "subject": "acme-operator", "role": "Approver" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    wait_for_roles(&s, &operator, &acme, json!(["Approver", "Operator"])).await;
    let (status, problem) = call(&s, &operator, Method::POST, &decide, Some(approve.clone())).await;
    assert_eq!(
        (status, &problem["code"]),
        (403, &json!("own_request")),
        "{problem}"
    );

    // The approver's inbox shows it; the approval releases the step.
    let (status, inbox) = call(
        &s,
        &approver,
        Method::GET,
        &format!("/admin/policies/tenants/{acme}/approvals?status=PENDING"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{inbox}");
    assert_eq!(inbox["items"][0]["request_id"], json!(request), "{inbox}");
    let (status, decided) = call(&s, &approver, Method::POST, &decide, Some(approve.clone())).await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["decided_by"], "acme-approver");
    let (status, again) = call(&s, &approver, Method::POST, &decide, Some(approve)).await;
    assert_eq!(
        (status, &again["code"]),
        (409, &json!("already_decided")),
        "{again}"
    );
    let (_, polled) = call(
        &s,
        &runtime,
        Method::GET,
        &format!("{runs}/{run}/steps/1"),
        None,
    )
    .await;
    assert_eq!(
        (&polled["status"], &polled["proceed"]),
        (&json!("APPROVED"), &json!(true))
    );
    let (status, _) = call(
        &s,
        &runtime,
        Method::POST,
        &format!("{runs}/{run}/steps/1/end"),
        Some(json!({ "status": "done", "outcome": "credit note issued" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, ended) = call(
        &s,
        &runtime,
        Method::POST,
        &format!("{runs}/{run}/end"),
        Some(json!({ "status": "succeeded" })),
    )
    .await;
    assert_eq!(
        (status, &ended["status"]),
        (200, &json!("SUCCEEDED")),
        "{ended}"
    );

    // Every role of the tenant reads the run, with who approved and when; the
    // other tenant's people do not.
    let (status, detail) = call(
        &s,
        &operator,
        Method::GET,
        &format!("/admin/policies/tenants/{acme}/runs/{run}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["steps"][0]["approval"]["decided_by"],
        "acme-approver"
    );
    assert!(detail["steps"][0]["approval"]["decided_at"].is_string());
    let (status, _) = call(
        &s,
        &stranger,
        Method::GET,
        &format!("/admin/policies/tenants/{acme}/runs/{run}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (_, none) = call(
        &s,
        &stranger,
        Method::GET,
        &format!("/admin/policies/tenants/{globex}/runs/{run}"),
        None,
    )
    .await;
    assert_eq!(none["code"], "not_found");

    // The run's story, read back as a partner would (fastavro included).
    let read = crate::partner::decode_every_event(
        &s.prefix,
        &[Area::Policy],
        &[
            "plinth.run.started",
            "plinth.run.step_decided",
            "plinth.approval.requested",
            "plinth.run.waiting",
            "plinth.approval.approved",
            "plinth.run.resumed",
            "plinth.run.step_ended",
            "plinth.run.ended",
        ],
    );
    println!("events read as a partner: {read:?}");
    for ty in [
        "plinth.run.step_decided",
        "plinth.approval.approved",
        "plinth.run.ended",
    ] {
        assert_eq!(read[ty], 1, "{ty}: {read:?}");
    }
}
