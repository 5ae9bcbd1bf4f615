//! The issuer's keys: a token naming an unknown key id makes the gateway fetch the
//! key set again at most once per interval (a flood of made-up key ids cannot make
//! it hammer the issuer), and a key the issuer rotates in is picked up that way.
//! The issuer here is a small server in front of the real provider's keys, so that
//! the fetches can be counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use plinth_testkit::idp::AUDIENCE;
use plinth_testkit::{Idp, TokenKeys, test_bus_settings, test_topic_prefix, wait_until};
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// An issuer serving `keys` and counting the fetches of its key set.
struct Issuer {
    url: String,
    keys: Arc<RwLock<Value>>,
    fetches: Arc<AtomicUsize>,
}

async fn issuer(keys: Value) -> Issuer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let keys = Arc::new(RwLock::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, f, u) = (keys.clone(), fetches.clone(), url.clone());
    let server = HttpServer::new(move || {
        let (k, f, u) = (k.clone(), f.clone(), u.clone());
        App::new()
            .route(
                "/.well-known/openid-configuration",
                web::get().to(move || {
                    let u = u.clone();
                    async move {
                        HttpResponse::Ok()
                            .json(json!({ "issuer": u, "jwks_uri": format!("{u}/jwks") }))
                    }
                }),
            )
            .route(
                "/jwks",
                web::get().to(move || {
                    let (k, f) = (k.clone(), f.clone());
                    async move {
                        f.fetch_add(1, Ordering::SeqCst);
                        HttpResponse::Ok().json(k.read().await.clone())
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Issuer { url, keys, fetches }
}

async fn gateway(issuer: &str, refresh_seconds: u64) -> String {
    let app = gateway::Application::build(
        gateway::Settings::with_overrides(json!({
            "http": { "port": 0 },
            "oidc": {
                "issuer": issuer, "audience": AUDIENCE,
                "jwks_refresh_min_seconds": refresh_seconds
            },
            // An issuer for API clients only: no authorization endpoint to log in at.
            "login": { "enabled": false },
            "internal_token": { "private_key_pem": TokenKeys::generate().private_pem() },
            "bus": test_bus_settings(&test_topic_prefix(), json!({}))
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

fn token(issuer: &str, alg: Algorithm, pem: &str, kid: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims =
        json!({ "iss": issuer, "aud": AUDIENCE, "sub": "msp-admin", "iat": now, "exp": now + 600 });
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        _ => EncodingKey::from_ec_pem(pem.as_bytes()),
    }
    .unwrap();
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, &claims, &key).unwrap()
}

async fn me(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn unknown_key_ids_fetch_the_keys_at_most_once_per_interval_and_rotations_are_followed() {
    let idp = Idp::start().await;
    let all: Value = reqwest::get(format!("{}/jwks", idp.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_alg = |alg: &str| {
        all["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["alg"] == alg)
            .unwrap()
            .clone()
    };
    let private = |alg: &str| {
        idp.signing_keys()
            .into_iter()
            .find(|k| k.alg == alg)
            .unwrap()
    };
    // The issuer publishes its RSA key only, at first.
    let issuer = issuer(json!({ "keys": [by_alg("RS256")] })).await;
    let patient = gateway(&issuer.url, 3600).await;
    let eager = gateway(&issuer.url, 1).await;
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        2,
        "one fetch each at start"
    );
    // Without browser login, its routes are not there.
    let login = reqwest::get(format!("{patient}/auth/login")).await.unwrap();
    assert_eq!(login.status(), 404);
    let rsa = private("RS256");
    assert_eq!(
        me(
            &patient,
            &token(&issuer.url, Algorithm::RS256, &rsa.pem, &rsa.kid)
        )
        .await,
        200
    );

    // Twenty made-up key ids: refused, and no fetch (the interval has not passed).
    for i in 0..20 {
        let forged = token(
            &issuer.url,
            Algorithm::RS256,
            &rsa.pem,
            &format!("made-up-{i}"),
        );
        assert_eq!(me(&patient, &forged).await, 401);
    }
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);

    // The issuer rotates an ES256 key in: the eager gateway follows once its
    // interval has passed; the patient one keeps refusing until then.
    let es = private("ES256");
    issuer.keys.write().await["keys"]
        .as_array_mut()
        .unwrap()
        .push(by_alg("ES256"));
    let rotated = token(&issuer.url, Algorithm::ES256, &es.pem, &es.kid);
    let started = std::time::Instant::now();
    wait_until(
        "the eager gateway follows the rotation",
        Duration::from_secs(30),
        || async { me(&eager, &rotated).await == 200 },
    )
    .await;
    assert_eq!(me(&patient, &rotated).await, 401);
    // Polling every 50 ms asked for the unknown key ~20 times a second; the eager
    // gateway fetched at most once a second.
    let eager_fetches = issuer.fetches.load(Ordering::SeqCst) - 2;
    let bound = started.elapsed().as_secs() as usize + 2;
    assert!(
        eager_fetches >= 1 && eager_fetches <= bound,
        "{eager_fetches} fetches, at most {bound}"
    );
}
