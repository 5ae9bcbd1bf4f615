//! Provider setup through the gateway: the platform team creates a tenant's
//! connection and mints a delegated link; whoever holds the link opens the
//! setup surface at the gateway without logging in and enters the key, which
//! the provider accepts; the connection is active; a partner reads every
//! provider event — and nothing of the key. The setup surface takes no
//! credential of the caller's and is rate-limited per client address.

use std::time::Duration;

use plinth_bus::Area;
use plinth_testkit::{Idp, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

use crate::proxy::{Options, Stack, call_as as call, stack_with};

/// Waits until provider setup heard of `tenant` from the registry.
async fn wait_for_provider_setup(s: &Stack, admin: &str, tenant: &str) {
    wait_until(
        "provider setup to hear of the tenant",
        Duration::from_secs(60),
        || async {
            call(
                s,
                admin,
                Method::GET,
                &format!("/admin/providers/tenants/{tenant}/connections"),
                None,
            )
            .await
            .0 == 200
        },
    )
    .await;
}

#[tokio::test]
async fn a_key_is_entered_through_a_delegated_link_at_the_gateway_and_partners_read_no_key() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            providers: true,
            ..Options::default()
        },
    )
    .await;
    let providers = s.providers.clone().unwrap();
    let admin = idp.access_token("msp-admin").await;
    let tenant = s.register(&admin, "acme").await;
    wait_for_provider_setup(&s, &admin, &tenant).await;

    let (status, created) = call(
        &s,
        &admin,
        Method::POST,
        &format!("/admin/providers/tenants/{tenant}/connections"),
        Some(json!({
            "name": "primary-openai", "kind": "openai", "base_url": providers.openai,
            "default_model": "gpt-4o-mini", "note": "Paste the production key"
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let request = created["requests"][0]["request_id"].as_str().unwrap();
    let (status, minted) = call(
        &s,
        &admin,
        Method::POST,
        &format!("/admin/providers/tenants/{tenant}/setup-requests/{request}/links"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{minted}");
    let url = minted["url"].as_str().unwrap();
    let (surface, token) = url.split_once('#').unwrap();
    assert_eq!(
        surface, "https://us.plinth.example/setup",
        "the region's public address"
    );

    // The holder: no login, the page from the gateway with the surface's own policy.
    let page = s
        .http_client()
        .get(format!("{}/setup", s.gateway))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Enter an AI provider key")
    );
    let (status, facts, _) = s
        .call(
            None,
            Method::POST,
            "/setup/api/link",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(
        (status, &facts["connection_name"]),
        (200, &json!("primary-openai")),
        "{facts}"
    );

    // Whatever credentials the holder's browser carries, none reaches the
    // service: the entry is the link holder's, not the administrator's.
    let key = "sk-test-good-GATEWAY-CANARY-31f0";
    let answer = s
        .http_client()
        .post(format!("{}/setup/api/redeem", s.gateway))
        .bearer_auth(&admin)
        .json(&json!({ "token": token, "key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let redeemed: Value = answer.json().await.unwrap();
    assert_eq!(redeemed["version"], 1);
    let (_, one) = call(
        &s,
        &admin,
        Method::GET,
        &format!(
            "/admin/providers/tenants/{tenant}/connections/{}",
            created["connection_id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(
        (&one["status"], &one["active_version"]),
        (&json!("ACTIVE"), &json!(1))
    );

    // The runtime, with its machine client's token, picks the connection and
    // gets its key; the platform team never does.
    let runtime = idp.runtime_token().await;
    let (status, chosen) = call(
        &s,
        &runtime,
        Method::GET,
        &format!("/runtime/providers/tenants/{tenant}/selection"),
        None,
    )
    .await;
    assert_eq!(
        (status, &chosen["name"]),
        (200, &json!("primary-openai")),
        "{chosen}"
    );
    let release = format!(
        "/runtime/providers/tenants/{tenant}/connections/{}/key",
        created["connection_id"].as_str().unwrap()
    );
    let (status, released) = call(&s, &runtime, Method::POST, &release, Some(json!({}))).await;
    assert_eq!((status, &released["key"]), (200, &json!(key)), "{released}");
    let (status, refused) = call(&s, &admin, Method::POST, &release, Some(json!({}))).await;
    assert_eq!(status, 403, "{refused}");
    let (status, _) = call(&s, &runtime, Method::GET, "/admin/tenants", None).await;
    assert_eq!(status, 403, "the runtime reads only what it runs on");

    // Everything provider setup published, read back as a partner would.
    let read = crate::partner::decode_every_event(
        &s.prefix,
        &[Area::Provider],
        &[
            "plinth.provider.connection_created",
            "plinth.provider.link_minted",
            "plinth.provider.key_validated",
            "plinth.provider.link_redeemed",
            "plinth.provider.key_activated",
        ],
    );
    println!("events read as a partner: {read:?}");
    let raw = crate::partner::raw_payloads(&s.prefix, &[Area::Provider, Area::Audit]);
    assert!(!raw.is_empty());
    for payload in &raw {
        assert!(
            !payload.windows(key.len()).any(|w| w == key.as_bytes()),
            "the key is in an event"
        );
        assert!(
            !payload.windows(token.len()).any(|w| w == token.as_bytes()),
            "the link's token is in an event"
        );
    }
    let needle = b"primary-openai";
    assert!(
        raw.iter()
            .any(|p| p.windows(needle.len()).any(|w| w == needle)),
        "the sweep reads the payloads"
    );
}

#[tokio::test]
async fn the_setup_surface_has_an_allowance_per_client_address() {
    let idp = Idp::start().await;
    let s = stack_with(
        &idp,
        Options {
            providers: true,
            gateway: json!({ "rate_limits": { "caller_per_second": 2 } }),
            ..Options::default()
        },
    )
    .await;
    let asks = (0..12).map(|_| {
        s.call(
            None,
            Method::POST,
            "/setup/api/link",
            Some(json!({ "token": "pst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })),
        )
    });
    let answers = futures_util::future::join_all(asks).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _, _)| *status).collect();
    assert!(statuses.contains(&404), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [404, 429].contains(s)),
        "{statuses:?}"
    );
}
