//! The HTTP edge: extract, call the app, map the result. Bodies are JSON with a
//! size limit; every error is problem+json with a stable code.

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use plinth_authz::{Authorized, on, to};
use plinth_core::ApiError;
use plinth_core::http::body_of;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};

pub use plinth_authz::openapi::{EdgeResponses, InternalToken, Problem};

use crate::app::{
    AppState, Decision, Import, NewSigner, Release, ReviewView, Signer, module_decide, module_get,
    module_import, module_list, module_review, review_get, review_list, signer_add, signer_end,
    signer_list,
};
use crate::deployments::{
    ApprovedRelease, DeployedImage, ModuleDeployments, deployment_list, deployment_report,
    parse_images,
};
use crate::dsse::{Algorithm, Envelope, PublicKey};
use crate::review::{CheckResult, CheckState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/modules")
            .route("", web::get().to(list))
            .route("/import", web::post().to(import))
            .route("/{module_id}/{version}", web::get().to(get))
            .route("/{module_id}/{version}/{decision}", web::post().to(decide)),
    )
    .configure(crate::tenant_http::routes)
    .service(
        web::scope("/admin/deployments")
            .route("", web::get().to(deployments))
            .route("/{region}/{module_id}", web::put().to(report_deployment)),
    )
    .service(
        web::scope("/admin/trust")
            .route("/signers", web::get().to(signers))
            .route("/signers", web::post().to(add_signer))
            .route("/signers/{signer_id}/expire", web::post().to(expire_signer))
            .route("/signers/{signer_id}/revoke", web::post().to(revoke_signer))
            .route("/reviews", web::get().to(reviews))
            .route("/reviews/{review_id}", web::get().to(review)),
    );
}

/// The service's OpenAPI document, checked in at
/// `schemas/openapi/module-catalog.json` (a test fails when they drift).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plinth module catalog",
        description = "Releases of the AI operations runtime's modules, imported with a trust review (schema, source, digest, runtime, references, and a DSSE signature by a trusted signer for the release's source) and decided by the platform team (approved, rejected, deprecated, revoked); the trusted signer list; what each module runs per region, and drift; each tenant's readiness, enablement and offboarding of modules. Called through the gateway, which forwards each request with a short-lived internal token.",
        version = "1"
    ),
    paths(
        import, list, get, decide, deployments, report_deployment,
        crate::tenant_http::list, crate::tenant_http::readiness, crate::tenant_http::enable,
        crate::tenant_http::get, crate::tenant_http::upgrade, crate::tenant_http::disable,
        crate::tenant_http::cleanup_done, signers, add_signer, expire_signer, revoke_signer, reviews, review),
    components(schemas(
        DeploymentBody, DeploymentImage, ModuleDeployments, ApprovedRelease, DeployedImage, DeploymentItems,
        crate::tenant_http::EnableBody, crate::tenant_http::UpgradeBody, crate::tenant_http::EnablementItems,
        crate::enablement::Enablement, crate::enablement::CleanupStep, crate::enablement::Readiness,
        crate::readiness::Check, crate::readiness::State,
        ImportBody, DecisionBody, SignerBody, Release, ReleaseItems, ReviewView, ReviewItems,
        CheckResult, CheckState, Envelope, crate::dsse::Signature, Signer, SignerItems, Problem
    )),
    modifiers(&InternalToken, &EdgeResponses),
    tags(
        (name = "releases", description = "Module releases, their trust review and the platform's decisions"),
        (name = "enablement", description = "A tenant's modules: readiness of a release, enabling, upgrading, disabling with cleanup guidance"),
        (name = "deployments", description = "What each module runs in this region beside its approved releases, and drift"),
        (name = "trust", description = "The trusted signer list, and every review")
    )
)]
pub struct ApiDoc;

/// The document as checked in: pretty JSON with a final newline.
pub fn document() -> Result<String, serde_json::Error> {
    plinth_service::document(&ApiDoc::openapi())
}

/// `POST /admin/modules/import`: a release, signed (`envelope`, whose payload is
/// the manifest) or not (`manifest`), with its image artifact if at hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// The DSSE envelope the manifest is signed in.
    envelope: Option<Envelope>,
    /// The manifest, unsigned (its review's signature check fails).
    #[schema(value_type = Option<Object>)]
    manifest: Option<Value>,
    /// The image artifact, base64: its SHA-256 must be the manifest's digest.
    artifact_base64: Option<String>,
}

impl ImportBody {
    fn parse(self) -> Result<Import, ApiError> {
        let artifact_sha256 = self
            .artifact_base64
            .map(|a| {
                base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .map(|bytes| plinth_documents::sha256_hex(&bytes))
                    .map_err(|_| {
                        ApiError::invalid_request(
                            "artifact_base64",
                            "`artifact_base64` is not base64",
                        )
                    })
            })
            .transpose()?;
        let (body, envelope) = match (self.envelope, self.manifest) {
            (Some(envelope), None) => (
                envelope
                    .body()
                    .map_err(|e| ApiError::invalid_request("envelope", e.to_string()))?,
                Some(envelope),
            ),
            (None, Some(manifest)) => (
                serde_json::to_vec(&manifest).map_err(ApiError::internal)?,
                None,
            ),
            _ => {
                return Err(ApiError::invalid_request(
                    "envelope",
                    "give the release as `envelope` (signed) or `manifest` (unsigned), one of them",
                ));
            }
        };
        Ok(Import {
            body,
            envelope,
            artifact_sha256,
        })
    }
}

/// Releases.
#[derive(Debug, ToSchema)]
pub struct ReleaseItems {
    pub items: Vec<Release>,
}

/// Reviews.
#[derive(Debug, ToSchema)]
pub struct ReviewItems {
    pub items: Vec<ReviewView>,
}

/// Trusted signers.
#[derive(Debug, ToSchema)]
pub struct SignerItems {
    pub items: Vec<Signer>,
}

/// Import a module release: its trust review runs and is stored with it.
#[utoipa::path(
    post,
    path = "/admin/modules/import",
    operation_id = "module_import",
    request_body = ImportBody,
    responses(
        (status = 200, description = "The same release was imported before: the stored one", body = Release),
        (status = 201, description = "Imported (IMPORTED), with its review: approval needs every check passed", body = Release),
        (status = 400, description = "`manifest_invalid`: `errors` lists the schema's problems at their pointers, `attempt_id` the stored review; or the body is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators over every tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_exists`: the version is imported with other content", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "releases"
)]
pub async fn import(
    auth: Authorized<on::Module, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<ImportBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let import = body_of(body).and_then(ImportBody::parse);
    let (release, created) = module_import(&auth, &app, import).await?;
    Ok(if created {
        HttpResponse::Created().json(release)
    } else {
        HttpResponse::Ok().json(release)
    })
}

/// Every release, by module, newest version first.
#[utoipa::path(
    get,
    path = "/admin/modules",
    operation_id = "module_list",
    responses((status = 200, description = "The releases (without their manifests)", body = ReleaseItems)),
    security(("internal_token" = [])),
    tag = "releases"
)]
pub async fn list(
    auth: Authorized<on::Module, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = module_list(&auth, &app).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// One release, with its manifest and its latest review.
#[utoipa::path(
    get,
    path = "/admin/modules/{module_id}/{version}",
    operation_id = "module_get",
    params(
        ("module_id" = String, Path, description = "The module's id"),
        ("version" = String, Path, description = "The release's version"),
    ),
    responses(
        (status = 200, description = "The release", body = Release),
        (status = 404, description = "No such release", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "releases"
)]
pub async fn get(
    auth: Authorized<on::Module, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (module, version) = path.into_inner();
    Ok(HttpResponse::Ok().json(module_get(&auth, &app, &module, &version).await?))
}

/// A decision's reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Why: kept with the release and in the audit trail.
    reason: Option<String>,
}

/// Decide a release (`approve`, `reject`, `deprecate`, `revoke`, with a reason),
/// or review it again (`review`) with the signers trusted now.
#[utoipa::path(
    post,
    path = "/admin/modules/{module_id}/{version}/{decision}",
    operation_id = "module_decide",
    params(
        ("module_id" = String, Path, description = "The module's id"),
        ("version" = String, Path, description = "The release's version"),
        ("decision" = String, Path, description = "`approve`, `reject`, `deprecate`, `revoke`, or `review`"),
    ),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The release after the decision or review", body = Release),
        (status = 400, description = "No reason given, or no such decision", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators over every tenant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such release", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition` (with `allowed`), or `review_failed`: a check of the latest review failed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "releases"
)]
pub async fn decide(
    auth: Authorized<on::Module, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    body: Result<web::Json<DecisionBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (module, version, decision) = path.into_inner();
    let decision = match decision.as_str() {
        "review" => {
            return Ok(
                HttpResponse::Ok().json(module_review(&auth, &app, &module, &version).await?)
            );
        }
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "deprecate" => Decision::Deprecate,
        "revoke" => Decision::Revoke,
        _ => return Err(ApiError::not_found("decision")),
    };
    let reason = body_of(body).and_then(|b| reason_of(b.reason));
    Ok(HttpResponse::Ok()
        .json(module_decide(&auth, &app, &module, &version, decision, reason).await?))
}

fn reason_of(reason: Option<String>) -> Result<String, ApiError> {
    match reason.map(|r| r.trim().to_owned()) {
        Some(r) if !r.is_empty() && r.len() <= 1000 => Ok(r),
        _ => Err(ApiError::invalid_request(
            "reason",
            "a reason of 1 to 1000 characters is required",
        )),
    }
}

/// A key to trust.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignerBody {
    /// Who holds the key.
    #[schema(example = "Plinth module release pipeline")]
    identity: String,
    /// `ed25519` or `ecdsa-p256`.
    #[schema(example = "ed25519")]
    algorithm: String,
    /// The key id its DSSE signatures name.
    key_id: String,
    /// The public key: PEM (SubjectPublicKeyInfo), or for Ed25519 the 32 bytes in hex.
    public_key: String,
    /// `host/organisation` (or `host`) of the sources it may sign for.
    #[schema(example = json!(["github.com/plinth-modules"]))]
    sources: Vec<String>,
    /// From when (RFC 3339); now when absent.
    not_before: Option<String>,
    /// Until when (RFC 3339).
    not_after: String,
}

impl SignerBody {
    fn parse(self) -> Result<NewSigner, ApiError> {
        let algorithm = Algorithm::parse(&self.algorithm)
            .map_err(|e| ApiError::invalid_request("algorithm", e.to_string()))?;
        PublicKey::parse(algorithm, &self.public_key)
            .map_err(|e| ApiError::invalid_request("public_key", e.to_string()))?;
        let text = |field: &str, value: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() || value.len() > max {
                Err(ApiError::invalid_request(
                    field,
                    format!("`{field}` is 1 to {max} characters"),
                ))
            } else {
                Ok(value.to_owned())
            }
        };
        if self.sources.is_empty()
            || self
                .sources
                .iter()
                .any(|s| s.trim().is_empty() || s.contains("://") || s.len() > 200)
        {
            return Err(ApiError::invalid_request(
                "sources",
                "`sources` lists one or more `host/organisation` (or `host`)",
            ));
        }
        let at = |field: &str, value: &str| {
            OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::invalid_request(field, format!("`{field}` is not RFC 3339")))
        };
        Ok(NewSigner {
            identity: text("identity", &self.identity, 200)?,
            algorithm,
            key_id: text("key_id", &self.key_id, 200)?,
            public_key: self.public_key.trim().to_owned(),
            sources: self.sources.iter().map(|s| s.trim().to_owned()).collect(),
            not_before: self
                .not_before
                .as_deref()
                .map(|v| at("not_before", v))
                .transpose()?,
            not_after: at("not_after", &self.not_after)?,
        })
    }
}

/// The trusted signer list, current and past.
#[utoipa::path(
    get,
    path = "/admin/trust/signers",
    operation_id = "signer_list",
    responses((status = 200, description = "The signers", body = SignerItems)),
    security(("internal_token" = [])),
    tag = "trust"
)]
pub async fn signers(
    auth: Authorized<on::TrustedSigner, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = signer_list(&auth, &app).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// Trust a key to sign releases of the given sources.
#[utoipa::path(
    post,
    path = "/admin/trust/signers",
    operation_id = "signer_add",
    request_body = SignerBody,
    responses(
        (status = 201, description = "Trusted", body = Signer),
        (status = 400, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators over every tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_exists`: a signer has this key id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "trust"
)]
pub async fn add_signer(
    auth: Authorized<on::TrustedSigner, to::Create>,
    app: web::Data<AppState>,
    body: Result<web::Json<SignerBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let new = body_of(body).and_then(SignerBody::parse);
    Ok(HttpResponse::Created().json(signer_add(&auth, &app, new).await?))
}

/// End a signer's validity now: its signatures count no more.
#[utoipa::path(
    post,
    path = "/admin/trust/signers/{signer_id}/expire",
    operation_id = "signer_expire",
    params(("signer_id" = String, Path, description = "The signer's id")),
    responses(
        (status = 200, description = "Expired", body = Signer),
        (status = 404, description = "No such signer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "trust"
)]
pub async fn expire_signer(
    auth: Authorized<on::TrustedSigner, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(signer_end(&auth, &app, &path, None).await?))
}

/// Revoke a signer, with a reason: none of its signatures counts.
#[utoipa::path(
    post,
    path = "/admin/trust/signers/{signer_id}/revoke",
    operation_id = "signer_revoke",
    params(("signer_id" = String, Path, description = "The signer's id")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "Revoked", body = Signer),
        (status = 400, description = "No reason given", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such signer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "trust"
)]
pub async fn revoke_signer(
    auth: Authorized<on::TrustedSigner, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<String>,
    body: Result<web::Json<DecisionBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let reason = body_of(body).and_then(|b| reason_of(b.reason));
    Ok(HttpResponse::Ok().json(signer_end(&auth, &app, &path, Some(reason)).await?))
}

/// The newest reviews (at most 100): every release's and every refused import's.
#[utoipa::path(
    get,
    path = "/admin/trust/reviews",
    operation_id = "review_list",
    responses((status = 200, description = "The reviews, newest first", body = ReviewItems)),
    security(("internal_token" = [])),
    tag = "trust"
)]
pub async fn reviews(
    auth: Authorized<on::Module, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = review_list(&auth, &app).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// One review, with every check's result.
#[utoipa::path(
    get,
    path = "/admin/trust/reviews/{review_id}",
    operation_id = "review_get",
    params(("review_id" = String, Path, description = "The review's id")),
    responses(
        (status = 200, description = "The review", body = ReviewView),
        (status = 404, description = "No such review", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "trust"
)]
pub async fn review(
    auth: Authorized<on::Module, to::Read>,
    app: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(review_get(&auth, &app, &path).await?))
}

/// `PUT /admin/deployments/{region}/{module_id}`: everything the module runs in
/// the region now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentBody {
    /// Every image of the module deployed in the region (none: removed).
    images: Vec<DeploymentImage>,
}

/// One deployed image.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentImage {
    /// `registry/repository:tag`, as deployed (pinned `…:tag@sha256:…` is taken too).
    #[schema(example = "registry.plinth.example/modules/itsm-triage-agent:1.0.0")]
    image: String,
    /// `sha256:<64 hex>`: what the tag resolved to where it runs.
    digest: String,
}

/// Modules, approved releases beside deployed images.
#[derive(Debug, ToSchema)]
pub struct DeploymentItems {
    pub items: Vec<ModuleDeployments>,
}

/// Every module with an approved release or a deployed image in this region:
/// its approved releases beside the images it runs, and drift.
#[utoipa::path(
    get,
    path = "/admin/deployments",
    operation_id = "deployment_list",
    responses((status = 200, description = "The modules, by id", body = DeploymentItems)),
    security(("internal_token" = [])),
    tag = "deployments"
)]
pub async fn deployments(
    auth: Authorized<on::ModuleDeployment, to::Read>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = deployment_list(&auth, &app).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// Report what a module runs in this region (for the deployment system): every
/// image by tag with the digest it resolved to, replacing the previous report.
/// Each digest is matched with the module's approved releases; one that is none
/// of them is drift.
#[utoipa::path(
    put,
    path = "/admin/deployments/{region}/{module_id}",
    operation_id = "deployment_report",
    params(
        ("region" = String, Path, description = "`us` or `eu`: this catalog's region"),
        ("module_id" = String, Path, description = "The module's id"),
    ),
    request_body = DeploymentBody,
    responses(
        (status = 200, description = "Recorded: the module's approved releases beside what it runs", body = ModuleDeployments),
        (status = 400, description = "An image or digest is malformed or listed twice; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only platform administrators over every tenant (the deployment system's client)", body = Problem, content_type = "application/problem+json"),
        (status = 421, description = "`wrong_region`: the region is another catalog's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal_token" = [])),
    tag = "deployments"
)]
pub async fn report_deployment(
    auth: Authorized<on::ModuleDeployment, to::Update>,
    app: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Result<web::Json<DeploymentBody>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let (region, module) = path.into_inner();
    let images = body_of(body)
        .and_then(|b| parse_images(b.images.into_iter().map(|i| (i.image, i.digest)).collect()));
    let answer = deployment_report(&auth, &app, &region, &module, images).await?;
    Ok(HttpResponse::Ok().json(answer))
}
