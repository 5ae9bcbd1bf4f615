//! An issuer behind HTTPS, as every production identity provider is: the gateway
//! trusts it through the system's roots or `oidc.ca_file`, and refuses to start
//! against a certificate nothing it trusts has signed.

use plinth_testkit::idp::{AUDIENCE, CLIENT_ID, CLIENT_SECRET};
use plinth_testkit::{Idp, TokenKeys, test_bus_settings, test_topic_prefix};
use serde_json::{Value, json};

fn settings(idp: &Idp, ca_file: Option<&std::path::Path>) -> gateway::Settings {
    gateway::Settings::with_overrides(json!({
        "http": { "port": 0 },
        "oidc": {
            "issuer": idp.issuer, "audience": AUDIENCE,
            "ca_file": ca_file.map(|p| p.display().to_string())
        },
        "login": { "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET },
        "internal_token": { "private_key_pem": TokenKeys::generate().private_pem() },
        "bus": test_bus_settings(&test_topic_prefix(), json!({}))
    }))
    .unwrap()
}

#[tokio::test]
async fn an_https_issuer_is_trusted_through_its_certificate_authority_only() {
    let idp = Idp::start_tls().await;
    assert!(idp.issuer.starts_with("https://"), "{}", idp.issuer);

    // Its certificate is signed by an authority the system does not know.
    let refused = gateway::Application::build(settings(&idp, None))
        .await
        .expect_err("an untrusted issuer certificate stops the gateway");
    let reason = format!("{refused:#}");
    assert!(reason.contains(&idp.issuer), "{reason}");

    // With that authority trusted, discovery, the key set and browser login's
    // discovery go over TLS, and a real token from the issuer is accepted.
    let app = gateway::Application::build(settings(&idp, idp.ca_file.as_deref()))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let token = idp.access_token("msp-admin").await;
    let res = reqwest::Client::new()
        .get(format!("{base}/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["subject"], "msp-admin");
    assert_eq!(me["issuer"], idp.issuer);
}
