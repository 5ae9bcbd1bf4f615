//! The one error type of the HTTP edge and its RFC 9457 problem documents.
//!
//! Every error has a kind and a stable snake_case `code` that clients may match on:
//! the kind's own ([`ErrorKind::code`]) or a narrower one of the same status
//! (`invalid_transition` is a `409`). [`Code`] is the one table of every code and
//! its status; `docs/errors.md` lists the same table for API clients, and a test
//! keeps the two equal. The external message is shown to the caller; the internal
//! one only reaches the logs.

use std::fmt;
use std::future::Future;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value};

use crate::{Region, RequestId};

/// The header that carries the request id in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: RequestId;
}

/// Declares [`Code`]: each variant with its wire string and HTTP status.
macro_rules! codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $code:literal, $status:ident; )+) => {
        /// Every stable `code` a problem document carries, with its HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl Code {
            /// Every code, in the order of `docs/errors.md`.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)+
                }
            }

            /// The HTTP status every error with this code answers with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)+
                }
            }
        }
    };
}

codes! {
    /// The resource does not exist, or is not the caller's to see.
    NotFound = "not_found", NOT_FOUND;
    /// A resource with this identity exists already.
    AlreadyExists = "already_exists", CONFLICT;
    /// A field or parameter is missing or invalid (`field` names it).
    InvalidRequest = "invalid_request", BAD_REQUEST;
    /// The body holds a NUL character (`\u0000`), which no field may hold.
    NulCharacter = "nul_character", BAD_REQUEST;
    /// A Domain or Tenant Pack failed validation (`errors` lists the problems).
    PackInvalid = "pack_invalid", BAD_REQUEST;
    /// A playbook failed validation (`errors` lists the problems).
    PlaybookInvalid = "playbook_invalid", BAD_REQUEST;
    /// A module release's manifest failed the schema (`errors` lists the problems).
    ManifestInvalid = "manifest_invalid", BAD_REQUEST;
    /// A policy record failed its schema or its scope's rules (`errors` lists
    /// the problems).
    PolicyInvalid = "policy_invalid", BAD_REQUEST;
    /// No valid credentials: no token, an expired or foreign one, or no session.
    Unauthenticated = "unauthenticated", UNAUTHORIZED;
    /// The login at the identity provider did not complete.
    LoginFailed = "login_failed", UNAUTHORIZED;
    /// The caller's roles do not allow the action on this tenant.
    Forbidden = "forbidden", FORBIDDEN;
    /// A request made with a session cookie lacks the session's CSRF token.
    CsrfTokenMismatch = "csrf_token_mismatch", FORBIDDEN;
    /// The platform's policy refuses this (`rule` names the rule that did).
    PolicyRefused = "policy_refused", FORBIDDEN;
    /// An approver cannot decide a change they asked for.
    OwnChange = "own_change", FORBIDDEN;
    /// Only an approver of the tenant switches activation approval off.
    ApproverRequired = "approver_required", FORBIDDEN;
    /// Whoever switched approval off does not activate without approval.
    ApprovalWaivedByActivator = "approval_waived_by_activator", FORBIDDEN;
    /// An approver cannot decide the approval request of a run they asked for.
    OwnRequest = "own_request", FORBIDDEN;
    /// The path exists, but not with this method.
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    /// The request conflicts with the resource's current state.
    Conflict = "conflict", CONFLICT;
    /// The resource's state does not allow this step (`allowed` lists what does).
    InvalidTransition = "invalid_transition", CONFLICT;
    /// The tenant's plan does not allow more of this resource.
    QuotaExceeded = "quota_exceeded", CONFLICT;
    /// This installation does not offer the deployment model asked for.
    DeploymentModelNotOffered = "deployment_model_not_offered", CONFLICT;
    /// This version exists with other content; versions are immutable.
    VersionExists = "version_exists", CONFLICT;
    /// Tenants run this pack version; it cannot be retired or deleted.
    PackInUse = "pack_in_use", CONFLICT;
    /// A module release's trust review has a failed check; it cannot be approved.
    ReviewFailed = "review_failed", CONFLICT;
    /// A readiness check of the module release fails for the tenant (`checks` lists them).
    ModuleNotReady = "module_not_ready", CONFLICT;
    /// The Domain and Tenant Pack versions do not fit together.
    ActivationIncompatible = "activation_incompatible", CONFLICT;
    /// The playbook needs what the tenant's active configuration does not have.
    PlaybookIncompatible = "playbook_incompatible", CONFLICT;
    /// The tenant has no active configuration to link a playbook to.
    NoActiveConfig = "no_active_config", CONFLICT;
    /// The change request was approved or rejected already.
    ChangeDecided = "change_decided", CONFLICT;
    /// The approval request was approved or rejected already (`decision` says which).
    AlreadyDecided = "already_decided", CONFLICT;
    /// The approval request expired before it was decided: it counts as rejected.
    ApprovalExpired = "approval_expired", CONFLICT;
    /// The tenant is not ACTIVE, so the runtime does not serve it.
    TenantNotActive = "tenant_not_active", CONFLICT;
    /// The setup link is being redeemed by another request right now.
    LinkBusy = "link_busy", CONFLICT;
    /// The tenant has no ready provider connection for what was asked.
    NoReadyConnection = "no_ready_connection", CONFLICT;
    /// The request is well-formed, but what it carries was refused.
    Unprocessable = "unprocessable", UNPROCESSABLE_ENTITY;
    /// The provider refused the key entered, or could not say it works (`outcome`).
    KeyRejected = "key_rejected", UNPROCESSABLE_ENTITY;
    /// The resource existed, and is no longer usable.
    Gone = "gone", GONE;
    /// The setup link expired before it was redeemed.
    LinkExpired = "link_expired", GONE;
    /// The setup link was redeemed already; a link is good for one key.
    LinkUsed = "link_used", GONE;
    /// The setup link was revoked.
    LinkRevoked = "link_revoked", GONE;
    /// The tenant lives in another region (`region`, `region_base_url`).
    WrongRegion = "wrong_region", MISDIRECTED_REQUEST;
    /// The request body is larger than the endpoint accepts.
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE;
    /// Over the rate limit (`retry_after` seconds, and the `Retry-After` header).
    TooManyRequests = "too_many_requests", TOO_MANY_REQUESTS;
    /// An unexpected error; the log line with the request id says what.
    Internal = "internal", INTERNAL_SERVER_ERROR;
    /// A dependency is down; retrying later may succeed.
    Unavailable = "unavailable", SERVICE_UNAVAILABLE;
    /// The service behind the gateway did not answer in time.
    UpstreamTimeout = "upstream_timeout", SERVICE_UNAVAILABLE;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, as far as the caller is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such resource, or none the caller reaches.
    NotFound,
    /// A resource with the same identity exists.
    AlreadyExists,
    /// A field (JSON pointer or parameter name) was missing or invalid.
    InvalidRequest {
        /// The field, when one is to blame.
        field: Option<String>,
    },
    /// No credentials, or none that verify.
    Unauthenticated,
    /// The caller's roles do not allow it.
    Forbidden,
    /// The request is valid but conflicts with the resource's current state.
    Conflict,
    /// The caller's allowance is spent for now.
    TooManyRequests {
        /// Seconds until it is worth trying again.
        retry_after_secs: u64,
    },
    /// The tenant lives in another region; `base_url` is that region's public API.
    WrongRegion {
        /// The tenant's region.
        region: Region,
        /// That region's public API, when configured.
        base_url: Option<String>,
    },
    /// A dependency (the database, the broker) is unavailable; retryable.
    Unavailable,
    /// The request is well-formed, but what it carries was refused.
    Unprocessable,
    /// The resource existed, and is no longer usable.
    Gone,
    /// The request body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// The path exists, but not with this method.
    MethodNotAllowed,
    /// A fault of the service; details only in its logs.
    Internal,
}

impl ErrorKind {
    /// The kind's status: its code's, from the one table.
    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// The stable code of the kind.
    pub fn code(&self) -> Code {
        match self {
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::AlreadyExists => Code::AlreadyExists,
            ErrorKind::InvalidRequest { .. } => Code::InvalidRequest,
            ErrorKind::Unauthenticated => Code::Unauthenticated,
            ErrorKind::Forbidden => Code::Forbidden,
            ErrorKind::Conflict => Code::Conflict,
            ErrorKind::TooManyRequests { .. } => Code::TooManyRequests,
            ErrorKind::WrongRegion { .. } => Code::WrongRegion,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::Unprocessable => Code::Unprocessable,
            ErrorKind::Gone => Code::Gone,
            ErrorKind::PayloadTooLarge => Code::PayloadTooLarge,
            ErrorKind::MethodNotAllowed => Code::MethodNotAllowed,
            ErrorKind::Internal => Code::Internal,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ErrorKind::NotFound => "Not found",
            ErrorKind::AlreadyExists => "Already exists",
            ErrorKind::InvalidRequest { .. } => "Invalid request",
            ErrorKind::Unauthenticated => "Authentication required",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::TooManyRequests { .. } => "Too many requests",
            ErrorKind::WrongRegion { .. } => "Wrong region",
            ErrorKind::Unavailable => "Service unavailable",
            ErrorKind::Unprocessable => "Unprocessable",
            ErrorKind::Gone => "Gone",
            ErrorKind::PayloadTooLarge => "Payload too large",
            ErrorKind::MethodNotAllowed => "Method not allowed",
            ErrorKind::Internal => "Internal error",
        }
    }
}

/// An API error: a kind, a message for the caller, and one for the logs. Boxed, so
/// `Result<_, ApiError>` stays small on the happy path.
#[derive(Debug, Clone)]
pub struct ApiError(Box<Repr>);

#[derive(Debug, Clone)]
struct Repr {
    kind: ErrorKind,
    code: Option<Code>,
    external: String,
    internal: Option<String>,
    extensions: Map<String, Value>,
}

impl ApiError {
    /// An error of `kind` with the message the caller sees.
    pub fn new(kind: ErrorKind, external: impl Into<String>) -> Self {
        ApiError(Box::new(Repr {
            kind,
            code: None,
            external: external.into(),
            internal: None,
            extensions: Map::new(),
        }))
    }

    /// `not_found`: no `what` (or none the caller reaches).
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} not found"))
    }

    /// `already_exists`, with the caller's message.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// `invalid_request` naming the `field` to blame.
    pub fn invalid_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::InvalidRequest {
                field: Some(field.into()),
            },
            message,
        )
    }

    /// `unauthenticated`, with why.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    /// `forbidden`, with what the roles do not allow.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// `conflict` with the resource's current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// `too_many_requests`, with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            ErrorKind::TooManyRequests { retry_after_secs },
            format!("rate limit exceeded; retry after {retry_after_secs} s"),
        )
    }

    /// `wrong_region`: the tenant is served by `region`, at `base_url` if known.
    pub fn wrong_region(region: Region, base_url: Option<String>) -> Self {
        let message = match &base_url {
            Some(url) => format!("this tenant lives in region `{region}`; use {url}"),
            None => format!("this tenant lives in region `{region}`"),
        };
        Self::new(ErrorKind::WrongRegion { region, base_url }, message)
    }

    /// `gone`: the resource existed and is no longer usable (a narrower code
    /// says why).
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone, message)
    }

    /// `unprocessable`: well-formed, but what it carries was refused.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }

    /// `unavailable`: a dependency is down; the caller may retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// An internal error; `internal` goes to the logs, the caller sees a plain message.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        ApiError::new(
            ErrorKind::PayloadTooLarge,
            format!("the request body is larger than {limit_bytes} bytes"),
        )
    }

    /// `internal`: the caller sees a generic message, the logs see `internal`.
    pub fn internal(internal: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, "an internal error occurred").with_internal(internal)
    }

    /// A narrower stable code than the kind's own, e.g. `invalid_transition`; it
    /// answers with the kind's status, which the table gives the code too.
    pub fn with_code(mut self, code: Code) -> Self {
        debug_assert_eq!(
            code.status(),
            self.0.kind.status(),
            "{code} is not a code of {:?}",
            self.0.kind
        );
        self.0.code = Some(code);
        self
    }

    /// Detail for the logs only.
    pub fn with_internal(mut self, internal: impl fmt::Display) -> Self {
        self.0.internal = Some(internal.to_string());
        self
    }

    /// An extra member of the problem document, e.g. `allowed` transitions or `errors`.
    pub fn with_extension(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.0.extensions.insert(name.to_owned(), value.into());
        self
    }

    /// An extra member of the problem document, serialized from `value` (a list of
    /// validation problems, say). Should it not serialize, the member is left out
    /// and the logs say why.
    pub fn with_serialized(self, name: &str, value: &impl serde::Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => self.with_extension(name, value),
            Err(err) => {
                self.with_internal(format!("the problem's `{name}` did not serialize: {err}"))
            }
        }
    }

    /// What went wrong, as far as the caller is concerned.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The stable code the problem document carries.
    pub fn code(&self) -> Code {
        self.0.code.unwrap_or_else(|| self.0.kind.code())
    }

    /// The message the caller sees.
    pub fn external_message(&self) -> &str {
        &self.0.external
    }

    /// What only the logs see, if anything.
    pub fn internal_message(&self) -> Option<&str> {
        self.0.internal.as_deref()
    }

    /// The RFC 9457 problem document for this error.
    pub fn problem(&self, request_id: Option<RequestId>) -> Value {
        let code = self.code();
        let mut obj = Map::new();
        obj.insert("type".into(), format!("urn:plinth:problem:{code}").into());
        obj.insert("title".into(), self.0.kind.title().into());
        obj.insert("status".into(), self.0.kind.status().as_u16().into());
        obj.insert("detail".into(), self.0.external.clone().into());
        obj.insert("code".into(), code.as_str().into());
        if let Some(id) = request_id {
            obj.insert("request_id".into(), Value::String(id.to_string()));
        }
        match &self.0.kind {
            ErrorKind::InvalidRequest { field: Some(field) } => {
                obj.insert("field".into(), Value::String(field.clone()));
            }
            ErrorKind::WrongRegion { region, base_url } => {
                obj.insert("region".into(), Value::String(region.to_string()));
                if let Some(url) = base_url {
                    obj.insert("region_base_url".into(), Value::String(url.clone()));
                }
            }
            ErrorKind::TooManyRequests { retry_after_secs } => {
                obj.insert("retry_after".into(), Value::from(*retry_after_secs));
            }
            _ => {}
        }
        for (k, v) in &self.0.extensions {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(obj)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.0.external)?;
        if let Some(internal) = &self.0.internal {
            write!(f, " ({internal})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = REQUEST_ID.try_with(|id| *id).ok();
        let status = self.0.kind.status();
        // The request id the caller was given, so an operator can find the line.
        let rid = request_id.map(|id| id.to_string());
        let rid = rid.as_deref().unwrap_or("-");
        if status.is_server_error() {
            tracing::error!(request_id = rid, code = self.code().as_str(), internal = ?self.0.internal, "{}", self.0.external);
        } else {
            tracing::debug!(request_id = rid, code = self.code().as_str(), internal = ?self.0.internal, "{}", self.0.external);
        }
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let ErrorKind::TooManyRequests { retry_after_secs } = self.0.kind {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if let ErrorKind::Unauthenticated = self.0.kind {
            // RFC 6750 §3: a 401 names the scheme that would be accepted.
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(self.problem(request_id).to_string())
    }
}

/// Runs `fut` with `id` as the request id that problem documents report.
pub async fn request_id_scope<F: Future>(id: RequestId, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// Actix middleware (use with `actix_web::middleware::from_fn`): takes the request id
/// from `x-request-id` when it is a valid one, or makes a new one, makes it visible to
/// handlers as a [`RequestId`] extension and to problem documents, and echoes it in the
/// response.
pub async fn request_id_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| RequestId::parse(v).ok())
        .unwrap_or_else(RequestId::new);
    req.extensions_mut().insert(id);
    let mut res = request_id_scope(id, next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}

#[cfg(feature = "diesel")]
impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as D, Error as E};
        match &err {
            E::NotFound => ApiError::new(ErrorKind::NotFound, "not found"),
            E::DatabaseError(D::UniqueViolation, info) => {
                ApiError::already_exists("a resource with the same identity already exists")
                    .with_internal(info.message())
            }
            E::DatabaseError(D::SerializationFailure, _) => {
                ApiError::conflict("a concurrent change interfered; retry the request")
                    .with_internal(&err)
            }
            E::DatabaseError(D::ForeignKeyViolation, info) => {
                ApiError::conflict("the request refers to a resource that does not exist")
                    .with_internal(info.message())
            }
            _ => ApiError::internal(&err),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test as atest;
    use actix_web::{App, HttpResponse, web};
    use serde_json::json;

    use super::*;

    const ALL_KINDS: [(ErrorKind, u16, &str); 14] = [
        (ErrorKind::NotFound, 404, "not_found"),
        (ErrorKind::AlreadyExists, 409, "already_exists"),
        (
            ErrorKind::InvalidRequest { field: None },
            400,
            "invalid_request",
        ),
        (ErrorKind::Unauthenticated, 401, "unauthenticated"),
        (ErrorKind::Forbidden, 403, "forbidden"),
        (ErrorKind::Conflict, 409, "conflict"),
        (
            ErrorKind::TooManyRequests {
                retry_after_secs: 1,
            },
            429,
            "too_many_requests",
        ),
        (
            ErrorKind::WrongRegion {
                region: Region::Eu,
                base_url: None,
            },
            421,
            "wrong_region",
        ),
        (ErrorKind::Unavailable, 503, "unavailable"),
        (ErrorKind::Unprocessable, 422, "unprocessable"),
        (ErrorKind::Gone, 410, "gone"),
        (ErrorKind::PayloadTooLarge, 413, "payload_too_large"),
        (ErrorKind::MethodNotAllowed, 405, "method_not_allowed"),
        (ErrorKind::Internal, 500, "internal"),
    ];

    /// The place of `kind` in `ALL_KINDS`: a new kind does not compile until it is
    /// listed there too.
    fn position(kind: &ErrorKind) -> usize {
        match kind {
            ErrorKind::NotFound => 0,
            ErrorKind::AlreadyExists => 1,
            ErrorKind::InvalidRequest { .. } => 2,
            ErrorKind::Unauthenticated => 3,
            ErrorKind::Forbidden => 4,
            ErrorKind::Conflict => 5,
            ErrorKind::TooManyRequests { .. } => 6,
            ErrorKind::WrongRegion { .. } => 7,
            ErrorKind::Unavailable => 8,
            ErrorKind::Unprocessable => 9,
            ErrorKind::Gone => 10,
            ErrorKind::PayloadTooLarge => 11,
            ErrorKind::MethodNotAllowed => 12,
            ErrorKind::Internal => 13,
        }
    }

    #[test]
    fn every_kind_has_a_status_and_a_distinct_code() {
        let mut codes = std::collections::HashSet::new();
        for (i, (kind, status, code)) in ALL_KINDS.into_iter().enumerate() {
            assert_eq!(
                position(&kind),
                i,
                "ALL_KINDS lists every kind once, in order"
            );
            assert_eq!(kind.status().as_u16(), status, "{kind:?}");
            assert_eq!(kind.code().as_str(), code);
            assert_eq!(kind.code().status(), kind.status(), "{kind:?}");
            assert!(codes.insert(code));
        }
    }

    #[test]
    fn every_code_is_distinct_snake_case_and_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
        }
    }

    /// `docs/errors.md` is the table API clients read: one row per code, in the
    /// order of [`Code::ALL`], with its status. A code added without a row fails.
    #[test]
    fn docs_list_every_code_with_its_status() {
        let page =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
                .expect("docs/errors.md");
        let rows: Vec<(String, u16)> = page
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let status = cells.get(2)?.parse().ok()?;
                Some((code.to_owned(), status))
            })
            .collect();
        let table: Vec<(String, u16)> = Code::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), c.status().as_u16()))
            .collect();
        assert_eq!(rows, table);
    }

    #[test]
    fn internal_detail_never_reaches_the_problem_document() {
        let err = ApiError::internal("password=hunter2 in connection string");
        let doc = err.problem(None).to_string();
        assert!(!doc.contains("hunter2"), "{doc}");
        assert_eq!(err.problem(None)["code"], "internal");
    }

    #[test]
    fn narrower_codes_and_extensions_are_reported() {
        let err = ApiError::conflict("cannot go from ACTIVE to PENDING")
            .with_code(Code::InvalidTransition)
            .with_extension("allowed", json!(["SUSPENDED", "OFFBOARDING"]));
        let doc = err.problem(None);
        assert_eq!(doc["code"], "invalid_transition");
        assert_eq!(doc["status"], 409);
        assert_eq!(doc["type"], "urn:plinth:problem:invalid_transition");
        assert_eq!(doc["allowed"], json!(["SUSPENDED", "OFFBOARDING"]));
    }

    #[test]
    fn wrong_region_names_the_region_and_its_url() {
        let err = ApiError::wrong_region(Region::Eu, Some("https://eu.example.test".into()));
        let doc = err.problem(None);
        assert_eq!(doc["region"], "eu");
        assert_eq!(doc["region_base_url"], "https://eu.example.test");
        assert_eq!(doc["status"], 421);
    }

    async fn failing() -> Result<HttpResponse, ApiError> {
        Err(ApiError::invalid_request("/slug", "slug must be lowercase"))
    }

    #[actix_web::test]
    async fn problem_responses_carry_the_request_id() {
        let app = atest::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(request_id_middleware))
                .route("/", web::get().to(failing)),
        )
        .await;
        let given = RequestId::new();
        let req = atest::TestRequest::get()
            .uri("/")
            .insert_header((REQUEST_ID_HEADER, given.to_string()))
            .to_request();
        let res = atest::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert_eq!(
            res.headers()
                .get(REQUEST_ID_HEADER)
                .unwrap()
                .to_str()
                .unwrap(),
            given.to_string()
        );
        let body: Value = atest::read_body_json(res).await;
        assert_eq!(body["request_id"], given.to_string());
        assert_eq!(body["field"], "/slug");
        assert_eq!(body["code"], "invalid_request");

        // An invalid incoming id is replaced, never echoed.
        let req = atest::TestRequest::get()
            .uri("/")
            .insert_header((REQUEST_ID_HEADER, "<script>"))
            .to_request();
        let res = atest::call_service(&app, req).await;
        let echoed = res
            .headers()
            .get(REQUEST_ID_HEADER)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(RequestId::parse(&echoed).is_ok());
    }

    #[test]
    fn too_many_requests_sets_retry_after() {
        let res = ApiError::too_many_requests(7).error_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "7");
    }
}
