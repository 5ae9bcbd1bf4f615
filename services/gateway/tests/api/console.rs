//! The admin console (`console/`, built by `make test` before the tests) in a
//! real browser (the distribution's Chromium, driven by the scripts of
//! `deploy/dev/browser/`), served by the gateway in front of the real services:
//! the overview and the tenants, the seed's demo end to end, each role's
//! controls, an approval in two sessions, the module catalog from trust to a
//! tenant's cleanup, and accessibility on every screen.

use std::path::PathBuf;
use std::time::Duration;

use plinth_testkit::Idp;
use plinth_testkit::idp::{CLIENT_SECRET, free_port};
use reqwest::Method;
use serde_json::{Value, json};

use crate::proxy::{Options, Stack, stack_with};

/// Runs `script` of `deploy/dev/browser/` with `args` in Chromium: what it saw.
async fn browse(script: &str, args: &[&str]) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/dev/browser");
    let run = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser finishes within three minutes")
        .expect("node runs the browser script (make test installs Chromium and playwright-core)");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Which services run behind the gateway besides the tenant registry.
struct Services {
    audit: bool,
    packs: bool,
}

/// A gateway serving the built console, its identity provider, and the stack.
struct Console {
    gateway: String,
    idp: Idp,
    s: Stack,
}

async fn console(services: Services) -> Console {
    console_with(Options {
        audit: services.audit,
        packs: services.packs,
        ..Options::default()
    })
    .await
}

/// The console in front of the stack `options` describe (its port and the
/// gateway's login and console settings are the console's).
async fn console_with(options: Options) -> Console {
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../console/dist");
    assert!(
        built.join("index.html").exists(),
        "the console is not built: `npm run build` in console/ (make test does)"
    );
    let port = free_port();
    let gateway = format!("http://127.0.0.1:{port}");
    let idp = Idp::start_for_gateway(&gateway).await;
    let s = stack_with(
        &idp,
        Options {
            port,
            gateway: json!({
                "login": { "client_secret": CLIENT_SECRET },
                "console_dir": built.to_string_lossy(),
            }),
            ..options
        },
    )
    .await;
    Console { gateway, idp, s }
}

/// The platform's side of the demo, published: the playbook and Finance 3.2.0.
fn finance_published() -> Vec<(String, Value)> {
    vec![
        (
            "/admin/playbooks".to_owned(),
            example("playbook-invoice-dispute-triage-1.0.0.json"),
        ),
        (
            "/admin/packs/domain/import".to_owned(),
            example("finance-3.2.0.json"),
        ),
    ]
}

/// Makes each `POST` (path, body) as `token`; each must succeed.
async fn post_all(s: &Stack, token: &str, calls: Vec<(String, Value)>) {
    for (path, body) in calls {
        let (status, answer, _) = s.call(Some(token), Method::POST, &path, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {answer}");
    }
}

/// Waits until `user` acts with exactly `roles` in `tenant` at the gateway.
async fn wait_for_roles(s: &Stack, idp: &Idp, user: &str, tenant: &str, roles: Value) {
    let token = idp.access_token(user).await;
    plinth_testkit::wait_until(
        "the person's roles at the gateway",
        Duration::from_secs(60),
        || async {
            let (_, answer, _) = s
                .call(
                    Some(&token),
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

/// The example packs and playbook as the demo imports them.
fn example(name: &str) -> Value {
    crate::packs::example(name)
}

/// The admin console (`console/`, built by `make test` before the tests) in a
/// real browser, served by the gateway at `/`: signed out it offers the
/// sign-in; signed in, the overview counts the tenants by status and region and
/// shows every service's readiness, and the tenants screen lists them.
#[tokio::test]
async fn the_console_shows_the_overview_and_the_tenants_in_a_browser() {
    let Console { gateway, idp, s } = console(Services {
        audit: true,
        packs: true,
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    s.register(&admin, "acme").await;
    s.register(&admin, "globex").await;

    // Each step's screenshot is kept with the test's artifacts.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let seen = browse(
        "console.mjs",
        &[&gateway, "msp-admin", &shots.to_string_lossy()],
    )
    .await;
    assert_eq!(seen["who"], "admin@msp.example", "{seen}");
    assert_eq!(
        seen["tenant_counts"],
        json!([["PENDING · us", 2]]),
        "{seen}"
    );
    let readiness: Vec<&str> = seen["readiness"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(readiness.contains(&"gateway: ready"), "{seen}");
    assert!(readiness.contains(&"tenant-registry: ready"), "{seen}");
    assert!(readiness.contains(&"audit: ready"), "{seen}");
    let mut tenants: Vec<&str> = seen["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    tenants.sort();
    assert_eq!(tenants, ["acme", "globex"], "{seen}");
    assert_eq!(seen["url"], format!("{gateway}/tenants"), "{seen}");

    // The guided registration: the slug suggested from the name, a bad one
    // refused inline before anything is sent, the choices reviewed.
    assert_eq!(seen["suggested_slug"], "initech-europe", "{seen}");
    assert!(
        seen["slug_problem"].as_str().unwrap().contains("3 to 40"),
        "{seen}"
    );
    assert!(
        seen["review"]
            .as_array()
            .unwrap()
            .contains(&json!("hybrid")),
        "{seen}"
    );
    // The registered tenant opens selected.
    let selected = seen["selected"].as_str().unwrap();
    assert!(
        selected.contains("Initech Europe") && selected.contains("PENDING"),
        "{seen}"
    );
    let tenant_id = seen["tenant_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    // The dialog takes the keyboard: focus on its first control, Escape gives
    // it back to the button.
    assert_eq!(seen["dialog_focus"], "Cancel", "{seen}");
    assert_eq!(seen["focus_after_escape"], "Request activation", "{seen}");
    let checklist = seen["checklist"].as_array().unwrap();
    assert!(
        checklist.contains(&json!(["owner_contact_confirmed", "operator", "pending"])),
        "{seen}"
    );
    assert_eq!(seen["confirmed"][2], "satisfied", "{seen}");
    assert_eq!(seen["mapping"][0], "initech-operators", "{seen}");
    assert_eq!(seen["mapping"][1], "Operator", "{seen}");
    // What the browser did, the API shows.
    let (status, tenant, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/tenants/{tenant_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["slug"], "initech");
    assert_eq!(tenant["deployment_model"], "hybrid");
    assert_eq!(tenant["status"], "ONBOARDING");
    let (_, mappings, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/tenants/{tenant_id}/group-mappings"),
            None,
        )
        .await;
    assert_eq!(mappings["items"][0]["principal"], "initech-operators");
    // The audit trail in the browser: the entry proved there, the chain held,
    // both exports downloaded, the filter applied.
    assert!(
        seen["entry_check"]
            .as_str()
            .unwrap()
            .starts_with("Checked in this browser: the entry is in the log of"),
        "{seen}"
    );
    let (_, entry, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/audit/logs/{tenant_id}/entries/0"),
            None,
        )
        .await;
    assert!(
        seen["entry_leaf"]
            .as_str()
            .unwrap()
            .starts_with(entry["leaf_hash"].as_str().unwrap()),
        "{seen} {entry}"
    );
    assert!(
        seen["verdict"]
            .as_str()
            .unwrap()
            .starts_with("The chain holds"),
        "{seen}"
    );
    assert!(seen["jsonl_lines"].as_u64().unwrap() >= 2, "{seen}");
    assert_eq!(seen["oscal_keys"], json!(["assessment-results"]), "{seen}");
    assert!(
        seen["actions"].as_array().unwrap().len() > seen["filtered"].as_array().unwrap().len(),
        "{seen}"
    );
    assert_eq!(seen["filtered"], json!(["tenant.create"]), "{seen}");
    let taken = std::fs::read_dir(&shots).unwrap().count();
    assert!(taken >= 10, "{taken} screenshots in {}", shots.display());

    // The workspace made in the browser, with the tier it was given.
    assert_eq!(seen["content_disabled"], true, "{seen}");
    assert_eq!(seen["workspace"][0], "Service desk", "{seen}");
    assert_eq!(seen["workspace"][1], "metadata_only", "{seen}");
    assert_eq!(seen["workspace"][2], "30 days", "{seen}");
    assert_eq!(seen["workspace"][4], "L3", "{seen}");
    assert_eq!(seen["onboarding_tenants"], json!(["initech"]), "{seen}");
    // A tenant of the other region opens in that region's console.
    assert_eq!(seen["elsewhere"], "This tenant lives in EU", "{seen}");
    assert_eq!(
        seen["elsewhere_link"],
        "https://eu.plinth.example/tenants/ten_eu_0123456789abcdef0123456789abcdef",
        "{seen}"
    );
    // Signed out, the console offers the sign-in again, and the session is over.
    assert_eq!(seen["signed_out"], true, "{seen}");
}

/// What the gateway serves of the console: its page for a browser's page of any
/// path no service routes, its scripts under `/assets/`, each with a strict
/// content security policy; an API client's request is never answered with a
/// page.
#[tokio::test]
async fn the_console_is_served_to_browsers_and_never_to_api_clients() {
    let Console {
        gateway,
        idp: _idp,
        s: _s,
    } = console(Services {
        audit: false,
        packs: false,
    })
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str, accept: &str| {
        client
            .get(format!("{gateway}{path}"))
            .header("accept", accept)
            .send()
    };
    let html = "text/html,application/xhtml+xml,*/*;q=0.8";
    let mut script = None;
    for path in [
        "/",
        "/tenants",
        "/tenants/ten_us_0123/packs",
        "/no-such-screen",
    ] {
        let page = get(path, html).await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        let body = page.text().await.unwrap();
        assert!(body.contains("<div id=\"root\">"), "{path}");
        script = body
            .split("src=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned);
    }
    let script = script.expect("the page names its script");
    assert!(script.starts_with("/assets/"), "{script}");
    let js = get(&script, "*/*").await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(js.headers().contains_key("content-security-policy"));
    // A service's path is the service's, even for a browser; anything else an
    // API client asks for is not found, as a problem.
    let api = get("/admin/tenants", html).await.unwrap();
    assert_eq!(api.status(), 401);
    let unknown = get("/no-such-screen", "application/json").await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.headers()["content-type"],
        "application/problem+json"
    );
    let posted = client
        .post(format!("{gateway}/tenants"))
        .header("accept", html)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 404);
}

/// As each demo role, the console shows exactly the controls the permission
/// table (`libs/authz`) allows that role, screen by screen; a read-only role sees
/// none, and a write it forces through the API is refused.
#[tokio::test]
async fn every_role_sees_exactly_the_controls_the_table_allows() {
    use plinth_authz::{Action, Resource, allows};
    use plinth_core::Role;

    let Console { gateway, idp, s } = console_with(Options {
        packs: true,
        providers: true,
        policy: true,
        ..Options::default()
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let acme = s.register(&admin, "acme").await;
    s.wait_for_pack_service(&admin, &acme).await;
    tenant_policy_draft(&s, &admin, &acme).await;
    let people = [
        ("acme-admin", "acme-workspace-admins", Role::WorkspaceAdmin),
        ("acme-operator", "acme-operators", Role::Operator),
        ("acme-approver", "acme-approvers", Role::Approver),
        ("acme-auditor", "acme-auditors", Role::Auditor),
        (
            "acme-integrations",
            "acme-integration-admins",
            Role::IntegrationAdmin,
        ),
    ];
    // Something on every screen: a checklist with manual items, a workspace,
    // group mappings, Finance 3.2.0 active with the playbook linked, 3.3.0 and
    // the Tenant Pack imported but not active.
    let mut setup = finance_published();
    setup.extend([
        (format!("/admin/tenants/{acme}/onboarding"), json!({})),
        (
            format!("/admin/tenants/{acme}/workspaces"),
            json!({ "name": "Desk" }),
        ),
        (
            "/admin/packs/domain/import".to_owned(),
            example("finance-3.3.0.json"),
        ),
        (
            "/admin/packs/tenant/import".to_owned(),
            json!({ "tenant_id": acme, "pack": example("acme-finance-1.4.0.json") }),
        ),
        (
            "/admin/packs/activate".to_owned(),
            json!({ "tenant_id": acme, "domain": "finance", "domain_pack_version": "3.2.0" }),
        ),
        (
            format!("/admin/packs/tenant/{acme}/playbooks"),
            json!({ "playbook": "invoice-dispute-triage", "version": "1.0.0" }),
        ),
    ]);
    for (_, group, role) in people {
        setup.push((
            format!("/admin/tenants/{acme}/group-mappings"),
            json!({ "idp_group": group, "role": role.as_str() }),
        ));
    }
    post_all(&s, &admin, setup).await;
    for (user, _, role) in people {
        wait_for_roles(&s, &idp, user, &acme, json!([role.as_str()])).await;
    }
    // A provider connection and a connector, each with its open setup request.
    let (connection, connector) = provider_setup_pending(&s, &idp, &admin, &acme).await;

    // Each write control of each screen, and what it needs.
    let mut controls: Vec<(&str, String, Resource, Action)> = vec![
        (
            "tenants",
            "Register tenant workspace".into(),
            Resource::Tenant,
            Action::Create,
        ),
        (
            "tenant",
            "Confirm owner_contact_confirmed".into(),
            Resource::Onboarding,
            Action::Update,
        ),
        (
            "tenant",
            "Confirm sso_mapping".into(),
            Resource::Onboarding,
            Action::Update,
        ),
        (
            "tenant",
            "Change entitlements".into(),
            Resource::Entitlement,
            Action::Update,
        ),
        (
            "workspaces",
            "Create workspace".into(),
            Resource::Workspace,
            Action::Create,
        ),
        (
            "workspaces",
            "Edit Desk".into(),
            Resource::Workspace,
            Action::Update,
        ),
        (
            "access",
            "Add".into(),
            Resource::RoleBinding,
            Action::Create,
        ),
        (
            "access",
            "Add".into(),
            Resource::GroupMapping,
            Action::Create,
        ),
    ];
    let packs_controls: [(&str, &str, Resource, Action); 12] = [
        (
            "domain-packs",
            "Validate",
            Resource::DomainPack,
            Action::Create,
        ),
        (
            "domain-packs",
            "Import",
            Resource::DomainPack,
            Action::Create,
        ),
        (
            "domain-packs",
            "Deprecate finance 3.3.0",
            Resource::DomainPack,
            Action::Update,
        ),
        ("playbooks", "Publish", Resource::Playbook, Action::Create),
        (
            "tenant-packs",
            "Require approval of activations",
            Resource::PackSettings,
            Action::Update,
        ),
        (
            "tenant-packs",
            "Activate",
            Resource::PackActivation,
            Action::Create,
        ),
        (
            "tenant-packs",
            "Validate",
            Resource::TenantPack,
            Action::Create,
        ),
        (
            "tenant-packs",
            "Import",
            Resource::TenantPack,
            Action::Create,
        ),
        (
            "tenant-packs",
            "Deprecate 1.4.0",
            Resource::TenantPack,
            Action::Update,
        ),
        (
            "tenant-packs",
            "Unlink invoice-dispute-triage",
            Resource::PlaybookLink,
            Action::Delete,
        ),
        (
            "tenant-packs",
            "Link playbook",
            Resource::PlaybookLink,
            Action::Create,
        ),
        ("ops", "Classify", Resource::Classification, Action::Create),
    ];
    // With the pack service, the module catalog runs with the example releases
    // approved (itsm-triage-agent 1.1.0 among them).
    let provider_controls: [(&str, &str, Resource, Action); 6] = [
        (
            "providers",
            "Create setup request",
            Resource::ProviderConnection,
            Action::Create,
        ),
        (
            "connection",
            "Mint setup link",
            Resource::ProviderConnection,
            Action::Create,
        ),
        (
            "connection",
            "Cancel request",
            Resource::ProviderConnection,
            Action::Update,
        ),
        (
            "connectors",
            "Install connector",
            Resource::ConnectorInstallation,
            Action::Create,
        ),
        (
            "connector",
            "Mint setup link",
            Resource::ConnectorInstallation,
            Action::Create,
        ),
        (
            "connector",
            "Cancel request",
            Resource::ConnectorInstallation,
            Action::Update,
        ),
    ];
    let policy_controls: [(&str, &str, Resource, Action); 8] = [
        (
            "policies",
            "Create draft",
            Resource::PolicyRecord,
            Action::Create,
        ),
        (
            "policy-record",
            "Publish",
            Resource::PolicyRecord,
            Action::Update,
        ),
        (
            "policy-record",
            "Retire record",
            Resource::PolicyRecord,
            Action::Update,
        ),
        (
            "policy-record",
            "Save draft",
            Resource::PolicyRecord,
            Action::Update,
        ),
        (
            "tenant-policy",
            "Create draft",
            Resource::TenantPolicyRecord,
            Action::Create,
        ),
        (
            "tenant-policy-record",
            "Publish version 1",
            Resource::TenantPolicyRecord,
            Action::Update,
        ),
        (
            "tenant-policy-record",
            "Retire record",
            Resource::TenantPolicyRecord,
            Action::Update,
        ),
        (
            "tenant-policy-record",
            "Save draft",
            Resource::TenantPolicyRecord,
            Action::Update,
        ),
    ];
    let run_controls: [(&str, &str, Resource, Action); 1] =
        [("workflows", "Publish", Resource::Workflow, Action::Create)];
    let module_controls: [(&str, &str, Resource, Action); 3] = [
        (
            "module-release",
            "Deprecate itsm-triage-agent 1.1.0",
            Resource::Module,
            Action::Update,
        ),
        (
            "module-release",
            "Revoke itsm-triage-agent 1.1.0",
            Resource::Module,
            Action::Update,
        ),
        (
            "tenant-modules",
            "Enable itsm-triage-agent 1.1.0",
            Resource::ModuleEnablement,
            Action::Create,
        ),
    ];
    controls.extend(
        packs_controls
            .iter()
            .chain(&module_controls)
            .chain(&provider_controls)
            .chain(&policy_controls)
            .chain(&run_controls)
            .map(|(screen, name, resource, action)| {
                (*screen, (*name).to_owned(), *resource, *action)
            }),
    );
    for (_, group, _) in people {
        controls.push((
            "access",
            format!("Remove {group}"),
            Resource::GroupMapping,
            Action::Delete,
        ));
    }
    let users = [
        ("msp-admin", Role::PlatformAdmin),
        ("msp-auditor", Role::PlatformAuditor),
    ]
    .into_iter()
    .chain(people.iter().map(|(user, _, role)| (*user, *role)));
    for (user, role) in users {
        let seen = browse(
            "controls.mjs",
            &[&gateway, user, &acme, &connection, &connector],
        )
        .await;
        for screen in [
            "tenants",
            "tenant",
            "workspaces",
            "access",
            "domain-packs",
            "playbooks",
            "tenant-packs",
            "ops",
            "workflows",
            "runs",
            "approvals",
            "modules",
            "module-release",
            "module-deployments",
            "tenant-modules",
            "providers",
            "connection",
            "connectors",
            "connector",
            "policies",
            "policy-record",
            "tenant-policy",
            "tenant-policy-record",
        ] {
            let mut expected: Vec<String> = controls
                .iter()
                .filter(|(on, _, resource, action)| {
                    *on == screen && allows(&[role], *resource, *action)
                })
                .map(|(_, name, _, _)| name.clone())
                .collect();
            expected.sort();
            let shown: Vec<String> = seen[screen]
                .as_array()
                .unwrap_or_else(|| panic!("{user}: no {screen} screen in {seen}"))
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(shown, expected, "{user} ({role}) on the {screen} screen");
            if role.is_read_only() {
                assert!(shown.is_empty(), "{user} sees {shown:?} on {screen}");
            }
        }
    }

    // What the console hides, the API refuses.
    let auditor = idp.access_token("msp-auditor").await;
    let (status, _, _) = s
        .call(
            Some(&auditor),
            Method::POST,
            "/admin/tenants",
            Some(crate::proxy::tenant("forced", "us")),
        )
        .await;
    assert_eq!(status, 403);
    let tenant_auditor = idp.access_token("acme-auditor").await;
    let (status, _, _) = s
        .call(
            Some(&tenant_auditor),
            Method::POST,
            &format!("/admin/tenants/{acme}/workspaces"),
            Some(json!({ "name": "Forced" })),
        )
        .await;
    assert_eq!(status, 403);
}

/// The seed's demo flow, entirely through the console against the real tenant
/// registry, pack service and audit service: a tenant created, the Finance
/// Domain Pack validated (an invalid one's problems at their pointers) and
/// imported, a playbook published, the Tenant Pack imported, both activated
/// through the confirm dialog, the playbook linked, a ticket classified in Ops;
/// then the next Finance version activated and the same ticket classified the
/// new way. A screenshot of each step is kept with the test's artifacts.
#[tokio::test]
async fn the_seed_demo_runs_entirely_through_the_console() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/packs");
    let Console { gateway, idp, s } = console(Services {
        audit: true,
        packs: true,
    })
    .await;
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-demo");
    let _ = std::fs::remove_dir_all(&shots);
    let seen = browse(
        "demo.mjs",
        &[
            &gateway,
            &examples.to_string_lossy(),
            &shots.to_string_lossy(),
        ],
    )
    .await;

    // The invalid pack's problems, exactly those its example expects.
    let broken: Value = serde_json::from_str(
        &std::fs::read_to_string(examples.join("invalid/10-unknown-field.json")).unwrap(),
    )
    .unwrap();
    let expected: Vec<Value> = broken["expect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["pointer"], e["code"]]))
        .collect();
    assert_eq!(seen["invalid"], json!(expected), "{seen}");
    assert!(
        seen["valid"].as_str().unwrap().contains("is valid"),
        "{seen}"
    );
    let imported = seen["imported"].as_str().unwrap();
    assert!(
        imported.contains("finance 3.2.0") && imported.contains("DRAFT"),
        "{seen}"
    );
    assert_eq!(seen["active"][0], "finance 3.2.0 ACTIVE", "{seen}");
    assert_eq!(seen["active"][1], "1.4.0 ACTIVE", "{seen}");
    assert!(
        seen["linked"]
            .as_str()
            .unwrap()
            .contains("invoice-dispute-triage"),
        "{seen}"
    );
    // Ops: the active configuration decides, then the next version does.
    assert_eq!(seen["before"][0], "billing-dispute", "{seen}");
    assert_eq!(seen["before"][1], "P3", "{seen}");
    assert_eq!(seen["before"][2], "ap-disputes", "{seen}");
    assert_eq!(
        seen["before"][3], "invoice-dispute (from the domain)",
        "{seen}"
    );
    assert!(
        seen["before"][4]
            .as_str()
            .unwrap()
            .starts_with("finance 3.2.0 + 1.4.0 ACTIVE"),
        "{seen}"
    );
    assert_eq!(
        seen["versions"],
        json!([["3.3.0", "DRAFT"], ["3.2.0", "ACTIVE"]]),
        "{seen}"
    );
    assert_eq!(seen["after"][1], "P2", "{seen}");
    assert_eq!(seen["after"][2], "ap-portal", "{seen}");
    assert_eq!(
        seen["after"][3], "portal-dispute (from the domain)",
        "{seen}"
    );
    assert!(
        seen["after"][4]
            .as_str()
            .unwrap()
            .starts_with("finance 3.3.0 + 1.4.0 ACTIVE"),
        "{seen}"
    );

    // What the console did, the runtime's configuration says.
    let admin = idp.access_token("msp-admin").await;
    let tenant = seen["tenant_id"].as_str().unwrap();
    let (status, config, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/runtime/tenants/{tenant}/config"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{config}");
    assert!(config.to_string().contains("3.3.0"), "{config}");
    let taken = std::fs::read_dir(&shots).unwrap().count();
    assert!(taken >= 12, "{taken} screenshots in {}", shots.display());
}

/// A change request decided in two browser sessions: the tenant's administrator,
/// also one of its approvers, asks for an activation and is offered no decision
/// on it; another approver approves it in their own session; the requester's
/// screen then shows the pair active, and the API agrees.
#[tokio::test]
async fn an_approver_decides_a_change_request_another_person_asked_for_in_two_browser_sessions() {
    let Console { gateway, idp, s } = console(Services {
        audit: false,
        packs: true,
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let acme = s.register(&admin, "acme").await;
    s.wait_for_pack_service(&admin, &acme).await;
    let mut setup = finance_published();
    setup.extend([
        (
            format!("/admin/tenants/{acme}/group-mappings"),
            json!({ "idp_group": "acme-workspace-admins", "role": "WorkspaceAdmin" }),
        ),
        (
            format!("/admin/tenants/{acme}/group-mappings"),
            json!({ "idp_group": "acme-approvers", "role": "Approver" }),
        ),
        // The administrator is one of the tenant's approvers too.
        (
            format!("/admin/tenants/{acme}/role-bindings"),
            json!({ "subject": "acme-admin", "role": "Approver" }),
        ),
    ]);
    post_all(&s, &admin, setup).await;
    wait_for_roles(
        &s,
        &idp,
        "acme-admin",
        &acme,
        json!(["Approver", "WorkspaceAdmin"]),
    )
    .await;
    wait_for_roles(&s, &idp, "acme-approver", &acme, json!(["Approver"])).await;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-approval");
    let _ = std::fs::remove_dir_all(&shots);
    let seen = browse(
        "approval.mjs",
        &[
            &gateway,
            &acme,
            "acme-admin",
            "acme-approver",
            &shots.to_string_lossy(),
        ],
    )
    .await;
    // The requester may decide change requests, but not their own.
    assert_eq!(seen["requester_sees"]["status"], "PENDING", "{seen}");
    assert_eq!(seen["requester_sees"]["controls"], json!([]), "{seen}");
    assert!(
        seen["requester_sees"]["text"]
            .as_str()
            .unwrap()
            .contains("another approver decides it"),
        "{seen}"
    );
    assert_eq!(seen["requester_active_before"], 1, "{seen}");
    assert_eq!(
        seen["approver_sees"]["controls"],
        json!(["Approve finance 3.2.0", "Reject finance 3.2.0"]),
        "{seen}"
    );
    assert_eq!(seen["approver_after"]["status"], "APPROVED", "{seen}");
    assert!(
        seen["approver_after"]["text"]
            .as_str()
            .unwrap()
            .contains("acme-approver: Finance 3.2.0 reviewed with the AP team"),
        "{seen}"
    );
    assert_eq!(
        seen["requester_active_after"][0], "finance 3.2.0 ACTIVE",
        "{seen}"
    );

    let (status, active, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/packs/tenant/{acme}/active"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{active}");
    assert_eq!(active["active"]["domain_pack_version"], "3.2.0");
    assert!(active["active"]["change_id"].is_string(), "{active}");
}

/// Every screen, with its data and with a dialog open, has no serious or critical
/// accessibility violation as axe-core finds them (WCAG 2.1 A and AA), and a
/// dialog is used by keyboard alone.
#[tokio::test]
async fn every_screen_is_accessible_and_every_dialog_works_by_keyboard() {
    let Console { gateway, idp, s } = console_with(Options {
        audit: true,
        packs: true,
        providers: true,
        policy: true,
        ..Options::default()
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let acme = s.register(&admin, "acme").await;
    s.wait_for_pack_service(&admin, &acme).await;
    tenant_policy_draft(&s, &admin, &acme).await;
    // Every screen with something on it.
    let mut setup = finance_published();
    setup.extend([
        (
            "/admin/packs/tenant/import".to_owned(),
            json!({ "tenant_id": acme, "pack": example("acme-finance-1.4.0.json") }),
        ),
        (
            "/admin/packs/activate".to_owned(),
            json!({ "tenant_id": acme, "domain": "finance", "domain_pack_version": "3.2.0", "tenant_pack_version": "1.4.0" }),
        ),
        (format!("/admin/tenants/{acme}/onboarding"), json!({})),
        (
            format!("/admin/tenants/{acme}/workspaces"),
            json!({ "name": "Desk" }),
        ),
        (
            format!("/admin/tenants/{acme}/group-mappings"),
            json!({ "idp_group": "acme-operators", "role": "Operator" }),
        ),
        (
            format!("/admin/tenants/{acme}/group-mappings"),
            json!({ "idp_group": "acme-integration-admins", "role": "IntegrationAdmin" }),
        ),
    ]);
    post_all(&s, &admin, setup).await;
    wait_for_roles(
        &s,
        &idp,
        "acme-integrations",
        &acme,
        json!(["IntegrationAdmin"]),
    )
    .await;
    let (connection, connector) = provider_setup_pending(&s, &idp, &admin, &acme).await;
    let (_, shown, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/providers/tenants/{acme}/connections/{connection}"),
            None,
        )
        .await;
    let request = shown["requests"][0]["request_id"].as_str().unwrap();
    let (status, minted, _) = s
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/providers/tenants/{acme}/setup-requests/{request}/links"),
            None,
        )
        .await;
    assert_eq!(status, 201, "{minted}");

    let seen = browse(
        "a11y.mjs",
        &[
            &gateway,
            &acme,
            &connection,
            &connector,
            minted["url"].as_str().unwrap(),
        ],
    )
    .await;
    let screens = seen["screens"].as_object().unwrap();
    assert_eq!(screens.len(), 38, "{seen}");
    for (screen, violations) in screens {
        assert_eq!(violations, &json!([]), "{screen}: {violations}");
    }
    assert_eq!(
        seen["keyboard"],
        json!({
            "focus_in_dialog": true,
            "tab_stays_in_dialog": true,
            "focus_back_on_opener": true,
        }),
        "{seen}"
    );
}

/// The module catalog through the console: the platform admin trusts a release
/// key, sees a composed manifest checked live, imports a signed release, approves
/// it, sees it deployed without drift; in the tenant's context checks its
/// readiness, enables it acknowledging the checks no service can tell yet,
/// disables it and follows the cleanup through. The platform's auditor and the
/// tenant's auditor see the same screens without a single write control.
#[tokio::test]
async fn the_module_catalog_runs_from_trust_to_a_tenants_cleanup_in_the_console() {
    let Console { gateway, idp, s } = console_with(Options {
        modules: true,
        registry: crate::modules::module_sagas(),
        ..Options::default()
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let acme = s.register(&admin, "acme").await;
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::proxy::repo().join("examples/modules/itsm-triage-agent-1.0.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let digest = manifest["image"]
        .as_str()
        .unwrap()
        .split('@')
        .nth(1)
        .unwrap();
    s.entitle(&admin, &acme, &["itsm-triage-agent"]).await;
    post_all(
        &s,
        &admin,
        vec![
            (format!("/admin/tenants/{acme}/onboarding"), json!({})),
            (
                format!("/admin/tenants/{acme}/group-mappings"),
                json!({ "idp_group": "acme-auditors", "role": "Auditor" }),
            ),
        ],
    )
    .await;
    // What the deployment system reports: the release's digest runs here.
    let (status, body, _) = s
        .call(
            Some(&admin),
            Method::PUT,
            "/admin/deployments/us/itsm-triage-agent",
            Some(json!({ "images": [{
                "image": "registry.plinth.example/modules/itsm-triage-agent:1.0.0", "digest": digest
            }] })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    plinth_testkit::wait_until(
        "the tenant to be ACTIVE",
        Duration::from_secs(60),
        || async {
            s.call(
                Some(&admin),
                Method::GET,
                &format!("/admin/tenants/{acme}"),
                None,
            )
            .await
            .1["status"]
                == "ACTIVE"
        },
    )
    .await;
    wait_for_roles(&s, &idp, "acme-auditor", &acme, json!(["Auditor"])).await;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-modules");
    let _ = std::fs::remove_dir_all(&shots);
    let examples = crate::proxy::repo().join("examples/modules");
    let seen = browse(
        "modules.mjs",
        &[
            &gateway,
            &examples.to_string_lossy(),
            &acme,
            &shots.to_string_lossy(),
            "msp-auditor",
            "acme-auditor",
        ],
    )
    .await;

    assert_eq!(seen["signers"].as_array().unwrap().len(), 1, "{seen}");
    assert!(
        seen["signers"][0].as_str().unwrap().contains("ACTIVE"),
        "{seen}"
    );
    assert!(
        seen["composed_problems"]
            .as_array()
            .unwrap()
            .contains(&json!("/id")),
        "{seen}"
    );
    assert_eq!(seen["guided_id"], "itsm-triage-agent", "{seen}");
    let review: Vec<(String, String)> = serde_json::from_value(seen["review"].clone()).unwrap();
    assert_eq!(
        review,
        [
            "schema",
            "source",
            "digest",
            "runtime",
            "references",
            "signature"
        ]
        .map(|c| (c.to_owned(), "PASSED".to_owned()))
        .to_vec(),
        "{seen}"
    );
    assert_eq!(
        seen["decisions_before"],
        json!([
            "Approve itsm-triage-agent 1.0.0",
            "Reject itsm-triage-agent 1.0.0",
            "Review again"
        ]),
        "{seen}"
    );
    assert_eq!(
        seen["decisions_after"],
        json!([
            "Deprecate itsm-triage-agent 1.0.0",
            "Revoke itsm-triage-agent 1.0.0"
        ]),
        "{seen}"
    );
    let deployed = seen["deployments"][0].as_str().unwrap();
    assert!(
        deployed.contains("(release 1.0.0)") && deployed.contains("IN_SYNC"),
        "{seen}"
    );
    let readiness: Vec<(String, String)> =
        serde_json::from_value(seen["readiness"].clone()).unwrap();
    assert_eq!(
        readiness,
        [
            ("release_approved", "READY"),
            ("tenant_active", "READY"),
            ("entitled", "READY"),
            ("deployed", "READY"),
            ("data_mode", "READY"),
            ("connectors", "UNKNOWN"),
            ("ai_providers", "UNKNOWN"),
            ("policy", "UNKNOWN"),
        ]
        .map(|(c, s)| (c.to_owned(), s.to_owned()))
        .to_vec(),
        "{seen}"
    );
    assert_eq!(seen["enable_blocked_until_acknowledged"], true, "{seen}");
    assert!(
        seen["enabled"][0].as_str().unwrap().contains("ENABLED")
            && seen["enabled"][0]
                .as_str()
                .unwrap()
                .contains("acknowledged: connectors, ai_providers, policy"),
        "{seen}"
    );
    assert_eq!(
        seen["offboarding_guidance"].as_array().unwrap().len(),
        3,
        "{seen}"
    );
    assert!(
        seen["enabled_after"][0]
            .as_str()
            .unwrap()
            .contains("DISABLED"),
        "{seen}"
    );
    let cleanup = seen["cleanup"].as_array().unwrap();
    assert_eq!(cleanup.len(), 3, "{seen}");
    assert_eq!(
        cleanup
            .iter()
            .filter(|row| row.as_str().unwrap().contains("by msp-admin"))
            .count(),
        1,
        "{seen}"
    );

    // Read-only people see every screen and no control that changes anything.
    for user in ["msp-auditor", "acme-auditor"] {
        let screens = &seen["read_only"][user];
        for screen in ["catalog", "release", "deployments", "tenant"] {
            assert_eq!(screens[screen], json!([]), "{user} on {screen}: {seen}");
        }
    }
    assert_eq!(
        seen["read_only"]["msp-auditor"]["tabs"],
        json!(["Catalog", "Deployments", "Trusted signers"]),
        "{seen}"
    );
    assert_eq!(
        seen["read_only"]["acme-auditor"]["tabs"],
        json!(["Catalog", "Deployments"]),
        "{seen}"
    );

    // What the console did is what the catalog holds.
    let (_, listed, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/tenant-modules/{acme}"),
            None,
        )
        .await;
    let enablement = &listed["items"][0];
    assert_eq!(enablement["status"], "DISABLED", "{listed}");
    assert_eq!(
        enablement["acknowledged"],
        json!(["connectors", "ai_providers", "policy"]),
        "{listed}"
    );
}

/// Provider setup in two browser contexts: the tenant's integration
/// administrator creates a setup request in the console, mints its link (and
/// revokes one); whoever holds the link enters the key on the setup surface in
/// a browser of their own, never signed in; the connection is active, checked,
/// given a health result through the gate, and selected for the runtime. A
/// connector installed in a workspace gets its credentials the same way. A
/// workspace administrator sees no install control and the gate refuses their
/// health result.
#[tokio::test]
async fn a_provider_key_and_connector_credentials_are_set_up_through_links_in_two_browsers() {
    let Console { gateway, idp, s } = console_with(Options {
        providers: true,
        ..Options::default()
    })
    .await;
    let openai = s.providers.as_ref().unwrap().openai.clone();
    let admin = idp.access_token("msp-admin").await;
    let acme = s.register(&admin, "acme").await;
    let (status, workspace, _) = s
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/tenants/{acme}/workspaces"),
            Some(json!({ "name": "Service desk" })),
        )
        .await;
    assert_eq!(status, 201, "{workspace}");
    post_all(
        &s,
        &admin,
        vec![
            (
                format!("/admin/tenants/{acme}/group-mappings"),
                json!({ "idp_group": "acme-integration-admins", "role": "IntegrationAdmin" }),
            ),
            (
                format!("/admin/tenants/{acme}/group-mappings"),
                json!({ "idp_group": "acme-workspace-admins", "role": "WorkspaceAdmin" }),
            ),
        ],
    )
    .await;
    wait_for_roles(
        &s,
        &idp,
        "acme-integrations",
        &acme,
        json!(["IntegrationAdmin"]),
    )
    .await;
    wait_for_roles(&s, &idp, "acme-admin", &acme, json!(["WorkspaceAdmin"])).await;
    // Provider setup has heard of the workspace.
    let db = s.provider_db.as_ref().unwrap().owner_url();
    let query = format!(
        "SELECT count(*) AS n FROM workspaces WHERE workspace_id = '{}'",
        workspace["workspace_id"].as_str().unwrap()
    );
    plinth_testkit::wait_until(
        "provider setup to hear of the workspace",
        Duration::from_secs(60),
        || async { plinth_testkit::count_all_tenants(&db, &query).await == 1 },
    )
    .await;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-providers");
    let _ = std::fs::remove_dir_all(&shots);
    let seen = browse(
        "providers.mjs",
        &[
            &gateway,
            &acme,
            &openai,
            "Service desk",
            &shots.to_string_lossy(),
        ],
    )
    .await;

    let text = |key: &str| seen[key].as_str().unwrap_or_default().to_owned();
    assert!(
        text("selection_before").contains("No connection is ready"),
        "{seen}"
    );
    assert_eq!(
        seen["key_inputs_in_console"], 0,
        "no key is typed in the console"
    );
    assert!(text("pending").contains("PENDING"), "{seen}");
    assert_eq!(seen["links_differ"], true, "{seen}");
    assert_eq!(
        text("link_shape"),
        format!("{gateway}/setup#pst_…"),
        "the region's setup surface, the token in the fragment"
    );
    assert!(text("revoked_link").contains("revoked"), "{seen}");
    assert_eq!(
        text("holder_status"),
        "Enter the key this link was made for."
    );
    assert_eq!(
        seen["fragment_kept_in_address_bar"], false,
        "the surface takes the token out of the address bar"
    );
    assert!(
        text("facts").contains("acme-openai") && text("facts").contains(&acme),
        "{seen}"
    );
    assert!(text("refused").contains("refused the key"), "{seen}");
    assert!(
        text("stored").starts_with("Stored: acme-openai uses key version 1"),
        "{seen}"
    );
    let versions = seen["key_versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "{seen}");
    assert!(versions[0].as_str().unwrap().contains("ACTIVE"), "{seen}");
    let validations: Vec<&str> = seen["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(validations.len(), 2, "{seen}");
    assert!(
        validations[0].contains("ok") && validations[1].contains("auth_failed"),
        "{seen}"
    );
    assert!(text("checked").starts_with("Checked: ready"), "{seen}");
    assert_eq!(text("submitted"), "Recorded: rate_limited.");
    assert_eq!(seen["health"].as_array().unwrap().len(), 2, "{seen}");
    assert!(
        text("selection").contains("The runtime uses acme-openai"),
        "{seen}"
    );
    assert!(
        seen["connections"][0].as_str().unwrap().contains("ready"),
        "{seen}"
    );
    assert!(
        text("selection_rate_limited").contains("No connection is ready")
            && text("selection_rate_limited").contains("acme-openai: unhealthy: rate_limited"),
        "{seen}"
    );
    assert!(text("connector_asks").contains("Client secret"), "{seen}");
    assert_eq!(text("connector_title"), "Enter connector credentials");
    assert_eq!(
        text("connector_holder_status"),
        "Enter the credentials this link was made for."
    );
    assert!(
        text("connector_stored").starts_with("Stored: acme-halo uses credentials version 1"),
        "{seen}"
    );
    assert_eq!(seen["connector_versions"].as_array().unwrap().len(), 1);
    let listed = seen["connectors"][0].as_str().unwrap();
    assert!(
        listed.contains("HaloPSA") && listed.contains("Service desk") && listed.contains("ACTIVE"),
        "{seen}"
    );
    assert_eq!(seen["workspace_admin_can_install"], false, "{seen}");
    assert!(text("gate_refusal").contains("policy_refused"), "{seen}");
    // Nothing the holders entered is in the console's answers.
    let (_, shown, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/providers/tenants/{acme}/connections"),
            None,
        )
        .await;
    assert!(!shown.to_string().contains("sk-test-good-console-key"));
}

/// A provider connection of `tenant` created by the platform team and a
/// connector installed in its workspace Desk by the tenant's integration
/// administrator, each with its open setup request: their ids.
async fn provider_setup_pending(
    s: &Stack,
    idp: &Idp,
    admin: &str,
    tenant: &str,
) -> (String, String) {
    let (_, workspaces, _) = s
        .call(
            Some(admin),
            Method::GET,
            &format!("/admin/tenants/{tenant}/workspaces"),
            None,
        )
        .await;
    let workspace = workspaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "Desk")
        .expect("the workspace Desk")["workspace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = s.provider_db.as_ref().unwrap().owner_url();
    let query = format!("SELECT count(*) AS n FROM workspaces WHERE workspace_id = '{workspace}'");
    plinth_testkit::wait_until(
        "provider setup to hear of the workspace",
        Duration::from_secs(60),
        || async { plinth_testkit::count_all_tenants(&db, &query).await == 1 },
    )
    .await;
    let (status, connection, _) = s
        .call(
            Some(admin),
            Method::POST,
            &format!("/admin/providers/tenants/{tenant}/connections"),
            Some(
                json!({ "name": "acme-openai", "kind": "openai", "default_model": "gpt-4o-mini" }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{connection}");
    let integrator = idp.access_token("acme-integrations").await;
    let (status, connector, _) = s
        .call(
            Some(&integrator),
            Method::POST,
            &format!("/admin/providers/tenants/{tenant}/connectors"),
            Some(json!({
                "workspace_id": workspace, "name": "acme-graph", "kind": "microsoft_graph",
                "settings": {
                    "directory_tenant_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                    "client_id": "9a0c0305-e82c-4f89-11d3-3f2504e03301"
                }
            })),
        )
        .await;
    assert_eq!(status, 201, "{connector}");
    (
        connection["connection_id"].as_str().unwrap().to_owned(),
        connector["connector_id"].as_str().unwrap().to_owned(),
    )
}

/// A tenant record of `tenant`, "Acme: tighter budget", its version 1 a draft,
/// once the policy service has heard of the tenant.
async fn tenant_policy_draft(s: &Stack, admin: &str, tenant: &str) {
    let path = format!("/admin/policies/tenants/{tenant}/records");
    let record = json!({
        "name": "Acme: tighter budget",
        "scope": { "level": "tenant", "tenant_id": tenant },
        "rules": { "tokens": { "monthly_budget": 2000000 } }
    });
    plinth_testkit::wait_until(
        "the policy service to take a record of the tenant",
        Duration::from_secs(60),
        || async {
            let (status, answer, _) = s
                .call(Some(admin), Method::POST, &path, Some(record.clone()))
                .await;
            assert!(status == 201 || status == 404, "{answer}");
            status == 201
        },
    )
    .await;
}

/// The policy screens in a real browser, against the real policy service: a
/// tenant's workspace administrator sees the baseline in force with its record
/// and the month's usage, has a malformed record refused at its place, creates
/// and publishes a tenant record with a reason — the rule, the budget and the
/// decisions change, the spend already past the new budget now denied — and
/// retires it, which brings the platform's decision back. Auditors of the
/// tenant and of the platform see no control that changes a record.
#[tokio::test]
async fn a_tenant_policy_record_is_published_and_retired_in_the_console_and_decisions_follow() {
    let Console { gateway, idp, s } = console_with(Options {
        policy: true,
        ..Options::default()
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let acme = s.register(&admin, "acme").await;
    post_all(
        &s,
        &admin,
        vec![
            (
                format!("/admin/tenants/{acme}/group-mappings"),
                json!({ "idp_group": "acme-workspace-admins", "role": "WorkspaceAdmin" }),
            ),
            (
                format!("/admin/tenants/{acme}/group-mappings"),
                json!({ "idp_group": "acme-auditors", "role": "Auditor" }),
            ),
        ],
    )
    .await;
    wait_for_roles(&s, &idp, "acme-admin", &acme, json!(["WorkspaceAdmin"])).await;
    wait_for_roles(&s, &idp, "acme-auditor", &acme, json!(["Auditor"])).await;
    crate::policy::runtime_spends(&s, &acme, &[(200, 100), (150, 50)]).await;
    let usage = format!("/admin/policies/tenants/{acme}/usage");
    plinth_testkit::wait_until(
        "the policy service to count the runtime's usage",
        Duration::from_secs(60),
        || async {
            let (status, view, _) = s.call(Some(&admin), Method::GET, &usage, None).await;
            status == 200 && view["tokens_in"] == 350 && view["tokens_out"] == 150
        },
    )
    .await;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-policy");
    let _ = std::fs::remove_dir_all(&shots);
    let seen = browse("policy.mjs", &[&gateway, &acme, &shots.to_string_lossy()]).await;
    let text = |key: &str| seen[key].as_str().unwrap_or_default().to_owned();
    let rows = |key: &str| -> Vec<String> {
        seen[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {seen}"))
            .iter()
            .map(|r| r.as_str().unwrap().replace(['\t', '\n'], " "))
            .collect()
    };

    // The baseline: notify announced, decided by the platform's record; no budget.
    let before = text("notify_before");
    assert!(
        before.contains("L1 · notify") && before.contains("platform pol_"),
        "{seen}"
    );
    assert!(text("budget_before").contains("no budget"), "{seen}");
    let usage_before = text("usage_before");
    assert!(
        usage_before.starts_with("500 tokens used") && usage_before.contains("no monthly budget"),
        "{seen}"
    );
    assert!(
        seen["decision_before"]["decision"]
            .as_str()
            .unwrap()
            .starts_with("Decision: allow_and_notify at gate L1"),
        "{seen}"
    );
    // Refused at its place, nothing created.
    assert!(text("refused").contains("policy_invalid"), "{seen}");
    assert!(
        rows("problems")
            .iter()
            .any(|r| r.contains("/rules/providers/allow_kinds/0")),
        "{seen}"
    );
    let drafted = rows("drafted");
    assert_eq!(drafted.len(), 1, "{seen}");
    assert!(drafted[0].contains("DRAFT"), "{seen}");
    let published = rows("published");
    assert!(
        published[0].contains("PUBLISHED")
            && published[0].contains("Notifications need an approver at Acme"),
        "{seen}"
    );
    // In force, from the tenant's record; the budget is the record's, already
    // spent: a step with tokens is denied, one without only gated.
    let after = text("notify_after");
    assert!(
        after.contains("L2 · approve to proceed") && after.contains("tenant pol_"),
        "{seen}"
    );
    let record_id = text("record_path").rsplit('/').next().unwrap().to_owned();
    assert!(after.contains(&format!("{record_id} v1")), "{seen}");
    assert!(text("budget_after").contains("400"), "{seen}");
    assert!(
        text("usage_after").contains("budget 400 tokens (125.0% used)"),
        "{seen}"
    );
    assert!(rows("tenant_records")[0].contains("version 1"), "{seen}");
    let decision_after = &seen["decision_after"];
    assert!(
        decision_after["decision"]
            .as_str()
            .unwrap()
            .starts_with("Decision: require_approval at gate L2"),
        "{seen}"
    );
    assert!(
        decision_after["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains(&format!("{record_id} v1"))),
        "{seen}"
    );
    let over = &seen["decision_over_budget"];
    assert!(
        over["decision"]
            .as_str()
            .unwrap()
            .starts_with("Decision: deny"),
        "{seen}"
    );
    assert!(
        over["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("over_budget")),
        "{seen}"
    );
    // Read-only people.
    assert!(text("auditor_notify").contains("L2"), "{seen}");
    assert_eq!(seen["auditor_can_create"], false, "{seen}");
    assert_eq!(seen["auditor_record_controls"], 0, "{seen}");
    assert_eq!(seen["platform_auditor_can_create"], false, "{seen}");
    assert!(
        rows("platform_records")
            .iter()
            .any(|r| r.contains("Platform baseline") && r.contains("ACTIVE")),
        "{seen}"
    );
    assert_eq!(seen["platform_admin_can_create"], true, "{seen}");
    assert_eq!(
        seen["platform_admin_record_controls"], 3,
        "publish (disabled: no draft), retire, save draft: {seen}"
    );
    // Retired: the platform's gate is back.
    assert!(
        text("retired").contains("Approvals move to the workflow gates"),
        "{seen}"
    );
    assert!(text("notify_retired").contains("L1 · notify"), "{seen}");
    assert!(
        seen["decision_retired"]["decision"]
            .as_str()
            .unwrap()
            .starts_with("Decision: allow_and_notify at gate L1"),
        "{seen}"
    );
    // And the API agrees: the record is retired, with who and why.
    let (status, record, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/policies/tenants/{acme}/records/{record_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["status"], "RETIRED", "{record}");
    assert_eq!(
        record["retired_reason"],
        "Approvals move to the workflow gates"
    );
}

/// Runs and approvals in the console: a run the runtime reported waits at an
/// L2 step; the tenant's operator sees it in the runs list, on its timeline
/// and in the approvals inbox, with no control to decide it; another tenant's
/// approver finds nothing of it; the tenant's approver approves it from the
/// inbox with a reason, and the timeline shows who approved, when and why.
#[tokio::test]
async fn an_l2_step_is_approved_in_the_console_by_the_tenants_approver_alone() {
    let Console { gateway, idp, s } = console_with(Options {
        policy: true,
        registry: crate::policy::policy_sagas(),
        ..Options::default()
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let crate::runs::Waiting {
        acme,
        globex,
        run,
        request,
        ..
    } = crate::runs::waiting_run(&s, &idp, &admin).await;

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-runs");
    let _ = std::fs::remove_dir_all(&shots);
    let seen = browse(
        "runs.mjs",
        &[&gateway, &acme, &run, &globex, &shots.to_string_lossy()],
    )
    .await;
    let text = |key: &str| seen[key].as_str().unwrap_or_default().to_owned();
    assert!(
        text("operator_run_row").contains("invoice-dispute-triage 1.0.0 (playbook)")
            && text("operator_run_row").contains("T-77"),
        "{seen}"
    );
    assert!(
        text("operator_step").contains("gate L2 (workspace tier L0)")
            && text("operator_step").contains("Risk: medium"),
        "{seen}"
    );
    assert_eq!(seen["operator_decide_buttons"], 0, "{seen}");
    assert_eq!(seen["operator_inbox_buttons"], 0, "{seen}");
    assert!(
        text("stranger_inbox").contains("No request is waiting."),
        "{seen}"
    );
    assert_eq!(seen["stranger_run_steps"], 0, "{seen}");
    assert!(
        text("approver_card").contains("for acme-operator"),
        "{seen}"
    );
    let approved = text("approved");
    assert!(
        approved.contains("APPROVED by acme-approver")
            && approved.contains("Billed twice: the credit is due"),
        "{seen}"
    );

    // The decision is the service's record, as the runtime reads it.
    let runtime = idp.runtime_token().await;
    let (status, step, _) = s
        .call(
            Some(&runtime),
            Method::GET,
            &format!("/runtime/policy/tenants/{acme}/runs/{run}/steps/1"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{step}");
    assert_eq!(
        (
            &step["status"],
            &step["approval"]["request_id"],
            &step["approval"]["decided_by"]
        ),
        (&json!("APPROVED"), &json!(request), &json!("acme-approver"))
    );
}

/// From Ops to a completed run in the console, with the reference runtime
/// running beside the stack: the operator's ticket becomes a run that waits at
/// its L2 step (the operator cannot decide it; another tenant's approver sees
/// nothing of it); the approver approves in a second session; the operator's
/// open page of the run shows it completed, and the API agrees.
#[tokio::test]
async fn an_ops_ticket_becomes_a_run_that_the_approver_lets_complete_in_the_console() {
    let Console { gateway, idp, s } = console_with(Options {
        packs: true,
        providers: true,
        policy: true,
        registry: crate::policy::policy_sagas(),
        ..Options::default()
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let ready = crate::runner::ready_to_run(
        &s,
        &idp,
        &admin,
        crate::packs::example("playbook-invoice-dispute-triage-1.1.0.json"),
    )
    .await;
    let runner = crate::runner::runner_for(&s, &idp, &ready);
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(runner.run(stop.clone()));

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-ops-run");
    let _ = std::fs::remove_dir_all(&shots);
    let seen = browse(
        "ops-run.mjs",
        &[
            &gateway,
            &ready.acme,
            &ready.globex,
            &shots.to_string_lossy(),
        ],
    )
    .await;
    stop.cancel();
    running.await.unwrap();
    let text = |key: &str| seen[key].as_str().unwrap_or_default().to_owned();
    assert!(text("classification").contains("billing-dispute"), "{seen}");
    assert!(
        text("run_row").contains("invoice-dispute-triage 1.1.0 (playbook)")
            && text("run_row").contains("ops · ticket.classified · billing-dispute"),
        "{seen}"
    );
    assert!(
        text("steps_waiting").contains("1. lookup DONE")
            && text("steps_waiting").contains("2. acknowledge DONE")
            && text("steps_waiting").contains("3. credit WAITING_APPROVAL"),
        "{seen}"
    );
    assert_eq!(seen["operator_decide_buttons"], 0, "{seen}");
    assert!(
        text("stranger_inbox").contains("No request is waiting."),
        "{seen}"
    );
    assert_eq!(seen["stranger_run_steps"], 0, "{seen}");
    assert!(
        text("approver_card").contains("for acme-operator"),
        "{seen}"
    );
    assert!(text("run_heading").contains("SUCCEEDED"), "{seen}");
    assert!(
        text("credit_done").contains("DONE")
            && text("credit_done").contains("APPROVED by acme-approver"),
        "{seen}"
    );

    // The service's record agrees.
    let run_id = text("run_url").rsplit('/').next().unwrap().to_owned();
    let (status, run, _) = s
        .call(
            Some(&admin),
            Method::GET,
            &format!("/admin/policies/tenants/{}/runs/{run_id}", ready.acme),
            None,
        )
        .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "SUCCEEDED");
    let statuses: Vec<&Value> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["status"])
        .collect();
    assert_eq!(statuses, vec!["DONE", "DONE", "DONE"]);
}

/// What [`workflow_tenants`] set up.
struct WorkflowTenants {
    acme: String,
    globex: String,
    /// The workflows of acme's workspace:
    /// `/admin/packs/tenant/{acme}/workspaces/{workspace}/workflows`.
    workflows: String,
}

/// Two tenants registered in the stack's region (`slugs`), acme's workspace
/// administrator and auditor and globex's workspace administrator given their
/// roles, and a workspace acme's administrator created, once the pack service
/// knows it.
async fn workflow_tenants(s: &Stack, idp: &Idp, admin: &str, slugs: [&str; 2]) -> WorkflowTenants {
    let acme = s.register(admin, slugs[0]).await;
    let globex = s.register(admin, slugs[1]).await;
    s.wait_for_pack_service(admin, &acme).await;
    post_all(
        s,
        admin,
        vec![
            (
                format!("/admin/tenants/{acme}/group-mappings"),
                json!({ "idp_group": "acme-workspace-admins", "role": "WorkspaceAdmin" }),
            ),
            (
                format!("/admin/tenants/{acme}/group-mappings"),
                json!({ "idp_group": "acme-auditors", "role": "Auditor" }),
            ),
            (
                format!("/admin/tenants/{globex}/group-mappings"),
                json!({ "idp_group": "globex-workspace-admins", "role": "WorkspaceAdmin" }),
            ),
        ],
    )
    .await;
    wait_for_roles(s, idp, "acme-admin", &acme, json!(["WorkspaceAdmin"])).await;
    wait_for_roles(s, idp, "acme-auditor", &acme, json!(["Auditor"])).await;
    wait_for_roles(s, idp, "globex-admin", &globex, json!(["WorkspaceAdmin"])).await;
    let acme_admin = idp.access_token("acme-admin").await;
    let (status, workspace, _) = s
        .call(
            Some(&acme_admin),
            Method::POST,
            &format!("/admin/tenants/{acme}/workspaces"),
            Some(json!({ "name": "Service desk" })),
        )
        .await;
    assert_eq!(status, 201, "{workspace}");
    let workspace = workspace["workspace_id"].as_str().unwrap().to_owned();
    let workflows = format!("/admin/packs/tenant/{acme}/workspaces/{workspace}/workflows");
    plinth_testkit::wait_until(
        "the pack service to hear of the workspace",
        Duration::from_secs(60),
        || async {
            s.call(Some(&acme_admin), Method::GET, &workflows, None)
                .await
                .0
                == 200
        },
    )
    .await;
    WorkflowTenants {
        acme,
        globex,
        workflows,
    }
}

/// `workflows.mjs`: acme's workspace administrator publishes `version` of the
/// invoice-dispute playbook as a workflow in the console and sees it listed;
/// acme's auditor sees it listed with no control to publish; globex's
/// administrator sees no table of it. Screenshots under `shots`.
async fn publish_in_console(gateway: &str, acme: &str, version: &str, shots: &str) {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(shots);
    let _ = std::fs::remove_dir_all(&shots);
    let file = crate::proxy::repo().join(format!(
        "examples/packs/playbook-invoice-dispute-triage-{version}.json"
    ));
    let seen = browse(
        "workflows.mjs",
        &[
            gateway,
            acme,
            &file.to_string_lossy(),
            &shots.to_string_lossy(),
        ],
    )
    .await;
    assert!(
        seen["published"]
            .as_str()
            .is_some_and(|p| p.contains(version)),
        "{seen}"
    );
    for key in ["admin_rows", "auditor_rows"] {
        let rows: Vec<String> = seen[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {seen}"))
            .iter()
            .map(|r| r.as_str().unwrap().replace(['\t', '\n'], " "))
            .collect();
        assert_eq!(rows.len(), 2, "{seen}");
        assert!(
            rows[1].contains("invoice-dispute-triage")
                && rows[1].contains(&format!("{version} PUBLISHED")),
            "{seen}"
        );
    }
    assert_eq!(seen["auditor_publish_buttons"], 0, "{seen}");
    assert_eq!(seen["stranger_tables"], 0, "{seen}");
}

/// Seed 002's exit gate as one test, in the EU, through the gateways with real
/// logins at the identity provider: a tenant and its workspace created in the
/// EU; a BYO key stored through a delegated setup link at the EU's setup
/// surface, which the runtime then gets; a workflow version published and
/// listed in the console and through the API; and nothing of it for a person
/// of another tenant — nor at the US gateway, which sends the caller to the EU.
#[tokio::test]
async fn the_exit_gate_holds_in_the_eu_from_the_tenant_to_its_listed_workflow() {
    let Console { gateway, idp, s } = console_with(Options {
        packs: true,
        providers: true,
        region: Some(plinth_core::Region::Eu),
        ..Options::default()
    })
    .await;
    let admin = idp.access_token("msp-admin").await;

    // A tenant in the EU, its people, and its workspace.
    let WorkflowTenants {
        acme,
        globex,
        workflows,
        ..
    } = workflow_tenants(&s, &idp, &admin, ["acme-eu", "globex-eu"]).await;
    assert!(globex.starts_with("ten_eu_"), "{globex}");
    assert!(acme.starts_with("ten_eu_"), "{acme}");
    let acme_admin = idp.access_token("acme-admin").await;

    // Its own key, entered through a link at the EU gateway's setup surface;
    // the runtime gets it.
    let (connection, link) = crate::runner::own_key(&s, &admin, &acme).await;
    assert!(
        link.starts_with(&format!("{gateway}/setup#")),
        "the EU gateway's setup surface: {link}"
    );
    let runtime = idp.runtime_token().await;
    let (status, released, _) = s
        .call(
            Some(&runtime),
            Method::POST,
            &format!("/runtime/providers/tenants/{acme}/connections/{connection}/key"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["key"], crate::runner::OWN_KEY);

    // A workflow version published and listed in the console.
    publish_in_console(&gateway, &acme, "1.1.0", "console-exit-gate-eu").await;

    // Through the API: listed for the tenant's people; nothing for another
    // tenant's, nor for anyone at the US gateway.
    let auditor = idp.access_token("acme-auditor").await;
    let (status, listed, _) = s.call(Some(&auditor), Method::GET, &workflows, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["version"], "1.1.0", "{listed}");
    let stranger = idp.access_token("globex-admin").await;
    for path in [
        workflows.clone(),
        format!("/admin/tenants/{acme}/workspaces"),
        format!("/admin/providers/tenants/{acme}/connections"),
    ] {
        let (status, answer, _) = s.call(Some(&stranger), Method::GET, &path, None).await;
        assert_eq!(status, 403, "{path}: {answer}");
    }
    let us = s.gateway_of(plinth_core::Region::Us).await;
    for (token, path) in [
        (&acme_admin, workflows.clone()),
        (&auditor, format!("/admin/tenants/{acme}")),
        (
            &runtime,
            format!("/runtime/providers/tenants/{acme}/selection"),
        ),
    ] {
        let answer = s
            .http_client()
            .get(format!("{us}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 421, "{path}");
        let problem: Value = answer.json().await.unwrap();
        assert_eq!(
            (&problem["code"], &problem["region"]),
            (&json!("wrong_region"), &json!("eu")),
            "{path}: {problem}"
        );
    }
}

/// Workflows in the console: the tenant's workspace administrator publishes a
/// workflow version into a workspace from a JSON file and sees it listed; the
/// tenant's auditor reads it with no control to publish; another tenant's
/// administrator finds nothing of it — in the console or through the API.
#[tokio::test]
async fn a_workflow_version_is_published_into_a_workspace_in_the_console_and_read_by_its_tenant_alone()
 {
    let Console { gateway, idp, s } = console(Services {
        audit: false,
        packs: true,
    })
    .await;
    let admin = idp.access_token("msp-admin").await;
    let WorkflowTenants {
        acme, workflows, ..
    } = workflow_tenants(&s, &idp, &admin, ["acme", "globex"]).await;
    publish_in_console(&gateway, &acme, "1.0.0", "console-workflows").await;

    // The API agrees: listed for the tenant's people, refused to the other's.
    let auditor = idp.access_token("acme-auditor").await;
    let (status, listed, _) = s.call(Some(&auditor), Method::GET, &workflows, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let stranger = idp.access_token("globex-admin").await;
    let (status, _, _) = s.call(Some(&stranger), Method::GET, &workflows, None).await;
    assert_eq!(status, 403);

    // The version published, as a partner reads it (fastavro included).
    let read = crate::partner::decode_every_event(
        &s.prefix,
        &[plinth_bus::Area::Pack],
        &["plinth.workflow.published"],
    );
    assert_eq!(read["plinth.workflow.published"], 1, "{read:?}");
}
