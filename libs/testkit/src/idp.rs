//! The dev identity provider (`deploy/dev/idp`, oidc-provider on Node), started for
//! one test on a port and with keys of its own, and logged in to as its demo users
//! through the real authorization-code flow with PKCE.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The gateway client the dev identity provider knows.
pub const CLIENT_ID: &str = "plinth-gateway";
/// The secret of [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "plinth-dev-gateway-secret";
/// The audience of its access tokens.
pub const AUDIENCE: &str = "urn:plinth:api";

/// One of the provider's signing keys, private: for forging tokens that differ
/// from a real one in a single claim.
#[derive(Debug, Clone, Deserialize)]
pub struct SigningKey {
    /// The key's id (`kid`).
    pub kid: String,
    /// Its algorithm, e.g. `RS256`.
    pub alg: String,
    /// The private key, PEM.
    pub pem: String,
    /// The public key, PEM.
    pub public_pem: String,
}

/// A running identity provider; stopped when dropped.
#[derive(Debug)]
pub struct Idp {
    /// Its issuer URL.
    pub issuer: String,
    /// The redirect URI the gateway client is registered with.
    pub redirect_uri: String,
    /// For an HTTPS provider: the PEM file of the certificate authority that
    /// signed its certificate (nothing else trusts it).
    pub ca_file: Option<PathBuf>,
    state: PathBuf,
    _process: tokio::process::Child,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port nobody listens on now: for a server whose address must be known before
/// it starts (a gateway registered with the provider as its client).
pub fn free_port() -> u16 {
    use std::hash::BuildHasher as _;
    // Below the kernel's ephemeral range (32768 and up), where every port-0 bind
    // and every outgoing connection takes its port: a port chosen here and bound
    // a moment later is not taken by those in between, only, rarely, by another
    // caller of this function, which draws at random.
    // (The dev brokers' controllers listen at 20092 and 20093.)
    const LOW: u16 = 21000;
    const SPAN: u64 = 11000;
    let random = std::collections::hash_map::RandomState::new();
    for attempt in 0u64..1000 {
        let port = LOW + u16::try_from(random.hash_one(attempt) % SPAN).expect("under the span");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {LOW} and {}", u64::from(LOW) + SPAN)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Idp {
    /// Starts a provider whose access tokens live `access_ttl` seconds.
    pub async fn start_with_ttl(access_ttl: u64) -> Idp {
        Self::launch(access_ttl, "http://127.0.0.1:1", false).await
    }

    /// Starts a provider serving HTTPS with a certificate of a certificate
    /// authority made for it ([`Idp::ca_file`]).
    pub async fn start_tls() -> Idp {
        Self::launch(3600, "http://127.0.0.1:1", true).await
    }

    /// Starts a provider whose client is the gateway at `gateway` (`http://host:port`):
    /// it may be sent back to `<gateway>/auth/callback` and, after logging out, to
    /// `<gateway>/`.
    pub async fn start_for_gateway(gateway: &str) -> Idp {
        Self::launch(3600, gateway, false).await
    }

    async fn launch(access_ttl: u64, gateway: &str, tls: bool) -> Idp {
        let port = free_port();
        let scheme = if tls { "https" } else { "http" };
        let issuer = format!("{scheme}://127.0.0.1:{port}");
        let redirect_uri = format!("{gateway}/auth/callback");
        let state = std::env::temp_dir().join(format!("plinth-idp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&state).expect("the provider's state directory");
        // Its own copy of the demo users, which a test may change (`set_groups`).
        let users = state.join("users.json");
        std::fs::copy(repo_root().join("deploy/dev/idp/users.json"), &users)
            .expect("the demo users");
        let mut command = tokio::process::Command::new("node");
        command.env("PLINTH_IDP_USERS", &users);
        let ca_file = tls.then(|| {
            let (ca, cert, key) = make_certificates(&state);
            command
                .env("PLINTH_IDP_TLS_CERT", cert)
                .env("PLINTH_IDP_TLS_KEY", key);
            ca
        });
        let process = command
            .arg("server.mjs")
            .current_dir(repo_root().join("deploy/dev/idp"))
            .env("PLINTH_IDP_PORT", port.to_string())
            .env("PLINTH_IDP_ISSUER", &issuer)
            .env("PLINTH_IDP_STATE", &state)
            .env("PLINTH_IDP_REDIRECT_URIS", &redirect_uri)
            .env("PLINTH_IDP_LOGOUT_URIS", format!("{gateway}/"))
            .env("PLINTH_IDP_ACCESS_TTL", access_ttl.to_string())
            .stdout(std::fs::File::create(state.join("idp.log")).expect("the provider's log"))
            .stderr(std::fs::File::create(state.join("idp.err")).expect("the provider's log"))
            .kill_on_drop(true)
            .spawn()
            .expect("node runs the dev identity provider (make test installs it)");
        let mut idp = Idp {
            issuer,
            redirect_uri,
            ca_file,
            state,
            _process: process,
        };
        let discovery = format!("{}/.well-known/openid-configuration", idp.issuer);
        let http = idp.client_builder().build().expect("an HTTP client");
        // Node starting under a full test run on two cores can take a while.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let last = match http.get(&discovery).send().await {
                Ok(r) if r.status().is_success() => return idp,
                Ok(r) => format!("answered {}", r.status()),
                Err(e) => format!("{e:?}"),
            };
            if std::time::Instant::now() > deadline {
                let read = |f: &str| std::fs::read_to_string(idp.state.join(f)).unwrap_or_default();
                let exited = idp._process.try_wait().ok().flatten();
                panic!(
                    "the identity provider {} did not answer: {last}; exited: {exited:?}; \
                     stdout: {}; stderr: {}",
                    idp.issuer,
                    read("idp.log"),
                    read("idp.err")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the dev identity provider on a free port, with its test users.
    pub async fn start() -> Idp {
        Self::start_with_ttl(3600).await
    }

    /// An HTTP client builder that trusts this provider's certificate.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder();
        match &self.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).expect("the provider's CA certificate");
                builder.tls_certs_merge(
                    reqwest::Certificate::from_pem_bundle(&pem).expect("a PEM certificate"),
                )
            }
            None => builder,
        }
    }

    /// The provider's private signing keys.
    pub fn signing_keys(&self) -> Vec<SigningKey> {
        let text = std::fs::read_to_string(self.state.join("signing-keys.json"))
            .expect("the provider wrote its keys");
        serde_json::from_str(&text).expect("its keys parse")
    }

    /// Logs in as `user` (a `sub` of deploy/dev/idp/users.json) through the
    /// authorization-code flow with PKCE, as a browser would, and returns the token
    /// response (`access_token`, `id_token`, …).
    pub async fn login(&self, user: &str) -> serde_json::Value {
        let http = self
            .client_builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        let verifier = b64(uuid::Uuid::new_v4().as_bytes()) + &b64(uuid::Uuid::new_v4().as_bytes());
        let challenge = b64(&Sha256::digest(verifier.as_bytes()));
        let first = http
            .get(format!("{}/auth", self.issuer))
            .query(&[
                ("client_id", CLIENT_ID),
                ("response_type", "code"),
                ("scope", "openid email profile groups api"),
                ("redirect_uri", &self.redirect_uri),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("state", "test-state"),
                ("nonce", "test-nonce"),
            ])
            .send()
            .await
            .expect("the authorization endpoint answers");
        let location = self.sign_in(&http, first, user, &self.redirect_uri).await;
        let url = reqwest::Url::parse(&location).expect("the redirect is a URL");
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code for {user}: {location}"));
        http.post(format!("{}/token", self.issuer))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .expect("the token endpoint answers")
            .json()
            .await
            .expect("a token response")
    }

    /// Walks a browser through the provider from `next` (an answer that sends it
    /// to the provider): follows its redirects, logs in as `user` and consents,
    /// until the provider sends the browser to a URL starting with `until`, which
    /// it returns. `http` must keep cookies and not follow redirects itself.
    pub async fn sign_in(
        &self,
        http: &reqwest::Client,
        mut next: reqwest::Response,
        user: &str,
        until: &str,
    ) -> String {
        loop {
            let location = next
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            if let Some(location) = location {
                if location.starts_with(until) {
                    return location;
                }
                let url = if location.starts_with('/') {
                    format!("{}{location}", self.issuer)
                } else {
                    location
                };
                next = http.get(url).send().await.expect("the provider answers");
                continue;
            }
            // An interaction page: log in, then consent.
            let url = next.url().to_string();
            let status = next.status();
            let page = next.text().await.expect("a page");
            assert!(status.is_success(), "the provider refused: {status} {page}");
            let prompt = if page.contains("name=\"prompt\" value=\"consent\"") {
                vec![("prompt", "consent")]
            } else {
                vec![("prompt", "login"), ("login", user), ("password", "any")]
            };
            next = http
                .post(url)
                .form(&prompt)
                .send()
                .await
                .expect("the provider answers");
        }
    }

    /// A bearer access token of `user`.
    /// Gives the demo user `sub` these groups at the provider from now on, as an
    /// administrator of a real provider would.
    pub fn set_groups(&self, sub: &str, groups: &[&str]) {
        self.change_users(|users| {
            let user = users
                .iter_mut()
                .find(|u| u["sub"] == sub)
                .unwrap_or_else(|| panic!("no demo user {sub}"));
            user["groups"] = serde_json::json!(groups);
        });
    }

    /// Removes the demo user `sub` from the provider, as when a person leaves.
    pub fn remove_user(&self, sub: &str) {
        self.change_users(|users| users.retain(|u| u["sub"] != sub));
    }

    fn change_users(&self, change: impl FnOnce(&mut Vec<serde_json::Value>)) {
        let file = self.state.join("users.json");
        let mut users: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("the users"))
                .expect("the users parse");
        change(&mut users);
        // Written whole and renamed, so the provider never reads half a file.
        let next = self.state.join("users.json.next");
        std::fs::write(
            &next,
            serde_json::to_vec(&users).expect("the users serialize"),
        )
        .expect("the users written");
        std::fs::rename(next, file).expect("the users replaced");
    }

    /// An access token of the AI operations runtime: the client credentials
    /// grant of its machine client, as the runtime gets one.
    pub async fn runtime_token(&self) -> String {
        let http = reqwest::Client::new();
        let answer: serde_json::Value = http
            .post(format!("{}/token", self.issuer))
            .basic_auth("plinth-runtime", Some("plinth-dev-runtime-secret"))
            .form(&[("grant_type", "client_credentials"), ("scope", "api")])
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("a token answer");
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no runtime access token: {answer}"))
            .to_owned()
    }

    /// An access token for `user`, from a login at the provider.
    pub async fn access_token(&self, user: &str) -> String {
        let tokens = self.login(user).await;
        tokens["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token for {user}: {tokens}"))
            .to_owned()
    }
}

/// A certificate authority and a certificate it signed for `127.0.0.1`, made with
/// `openssl` in `dir`: the paths of the authority's certificate, the server's
/// certificate and its key.
fn make_certificates(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?} failed");
    };
    std::fs::write(
        path("server.ext"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("the certificate's extensions");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
            &["-subj", "/CN=Plinth test CA"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (path("ca.pem"), path("server.pem"), path("server.key"))
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
