//! The `vault` backend against a local server speaking the wire format of
//! Vault's transit engine (`POST /v1/<mount>/encrypt/<key>` and `…/decrypt/<key>`,
//! `X-Vault-Token`, `{"data": …}` answers and `{"errors": […]}` refusals), since
//! no Vault server can be installed here. Vault wraps the data key and never sees
//! the secret; the binding travels as associated data, so a wrapped key moved to
//! another row does not unwrap.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use plinth_secrets::{
    Binding, EnvelopeStore, ExposeSecret, Kek, SecretError, SecretStore, SecretString, VaultStore,
};
use serde_json::{Value, json};

const CANARY: &str = "sk-canary-vault-77d0c2e1b5";
const TOKEN: &str = "hvs.test-token";

/// A transit engine mounted at `transit` with one key, `plinth-secrets`.
struct Transit {
    key: Aes256Gcm,
    /// Every request body it received.
    seen: Mutex<Vec<String>>,
}

fn refuse(status: u16, error: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({ "errors": [error] }))
}

fn answer(data: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "request_id": "6a7c1b1e-0000-4000-8000-000000000001", "lease_id": "", "renewable": false,
        "lease_duration": 0, "data": data, "wrap_info": null, "warnings": null, "auth": null,
        "mount_type": "transit"
    }))
}

async fn transit(
    engine: web::Data<Transit>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: String,
) -> HttpResponse {
    engine.seen.lock().unwrap().push(body.clone());
    let (mount, op, key) = path.into_inner();
    if req
        .headers()
        .get("x-vault-token")
        .and_then(|v| v.to_str().ok())
        != Some(TOKEN)
    {
        return refuse(403, "permission denied");
    }
    if mount != "transit" || key != "plinth-secrets" {
        return refuse(400, "encryption key not found");
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let aad = body["associated_data"]
        .as_str()
        .map(|a| STANDARD.decode(a).unwrap_or_default())
        .unwrap_or_default();
    match op.as_str() {
        "encrypt" => {
            let Ok(plain) = STANDARD.decode(body["plaintext"].as_str().unwrap_or_default()) else {
                return refuse(400, "failed to base64-decode plaintext");
            };
            let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
            let ct = engine
                .key
                .encrypt(
                    &nonce,
                    Payload {
                        msg: &plain,
                        aad: &aad,
                    },
                )
                .unwrap();
            let wrapped = STANDARD.encode([nonce.as_slice(), &ct].concat());
            answer(json!({ "ciphertext": format!("vault:v1:{wrapped}"), "key_version": 1 }))
        }
        "decrypt" => {
            let Some(wrapped) = body["ciphertext"]
                .as_str()
                .and_then(|c| c.strip_prefix("vault:v1:"))
            else {
                return refuse(400, "invalid ciphertext: no prefix");
            };
            let Ok(raw) = STANDARD.decode(wrapped) else {
                return refuse(400, "invalid ciphertext: could not decode base64");
            };
            if raw.len() < 12 {
                return refuse(400, "invalid ciphertext: too short");
            }
            let (nonce, ct) = raw.split_at(12);
            match engine
                .key
                .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            {
                Ok(plain) => answer(json!({ "plaintext": STANDARD.encode(plain) })),
                Err(_) => refuse(400, "cipher: message authentication failed"),
            }
        }
        _ => refuse(405, "unsupported operation"),
    }
}

/// The local transit engine: its address and what it received.
async fn start_transit() -> (String, web::Data<Transit>) {
    let engine = web::Data::new(Transit {
        key: Aes256Gcm::new(&Aes256Gcm::generate_key(OsRng)),
        seen: Mutex::new(Vec::new()),
    });
    let shared = engine.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .route("/v1/{mount}/{op}/{key}", web::post().to(transit))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (address, engine)
}

fn binding() -> Binding<'static> {
    Binding {
        tenant: "ten_eu_0123456789abcdef0123456789abcdef",
        owner: "pcn_anthropic_main",
        version: 3,
    }
}

fn vault(address: &str, token: &str) -> VaultStore {
    VaultStore::new(
        address,
        &SecretString::from(token),
        "transit",
        "plinth-secrets",
    )
    .unwrap()
}

#[tokio::test]
async fn vault_wraps_the_data_key_and_never_sees_the_secret() {
    let (address, engine) = start_transit().await;
    let store = vault(&address, TOKEN);
    let sealed = store
        .seal(&binding(), &SecretString::from(CANARY))
        .await
        .unwrap();
    assert_eq!(
        (sealed.backend.as_str(), sealed.key_id.as_str()),
        ("vault", "plinth-secrets")
    );
    assert!(sealed.wrapped_key.starts_with(b"vault:v1:"));
    let opened = store.open(&binding(), &sealed).await.unwrap();
    assert_eq!(opened.expose_secret(), CANARY);
    let seen = engine.seen.lock().unwrap().join("\n");
    assert_eq!(
        engine.seen.lock().unwrap().len(),
        2,
        "one encrypt, one decrypt"
    );
    assert!(!seen.contains(CANARY) && !seen.contains(&STANDARD.encode(CANARY)));
    // The binding went along as the wrapping's associated data, both ways.
    assert_eq!(seen.matches("\"associated_data\"").count(), 2, "{seen}");
    // A positive control: what Vault did see is searchable the same way.
    assert!(seen.contains(std::str::from_utf8(&sealed.wrapped_key).unwrap()));
}

#[tokio::test]
async fn a_moved_or_tampered_secret_does_not_open() {
    let (address, _) = start_transit().await;
    let store = vault(&address, TOKEN);
    let sealed = store
        .seal(&binding(), &SecretString::from(CANARY))
        .await
        .unwrap();
    let other = Binding {
        tenant: "ten_eu_ffffffffffffffffffffffffffffffff",
        ..binding()
    };
    assert!(matches!(
        store.open(&other, &sealed).await,
        Err(SecretError::Undecryptable)
    ));
    let mut wrapped = sealed.clone();
    let last = wrapped.wrapped_key.len() - 3;
    wrapped.wrapped_key[last] = if wrapped.wrapped_key[last] == b'A' {
        b'B'
    } else {
        b'A'
    };
    assert!(matches!(
        store.open(&binding(), &wrapped).await,
        Err(SecretError::Undecryptable)
    ));
    let mut ciphertext = sealed.clone();
    ciphertext.ciphertext[0] ^= 1;
    assert!(matches!(
        store.open(&binding(), &ciphertext).await,
        Err(SecretError::Undecryptable)
    ));
    let mut shredded = sealed.clone();
    shredded.wrapped_key.clear();
    assert!(matches!(
        store.open(&binding(), &shredded).await,
        Err(SecretError::Undecryptable)
    ));
}

#[tokio::test]
async fn a_refused_token_or_an_absent_vault_is_unavailable_not_undecryptable() {
    let (address, _) = start_transit().await;
    let sealed = vault(&address, TOKEN)
        .seal(&binding(), &SecretString::from(CANARY))
        .await
        .unwrap();
    let wrong_token = vault(&address, "hvs.someone-else");
    assert!(matches!(
        wrong_token.open(&binding(), &sealed).await,
        Err(SecretError::Unavailable(why)) if why.contains("403")
    ));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let absent = vault(&format!("http://127.0.0.1:{port}"), TOKEN);
    assert!(matches!(
        absent.seal(&binding(), &SecretString::from(CANARY)).await,
        Err(SecretError::Unavailable(_))
    ));
}

#[tokio::test]
async fn each_backend_opens_only_what_it_sealed() {
    let (address, _) = start_transit().await;
    let vault = vault(&address, TOKEN);
    let envelope = EnvelopeStore::new(Kek::generate(), Vec::new());
    let by_envelope = envelope
        .seal(&binding(), &SecretString::from(CANARY))
        .await
        .unwrap();
    let by_vault = vault
        .seal(&binding(), &SecretString::from(CANARY))
        .await
        .unwrap();
    assert!(
        matches!(vault.open(&binding(), &by_envelope).await, Err(SecretError::OtherBackend(b)) if b == "envelope")
    );
    assert!(
        matches!(envelope.open(&binding(), &by_vault).await, Err(SecretError::OtherBackend(b)) if b == "vault")
    );
}
