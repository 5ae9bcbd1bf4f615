//! Browser login: the gateway is a confidential OpenID Connect client of the
//! configured issuer. `GET /auth/login` sends the browser to the issuer with an
//! authorization-code request carrying a PKCE challenge (S256), a nonce and a
//! state, all three kept in a short-lived encrypted cookie; `GET /auth/callback`
//! checks the state, redeems the code with the PKCE verifier, checks the ID token
//! (signature, issuer, audience, expiry, nonce, and the access token's hash), takes
//! the person's groups from the access token — checked exactly as an API client's
//! bearer token is — and starts a session. `POST /auth/logout` (a form carrying the
//! CSRF token) ends the session and sends the browser to the issuer's end-session
//! endpoint (RP-initiated logout).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    TokenResponse as _,
};
use plinth_core::{ApiError, Code};
use serde::{Deserialize, Serialize};

use crate::identity::Identity;
use crate::identity::session::{Found, Opened, Session, csrf_refused, same_secret};
use crate::proxy::Proxy;
use crate::settings::LoginSettings;

/// The login cookie is sent back only to the callback.
const LOGIN_PATH: &str = "/auth/callback";
/// How long a person has to finish logging in at the issuer.
const LOGIN_SECONDS: i64 = 600;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The gateway's side of the login.
pub struct Login {
    /// The issuer's endpoints and keys, discovered again when an ID token names
    /// a key the gateway does not know (at most once per `refresh_min`).
    provider: parking_lot::RwLock<Arc<Provider>>,
    discovered: tokio::sync::Mutex<Instant>,
    refresh_min: Duration,
    registration: Registration,
    scopes: Vec<String>,
    post_logout: String,
    http: reqwest::Client,
}

/// What discovery found.
struct Provider {
    client: Client,
    end_session: Option<EndSessionUrl>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("issuer", &self.registration.issuer)
            .field("scopes", &self.scopes)
            .field("post_logout", &self.post_logout)
            .finish_non_exhaustive()
    }
}

/// What the callback needs to finish a login the gateway started.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    pkce_verifier: String,
    return_to: String,
}

/// The issuer's HTTP requests, made with the gateway's client; redirects are not
/// followed (a discovery or token endpoint that redirects is refused).
#[expect(
    clippy::expect_used,
    reason = "a status and headers taken from a response make a response"
)]
async fn send(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let response = http.execute(request.try_into()?).await?;
    let mut answer = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(answer
        .body(body)
        .expect("a status and headers taken from a response make a response"))
}

/// Who the gateway is at the issuer.
struct Registration {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect: String,
}

impl Registration {
    async fn discover(&self, http: &reqwest::Client) -> anyhow::Result<Provider> {
        let fetch = |request| send(http.clone(), request);
        let metadata = ProviderMetadataWithLogout::discover_async(
            IssuerUrl::new(self.issuer.clone())?,
            &fetch,
        )
        .await
        .map_err(|e| anyhow::anyhow!("discovering the login endpoints: {e}"))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            self.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect.clone())?);
        Ok(Provider {
            client,
            end_session,
        })
    }
}

impl Login {
    /// Discovers the issuer's endpoints and keys.
    pub async fn discover(
        http: reqwest::Client,
        issuer: &str,
        login: &LoginSettings,
        public_url: &str,
        refresh_min: Duration,
    ) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret as _;
        let secret = login.client_secret.expose_secret();
        let registration = Registration {
            issuer: issuer.to_owned(),
            client_id: login.client_id.clone(),
            client_secret: (!secret.is_empty()).then(|| secret.to_owned()),
            redirect: format!("{public_url}/auth/callback"),
        };
        let provider = registration.discover(&http).await?;
        Ok(Login {
            provider: parking_lot::RwLock::new(Arc::new(provider)),
            discovered: tokio::sync::Mutex::new(Instant::now()),
            refresh_min,
            registration,
            scopes: login.scopes.clone(),
            post_logout: if login.post_logout_redirect_url.is_empty() {
                format!("{public_url}/")
            } else {
                login.post_logout_redirect_url.clone()
            },
            http,
        })
    }

    fn provider(&self) -> Arc<Provider> {
        self.provider.read().clone()
    }

    /// Discovers the issuer again, unless that was done less than `refresh_min`
    /// ago: whether there is something new to try.
    async fn rediscover(&self) -> bool {
        let mut discovered = self.discovered.lock().await;
        if discovered.elapsed() < self.refresh_min {
            return false;
        }
        *discovered = Instant::now();
        match self.registration.discover(&self.http).await {
            Ok(provider) => {
                *self.provider.write() = Arc::new(provider);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "discovering the identity provider again failed");
                false
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Where to go once logged in: a path of this gateway.
    return_to: Option<String>,
}

/// A place on this gateway to return to: a path, never another origin
/// (`//host`, `/\host`, or an absolute URL would make the login an open redirect).
fn local_path(return_to: Option<String>) -> String {
    match return_to {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/".to_owned(),
    }
}

fn redirect(location: &str) -> actix_web::HttpResponseBuilder {
    let mut answer = HttpResponse::SeeOther();
    answer
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    answer
}

/// `GET /auth/login`: to the issuer.
pub async fn start(
    query: web::Query<LoginQuery>,
    login: web::Data<Login>,
    proxy: web::Data<Proxy>,
) -> HttpResponse {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let provider = login.provider();
    let mut request = provider.client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in login.scopes.iter().filter(|s| s.as_str() != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    let pending = Pending {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        return_to: local_path(query.into_inner().return_to),
    };
    redirect(url.as_str())
        .cookie(proxy.sessions.seal(
            proxy.sessions.login_cookie(),
            &pending,
            LOGIN_PATH,
            LOGIN_SECONDS,
        ))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn failed(message: impl Into<String>) -> ApiError {
    ApiError::unauthenticated(message).with_code(Code::LoginFailed)
}

/// `GET /auth/callback`: back from the issuer.
pub async fn callback(
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
    login: web::Data<Login>,
    proxy: web::Data<Proxy>,
) -> Result<HttpResponse, ApiError> {
    let sessions = &proxy.sessions;
    let forget = sessions.removal(sessions.login_cookie(), LOGIN_PATH);
    let finished = finish(&req, query.into_inner(), &login, &proxy).await;
    match finished {
        Ok((session, return_to)) => {
            tracing::info!(subject = %session.subject, "logged in");
            Ok(redirect(&return_to)
                .cookie(forget)
                .cookie(sessions.cookie(&session))
                .finish())
        }
        Err(error) => {
            tracing::info!(error = ?error.internal_message(), "login refused");
            let mut answer = actix_web::ResponseError::error_response(&error);
            let _ = answer.add_cookie(&forget);
            Ok(answer)
        }
    }
}

async fn finish(
    req: &HttpRequest,
    query: CallbackQuery,
    login: &Login,
    proxy: &Proxy,
) -> Result<(Session, String), ApiError> {
    let Opened::Value(pending) = proxy
        .sessions
        .open::<Pending>(req, proxy.sessions.login_cookie())
    else {
        return Err(
            failed("this login was not started here or took too long: log in again")
                .with_internal("no login cookie that opens"),
        );
    };
    let offered = query.state.unwrap_or_default();
    if offered.is_empty() || !same_secret(&offered, &pending.state) {
        return Err(failed("this login was not started here: log in again")
            .with_internal("the state does not match the login cookie"));
    }
    if let Some(error) = query.error {
        return Err(failed(format!(
            "the identity provider refused the login: {}",
            query.error_description.unwrap_or(error)
        )));
    }
    let code = query
        .code
        .ok_or_else(|| failed("the identity provider sent no code"))?;
    let fetch = |request| send(login.http.clone(), request);
    let provider = login.provider();
    let tokens = provider
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(ApiError::internal)?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&fetch)
        .await
        .map_err(|e| failed("the identity provider did not accept the code").with_internal(e))?;
    let id_token: &CoreIdToken = tokens
        .id_token()
        .ok_or_else(|| failed("the identity provider sent no ID token"))?;
    let nonce = Nonce::new(pending.nonce);
    let subject = match check_id_token(&provider.client, id_token, &nonce, tokens.access_token()) {
        Ok(subject) => subject,
        // Signed with a key the gateway has not seen: the issuer may have rotated
        // its keys since they were discovered.
        Err(first) => {
            if !login.rediscover().await {
                return Err(first);
            }
            check_id_token(
                &login.provider().client,
                id_token,
                &nonce,
                tokens.access_token(),
            )?
        }
    };
    // The person's groups and email are in the access token, which must pass as a
    // bearer token would: the same issuer, audience and keys.
    let identity = proxy
        .verifier
        .verify(tokens.access_token().secret())
        .await
        .map_err(|e| {
            failed("the access token is not for this gateway")
                .with_internal(e.internal_message().unwrap_or_default())
        })?;
    if identity.subject != subject {
        return Err(failed(
            "the ID token and the access token name different people",
        ));
    }
    let refresh_token = tokens.refresh_token().map(|t| t.secret().clone());
    let session = proxy
        .sessions
        .start(identity, id_token.to_string(), refresh_token);
    Ok((session, pending.return_to))
}

impl Login {
    /// The person of a session as the identity provider sees them now, asked with
    /// the session's refresh token: their identity and the next refresh token, or
    /// `None` when the provider no longer lets the session go on (the token was
    /// revoked, the person removed).
    pub async fn recheck(
        &self,
        refresh_token: &str,
        proxy: &Proxy,
    ) -> Result<Option<(Identity, Option<String>)>, ApiError> {
        let fetch = |request| send(self.http.clone(), request);
        let provider = self.provider();
        let answer = provider
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .map_err(ApiError::internal)?
            .request_async(&fetch)
            .await;
        let tokens = match answer {
            Ok(tokens) => tokens,
            Err(RequestTokenError::ServerResponse(refused)) => {
                tracing::info!(error = %refused.error(), "the identity provider ended a session");
                return Ok(None);
            }
            Err(other) => {
                return Err(
                    ApiError::unavailable("the identity provider could not be asked")
                        .with_internal(other),
                );
            }
        };
        let identity = proxy
            .verifier
            .verify(tokens.access_token().secret())
            .await
            .map_err(|e| {
                ApiError::unavailable("the identity provider's answer could not be checked")
                    .with_internal(e.internal_message().unwrap_or_default())
            })?;
        Ok(Some((
            identity,
            tokens.refresh_token().map(|t| t.secret().clone()),
        )))
    }
}

/// The ID token's checks (signature, issuer, audience, expiry, nonce, and the
/// access token's hash when it has one): its subject.
fn check_id_token(
    client: &Client,
    id_token: &CoreIdToken,
    nonce: &Nonce,
    access_token: &AccessToken,
) -> Result<String, ApiError> {
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, nonce)
        .map_err(|e| failed("the ID token is not valid").with_internal(e))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(ApiError::internal)?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(ApiError::internal)?;
        let actual =
            AccessTokenHash::from_token(access_token, alg, key).map_err(ApiError::internal)?;
        if actual != *expected {
            return Err(failed("the access token does not belong to the ID token"));
        }
    }
    Ok(claims.subject().as_str().to_owned())
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf_token: Option<String>,
}

/// `POST /auth/logout`: a form with the CSRF token; ends the session here, then at
/// the issuer.
pub async fn logout(
    req: HttpRequest,
    form: web::Form<LogoutForm>,
    login: web::Data<Login>,
    proxy: web::Data<Proxy>,
) -> Result<HttpResponse, ApiError> {
    let sessions = &proxy.sessions;
    let forget = sessions.removal(sessions.session_cookie(), "/");
    let session = match proxy.session(&req) {
        Found::Valid(session) => *session,
        // Nothing to end here: just go where a logout goes.
        Found::None | Found::Ended => {
            return Ok(redirect(&login.post_logout).cookie(forget).finish());
        }
    };
    let offered = form
        .into_inner()
        .csrf_token
        .or_else(|| {
            req.headers()
                .get(crate::identity::session::CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if !session.csrf_matches(&offered) {
        return Err(csrf_refused());
    }
    // Ended here at once, and at every gateway of the region once the broker has
    // the record: a copy of the cookie stops working too.
    let expires_at = sessions.expires_at(&session);
    if let Err(err) = proxy
        .ended
        .end(&session.id, &session.subject, expires_at)
        .await
    {
        let mut refused = actix_web::ResponseError::error_response(&err);
        refused.add_cookie(&forget).map_err(ApiError::internal)?;
        return Ok(refused);
    }
    tracing::info!(subject = %session.subject, "logged out");
    let provider = login.provider();
    let location = match &provider.end_session {
        Some(endpoint) => {
            let mut request = LogoutRequest::from(endpoint.clone())
                .set_client_id(provider.client.client_id().clone());
            if let Ok(id_token) = session.id_token.parse::<CoreIdToken>() {
                request = request.set_id_token_hint(&id_token);
            }
            if let Ok(url) = PostLogoutRedirectUrl::new(login.post_logout.clone()) {
                request = request.set_post_logout_redirect_uri(url);
            }
            request.http_get_url().to_string()
        }
        None => login.post_logout.clone(),
    };
    Ok(redirect(&location).cookie(forget).finish())
}
