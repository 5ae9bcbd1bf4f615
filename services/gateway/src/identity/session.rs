//! Browser sessions: who logged in, kept in a cookie that only the gateways
//! holding the session key can read or make (AES-256-GCM with the cookie's name
//! bound in, so a cookie cannot be tampered with, read, or passed off under
//! another name). The cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` when the
//! gateway's public URL is `https`. A session ends when it has been idle for the
//! idle timeout or has lived for the absolute timeout, whichever comes first.
//!
//! A request carried by a session cookie rather than a bearer token must also
//! carry the session's CSRF token for any method that changes something: in the
//! `x-csrf-token` header (the console's calls) or the `csrf_token` field of a form.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use base64::Engine as _;
use plinth_core::{ApiError, Code, Region};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Identity;
use crate::settings::LoginSettings;

/// The header carrying the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How often at most an active session's cookie is rewritten to move its idle
/// deadline, in seconds.
const TOUCH_EVERY: i64 = 60;

/// A logged-in person, as kept in the session cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// A random id: what a logout ends ([`super::ended`]), so that a copy of the
    /// cookie stops working too. A cookie without one is not accepted.
    #[serde(default)]
    pub id: String,
    pub subject: String,
    pub email: Option<String>,
    /// The identity provider's groups when the person logged in.
    pub groups: Vec<String>,
    pub issuer: String,
    /// The ID token, sent back as the hint of the logout at the provider.
    pub id_token: String,
    /// The token state-changing requests must carry.
    pub csrf: String,
    /// Unix seconds.
    pub issued_at: i64,
    pub last_seen: i64,
    /// The refresh token the identity provider gave, to ask it about the person
    /// again ([`Sessions::recheck_due`]).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the person's groups were last had from the identity provider (Unix
    /// seconds).
    #[serde(default)]
    pub checked_at: i64,
    /// Changed in this request: the cookie is written again.
    #[serde(skip)]
    pub changed: bool,
}

impl Session {
    pub fn identity(&self) -> Identity {
        Identity {
            subject: self.subject.clone(),
            email: self.email.clone(),
            groups: self.groups.clone(),
            issuer: self.issuer.clone(),
        }
    }

    /// Whether `offered` is this session's CSRF token.
    pub fn csrf_matches(&self, offered: &str) -> bool {
        same_secret(offered, &self.csrf)
    }
}

/// Whether two secrets are equal, compared by their digests so that the time
/// taken says nothing about where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// What a session cookie turned out to be.
#[derive(Debug)]
pub enum Found {
    None,
    Valid(Box<Session>),
    /// There was one, but it is past a deadline or not ours: the browser should
    /// drop it.
    Ended,
}

/// What an encrypted cookie of a request holds.
#[derive(Debug)]
pub enum Opened<T> {
    Absent,
    Value(T),
    /// Made with another key, changed, or not what it should hold.
    Unreadable,
}

/// Makes and reads the gateway's encrypted cookies.
pub struct Sessions {
    key: Key,
    /// The cookies' names carry the region: two regions' gateways on one host
    /// (the dev stack) keep apart.
    session_cookie: String,
    login_cookie: String,
    secure: bool,
    idle: i64,
    absolute: i64,
    recheck: i64,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("secure", &self.secure)
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .finish_non_exhaustive()
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Sessions {
    /// The session key is 64 random bytes, base64; without one a key is made for
    /// this process, and sessions end with it.
    pub fn new(login: &LoginSettings, public_url: &str, region: Region) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret as _;
        let configured = login.session_key.expose_secret().trim();
        let key = if configured.is_empty() {
            tracing::warn!(
                "no login.session_key: sessions last only as long as this process and are not shared with other gateways"
            );
            Key::generate()
        } else {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(configured)
                .map_err(|e| anyhow::anyhow!("login.session_key is not base64: {e}"))?;
            Key::try_from(bytes.as_slice()).map_err(|_| {
                anyhow::anyhow!(
                    "login.session_key must be at least 64 random bytes (`openssl rand -base64 64`)"
                )
            })?
        };
        Ok(Sessions {
            key,
            session_cookie: format!("plinth_{region}_session"),
            login_cookie: format!("plinth_{region}_login"),
            secure: public_url.starts_with("https://"),
            idle: login.idle_timeout_seconds as i64,
            absolute: login.absolute_timeout_seconds as i64,
            recheck: login.groups_recheck_seconds as i64,
        })
    }

    /// An encrypted cookie holding `value`.
    #[expect(clippy::expect_used, reason = "a session serializes")]
    pub fn seal<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        path: &'static str,
        max_age_seconds: i64,
    ) -> Cookie<'static> {
        let mut jar = CookieJar::new();
        let cookie = Cookie::build(
            name.to_owned(),
            serde_json::to_string(value).expect("a session serializes"),
        )
        .path(path)
        .http_only(true)
        .secure(self.secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_seconds))
        .finish();
        jar.private_mut(&self.key).add(cookie);
        jar.get(name)
            .expect("the jar holds what was just added")
            .clone()
    }

    /// The value of the encrypted cookie `name`, if the request has one that
    /// opens.
    pub fn open<T: DeserializeOwned>(&self, req: &HttpRequest, name: &str) -> Opened<T> {
        let Some(cookie) = req.cookie(name) else {
            return Opened::Absent;
        };
        let jar = CookieJar::new();
        jar.private(&self.key)
            .decrypt(cookie)
            .and_then(|opened| serde_json::from_str(opened.value()).ok())
            .map_or(Opened::Unreadable, Opened::Value)
    }

    /// A cookie that makes the browser forget `name`.
    pub fn removal(&self, name: &str, path: &'static str) -> Cookie<'static> {
        let mut cookie = Cookie::build(name.to_owned(), "")
            .path(path)
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish();
        cookie.make_removal();
        cookie
    }

    /// The request's session, if it has a live one.
    pub fn find(&self, req: &HttpRequest) -> Found {
        match self.open::<Session>(req, &self.session_cookie) {
            Opened::Absent => Found::None,
            Opened::Unreadable => Found::Ended,
            Opened::Value(session) => {
                let now = now();
                if now - session.issued_at >= self.absolute || now - session.last_seen >= self.idle
                {
                    Found::Ended
                } else {
                    Found::Valid(Box::new(session))
                }
            }
        }
    }

    /// The cookie of a session, living until its absolute deadline.
    pub fn cookie(&self, session: &Session) -> Cookie<'static> {
        let left = self.absolute - (now() - session.issued_at);
        self.seal(&self.session_cookie, session, "/", left.max(0))
    }

    /// A rewritten cookie moving the idle deadline, when the last move is a while
    /// ago.
    pub fn touch(&self, session: &Session) -> Option<Cookie<'static>> {
        let now = now();
        (session.changed || now - session.last_seen >= TOUCH_EVERY).then(|| {
            self.cookie(&Session {
                last_seen: now,
                ..session.clone()
            })
        })
    }

    /// Whether the session's person is due to be asked of the identity provider
    /// again.
    pub fn recheck_due(&self, session: &Session) -> bool {
        session.refresh_token.is_some() && now() - session.checked_at >= self.recheck
    }

    /// A new session for a person who just logged in.
    pub fn start(
        &self,
        identity: Identity,
        id_token: String,
        refresh_token: Option<String>,
    ) -> Session {
        let now = now();
        Session {
            refresh_token,
            checked_at: now,
            changed: false,
            id: uuid::Uuid::new_v4().simple().to_string(),
            subject: identity.subject,
            email: identity.email,
            groups: identity.groups,
            issuer: identity.issuer,
            id_token,
            csrf: openidconnect::CsrfToken::new_random().secret().clone(),
            issued_at: now,
            last_seen: now,
        }
    }

    /// The session cookie's name.
    pub fn session_cookie(&self) -> &str {
        &self.session_cookie
    }

    /// The name of the cookie that carries a login from its start to the callback.
    pub fn login_cookie(&self) -> &str {
        &self.login_cookie
    }

    pub fn idle_seconds(&self) -> i64 {
        self.idle
    }

    /// When `session` ends however it is used (Unix seconds).
    pub fn expires_at(&self, session: &Session) -> i64 {
        session.issued_at + self.absolute
    }
}

/// The CSRF check of a request carried by a session: safe methods pass; others
/// must name the session's token in the header.
pub fn check_csrf(req: &HttpRequest, session: &Session) -> Result<(), ApiError> {
    if req.method().is_safe() {
        return Ok(());
    }
    let offered = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if session.csrf_matches(offered) {
        Ok(())
    } else {
        Err(csrf_refused())
    }
}

pub fn csrf_refused() -> ApiError {
    ApiError::forbidden(
        "a request made with a session cookie must carry the session's CSRF token (x-csrf-token, or csrf_token in a form)",
    )
    .with_code(Code::CsrfTokenMismatch)
}
