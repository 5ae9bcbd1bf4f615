//! Bearer tokens: a real token from the configured issuer is accepted and says who
//! is calling; every token of the JWT attack set gets 401.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use plinth_testkit::Idp;
use plinth_testkit::idp::{AUDIENCE, SigningKey};
use serde_json::{Value, json};

async fn gateway(idp: &Idp) -> String {
    let settings = gateway::Settings::with_overrides(json!({
        "http": { "port": 0 },
        "oidc": { "issuer": idp.issuer, "audience": AUDIENCE, "jwks_refresh_min_seconds": 3600 },
        "internal_token": { "private_key_pem": plinth_testkit::TokenKeys::generate().private_pem() },
        "bus": plinth_testkit::test_bus_settings(&plinth_testkit::test_topic_prefix(), json!({}))
    }))
    .unwrap();
    let app = gateway::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

async fn me(base: &str, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut req = reqwest::Client::new().get(format!("{base}/auth/me"));
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, res.json().await.unwrap_or(Value::Null), challenge)
}

fn key(idp: &Idp, alg: &str) -> SigningKey {
    idp.signing_keys()
        .into_iter()
        .find(|k| k.alg == alg)
        .unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims like the provider's own access token.
fn claims(idp: &Idp) -> Value {
    json!({
        "iss": idp.issuer, "aud": AUDIENCE, "sub": "acme-admin",
        "email": "admin@acme.example", "email_verified": true,
        "groups": ["acme-workspace-admins"], "iat": now(), "exp": now() + 600, "scope": "api",
    })
}

/// A token signed with `signing`'s private key, with `kid` in its header.
fn forge(signing: &SigningKey, kid: &str, claims: &Value) -> String {
    let (alg, key) = match signing.alg.as_str() {
        "RS256" => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(signing.pem.as_bytes()),
        ),
        "ES256" => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(signing.pem.as_bytes()),
        ),
        _ => (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(signing.pem.as_bytes()),
        ),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &key.unwrap()).unwrap()
}

fn b64(json: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
}

#[tokio::test]
async fn a_real_token_is_accepted_and_says_who_is_calling() {
    let idp = Idp::start().await;
    let base = gateway(&idp).await;
    let token = idp.access_token("acme-admin").await;
    let (status, who, _) = me(&base, Some(&token)).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["subject"], "acme-admin");
    assert_eq!(who["email"], "admin@acme.example");
    assert_eq!(who["groups"], json!(["acme-workspace-admins"]));
    // Each allowed algorithm, signed with the provider's real keys.
    for alg in ["RS256", "ES256", "EdDSA"] {
        let k = key(&idp, alg);
        let (status, who, _) = me(&base, Some(&forge(&k, &k.kid, &claims(&idp)))).await;
        assert_eq!(status, 200, "{alg}: {who}");
    }
    // An email the provider has not verified is not used: an unverified address
    // could be anyone's.
    let token = idp.access_token("msp-unverified").await;
    let (status, who, _) = me(&base, Some(&token)).await;
    assert_eq!((status, &who["subject"]), (200, &json!("msp-unverified")));
    assert_eq!(who["email"], Value::Null, "{who}");
    let k = key(&idp, "RS256");
    let mut unsaid = claims(&idp);
    unsaid.as_object_mut().unwrap().remove("email_verified");
    let (_, who, _) = me(&base, Some(&forge(&k, &k.kid, &unsaid))).await;
    assert_eq!(who["email"], Value::Null, "without email_verified: {who}");
}

#[tokio::test]
async fn every_token_of_the_jwt_attack_set_gets_401() {
    let idp = Idp::start().await;
    let other = Idp::start().await;
    let base = gateway(&idp).await;
    let rsa = key(&idp, "RS256");
    let real = idp.access_token("acme-admin").await;
    let real_payload = real.split('.').nth(1).unwrap().to_owned();

    let mut attacks: Vec<(&str, Option<String>)> = vec![("no token", None)];
    attacks.push(("not a JWT", Some("not.a.jwt".into())));
    attacks.push((
        "alg none",
        Some(format!(
            "{}.{real_payload}.",
            b64(&json!({ "alg": "none", "typ": "JWT", "kid": rsa.kid }))
        )),
    ));
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(rsa.kid.clone());
        encode(
            &header,
            &claims(&idp),
            &EncodingKey::from_secret(rsa.public_pem.as_bytes()),
        )
        .unwrap()
    };
    attacks.push(("HS256 signed with the RSA public key", Some(hs256)));
    attacks.push((
        "an unknown kid",
        Some(forge(&rsa, "no-such-key", &claims(&idp))),
    ));
    attacks.push((
        "the right kid, another key",
        Some(forge(&key(&other, "RS256"), &rsa.kid, &claims(&idp))),
    ));
    let es = key(&idp, "ES256");
    attacks.push((
        "a key used with another algorithm's kid",
        Some(forge(&es, &rsa.kid, &claims(&idp))),
    ));
    let mut expired = claims(&idp);
    expired["exp"] = json!(now() - 120);
    attacks.push(("expired", Some(forge(&rsa, &rsa.kid, &expired))));
    let mut early = claims(&idp);
    early["nbf"] = json!(now() + 3600);
    attacks.push(("nbf in the future", Some(forge(&rsa, &rsa.kid, &early))));
    let mut aud = claims(&idp);
    aud["aud"] = json!("urn:someone:else");
    attacks.push(("wrong aud", Some(forge(&rsa, &rsa.kid, &aud))));
    let mut iss = claims(&idp);
    iss["iss"] = json!(other.issuer);
    attacks.push(("wrong iss", Some(forge(&rsa, &rsa.kid, &iss))));
    let mut no_sub = claims(&idp);
    no_sub.as_object_mut().unwrap().remove("sub");
    attacks.push(("missing sub", Some(forge(&rsa, &rsa.kid, &no_sub))));
    attacks.push((
        "a token from a second real issuer",
        Some(other.access_token("acme-admin").await),
    ));
    let tampered = {
        let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
        let mut payload = claims(&idp);
        payload["sub"] = json!("msp-admin");
        parts[1] = b64(&payload);
        parts.join(".")
    };
    attacks.push(("a real token with its payload changed", Some(tampered)));

    for (what, token) in &attacks {
        let (status, problem, challenge) = me(&base, token.as_deref()).await;
        assert_eq!(status, 401, "{what}: {problem}");
        assert_eq!(problem["code"], "unauthenticated", "{what}");
        assert_eq!(challenge.as_deref(), Some("Bearer"), "{what}");
    }
    // The real token still works: nothing above was refused for want of a key.
    assert_eq!(me(&base, Some(&real)).await.0, 200);
}
