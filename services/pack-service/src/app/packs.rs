//! Pack versions as the API shows them: listed (ACTIVE, DRAFT or DEPRECATED
//! always shown), read whole, and deprecated.

use plinth_authz::{Authorized, Resource, on, to};
use plinth_bus::Outbox;
use plinth_core::{ApiError, Code, TenantId};
use plinth_db::scoped_transaction;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{AppState, now, require_changeable, require_platform_wide, scope_of, tenant_on_conn};
use crate::domain::{Domain, PackStatus, PackVersion};
use crate::events::{Audited, Outcome, PackRef};
use crate::format::Issue;
use crate::store::attempts::AttemptRow;
use crate::store::domain_packs::{
    DomainPackRow, DomainPackSummary, domain_pack_deprecate_on_conn, domain_pack_get_on_conn,
    domain_pack_list_on_conn,
};
use crate::store::tenant_packs::{
    TenantPackRow, TenantPackSummary, tenant_pack_get_on_conn, tenant_pack_list_on_conn,
    tenant_pack_status_set_on_conn,
};
use plinth_service::ServiceState as _;

/// A Domain Pack version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DomainPack {
    #[schema(example = "pck_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub pack_id: String,
    #[schema(example = "finance")]
    pub domain: String,
    #[schema(example = "3.2.0")]
    pub version: String,
    pub name: String,
    /// ACTIVE while any tenant runs it.
    pub status: PackStatus,
    /// How many tenants run it now.
    pub active_tenants: i32,
    /// SHA-256 of the content's RFC 8785 canonical JSON, hex.
    pub checksum: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    /// The pack itself; in single-version reads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub content: Option<Value>,
}

fn domain_status(active_tenants: i32, deprecated: bool) -> PackStatus {
    if deprecated {
        PackStatus::Deprecated
    } else if active_tenants > 0 {
        PackStatus::Active
    } else {
        PackStatus::Draft
    }
}

impl From<DomainPackSummary> for DomainPack {
    fn from(row: DomainPackSummary) -> Self {
        DomainPack {
            status: domain_status(row.active_tenants, row.deprecated_at.is_some()),
            pack_id: row.pack_id,
            domain: row.domain,
            version: row.version,
            name: row.name,
            active_tenants: row.active_tenants,
            checksum: row.checksum,
            created_at: row.created_at,
            created_by: row.created_by,
            content: None,
        }
    }
}

impl From<DomainPackRow> for DomainPack {
    fn from(row: DomainPackRow) -> Self {
        DomainPack {
            status: domain_status(row.active_tenants, row.deprecated_at.is_some()),
            pack_id: row.pack_id,
            domain: row.domain,
            version: row.version,
            name: row.name,
            active_tenants: row.active_tenants,
            checksum: row.checksum,
            created_at: row.created_at,
            created_by: row.created_by,
            content: Some(row.content_json),
        }
    }
}

/// A Tenant Pack version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantPack {
    #[schema(example = "pck_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub pack_id: String,
    pub tenant_id: String,
    #[schema(example = "1.4.0")]
    pub version: String,
    #[schema(example = "finance")]
    pub domain: String,
    /// The Domain Pack versions it fits.
    #[schema(example = ">=3.0.0, <4.0.0")]
    pub domain_versions: String,
    /// ACTIVE while its tenant runs it.
    pub status: PackStatus,
    pub checksum: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    /// The pack itself; in single-version reads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub content: Option<Value>,
}

impl TryFrom<TenantPackSummary> for TenantPack {
    type Error = ApiError;
    fn try_from(row: TenantPackSummary) -> Result<Self, ApiError> {
        Ok(TenantPack {
            status: row.status.parse()?,
            pack_id: row.pack_id,
            tenant_id: row.tenant_id,
            version: row.version,
            domain: row.domain,
            domain_versions: row.domain_versions,
            checksum: row.checksum,
            created_at: row.created_at,
            created_by: row.created_by,
            content: None,
        })
    }
}

impl TryFrom<TenantPackRow> for TenantPack {
    type Error = ApiError;
    fn try_from(row: TenantPackRow) -> Result<Self, ApiError> {
        Ok(TenantPack {
            status: row.status.parse()?,
            pack_id: row.pack_id,
            tenant_id: row.tenant_id,
            version: row.version,
            domain: row.domain,
            domain_versions: row.domain_versions,
            checksum: row.checksum,
            created_at: row.created_at,
            created_by: row.created_by,
            content: Some(row.content_json),
        })
    }
}

/// An import or dry run, with what validation found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attempt {
    #[schema(example = "att_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub attempt_id: String,
    pub tenant_id: Option<String>,
    /// `domain` or `tenant`.
    pub kind: String,
    pub dry_run: bool,
    pub domain: Option<String>,
    pub version: Option<String>,
    pub checksum: String,
    /// `imported`, `unchanged` (the same content was already stored), `valid` (a
    /// dry run that passed) or `invalid`.
    pub outcome: String,
    pub pack_id: Option<String>,
    pub errors: Vec<Issue>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = ApiError;
    fn try_from(row: AttemptRow) -> Result<Self, ApiError> {
        Ok(Attempt {
            errors: serde_json::from_value(row.errors).map_err(ApiError::internal)?,
            attempt_id: row.attempt_id,
            tenant_id: row.tenant_id,
            kind: row.kind,
            dry_run: row.dry_run,
            domain: row.domain,
            version: row.version,
            checksum: row.checksum,
            outcome: row.outcome,
            pack_id: row.pack_id,
            created_at: row.created_at,
            created_by: row.created_by,
        })
    }
}

/// A domain and version from a path; ones that do not parse are not found.
pub fn domain_version_path(domain: &str, version: &str) -> Result<(Domain, PackVersion), ApiError> {
    let not_found = || ApiError::not_found("domain pack");
    Ok((
        Domain::parse(domain).map_err(|_| not_found())?,
        PackVersion::parse(version).map_err(|_| not_found())?,
    ))
}

pub async fn domain_pack_list(
    auth: &Authorized<on::DomainPack, to::Read>,
    app: &AppState,
    domain: Option<&str>,
) -> Result<Vec<DomainPack>, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    let rows = domain_pack_list_on_conn(&mut conn, domain).await?;
    Ok(rows.into_iter().map(DomainPack::from).collect())
}

pub async fn domain_pack_get(
    auth: &Authorized<on::DomainPack, to::Read>,
    app: &AppState,
    domain: &Domain,
    version: &PackVersion,
) -> Result<DomainPack, ApiError> {
    auth.permit()?;
    let mut conn = app.conn().await?;
    domain_pack_get_on_conn(&mut conn, domain.as_str(), &version.to_string(), false)
        .await?
        .map(DomainPack::from)
        .ok_or_else(|| ApiError::not_found("domain pack"))
}

pub async fn tenant_pack_list(
    auth: &Authorized<on::TenantPack, to::Read>,
    app: &AppState,
    tenant: TenantId,
) -> Result<Vec<TenantPack>, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        tenant_on_conn(conn, tenant).await?;
        Ok::<_, ApiError>(tenant_pack_list_on_conn(conn, tenant).await?)
    })
    .await?;
    rows.into_iter().map(TenantPack::try_from).collect()
}

pub async fn tenant_pack_get(
    auth: &Authorized<on::TenantPack, to::Read>,
    app: &AppState,
    tenant: TenantId,
    version: &PackVersion,
) -> Result<TenantPack, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    let row = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        Ok::<_, ApiError>(tenant_pack_get_on_conn(conn, tenant, &version.to_string(), false).await?)
    })
    .await?;
    row.ok_or_else(|| ApiError::not_found("tenant pack"))?
        .try_into()
}

/// Deprecates a Domain Pack version no tenant runs: kept for the record, never
/// activated again.
pub async fn domain_pack_deprecate(
    auth: &Authorized<on::DomainPack, to::Update>,
    app: &AppState,
    version: Result<(Domain, PackVersion), ApiError>,
) -> Result<DomainPack, ApiError> {
    let mut audited = Audited::new("pack.domain.deprecate", "domain_pack");
    if let Ok((domain, version)) = &version {
        audited = audited.on_resource(format!("{domain}/{version}"));
    }
    let result = async {
        let (domain, version) = version?;
        let caller = auth.permit()?;
        require_platform_wide(caller)?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            let row = domain_pack_get_on_conn(conn, domain.as_str(), &version.to_string(), true)
                .await?
                .ok_or_else(|| ApiError::not_found("domain pack"))?;
            if row.deprecated_at.is_some() {
                return Ok(DomainPack::from(row));
            }
            if row.active_tenants > 0 {
                return Err(ApiError::conflict(format!(
                    "{} tenant(s) run {domain} {version}: activate another version for them first",
                    row.active_tenants
                ))
                .with_code(Code::PackInUse));
            }
            let at = now();
            let row = domain_pack_deprecate_on_conn(conn, &row.pack_id, at, &ctx.principal.subject)
                .await?;
            let pack = PackRef {
                tenant: None,
                kind: "domain",
                pack_id: &row.pack_id,
                domain: &row.domain,
                version: &row.version,
            };
            let events = [
                app.events
                    .pack_deprecated(pack, at, &ctx.principal.subject)?,
                app.events.audit(
                    ctx,
                    &audited.clone().with_detail("pack_id", &row.pack_id),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            Ok(DomainPack::from(row))
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// Deprecates a Tenant Pack version its tenant does not run.
pub async fn tenant_pack_deprecate(
    auth: &Authorized<on::TenantPack, to::Update>,
    app: &AppState,
    tenant: TenantId,
    version: Result<PackVersion, ApiError>,
) -> Result<TenantPack, ApiError> {
    let mut audited = Audited::new("pack.tenant.deprecate", "tenant_pack").in_tenant(tenant);
    if let Ok(version) = &version {
        audited = audited.on_resource(version);
    }
    let result = async {
        let version = version?;
        let caller = auth.permit()?;
        let ctx = &caller.ctx;
        let mut conn = app.conn().await?;
        scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
            let row = tenant_pack_get_on_conn(conn, tenant, &version.to_string(), true)
                .await?
                .ok_or_else(|| ApiError::not_found("tenant pack"))?;
            match row.status.parse::<PackStatus>()? {
                PackStatus::Deprecated => return TenantPack::try_from(row),
                PackStatus::Active => {
                    return Err(ApiError::conflict(format!(
                        "tenant pack {version} is active: activate another version first"
                    ))
                    .with_code(Code::PackInUse));
                }
                PackStatus::Draft => {}
            }
            let row =
                tenant_pack_status_set_on_conn(conn, &row.pack_id, PackStatus::Deprecated.as_str())
                    .await?;
            let at = now();
            let pack = PackRef {
                tenant: Some(tenant),
                kind: "tenant",
                pack_id: &row.pack_id,
                domain: &row.domain,
                version: &row.version,
            };
            let events = [
                app.events
                    .pack_deprecated(pack, at, &ctx.principal.subject)?,
                app.events.audit(
                    ctx,
                    &audited.clone().with_detail("pack_id", &row.pack_id),
                    Outcome::Allowed,
                    None,
                )?,
            ];
            Outbox::enqueue(conn, &events).await?;
            TenantPack::try_from(row)
        })
        .await
    }
    .await;
    app.audited(auth, &audited, result).await
}

/// An import attempt, by id: a tenant's (in the tenants the caller reaches) or
/// the platform's.
pub async fn attempt_get(
    auth: &Authorized<on::Pack, to::Read>,
    app: &AppState,
    id: &crate::domain::AttemptId,
) -> Result<Attempt, ApiError> {
    let caller = auth.permit()?;
    let mut conn = app.conn().await?;
    let row = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        Ok::<_, ApiError>(crate::store::attempts::attempt_get_on_conn(conn, &id.to_string()).await?)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("import attempt"))?;
    let resource = if row.tenant_id.is_some() {
        Resource::TenantPack
    } else {
        Resource::DomainPack
    };
    auth.permit_as(resource, None)?;
    row.try_into()
}

/// The newest import attempts (at most 100): a tenant's, or the platform's
/// Domain Pack attempts when `tenant` is `None`.
pub async fn attempt_list(
    auth: &Authorized<on::Pack, to::Read>,
    app: &AppState,
    tenant: Option<TenantId>,
) -> Result<Vec<Attempt>, ApiError> {
    // The tenant's attempts on its route, which names it; the platform's otherwise.
    let caller = match tenant {
        Some(_) => auth.permit_as(Resource::TenantPack, None)?,
        None => auth.permit_as(Resource::DomainPack, None)?,
    };
    let mut conn = app.conn().await?;
    let rows = scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        if let Some(tenant) = tenant {
            tenant_on_conn(conn, tenant).await?;
        }
        Ok::<_, ApiError>(crate::store::attempts::attempt_list_on_conn(conn, tenant, 100).await?)
    })
    .await?;
    rows.into_iter().map(Attempt::try_from).collect()
}
