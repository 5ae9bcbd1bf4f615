//! Tenant roles at the gateway come from the registry's role bindings and group
//! mappings, as events: once an administrator maps a group or binds a person, its
//! members act in that tenant, and only there.

use std::time::Duration;

use plinth_testkit::{Idp, wait_until};
use reqwest::Method;
use serde_json::json;

use crate::proxy::{Options, Stack, stack, stack_with, tenant};

/// Binds the demo MSP operator (`msp-operator`) with a platform `role` in `tenant`.
async fn bind_staff(s: &Stack, admin: &str, tenant: &str, role: &str) {
    let (status, body, _) = s
        .call(
            Some(admin),
            Method::POST,
            &format!("/admin/tenants/{tenant}/role-bindings"),
            Some(json!({ "subject": "msp-operator", "role": role })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// Waits until the gateway has the staff member's bindings: `staff` lists `n`
/// tenants.
async fn wait_until_staff_lists(s: &Stack, staff: &str, n: usize) {
    wait_until(
        "the staff member's bindings at the gateway",
        Duration::from_secs(60),
        || async {
            let (status, listed, _) = s
                .call(Some(staff), Method::GET, "/admin/tenants", None)
                .await;
            status == 200 && listed["items"].as_array().unwrap().len() == n
        },
    )
    .await;
}

#[tokio::test]
async fn tenant_users_act_in_their_tenant_once_bound() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let operator = idp.access_token("acme-operator").await;
    let acme_admin = idp.access_token("acme-admin").await;

    let acme = s.register(&admin, "acme").await;
    let globex = s.register(&admin, "globex").await;

    // Unbound, a tenant user holds nothing.
    let (status, _, _) = s
        .call(
            Some(&operator),
            Method::GET,
            &format!("/admin/tenants/{acme}"),
            None,
        )
        .await;
    assert_eq!(status, 403);

    let (status, body, _) = s
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/tenants/{acme}/group-mappings"),
            Some(json!({ "idp_group": "acme-operators", "role": "Operator" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body, _) = s
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/tenants/{acme}/role-bindings"),
            Some(json!({ "subject": "acme-admin", "role": "WorkspaceAdmin" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The gateway learns of them from the registry's events.
    wait_until(
        "the operator's role at the gateway",
        Duration::from_secs(60),
        || async {
            s.call(
                Some(&operator),
                Method::GET,
                &format!("/admin/tenants/{acme}"),
                None,
            )
            .await
            .0 == 200
        },
    )
    .await;
    // Its own tenant's listing, without naming it: the one tenant it holds roles in.
    let (status, listed, _) = s
        .call(Some(&operator), Method::GET, "/admin/tenants", None)
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // Only there: another tenant is not its own.
    let (status, _, _) = s
        .call(
            Some(&operator),
            Method::GET,
            &format!("/admin/tenants/{globex}"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    // An operator's write is refused by the service's own check.
    let (status, _, _) = s
        .call(
            Some(&operator),
            Method::POST,
            &format!("/admin/tenants/{acme}/workspaces"),
            Some(json!({ "name": "Desk" })),
        )
        .await;
    assert_eq!(status, 403);
    // The person bound as the tenant's administrator creates one.
    wait_until(
        "the administrator's role",
        Duration::from_secs(60),
        || async {
            s.call(
                Some(&acme_admin),
                Method::POST,
                &format!("/admin/tenants/{acme}/workspaces"),
                Some(json!({ "name": "Desk" })),
            )
            .await
            .0 == 201
        },
    )
    .await;
}

#[tokio::test]
async fn msp_staff_bound_to_two_tenants_reach_those_two_only() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let staff = idp.access_token("msp-operator").await;
    let mut ids = Vec::new();
    for slug in ["acme", "globex", "initech"] {
        ids.push(s.register(&admin, slug).await);
    }
    for id in &ids[..2] {
        bind_staff(&s, &admin, id, "PlatformAdmin").await;
    }
    wait_until_staff_lists(&s, &staff, 2).await;
    let (_, listed, _) = s
        .call(Some(&staff), Method::GET, "/admin/tenants", None)
        .await;
    let mut seen: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant_id"].as_str().unwrap())
        .collect();
    seen.sort();
    let mut bound: Vec<&str> = ids[..2].iter().map(String::as_str).collect();
    bound.sort();
    assert_eq!(seen, bound);
    let (status, _, _) = s
        .call(
            Some(&staff),
            Method::GET,
            &format!("/admin/tenants/{}", ids[0]),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // The third tenant answers exactly like one that does not exist.
    let (status, problem, _) = s
        .call(
            Some(&staff),
            Method::GET,
            &format!("/admin/tenants/{}", ids[2]),
            None,
        )
        .await;
    let nonexistent = plinth_core::TenantId::new(plinth_core::Region::Us);
    let (status2, problem2, _) = s
        .call(
            Some(&staff),
            Method::GET,
            &format!("/admin/tenants/{nonexistent}"),
            None,
        )
        .await;
    assert_eq!((status, &problem["code"]), (404, &json!("not_found")));
    assert_eq!((status2, &problem2["code"]), (404, &json!("not_found")));
    // Bound staff do not register tenants: that takes the platform team unbound.
    let (status, _, _) = s
        .call(
            Some(&staff),
            Method::POST,
            "/admin/tenants",
            Some(tenant("hooli", "us")),
        )
        .await;
    assert_eq!(status, 403);
}

/// Staff bound as PlatformAdmin in one tenant and PlatformAuditor in another are an
/// admin in the first and an auditor in the second, not an admin in both.
#[tokio::test]
async fn platform_roles_bound_in_a_tenant_apply_in_that_tenant_only() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            packs: true,
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    let staff = idp.access_token("msp-operator").await;
    let a = s.register(&admin, "acme").await;
    let b = s.register(&admin, "globex").await;
    bind_staff(&s, &admin, &a, "PlatformAdmin").await;
    bind_staff(&s, &admin, &b, "PlatformAuditor").await;
    wait_until_staff_lists(&s, &staff, 2).await;
    let bind = |tenant: &str| {
        let (s, staff) = (&s, &staff);
        let path = format!("/admin/tenants/{tenant}/role-bindings");
        async move {
            s.call(
                Some(staff),
                Method::POST,
                &path,
                Some(json!({ "subject": "someone", "role": "Operator" })),
            )
            .await
        }
    };
    let (status, problem, _) = bind(&b).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    let (status, body, _) = bind(&a).await;
    assert_eq!(status, 201, "{body}");
    // The auditor still reads the second tenant.
    let (status, _, _) = s
        .call(
            Some(&staff),
            Method::GET,
            &format!("/admin/tenants/{b}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // A tenant named in the body, not the path: the service uses only the roles
    // bound in that tenant.
    let validate = |tenant: &str| {
        let (s, staff) = (&s, &staff);
        let body = json!({ "kind": "tenant", "tenant_id": tenant, "pack": {} });
        async move {
            s.call(
                Some(staff),
                Method::POST,
                "/admin/packs/validate",
                Some(body),
            )
            .await
        }
    };
    let (status, problem, _) = validate(&b).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("forbidden")),
        "{problem}"
    );
    let (status, body, _) = validate(&a).await;
    assert_ne!(status, 403, "{body}");
}

#[tokio::test]
async fn another_tenants_binding_does_not_lock_a_person_out_of_their_own_tenant() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let operator = idp.access_token("acme-operator").await;
    let globex_admin = idp.access_token("globex-admin").await;
    let acme = s.register(&admin, "acme").await;
    let globex = s.register(&admin, "globex").await;
    for (tenant, subject, role) in [
        (&acme, "acme-operator", "Operator"),
        (&globex, "globex-admin", "WorkspaceAdmin"),
    ] {
        let (status, body, _) = s
            .call(
                Some(&admin),
                Method::POST,
                &format!("/admin/tenants/{tenant}/role-bindings"),
                Some(json!({ "subject": subject, "role": role })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let lists = |token: &str| {
        let (s, token) = (&s, token.to_owned());
        async move {
            let (status, listed, _) = s
                .call(Some(&token), Method::GET, "/admin/tenants", None)
                .await;
            (status, listed)
        }
    };
    wait_until(
        "acme's operator at the gateway",
        Duration::from_secs(60),
        || async { lists(&operator).await.0 == 200 },
    )
    .await;
    wait_until(
        "globex's admin at the gateway",
        Duration::from_secs(60),
        || async {
            s.call(
                Some(&globex_admin),
                Method::GET,
                &format!("/admin/tenants/{globex}"),
                None,
            )
            .await
            .0 == 200
        },
    )
    .await;

    // Globex's administrator binds acme's operator in globex.
    let (status, body, _) = s
        .call(
            Some(&globex_admin),
            Method::POST,
            &format!("/admin/tenants/{globex}/role-bindings"),
            Some(json!({ "subject": "acme-operator", "role": "Auditor" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let globex_path = format!("/admin/tenants/{globex}");
    wait_until(
        "the foreign binding at the gateway",
        Duration::from_secs(60),
        || async {
            s.call(Some(&operator), Method::GET, &globex_path, None)
                .await
                .0
                == 200
        },
    )
    .await;
    // The operator's requests that name no tenant still act in acme, where they
    // first held a role: listing shows acme alone, as before.
    let (status, listed) = lists(&operator).await;
    assert_eq!(status, 200, "not locked out: {listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["tenant_id"], acme.as_str());
}

/// `GET /auth/permissions`: the permission table the services enforce, applied
/// to the roles the caller holds in the platform or in one tenant.
#[tokio::test]
async fn the_permissions_answer_follows_the_callers_roles() {
    let idp = Idp::start().await;
    let s = stack(&idp).await;
    let admin = idp.access_token("msp-admin").await;
    let auditor = idp.access_token("msp-auditor").await;
    let operator = idp.access_token("acme-operator").await;
    let acme = s.register(&admin, "acme").await;
    let globex = s.register(&admin, "globex").await;

    let permissions = |token: &str, tenant: Option<&str>| {
        let path = match tenant {
            Some(t) => format!("/auth/permissions?tenant_id={t}"),
            None => "/auth/permissions".to_owned(),
        };
        let token = token.to_owned();
        let s = &s;
        async move {
            let (status, body, _) = s.call(Some(&token), Method::GET, &path, None).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let allows = |body: &serde_json::Value, resource: &str, action: &str| {
        body["allowed"][resource]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == action))
    };

    let platform = permissions(&admin, None).await;
    assert_eq!(platform["roles"], json!(["PlatformAdmin"]));
    assert_eq!(platform["platform_wide"], true);
    assert!(allows(&platform, "tenant", "create"));
    assert!(allows(&platform, "domain_pack", "create"));
    assert!(!allows(&platform, "config_change", "update"), "{platform}");

    let audit = permissions(&auditor, Some(&acme)).await;
    assert_eq!(audit["roles"], json!(["PlatformAuditor"]));
    assert!(allows(&audit, "audit_log", "read"));
    for (resource, actions) in audit["allowed"].as_object().unwrap() {
        assert_eq!(actions, &json!(["read"]), "{resource}");
    }

    // Unbound, a tenant's operator may do nothing: an answer, not a refusal.
    let nothing = permissions(&operator, Some(&acme)).await;
    assert_eq!(nothing["roles"], json!([]));
    assert_eq!(nothing["allowed"], json!({}));
    assert_eq!(nothing["memberships"], json!([]));

    let (status, body, _) = s
        .call(
            Some(&admin),
            Method::POST,
            &format!("/admin/tenants/{acme}/group-mappings"),
            Some(json!({ "idp_group": "acme-operators", "role": "Operator" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    wait_until(
        "the operator's role in its permissions",
        Duration::from_secs(60),
        || async { permissions(&operator, Some(&acme)).await["roles"] == json!(["Operator"]) },
    )
    .await;
    let own = permissions(&operator, Some(&acme)).await;
    assert!(allows(&own, "classification", "create"));
    assert!(allows(&own, "tenant", "read"));
    assert!(!allows(&own, "tenant_pack", "create"));
    assert!(!allows(&own, "audit_log", "read"));
    assert_eq!(
        own["memberships"],
        json!([{ "tenant_id": acme, "roles": ["Operator"] }])
    );
    // Naming no tenant, the operator acts in its own.
    assert_eq!(permissions(&operator, None).await["tenant_id"], json!(acme));
    // Another tenant is not its own.
    assert_eq!(
        permissions(&operator, Some(&globex)).await["allowed"],
        json!({})
    );

    let (status, body, _) = s
        .call(
            Some(&admin),
            Method::GET,
            "/auth/permissions?tenant_id=acme",
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "tenant_id");
    let (status, _, _) = s.call(None, Method::GET, "/auth/permissions", None).await;
    assert_eq!(status, 401);
}
