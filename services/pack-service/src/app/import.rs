//! Importing and validating packs. A submitted pack is checked against its JSON
//! Schema, then for what a schema cannot say; every attempt is stored with what
//! was found. A valid pack is stored as its version, immutable from then on:
//! the same version again with the same content answers the stored one, with
//! other content `409`. A dry run (`validate`) stores only the attempt.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use plinth_authz::{Authorized, Caller, Requester, Resource, Resources, on, to};
use plinth_bus::{Event, Outbox};
use plinth_core::{ApiError, Code, TenantId};
use plinth_db::scoped_transaction;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::packs::{DomainPack, TenantPack};
use super::{
    AppState, now, off_worker, require_changeable, require_platform_wide, scope_of, tenant_on_conn,
};
use crate::domain::{AttemptId, Domain, PackId, PackKind, PackStatus, PackVersion, VersionRange};
use crate::effective::DomainVersion;
use crate::events::{Audited, Outcome, PackRef};
use crate::format::checks::{self, Published};
use crate::format::{
    DomainPackDoc, Issue, PlaybookDoc, TenantPackDoc, checksum, named_playbooks, schemas,
    validate_domain_pack,
};
use crate::store::attempts::{AttemptRow, attempt_insert_on_conn};
use crate::store::domain_packs::{
    DomainPackRow, domain_pack_get_on_conn, domain_pack_insert_on_conn,
    domain_pack_versions_on_conn,
};
use crate::store::playbooks::playbook_versions_on_conn;
use crate::store::tenant_packs::{
    TenantPackRow, tenant_pack_get_on_conn, tenant_pack_insert_on_conn,
};
use crate::store::tools::offered_on_conn;
use plinth_service::ServiceState as _;

/// What an import stored, or found already stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Imported<T> {
    #[schema(example = "att_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub attempt_id: String,
    /// `imported`, or `unchanged` when the same version with the same content
    /// was already stored.
    pub outcome: String,
    pub pack: T,
}

/// What a dry run found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    #[schema(example = "att_5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b")]
    pub attempt_id: String,
    pub valid: bool,
    /// SHA-256 of the pack's RFC 8785 canonical JSON, hex: what it would be
    /// stored under.
    pub checksum: String,
    pub errors: Vec<Issue>,
}

/// A pack as submitted, shared with the checks that run off the HTTP worker.
#[derive(Debug, Clone)]
pub enum Submission {
    Domain(Arc<Value>),
    Tenant(TenantId, Arc<Value>),
}

impl Submission {
    fn kind(&self) -> PackKind {
        match self {
            Submission::Domain(_) => PackKind::Domain,
            Submission::Tenant(..) => PackKind::Tenant,
        }
    }

    fn tenant(&self) -> Option<TenantId> {
        match self {
            Submission::Domain(_) => None,
            Submission::Tenant(t, _) => Some(*t),
        }
    }

    fn content(&self) -> &Arc<Value> {
        match self {
            Submission::Domain(v) | Submission::Tenant(_, v) => v,
        }
    }

    fn resource(&self) -> Resource {
        match self {
            Submission::Domain(_) => Resource::DomainPack,
            Submission::Tenant(..) => Resource::TenantPack,
        }
    }
}

/// A pack read and checked.
enum Examined {
    Domain(DomainPackDoc),
    Tenant(TenantPackDoc),
    Invalid(Vec<Issue>),
}

/// The domain and version a pack says it is, when it says so as text.
/// The domain and version a submitted pack names, each only if it is valid: a
/// value that is not a domain name or a version is one of the pack's problems, not
/// something to record as its identity.
fn identity(content: &Value) -> (Option<String>, Option<String>) {
    let text = |key: &str| content.get(key).and_then(Value::as_str);
    let domain = text("domain").and_then(|d| Domain::parse(d).ok());
    let version = text("version").and_then(|v| PackVersion::parse(v).ok());
    (
        domain.map(|d| d.as_str().to_owned()),
        version.map(|v| v.to_string()),
    )
}

/// The published versions of the playbooks a Domain Pack names.
async fn published_on_conn(
    conn: &mut AsyncPgConnection,
    names: &[String],
) -> Result<Vec<(String, Vec<Published>)>, ApiError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut out: Vec<(String, Vec<Published>)> = Vec::new();
    for row in playbook_versions_on_conn(conn, Some(names)).await? {
        let published = Published {
            version: PackVersion::parse(&row.version).map_err(ApiError::internal)?,
            doc: serde_json::from_value::<PlaybookDoc>(row.content_json)
                .map_err(ApiError::internal)?,
        };
        match out.iter_mut().find(|(name, _)| *name == row.playbook) {
            Some((_, versions)) => versions.push(published),
            None => out.push((row.playbook, vec![published])),
        }
    }
    Ok(out)
}

/// A stored Domain Pack version read back.
pub fn domain_version(row: &DomainPackRow) -> Result<DomainVersion, ApiError> {
    Ok(DomainVersion {
        version: PackVersion::parse(&row.version).map_err(ApiError::internal)?,
        doc: DomainPackDoc::deserialize(&row.content_json).map_err(ApiError::internal)?,
        raw: row.content_json.clone(),
        deprecated: row.deprecated_at.is_some(),
    })
}

async fn examine_on_conn(
    conn: &mut AsyncPgConnection,
    submission: &Submission,
) -> Result<Examined, ApiError> {
    match submission {
        Submission::Domain(content) => {
            let published = published_on_conn(conn, &named_playbooks(content)).await?;
            let (content, catalog) = (content.clone(), offered_on_conn(conn).await?);
            let checked =
                off_worker(move || validate_domain_pack(&content, &catalog, &published)).await?;
            Ok(match checked {
                Ok(doc) => Examined::Domain(doc),
                Err(issues) => Examined::Invalid(issues),
            })
        }
        Submission::Tenant(_, content) => {
            let shared = content.clone();
            let issues = off_worker(move || schemas::tenant_pack(&shared)).await?;
            if !issues.is_empty() {
                return Ok(Examined::Invalid(issues));
            }
            let doc = TenantPackDoc::deserialize(&**content).map_err(ApiError::internal)?;
            let mut issues = Vec::new();
            if let Err(message) = PackVersion::parse(&doc.version) {
                issues.push(Issue::new("/version", "bad_version", message));
            }
            let range = match VersionRange::parse(&doc.domain_versions) {
                Ok(range) => range,
                Err(message) => {
                    issues.push(Issue::new(
                        "/domain_versions",
                        "invalid_version_range",
                        message,
                    ));
                    return Ok(Examined::Invalid(issues));
                }
            };
            let mut matching = Vec::new();
            for row in domain_pack_versions_on_conn(conn, &doc.domain).await? {
                let version = domain_version(&row)?;
                if !version.deprecated && range.admits(&version.version) {
                    matching.push(version);
                }
            }
            if matching.is_empty() {
                issues.push(Issue::new(
                    "/domain_versions",
                    "no_matching_domain_pack",
                    format!(
                        "no Domain Pack {} in {} is imported (and not deprecated)",
                        doc.domain, doc.domain_versions
                    ),
                ));
            }
            for domain in &matching {
                issues.extend(checks::tenant_pack_against(
                    &doc,
                    &domain.doc,
                    &domain.raw,
                    &domain.version,
                ));
            }
            issues.sort();
            issues.dedup();
            Ok(if issues.is_empty() {
                Examined::Tenant(doc)
            } else {
                Examined::Invalid(issues)
            })
        }
    }
}

/// A stored pack of either kind.
enum Pack {
    Domain(DomainPack),
    Tenant(TenantPack),
}

/// What a transaction decided for a submission.
enum Stored {
    Imported(Imported<Pack>, String),
    Unchanged(Imported<Pack>, String),
    Report(Report),
    Invalid {
        attempt_id: String,
        checksum: String,
        errors: Vec<Issue>,
        conflict: bool,
    },
}

struct Recording<'a> {
    submission: &'a Submission,
    attempt_id: AttemptId,
    checksum: String,
    dry_run: bool,
    at: OffsetDateTime,
}

impl Recording<'_> {
    #[expect(clippy::expect_used, reason = "issues serialize")]
    fn attempt(
        &self,
        caller: &Caller,
        outcome: &str,
        pack_id: Option<&str>,
        errors: &[Issue],
    ) -> AttemptRow {
        let (domain, version) = identity(self.submission.content());
        AttemptRow {
            attempt_id: self.attempt_id.to_string(),
            tenant_id: self.submission.tenant().map(|t| t.to_string()),
            kind: self.submission.kind().as_str().to_owned(),
            dry_run: self.dry_run,
            domain,
            version,
            checksum: self.checksum.clone(),
            outcome: outcome.to_owned(),
            pack_id: pack_id.map(str::to_owned),
            errors: serde_json::to_value(errors).expect("issues serialize"),
            created_at: self.at,
            created_by: caller.ctx.principal.subject.clone(),
        }
    }

    fn failed_event(
        &self,
        app: &AppState,
        caller: &Caller,
        errors: &[Issue],
    ) -> Result<Event, ApiError> {
        let (domain, version) = identity(self.submission.content());
        app.events.validation_failed(
            self.submission.tenant(),
            self.submission.kind().as_str(),
            &self.attempt_id.to_string(),
            domain.as_deref(),
            version.as_deref(),
            &self.checksum,
            self.dry_run,
            errors,
            self.at,
            &caller.ctx.principal.subject,
        )
    }
}

fn audited_of(submission: &Submission, dry_run: bool) -> Audited {
    let (action, resource) = match (submission, dry_run) {
        (Submission::Domain(_), false) => ("pack.domain.import", "domain_pack"),
        (Submission::Tenant(..), false) => ("pack.tenant.import", "tenant_pack"),
        (Submission::Domain(_), true) => ("pack.domain.validate", "domain_pack"),
        (Submission::Tenant(..), true) => ("pack.tenant.validate", "tenant_pack"),
    };
    let audited = Audited::new(action, resource);
    let audited = match submission.tenant() {
        Some(t) => audited.in_tenant(t),
        None => audited,
    };
    match identity(submission.content()) {
        (Some(domain), Some(version)) => audited.on_resource(format!("{domain}/{version}")),
        _ => audited,
    }
}

/// Checks a submission, records the attempt, and (unless a dry run) stores a
/// valid pack, in one transaction.
async fn submit<R: Resources>(
    auth: &Authorized<R, to::Create>,
    app: &AppState,
    submission: &Submission,
    dry_run: bool,
) -> Result<Stored, ApiError> {
    let caller = auth.permit_as(submission.resource(), submission.tenant())?;
    if matches!(submission, Submission::Domain(_)) {
        require_platform_wide(caller)?;
    }
    let shared = submission.content().clone();
    let recording = Recording {
        submission,
        attempt_id: AttemptId::new(),
        checksum: off_worker(move || checksum(&shared)).await?,
        dry_run,
        at: now(),
    };
    let audited = audited_of(submission, dry_run)
        .with_detail("attempt_id", recording.attempt_id)
        .with_detail("checksum", &recording.checksum);
    let mut conn = app.conn().await?;
    scoped_transaction(&mut conn, &scope_of(caller), async |conn| {
        if let Some(tenant) = submission.tenant() {
            require_changeable(&tenant_on_conn(conn, tenant).await?)?;
        }
        let examined = examine_on_conn(conn, submission).await?;
        let stored = match &examined {
            Examined::Invalid(errors) => Stored::Invalid {
                attempt_id: recording.attempt_id.to_string(),
                checksum: recording.checksum.clone(),
                errors: errors.clone(),
                conflict: false,
            },
            _ if dry_run => Stored::Report(Report {
                attempt_id: recording.attempt_id.to_string(),
                valid: true,
                checksum: recording.checksum.clone(),
                errors: Vec::new(),
            }),
            Examined::Domain(doc) => {
                store_domain_on_conn(app, caller, conn, &recording, doc).await?
            }
            Examined::Tenant(doc) => {
                store_tenant_on_conn(app, caller, conn, &recording, doc).await?
            }
        };
        let ctx = &caller.ctx;
        let (row, mut events, outcome, reason) = match &stored {
            Stored::Invalid {
                errors, conflict, ..
            } => (
                recording.attempt(caller, "invalid", None, errors),
                vec![recording.failed_event(app, caller, errors)?],
                Outcome::Failed,
                Some(if *conflict {
                    "version_exists"
                } else {
                    "pack_invalid"
                }),
            ),
            Stored::Report(_) => (
                recording.attempt(caller, "valid", None, &[]),
                vec![],
                Outcome::Allowed,
                None,
            ),
            Stored::Imported(_, pack_id) => (
                recording.attempt(caller, "imported", Some(pack_id), &[]),
                vec![],
                Outcome::Allowed,
                None,
            ),
            Stored::Unchanged(_, pack_id) => (
                recording.attempt(caller, "unchanged", Some(pack_id), &[]),
                vec![],
                Outcome::Allowed,
                None,
            ),
        };
        attempt_insert_on_conn(conn, &row).await?;
        events.push(app.events.audit(ctx, &audited, outcome, reason)?);
        Outbox::enqueue(conn, &events).await?;
        Ok(stored)
    })
    .await
}

/// An invalid pack as the caller's error: what was found, and the attempt that
/// records it.
fn invalid(attempt_id: String, errors: Vec<Issue>, conflict: bool) -> ApiError {
    let base = if conflict {
        ApiError::conflict(
            "this version is stored with other content; versions are immutable: import the change as a new version",
        )
        .with_code(Code::VersionExists)
    } else {
        ApiError::invalid_request("pack", format!("the pack has {} problem(s)", errors.len()))
            .with_code(Code::PackInvalid)
    };
    base.with_extension("attempt_id", attempt_id)
        .with_serialized("errors", &errors)
}

async fn store_domain_on_conn(
    app: &AppState,
    caller: &Caller,
    conn: &mut AsyncPgConnection,
    rec: &Recording<'_>,
    doc: &DomainPackDoc,
) -> Result<Stored, ApiError> {
    let version = PackVersion::parse(&doc.version).map_err(ApiError::internal)?;
    if let Some(existing) = domain_pack_get_on_conn(conn, &doc.domain, &doc.version, true).await? {
        let same = existing.checksum == rec.checksum;
        let pack_id = existing.pack_id.clone();
        return Ok(same_or_conflict(same, rec, pack_id, || {
            Pack::Domain(DomainPack::from(existing))
        }));
    }
    let (major, minor, patch) = version.parts();
    let row = DomainPackRow {
        pack_id: PackId::new().to_string(),
        domain: doc.domain.clone(),
        version: version.to_string(),
        major,
        minor,
        patch,
        name: doc.name.clone(),
        content_json: Value::clone(rec.submission.content()),
        checksum: rec.checksum.clone(),
        active_tenants: 0,
        deprecated_at: None,
        deprecated_by: None,
        created_at: rec.at,
        created_by: caller.ctx.principal.subject.clone(),
    };
    domain_pack_insert_on_conn(conn, &row).await?;
    let event = app.events.pack_imported(
        PackRef {
            tenant: None,
            kind: "domain",
            pack_id: &row.pack_id,
            domain: &row.domain,
            version: &row.version,
        },
        &row.checksum,
        rec.at,
        &caller.ctx.principal.subject,
    )?;
    Outbox::enqueue(conn, &[event]).await?;
    let pack_id = row.pack_id.clone();
    Ok(Stored::Imported(
        Imported {
            attempt_id: rec.attempt_id.to_string(),
            outcome: "imported".to_owned(),
            pack: Pack::Domain(DomainPack::from(row)),
        },
        pack_id,
    ))
}

async fn store_tenant_on_conn(
    app: &AppState,
    caller: &Caller,
    conn: &mut AsyncPgConnection,
    rec: &Recording<'_>,
    doc: &TenantPackDoc,
) -> Result<Stored, ApiError> {
    let tenant = rec
        .submission
        .tenant()
        .ok_or_else(|| ApiError::internal("a tenant pack without a tenant"))?;
    let version = PackVersion::parse(&doc.version).map_err(ApiError::internal)?;
    if let Some(existing) = tenant_pack_get_on_conn(conn, tenant, &doc.version, true).await? {
        let same = existing.checksum == rec.checksum;
        let pack_id = existing.pack_id.clone();
        let pack = TenantPack::try_from(existing)?;
        return Ok(same_or_conflict(same, rec, pack_id, || Pack::Tenant(pack)));
    }
    let (major, minor, patch) = version.parts();
    let row = TenantPackRow {
        pack_id: PackId::new().to_string(),
        tenant_id: tenant.to_string(),
        version: version.to_string(),
        major,
        minor,
        patch,
        domain: doc.domain.clone(),
        domain_versions: doc.domain_versions.clone(),
        content_json: Value::clone(rec.submission.content()),
        checksum: rec.checksum.clone(),
        status: PackStatus::Draft.as_str().to_owned(),
        created_at: rec.at,
        created_by: caller.ctx.principal.subject.clone(),
    };
    tenant_pack_insert_on_conn(conn, &row).await?;
    let event = app.events.pack_imported(
        PackRef {
            tenant: Some(tenant),
            kind: "tenant",
            pack_id: &row.pack_id,
            domain: &row.domain,
            version: &row.version,
        },
        &row.checksum,
        rec.at,
        &caller.ctx.principal.subject,
    )?;
    Outbox::enqueue(conn, &[event]).await?;
    let pack_id = row.pack_id.clone();
    Ok(Stored::Imported(
        Imported {
            attempt_id: rec.attempt_id.to_string(),
            outcome: "imported".to_owned(),
            pack: Pack::Tenant(TenantPack::try_from(row)?),
        },
        pack_id,
    ))
}

/// Imports a Domain Pack version: `Ok((imported, created))`.
pub async fn domain_pack_import(
    auth: &Authorized<on::DomainPack, to::Create>,
    app: &AppState,
    content: Result<Value, ApiError>,
) -> Result<(Imported<DomainPack>, bool), ApiError> {
    let placeholder = Audited::new("pack.domain.import", "domain_pack");
    let result = async {
        let submission = Submission::Domain(Arc::new(content?));
        let (imported, created) = finish(submit(auth, app, &submission, false).await?)?;
        match imported.pack {
            Pack::Domain(pack) => Ok((
                Imported {
                    attempt_id: imported.attempt_id,
                    outcome: imported.outcome,
                    pack,
                },
                created,
            )),
            Pack::Tenant(_) => Err(ApiError::internal("a domain import stored a tenant pack")),
        }
    }
    .await;
    // Refusals before the transaction (no permission, a body that is not JSON)
    // are audited here; the transaction audits everything it decided.
    audit_early(app, auth, &placeholder, result).await
}

/// Imports a Tenant Pack version for `tenant`: `Ok((imported, created))`.
pub async fn tenant_pack_import(
    auth: &Authorized<on::TenantPack, to::Create>,
    app: &AppState,
    request: Result<(TenantId, Value), ApiError>,
) -> Result<(Imported<TenantPack>, bool), ApiError> {
    let mut placeholder = Audited::new("pack.tenant.import", "tenant_pack");
    if let Ok((tenant, _)) = &request {
        placeholder = placeholder.in_tenant(*tenant);
    }
    let result = async {
        let (tenant, content) = request?;
        let submission = Submission::Tenant(tenant, Arc::new(content));
        let (imported, created) = finish(submit(auth, app, &submission, false).await?)?;
        match imported.pack {
            Pack::Tenant(pack) => Ok((
                Imported {
                    attempt_id: imported.attempt_id,
                    outcome: imported.outcome,
                    pack,
                },
                created,
            )),
            Pack::Domain(_) => Err(ApiError::internal("a tenant import stored a domain pack")),
        }
    }
    .await;
    audit_early(app, auth, &placeholder, result).await
}

/// Checks a pack without storing it; the attempt is recorded.
pub async fn pack_validate(
    auth: &Authorized<on::Pack, to::Create>,
    app: &AppState,
    submission: Result<Submission, ApiError>,
) -> Result<Report, ApiError> {
    let mut placeholder = Audited::new("pack.validate", "pack");
    if let Ok(Submission::Tenant(tenant, _)) = &submission {
        placeholder = placeholder.in_tenant(*tenant);
    }
    let result = async {
        let submission = submission?;
        let stored = submit(auth, app, &submission, true).await?;
        Ok(match stored {
            Stored::Report(report) => report,
            Stored::Invalid {
                attempt_id,
                checksum,
                errors,
                ..
            } => Report {
                attempt_id,
                valid: false,
                checksum,
                errors,
            },
            Stored::Imported(..) | Stored::Unchanged(..) => {
                unreachable!("a dry run stores nothing")
            }
        })
    }
    .await;
    audit_early(app, auth, &placeholder, result).await
}

/// The same version again: the stored one when its content is the same, else a
/// conflict naming the attempt.
fn same_or_conflict(
    same: bool,
    rec: &Recording<'_>,
    pack_id: String,
    stored: impl FnOnce() -> Pack,
) -> Stored {
    if same {
        Stored::Unchanged(
            Imported {
                attempt_id: rec.attempt_id.to_string(),
                outcome: "unchanged".to_owned(),
                pack: stored(),
            },
            pack_id,
        )
    } else {
        Stored::Invalid {
            attempt_id: rec.attempt_id.to_string(),
            checksum: rec.checksum.clone(),
            errors: vec![Issue::new(
                "/version",
                "version_exists",
                "this version is stored with other content",
            )],
            conflict: true,
        }
    }
}

fn finish(stored: Stored) -> Result<(Imported<Pack>, bool), ApiError> {
    match stored {
        Stored::Imported(i, _) => Ok((i, true)),
        Stored::Unchanged(i, _) => Ok((i, false)),
        Stored::Invalid {
            attempt_id,
            errors,
            conflict,
            ..
        } => Err(invalid(attempt_id, errors, conflict)),
        Stored::Report(_) => unreachable!("imports are not dry runs"),
    }
}

/// Audits a refusal that came before the transaction (which audits what it
/// decides itself): the permission check, the tenant, the request's shape.
async fn audit_early<T>(
    app: &AppState,
    caller: &(impl Requester + Sync),
    audited: &Audited,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if let Err(err) = &result
        && !matches!(err.code(), Code::PackInvalid | Code::VersionExists)
    {
        app.audit_refusal(caller, audited, err).await;
    }
    result
}
